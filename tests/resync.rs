//! End-to-end resync tests: okta-sim → Okta client → mapping → embedded catalog.
//!
//! Each test starts its own simulator on 127.0.0.1:0 and shuts it down at the end; catalogs are
//! temporary files removed afterwards.

mod common;

use common::*;
use port_okta::config;
use port_okta::engine::Deletion;
use port_okta::mapping::{self, JqOptions};
use serde_json::{Value, json};
use std::path::Path;

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

/// A seeded storm that the client's retries absorb: the faulted requests are the same in every
/// run, the resync completes, and the catalog equals the org (stale users deleted).
async fn assert_storm_is_absorbed(name: &str, faults: Value) {
    let env = Env::start(name, 700, 10, 2).await;
    assert!(env.sync().await.is_success());
    let before = env.entities().await.len();
    let victims = delete_some_users(&env, 3).await;
    env.sim().reset_stats();
    env.faults(faults).await;
    let report = env.sync().await;
    env.faults(json!({})).await;
    assert!(env.sim().stats().faults_fired > 0, "the storm must have hit");
    assert!(report.is_success(), "{:?}", report.to_json());
    assert_eq!(report.deletion, Deletion::Done);
    let after = env.entities().await;
    assert_eq!(after.len(), before - victims.len());
    assert_catalog_equals_org(&after, &env.export().await);
    env.stop().await;
}

/// A fault that outlasts every retry of one listing request: the listing fails and is named,
/// deletion is skipped, nothing is deleted; once the fault stops, the next resync converges.
async fn assert_lasting_fault_deletes_nothing(name: &str, faults: Value, named: &str) {
    let env = Env::start(name, 700, 10, 2).await;
    assert!(env.sync().await.is_success());
    let before = env.entities().await.len();
    let victims = delete_some_users(&env, 3).await;
    env.faults(faults).await;
    let report = env.sync().await;
    env.faults(json!({})).await;
    assert!(
        report.listing_errors.iter().any(|e| e.contains("/api/v1/users") && e.contains(named)),
        "{:?}",
        report.listing_errors
    );
    assert!(matches!(report.deletion, Deletion::Skipped(_)), "{:?}", report.to_json());
    let after = env.entities().await;
    assert_eq!(after.len(), before, "nothing may be deleted after a failed listing");
    for v in &victims {
        assert!(after.iter().any(|e| &e.identifier == v), "{v} must survive");
    }
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
async fn a_500_storm_is_absorbed_by_retries() {
    let storm = json!({"seed": 1, "rules": [{"family": "*", "rate": 0.3, "status": 500}]});
    assert_storm_is_absorbed("f500", storm).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_500_that_outlasts_the_retries_deletes_nothing() {
    // The 3rd users request and every retry of it fail.
    let rule = json!({"rules": [{"family": "list_users", "nth": 3, "count": 100, "status": 500}]});
    assert_lasting_fault_deletes_nothing("f500last", rule, "500").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_resets_are_absorbed_by_retries() {
    let storm = json!({"seed": 2, "rules": [{"family": "*", "rate": 0.2, "action": "reset"}]});
    assert_storm_is_absorbed("freset", storm).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reset_that_outlasts_the_retries_deletes_nothing() {
    let rule =
        json!({"rules": [{"family": "list_users", "nth": 2, "count": 100, "action": "reset"}]});
    assert_lasting_fault_deletes_nothing("fresetlast", rule, "failed").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429_storm_completes_with_the_same_catalog() {
    let env = Env::start("f429", 400, 10, 2).await;
    assert!(env.sync().await.is_success());
    let expected = env.entities().await;
    env.faults(json!({"seed": 3, "rules": [{"family": "*", "rate": 0.4, "status": 429}]})).await;
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
