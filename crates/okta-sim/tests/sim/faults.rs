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

#[tokio::test]
async fn page_faults_shape_the_body_and_links() {
    let sim = sim(config()).await;
    let set =
        |rules: Value| sim.h.set_faults(serde_json::from_value(json!({"rules": rules})).unwrap());
    // emptyWithNext: `[]` that still says there is more.
    set(json!([{"family": "list_users", "nth": 1, "action": "emptyWithNext"}]));
    let r = sim.get("/api/v1/users?limit=10").await;
    let next = next_link(r.headers());
    assert_eq!(r.json::<Value>().await.unwrap(), json!([]));
    assert!(next.is_some_and(|n| n.contains("after=")));
    // empty: `[]` with only a self link.
    set(json!([{"family": "groups", "nth": 1, "action": "empty"}]));
    let r = sim.get("/api/v1/groups").await;
    assert!(next_link(r.headers()).is_none() && links(r.headers()).len() == 1);
    assert_eq!(r.json::<Value>().await.unwrap(), json!([]));
    // noLink: the page without Link headers.
    set(json!([{"family": "list_users", "nth": 1, "action": "noLink"}]));
    let r = sim.get("/api/v1/users?limit=10").await;
    assert!(links(r.headers()).is_empty());
    assert_eq!(r.json::<Vec<Value>>().await.unwrap().len(), 10);
    // cycle: page 2's next is page 1 again.
    set(json!([{"family": "list_users", "nth": 2, "action": "cycle"}]));
    let first = sim.get("/api/v1/users?limit=10").await;
    let page2 = next_link(first.headers()).unwrap();
    let r = sim.get(&page2).await;
    assert_eq!(next_link(r.headers()).unwrap(), sim.url("/api/v1/users?limit=10"));
    // hide: the named users are left out.
    let all = sim.get_json("/api/v1/users?limit=10").await;
    let hidden = all[3]["id"].as_str().unwrap().to_string();
    set(json!([{"family": "list_users", "action": "hide", "ids": [hidden]}]));
    let shown = sim.get_json("/api/v1/users?limit=10").await;
    assert!(shown.as_array().unwrap().iter().all(|u| u["id"] != hidden.as_str()));
    assert_eq!(sim.get(&format!("/api/v1/users/{hidden}")).await.status(), 200, "only hidden");
    sim.shutdown().await;
}

#[tokio::test]
async fn vanish_deletes_the_object_the_path_names_and_redirect_sends_a_302() {
    let sim = sim(config()).await;
    let groups = sim.get_json("/api/v1/groups").await;
    let gid = groups.as_array().unwrap().iter().find(|g| g["type"] == "OKTA_GROUP").unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let path = format!("/api/v1/groups/{gid}/users");
    sim.h.set_faults(
        serde_json::from_value(json!({"rules": [
            {"family": "groups", "path": path, "action": "vanish"},
            {"family": "list_users", "nth": 1, "action": "redirect", "location": "https://evil.example/x"}
        ]}))
        .unwrap(),
    );
    assert_eq!(sim.get(&path).await.status(), 404);
    assert_eq!(sim.get(&format!("/api/v1/groups/{gid}")).await.status(), 404);
    let r = sim.get("/api/v1/users").await;
    assert_eq!(r.status(), 302);
    assert_eq!(r.headers()["location"], "https://evil.example/x");
    sim.shutdown().await;
}

#[tokio::test]
async fn count_fails_consecutive_requests_and_rate_draws_repeat_across_runs() {
    let sim = sim(config()).await;
    sim.h.set_faults(
        serde_json::from_value(
            json!({"rules": [{"family": "groups", "nth": 2, "count": 3, "status": 503}]}),
        )
        .unwrap(),
    );
    let mut statuses = Vec::new();
    for _ in 0..6 {
        statuses.push(sim.get("/api/v1/groups").await.status().as_u16());
    }
    assert_eq!(statuses, [200, 503, 503, 503, 200, 200]);
    // The same seed fails the same requests in every run; another seed fails others.
    let run = |seed: u64| {
        let sim = &sim;
        async move {
            sim.h.set_faults(
                serde_json::from_value(json!({"seed": seed, "rules": [{"family": "list_users", "rate": 0.5, "status": 500}]}))
                    .unwrap(),
            );
            let mut out = Vec::new();
            for i in 1..=40 {
                let r = sim.get(&format!("/api/v1/users?limit={i}")).await;
                out.push(r.status().as_u16());
            }
            out
        }
    };
    let (a, b, c) = (run(7).await, run(7).await, run(8).await);
    assert_eq!(a, b);
    assert_ne!(a, c);
    assert!(a.contains(&500) && a.contains(&200));
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hold_pauses_a_request_until_the_faults_change() {
    let sim = sim(config()).await;
    sim.h.set_faults(
        serde_json::from_value(
            json!({"rules": [{"family": "groups", "nth": 1, "action": "hold"}]}),
        )
        .unwrap(),
    );
    let (http, url) = (sim.http.clone(), sim.url("/api/v1/groups"));
    let held = tokio::spawn(async move {
        let auth = format!("SSWS {TOKEN}");
        http.get(url).header("Authorization", auth).send().await.map(|r| r.status())
    });
    assert!(poll(200, || sim.h.stats().in_flight == 1).await, "the request arrives");
    for _ in 0..20 {
        tokio::task::yield_now().await;
        assert!(!held.is_finished(), "a held request waits while the faults stay");
    }
    sim.h.set_faults(Faults::default());
    assert_eq!(held.await.unwrap().unwrap(), 200);
    sim.shutdown().await;
}
