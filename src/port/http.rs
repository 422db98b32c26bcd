//! Port's HTTP transport: the access token (fetched lazily, refreshed a margin before it
//! expires, one refresh at a time, one forced refresh on a 401) and Ocean's retry policy with
//! its gaps closed.
//!
//! Retried: 429 (waiting `Retry-After`, else `x-ratelimit-reset`), 408, 502, 503, 504 and
//! network errors, with exponential backoff and jitter, at most [`RetryPolicy::max_retries`]
//! times; 500 and other statuses are final. Every request port-okta sends is safe to repeat (see
//! [`super`]), so unlike Ocean (W-C14) the resync-state PATCH and blueprint writes are retried
//! too. A final failure names the method, the path, the status and Port's error body; the token
//! and the client secret never appear in an error, a log line or `Debug` output.

use super::wire::{ErrorBody, TokenAnswer, TokenRequest};
use crate::catalog::CatalogError;
use crate::secret::Secret;
use reqwest::{Method, StatusCode, Url};
use serde::de::DeserializeOwned;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// How failed requests are retried.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    /// Retries after the first attempt (Ocean: 10).
    pub max_retries: u32,
    /// The first backoff; doubled each retry, ±10 % jitter (Ocean: 0.3 s).
    pub base_delay: Duration,
    /// The longest single wait, whatever the server asks (Ocean: 300 s).
    pub max_wait: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_retries: 10,
            base_delay: Duration::from_millis(300),
            max_wait: Duration::from_secs(300),
        }
    }
}

/// Counters of one client, for logs, tests and benchmarks.
#[derive(Debug, Default)]
pub struct PortStats {
    /// Requests sent (every attempt).
    pub requests: AtomicU64,
    /// Attempts that were retries.
    pub retries: AtomicU64,
    /// 429 answers.
    pub rate_limited: AtomicU64,
    /// Milliseconds waited before retries (as computed, not measured).
    pub waited_ms: AtomicU64,
    /// Tokens fetched.
    pub token_fetches: AtomicU64,
    /// Bulk-upsert calls sent (first attempts).
    pub upsert_calls: AtomicU64,
    /// Entities Port reported written.
    pub upserted: AtomicU64,
    /// Entities Port refused.
    pub refused: AtomicU64,
    /// Bulk-delete calls sent (first attempts).
    pub delete_calls: AtomicU64,
}

impl PortStats {
    pub(crate) fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    /// Reads a counter.
    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }
}

/// A request to Port, relative to the API root (`<base>/v1`). Its `Debug` shows the body's
/// size, not the body (the token request's body holds the client secret).
#[derive(Clone)]
pub struct Req {
    method: Method,
    segments: Vec<String>,
    query: Vec<(String, String)>,
    body: Option<bytes::Bytes>,
    user_agent: String,
}

impl std::fmt::Debug for Req {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Req")
            .field("method", &self.method)
            .field("segments", &self.segments)
            .field("query", &self.query)
            .field("body_bytes", &self.body.as_ref().map(bytes::Bytes::len))
            .finish()
    }
}

impl Req {
    /// `method` on `/v1/<segments…>` (each segment is percent-encoded).
    pub fn new(method: Method, segments: &[&str], user_agent: &str) -> Self {
        Self {
            method,
            segments: segments.iter().map(|s| s.to_string()).collect(),
            query: Vec::new(),
            body: None,
            user_agent: user_agent.to_string(),
        }
    }

    /// Adds a query parameter.
    pub fn query(mut self, key: &str, value: impl Into<String>) -> Self {
        self.query.push((key.to_string(), value.into()));
        self
    }

    /// Sets a JSON body.
    pub fn json(mut self, body: &impl serde::Serialize) -> Self {
        self.body = Some(serde_json::to_vec(body).unwrap_or_default().into());
        self
    }

    /// Sets a JSON body already serialized.
    pub fn raw_json(mut self, body: bytes::Bytes) -> Self {
        self.body = Some(body);
        self
    }

    fn path(&self) -> String {
        let mut url = Url::parse("http://x/v1").expect("static URL");
        if let Ok(mut s) = url.path_segments_mut() {
            s.extend(&self.segments);
        }
        if !self.query.is_empty() {
            url.query_pairs_mut().extend_pairs(&self.query);
        }
        match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_string(),
        }
    }
}

/// An answer with a success status.
#[derive(Debug)]
pub struct Answer {
    /// The status.
    pub status: StatusCode,
    /// The body.
    pub body: bytes::Bytes,
}

