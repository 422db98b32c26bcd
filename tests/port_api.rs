//! Port as the catalog: `port-okta sync` (the built binary) through Port's REST client into
//! `port-okta catalog serve` (in this process, on 127.0.0.1:0) against okta-sim — the issue's
//! acceptance list — plus the client's transport rules and the server's error shapes.
//!
//! Faults are the server's deterministic rules (the nth request of a route fails, for `times`
//! requests); nothing here depends on timing.

mod common;

use port_okta::catalog::{Catalog, RunInfo, RunOutcome, WriteContext};
use port_okta::catalog_api::{FaultRule, Faults, RejectRule, ServeConfig, ServeHandle};
use port_okta::model::{Entity, EntityKey};
use port_okta::port::{PortCatalog, PortConfig, PortStats, RetryPolicy};
use port_okta::secret::Secret;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::Arc;
use std::time::Duration;

const OKTA_TOKEN: &str = "port-api-okta-token";
const CLIENT_ID: &str = "port-api-client";
const CLIENT_SECRET: &str = "port-api-secret-value";
const INTEGRATION: &str = "my-okta-integration";

fn db(name: &str) -> PathBuf {
    let p =
        std::env::temp_dir().join(format!("port-okta-portapi-{}-{name}.db", std::process::id()));
    remove(&p);
    p
}

fn remove(p: &Path) {
    for s in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{s}", p.display()));
    }
}

/// `catalog serve` over a fresh file; stops the server and removes the file when dropped.
struct Serve {
    handle: Option<ServeHandle>,
    path: PathBuf,
}

impl Serve {
    async fn start(name: &str) -> Self {
        Self::with(name, |_| {}).await
    }

    async fn with(name: &str, tweak: impl FnOnce(&mut ServeConfig)) -> Self {
        let path = db(name);
        let mut config = ServeConfig::new(path.clone(), CLIENT_ID, Secret::new(CLIENT_SECRET));
        tweak(&mut config);
        let handle =
            port_okta::catalog_api::spawn(config, "127.0.0.1:0".parse().unwrap()).await.unwrap();
        Self { handle: Some(handle), path }
    }

    fn h(&self) -> &ServeHandle {
        self.handle.as_ref().unwrap()
    }

    fn url(&self) -> String {
        self.h().base_url()
    }

    fn stat(&self, key: &str) -> u64 {
        self.h().stats().get(key).copied().unwrap_or(0)
    }

    fn client(&self) -> PortCatalog {
        PortCatalog::new(self.config()).unwrap()
    }

    fn config(&self) -> PortConfig {
        PortConfig::new(&self.url(), CLIENT_ID, Secret::new(CLIENT_SECRET), INTEGRATION)
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        drop(self.handle.take());
        remove(&self.path);
    }
}

/// okta-sim, stopped when dropped.
struct Sim(okta_sim::SimHandle);

async fn sim(users: usize) -> Sim {
    let cfg = okta_sim::SimConfig {
        users,
        groups: 6,
        apps: 2,
        seed: 21,
        token: OKTA_TOKEN.into(),
        ..okta_sim::SimConfig::default()
    };
    Sim(okta_sim::spawn(cfg, "127.0.0.1:0".parse().unwrap()).await.unwrap())
}

fn http() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().unwrap()
}

impl Sim {
    fn url(&self) -> String {
        self.0.base_url()
    }

    /// Deletes `n` active users (deactivate, then delete), returning their ids.
    async fn delete_users(&self, n: usize) -> Vec<String> {
        common::delete_active_users(&self.0, OKTA_TOKEN, n).await
    }

    /// Renames the last active user (its displayName).
    async fn rename_a_user(&self, name: &str) -> String {
        let export = self.0.export();
        let users = export["users"].as_array().unwrap();
        let user = users.iter().rev().find(|u| u["status"] == "ACTIVE").unwrap();
        let id = user["id"].as_str().unwrap().to_string();
        let r = http()
            .post(format!("{}/api/v1/users/{id}", self.url()))
            .header("Authorization", format!("SSWS {OKTA_TOKEN}"))
            .json(&json!({"profile": {"displayName": name}}))
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{}", r.status());
        id
    }
}

