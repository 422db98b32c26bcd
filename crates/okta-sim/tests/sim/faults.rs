//! Fault injection and statistics.

use okta_sim::{FaultRule, Faults};
use serde_json::{Value, json};

use crate::common::*;

#[tokio::test]
async fn status_on_the_kth_request_of_a_family() {
    let sim = sim(config()).await;
    let r = sim
        .http
        .post(sim.url("/__sim/faults"))
        .json(&json!({"rules": [{"family": "list_users", "nth": 3, "status": 403}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // Crawl /users page by page: the 3rd page fails with Okta's 403 body.
    let mut url = sim.url("/api/v1/users?limit=10");
    let mut statuses = Vec::new();
    for _ in 0..5 {
        let r = sim.get(&url).await;
        statuses.push(r.status().as_u16());
        if r.status() == 403 {
            let b: Value = r.json().await.unwrap();
            assert_eq!(b["errorCode"], "E0000006");
            continue; // retry the same page
        }
        url = next_link(r.headers()).unwrap();
    }
    assert_eq!(statuses, vec![200, 200, 403, 200, 200]);
    // Other families are untouched.
    assert_eq!(sim.get("/api/v1/groups").await.status(), 200);
    let st = sim.h.stats();
    assert_eq!(st.count("list_users", 403), 1);
    assert_eq!(st.count("list_users", 200), 4);
    assert_eq!(st.count("groups", 200), 1);
    sim.shutdown().await;
}

#[tokio::test]
async fn random_errors_reset_and_slow() {
    let sim = sim(config()).await;
    // rate 1.0 makes "random" deterministic.
    sim.h.set_faults(Faults {
        rules: vec![
            FaultRule {
                family: "groups".into(),
                rate: Some(1.0),
                status: Some(503),
                ..Default::default()
            },
            FaultRule {
                family: "apps".into(),
                rate: Some(1.0),
                status: Some(500),
                ..Default::default()
            },
            FaultRule {
                family: "get_user".into(),
                action: Some("reset".into()),
                ..Default::default()
            },
            FaultRule {
                family: "logs".into(),
                action: Some("slow".into()),
                delay_ms: Some(50),
                ..Default::default()
            },
        ],
        ..Default::default()
    });
    for _ in 0..3 {
        let r = sim.get("/api/v1/groups").await;
        assert_eq!(r.status(), 503);
        assert!(r.json::<Value>().await.unwrap()["errorCode"].is_string());
        assert_eq!(sim.get("/api/v1/apps").await.status(), 500);
    }
    // rate 0 never fires.
    sim.h.set_faults(Faults {
        rules: vec![
            FaultRule {
                family: "groups".into(),
                rate: Some(0.0),
                status: Some(503),
                ..Default::default()
            },
            FaultRule {
                family: "get_user".into(),
                action: Some("reset".into()),
                ..Default::default()
            },
            FaultRule {
                family: "logs".into(),
                action: Some("slow".into()),
                delay_ms: Some(50),
                ..Default::default()
            },
        ],
        ..Default::default()
    });
    assert_eq!(sim.get("/api/v1/groups").await.status(), 200);
    // A reset: the client gets a transport error, not a response body.
    let uid = sim.h.export()["users"][0]["id"].as_str().unwrap().to_owned();
    let r = sim
        .http
        .get(sim.url(&format!("/api/v1/users/{uid}")))
        .header("Authorization", format!("SSWS {TOKEN}"))
        .send()
        .await;
    let failed = match r {
        Err(_) => true,
        Ok(resp) => resp.bytes().await.is_err(),
    };
    assert!(failed, "connection reset must surface as an error");
    // Slow responses still answer.
    assert_eq!(sim.get("/api/v1/logs").await.status(), 200);
    // Clearing faults.
    assert_eq!(sim.http.delete(sim.url("/__sim/faults")).send().await.unwrap().status(), 204);
    assert_eq!(sim.get(&format!("/api/v1/users/{uid}")).await.status(), 200);
    let f: Value =
        sim.http.get(sim.url("/__sim/faults")).send().await.unwrap().json().await.unwrap();
    assert_eq!(f["rules"], json!([]));
    // Stats, then reset.
    let st: Value =
        sim.http.get(sim.url("/__sim/stats")).send().await.unwrap().json().await.unwrap();
    assert_eq!(st["requests"]["groups"]["503"], 3);
    assert_eq!(st["requests"]["apps"]["500"], 3);
    assert!(st["totalRequests"].as_u64().unwrap() >= 9);
    assert_eq!(sim.http.post(sim.url("/__sim/stats/reset")).send().await.unwrap().status(), 204);
    assert_eq!(sim.h.stats().total_requests, 0);
    // Bad fault bodies are Okta-style 400s.
    let r = sim.http.post(sim.url("/__sim/faults")).body("{nope").send().await.unwrap();
    assert_eq!(r.status(), 400);
    sim.shutdown().await;
}

#[tokio::test]
async fn latency_is_applied_without_breaking_responses() {
    let mut cfg = config();
    cfg.latency_ms = 30;
    let sim = sim(cfg).await;
    let t = std::time::Instant::now();
    assert_eq!(sim.get("/api/v1/users?limit=1").await.status(), 200);
    assert!(t.elapsed() >= std::time::Duration::from_millis(30));
    sim.shutdown().await;
}

#[tokio::test]
async fn empty_last_page_fault() {
    let sim = sim(config()).await;
    sim.h.set_faults(Faults { empty_last_page: true, ..Default::default() });
    let r = sim.get("/api/v1/groups?limit=100").await;
    let next = next_link(r.headers()).expect("a next link on the last page");
    let page: Vec<Value> = r.json().await.unwrap();
    assert_eq!(page.len(), 12);
    let r = sim.get(&next).await;
    assert!(next_link(r.headers()).is_none());
    assert_eq!(r.json::<Vec<Value>>().await.unwrap().len(), 0);
    // A crawl that stops on an empty page still sees everything once.
    let (users, _) = sim.crawl("/api/v1/users?limit=50").await;
    let all = sim.h.export()["users"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|u| u["status"] != "DEPROVISIONED")
        .count();
    assert_eq!(users.len(), all);
    sim.shutdown().await;
}