impl Answer {
    /// The body as `T`, or an error naming the request.
    pub fn parse<T: DeserializeOwned>(&self, req: &Req) -> Result<T, CatalogError> {
        serde_json::from_slice(&self.body).map_err(|e| CatalogError::Http {
            method: req.method.to_string(),
            path: req.path(),
            status: self.status.as_u16(),
            code: Some("unreadable_answer".into()),
            message: Some(format!("the answer is not the JSON expected: {e}")),
        })
    }
}

/// The current token and when to stop using it.
struct Token {
    header: Secret,
    refresh_at: Instant,
}

/// Port's HTTP client.
pub struct PortHttp {
    http: reqwest::Client,
    base: Url,
    client_id: String,
    client_secret: Secret,
    token: tokio::sync::Mutex<Option<Token>>,
    retry: RetryPolicy,
    stats: PortStats,
}

impl std::fmt::Debug for PortHttp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PortHttp")
            .field("base", &self.base.as_str())
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret)
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

/// How long before a token's expiry it is refreshed: a tenth of its life, at most a minute.
pub fn refresh_margin(expires_in: Duration) -> Duration {
    (expires_in / 10).min(Duration::from_secs(60))
}

/// Seconds to wait as a rate-limit header says: a number of seconds (or, above 10,000, a Unix
/// time), or an HTTP or RFC 3339 date; `None` when it says neither.
pub fn header_wait(value: &str, now: jiff::Timestamp) -> Option<Duration> {
    let value = value.trim();
    if let Ok(n) = value.parse::<f64>() {
        if !n.is_finite() || n < 0.0 {
            return None;
        }
        if n > 10_000.0 {
            let secs = n - now.as_second() as f64;
            return Duration::try_from_secs_f64(secs.max(0.0)).ok();
        }
        return Some(Duration::from_secs_f64(n));
    }
    let at = value
        .parse::<jiff::Timestamp>()
        .ok()
        .or_else(|| jiff::fmt::rfc2822::parse(value).ok().map(|z| z.timestamp()))?;
    let d = at.duration_since(now);
    Some(Duration::try_from(d).unwrap_or(Duration::ZERO))
}

fn is_retryable_status(s: StatusCode) -> bool {
    matches!(s.as_u16(), 408 | 429 | 502 | 503 | 504)
}

impl PortHttp {
    /// A client of the Port API at `base_url` (`https://api.getport.io`; `/v1` is appended).
    pub fn new(
        base_url: &str,
        client_id: &str,
        client_secret: Secret,
        retry: RetryPolicy,
        timeout: Duration,
        max_connections: usize,
    ) -> Result<Self, CatalogError> {
        let base = Url::parse(base_url.trim_end_matches('/')).map_err(|e| {
            CatalogError::Closed(format!("Port base URL {base_url:?} is not a URL: {e}"))
        })?;
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .pool_max_idle_per_host(max_connections)
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy_for_loopback(&base)
            .build()
            .map_err(|e| CatalogError::Closed(format!("Port HTTP client: {e}")))?;
        Ok(Self {
            http,
            base,
            client_id: client_id.to_string(),
            client_secret,
            token: tokio::sync::Mutex::new(None),
            retry,
            stats: PortStats::default(),
        })
    }

    /// The base URL.
    pub fn base(&self) -> &str {
        self.base.as_str()
    }

    /// The counters.
    pub fn stats(&self) -> &PortStats {
        &self.stats
    }

    fn url(&self, req: &Req) -> Url {
        let mut url = self.base.clone();
        if let Ok(mut s) = url.path_segments_mut() {
            s.pop_if_empty().push("v1").extend(&req.segments);
        }
        if !req.query.is_empty() {
            url.query_pairs_mut().extend_pairs(&req.query);
        }
        url
    }

