//! Schema conformance: every response body okta-sim serves from the Okta Management API is
//! checked against a compact JSON Schema written from Okta's management OpenAPI spec
//! (`tests/schema/okta-management.json`, 2026.06.3): types, nullability, required keys, array
//! items. A field the spec types as a string must not come back as null (`externalId`,
//! `legacyEventType`), an object must not be null (`geographicalContext`), and a bookmark app
//! must carry `settings.app.url`.

use crate::common::*;
use serde_json::{Value, json};

const SCHEMA: &str = include_str!("../schema/okta-management.json");

fn type_ok(ty: &str, v: &Value) -> bool {
    match ty {
        "null" => v.is_null(),
        "boolean" => v.is_boolean(),
        "string" => v.is_string(),
        "object" => v.is_object(),
        "array" => v.is_array(),
        "number" => v.is_number(),
        "integer" => v.as_f64().is_some_and(|f| f.fract() == 0.0),
        _ => true,
    }
}

/// The subset of JSON Schema the compact schema uses: `$ref`, `type`, `required`,
/// `properties`, `items`.
fn check(schema: &Value, defs: &Value, v: &Value, at: &str, errs: &mut Vec<String>) {
    if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
        let name = r.trim_start_matches("#/definitions/");
        return check(&defs[name], defs, v, at, errs);
    }
    if let Some(t) = schema.get("type") {
        let ok = match t {
            Value::String(t) => type_ok(t, v),
            Value::Array(ts) => ts.iter().filter_map(Value::as_str).any(|t| type_ok(t, v)),
            _ => true,
        };
        if !ok {
            errs.push(format!("{at}: expected {t}, got {v}"));
            return;
        }
    }
    if let (Some(req), Some(o)) = (schema.get("required").and_then(Value::as_array), v.as_object())
    {
        for k in req.iter().filter_map(Value::as_str) {
            if !o.contains_key(k) {
                errs.push(format!("{at}: missing required `{k}`"));
            }
        }
    }
    if let (Some(props), Some(o)) =
        (schema.get("properties").and_then(Value::as_object), v.as_object())
    {
        for (k, sub) in props {
            if let Some(x) = o.get(k) {
                check(sub, defs, x, &format!("{at}.{k}"), errs);
            }
        }
    }
    if let (Some(items), Some(a)) = (schema.get("items"), v.as_array()) {
        for (i, x) in a.iter().enumerate() {
            check(items, defs, x, &format!("{at}[{i}]"), errs);
        }
    }
}

struct Checker {
    defs: Value,
    errs: Vec<String>,
    checked: usize,
}

impl Checker {
    fn new() -> Self {
        let doc: Value = serde_json::from_str(SCHEMA).expect("schema parses");
        Self { defs: doc["definitions"].clone(), errs: Vec::new(), checked: 0 }
    }

    /// Check one object against a definition (an app by its kind: bookmark apps have their own).
    fn one(&mut self, def: &str, v: &Value, at: &str) {
        let def = if def == "Application" && v["name"] == "bookmark" {
            "BookmarkApplication"
        } else {
            def
        };
        assert!(self.defs.get(def).is_some(), "no definition {def}");
        let schema = json!({"$ref": format!("#/definitions/{def}")});
        check(&schema, &self.defs, v, &format!("{at} ({def})"), &mut self.errs);
        self.checked += 1;
    }

    /// GET `path` and check the body: each element of a list, or the one object.
    async fn get(&mut self, sim: &Sim, def: &str, path: &str, at: &str) -> Value {
        let v = sim.get_json(path).await;
        if v.is_array() {
            self.list(def, &v, at)
        } else {
            self.one(def, &v, at)
        }
        v
    }

    fn list(&mut self, def: &str, v: &Value, at: &str) {
        let items = v.as_array().unwrap_or_else(|| panic!("{at}: not an array: {v}"));
        for (i, x) in items.iter().enumerate() {
            self.one(def, x, &format!("{at}[{i}]"));
        }
    }
}

async fn json_of(r: reqwest::Response, what: &str) -> Value {
    assert_eq!(r.status(), 200, "{what}");
    r.json().await.unwrap()
}

