//! End-to-end resync tests: okta-sim → Okta client → mapping → embedded catalog.
//!
//! Each test starts its own simulator on 127.0.0.1:0 and shuts it down at the end; catalogs are
//! temporary files removed afterwards.

use port_okta::blueprint::BlueprintSet;
use port_okta::catalog::Catalog;
use port_okta::catalog::sqlite::SqliteCatalog;
use port_okta::config;
use port_okta::engine::{Deletion, ResyncOptions, ResyncReport, resync};
use port_okta::mapping::{self, CompiledConfig, JqOptions};
use port_okta::model::Entity;
use port_okta::okta::{ClientOptions, OktaClient};
use port_okta::secret::Secret;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

const TOKEN: &str = "test-token-123";

struct Env {
    sim: okta_sim::SimHandle,
    db: PathBuf,
    config: CompiledConfig,
    blueprints: BlueprintSet,
}

impl Env {
    async fn start(name: &str, users: usize, groups: usize, apps: usize) -> Self {
        let sim = okta_sim::spawn(
            okta_sim::SimConfig {
                users,
                groups,
                apps,
                seed: 7,
                token: TOKEN.into(),
                ..okta_sim::SimConfig::default()
            },
            "127.0.0.1:0".parse().unwrap(),
        )
        .await
        .expect("simulator starts");
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let cfg = config::load_file(&root.join("examples/full/port-app-config.yml"))
            .expect("example mapping parses");
        let blueprints = BlueprintSet::load_file(&root.join("examples/full/blueprints.json"))
            .expect("example blueprints parse");
        let config =
            mapping::compile(&cfg, &blueprints, &JqOptions { allow_env: false }).expect("compiles");
        let db =
            std::env::temp_dir().join(format!("port-okta-e2e-{}-{name}.db", std::process::id()));
        remove_db(&db);
        Self { sim, db, config, blueprints }
    }

    fn client(&self) -> OktaClient {
        let opts = ClientOptions {
            backoff_base: Duration::from_millis(5),
            max_reset_wait: Duration::from_secs(3),
            ..ClientOptions::default()
        };
        OktaClient::new(&self.sim.base_url(), Secret::new(TOKEN), opts).unwrap()
    }

    async fn sync(&self) -> ResyncReport {
        self.sync_with(&self.config).await
    }

    async fn sync_with(&self, config: &CompiledConfig) -> ResyncReport {
        let catalog = Arc::new(SqliteCatalog::open(&self.db).unwrap());
        let opts = ResyncOptions {
            owner: "okta-e2e".into(),
            dry_run: false,
            concurrency: 4,
            lock_wait: Duration::ZERO,
        };
        let (config, blueprints) = (Arc::new(config.clone()), Arc::new(self.blueprints.clone()));
        resync(&self.client(), config, blueprints, catalog, &opts, &|_| {})
            .await
            .expect("catalog works")
    }

    async fn entities(&self) -> Vec<Entity> {
        SqliteCatalog::open(&self.db).unwrap().export().await.unwrap()
    }

    async fn export(&self) -> Value {
        http()
            .get(format!("{}/__sim/export", self.sim.base_url()))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    async fn api(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> reqwest::Response {
        let mut req = http()
            .request(method, format!("{}{path}", self.sim.base_url()))
            .header("Authorization", format!("SSWS {TOKEN}"))
            .header("Accept", "application/json");
        if let Some(b) = body {
            req = req.json(&b);
        } else {
            req = req.header("Content-Length", "0");
        }
        let resp = req.send().await.unwrap();
        assert!(resp.status().is_success(), "{path}: {}", resp.status());
        resp
    }

    async fn faults(&self, faults: Value) {
        let r = http()
            .post(format!("{}/__sim/faults", self.sim.base_url()))
            .json(&faults)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success());
    }

    async fn stop(self) {
        self.sim.shutdown().await;
        remove_db(&self.db);
    }
}

fn http() -> reqwest::Client {
    reqwest::Client::new()
}

fn remove_db(path: &Path) {
    for s in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{s}", path.display()));
    }
}