    /// The `Authorization` value to use now: the current token unless it is within its margin
    /// of expiry, or is `stale` (the one a 401 was answered to). One caller fetches at a time;
    /// the others wait and use what it fetched.
    async fn token(&self, stale: Option<&Secret>) -> Result<Secret, CatalogError> {
        let mut slot = self.token.lock().await;
        if let Some(t) = slot.as_ref() {
            let refused = stale.is_some_and(|s| s == &t.header);
            if !refused && Instant::now() < t.refresh_at {
                return Ok(t.header.clone());
            }
        }
        let req =
            Req::new(Method::POST, &["auth", "access_token"], "port-okta").json(&TokenRequest {
                client_id: self.client_id.clone(),
                client_secret: self.client_secret.expose().to_string(),
            });
        let fetched_at = Instant::now();
        let answer = self.send_retrying(&req, None).await?;
        PortStats::add(&self.stats.token_fetches, 1);
        let t: TokenAnswer = answer.parse(&req)?;
        // At most a day: a token that claims to live longer is refreshed daily anyway.
        let life = Duration::from_secs(t.expires_in.min(86_400));
        let header = Secret::new(format!("{} {}", t.token_type, t.access_token));
        *slot = Some(Token {
            header: header.clone(),
            refresh_at: fetched_at + life - refresh_margin(life),
        });
        tracing::debug!(expires_in_s = t.expires_in, "port access token fetched");
        Ok(header)
    }

    /// Sends `req` with a token, retrying as the policy says; a 401 forces one token refresh.
    pub async fn send(&self, req: &Req) -> Result<Answer, CatalogError> {
        let token = self.token(None).await?;
        match self.send_retrying(req, Some(&token)).await {
            Err(CatalogError::Http { status: 401, .. }) => {
                tracing::info!(method = %req.method, path = %req.path(), "port answered 401; refreshing the token once");
                let fresh = self.token(Some(&token)).await?;
                self.send_retrying(req, Some(&fresh)).await
            }
            other => other,
        }
    }

    /// Sends `req` and reads the answer as `T`.
    pub async fn call<T: DeserializeOwned>(&self, req: &Req) -> Result<T, CatalogError> {
        self.send(req).await?.parse(req)
    }

    async fn send_retrying(
        &self,
        req: &Req,
        token: Option<&Secret>,
    ) -> Result<Answer, CatalogError> {
        let url = self.url(req);
        let mut attempt: u32 = 0;
        loop {
            PortStats::add(&self.stats.requests, 1);
            let mut builder = self
                .http
                .request(req.method.clone(), url.clone())
                .header(reqwest::header::USER_AGENT, &req.user_agent);
            if let Some(t) = token {
                builder = builder.header(reqwest::header::AUTHORIZATION, t.expose());
            }
            if let Some(body) = &req.body {
                builder = builder
                    .header(reqwest::header::CONTENT_TYPE, "application/json")
                    .body(body.clone());
            }
            let (error, server_wait) = match builder.send().await {
                Ok(resp) => {
                    let status = resp.status();
                    let wait = self.server_wait(&resp);
                    match resp.bytes().await {
                        Ok(body) if status.is_success() => return Ok(Answer { status, body }),
                        Ok(body) => (self.http_error(req, status, &body), wait),
                        Err(e) => (self.network_error(req, e), None),
                    }
                }
                Err(e) => (self.network_error(req, e), None),
            };
            let retryable = match &error {
                CatalogError::Http { status, .. } => {
                    if *status == 429 {
                        PortStats::add(&self.stats.rate_limited, 1);
                    }
                    is_retryable_status(StatusCode::from_u16(*status).unwrap_or(StatusCode::OK))
                }
                CatalogError::Network { .. } => true,
                _ => false,
            };
            if !retryable || attempt >= self.retry.max_retries {
                if retryable {
                    tracing::warn!(method = %req.method, path = %req.path(), attempts = attempt + 1, error = %error, "port request failed after retries");
                }
                return Err(error);
            }
            attempt += 1;
            let wait =
                server_wait.unwrap_or_else(|| self.backoff(attempt)).min(self.retry.max_wait);
            PortStats::add(&self.stats.retries, 1);
            PortStats::add(&self.stats.waited_ms, wait.as_millis() as u64);
            tracing::debug!(method = %req.method, path = %req.path(), attempt, wait_ms = wait.as_millis() as u64, error = %error, "retrying port request");
            tokio::time::sleep(wait).await;
        }
    }

    fn backoff(&self, attempt: u32) -> Duration {
        let base =
            self.retry.base_delay.as_secs_f64() * 2f64.powi(attempt.saturating_sub(1) as i32);
        let jitter = 1.0 + (fastrand::f64() * 0.2 - 0.1);
        Duration::from_secs_f64((base * jitter).min(self.retry.max_wait.as_secs_f64()))
    }

    fn server_wait(&self, resp: &reqwest::Response) -> Option<Duration> {
        let now = jiff::Timestamp::now();
        ["retry-after", "x-ratelimit-reset"].iter().find_map(|h| {
            let v = resp.headers().get(*h)?.to_str().ok()?;
            header_wait(v, now)
        })
    }

