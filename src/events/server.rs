//! `serve`'s HTTP side: Okta's event-hook endpoint, health, readiness and metrics.
//!
//! `POST /integration/webhook` authenticates **first** (the shared secret Okta sends in the
//! `Authorization` header, compared in constant time; 401 otherwise — Ocean answers 200 before
//! it checks anything and never reads its secret, W-O1/W-O2, W-C12), then reads at most
//! `max_body` bytes (413), validates the envelope (400 with the reason), queues the events
//! durably and only then answers 200 — well inside Okta's 3 s. Processing happens later, in the
//! worker. `GET /integration/webhook` answers Okta's one-time verification challenge.

use super::envelope::parse_delivery;
use super::metrics::Metrics;
use super::queue::{EventQueue, Source};
use crate::okta::OktaClient;
use crate::secret::Secret;
use axum::Router;
use axum::body::Body;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// What the handlers share.
#[derive(Debug, Clone)]
pub struct AppState {
    /// Where deliveries go.
    pub queue: Arc<dyn EventQueue>,
    /// The secret Okta must present (`None`: accept every delivery — warned about at start).
    pub secret: Option<Secret>,
    /// Counters.
    pub metrics: Arc<Metrics>,
    /// Set once the first resync has finished.
    pub ready: Arc<AtomicBool>,
    /// The Okta client (its counters are exported).
    pub okta: OktaClient,
    /// Wakes the worker when events are queued.
    pub wake: Arc<tokio::sync::Notify>,
    /// Largest delivery body accepted.
    pub max_body: usize,
}

/// The router.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/integration/webhook", get(challenge).post(deliver))
        .route("/health", get(|| async { "ok\n" }))
        .route("/ready", get(ready))
        .route("/metrics", get(metrics))
        .layer(middleware::from_fn_with_state(state.clone(), count))
        .with_state(state)
}

/// Counts every answer by route (the matched pattern, never the raw path) and status.
async fn count(State(st): State<AppState>, req: Request, next: Next) -> Response {
    let route = match req.extensions().get::<MatchedPath>().map(MatchedPath::as_str) {
        Some("/integration/webhook") => "/integration/webhook",
        Some("/health") => "/health",
        Some("/ready") => "/ready",
        Some("/metrics") => "/metrics",
        _ => "other",
    };
    let resp = next.run(req).await;
    st.metrics.request(route, resp.status().as_u16());
    resp
}

fn error(status: StatusCode, reason: &str) -> Response {
    (status, axum::Json(json!({"error": reason}))).into_response()
}

/// Compares without leaking where two byte strings differ (nor, beyond their length, anything).
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let mut diff = (a.len() ^ b.len()) as u64;
    for i in 0..a.len().max(b.len()) {
        let x = a.get(i).copied().unwrap_or(0);
        let y = b.get(i).copied().unwrap_or(0);
        diff |= u64::from(x ^ y);
    }
    diff == 0
}

fn authorized(st: &AppState, headers: &HeaderMap) -> bool {
    let Some(secret) = &st.secret else { return true };
    let given = headers.get(header::AUTHORIZATION).map(|v| v.as_bytes()).unwrap_or(b"");
    constant_time_eq(given, secret.expose().as_bytes())
}

async fn challenge(State(st): State<AppState>, headers: HeaderMap) -> Response {
    if !authorized(&st, &headers) {
        return error(StatusCode::UNAUTHORIZED, "missing or wrong Authorization");
    }
    match headers.get("x-okta-verification-challenge").and_then(|v| v.to_str().ok()) {
        Some(v) => axum::Json(json!({ "verification": v })).into_response(),
        None => error(StatusCode::BAD_REQUEST, "no x-okta-verification-challenge header"),
    }
}

/// How much of a refused delivery is read (and dropped) before the 413: closing a connection
/// with unread data resets it, and the sender would see a reset instead of the answer. Beyond
/// this the connection is reset anyway.
const DRAIN_LIMIT: usize = 4 << 20;

