//! Users, groups, apps: objects, lifecycle, errors, projections, export/import, the binary.

use serde_json::{Value, json};

use crate::common::*;

#[tokio::test]
async fn user_objects_and_lookups() {
    let sim = sim(config()).await;
    let export = sim.h.export();
    let users = export["users"].as_array().unwrap();
    for s in [
        "STAGED",
        "PROVISIONED",
        "ACTIVE",
        "RECOVERY",
        "LOCKED_OUT",
        "PASSWORD_EXPIRED",
        "SUSPENDED",
        "DEPROVISIONED",
    ] {
        assert!(users.iter().any(|u| u["status"] == s), "{s}");
    }
    let u = &users[0];
    let id = u["id"].as_str().unwrap();
    assert_eq!(id.len(), 20);
    assert!(id.starts_with("00u"));
    let re = |s: &str| s.len() == 24 && s.ends_with('Z') && &s[19..20] == ".";
    assert!(re(u["created"].as_str().unwrap()) && re(u["lastUpdated"].as_str().unwrap()));
    assert!(u["type"]["id"].as_str().unwrap().starts_with("oty"));
    assert_eq!(
        u["credentials"]["provider"]["type"]
            .as_str()
            .map(|t| t == "OKTA" || t == "ACTIVE_DIRECTORY"),
        Some(true)
    );
    assert_eq!(u["_links"].as_object().unwrap().len(), 1, "collections carry _links.self only");
    let staged = users.iter().find(|u| u["status"] == "STAGED").unwrap();
    assert!(staged["activated"].is_null() && staged.as_object().unwrap().contains_key("activated"));
    let mgr_ids = users
        .iter()
        .filter(|u| u["profile"]["managerId"].as_str().is_some_and(|m| m.starts_with("00u")))
        .count();
    assert!(mgr_ids > 50);
    assert!(
        users.iter().any(|u| u["profile"]["managerId"].as_str().is_some_and(|m| m.contains('@')))
    );
    // GET by id and by login; single GET adds lifecycle links.
    let one = sim.get_json(&format!("/api/v1/users/{id}")).await;
    assert_eq!(one["id"], id);
    assert!(one["_links"].as_object().unwrap().len() > 1);
    let login = u["profile"]["login"].as_str().unwrap();
    assert_eq!(sim.get_json(&format!("/api/v1/users/{login}")).await["id"], id);
    let r = sim.get("/api/v1/users/00unotthere000000000").await;
    assert_eq!(r.status(), 404);
    let b: Value = r.json().await.unwrap();
    assert_eq!(b["errorCode"], "E0000007");
    assert_eq!(b["errorSummary"], "Not found: Resource not found: 00unotthere000000000 (User)");
    assert_eq!(b["errorLink"], "E0000007");
    assert!(b["errorCauses"].is_array());
    // fields projection, q, filter, search.
    let p = sim.get_json("/api/v1/users?limit=3&fields=status,profile:(login,managerId)").await;
    let keys: Vec<&String> = p[0].as_object().unwrap().keys().collect();
    assert_eq!(keys, vec!["id", "status", "profile"]);
    assert_eq!(p[0]["profile"].as_object().unwrap().len(), 2);
    let first = u["profile"]["firstName"].as_str().unwrap();
    let q = sim.get_json(&format!("/api/v1/users?q={}", &first[..2].to_lowercase())).await;
    assert!(!q.as_array().unwrap().is_empty() && q.as_array().unwrap().len() <= 10);
    let s = sim
        .get_json(&format!(
            "/api/v1/users?search=profile.login%20eq%20%22{}%22",
            login.to_uppercase()
        ))
        .await;
    assert_eq!(s[0]["id"], id, "search values are case-insensitive");
    let f = sim
        .get_json(&format!(
            "/api/v1/users?filter=profile.login%20eq%20%22{}%22",
            login.to_uppercase()
        ))
        .await;
    assert!(f.as_array().unwrap().is_empty(), "filter values are case-sensitive");
    let lu = sim
        .get_json(
            "/api/v1/users?filter=lastUpdated%20gt%20%222000-01-01T00:00:00.000Z%22&limit=200",
        )
        .await;
    assert_eq!(lu.as_array().unwrap().len(), 120, "filter includes DEPROVISIONED");
    let sorted =
        sim.get_json("/api/v1/users?search=status%20pr&sortBy=profile.lastName&limit=200").await;
    let names: Vec<String> = sorted
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["profile"]["lastName"].as_str().unwrap().to_lowercase())
        .collect();
    let mut s2 = names.clone();
    s2.sort();
    assert_eq!(names, s2);
    for bad in ["status%20ne%20%22ACTIVE%22", "(((", "status%20eq", "profile.city%20co%20%22x%22"] {
        let r = sim.get(&format!("/api/v1/users?search={bad}")).await;
        assert_eq!(r.status(), 400, "{bad}");
        assert_eq!(r.json::<Value>().await.unwrap()["errorCode"], "E0000031");
    }
    let r = sim.get("/api/v1/users?filter=profile.city%20eq%20%22x%22").await;
    assert_eq!(r.status(), 400);
    // omitCredentials.
    let r = sim
        .http
        .get(sim.url("/api/v1/users?limit=1"))
        .header("Authorization", format!("SSWS {TOKEN}"))
        .header(
            "Content-Type",
            "application/json; okta-response=omitCredentials,omitCredentialsLinks",
        )
        .send()
        .await
        .unwrap();
    assert!(r.json::<Value>().await.unwrap()[0].get("credentials").is_none());
    // appLinks.
    let assigned = export["appAssignments"]
        .as_object()
        .unwrap()
        .iter()
        .find(|(_, v)| !v.as_array().unwrap().is_empty());
    let (aid, uids) = assigned.unwrap();
    let auid = uids[0].as_str().unwrap();
    let links = sim.get_json(&format!("/api/v1/users/{auid}/appLinks")).await;
    let keys: Vec<&str> = links[0].as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "id",
            "label",
            "linkUrl",
            "logoUrl",
            "appName",
            "appInstanceId",
            "appAssignmentId",
            "credentialsSetup",
            "hidden",
            "sortOrder"
        ]
    );
    let active_app = export["apps"].as_array().unwrap().iter().find(|a| &a["id"] == aid).unwrap()["status"]
        == "ACTIVE";
    if active_app {
        assert!(links.as_array().unwrap().iter().any(|l| &l["appInstanceId"] == aid));
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn user_lifecycle_and_writes() {
    let sim = sim(config()).await;
    let body = json!({"profile": {"login": "new.person@example.com", "email": "new.person@example.com", "firstName": "New", "lastName": "Person", "costCenter": "X"},
                      "credentials": {"password": {"value": "Sup3r-secret!"}}});
    let r = sim.post("/api/v1/users?activate=true", Some(body.clone())).await;
    assert_eq!(r.status(), 200);
    let u: Value = r.json().await.unwrap();
    assert_eq!(u["status"], "ACTIVE");
    assert_eq!(u["credentials"]["password"], json!({}));
    let id = u["id"].as_str().unwrap().to_owned();
    // Duplicate login (ignoring case) → 400 E0000001 with a cause.
    let mut dup = body.clone();
    dup["profile"]["login"] = json!("NEW.PERSON@example.com");
    let r = sim.post("/api/v1/users", Some(dup)).await;
    assert_eq!(r.status(), 400);
    let e: Value = r.json().await.unwrap();
    assert_eq!(e["errorCode"], "E0000001");
    assert!(e["errorCauses"][0]["errorSummary"].as_str().unwrap().contains("already exists"));
    assert_eq!(sim.post("/api/v1/users", Some(json!({"x": 1}))).await.status(), 400);
    let r = sim
        .http
        .post(sim.url("/api/v1/users"))
        .header("Authorization", format!("SSWS {TOKEN}"))
        .header("Content-Type", "application/json")
        .body("{oops")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(r.json::<Value>().await.unwrap()["errorCode"], "E0000003");
    // Partial profile update.
    let r =
        sim.post(&format!("/api/v1/users/{id}"), Some(json!({"profile": {"title": "CTO"}}))).await;
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["profile"]["title"], "CTO");
    assert_eq!(v["profile"]["costCenter"], "X");
    assert_ne!(v["lastUpdated"], u["lastUpdated"]);
    let lc = |op: &str| format!("/api/v1/users/{id}/lifecycle/{op}");
    assert_eq!(sim.post(&lc("activate"), None).await.status(), 403);
    assert_eq!(sim.post(&lc("unsuspend"), None).await.status(), 400);
    assert_eq!(sim.post(&lc("suspend"), None).await.status(), 200);
    assert_eq!(sim.get_json(&format!("/api/v1/users/{id}")).await["status"], "SUSPENDED");
    let r = sim.post(&lc("suspend"), None).await;
    assert_eq!(r.status(), 400);
    assert_eq!(r.json::<Value>().await.unwrap()["errorCode"], "E0000001");
    assert_eq!(sim.post(&lc("unsuspend"), None).await.status(), 200);
    let r = sim.post(&lc("reactivate"), None).await;
    assert_eq!(r.status(), 403);
    assert_eq!(r.json::<Value>().await.unwrap()["errorCode"], "E0000038");
    assert_eq!(sim.post(&lc("deactivate"), None).await.status(), 200);
    assert_eq!(sim.get_json(&format!("/api/v1/users/{id}")).await["status"], "DEPROVISIONED");
    assert_eq!(sim.post(&lc("activate"), None).await.status(), 200);
    assert_eq!(sim.get_json(&format!("/api/v1/users/{id}")).await["status"], "ACTIVE");
    // DELETE: first deactivates, second deletes.
    assert_eq!(sim.delete(&format!("/api/v1/users/{id}")).await.status(), 204);
    assert_eq!(sim.get_json(&format!("/api/v1/users/{id}")).await["status"], "DEPROVISIONED");
    assert_eq!(sim.delete(&format!("/api/v1/users/{id}")).await.status(), 204);
    assert_eq!(sim.get(&format!("/api/v1/users/{id}")).await.status(), 404);
    let kinds: Vec<String> = sim
        .get_json("/api/v1/logs?limit=100")
        .await
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["eventType"].as_str().unwrap().to_owned())
        .collect();
    for k in [
        "user.lifecycle.create",
        "user.lifecycle.activate",
        "user.account.update_profile",
        "user.lifecycle.suspend",
        "user.lifecycle.unsuspend",
        "user.lifecycle.deactivate",
        "user.lifecycle.delete.initiated",
    ] {
        assert!(kinds.iter().any(|x| x == k), "{k} logged");
    }
    // Staged users via activate=false, without password → PROVISIONED on activate.
    let r = sim.post("/api/v1/users?activate=false", Some(json!({"profile": {"login": "s.taged@example.com", "email": "s.taged@example.com", "firstName": "S", "lastName": "Taged"}}))).await;
    let s: Value = r.json().await.unwrap();
    assert_eq!(s["status"], "STAGED");
    let sid = s["id"].as_str().unwrap();
    let r =
        sim.post(&format!("/api/v1/users/{sid}/lifecycle/activate?sendEmail=false"), None).await;
    assert!(r.json::<Value>().await.unwrap()["activationToken"].is_string());
    assert_eq!(sim.get_json(&format!("/api/v1/users/{sid}")).await["status"], "PROVISIONED");
    assert_eq!(
        sim.post(&format!("/api/v1/users/{sid}/lifecycle/reactivate"), None).await.status(),
        200
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn group_writes_and_rules() {
    let sim = sim(config()).await;
    let export = sim.h.export();
    let groups = export["groups"].as_array().unwrap();
    let everyone =
        groups.iter().find(|g| g["type"] == "BUILT_IN").unwrap()["id"].as_str().unwrap().to_owned();
    let app_group = groups.iter().find(|g| g["type"] == "APP_GROUP").unwrap();
    assert!(app_group["_links"]["source"]["href"].as_str().unwrap().contains("/api/v1/apps/0oa"));
    assert_eq!(app_group["objectClass"][0], "okta:windows_security_principal");
    let agid = app_group["id"].as_str().unwrap();
    let uid = export["users"][1]["id"].as_str().unwrap();
    let r = sim
        .post("/api/v1/groups", Some(json!({"profile": {"name": "Writers", "description": "w"}})))
        .await;
    let g: Value = r.json().await.unwrap();
    let gid = g["id"].as_str().unwrap();
    assert!(gid.starts_with("00g"));
    assert_eq!(g["type"], "OKTA_GROUP");
    assert_eq!(sim.put(&format!("/api/v1/groups/{gid}/users/{uid}"), None).await.status(), 204);
    let after_add = sim.get_json(&format!("/api/v1/groups/{gid}?expand=stats")).await;
    assert_eq!(after_add["_embedded"]["stats"]["usersCount"], 1);
    assert_ne!(after_add["lastMembershipUpdated"], g["lastMembershipUpdated"]);
    assert_eq!(after_add["lastUpdated"], g["lastUpdated"]);
    let r = sim
        .put(&format!("/api/v1/groups/{gid}"), Some(json!({"profile": {"name": "Writers 2"}})))
        .await;
    assert_eq!(r.json::<Value>().await.unwrap()["profile"]["name"], "Writers 2");
    assert_eq!(sim.delete(&format!("/api/v1/groups/{gid}/users/{uid}")).await.status(), 204);
    // BUILT_IN and APP_GROUP memberships are read-only; BUILT_IN can't be deleted.
    assert_eq!(
        sim.put(&format!("/api/v1/groups/{everyone}/users/{uid}"), None).await.status(),
        403
    );
    assert_eq!(sim.delete(&format!("/api/v1/groups/{agid}/users/{uid}")).await.status(), 403);
    assert_eq!(sim.delete(&format!("/api/v1/groups/{everyone}")).await.status(), 403);
    assert_eq!(
        sim.put(&format!("/api/v1/groups/{everyone}"), Some(json!({"profile": {"name": "x"}})))
            .await
            .status(),
        400
    );
    assert_eq!(sim.delete(&format!("/api/v1/groups/{gid}")).await.status(), 204);
    assert_eq!(sim.get(&format!("/api/v1/groups/{gid}")).await.status(), 404);
    let kinds: Vec<String> = sim
        .get_json("/api/v1/logs?limit=100")
        .await
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["eventType"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        kinds,
        [
            "group.lifecycle.create",
            "group.user_membership.add",
            "group.profile.update",
            "group.user_membership.remove",
            "group.lifecycle.delete"
        ]
    );
    // Filters on groups.
    let f = sim.get_json("/api/v1/groups?filter=type%20eq%20%22APP_GROUP%22").await;
    assert!(f.as_array().unwrap().iter().all(|g| g["type"] == "APP_GROUP"));
    let s = sim.get_json("/api/v1/groups?search=profile.name%20sw%20%22every%22").await;
    assert_eq!(s[0]["id"], everyone.as_str());
    sim.shutdown().await;
}

#[tokio::test]
async fn export_round_trips_through_from() {
    let cfg =
        okta_sim::SimConfig { base_url: Some("https://acme.okta.example".into()), ..config() };
    let a = okta_sim::generate(&cfg).unwrap().export("https://acme.okta.example");
    let b = okta_sim::generate(&okta_sim::SimConfig { org: Some(a.clone()), ..cfg.clone() })
        .unwrap()
        .export("https://acme.okta.example");
    assert_eq!(a, b);
    // A simulator loaded from it serves the same users, with Link headers on the configured base.
    let sim = sim(okta_sim::SimConfig { org: Some(a.clone()), ..cfg }).await;
    let r = sim.get("/api/v1/users?limit=1").await;
    assert!(links(r.headers())[0].starts_with("<https://acme.okta.example/api/v1/users"));
    assert_eq!(sim.h.export(), a);
    sim.shutdown().await;
}

#[tokio::test]
async fn binary_prints_url_and_stops_on_sigterm() {
    use std::io::BufRead;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_okta-sim"))
        .args([
            "--listen",
            "127.0.0.1:0",
            "--users",
            "20",
            "--groups",
            "4",
            "--apps",
            "2",
            "--token",
            "bin-token",
        ])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    assert!(line.starts_with("listening on http://127.0.0.1:"), "{line}");
    let url = line.trim().trim_start_matches("listening on ").to_owned();
    let r = reqwest::Client::new()
        .get(format!("{url}/api/v1/users"))
        .header("Authorization", "SSWS bin-token")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let st = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(st.success());
    let mut exited = None;
    for _ in 0..250 {
        if let Some(s) = child.try_wait().unwrap() {
            exited = Some(s);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    match exited {
        Some(s) => assert!(s.success(), "{s:?}"),
        None => {
            let _ = child.kill();
            let _ = child.wait();
            panic!("okta-sim did not stop on SIGTERM");
        }
    }
}

#[tokio::test]
async fn search_index_lags_for_new_objects() {
    let sim = sim(okta_sim::SimConfig { search_lag_ms: 600_000, ..config() }).await;
    let login = "late.comer@example.com";
    let r = sim
        .post("/api/v1/users", Some(json!({"profile": {"login": login, "email": login, "firstName": "Late", "lastName": "Comer"}})))
        .await;
    let id = r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
    let q = format!("profile.login%20eq%20%22{login}%22");
    assert!(
        sim.get_json(&format!("/api/v1/users?search={q}")).await.as_array().unwrap().is_empty()
    );
    assert_eq!(sim.get_json(&format!("/api/v1/users?filter={q}")).await[0]["id"], id.as_str());
    assert_eq!(sim.get_json(&format!("/api/v1/users/{id}")).await["id"], id.as_str());
    let g = sim.post("/api/v1/groups", Some(json!({"profile": {"name": "Lagging"}}))).await;
    assert_eq!(g.status(), 200);
    assert!(
        sim.get_json("/api/v1/groups?search=profile.name%20eq%20%22Lagging%22")
            .await
            .as_array()
            .unwrap()
            .is_empty()
    );
    assert_eq!(sim.get_json("/api/v1/groups?q=Lagging").await.as_array().unwrap().len(), 1);
    sim.shutdown().await;
}