/// Runs the built binary off the runtime's threads.
async fn port_okta(args: Vec<String>, env: Vec<(String, String)>) -> Output {
    tokio::task::spawn_blocking(move || {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_port-okta"));
        cmd.current_dir(env!("CARGO_MANIFEST_DIR")).args(&args);
        for v in [
            "OCEAN__PORT__CLIENT_ID",
            "OCEAN__PORT__CLIENT_SECRET",
            "OCEAN__PORT__BASE_URL",
            "PORT_CLIENT_ID",
            "PORT_CLIENT_SECRET",
            "PORT_BASE_URL",
            "OCEAN__INTEGRATION__IDENTIFIER",
            "INTEGRATION_IDENTIFIER",
            "OCEAN__INTEGRATION__CONFIG__OKTA_DOMAIN",
            "OCEAN__INTEGRATION__CONFIG__OKTA_API_TOKEN",
        ] {
            cmd.env_remove(v);
        }
        cmd.env("LOG_FORMAT", "json").env("RUST_LOG", "info");
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.output().unwrap()
    })
    .await
    .unwrap()
}

fn okta_env(sim: &Sim) -> Vec<(String, String)> {
    vec![("OKTA_DOMAIN".into(), sim.url()), ("OKTA_API_TOKEN".into(), OKTA_TOKEN.into())]
}

/// `port-okta sync --json` into `catalog serve` (Port chosen by the credentials alone).
async fn sync_port(sim: &Sim, serve: &Serve, extra: &[(&str, &str)], args: &[&str]) -> Output {
    let mut env = okta_env(sim);
    env.push(("OCEAN__PORT__BASE_URL".into(), serve.url()));
    env.push(("OCEAN__PORT__CLIENT_ID".into(), CLIENT_ID.into()));
    env.push(("OCEAN__PORT__CLIENT_SECRET".into(), CLIENT_SECRET.into()));
    env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let mut argv = vec!["sync".to_string(), "--json".to_string()];
    argv.extend(args.iter().map(|a| a.to_string()));
    port_okta(argv, env).await
}

/// `port-okta sync --json` straight into an SQLite file.
async fn sync_sqlite(sim: &Sim, path: &Path) -> Output {
    let args = vec![
        "sync".into(),
        "--json".into(),
        "--catalog".into(),
        format!("sqlite:{}", path.display()),
    ];
    port_okta(args, okta_env(sim)).await
}

async fn export(path: &Path) -> Value {
    let args = vec![
        "catalog".into(),
        "export".into(),
        "--catalog".into(),
        format!("sqlite:{}", path.display()),
    ];
    let out = port_okta(args, Vec::new()).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn summary(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!("{e}: stdout {} stderr {}", text(&out.stdout), text(&out.stderr))
    })
}

/// The last JSON log line with this message.
fn log_line(out: &Output, message: &str) -> Value {
    text(&out.stderr)
        .lines()
        .rev()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|v| v["message"] == message)
        .unwrap_or_else(|| panic!("no {message:?} log line in:\n{}", text(&out.stderr)))
}

fn ids(export: &Value, blueprint: &str) -> Vec<String> {
    export
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["blueprint"] == blueprint)
        .map(|e| e["identifier"].as_str().unwrap().to_string())
        .collect()
}

async fn patch_config(serve: &Serve, config: Value) -> reqwest::StatusCode {
    http()
        .patch(format!("{}/v1/integration/{INTEGRATION}/config", serve.url()))
        .bearer_auth(token(serve).await)
        .json(&json!({ "config": config }))
        .send()
        .await
        .unwrap()
        .status()
}

/// A fault rule: the `nth` request of `route`, and `times` requests from it, answer `status`.
fn fault(route: &str, nth: u64, times: u64, status: u16) -> FaultRule {
    FaultRule {
        route: route.into(),
        nth,
        times,
        status,
        retry_after: None,
        ratelimit_reset: None,
        expire_tokens: false,
    }
}

fn faults(rules: Vec<FaultRule>) -> Faults {
    Faults { rules, reject: Vec::new() }
}