/// The next chunk of `body`'s data (`None` at its end).
async fn next_chunk(body: &mut Body) -> Option<Result<axum::body::Bytes, axum::Error>> {
    use axum::body::HttpBody;
    loop {
        let frame = std::future::poll_fn(|cx| std::pin::Pin::new(&mut *body).poll_frame(cx)).await;
        match frame? {
            Ok(f) => match f.into_data() {
                Ok(data) => return Some(Ok(data)),
                Err(_) => continue, // trailers
            },
            Err(e) => return Some(Err(e)),
        }
    }
}

/// Reads and drops up to `limit` bytes of `body` (less when it ends or fails first).
async fn drain(mut body: Body, limit: usize) {
    let mut seen = 0;
    while seen <= limit {
        match next_chunk(&mut body).await {
            Some(Ok(data)) => seen += data.len(),
            Some(Err(_)) | None => return,
        }
    }
}

async fn deliver(State(st): State<AppState>, headers: HeaderMap, body: Body) -> Response {
    if !authorized(&st, &headers) {
        return error(StatusCode::UNAUTHORIZED, "missing or wrong Authorization");
    }
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    let too_large =
        || error(StatusCode::PAYLOAD_TOO_LARGE, "the delivery is larger than the limit");
    if declared.is_some_and(|n| n > st.max_body) {
        drain(body, DRAIN_LIMIT).await;
        return too_large();
    }
    let mut body = body;
    let mut bytes = Vec::with_capacity(declared.unwrap_or(0));
    while let Some(chunk) = next_chunk(&mut body).await {
        // A body that fails mid-read is refused like one over the limit.
        let Ok(chunk) = chunk else { return too_large() };
        bytes.extend_from_slice(&chunk);
        if bytes.len() > st.max_body {
            drain(body, DRAIN_LIMIT).await;
            return too_large();
        }
    }
    let delivery = match parse_delivery(&bytes) {
        Ok(d) => d,
        Err(why) => return error(StatusCode::BAD_REQUEST, &why.0),
    };
    let n = delivery.events.len();
    match st.queue.push(delivery.events, Source::Hook).await {
        Ok(pushed) => {
            st.metrics.received("hook", pushed.added, pushed.duplicates, delivery.ignored);
            if pushed.added > 0 {
                st.wake.notify_one();
            }
            axum::Json(json!({"status": "ok", "queued": pushed.added, "events": n})).into_response()
        }
        Err(e) => {
            // Not acknowledged: Okta retries once, and the System Log catches up after that.
            tracing::error!(error = %e, "could not queue a delivery");
            error(StatusCode::SERVICE_UNAVAILABLE, "the event queue is unavailable")
        }
    }
}

async fn ready(State(st): State<AppState>) -> Response {
    if !st.ready.load(Ordering::Acquire) {
        return error(StatusCode::SERVICE_UNAVAILABLE, "the first resync has not finished");
    }
    let probe = jiff::Timestamp::now().to_string();
    match st.queue.set_state("ready.probe".into(), probe).await {
        Ok(()) => "ready\n".into_response(),
        Err(_) => error(StatusCode::SERVICE_UNAVAILABLE, "the event queue is not writable"),
    }
}

async fn metrics(State(st): State<AppState>) -> Response {
    let depth = st.queue.depth().await.ok();
    let text =
        st.metrics.render(depth.as_ref(), st.okta.stats(), jiff::Timestamp::now().as_millisecond());
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response()
}

#[cfg(test)]
mod tests {
    use super::constant_time_eq;

    #[test]
    fn constant_time_eq_is_equality() {
        assert!(constant_time_eq(b"secret", b"secret"));
        assert!(!constant_time_eq(b"secret", b"secreT"));
        assert!(!constant_time_eq(b"secret", b"secret2"));
        assert!(!constant_time_eq(b"", b"x"));
        assert!(constant_time_eq(b"", b""));
    }
}
