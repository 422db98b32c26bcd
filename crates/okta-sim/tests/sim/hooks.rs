//! Event hooks: management API, one-time verification, delivery, retry and delivery faults.

use okta_sim::{DeliveryFaults, Faults};
use serde_json::{Value, json};

use crate::common::*;

fn hook_body(uri: &str) -> Value {
    json!({
        "name": "h",
        "events": {"type": "EVENT_TYPE", "items": ["group.lifecycle.create"]},
        "channel": {"type": "HTTP", "version": "1.0.0", "config": {"uri": uri,
            "authScheme": {"type": "HEADER", "key": "Authorization", "value": "secret-value"}}}
    })
}

async fn create_group(sim: &Sim, name: &str) -> String {
    let r = sim
        .post("/api/v1/groups", Some(json!({"profile": {"name": name, "description": "d"}})))
        .await;
    assert_eq!(r.status(), 200);
    r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn verification_right_and_wrong_answer() {
    let sim = sim(config()).await;
    let good = Receiver::start(Verify::Echo).await;
    let bad = Receiver::start(Verify::Wrong).await;
    for (rx, ok) in [(&good, true), (&bad, false)] {
        let r = sim.post("/api/v1/eventHooks", Some(hook_body(&rx.url))).await;
        assert_eq!(r.status(), 200);
        let h: Value = r.json().await.unwrap();
        assert_eq!(h["status"], "ACTIVE");
        assert_eq!(h["verificationStatus"], "UNVERIFIED");
        assert!(h["id"].as_str().unwrap().starts_with("who"));
        assert!(
            h["channel"]["config"]["authScheme"].get("value").is_none(),
            "authScheme.value is write-only"
        );
        let id = h["id"].as_str().unwrap();
        let r = sim.post(&format!("/api/v1/eventHooks/{id}/lifecycle/verify"), None).await;
        let v = sim.get_json(&format!("/api/v1/eventHooks/{id}")).await;
        if ok {
            assert_eq!(r.status(), 200);
            assert_eq!(v["verificationStatus"], "VERIFIED");
        } else {
            assert_eq!(r.status(), 400);
            assert_eq!(r.json::<Value>().await.unwrap()["errorCode"], "E0000001");
            assert_eq!(v["verificationStatus"], "UNVERIFIED");
        }
        let calls = rx.st.verifications.lock().unwrap().clone();
        assert_eq!(calls.len(), 1, "one verification GET");
        assert!(calls[0].contains_key("x-okta-verification-challenge"));
        assert_eq!(calls[0]["authorization"], "secret-value");
    }
    // Changing the channel requires verifying again.
    let hooks = sim.get_json("/api/v1/eventHooks").await;
    let verified =
        hooks.as_array().unwrap().iter().find(|h| h["verificationStatus"] == "VERIFIED").unwrap();
    let id = verified["id"].as_str().unwrap();
    let r = sim
        .put(&format!("/api/v1/eventHooks/{id}"), Some(hook_body(&format!("{}?v=2", good.url))))
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap()["verificationStatus"], "UNVERIFIED");
    // Delete only when INACTIVE.
    assert_eq!(sim.delete(&format!("/api/v1/eventHooks/{id}")).await.status(), 400);
    let r = sim.post(&format!("/api/v1/eventHooks/{id}/lifecycle/deactivate"), None).await;
    assert_eq!(r.json::<Value>().await.unwrap()["status"], "INACTIVE");
    assert_eq!(sim.delete(&format!("/api/v1/eventHooks/{id}")).await.status(), 204);
    assert_eq!(sim.get(&format!("/api/v1/eventHooks/{id}")).await.status(), 404);
    // Ineligible event types and non-HTTPS remote URIs are rejected.
    let mut b = hook_body(&good.url);
    b["events"]["items"] = json!(["user.lifecycle.delete.completed"]);
    assert_eq!(sim.post("/api/v1/eventHooks", Some(b)).await.status(), 400);
    assert_eq!(
        sim.post("/api/v1/eventHooks", Some(hook_body("http://example.com/x"))).await.status(),
        400
    );
    good.stop();
    bad.stop();
    sim.shutdown().await;
}