#[tokio::test]
async fn every_endpoint_conforms_to_the_okta_management_schema() {
    // Enough apps for every kind the generator makes (a bookmark app among them).
    let sim = sim(okta_sim::SimConfig { apps: 20, ..config() }).await;
    let mut c = Checker::new();

    // Writes first, so that the System Log and the hooks have something to show.
    let u = json_of(
        sim.post(
            "/api/v1/users?activate=true",
            Some(json!({"profile": {"login": "schema@example.com", "email": "schema@example.com",
                "firstName": "Sche", "lastName": "Ma"}})),
        )
        .await,
        "POST /users",
    )
    .await;
    c.one("User", &u, "POST /users");
    let uid = u["id"].as_str().unwrap().to_owned();
    let body = json!({"profile": {"login": "schema@example.com", "email": "schema@example.com",
        "firstName": "Sche", "lastName": "Mata"}});
    let r = sim.post(&format!("/api/v1/users/{uid}"), Some(body.clone())).await;
    c.one("User", &json_of(r, "POST /users/{id}").await, "POST /users/{id}");
    let r = sim.put(&format!("/api/v1/users/{uid}"), Some(body)).await;
    c.one("User", &json_of(r, "PUT /users/{id}").await, "PUT /users/{id}");
    let g = json_of(
        sim.post(
            "/api/v1/groups",
            Some(json!({"profile": {"name": "Schema", "description": "d"}})),
        )
        .await,
        "POST /groups",
    )
    .await;
    c.one("Group", &g, "POST /groups");
    let gid = g["id"].as_str().unwrap().to_owned();
    let r = sim
        .put(&format!("/api/v1/groups/{gid}"), Some(json!({"profile": {"name": "Schema 2"}})))
        .await;
    c.one("Group", &json_of(r, "PUT /groups/{id}").await, "PUT /groups/{id}");
    assert_eq!(sim.put(&format!("/api/v1/groups/{gid}/users/{uid}"), None).await.status(), 204);
    let hook = json!({"name": "h", "events": {"type": "EVENT_TYPE", "items": ["group.lifecycle.create"]},
        "channel": {"type": "HTTP", "version": "1.0.0", "config": {"uri": "https://hooks.example.com/okta"}}});
    let h =
        json_of(sim.post("/api/v1/eventHooks", Some(hook.clone())).await, "POST /eventHooks").await;
    c.one("EventHook", &h, "POST /eventHooks");
    let hid = h["id"].as_str().unwrap().to_owned();
    let r = sim.put(&format!("/api/v1/eventHooks/{hid}"), Some(hook)).await;
    c.one("EventHook", &json_of(r, "PUT /eventHooks/{id}").await, "PUT /eventHooks/{id}");
    let r = sim.post(&format!("/api/v1/eventHooks/{hid}/lifecycle/deactivate"), None).await;
    c.one(
        "EventHook",
        &json_of(r, "eventHooks lifecycle").await,
        "POST /eventHooks/{id}/lifecycle",
    );

    // Reads.
    let users = c.get(&sim, "User", "/api/v1/users?limit=200", "GET /users").await;
    let first = users[0]["id"].as_str().unwrap().to_owned();
    for id in [first.as_str(), uid.as_str()] {
        let u = format!("/api/v1/users/{id}");
        c.get(&sim, "UserGetSingleton", &u, "GET /users/{id}").await;
        c.get(&sim, "Group", &format!("{u}/groups"), "GET /users/{id}/groups").await;
        c.get(&sim, "AssignedAppLink", &format!("{u}/appLinks"), "GET /users/{id}/appLinks").await;
    }
    let groups = c.get(&sim, "Group", "/api/v1/groups?limit=200", "GET /groups").await;
    for g in groups.as_array().unwrap() {
        let p = format!("/api/v1/groups/{}", g["id"].as_str().unwrap());
        c.get(&sim, "Group", &p, "GET /groups/{id}").await;
        c.get(&sim, "User", &format!("{p}/users?limit=200"), "GET /groups/{id}/users").await;
        c.get(&sim, "Application", &format!("{p}/apps"), "GET /groups/{id}/apps").await;
    }
    let apps = c.get(&sim, "Application", "/api/v1/apps?limit=200", "GET /apps").await;
    assert!(apps.as_array().unwrap().iter().any(|a| a["name"] == "bookmark"), "a bookmark app");
    for a in apps.as_array().unwrap() {
        let p = format!("/api/v1/apps/{}", a["id"].as_str().unwrap());
        c.get(&sim, "Application", &p, "GET /apps/{id}").await;
        c.get(&sim, "AppUser", &format!("{p}/users?limit=500"), "GET /apps/{id}/users").await;
        let at = "GET /apps/{id}/groups";
        c.get(&sim, "ApplicationGroupAssignment", &format!("{p}/groups"), at).await;
    }
    c.get(&sim, "EventHook", "/api/v1/eventHooks", "GET /eventHooks").await;
    c.get(&sim, "EventHook", &format!("/api/v1/eventHooks/{hid}"), "GET /eventHooks/{id}").await;
    let logs = sim.get_json("/api/v1/logs?limit=100").await;
    assert!(!logs.as_array().unwrap().is_empty(), "the writes above are logged");
    c.list("LogEvent", &logs, "GET /logs");

    assert!(c.checked > 100, "only {} objects checked", c.checked);
    assert!(c.errs.is_empty(), "{} schema violations:\n{}", c.errs.len(), c.errs.join("\n"));
    sim.shutdown().await;
}
