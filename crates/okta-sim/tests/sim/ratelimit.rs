//! Rate limits: every bucket, headers on every response, and the concurrency cap.

use serde_json::Value;

use crate::common::*;

fn hdr(r: &reqwest::Response, k: &str) -> i64 {
    r.headers().get(k).unwrap_or_else(|| panic!("missing {k}")).to_str().unwrap().parse().unwrap()
}

#[tokio::test]
async fn every_bucket_limits_and_reports() {
    let mut cfg = config();
    cfg.rate_limit_scale = 0.01;
    let sim = sim(cfg).await;
    let export = sim.get_json("/__sim/export").await;
    let uid = export["users"][0]["id"].as_str().unwrap().to_owned();
    let gid = export["groups"][0]["id"].as_str().unwrap().to_owned();
    let aid = export["apps"][0]["id"].as_str().unwrap().to_owned();
    // (family, limit at scale 0.01, method, path)
    let cases = [
        ("list_users", 6, "GET", "/api/v1/users?limit=1".to_owned()),
        ("get_user", 20, "GET", format!("/api/v1/users/{uid}")),
        ("user_write", 6, "POST", format!("/api/v1/users/{uid}")),
        ("groups", 5, "GET", "/api/v1/groups?limit=1".to_owned()),
        ("group_by_id", 10, "GET", format!("/api/v1/groups/{gid}")),
        ("apps", 1, "GET", "/api/v1/apps".to_owned()),
        ("app_by_id", 5, "GET", format!("/api/v1/apps/{aid}")),
        ("logs", 1, "GET", "/api/v1/logs".to_owned()),
        ("other", 12, "GET", "/api/v1/eventHooks".to_owned()),
    ];
    for (family, limit, method, path) in &cases {
        for i in 1..=*limit {
            let r = if *method == "GET" {
                sim.get(path).await
            } else {
                sim.post(path, Some(serde_json::json!({"profile": {}}))).await
            };
            assert_eq!(r.status(), 200, "{family} request {i}");
            assert_eq!(hdr(&r, "x-rate-limit-limit"), *limit, "{family}");
            assert_eq!(hdr(&r, "x-rate-limit-remaining"), limit - i, "{family}");
        }
        let r = if *method == "GET" {
            sim.get(path).await
        } else {
            sim.post(path, Some(serde_json::json!({"profile": {}}))).await
        };
        assert_eq!(r.status(), 429, "{family} over the limit");
        assert_eq!(hdr(&r, "x-rate-limit-limit"), *limit);
        assert_eq!(hdr(&r, "x-rate-limit-remaining"), 0);
        let reset = hdr(&r, "x-rate-limit-reset");
        let now = jiff::Timestamp::now().as_second();
        assert!(reset >= now && reset <= now + 61, "{family}: reset {reset} vs now {now}");
        assert!(r.headers().contains_key("date"));
        assert!(r.headers().contains_key("x-okta-request-id"));
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["errorCode"], "E0000047");
        assert!(body["errorId"].as_str().unwrap().starts_with("oae"));
    }
    let stats = sim.h.stats();
    for (family, _, _, _) in &cases {
        assert!(stats.count(family, 429) >= 1, "{family} 429 counted");
    }
    // /__sim is never limited; a fresh window after a reset.
    assert_eq!(sim.http.get(sim.url("/__sim/stats")).send().await.unwrap().status(), 200);
    assert_eq!(
        sim.http.post(sim.url("/__sim/ratelimits/reset")).send().await.unwrap().status(),
        204
    );
    assert_eq!(sim.get("/api/v1/apps").await.status(), 200);
    sim.shutdown().await;
}

