//! The Okta client against okta-sim: paging, errors, retries, the same-origin rule, and the
//! membership index. Every test starts its own simulator on 127.0.0.1:0 and stops it.

use okta_sim::{SimConfig, spawn};
use port_okta::okta::org::{IndexPlan, MembershipIndex};
use port_okta::okta::{ClientOptions, OktaClient, OktaError};
use port_okta::secret::Secret;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::time::Duration;

const TOKEN: &str = "client-test-token";

async fn sim(config: SimConfig) -> okta_sim::SimHandle {
    spawn(SimConfig { token: TOKEN.into(), ..config }, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap()
}

fn client(url: &str) -> OktaClient {
    let opts = ClientOptions {
        backoff_base: Duration::from_millis(5),
        max_reset_wait: Duration::from_secs(2),
        ..ClientOptions::default()
    };
    OktaClient::new(url, Secret::new(TOKEN), opts).unwrap()
}

fn faults(rules: Value) -> okta_sim::Faults {
    serde_json::from_value(json!({ "rules": rules })).unwrap()
}

fn id_set<'a>(items: impl IntoIterator<Item = &'a Value>) -> BTreeSet<String> {
    items.into_iter().map(|v| v["id"].as_str().unwrap().to_string()).collect()
}

#[tokio::test]
async fn pages_through_every_user_and_hides_nothing_with_the_filter() {
    let s = sim(SimConfig { users: 450, groups: 5, apps: 1, ..SimConfig::default() }).await;
    let c = client(&s.base_url());
    let plain = c.list_all("/api/v1/users?limit=200").await.unwrap();
    let deprov = c
        .list_all("/api/v1/users?limit=200&filter=status%20eq%20%22DEPROVISIONED%22")
        .await
        .unwrap();
    let export = s.export();
    let all: Vec<&Value> = export["users"].as_array().unwrap().iter().collect();
    assert!(deprov.iter().all(|u| u["status"] == "DEPROVISIONED"));
    assert!(!deprov.is_empty());
    let mut listed = id_set(&plain);
    listed.extend(id_set(&deprov));
    assert_eq!(listed, id_set(all));
    // 450 users over pages of 200: at least 3 requests for the plain list.
    assert!(c.stats().requests.load(std::sync::atomic::Ordering::Relaxed) >= 4);
    s.shutdown().await;
}

#[tokio::test]
async fn a_wrong_token_is_a_401_error_with_oktas_code() {
    let s = sim(SimConfig::default()).await;
    let c = OktaClient::new(&s.base_url(), Secret::new("wrong"), ClientOptions::default()).unwrap();
    let err = c.list_all("/api/v1/users").await.unwrap_err();
    assert_eq!(err.status(), Some(401));
    let text = err.to_string();
    assert!(text.contains("E0000011"), "{text}");
    assert!(!text.contains("wrong"), "the token must not appear in errors: {text}");
    s.shutdown().await;
}

#[tokio::test]
async fn a_403_mid_listing_is_an_error_not_a_short_list() {
    let s = sim(SimConfig { users: 700, ..SimConfig::default() }).await;
    s.set_faults(faults(json!([{"family": "list_users", "nth": 3, "status": 403}])));
    let c = client(&s.base_url());
    let mut pages = 0;
    let err = c
        .list("/api/v1/users?limit=200", |_| {
            pages += 1;
            Ok(())
        })
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(403));
    assert_eq!(pages, 2, "two pages arrived before the fault");
    assert!(err.to_string().contains("E0000006"), "{err}");
    s.shutdown().await;
}

