//! Deletion that cannot be fooled: each test makes Okta (okta-sim) lie in one exact way, and
//! checks the one outcome its name promises. Every fault names the request it hits.

mod common;

use common::*;
use port_okta::config;
use port_okta::engine::Deletion;
use port_okta::mapping::{self, JqOptions};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::path::Path;

/// The users' keys in the catalog.
async fn user_ids(env: &Env) -> BTreeSet<String> {
    let all = env.entities().await;
    all.iter().filter(|e| e.blueprint == "okta-user").map(|e| e.identifier.clone()).collect()
}

/// After a full sync and 3 users deleted in Okta, a sync whose users listing lies in one way
/// must exit 1, delete nothing, and name the listing in `--json` `listing_errors`.
async fn a_lying_users_listing_deletes_nothing(name: &str, fault: Value, problem: &str) {
    let env = Env::start(name, 700, 10, 2).await;
    let (code, _) = env.cli_sync(&[]);
    assert_eq!(code, 0);
    let before = user_ids(&env).await;
    let victims = delete_some_users(&env, 3).await;
    env.faults(json!({"rules": [fault]})).await;
    let (code, summary) = env.cli_sync(&[]);
    env.faults(json!({})).await;
    assert_eq!(code, 1, "{summary}");
    assert_eq!(summary["kinds"]["okta-user"]["deleted"], 0, "{summary}");
    let errors: Vec<String> = serde_json::from_value(summary["listing_errors"].clone()).unwrap();
    assert!(
        errors.iter().any(|e| e.contains("listing /api/v1/users") && e.contains(problem)),
        "{errors:?}"
    );
    assert!(summary["deletion"].as_str().unwrap().starts_with("skipped"), "{summary}");
    assert_eq!(user_ids(&env).await, before, "nothing deleted");
    for v in &victims {
        assert!(before.contains(v));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_page_with_a_next_link_deletes_nothing() {
    let fault = json!({"family": "list_users", "nth": 2, "action": "emptyWithNext"});
    a_lying_users_listing_deletes_nothing(
        "emptynext",
        fault,
        "page 2 is empty but links a next page",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_without_a_link_header_deletes_nothing() {
    let fault = json!({"family": "list_users", "nth": 3, "action": "noLink"});
    a_lying_users_listing_deletes_nothing("nolink", fault, "page 3 has no Link header").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_next_cycle_deletes_nothing() {
    // Page 2 links back to page 1: A → B → A.
    let fault = json!({"family": "list_users", "nth": 2, "action": "cycle"});
    a_lying_users_listing_deletes_nothing("cycle", fault, "links back to a page already read")
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_groups_listing_changes_nothing() {
    let env = Env::start("nogroups", 5000, 200, 5).await;
    let (code, _) = env.cli_sync(&[]);
    assert_eq!(code, 0);
    let before = env.entities().await;
    env.faults(
        json!({"rules": [{"family": "groups", "path": "/api/v1/groups", "action": "empty"}]}),
    )
    .await;
    let (code, summary) = env.cli_sync(&[]);
    env.faults(json!({})).await;
    assert_eq!(code, 1, "{summary}");
    let errors = summary["listing_errors"].to_string();
    assert!(errors.contains("/api/v1/groups") && errors.contains("Everyone"), "{errors}");
    assert_eq!(summary["kinds"]["okta-group"]["deleted"], 0);
    // Not one entity changed: no group deleted, every user keeps its groups relation.
    assert_eq!(env.entities().await, before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_blueprint_over_the_threshold_skips_deletion_though_the_pool_is_under() {
    let env = Env::start("perbp", 300, 10, 2).await;
    assert!(env.sync().await.is_success());
    let mut cfg = config::load_file(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/full/port-app-config.yml"),
    )
    .unwrap();
    cfg.entity_deletion_threshold = 0.5;
    let strict = mapping::compile(&cfg, &env.blueprints, &JqOptions { allow_env: false }).unwrap();
    // Delete 6 of the 9 groups that can be deleted: 6/10 groups (60 %), 6/~310 entities (2 %).
    let org = env.export().await;
    let doomed: Vec<String> = org["groups"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|g| g["type"] != "BUILT_IN")
        .take(6)
        .map(|g| g["id"].as_str().unwrap().to_string())
        .collect();
    for g in &doomed {
        env.api(reqwest::Method::DELETE, &format!("/api/v1/groups/{g}"), None).await;
    }
    let report = env.sync_with(&strict).await;
    match &report.deletion {
        Deletion::Skipped(why) => {
            assert!(why.contains("6 of 10 okta-group") && why.contains("60.0%"), "{why}")
        }
        Deletion::Done => panic!("60 % of the groups is over 0.5: {:?}", report.to_json()),
    }
    let groups: BTreeSet<String> = env
        .entities()
        .await
        .into_iter()
        .filter(|e| e.blueprint == "okta-group")
        .map(|e| e.identifier)
        .collect();
    for g in &doomed {
        assert!(groups.contains(g), "{g} must survive");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_missed_by_both_listings_is_kept_after_a_direct_read() {
    // A user deactivated then reactivated between the plain and the DEPROVISIONED listings is in
    // neither: the listings miss it, as the `hide` fault makes them.
    let env = Env::start("reactivated", 300, 6, 2).await;
    assert!(env.sync().await.is_success());
    let gone = delete_some_users(&env, 1).await.remove(0);
    let org = env.export().await;
    let missed = org["users"].as_array().unwrap()[5]["id"].as_str().unwrap().to_string();
    env.faults(json!({"rules": [{"family": "list_users", "action": "hide", "ids": [missed]}]}))
        .await;
    let (code, summary) = env.cli_sync(&[]);
    env.faults(json!({})).await;
    assert_eq!(summary["verified_deletes"], 1, "{summary}");
    assert_eq!(summary["kinds"]["okta-user"]["deleted"], 1, "exactly the deleted one");
    assert_eq!(summary["kept_after_verification"], json!([format!("okta-user/{missed}")]));
    let errors = summary["listing_errors"].to_string();
    assert!(errors.contains(&missed) && errors.contains("still exists"), "{errors}");
    assert_eq!(code, 1, "the listing was inconsistent");
    let users = user_ids(&env).await;
    assert!(users.contains(&missed), "kept");
    assert!(!users.contains(&gone), "really deleted");
    // The next clean sync converges.
    let (code, _) = env.cli_sync(&[]);
    assert_eq!(code, 0);
    assert_catalog_equals_org(&env.entities().await, &env.export().await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_deleted_mid_membership_is_deleted_after_verification() {
    let env = Env::start("vanish", 300, 8, 2).await;
    assert!(env.sync().await.is_success());
    let org = env.export().await;
    let group = org["groups"].as_array().unwrap().iter().find(|g| g["type"] == "OKTA_GROUP");
    let gid = group.unwrap()["id"].as_str().unwrap().to_string();
    // The group is deleted just as its members are read: that listing answers 404.
    let path = format!("/api/v1/groups/{gid}/users");
    env.faults(json!({"rules": [{"family": "groups", "path": path, "action": "vanish"}]})).await;
    let report = env.sync().await;
    env.faults(json!({})).await;
    assert!(report.is_success(), "{:?}", report.to_json());
    assert_eq!(report.deletion, Deletion::Done);
    assert_eq!(report.verified_deletes, 1, "{:?}", report.to_json());
    let entities = env.entities().await;
    assert!(!entities.iter().any(|e| e.identifier == gid), "the vanished group is gone");
    assert_catalog_equals_org(&entities, &env.export().await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_sync_is_refused_while_one_runs_and_writes_nothing() {
    let env = Env::start("lock", 200, 6, 2).await;
    let (code, _) = env.cli_sync(&[]);
    assert_eq!(code, 0);
    let before = env.entities().await;
    // Sync A stops at its first users request until the test lets it go.
    env.faults(json!({"rules": [{"family": "list_users", "nth": 1, "action": "hold"}]})).await;
    let db = format!("sqlite:{}", env.db.display());
    let mut a = SyncChild::start(&env, &db);
    wait_for_status(&env, "running").await;
    let b = env.cli(&["sync", "--json"]);
    assert_eq!(b.status.code(), Some(3), "{}", String::from_utf8_lossy(&b.stderr));
    let stderr = String::from_utf8_lossy(&b.stderr);
    assert!(
        stderr.contains("another sync (pid") && stderr.contains("holds the catalog"),
        "{stderr}"
    );
    let runs = runs_of(&env);
    assert_eq!(runs.iter().filter(|r| r["status"] == "running").count(), 1, "{runs:?}");
    env.faults(json!({})).await;
    assert_eq!(a.wait(), Some(0));
    assert_eq!(env.entities().await, before, "B wrote nothing, A changed nothing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sync_killed_mid_run_shows_as_interrupted_and_the_next_converges() {
    let env = Env::start("kill9", 200, 6, 2).await;
    delete_some_users(&env, 2).await;
    env.faults(json!({"rules": [{"family": "list_users", "nth": 1, "action": "hold"}]})).await;
    let db = format!("sqlite:{}", env.db.display());
    let mut a = SyncChild::start(&env, &db);
    wait_for_status(&env, "running").await;
    a.kill9();
    let runs = runs_of(&env);
    assert_eq!(runs[0]["status"], "interrupted", "{runs:?}");
    env.faults(json!({})).await;
    let (code, summary) = env.cli_sync(&[]);
    assert_eq!(code, 0, "{summary}");
    assert_eq!(summary["interrupted_runs"].as_array().unwrap().len(), 1, "{summary}");
    assert_catalog_equals_org(&env.entities().await, &env.export().await);
    let runs = runs_of(&env);
    assert_eq!(runs[0]["status"], "completed");
    assert_eq!(runs[1]["status"], "interrupted");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_http_to_another_host_is_refused_before_any_request() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_port-okta"))
        .args(["sync", "--catalog", "sqlite:/nonexistent/never-created.db"])
        .env("OKTA_DOMAIN", "http://example.com")
        .env("OKTA_API_TOKEN", "never-sent")
        .env_remove("OCEAN__INTEGRATION__CONFIG__OKTA_DOMAIN")
        .env_remove("OCEAN__INTEGRATION__CONFIG__OKTA_API_TOKEN")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("refusing to send the Okta token over plain http"), "{stderr}");
    assert!(!stderr.contains("never-sent"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redirect_from_the_api_is_an_error_naming_its_target() {
    let env = Env::start("redirect", 50, 4, 1).await;
    let rule = json!({"family": "list_users", "nth": 1, "action": "redirect",
                      "location": "https://attacker.example/collect"});
    env.faults(json!({"rules": [rule]})).await;
    let report = env.sync().await;
    let errors = report.listing_errors.join("; ");
    assert!(
        errors.contains("302") && errors.contains("https://attacker.example/collect"),
        "{errors}"
    );
    assert!(matches!(report.deletion, Deletion::Skipped(_)));
}

/// A `port-okta sync` child process, killed if the test ends early.
struct SyncChild(std::process::Child);

impl SyncChild {
    fn start(env: &Env, catalog: &str) -> Self {
        let child = env
            .command()
            .args(["sync", "--json", "--catalog", catalog])
            .args(["--mapping", "examples/full/port-app-config.yml"])
            .args(["--blueprints", "examples/full/blueprints.json"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        Self(child)
    }

    fn wait(&mut self) -> Option<i32> {
        tokio::task::block_in_place(|| self.0.wait().ok().and_then(|s| s.code()))
    }

    fn kill9(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for SyncChild {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// The runs `port-okta catalog status --json` shows, newest first.
fn runs_of(env: &Env) -> Vec<Value> {
    let out = env.cli(&["catalog", "status", "--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Waits (bounded) until the newest run has `status`.
async fn wait_for_status(env: &Env, status: &str) {
    for _ in 0..500 {
        if env.db.exists() {
            let out = env.cli(&["catalog", "status", "--json"]);
            if let Ok(runs) = serde_json::from_slice::<Vec<Value>>(&out.stdout)
                && runs.first().is_some_and(|r| r["status"] == status)
            {
                return;
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("the run never reached {status}");
}

/// The example mapping with `edit` applied to its YAML text, compiled.
fn example_with(env: &Env, edit: impl Fn(&str) -> String) -> mapping::CompiledConfig {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/full/port-app-config.yml");
    let text = edit(&std::fs::read_to_string(&path).unwrap());
    let cfg = config::parse_str("edited.yml", &text).unwrap();
    mapping::compile(&cfg, &env.blueprints, &JqOptions { allow_env: false }).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn items_the_selector_leaves_out_are_stale_by_choice_not_a_lying_listing() {
    let env = Env::start("deselected", 300, 6, 2).await;
    let org = env.export().await;
    let users = org["users"].as_array().unwrap();
    let active: Vec<&str> = users
        .iter()
        .filter(|u| u["status"] == "ACTIVE")
        .map(|u| u["id"].as_str().unwrap())
        .collect();
    let others: BTreeSet<&str> = users
        .iter()
        .filter(|u| u["status"] != "ACTIVE")
        .map(|u| u["id"].as_str().unwrap())
        .collect();
    assert!(!others.is_empty(), "the org has users that are not active");
    // Only active users are mapped; the groups still relate to every member, so the others
    // become stubs (createMissingRelatedEntities) that this run's group entities point at.
    let active_only =
        example_with(&env, |t| t.replacen("query: 'true'", "query: '.status == \"ACTIVE\"'", 1));
    let report = env.sync_with(&active_only).await;
    assert_eq!(report.listing_errors, Vec::<String>::new(), "{:?}", report.to_json());
    assert!(matches!(report.deletion, Deletion::Done), "{:?}", report.to_json());
    assert_eq!(report.verify_reads, 0, "nothing listed is read again");
    let stubs: BTreeSet<String> =
        user_ids(&env).await.into_iter().filter(|u| others.contains(u.as_str())).collect();
    assert!(!stubs.is_empty(), "stubs of left-out members are kept: group entities relate to them");
    // Users only, and no stubs: a user deactivated in Okta now fails the selector, and its
    // entity (and the stubs) are deleted without a confirming read and without an error.
    let users_only = example_with(&env, |t| {
        let users = &t[..t.find("  - kind: okta-group").unwrap()];
        format!(
            "createMissingRelatedEntities: false\n{}",
            users.replacen("query: 'true'", "query: '.status == \"ACTIVE\"'", 1)
        )
    });
    let deactivated = active[3];
    env.api(
        reqwest::Method::POST,
        &format!("/api/v1/users/{deactivated}/lifecycle/deactivate"),
        None,
    )
    .await;
    let report = env.sync_with(&users_only).await;
    assert_eq!(report.listing_errors, Vec::<String>::new(), "{:?}", report.to_json());
    assert!(matches!(report.deletion, Deletion::Done), "{:?}", report.to_json());
    assert_eq!(report.verify_reads, 0);
    let now = user_ids(&env).await;
    assert!(!now.contains(deactivated), "the deactivated user's entity is deleted");
    assert!(now.iter().all(|u| !others.contains(u.as_str())), "and so are the stubs");
    assert_eq!(now.len(), active.len() - 1, "every other active user stays");
}