#[tokio::test]
async fn delivery_with_auth_header_and_envelope() {
    let sim = sim(config()).await;
    let rx = Receiver::start(Verify::Echo).await;
    let hook = create_verified_hook(
        &sim,
        &rx.url,
        &["group.user_membership.add", "group.lifecycle.create"],
    )
    .await;
    let gid = create_group(&sim, "Hooked").await;
    let u = sim.h.export()["users"][0].clone();
    let uid = u["id"].as_str().unwrap();
    assert_eq!(sim.put(&format!("/api/v1/groups/{gid}/users/{uid}"), None).await.status(), 204);
    assert!(poll(500, || rx.events().len() >= 2).await, "two events delivered");
    let d = &rx.deliveries()[0];
    assert_eq!(d.headers["x-hook-secret"], "s3cret");
    assert_eq!(d.headers["x-custom"], "c1");
    assert_eq!(d.headers["content-type"], "application/json");
    assert_eq!(d.body["eventType"], "com.okta.event_hook");
    assert_eq!(d.body["cloudEventsVersion"], "0.1");
    assert!(d.body["source"].as_str().unwrap().ends_with(&format!("/api/v1/eventHooks/{hook}")));
    assert!(d.body["eventId"].is_string());
    let evs = rx.events();
    let create = evs.iter().find(|e| e["eventType"] == "group.lifecycle.create").unwrap();
    assert_eq!(create["target"][0]["type"], "UserGroup");
    assert_eq!(create["target"][0]["displayName"], "Hooked");
    assert_eq!(create["target"][0]["alternateId"], "unknown");
    let add = evs.iter().find(|e| e["eventType"] == "group.user_membership.add").unwrap();
    for k in ["uuid", "published", "displayMessage", "actor", "outcome"] {
        assert!(!add[k].is_null(), "{k}");
    }
    assert_eq!(add["outcome"]["result"], "SUCCESS");
    assert_eq!(add["target"][0]["type"], "User");
    assert_eq!(add["target"][0]["alternateId"], u["profile"]["login"]);
    assert_eq!(add["target"][1]["id"], gid.as_str());
    // Not subscribed: no delivery for a membership removal.
    assert_eq!(sim.delete(&format!("/api/v1/groups/{gid}/users/{uid}")).await.status(), 204);
    // Inactive hooks don't deliver.
    sim.post(&format!("/api/v1/eventHooks/{hook}/lifecycle/deactivate"), None).await;
    create_group(&sim, "Unheard").await;
    sim.post(&format!("/api/v1/eventHooks/{hook}/lifecycle/activate"), None).await;
    create_group(&sim, "Heard").await;
    assert!(
        poll(500, || rx.events().iter().any(|e| e["target"][0]["displayName"] == "Heard")).await
    );
    let names: Vec<Value> =
        rx.events().iter().map(|e| e["target"][0]["displayName"].clone()).collect();
    assert!(!names.contains(&json!("Unheard")));
    assert!(rx.events().iter().all(|e| e["eventType"] != "group.user_membership.remove"));
    assert!(sim.h.stats().hook_deliveries["succeeded"] >= 2);
    rx.stop();
    sim.shutdown().await;
}

