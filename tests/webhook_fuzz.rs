//! A bounded, seeded fuzz of the webhook endpoint: arbitrary bytes and valid deliveries broken in
//! every structural way, with and without the secret. Only 400, 413 and 401 may come back, the
//! server must stay up, and nothing may be queued.

use port_okta::events::metrics::Metrics;
use port_okta::events::queue::{EventQueue, SqliteQueue};
use port_okta::events::server::{AppState, router};
use port_okta::okta::{ClientOptions, OktaClient};
use port_okta::secret::Secret;
use serde_json::{Value, json};
use std::sync::Arc;

const SECRET: &str = "fuzz-secret";
const MAX_BODY: usize = 2048;

fn valid(rng: &mut fastrand::Rng) -> Value {
    let events: Vec<Value> = (0..rng.usize(1..4))
        .map(|i| {
            json!({"uuid": format!("u-{}-{i}", rng.u64(..)), "published": "2026-01-01T00:00:00.000Z",
                   "eventType": "user.lifecycle.create", "displayMessage": "Create Okta user",
                   "target": [{"type": "User", "id": "00u1abc", "alternateId": "a@x.io"}]})
        })
        .collect();
    json!({"eventType": "com.okta.event_hook", "eventId": "e", "data": {"events": events}})
}

/// A valid delivery broken so that it is certainly not one any more.
fn broken(rng: &mut fastrand::Rng) -> Vec<u8> {
    let mut v = valid(rng);
    let wrong = [json!(null), json!(7), json!(true), json!([]), json!({}), json!(""), json!("  ")];
    let pick = |rng: &mut fastrand::Rng| wrong[rng.usize(..wrong.len())].clone();
    match rng.u8(..8) {
        0 => {
            // A strict prefix of a JSON object is never JSON.
            let text = v.to_string();
            return text.as_bytes()[..rng.usize(0..text.len() - 1)].to_vec();
        }
        1 => v["data"]["events"] = if rng.bool() { json!({}) } else { json!("events") },
        2 => {
            v["data"].as_object_mut().unwrap().remove("events");
        }
        3 => v["data"]["events"][0]["uuid"] = pick(rng),
        4 => v["data"]["events"][0]["eventType"] = pick(rng),
        5 => v["data"]["events"][0]["published"] = json!(["not", "a", "time"][rng.usize(..3)]),
        6 => v["data"]["events"][0] = pick(rng).as_array().map_or(json!(1), |_| json!("x")),
        _ => v = pick(rng),
    }
    v.to_string().into_bytes()
}

fn random_bytes(rng: &mut fastrand::Rng) -> Vec<u8> {
    let n = rng.usize(0..MAX_BODY * 2);
    (0..n).map(|_| rng.u8(..)).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn arbitrary_and_broken_deliveries_get_400_413_or_401_and_queue_nothing() {
    let path = std::env::temp_dir().join(format!("port-okta-fuzz-{}.db", std::process::id()));
    struct Cleanup(std::path::PathBuf);
    impl Drop for Cleanup {
        fn drop(&mut self) {
            for s in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{s}", self.0.display()));
            }
        }
    }
    let _cleanup = Cleanup(path.clone());
    let queue: Arc<dyn EventQueue> = Arc::new(SqliteQueue::open(&path).unwrap());
    let state = AppState {
        queue: queue.clone(),
        secret: Some(Secret::new(SECRET)),
        metrics: Arc::new(Metrics::default()),
        ready: Arc::new(std::sync::atomic::AtomicBool::new(true)),
        okta: OktaClient::new("http://127.0.0.1:9", Secret::new("t"), ClientOptions::default())
            .unwrap(),
        wake: Arc::new(tokio::sync::Notify::new()),
        max_body: MAX_BODY,
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/integration/webhook", listener.local_addr().unwrap());
    let server = tokio::spawn(async move { axum::serve(listener, router(state)).await });
    struct Abort(tokio::task::JoinHandle<std::io::Result<()>>);
    impl Drop for Abort {
        fn drop(&mut self) {
            self.0.abort();
        }
    }
    let _server = Abort(server);
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let mut rng = fastrand::Rng::with_seed(20261206);
    let mut seen = std::collections::BTreeMap::new();
    for case in 0..1500 {
        let (body, auth) = match case % 3 {
            0 => (random_bytes(&mut rng), Some(SECRET)),
            1 => (broken(&mut rng), Some(SECRET)),
            // Unauthenticated: even a perfectly valid delivery is refused.
            _ => {
                let body = if rng.bool() {
                    valid(&mut rng).to_string().into_bytes()
                } else {
                    broken(&mut rng)
                };
                (body, [None, Some("fuzz-secreT"), Some("")][rng.usize(..3)])
            }
        };
        let mut req = http.post(&url).body(body.clone());
        if let Some(a) = auth {
            req = req.header("Authorization", a);
        }
        let status = req.send().await.expect("the server stays up").status().as_u16();
        let allowed: &[u16] = if auth == Some(SECRET) { &[400, 413] } else { &[401] };
        assert!(
            allowed.contains(&status),
            "case {case}: {status} for {:?}",
            String::from_utf8_lossy(&body[..body.len().min(200)])
        );
        *seen.entry(status).or_insert(0) += 1;
    }
    assert!(seen.len() == 3, "every kind of refusal was exercised: {seen:?}");
    assert!(queue.list(None, 10).await.unwrap().is_empty(), "nothing was queued");
    assert_eq!(
        http.get(url.replace("/integration/webhook", "/health")).send().await.unwrap().status(),
        200
    );
}
