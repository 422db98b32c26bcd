//! System Log: polling semantics (next always present), bounded queries, filters, errors.

use serde_json::{Value, json};

use crate::common::*;

async fn page(sim: &Sim, url: &str) -> (Vec<Value>, Option<String>) {
    let r = sim.get(url).await;
    assert_eq!(r.status(), 200, "{url}");
    let next = next_link(r.headers());
    (r.json().await.unwrap(), next)
}

#[tokio::test]
async fn polling_follows_next_forever() {
    let sim = sim(config()).await;
    let since = "2020-01-01T00:00:00.000Z";
    let _ = since;
    let t0 = okta_sim_now();
    // Empty log: still a next link.
    let (events, next) = page(&sim, &format!("/api/v1/logs?since={t0}&limit=2")).await;
    assert!(events.is_empty());
    let mut next = next.expect("polling always has a next link");
    assert!(!next.contains("since="), "after replaces since: {next}");
    for i in 0..3 {
        let r = sim
            .post("/api/v1/groups", Some(json!({"profile": {"name": format!("log-{i}")}})))
            .await;
        assert_eq!(r.status(), 200);
    }
    let mut got = Vec::new();
    for _ in 0..10 {
        let (events, n) = page(&sim, &next).await;
        next = n.expect("next is always present while polling");
        if events.is_empty() {
            break;
        }
        got.extend(events);
    }
    let names: Vec<Value> = got.iter().map(|e| e["target"][0]["displayName"].clone()).collect();
    assert_eq!(names, vec![json!("log-0"), json!("log-1"), json!("log-2")]);
    for e in &got {
        assert_eq!(e["eventType"], "group.lifecycle.create");
        assert!(e["uuid"].is_string() && e["published"].is_string());
        assert!(e["transaction"]["id"].is_string());
        assert!(
            e["debugContext"]["debugData"]["requestUri"]
                .as_str()
                .unwrap()
                .starts_with("/api/v1/groups")
        );
    }
    // The saved next link returns only newer events.
    let (events, n2) = page(&sim, &next).await;
    assert!(events.is_empty());
    let uid = sim.h.export()["users"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(
        sim.post(&format!("/api/v1/users/{uid}/lifecycle/deactivate"), None).await.status(),
        200
    );
    let (events, _) = page(&sim, &n2.unwrap()).await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["eventType"], "user.lifecycle.deactivate");
    sim.shutdown().await;
}

fn okta_sim_now() -> String {
    let ts = jiff::Timestamp::now() - jiff::SignedDuration::from_secs(5);
    ts.to_string()
}

#[tokio::test]
async fn bounded_filter_and_errors() {
    let sim = sim(config()).await;
    for i in 0..5 {
        sim.post("/api/v1/groups", Some(json!({"profile": {"name": format!("b-{i}")}}))).await;
    }
    let uid = sim.h.export()["users"][0]["id"].as_str().unwrap().to_owned();
    sim.post(&format!("/api/v1/users/{uid}"), Some(json!({"profile": {"title": "Chief"}}))).await;
    let since = (jiff::Timestamp::now() - jiff::SignedDuration::from_secs(60)).to_string();
    let until = (jiff::Timestamp::now() + jiff::SignedDuration::from_secs(60)).to_string();
    let (all, pages) =
        sim.crawl(&format!("/api/v1/logs?since={since}&until={until}&limit=2")).await;
    assert_eq!(all.len(), 6);
    assert_eq!(pages, 3, "bounded: finite, no next after the last page");
    let f = "eventType%20eq%20%22user.account.update_profile%22";
    let (upd, _) = sim.crawl(&format!("/api/v1/logs?since={since}&until={until}&filter={f}")).await;
    assert_eq!(upd.len(), 1);
    assert_eq!(upd[0]["target"][0]["id"], uid.as_str());
    let f = format!("target.id%20eq%20%22{uid}%22");
    let (t, _) = sim.crawl(&format!("/api/v1/logs?since={since}&until={until}&filter={f}")).await;
    assert_eq!(t.len(), 1);
    let (sw, _) = sim
        .crawl(&format!(
            "/api/v1/logs?since={since}&until={until}&filter=eventType%20sw%20%22group.%22"
        ))
        .await;
    assert_eq!(sw.len(), 5);
    let desc = sim
        .get_json(&format!("/api/v1/logs?since={since}&until={until}&sortOrder=DESCENDING&limit=1"))
        .await;
    assert_eq!(desc[0]["eventType"], "user.account.update_profile");
    // since + after → 400; bad dates and filters → 400; limit clamps to 1000.
    let r = sim.get(&format!("/api/v1/logs?since={since}&after=1_1")).await;
    assert_eq!(r.status(), 400);
    let r = sim.get("/api/v1/logs?since=yesterday").await;
    assert_eq!(r.status(), 400);
    assert_eq!(r.json::<Value>().await.unwrap()["errorCode"], "E0000030");
    let r = sim.get("/api/v1/logs?filter=published%20gt%20%222020%22").await;
    assert_eq!(r.status(), 400);
    assert_eq!(r.json::<Value>().await.unwrap()["errorCode"], "E0000053");
    assert_eq!(sim.get("/api/v1/logs?limit=5000").await.status(), 200);
    sim.shutdown().await;
}
