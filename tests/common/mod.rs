//! Shared harness of the end-to-end tests: an okta-sim org, a temporary catalog, the example
//! mapping, and the assertion that the catalog equals the org.
//!
//! The simulator stops and the catalog files go when an [`Env`] is dropped, also when an
//! assertion fails.

#![allow(dead_code)]

use port_okta::blueprint::BlueprintSet;
use port_okta::catalog::Catalog;
use port_okta::catalog::sqlite::SqliteCatalog;
use port_okta::config;
use port_okta::engine::{ResyncOptions, ResyncReport, resync};
use port_okta::mapping::{self, CompiledConfig, JqOptions};
use port_okta::model::Entity;
use port_okta::okta::{ClientOptions, OktaClient};
use port_okta::secret::Secret;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;
use std::time::Duration;

pub const TOKEN: &str = "test-token-123";

pub struct Env {
    handle: Option<okta_sim::SimHandle>,
    pub db: PathBuf,
    pub config: CompiledConfig,
    pub blueprints: BlueprintSet,
}

impl Env {
    pub async fn start(name: &str, users: usize, groups: usize, apps: usize) -> Self {
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
        Self { handle: Some(sim), db, config, blueprints }
    }

    pub fn client(&self) -> OktaClient {
        let opts = ClientOptions {
            backoff_base: Duration::from_millis(5),
            max_reset_wait: Duration::from_secs(3),
            ..ClientOptions::default()
        };
        OktaClient::new(&self.sim().base_url(), Secret::new(TOKEN), opts).unwrap()
    }

    pub async fn sync(&self) -> ResyncReport {
        self.sync_with(&self.config).await
    }

    pub async fn sync_with(&self, config: &CompiledConfig) -> ResyncReport {
        let catalog = Arc::new(SqliteCatalog::open(&self.db).unwrap());
        let opts = ResyncOptions { concurrency: 4, ..ResyncOptions::new("okta-e2e") };
        let (config, blueprints) = (Arc::new(config.clone()), Arc::new(self.blueprints.clone()));
        resync(&self.client(), config, blueprints, catalog, &opts, &|_| {})
            .await
            .expect("catalog works")
    }

    pub async fn entities(&self) -> Vec<Entity> {
        SqliteCatalog::open(&self.db).unwrap().export().await.unwrap()
    }

    pub async fn export(&self) -> Value {
        http()
            .get(format!("{}/__sim/export", self.sim().base_url()))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    pub async fn api(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> reqwest::Response {
        let mut req = http()
            .request(method, format!("{}{path}", self.sim().base_url()))
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

    pub async fn faults(&self, faults: Value) {
        let r = http()
            .post(format!("{}/__sim/faults", self.sim().base_url()))
            .json(&faults)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success());
    }

    /// The simulator.
    pub fn sim(&self) -> &okta_sim::SimHandle {
        self.handle.as_ref().expect("the simulator runs until the Env is dropped")
    }

    /// Stops the simulator gracefully (dropping the Env also stops it and removes the catalog).
    pub async fn stop(mut self) {
        if let Some(sim) = self.handle.take() {
            sim.shutdown().await;
        }
    }
}

pub fn http() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().unwrap()
}

pub fn remove_db(path: &Path) {
    for s in ["", "-wal", "-shm", "-lock"] {
        let _ = std::fs::remove_file(format!("{}{s}", path.display()));
    }
}

pub fn ids(v: &Value) -> BTreeSet<String> {
    match v {
        Value::Array(a) => a.iter().filter_map(Value::as_str).map(str::to_string).collect(),
        Value::String(s) => BTreeSet::from([s.clone()]),
        _ => BTreeSet::new(),
    }
}

/// Asserts the catalog holds exactly the org: every user (all statuses) and group, with
/// user → groups, group → members, user → manager and user → applications.
pub fn assert_catalog_equals_org(entities: &[Entity], org: &Value) {
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

/// Deletes users through the API so the next resync would have something to delete.
pub async fn delete_some_users(env: &Env, n: usize) -> Vec<String> {
    delete_active_users(env.sim(), TOKEN, n).await
}

/// Deletes the first `n` active users of `sim`'s org through its API (a first DELETE
/// deactivates, the second deletes), returning their ids.
pub async fn delete_active_users(sim: &okta_sim::SimHandle, token: &str, n: usize) -> Vec<String> {
    let victims: Vec<String> = sim.export()["users"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|u| u["status"] == "ACTIVE")
        .take(n)
        .map(|u| u["id"].as_str().unwrap().to_string())
        .collect();
    for id in &victims {
        for _ in 0..2 {
            let r = http()
                .delete(format!("{}/api/v1/users/{id}", sim.base_url()))
                .header("Authorization", format!("SSWS {token}"))
                .send()
                .await
                .unwrap();
            assert!(r.status().is_success(), "DELETE /api/v1/users/{id}: {}", r.status());
        }
    }
    victims
}

impl Drop for Env {
    fn drop(&mut self) {
        remove_db(&self.db);
    }
}

impl Env {
    /// The built `port-okta` binary, run from the repository against this org, owning what it
    /// writes as `okta-e2e` (the owner of the in-process syncs of [`Env::sync`]).
    pub fn command(&self) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_port-okta"));
        cmd.current_dir(env!("CARGO_MANIFEST_DIR"))
            .env("OKTA_DOMAIN", self.sim().base_url())
            .env("OKTA_API_TOKEN", TOKEN)
            .env("OCEAN__INTEGRATION__IDENTIFIER", "okta-e2e")
            .env("NO_PROXY", "127.0.0.1,localhost")
            .env_remove("INTEGRATION_IDENTIFIER")
            .env_remove("OCEAN__INTEGRATION__CONFIG__OKTA_DOMAIN")
            .env_remove("OCEAN__INTEGRATION__CONFIG__OKTA_API_TOKEN");
        cmd
    }

    /// Runs `port-okta` with `args` (and this catalog, unless `--catalog` is given).
    pub fn cli(&self, args: &[&str]) -> Output {
        let catalog = format!("sqlite:{}", self.db.display());
        let mut all: Vec<&str> = args.to_vec();
        if !args.iter().any(|a| a.starts_with("--catalog")) {
            all.extend(["--catalog", &catalog]);
        }
        let mut cmd = self.command();
        cmd.args(&all);
        tokio::task::block_in_place(|| cmd.output().unwrap())
    }

    /// `port-okta sync --json` with the example mapping: exit code and summary.
    pub fn cli_sync(&self, extra: &[&str]) -> (i32, Value) {
        let mut args = vec![
            "sync",
            "--json",
            "--mapping",
            "examples/full/port-app-config.yml",
            "--blueprints",
            "examples/full/blueprints.json",
        ];
        args.extend_from_slice(extra);
        let out = self.cli(&args);
        let summary = serde_json::from_slice(&out.stdout).unwrap_or_else(|_| {
            panic!("no JSON summary; stderr: {}", String::from_utf8_lossy(&out.stderr))
        });
        (out.status.code().unwrap_or(-1), summary)
    }
}
