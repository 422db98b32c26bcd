//! Shared helpers: a simulator with a client, and a hook receiver.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use okta_sim::{SimConfig, SimHandle};
use serde_json::{Value, json};

pub const TOKEN: &str = "test-token";

pub struct Sim {
    pub h: SimHandle,
    pub http: reqwest::Client,
}

pub fn config() -> SimConfig {
    SimConfig {
        users: 120,
        groups: 12,
        apps: 6,
        seed: 5,
        token: TOKEN.into(),
        rate_limit_scale: 0.0,
        ..SimConfig::default()
    }
}

pub async fn sim(cfg: SimConfig) -> Sim {
    let h = okta_sim::spawn(cfg, "127.0.0.1:0".parse().unwrap()).await.expect("spawn");
    let http = reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    Sim { h, http }
}

impl Sim {
    pub fn url(&self, path: &str) -> String {
        if path.starts_with("http") {
            path.to_owned()
        } else {
            format!("http://{}{path}", self.h.addr())
        }
    }
    pub async fn req(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> reqwest::Response {
        let mut rb = self
            .http
            .request(method, self.url(path))
            .header("Authorization", format!("SSWS {TOKEN}"));
        if let Some(b) = body {
            rb = rb.json(&b);
        } else {
            rb = rb.header("Content-Length", "0");
        }
        rb.send().await.expect("request")
    }
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.req(reqwest::Method::GET, path, None).await
    }
    pub async fn get_json(&self, path: &str) -> Value {
        let r = self.get(path).await;
        assert_eq!(r.status(), 200, "GET {path}");
        r.json().await.unwrap()
    }
    pub async fn post(&self, path: &str, body: Option<Value>) -> reqwest::Response {
        self.req(reqwest::Method::POST, path, body).await
    }
    pub async fn put(&self, path: &str, body: Option<Value>) -> reqwest::Response {
        self.req(reqwest::Method::PUT, path, body).await
    }
    pub async fn delete(&self, path: &str) -> reqwest::Response {
        self.req(reqwest::Method::DELETE, path, None).await
    }
    /// Follows `rel="next"` links, returning every item and the number of pages.
    pub async fn crawl(&self, first: &str) -> (Vec<Value>, usize) {
        let mut url = self.url(first);
        let mut all = Vec::new();
        for pages in 1..=10_000 {
            let r = self.get(&url).await;
            assert_eq!(r.status(), 200, "GET {url}");
            let next = next_link(r.headers());
            let page: Vec<Value> = r.json().await.unwrap();
            let empty = page.is_empty();
            all.extend(page);
            match next {
                Some(n) if !empty => url = n,
                _ => return (all, pages),
            }
        }
        panic!("too many pages");
    }
    pub async fn shutdown(self) {
        self.h.shutdown().await;
    }
}

pub fn links(h: &HeaderMap) -> Vec<String> {
    h.get_all("link").iter().map(|v| v.to_str().unwrap().to_owned()).collect()
}

pub fn next_link(h: &HeaderMap) -> Option<String> {
    links(h)
        .into_iter()
        .find(|l| l.ends_with("rel=\"next\""))
        .map(|l| l[1..l.find('>').unwrap()].to_owned())
}

pub fn ids(v: &[Value]) -> Vec<String> {
    v.iter().map(|x| x["id"].as_str().unwrap().to_owned()).collect()
}

/// Polls `f` every 20 ms, at most `n` times.
pub async fn poll<F: FnMut() -> bool>(n: usize, mut f: F) -> bool {
    for _ in 0..n {
        if f() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    f()
}

/// How the receiver answers the verification GET.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Verify {
    Echo,
    Wrong,
}

#[derive(Clone, Debug)]
pub struct Delivery {
    pub headers: HeaderMap,
    pub body: Value,
}

#[derive(Clone)]
pub struct RecvState {
    pub verify: Verify,
    pub deliveries: Arc<Mutex<Vec<Delivery>>>,
    pub verifications: Arc<Mutex<Vec<HeaderMap>>>,
    /// Statuses to answer the next POSTs with (then 200).
    pub script: Arc<Mutex<Vec<u16>>>,
}

pub struct Receiver {
    pub url: String,
    pub st: RecvState,
    task: tokio::task::JoinHandle<()>,
}

impl Receiver {
    pub async fn start(verify: Verify) -> Receiver {
        let st = RecvState {
            verify,
            deliveries: Arc::default(),
            verifications: Arc::default(),
            script: Arc::default(),
        };
        let app = Router::new()
            .route("/hook", axum::routing::get(on_get).post(on_post))
            .with_state(st.clone());
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", l.local_addr().unwrap());
        let task = tokio::spawn(async move {
            let _ = axum::serve(l, app).await;
        });
        Receiver { url, st, task }
    }
    pub fn deliveries(&self) -> Vec<Delivery> {
        self.st.deliveries.lock().unwrap().clone()
    }
    pub fn events(&self) -> Vec<Value> {
        self.deliveries()
            .iter()
            .flat_map(|d| d.body["data"]["events"].as_array().cloned().unwrap_or_default())
            .collect()
    }
    pub fn stop(self) {
        self.task.abort();
    }
}

async fn on_get(State(st): State<RecvState>, h: HeaderMap) -> Response {
    st.verifications.lock().unwrap().push(h.clone());
    let c = h
        .get("x-okta-verification-challenge")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let v = if st.verify == Verify::Echo { c } else { "not-the-challenge".into() };
    axum::Json(json!({ "verification": v })).into_response()
}

async fn on_post(State(st): State<RecvState>, h: HeaderMap, body: Bytes) -> Response {
    let status = {
        let mut s = st.script.lock().unwrap();
        if s.is_empty() { 200 } else { s.remove(0) }
    };
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    st.deliveries.lock().unwrap().push(Delivery { headers: h, body });
    StatusCode::from_u16(status).unwrap().into_response()
}

/// Creates, then verifies, a hook subscribed to `items` with auth header `x-hook-secret: s3cret`.
pub async fn create_verified_hook(sim: &Sim, uri: &str, items: &[&str]) -> String {
    let r = sim
        .post(
            "/api/v1/eventHooks",
            Some(json!({
                "name": "test hook",
                "events": {"type": "EVENT_TYPE", "items": items},
                "channel": {"type": "HTTP", "version": "1.0.0", "config": {
                    "uri": uri,
                    "headers": [{"key": "X-Custom", "value": "c1"}],
                    "authScheme": {"type": "HEADER", "key": "x-hook-secret", "value": "s3cret"}}}
            })),
        )
        .await;
    assert_eq!(r.status(), 200);
    let hook: Value = r.json().await.unwrap();
    let id = hook["id"].as_str().unwrap().to_owned();
    let r = sim.post(&format!("/api/v1/eventHooks/{id}/lifecycle/verify"), None).await;
    assert_eq!(r.status(), 200);
    id
}