fn ids(v: &Value) -> BTreeSet<String> {
    match v {
        Value::Array(a) => a.iter().filter_map(Value::as_str).map(str::to_string).collect(),
        Value::String(s) => BTreeSet::from([s.clone()]),
        _ => BTreeSet::new(),
    }
}

/// Asserts the catalog holds exactly the org: every user (all statuses) and group, with
/// user → groups, group → members, user → manager and user → applications.
fn assert_catalog_equals_org(entities: &[Entity], org: &Value) {
    let users: BTreeMap<&str, &Value> =
        org["users"].as_array().unwrap().iter().map(|u| (u["id"].as_str().unwrap(), u)).collect();
    let groups: BTreeMap<&str, &Value> =
        org["groups"].as_array().unwrap().iter().map(|g| (g["id"].as_str().unwrap(), g)).collect();
    let mut members: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    let mut user_groups: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (g, list) in org["memberships"].as_object().unwrap() {
        let set = ids(list);
        for u in &set {
            user_groups.entry(u.clone()).or_default().insert(g.clone());
        }
        members.insert(groups.get_key_value(g.as_str()).map(|(k, _)| *k).unwrap_or("?"), set);
    }
    let app_label: BTreeMap<&str, &str> = org["apps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["id"].as_str().unwrap(), a["label"].as_str().unwrap()))
        .collect();
    let mut user_apps: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (a, list) in org["appAssignments"].as_object().unwrap() {
        for u in ids(list) {
            user_apps.entry(u).or_default().insert(app_label[a.as_str()].to_string());
        }
    }
    let resolve = |m: &str| -> Option<String> {
        if users.contains_key(m) {
            return Some(m.to_string());
        }
        users
            .values()
            .find(|u| {
                u["profile"]["login"].as_str().is_some_and(|l| l.eq_ignore_ascii_case(m))
                    || u["profile"]["email"].as_str().is_some_and(|l| l.eq_ignore_ascii_case(m))
            })
            .map(|u| u["id"].as_str().unwrap().to_string())
    };

    let by_bp = |bp: &str| -> BTreeMap<&str, &Entity> {
        entities.iter().filter(|e| e.blueprint == bp).map(|e| (e.identifier.as_str(), e)).collect()
    };
    let user_entities = by_bp("okta-user");
    let group_entities = by_bp("okta-group");
    assert_eq!(
        user_entities.keys().copied().collect::<Vec<_>>(),
        users.keys().copied().collect::<Vec<_>>()
    );
    assert_eq!(
        group_entities.keys().copied().collect::<Vec<_>>(),
        groups.keys().copied().collect::<Vec<_>>()
    );
    let mut statuses = BTreeSet::new();
    for (id, u) in &users {
        let e = user_entities[id];
        assert_eq!(e.properties["status"], u["status"], "{id} status");
        assert_eq!(e.properties["login"], u["profile"]["login"], "{id} login");
        statuses.insert(u["status"].as_str().unwrap().to_string());
        assert_eq!(
            ids(&e.relations["groups"]),
            user_groups.get(*id).cloned().unwrap_or_default(),
            "{id} groups"
        );
        let manager =
            u["profile"]["managerId"].as_str().filter(|m| !m.is_empty()).and_then(resolve);
        assert_eq!(e.relations["manager"].as_str().map(str::to_string), manager, "{id} manager");
        assert_eq!(
            ids(&e.properties["applications"]),
            user_apps.get(*id).cloned().unwrap_or_default(),
            "{id} applications"
        );
    }
    assert!(
        statuses.contains("DEPROVISIONED") && statuses.contains("STAGED"),
        "statuses seen: {statuses:?}"
    );
    for (id, g) in &groups {
        let e = group_entities[id];
        assert_eq!(e.properties["name"], g["profile"]["name"], "{id} name");
        assert_eq!(e.properties["type"], g["type"], "{id} type");
        assert_eq!(
            ids(&e.relations["members"]),
            members.get(*id).cloned().unwrap_or_default(),
            "{id} members"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resync_makes_the_catalog_equal_to_the_org() {
    let env = Env::start("equal", 300, 25, 6).await;
    let report = env.sync().await;
    assert!(report.is_success(), "{:?}", report.to_json());
    assert_eq!(report.deletion, Deletion::Done);
    let org = env.export().await;
    assert_catalog_equals_org(&env.entities().await, &org);
    // The page floor: no request per user.
    let users = org["users"].as_array().unwrap().len() as u64;
    assert!(
        report.okta_requests < users / 2,
        "{} requests for {users} users",
        report.okta_requests
    );
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_resync_after_mutations_converges() {
    let env = Env::start("converge", 120, 12, 3).await;
    assert!(env.sync().await.is_success());
    let org = env.export().await;
    let users: Vec<String> = org["users"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|u| u["status"] == "ACTIVE")
        .map(|u| u["id"].as_str().unwrap().to_string())
        .collect();
    let okta_group =
        org["groups"].as_array().unwrap().iter().find(|g| g["type"] == "OKTA_GROUP").unwrap();
    let gid = okta_group["id"].as_str().unwrap().to_string();
    use reqwest::Method;
    // Create, deactivate, delete (twice: deactivate then delete), membership add/remove, new group.
    let created: Value = env
        .api(
            Method::POST,
            "/api/v1/users?activate=true",
            Some(json!({"profile": {"firstName": "New", "lastName": "Person", "email": "new.person@example.com", "login": "new.person@example.com"}})),
        )
        .await
        .json()
        .await
        .unwrap();
    let new_id = created["id"].as_str().unwrap().to_string();
    env.api(Method::POST, &format!("/api/v1/users/{}/lifecycle/deactivate", users[0]), None).await;
    env.api(Method::DELETE, &format!("/api/v1/users/{}", users[1]), None).await;
    env.api(Method::DELETE, &format!("/api/v1/users/{}", users[1]), None).await;
    env.api(Method::PUT, &format!("/api/v1/groups/{gid}/users/{new_id}"), None).await;
    env.api(
        Method::POST,
        "/api/v1/groups",
        Some(json!({"profile": {"name": "Fresh group", "description": "made in a test"}})),
    )
    .await;
    let report = env.sync().await;
    assert!(report.is_success(), "{:?}", report.to_json());
    assert_eq!(report.deletion, Deletion::Done);
    let user_report = &report.kinds.iter().find(|(k, _)| k == "okta-user").unwrap().1;
    assert_eq!(user_report.deleted, 1, "the deleted user's entity goes");
    assert!(user_report.created >= 1);
    let org = env.export().await;
    let entities = env.entities().await;
    assert_catalog_equals_org(&entities, &org);
    assert!(!entities.iter().any(|e| e.identifier == users[1]));
    let deactivated = entities.iter().find(|e| e.identifier == users[0]).unwrap();
    assert_eq!(deactivated.properties["status"], "DEPROVISIONED");
    // A third resync changes nothing.
    let again = env.sync().await;
    assert!(
        again.kinds.iter().all(|(_, k)| k.created == 0 && k.updated == 0 && k.deleted == 0),
        "{:?}",
        again.to_json()
    );
    env.stop().await;
}

/// Deletes users through the API so the next resync would have something to delete.
async fn delete_some_users(env: &Env, n: usize) -> Vec<String> {
    let org = env.export().await;
    let victims: Vec<String> = org["users"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|u| u["status"] == "ACTIVE")
        .take(n)
        .map(|u| u["id"].as_str().unwrap().to_string())
        .collect();
    for id in &victims {
        env.api(reqwest::Method::DELETE, &format!("/api/v1/users/{id}"), None).await;
        env.api(reqwest::Method::DELETE, &format!("/api/v1/users/{id}"), None).await;
    }
    victims
}

async fn assert_faulted_resync_deletes_nothing(name: &str, faults: Value) {
    let env = Env::start(name, 700, 10, 2).await;
    assert!(env.sync().await.is_success());
    let before = env.entities().await.len();
    let victims = delete_some_users(&env, 3).await;
    env.faults(faults).await;
    let report = env.sync().await;
    env.faults(json!({})).await;
    let after = env.entities().await;
    if report.listing_errors.is_empty() {
        // Retries absorbed the faults: then the resync is complete and correct.
        assert_eq!(report.deletion, Deletion::Done);
        assert_eq!(after.len(), before - victims.len());
    } else {
        assert!(matches!(report.deletion, Deletion::Skipped(_)), "{:?}", report.to_json());
        assert_eq!(after.len(), before, "nothing may be deleted after a failed listing");
        for v in &victims {
            assert!(after.iter().any(|e| &e.identifier == v), "{v} must survive");
        }
    }
    // Once the faults stop, the next resync converges.
    let report = env.sync().await;
    assert!(report.is_success(), "{:?}", report.to_json());
    assert_catalog_equals_org(&env.entities().await, &env.export().await);
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_403_on_the_third_users_page_deletes_nothing() {
    let env = Env::start("f403", 700, 10, 2).await;
    assert!(env.sync().await.is_success());
    let before = env.entities().await.len();
    let victims = delete_some_users(&env, 3).await;
    env.faults(json!({"rules": [{"family": "list_users", "nth": 3, "status": 403}]})).await;
    let report = env.sync().await;
    assert!(!report.listing_errors.is_empty());
    assert!(report.listing_errors.iter().any(|e| e.contains("403")), "{:?}", report.listing_errors);
    assert!(matches!(report.deletion, Deletion::Skipped(_)));
    assert!(!report.is_success());
    let after = env.entities().await;
    assert_eq!(after.len(), before);
    for v in &victims {
        assert!(after.iter().any(|e| &e.identifier == v));
    }
    env.faults(json!({})).await;
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_500_storm_deletes_nothing_it_should_not() {
    assert_faulted_resync_deletes_nothing(
        "f500",
        json!({"rules": [{"family": "*", "rate": 0.3, "status": 500}]}),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_resets_delete_nothing_they_should_not() {
    assert_faulted_resync_deletes_nothing(
        "freset",
        json!({"rules": [{"family": "*", "rate": 0.2, "action": "reset"}]}),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429_storm_completes_with_the_same_catalog() {
    let env = Env::start("f429", 400, 10, 2).await;
    assert!(env.sync().await.is_success());
    let expected = env.entities().await;
    env.faults(json!({"rules": [{"family": "*", "rate": 0.4, "status": 429}]})).await;
    let report = env.sync().await;
    env.faults(json!({})).await;
    assert!(report.okta_429 > 0, "the storm must have hit");
    assert!(report.is_success(), "{:?}", report.to_json());
    assert_eq!(env.entities().await, expected);
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deletion_above_the_threshold_is_skipped() {
    let env = Env::start("threshold", 60, 4, 1).await;
    assert!(env.sync().await.is_success());
    // The same mapping with a strict threshold; then 3 of ~64 owned entities go stale.
    let mut cfg = config::load_file(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/full/port-app-config.yml"),
    )
    .unwrap();
    cfg.entity_deletion_threshold = 0.01;
    let strict = mapping::compile(&cfg, &env.blueprints, &JqOptions { allow_env: false }).unwrap();
    let victims = delete_some_users(&env, 3).await;
    let report = env.sync_with(&strict).await;
    match &report.deletion {
        Deletion::Skipped(why) => assert!(why.contains("entityDeletionThreshold"), "{why}"),
        Deletion::Done => panic!("3 of ~64 is above a 0.01 threshold"),
    }
    let after = env.entities().await;
    for v in &victims {
        assert!(after.iter().any(|e| &e.identifier == v));
    }
    env.stop().await;
}