#[tokio::test]
async fn retries_5xx_429_and_resets_then_completes() {
    let s = sim(SimConfig { users: 500, ..SimConfig::default() }).await;
    // Requests 1 (503), 2 (429) and 4 (a reset mid-body) fail; each is retried.
    s.set_faults(faults(json!([
        {"family": "list_users", "nth": 1, "status": 503},
        {"family": "list_users", "nth": 2, "status": 429},
        {"family": "list_users", "nth": 4, "action": "reset"}
    ])));
    let c = client(&s.base_url());
    let users = c.list_all("/api/v1/users?limit=200").await.unwrap();
    let expected = s.export()["users"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|u| u["status"] != "DEPROVISIONED")
        .count();
    assert_eq!(users.len(), expected);
    let stats = c.stats();
    assert_eq!(stats.rate_limited.load(std::sync::atomic::Ordering::Relaxed), 1);
    assert_eq!(
        stats.retries.load(std::sync::atomic::Ordering::Relaxed),
        2,
        "the 503 and the reset"
    );
    assert_eq!(
        stats.requests.load(std::sync::atomic::Ordering::Relaxed),
        6,
        "3 pages + 3 retried requests"
    );
    s.shutdown().await;
}

#[tokio::test]
async fn retries_are_bounded() {
    let s = sim(SimConfig::default()).await;
    s.set_faults(faults(json!([{"family": "list_users", "rate": 1.0, "status": 500}])));
    let opts = ClientOptions {
        max_retries: 2,
        backoff_base: Duration::from_millis(1),
        ..ClientOptions::default()
    };
    let c = OktaClient::new(&s.base_url(), Secret::new(TOKEN), opts).unwrap();
    let err = c.list_all("/api/v1/users").await.unwrap_err();
    assert_eq!(err.status(), Some(500));
    assert_eq!(c.stats().requests.load(std::sync::atomic::Ordering::Relaxed), 3);
    s.shutdown().await;
}

#[tokio::test]
async fn never_follows_a_next_link_to_another_origin() {
    // The org's canonical URL (used in Link headers) differs from the address we call.
    let s = sim(SimConfig {
        users: 300,
        base_url: Some("http://127.0.0.2:9".into()),
        ..SimConfig::default()
    })
    .await;
    let url = format!("http://{}", s.addr());
    let c = client(&url);
    let err = c.list_all("/api/v1/users?limit=200").await.unwrap_err();
    assert!(matches!(err, OktaError::ForeignLink { .. }), "{err}");
    assert_eq!(c.stats().requests.load(std::sync::atomic::Ordering::Relaxed), 1);
    s.shutdown().await;
}

#[tokio::test]
async fn the_membership_index_matches_the_org() {
    let s = sim(SimConfig { users: 250, groups: 30, apps: 4, ..SimConfig::default() }).await;
    let c = client(&s.base_url());
    let index =
        MembershipIndex::fetch(&c, IndexPlan { members: true, applications: true, concurrency: 4 })
            .await
            .unwrap();
    let export = s.export();
    let memberships = export["memberships"].as_object().unwrap();
    assert_eq!(index.group_count(), export["groups"].as_array().unwrap().len());
    let total: usize = memberships.values().map(|m| m.as_array().unwrap().len()).sum();
    assert_eq!(index.membership_count(), total);
    for gi in 0..index.group_count() {
        let gid = index.group_id(gi);
        assert_eq!(index.group(gi)["id"], gid);
        assert_eq!(
            id_set(&index.members_of(gi)),
            id_set_of_strings(&memberships[gid]),
            "members of {gid}"
        );
    }
    for u in export["users"].as_array().unwrap().iter().take(50) {
        let uid = u["id"].as_str().unwrap();
        let expected: BTreeSet<String> = memberships
            .iter()
            .filter(|(_, m)| m.as_array().unwrap().iter().any(|x| x == uid))
            .map(|(g, _)| g.clone())
            .collect();
        assert_eq!(id_set(&index.groups_of(uid)), expected, "groups of {uid}");
        let apps: BTreeSet<String> = export["appAssignments"]
            .as_object()
            .unwrap()
            .iter()
            .filter(|(_, m)| m.as_array().unwrap().iter().any(|x| x == uid))
            .map(|(a, _)| a.clone())
            .collect();
        let links: BTreeSet<String> = index
            .app_links(uid)
            .iter()
            .map(|l| l["appInstanceId"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(links, apps, "apps of {uid}");
    }
    s.shutdown().await;
}

fn id_set_of_strings(v: &Value) -> BTreeSet<String> {
    v.as_array().unwrap().iter().map(|x| x.as_str().unwrap().to_string()).collect()
}