#[tokio::test]
async fn one_retry_on_5xx_none_on_4xx() {
    let sim = sim(config()).await;
    let rx = Receiver::start(Verify::Echo).await;
    create_verified_hook(&sim, &rx.url, &["group.lifecycle.create"]).await;
    *rx.st.script.lock().unwrap() = vec![500];
    create_group(&sim, "Retried").await;
    assert!(poll(500, || rx.deliveries().len() >= 2).await);
    let d = rx.deliveries();
    assert_eq!(d[0].body["eventId"], d[1].body["eventId"], "the retry resends the same delivery");
    *rx.st.script.lock().unwrap() = vec![400];
    create_group(&sim, "Rejected").await;
    assert!(poll(500, || sim.h.stats().hook_deliveries.get("failed") == Some(&1)).await);
    // Still a single attempt for the 4xx delivery: 2 (retried) + 1.
    assert_eq!(rx.deliveries().len(), 3);
    let st = sim.h.stats();
    assert_eq!(st.hook_deliveries["retried"], 1);
    assert_eq!(st.hook_deliveries["attempts"], 3);
    // The failure is in the System Log.
    let logs = sim.get_json("/api/v1/logs?filter=eventType%20eq%20%22event_hook.delivery%22").await;
    assert_eq!(logs[0]["outcome"]["result"], "FAILURE");
    rx.stop();
    sim.shutdown().await;
}

#[tokio::test]
async fn delivery_faults_duplicate_drop_reorder_delay() {
    let sim = sim(config()).await;
    let rx = Receiver::start(Verify::Echo).await;
    create_verified_hook(&sim, &rx.url, &["group.lifecycle.create"]).await;
    let set = |f: DeliveryFaults| sim.h.set_faults(Faults { delivery: f, ..Default::default() });

    set(DeliveryFaults { duplicate: 1.0, ..Default::default() });
    create_group(&sim, "Dup").await;
    assert!(poll(500, || rx.deliveries().len() >= 2).await);
    let d = rx.deliveries();
    assert_eq!(d[0].body["eventId"], d[1].body["eventId"]);
    assert_eq!(sim.h.stats().hook_deliveries["duplicated"], 1);

    set(DeliveryFaults { drop: 1.0, ..Default::default() });
    create_group(&sim, "Dropped").await;
    assert!(poll(500, || sim.h.stats().hook_deliveries.get("dropped") == Some(&1)).await);
    set(DeliveryFaults { delay_ms: 100, ..Default::default() });
    create_group(&sim, "Delayed").await;
    assert!(poll(500, || rx.deliveries().len() >= 3).await);
    let names: Vec<Value> =
        rx.events().iter().map(|e| e["target"][0]["displayName"].clone()).collect();
    assert_eq!(
        names,
        vec![json!("Dup"), json!("Dup"), json!("Delayed")],
        "dropped event never arrives"
    );

    set(DeliveryFaults { reorder: true, ..Default::default() });
    create_group(&sim, "First").await;
    create_group(&sim, "Second").await;
    assert!(poll(500, || rx.deliveries().len() >= 5).await);
    let names: Vec<Value> =
        rx.events().iter().skip(3).map(|e| e["target"][0]["displayName"].clone()).collect();
    assert_eq!(names, vec![json!("Second"), json!("First")]);
    rx.stop();
    sim.shutdown().await;
}

#[tokio::test]
async fn daily_cap_stops_hooks() {
    let sim = sim(okta_sim::SimConfig { hook_daily_cap: 1, ..config() }).await;
    let rx = Receiver::start(Verify::Echo).await;
    create_verified_hook(&sim, &rx.url, &["group.lifecycle.create"]).await;
    create_group(&sim, "Within").await;
    create_group(&sim, "Beyond").await;
    assert!(poll(500, || sim.h.stats().hook_deliveries.get("capped") == Some(&1)).await);
    assert!(poll(500, || !rx.deliveries().is_empty()).await);
    // Both events are in the System Log; only the first reached the hook.
    let since = (jiff::Timestamp::now() - jiff::SignedDuration::from_secs(60)).to_string();
    let logged = sim
        .get_json(&format!(
            "/api/v1/logs?since={since}&filter=eventType%20eq%20%22group.lifecycle.create%22"
        ))
        .await;
    assert_eq!(logged.as_array().unwrap().len(), 2);
    let names: Vec<Value> =
        rx.events().iter().map(|e| e["target"][0]["displayName"].clone()).collect();
    assert_eq!(names, vec![json!("Within")]);
    rx.stop();
    sim.shutdown().await;
}