#[tokio::test]
async fn workforce_defaults_and_headers_on_errors() {
    let mut cfg = config();
    cfg.rate_limit_scale = 1.0;
    let sim = sim(cfg).await;
    let r = sim.get("/api/v1/users").await;
    assert_eq!(hdr(&r, "x-rate-limit-limit"), 600);
    let r = sim.get("/api/v1/groups/nope").await;
    assert_eq!(r.status(), 404);
    assert_eq!(hdr(&r, "x-rate-limit-limit"), 1000);
    let r = sim.get("/api/v1/logs").await;
    assert_eq!(hdr(&r, "x-rate-limit-limit"), 120);
    let r = sim.get("/api/v1/apps").await;
    assert_eq!(hdr(&r, "x-rate-limit-limit"), 100);
    let r = sim.get("/api/v1/groups").await;
    assert_eq!(hdr(&r, "x-rate-limit-limit"), 500);
    let r = sim.get("/api/v1/eventHooks").await;
    assert_eq!(hdr(&r, "x-rate-limit-limit"), 1200);
    // Bad token: 401 E0000011, still with rate-limit headers, request id and Date.
    let r = sim
        .http
        .get(sim.url("/api/v1/users"))
        .header("Authorization", "SSWS wrong")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert!(r.headers().contains_key("x-rate-limit-remaining") && r.headers().contains_key("date"));
    let a = r.headers()["x-okta-request-id"].clone();
    assert_eq!(r.json::<Value>().await.unwrap()["errorCode"], "E0000011");
    let r = sim.http.get(sim.url("/api/v1/users")).send().await.unwrap();
    assert_eq!(r.status(), 401);
    assert_ne!(r.headers()["x-okta-request-id"], a, "request ids are unique");
    let r = sim
        .http
        .get(sim.url("/api/v1/users"))
        .header("Authorization", format!("Bearer {TOKEN}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    sim.shutdown().await;
}

#[tokio::test]
async fn concurrency_cap_rejects_with_limit_zero() {
    let mut cfg = config();
    cfg.concurrency_limit = 4;
    cfg.latency_ms = 1500;
    let sim = sim(cfg).await;
    let reqs = (0..12).map(|_| sim.get("/api/v1/users?limit=1"));
    let resps = futures_util::future::join_all(reqs).await;
    let mut ok = 0;
    let mut capped = 0;
    for r in resps {
        match r.status().as_u16() {
            200 => ok += 1,
            429 => {
                assert_eq!(hdr(&r, "x-rate-limit-limit"), 0);
                assert_eq!(hdr(&r, "x-rate-limit-remaining"), 0);
                assert!(hdr(&r, "x-rate-limit-reset") > 0);
                assert_eq!(r.json::<Value>().await.unwrap()["errorCode"], "E0000047");
                capped += 1;
            }
            s => panic!("unexpected {s}"),
        }
    }
    assert_eq!(ok + capped, 12);
    assert!((1..=4).contains(&ok), "at most the cap succeeds concurrently: {ok}");
    assert!(capped >= 8);
    let st = sim.h.stats();
    assert_eq!(st.concurrency_rejected, capped);
    assert!(st.peak_concurrency >= 5, "peak {}", st.peak_concurrency);
    sim.shutdown().await;
}

/// Issue 12: with rate limiting off (`--rate-limit-scale 0`) no limit is enforced, so none is
/// reported; a client reading the headers must not pace itself against the base limits.
#[tokio::test]
async fn no_rate_limit_headers_when_rate_limiting_is_off() {
    let sim = sim(config()).await; // rate_limit_scale 0
    for path in ["/api/v1/users?limit=1", "/api/v1/groups?limit=1", "/api/v1/apps", "/api/v1/logs"]
    {
        for _ in 0..3 {
            let r = sim.get(path).await;
            assert_eq!(r.status(), 200, "{path}");
            for k in ["x-rate-limit-limit", "x-rate-limit-remaining", "x-rate-limit-reset"] {
                assert!(!r.headers().contains_key(k), "{path} sends {k}");
            }
            assert!(r.headers().contains_key("x-okta-request-id"));
        }
    }
    sim.shutdown().await;
}