// ----- acceptance: sync through Port ---------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_through_port_equals_a_direct_sync_and_converges_after_changes() {
    let okta = sim(60).await;
    let serve = Serve::start("equal-port").await;
    let direct = db("equal-direct");
    let _direct_guard = Serve { handle: None, path: direct.clone() };

    let via_port = sync_port(&okta, &serve, &[], &[]).await;
    assert!(via_port.status.success(), "{}", text(&via_port.stderr));
    let s = summary(&via_port);
    assert_eq!(s["deletion"], "done");
    let first = sync_sqlite(&okta, &direct).await;
    assert!(first.status.success(), "{}", text(&first.stderr));
    let port_export = export(&serve.path).await;
    assert!(ids(&port_export, "okta-user").len() >= 60);
    assert_eq!(port_export, export(&direct).await, "Port and SQLite hold the same entities");
    // Bulk calls as Ocean's limits allow: never more than 20 entities in one.
    let entities = port_export.as_array().unwrap().len() as u64;
    assert!(serve.stat("bulk_upsert") <= entities.div_ceil(20) + 2, "{:?}", serve.h().stats());
    // The integration was created with the default mapping, and its state shows the run.
    let integration = serve.h().integration(INTEGRATION).unwrap();
    assert_eq!(integration["config"]["resources"][0]["kind"], "okta-user");

    let victims = okta.delete_users(2).await;
    let renamed = okta.rename_a_user("Renamed Person").await;
    let second = sync_port(&okta, &serve, &[], &[]).await;
    assert!(second.status.success(), "{}", text(&second.stderr));
    assert_eq!(summary(&second)["kinds"]["okta-user"]["deleted"], 2);
    assert!(sync_sqlite(&okta, &direct).await.status.success());
    let after = export(&serve.path).await;
    assert_eq!(after, export(&direct).await, "both converge to the same catalog");
    let users = ids(&after, "okta-user");
    assert!(victims.iter().all(|v| !users.contains(v)));
    let user =
        after.as_array().unwrap().iter().find(|e| e["identifier"] == renamed.as_str()).unwrap();
    assert_eq!(user["title"], "Renamed Person");
    // A third sync changes nothing.
    let third = sync_port(&okta, &serve, &[], &[]).await;
    let k = &summary(&third)["kinds"]["okta-user"];
    assert_eq!(
        (k["created"].as_u64(), k["updated"].as_u64(), k["deleted"].as_u64()),
        (Some(0), Some(0), Some(0))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_expiring_mid_resync_is_refreshed_once_and_the_run_completes() {
    let okta = sim(60).await;
    let serve = Serve::start("token-expiry").await;
    // Every token dies just before the third bulk upsert, which then gets a 401.
    let rule = FaultRule { expire_tokens: true, ..fault("bulk_upsert", 3, 1, 401) };
    serve.h().set_faults(faults(vec![rule]));
    let out = sync_port(&okta, &serve, &[], &[]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(summary(&out)["deletion"], "done");
    // One token for reading the mapping, one for the run, one forced refresh after the 401.
    assert_eq!(serve.stat("token"), 3, "{:?}", serve.h().stats());
    let done = log_line(&out, "port client done");
    assert_eq!(done["token_fetches"], 2);
    assert_eq!(done["refused"], 0);
    assert!(ids(&export(&serve.path).await, "okta-user").len() >= 60);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limits_and_503_bursts_are_waited_out_and_retried() {
    let okta = sim(60).await;
    let serve = Serve::start("retries").await;
    let rules = vec![
        FaultRule { retry_after: Some("3".into()), ..fault("bulk_upsert", 2, 1, 429) },
        fault("bulk_upsert", 4, 3, 503),
        FaultRule { ratelimit_reset: Some("3".into()), ..fault("bulk_upsert", 8, 1, 429) },
    ];
    serve.h().set_faults(faults(rules));
    let out = sync_port(&okta, &serve, &[], &[]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let done = log_line(&out, "port client done");
    assert_eq!(done["retries"], 5, "{done}");
    assert_eq!(done["rate_limited"], 2);
    // Both 429s were waited out for the 3 s their headers asked; the three 503s back off
    // 0.3 + 0.6 + 1.2 s (± 10 %), so the total is over 6 s only if the headers were honoured.
    assert!(done["waited_ms"].as_u64().unwrap() >= 6000, "{done}");
    let users = ids(&export(&serve.path).await, "okta-user");
    assert!(users.len() >= 60, "every entity arrived despite the faults");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_entity_refused_among_twenty_is_reported_with_ports_message() {
    let okta = sim(60).await;
    let serve = Serve::start("reject").await;
    let victim = okta.0.export()["users"][5]["id"].as_str().unwrap().to_string();
    let reject = RejectRule {
        identifier: victim.clone(),
        status: 422,
        message: "Port says: the manager field is locked".into(),
    };
    serve.h().set_faults(Faults { rules: Vec::new(), reject: vec![reject] });
    let out = sync_port(&okta, &serve, &[], &[]).await;
    assert_eq!(out.status.code(), Some(1), "a refused entity makes the run partial");
    let s = summary(&out);
    assert_eq!(s["kinds"]["okta-user"]["failed"], 1);
    let problems = s["problems"].as_array().unwrap();
    assert_eq!(problems.len(), 1, "{s}");
    assert!(problems[0]["item"].as_str().unwrap().contains(&victim));
    assert_eq!(problems[0]["message"], "Port says: the manager field is locked");
    let after = export(&serve.path).await;
    let users: Vec<&Value> =
        after.as_array().unwrap().iter().filter(|e| e["blueprint"] == "okta-user").collect();
    let listed = okta.0.export()["users"].as_array().unwrap().len();
    assert_eq!(users.len(), listed, "{:?}", serve.h().stats());
    for u in users {
        // The refused user exists only as the empty stub its groups' `members` relation made.
        let full = u["properties"].as_object().is_some_and(|p| !p.is_empty());
        assert_eq!(full, u["identifier"] != victim.as_str(), "{u}");
    }
    assert_eq!(serve.stat("entities_upserted") as usize, listed - 1 + 6);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_port_outage_during_stale_deletion_deletes_nothing_and_says_why() {
    let okta = sim(40).await;
    let serve = Serve::start("outage").await;
    assert!(sync_port(&okta, &serve, &[], &[]).await.status.success());
    let victims = okta.delete_users(2).await;
    serve.h().set_faults(faults(vec![fault("bulk_delete", 1, 0, 503)]));
    let out = sync_port(&okta, &serve, &[("PORT_MAX_RETRIES", "2")], &[]).await;
    assert_eq!(out.status.code(), Some(1), "a partial run, not a broken one");
    assert_eq!(serve.stat("bulk_delete"), 3, "one call, retried twice, then given up");
    let (stdout, err) = (text(&out.stdout), text(&out.stderr));
    let summary: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let deletion = summary["deletion"].as_str().unwrap();
    assert!(
        deletion.starts_with("skipped: the catalog failed during deletion (0 deleted before)")
            && deletion.contains(
                "catalog answered 503 to POST /v1/blueprints/okta-user/bulk/entities/delete"
            )
            && deletion.contains("injected fault on bulk_delete"),
        "{summary}"
    );
    for out in [&stdout, &err] {
        assert!(
            !out.contains(CLIENT_SECRET) && !out.contains("Bearer "),
            "no secret in the output"
        );
    }
    let users = ids(&export(&serve.path).await, "okta-user");
    assert!(victims.iter().all(|v| users.contains(v)), "nothing was deleted");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entities_of_another_datasource_are_never_deleted_and_oceans_own_are_ours() {
    let okta = sim(30).await;
    let serve = Serve::start("datasources").await;
    assert!(sync_port(&okta, &serve, &[], &[]).await.status.success());
    let user = |id: &str| -> Entity {
        serde_json::from_value(json!({"identifier": id, "blueprint": "okta-user", "title": id,
            "properties": {"login": format!("{id}@x.io"), "email": format!("{id}@x.io")}}))
        .unwrap()
    };
    let write = |owner: &str| WriteContext {
        owner: owner.into(),
        run_id: "manual".into(),
        merge: true,
        create_missing_related: true,
    };
    // Another integration's entity, and one Ocean (an older version) wrote for this integration.
    let other = serve.client();
    let written =
        other.upsert(Arc::from(vec![user("someone-elses")]), write("another-integration"));
    assert!(written.await.unwrap()[0].is_ok());
    let mut ocean = serve.config();
    ocean.version = "0.1.197".into();
    let ocean = PortCatalog::new(ocean).unwrap();
    let written = ocean.upsert(Arc::from(vec![user("left-by-ocean")]), write(INTEGRATION));
    assert!(written.await.unwrap()[0].is_ok());
    let out = sync_port(&okta, &serve, &[], &[]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(summary(&out)["kinds"]["okta-user"]["deleted"], 1);
    let users = ids(&export(&serve.path).await, "okta-user");
    assert!(users.contains(&"someone-elses".to_string()), "another datasource: kept");
    assert!(
        !users.contains(&"left-by-ocean".to_string()),
        "Ocean's entity of ours, stale: deleted"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_mapping_edited_in_the_integration_is_used_at_the_next_resync() {
    let okta = sim(20).await;
    let serve = Serve::start("mapping-edit").await;
    assert!(sync_port(&okta, &serve, &[], &[]).await.status.success());
    let mut config = port_okta::config::builtin_default_json();
    config["resources"][0]["port"]["entity"]["mappings"]["title"] =
        json!("\"user \" + .profile.login");
    assert!(patch_config(&serve, config).await.is_success());
    let out = sync_port(&okta, &serve, &[], &[]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let after = export(&serve.path).await;
    let users: Vec<&Value> =
        after.as_array().unwrap().iter().filter(|e| e["blueprint"] == "okta-user").collect();
    assert!(!users.is_empty());
    for u in users {
        assert_eq!(u["title"], format!("user {}", u["properties"]["login"].as_str().unwrap()));
    }
    // --mapping overrides it, and says so.
    let file = format!("{}/resources/port-app-config.yml", env!("CARGO_MANIFEST_DIR"));
    let out = sync_port(&okta, &serve, &[], &["--mapping", &file]).await;
    assert!(out.status.success());
    log_line(&out, "--mapping overrides the integration's mapping in Port");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_mapping_in_the_integration_fails_with_located_errors_and_writes_nothing() {
    let okta = sim(20).await;
    let serve = Serve::start("mapping-broken").await;
    let mut config = port_okta::config::builtin_default_json();
    config["resources"][0]["selector"]["includeGroups"] = json!(true);
    config["entityDeletionThreshold"] = json!(1.5);
    // The integration exists with the broken mapping before the first sync.
    let c = serve.client();
    c.integration_config(&config).await.unwrap();
    let out = sync_port(&okta, &serve, &[], &[]).await;
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains("<Port integration my-okta-integration config>:"), "{err}");
    assert!(err.contains("resources[0].selector.includeGroups"), "{err}");
    assert!(err.contains("entityDeletionThreshold"), "{err}");
    assert_eq!(serve.stat("bulk_upsert"), 0);
    assert_eq!(serve.stat("entities_upserted"), 0);
}

// ----- the client's transport ----------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_callers_share_one_token_fetch() {
    let serve = Serve::start("single-flight").await;
    let c = Arc::new(serve.client());
    let mut calls = tokio::task::JoinSet::new();
    for i in 0..8 {
        let c = c.clone();
        calls.spawn(async move {
            let key = EntityKey { blueprint: "b".into(), identifier: format!("e{i}") };
            c.get(vec![key]).await.unwrap()
        });
    }
    while let Some(r) = calls.join_next().await {
        assert_eq!(r.unwrap(), vec![None]);
    }
    assert_eq!(serve.stat("token"), 1);
    assert_eq!(PortStats::get(&c.stats().token_fetches), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_500_is_final_and_the_error_names_method_path_status_and_body_never_the_token() {
    let serve = Serve::start("final-500").await;
    serve.h().set_faults(faults(vec![fault("search", 1, 0, 500)]));
    let c = serve.client();
    let key = EntityKey { blueprint: "okta-user".into(), identifier: "u".into() };
    let e = c.get(vec![key]).await.unwrap_err();
    assert!(!e.retryable());
    let shown = format!("{e} {e:?}");
    assert!(shown.contains("catalog answered 500 to POST /v1/entities/search?exclude_calculated_properties=true: injected_fault: injected fault on search"), "{shown}");
    assert!(!shown.contains(CLIENT_SECRET) && !shown.contains("Bearer"), "{shown}");
    assert_eq!(serve.stat("search"), 1, "500 is not retried");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn network_errors_are_retried_a_bounded_number_of_times() {
    // A port nothing listens on: bind one, note it, close it.
    let addr = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let mut config = PortConfig::new(
        &format!("http://{addr}"),
        CLIENT_ID,
        Secret::new(CLIENT_SECRET),
        INTEGRATION,
    );
    config.retry = RetryPolicy {
        max_retries: 3,
        base_delay: Duration::from_millis(1),
        max_wait: Duration::from_millis(5),
    };
    let c = PortCatalog::new(config).unwrap();
    let e = c.export().await.unwrap_err();
    assert!(e.retryable(), "{e}");
    assert!(e.to_string().contains("POST /v1/auth/access_token"), "{e}");
    assert_eq!(PortStats::get(&c.stats().requests), 4, "one try and three retries");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bulk_calls_stay_under_the_concurrency_bound_and_a_413_splits_them() {
    // Bodies over 6 KiB are refused: a 20-entity bulk of ~600-byte entities is split.
    let serve = Serve::with("bound", |c| c.max_body_bytes = 6 * 1024).await;
    let mut config = serve.config();
    config.concurrency = 2;
    let c = PortCatalog::new(config).unwrap();
    let bp: port_okta::blueprint::Blueprint = serde_json::from_value(
        json!({"identifier": "thing", "schema": {"properties": {"pad": {"type": "string"}}}}),
    )
    .unwrap();
    c.put_blueprints(vec![bp]).await.unwrap();
    let batch: Vec<Entity> = (0..200)
        .map(|i| {
            serde_json::from_value(json!({"identifier": format!("t{i:03}"), "blueprint": "thing",
                "properties": {"pad": "p".repeat(280)}}))
            .unwrap()
        })
        .collect();
    let cx = WriteContext {
        owner: INTEGRATION.into(),
        run_id: "r".into(),
        merge: true,
        create_missing_related: false,
    };
    let out = c.upsert(Arc::from(batch), cx).await.unwrap();
    assert!(out.iter().all(|o| o.is_ok()), "{:?}", out.iter().find(|o| !o.is_ok()));
    assert_eq!(serve.stat("entities_upserted"), 200);
    let max = serve.stat("bulk_upsert_max_in_flight");
    assert!((1..=2).contains(&max), "at most 2 bulk calls at once, saw {max}");
    // 10 calls of 20, each refused as too large and split in two.
    assert_eq!(PortStats::get(&c.stats().upsert_calls), 30);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runs_and_examples_reach_the_integration() {
    let serve = Serve::start("runs").await;
    let c = serve.client();
    c.integration_config(&port_okta::config::builtin_default_json()).await.unwrap();
    let run = RunInfo {
        run_id: "run-1".into(),
        owner: INTEGRATION.into(),
        started: jiff::Timestamp::now(),
        pid: std::process::id(),
    };
    c.begin_run(run, Duration::ZERO).await.unwrap();
    let state = serve.h().integration(INTEGRATION).unwrap()["resyncState"].clone();
    assert_eq!(state["status"], "running");
    assert!(state["lastResyncEnd"].is_null() && state["lastResyncStart"].is_string());
    assert!(state.as_object().unwrap().contains_key("intervalInMinuets"), "Ocean's spelling");
    c.end_run("run-1".into(), RunOutcome::Completed).await.unwrap();
    let state = serve.h().integration(INTEGRATION).unwrap()["resyncState"].clone();
    assert_eq!(state["status"], "completed");
    assert!(state["lastResyncEnd"].is_string());
    c.end_run("run-2".into(), RunOutcome::Partial("a listing failed".into())).await.unwrap();
    assert_eq!(serve.h().integration(INTEGRATION).unwrap()["resyncState"]["status"], "failed");

    let items: Vec<Value> = (0..30)
        .map(|i| json!({"id": format!("00u{i}"), "_links": {"self": "x"}, "credentials": {"password": {"value": "pw"}}}))
        .collect();
    c.examples("okta-user".into(), items).await.unwrap();
    let got =
        get_json(&serve, &format!("/v1/integration/{INTEGRATION}/kinds/okta-user/examples")).await;
    let examples = got["examples"].as_array().unwrap();
    assert_eq!(examples.len(), 25);
    assert_eq!(examples[0], json!({"id": "00u0", "credentials": "********"}));
}

// ----- the server's answers ------------------------------------------------------------------

async fn token(serve: &Serve) -> String {
    let v: Value = http()
        .post(format!("{}/v1/auth/access_token", serve.url()))
        .json(&json!({"clientId": CLIENT_ID, "clientSecret": CLIENT_SECRET}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v["accessToken"].as_str().unwrap().to_string()
}

/// `GET path` on the server with a fresh token.
async fn get_json(serve: &Serve, path: &str) -> Value {
    let r = http().get(format!("{}{path}", serve.url())).bearer_auth(token(serve).await);
    r.send().await.unwrap().json().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_answers_with_ports_statuses_and_error_shapes() {
    let serve = Serve::with("errors", |c| c.max_body_bytes = 2048).await;
    let url = serve.url();
    let c = http();
    let bad_login = c
        .post(format!("{url}/v1/auth/access_token"))
        .json(&json!({"clientId": CLIENT_ID, "clientSecret": "wrong"}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad_login.status(), 401);
    assert_eq!(bad_login.json::<Value>().await.unwrap()["error"], "unauthorized");
    let no_token = c.get(format!("{url}/v1/blueprints")).send().await.unwrap();
    assert_eq!(no_token.status(), 401);
    let t = token(&serve).await;
    let call = |method: reqwest::Method, path: &str| {
        c.request(method, format!("{url}{path}")).bearer_auth(&t)
    };
    let bp = json!({"identifier": "svc", "schema": {"properties": {"tier": {"type": "string", "enum": ["a", "b"]}}},
                    "relations": {"deps": {"target": "svc", "many": true}}});
    assert_eq!(
        call(reqwest::Method::POST, "/v1/blueprints").json(&bp).send().await.unwrap().status(),
        201
    );
    let again = call(reqwest::Method::POST, "/v1/blueprints").json(&bp).send().await.unwrap();
    assert_eq!(again.status(), 409);
    assert_eq!(
        again.json::<Value>().await.unwrap(),
        json!({"ok": false, "error": "identifier_taken", "message": "blueprint svc already exists"})
    );

    let bad_json = call(reqwest::Method::POST, "/v1/blueprints/svc/entities/bulk")
        .body("{nope")
        .send()
        .await
        .unwrap();
    assert_eq!(bad_json.status(), 400);
    let body: Value = bad_json.json().await.unwrap();
    assert_eq!(
        (body["ok"].clone(), body["error"].clone()),
        (json!(false), json!("invalid_request"))
    );
    let unknown = call(reqwest::Method::POST, "/v1/blueprints/nope/entities/bulk")
        .json(&json!({"entities": []}))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);
    assert_eq!(unknown.json::<Value>().await.unwrap()["error"], "not_found");
    let huge = json!({"entities": [{"identifier": "x", "properties": {"tier": "a".repeat(4000)}}]});
    let too_big = call(reqwest::Method::POST, "/v1/blueprints/svc/entities/bulk")
        .json(&huge)
        .send()
        .await
        .unwrap();
    assert_eq!(too_big.status(), 413);
    assert_eq!(too_big.json::<Value>().await.unwrap()["error"], "payload_too_large");

    // All or nothing per entity: the bad one is refused whole, the others written; a `many`
    // relation sent as one identifier is stored as a list.
    let bulk = json!({"entities": [
        {"identifier": "s1", "title": "one", "properties": {"tier": "a"}},
        {"identifier": "s2", "properties": {"tier": "z"}, "relations": {"deps": "s1"}},
        {"identifier": "s3", "properties": {"tier": "b"}, "relations": {"deps": "s1"}},
        {"title": "no identifier"}]});
    let r = call(reqwest::Method::POST, "/v1/blueprints/svc/entities/bulk?upsert=true&merge=true")
        .json(&bulk)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 207);
    let answer: Value = r.json().await.unwrap();
    let written: Vec<u64> = answer["entities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["index"].as_u64().unwrap())
        .collect();
    assert_eq!(written, [0, 2]);
    let errors = answer["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 2);
    assert_eq!(
        (errors[0]["index"].clone(), errors[0]["statusCode"].clone()),
        (json!(1), json!(422))
    );
    assert!(errors[0]["message"].as_str().unwrap().contains("properties.tier"), "{answer}");
    assert_eq!(
        (errors[1]["index"].clone(), errors[1]["identifier"].clone()),
        (json!(3), json!("unknown"))
    );
    let s2 = call(reqwest::Method::GET, "/v1/blueprints/svc/entities/s2").send().await.unwrap();
    assert_eq!(s2.status(), 404, "nothing of the refused entity is stored");
    let s3: Value = call(reqwest::Method::GET, "/v1/blueprints/svc/entities/s3")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(s3["entity"]["relations"]["deps"], json!(["s1"]));

    let bad_query = call(reqwest::Method::POST, "/v1/entities/search")
        .json(&json!({"combinator": "and", "rules": [{"property": "$identifier", "operator": "~", "value": "x"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad_query.status(), 400);
    assert!(
        bad_query.json::<Value>().await.unwrap()["message"]
            .as_str()
            .unwrap()
            .starts_with("rules[0]: operator `~`")
    );
    let single = call(reqwest::Method::POST, "/v1/blueprints/svc/entities")
        .json(&json!({"identifier": "s9", "properties": {"tier": "nope"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(single.status(), 422);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn existing_blueprints_are_never_overwritten_and_can_be_left_alone() {
    let serve = Serve::start("blueprints").await;
    let mine: port_okta::blueprint::Blueprint = serde_json::from_value(
        json!({"identifier": "okta-user", "title": "Edited in Port", "schema": {"properties": {}}}),
    )
    .unwrap();
    let c = serve.client();
    c.put_blueprints(vec![mine]).await.unwrap();
    c.put_blueprints(port_okta::blueprint::BlueprintSet::seed().blueprints).await.unwrap();
    let all = get_json(&serve, "/v1/blueprints").await;
    let titles: Vec<(String, String)> = all["blueprints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            (b["identifier"].as_str().unwrap().into(), b["title"].as_str().unwrap_or("").into())
        })
        .collect();
    assert_eq!(titles[1], ("okta-user".to_string(), "Edited in Port".to_string()));
    assert_eq!(titles[0].0, "okta-group", "the missing one was created");
    // With OCEAN__INITIALIZE_PORT_RESOURCES=false nothing is read or created.
    let before = serve.stat("blueprints");
    let mut config = serve.config();
    config.initialize_resources = false;
    let bare: port_okta::blueprint::Blueprint =
        serde_json::from_value(json!({"identifier": "never", "schema": {"properties": {}}}))
            .unwrap();
    PortCatalog::new(config).unwrap().put_blueprints(vec![bare]).await.unwrap();
    assert_eq!(serve.stat("blueprints"), before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dry_run_against_port_writes_nothing_not_even_the_integration() {
    let okta = sim(20).await;
    let serve = Serve::start("dry-run").await;
    let out = sync_port(&okta, &serve, &[], &["--dry-run"]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let plan = &summary(&out)["plan"];
    assert!(plan["create"].as_array().unwrap().len() >= 20, "{plan}");
    assert!(serve.h().integration(INTEGRATION).is_none(), "no integration created");
    assert_eq!((serve.stat("bulk_upsert"), serve.stat("bulk_delete")), (0, 0));
    let c = serve.client();
    assert!(c.export().await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_resyncs_when_a_resync_is_requested_in_port() {
    use port_okta::blueprint::BlueprintSet;
    use port_okta::events::queue::SqliteQueue;
    use port_okta::events::serve::{LiveEvents, Resyncs, ServeOptions, start};
    use port_okta::mapping::{self, JqOptions};
    let okta = sim(20).await;
    let serve = Serve::start("resync-request").await;
    // The first sync creates the integration in Port.
    assert!(sync_port(&okta, &serve, &[], &[]).await.status.success());
    // The mapping and blueprints the first sync put in Port (the built-in ones).
    let (cfg, bps) = (port_okta::config::builtin_default(), BlueprintSet::seed());
    let compiled = mapping::compile(&cfg, &bps, &JqOptions { allow_env: false }).unwrap();
    let queue_path = db("resync-request-queue");
    let catalog: Arc<dyn Catalog> = Arc::new(serve.client());
    let okta_client = port_okta::okta::OktaClient::new(
        &okta.url(),
        Secret::new(OKTA_TOKEN),
        port_okta::okta::ClientOptions::default(),
    )
    .unwrap();
    let running = start(ServeOptions {
        listen: "127.0.0.1:0".parse().unwrap(),
        okta: okta_client,
        catalog,
        config: Arc::new(compiled),
        blueprints: Arc::new(bps),
        owner: INTEGRATION.into(),
        queue: Arc::new(SqliteQueue::open(&queue_path).unwrap()),
        secret: None,
        base_url: None,
        live: LiveEvents::Hooks,
        poll_interval: Duration::from_secs(5),
        resyncs: Resyncs::Scheduled(None),
        max_body: 1 << 20,
        concurrency: 2,
        resync_request_poll: Duration::from_millis(100),
    })
    .await
    .unwrap();
    let resyncs = |running: &port_okta::events::serve::Running| {
        let stats = port_okta::okta::ClientStats::default();
        let text = running.metrics.render(None, &stats, 0);
        text.lines()
            .find(|l| l.starts_with("port_okta_resyncs_total{outcome=\"completed\"}"))
            .and_then(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
            .unwrap_or(0)
    };
    // Bounded polls: the resync at start, then none until Port asks.
    for _ in 0..600 {
        if resyncs(&running) == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        resyncs(&running),
        1,
        "{}",
        running.metrics.render(None, &port_okta::okta::ClientStats::default(), 0)
    );
    let token = token(&serve).await;
    let requested = http()
        .post(format!("{}/v1/integration/{INTEGRATION}/resync-request", serve.url()))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert!(requested.status().is_success());
    for _ in 0..600 {
        if resyncs(&running) == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(resyncs(&running), 2, "the resync request started a resync");
    running.shutdown().await.unwrap();
    remove(&queue_path);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sync_sends_raw_data_examples_of_each_kind() {
    let okta = sim(30).await;
    let serve = Serve::start("examples-sync").await;
    assert!(sync_port(&okta, &serve, &[], &[]).await.status.success());
    let token = token(&serve).await;
    for (kind, n) in [("okta-user", 25), ("okta-group", 6)] {
        let got: Value = http()
            .get(format!("{}/v1/integration/{INTEGRATION}/kinds/{kind}/examples", serve.url()))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let examples = got["examples"].as_array().unwrap();
        assert_eq!(examples.len(), n, "{kind}: {got}");
        assert!(examples.iter().all(|e| e.get("id").is_some() && e.get("_links").is_none()));
    }
    // Without SEND_RAW_DATA_EXAMPLES none are sent.
    let serve = Serve::start("examples-off").await;
    let off = [("OCEAN__SEND_RAW_DATA_EXAMPLES", "false")];
    assert!(sync_port(&okta, &serve, &off, &[]).await.status.success());
    assert!(serve.stat("examples") == 0, "{:?}", serve.h().stats());
}