    fn http_error(&self, req: &Req, status: StatusCode, body: &[u8]) -> CatalogError {
        let (code, message) = match serde_json::from_slice::<ErrorBody>(body) {
            Ok(e) if !e.error.is_empty() || !e.message.is_empty() => {
                (Some(e.error).filter(|c| !c.is_empty()), Some(e.message).filter(|m| !m.is_empty()))
            }
            _ => {
                let text = String::from_utf8_lossy(body);
                let text: String = text.trim().chars().take(500).collect();
                (None, Some(text).filter(|t| !t.is_empty()))
            }
        };
        CatalogError::Http {
            method: req.method.to_string(),
            path: req.path(),
            status: status.as_u16(),
            code,
            message,
        }
    }

    fn network_error(&self, req: &Req, e: reqwest::Error) -> CatalogError {
        // reqwest's error text names the URL; the URL never carries a secret.
        CatalogError::Network {
            method: req.method.to_string(),
            path: req.path(),
            source: Box::new(e.without_url()),
        }
    }
}

/// Loopback traffic never goes through a proxy (tests and `catalog serve` on 127.0.0.1).
trait NoProxyForLoopback {
    fn no_proxy_for_loopback(self, base: &Url) -> Self;
}

impl NoProxyForLoopback for reqwest::ClientBuilder {
    fn no_proxy_for_loopback(self, base: &Url) -> Self {
        let host = base.host_str().unwrap_or_default();
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let loopback = host.eq_ignore_ascii_case("localhost")
            || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback());
        if loopback { self.no_proxy() } else { self }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_limit_headers_are_seconds_epochs_or_dates() {
        let now: jiff::Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
        assert_eq!(header_wait("3", now), Some(Duration::from_secs(3)));
        assert_eq!(header_wait("1e300", now), None, "a time beyond any clock is no wait");
        assert_eq!(header_wait("0.5", now), Some(Duration::from_millis(500)));
        let epoch = now.as_second() + 7;
        assert_eq!(header_wait(&epoch.to_string(), now), Some(Duration::from_secs(7)));
        assert_eq!(header_wait("2026-01-01T00:00:09Z", now), Some(Duration::from_secs(9)));
        assert_eq!(header_wait("Thu, 01 Jan 2026 00:00:04 GMT", now), Some(Duration::from_secs(4)));
        assert_eq!(header_wait("2025-12-31T00:00:00Z", now), Some(Duration::ZERO));
        assert_eq!(header_wait("soon", now), None);
        assert_eq!(header_wait("-1", now), None);
    }

    #[test]
    fn the_token_is_refreshed_a_margin_before_it_expires() {
        assert_eq!(refresh_margin(Duration::from_secs(3 * 3600)), Duration::from_secs(60));
        assert_eq!(refresh_margin(Duration::from_secs(100)), Duration::from_secs(10));
        assert_eq!(refresh_margin(Duration::ZERO), Duration::ZERO);
    }

    #[test]
    fn paths_are_encoded_and_debug_shows_no_secret() {
        let req = Req::new(Method::POST, &["blueprints", "a b/c", "entities", "bulk"], "ua")
            .query("upsert", "true")
            .query("x", "1&2");
        assert_eq!(req.path(), "/v1/blueprints/a%20b%2Fc/entities/bulk?upsert=true&x=1%262");
        let http = PortHttp::new(
            "http://127.0.0.1:9",
            "id",
            Secret::new("hunter2"),
            RetryPolicy::default(),
            Duration::from_secs(1),
            4,
        )
        .unwrap();
        assert!(!format!("{http:?}").contains("hunter2"));
        let token_req = Req::new(Method::POST, &["auth", "access_token"], "ua").json(
            &crate::port::wire::TokenRequest {
                client_id: "id".into(),
                client_secret: "hunter2".into(),
            },
        );
        let shown = format!("{token_req:?}");
        assert!(!shown.contains("hunter2") && shown.contains("body_bytes"), "{shown}");
        let answer = crate::port::wire::TokenAnswer {
            access_token: "tok-secret".into(),
            expires_in: 3600,
            token_type: "Bearer".into(),
        };
        assert!(!format!("{answer:?}").contains("tok-secret"));
        let request = crate::port::wire::TokenRequest {
            client_id: "id".into(),
            client_secret: "hunter2".into(),
        };
        assert!(!format!("{request:?}").contains("hunter2"));
    }
}
