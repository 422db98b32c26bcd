//! The Okta REST client: SSWS auth, `Link` pagination, rate-limit pacing, retries.
//!
//! It knows nothing of jq or catalogs: it returns raw JSON. Its rules, each a fix of something
//! Ocean's client got wrong (spec §9 W-O6, W-O7, W-O13):
//! - the token is only ever sent to the configured origin; a `next` link to another host is an
//!   error, never followed;
//! - 401/403/404 (and any other non-retryable status) during a listing is an error carrying the
//!   HTTP status and Okta's `errorCode`/`errorSummary`, never an empty page;
//! - each response's `X-Rate-Limit-*` headers pace the next requests of its bucket (see
//!   [`ratelimit`]); a 429 waits until the bucket's reset (server `Date` based, capped,
//!   jittered) and retries with `X-Okta-Retry-For`/`X-Okta-Retry-Count`;
//! - 5xx and network errors are retried with exponential backoff, a bounded number of times;
//! - at most `max_concurrency` requests are in flight (Okta's org-wide cap is 75);
//! - a listing proves it is complete: every page carries a `Link` header, a page with
//!   `rel="next"` is followed, an empty page with a `next`, or a `next` back to a page already
//!   read, is an error ([`OktaError::Incomplete`]) — never an early end that would make the
//!   rest of the org look deleted.

pub mod api;
pub mod link;
pub mod live;
pub mod org;
pub mod ratelimit;
pub mod tls;

use crate::secret::Secret;
use ratelimit::{Pacer, Permit, RateHeaders, bucket_of};
use serde_json::Value;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;

/// Tunables of the client.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// Share of each rate-limit bucket this client may use (Okta's per-token default is 50%).
    pub bucket_share: f64,
    /// Requests in flight at most (Okta's org cap is 75).
    pub max_concurrency: usize,
    /// Retries of one request after 429, 5xx or a network error.
    pub max_retries: u32,
    /// The longest single wait for a rate-limit reset.
    pub max_reset_wait: Duration,
    /// First backoff for 5xx/network errors; doubles per retry.
    pub backoff_base: Duration,
    /// Timeout of one request.
    pub request_timeout: Duration,
    /// Allow plain `http://` to a host other than loopback (the token travels in clear text).
    pub allow_insecure_http: bool,
}

impl Default for ClientOptions {
    fn default() -> Self {
        Self {
            bucket_share: 0.5,
            max_concurrency: 16,
            max_retries: 6,
            max_reset_wait: Duration::from_secs(65),
            backoff_base: Duration::from_millis(200),
            request_timeout: Duration::from_secs(60),
            allow_insecure_http: false,
        }
    }
}

/// Why a request failed for good.
#[derive(Debug, thiserror::Error)]
pub enum OktaError {
    /// Okta answered with a non-success status that is not retried (or retries ran out).
    #[error("okta answered {status} {reason} for {method} {path}{detail}")]
    Status {
        /// The request method.
        method: String,
        /// HTTP status code.
        status: u16,
        /// Canonical reason phrase.
        reason: String,
        /// Path and query of the request (no host, no token).
        path: String,
        /// `: E0000006 You do not have permission…` when Okta sent an error body.
        detail: String,
    },
    /// The connection failed (retries ran out).
    #[error("request to {path} failed: {message}")]
    Network {
        /// Path and query of the request.
        path: String,
        /// What went wrong.
        message: String,
    },
    /// The body was not the JSON we expected.
    #[error("okta sent an unexpected body for {path}: {message}")]
    Body {
        /// Path and query of the request.
        path: String,
        /// What was wrong with it.
        message: String,
    },
    /// A `Link: rel="next"` pointed somewhere the token must not go.
    #[error(
        "refusing to follow a next link to another origin ({origin}); the token is only sent to {expected}"
    )]
    ForeignLink {
        /// Where the link pointed.
        origin: String,
        /// The configured Okta origin.
        expected: String,
    },
    /// The configuration cannot produce a client.
    #[error("invalid okta client configuration: {0}")]
    Config(String),
    /// Okta answered with a redirect, which is never followed with the token.
    #[error("okta answered {status} for GET {path}, redirecting to {location}; not followed")]
    Redirect {
        /// HTTP status (301, 302, 307, …).
        status: u16,
        /// Path and query of the request.
        path: String,
        /// Where the redirect pointed.
        location: String,
    },
    /// A task of the client failed (it panicked or was cancelled).
    #[error("{0}")]
    Task(String),
    /// A listing could not prove it is complete.
    #[error("listing {path} is incomplete: page {page} {problem}")]
    Incomplete {
        /// Path and query of the listing's first page.
        path: String,
        /// The page (1-based) at fault.
        page: u32,
        /// What was wrong with it.
        problem: String,
    },
}

impl OktaError {
    /// The HTTP status, when Okta answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Status { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// Counters of what the client did, for summaries and benchmarks.
#[derive(Debug, Default)]
pub struct ClientStats {
    /// HTTP requests sent (including retries).
    pub requests: AtomicU64,
    /// 429 answers received.
    pub rate_limited: AtomicU64,
    /// Retries after 5xx or network errors.
    pub retries: AtomicU64,
    /// Times a request waited for a bucket to reset before sending.
    pub paced_waits: AtomicU64,
}

/// One page of a listing.
#[derive(Debug)]
pub struct Page<T = Value> {
    /// The items of the page.
    pub items: Vec<T>,
    /// The absolute `rel="next"` URL, if there is one.
    pub next: Option<String>,
    /// Whether the page carried any `Link` header.
    pub linked: bool,
}

/// Walks a listing page by page, following `rel="next"`, and proves it complete.
///
/// Ends at a page without `next`. Every page must carry a `Link` header (Okta sends at least
/// `rel="self"` on every list page); an empty page that still has a `next`, or a `next` back to a
/// page already read (a cycle), is an [`OktaError::Incomplete`] error; so is a listing longer
/// than a million pages. An empty page without `next` ends the listing (Okta may send a `next`
/// that leads to `[]`).
///
/// Items are deserialized straight from the body as `T` (raw JSON values by default; a small
/// typed record where only a few fields are needed, so a page costs what is kept of it).
#[derive(Debug)]
pub struct Pager<T = Value> {
    client: OktaClient,
    first: String,
    next: Option<String>,
    pages: u32,
    seen: std::collections::HashSet<String>,
    /// Whether pages must carry `Link` headers (not for unpaged lists such as app links).
    linked: bool,
    _items: std::marker::PhantomData<fn() -> T>,
}

impl<T: serde::de::DeserializeOwned> Pager<T> {
    /// The next page's items, or `None` when the listing is complete.
    pub async fn next_page(&mut self) -> Result<Option<Vec<T>>, OktaError> {
        let Some(url) = self.next.take() else { return Ok(None) };
        self.pages += 1;
        let incomplete = |problem: &str| OktaError::Incomplete {
            path: path_of(&self.first).to_string(),
            page: self.pages,
            problem: problem.to_string(),
        };
        if self.pages > 1_000_000 {
            return Err(incomplete("is past 1,000,000 pages"));
        }
        self.seen.insert(cursor_key(&url));
        let page = self.client.get_page_of::<T>(&url).await?;
        if self.linked && !page.linked {
            return Err(incomplete("has no Link header"));
        }
        if let Some(next) = page.next {
            if page.items.is_empty() {
                return Err(incomplete("is empty but links a next page"));
            }
            if self.seen.contains(&cursor_key(&next)) {
                return Err(incomplete("links back to a page already read (a cycle)"));
            }
            self.next = Some(next);
        } else if page.items.is_empty() {
            return Ok(None);
        }
        Ok(Some(page.items))
    }

    /// A pager over a list Okta does not page (no `Link` headers required).
    pub fn unlinked(mut self) -> Self {
        self.linked = false;
        self
    }
}

/// A page URL as a cursor identity: path plus sorted query, without the origin.
fn cursor_key(url: &str) -> String {
    let pq = path_of(url);
    let (path, query) = pq.split_once('?').unwrap_or((pq, ""));
    let mut params: Vec<&str> = query.split('&').filter(|p| !p.is_empty()).collect();
    params.sort_unstable();
    format!("{path}?{}", params.join("&"))
}

/// A read-mostly Okta API client. Cheap to clone.
#[derive(Clone)]
pub struct OktaClient {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    base: String,
    origin: String,
    token: Secret,
    opts: ClientOptions,
    pacer: Pacer,
    slots: Semaphore,
    stats: ClientStats,
}

impl std::fmt::Debug for OktaClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OktaClient").field("base", &self.inner.base).finish_non_exhaustive()
    }
}

impl OktaClient {
    /// A client for the org at `base_url` (`https://dev-123.okta.com` or `http://127.0.0.1:PORT`).
    ///
    /// Plain `http://` is refused unless the host is loopback or
    /// [`ClientOptions::allow_insecure_http`] is set. Redirects are never followed.
    /// `HTTPS_PROXY`/`HTTP_PROXY`/`NO_PROXY` are honoured, except that loopback is never proxied.
    /// `SSL_CERT_FILE` adds a CA bundle to the system's trusted roots.
    pub fn new(base_url: &str, token: Secret, opts: ClientOptions) -> Result<Self, OktaError> {
        let base = base_url.trim_end_matches('/').to_string();
        let origin = link::origin(&base)
            .ok_or_else(|| OktaError::Config(format!("not an absolute http(s) URL: {base}")))?;
        let loopback = link::is_loopback(&origin);
        if origin.starts_with("http://") && !loopback && !opts.allow_insecure_http {
            return Err(OktaError::Config(format!(
                "refusing to send the Okta token over plain http to {origin}; use https \
                 (or --allow-insecure-http for a test org you trust)"
            )));
        }
        let mut builder = reqwest::Client::builder()
            .timeout(opts.request_timeout)
            .user_agent(concat!("port-okta/", env!("CARGO_PKG_VERSION")))
            .redirect(reqwest::redirect::Policy::none())
            .pool_max_idle_per_host(opts.max_concurrency);
        if loopback {
            builder = builder.no_proxy();
        }
        if let Some(path) = std::env::var_os("SSL_CERT_FILE").filter(|p| !p.is_empty()) {
            builder = builder.tls_built_in_root_certs(false);
            for cert in tls::roots_with(std::path::Path::new(&path), tls::SYSTEM_BUNDLES)? {
                builder = builder.add_root_certificate(cert);
            }
        }
        let http = builder.build().map_err(|e| OktaError::Config(e.to_string()))?;
        let slots = Semaphore::new(opts.max_concurrency.clamp(1, 75));
        Ok(Self {
            inner: Arc::new(Inner {
                http,
                base,
                origin,
                token,
                pacer: Pacer::new(opts.bucket_share),
                opts,
                slots,
                stats: ClientStats::default(),
            }),
        })
    }

    /// The configured base URL.
    pub fn base_url(&self) -> &str {
        &self.inner.base
    }

    /// What the client has done so far.
    pub fn stats(&self) -> &ClientStats {
        &self.inner.stats
    }

    /// A pager over every page of `path_and_query` (e.g. `/api/v1/users?limit=200`).
    pub fn pager(&self, path_and_query: &str) -> Pager {
        self.pager_of(path_and_query)
    }

    /// A pager whose items are deserialized as `T`.
    pub fn pager_of<T: serde::de::DeserializeOwned>(&self, path_and_query: &str) -> Pager<T> {
        let first = format!("{}{}", self.inner.base, path_and_query);
        Pager {
            client: self.clone(),
            next: Some(first.clone()),
            first,
            pages: 0,
            seen: std::collections::HashSet::new(),
            linked: true,
            _items: std::marker::PhantomData,
        }
    }

    /// Lists every page of `path_and_query`, calling `on_page` for each.
    pub async fn list<F>(&self, path_and_query: &str, mut on_page: F) -> Result<usize, OktaError>
    where
        F: FnMut(Vec<Value>) -> Result<(), OktaError>,
    {
        let mut pager = self.pager(path_and_query);
        let mut total = 0usize;
        while let Some(items) = pager.next_page().await? {
            total += items.len();
            on_page(items)?;
        }
        Ok(total)
    }

    /// Lists every item of `path_and_query` into one vector.
    pub async fn list_all(&self, path_and_query: &str) -> Result<Vec<Value>, OktaError> {
        let mut all = Vec::new();
        self.list(path_and_query, |items| {
            all.extend(items);
            Ok(())
        })
        .await?;
        Ok(all)
    }

    /// GETs one absolute URL (on the configured origin) and returns its page.
    pub async fn get_page(&self, url: &str) -> Result<Page, OktaError> {
        self.get_page_of(url).await
    }

    /// GETs one absolute URL and deserializes its items as `T`.
    pub async fn get_page_of<T: serde::de::DeserializeOwned>(
        &self,
        url: &str,
    ) -> Result<Page<T>, OktaError> {
        let (bytes, headers) = self.send(reqwest::Method::GET, url, None).await?;
        let path = path_of(url);
        let items: Vec<T> = serde_json::from_slice(&bytes).map_err(|e| OktaError::Body {
            path: path.to_string(),
            message: format!("expected a JSON array of objects: {e}"),
        })?;
        let linked = headers.contains_key(reqwest::header::LINK);
        let links = headers.get_all(reqwest::header::LINK).iter().filter_map(|v| v.to_str().ok());
        let next = link::next_link(links);
        if let Some(next) = &next {
            let origin = link::origin(next).unwrap_or_else(|| next.clone());
            if origin != self.inner.origin {
                return Err(OktaError::ForeignLink { origin, expected: self.inner.origin.clone() });
            }
        }
        Ok(Page { items, next, linked })
    }

    /// GETs one JSON document at `path_and_query` (null when the body is empty).
    pub async fn get_json(&self, path_and_query: &str) -> Result<Value, OktaError> {
        let url = format!("{}{}", self.inner.base, path_and_query);
        let (bytes, _) = self.send(reqwest::Method::GET, &url, None).await?;
        if bytes.is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_slice(&bytes).map_err(|e| OktaError::Body {
            path: path_of(&url).to_string(),
            message: e.to_string(),
        })
    }

    /// Sends `method` with a JSON `body` (or none) to `path_and_query`; returns the JSON answer
    /// (null when the body is empty). Writes are retried like reads: Okta's write endpoints
    /// used here (event hooks) are idempotent or checked by the caller.
    pub async fn send_json(
        &self,
        method: reqwest::Method,
        path_and_query: &str,
        body: Option<&Value>,
    ) -> Result<Value, OktaError> {
        let url = format!("{}{}", self.inner.base, path_and_query);
        let (bytes, _) = self.send(method, &url, body).await?;
        if bytes.is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_slice(&bytes).map_err(|e| OktaError::Body {
            path: path_of(&url).to_string(),
            message: e.to_string(),
        })
    }

    /// Sends one request with pacing and retries; returns the successful body and headers.
    async fn send(
        &self,
        method: reqwest::Method,
        url: &str,
        body: Option<&Value>,
    ) -> Result<(bytes::Bytes, reqwest::header::HeaderMap), OktaError> {
        let inner = &*self.inner;
        let path = path_of(url).to_string();
        let bucket = bucket_of(&path);
        let mut retry_for: Option<String> = None;
        let mut attempt: u32 = 0;
        loop {
            // Pace on the bucket's budget (bounded: each wait ends at a reset).
            for _ in 0..1000 {
                match inner.pacer.acquire(&bucket, Instant::now()) {
                    Permit::Go => break,
                    Permit::Wait(d) => {
                        inner.stats.paced_waits.fetch_add(1, Ordering::Relaxed);
                        tokio::time::sleep(d.min(inner.opts.max_reset_wait)).await;
                    }
                }
            }
            let permit = inner.slots.acquire().await.map_err(|_| OktaError::Network {
                path: path.clone(),
                message: "client is shutting down".into(),
            })?;
            let mut req = inner
                .http
                .request(method.clone(), url)
                .header(reqwest::header::AUTHORIZATION, format!("SSWS {}", inner.token.expose()))
                .header(reqwest::header::ACCEPT, "application/json");
            if let Some(id) = &retry_for {
                req = req.header("X-Okta-Retry-For", id).header("X-Okta-Retry-Count", attempt);
            }
            if let Some(body) = body {
                req = req.json(body);
            } else if method != reqwest::Method::GET {
                req = req.header(reqwest::header::CONTENT_LENGTH, 0);
            }
            inner.stats.requests.fetch_add(1, Ordering::Relaxed);
            let result = req.send().await;
            drop(permit);
            let resp = match result {
                Ok(resp) => resp,
                Err(e) => {
                    inner.pacer.release(&bucket, None, Instant::now());
                    if self.pause_before_retry(&mut attempt).await {
                        continue;
                    }
                    return Err(OktaError::Network { path, message: error_chain(&e) });
                }
            };
            let status = resp.status();
            let headers = resp.headers().clone();
            let rate = RateHeaders::parse(&headers);
            inner.pacer.release(&bucket, rate.filter(|r| r.limit > 0), Instant::now());
            if status.as_u16() == 429 && attempt < inner.opts.max_retries {
                inner.stats.rate_limited.fetch_add(1, Ordering::Relaxed);
                retry_for = headers
                    .get("x-okta-request-id")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string);
                attempt += 1;
                let jitter = Duration::from_millis(fastrand::u64(0..300));
                match rate {
                    // A bucket 429: the whole bucket waits for its reset (capped), then retries.
                    Some(r) if r.limit > 0 => {
                        let wait = r
                            .reset_in
                            .saturating_add(Duration::from_secs(1))
                            .min(inner.opts.max_reset_wait);
                        inner.pacer.exhausted(&bucket, wait + jitter, Instant::now());
                    }
                    // A concurrency 429's reset is only an estimate: back off briefly instead.
                    _ => tokio::time::sleep(self.backoff(attempt) + jitter).await,
                }
                continue;
            }
            if status.is_redirection() {
                let location = headers
                    .get(reqwest::header::LOCATION)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("(no Location header)")
                    .to_string();
                return Err(OktaError::Redirect { status: status.as_u16(), path, location });
            }
            if status.is_server_error() && self.pause_before_retry(&mut attempt).await {
                continue;
            }
            let bytes = match resp.bytes().await {
                Ok(b) => b,
                Err(e) => {
                    if self.pause_before_retry(&mut attempt).await {
                        continue;
                    }
                    return Err(OktaError::Network { path, message: error_chain(&e) });
                }
            };
            if !status.is_success() {
                if status.as_u16() == 429 {
                    inner.stats.rate_limited.fetch_add(1, Ordering::Relaxed);
                }
                return Err(OktaError::Status {
                    method: method.to_string(),
                    status: status.as_u16(),
                    reason: status.canonical_reason().unwrap_or("").to_string(),
                    path,
                    detail: okta_error_detail(&bytes),
                });
            }
            return Ok((bytes, headers));
        }
    }

    /// Counts a retry after a 5xx or network error and sleeps its backoff; false when the
    /// retries are used up.
    async fn pause_before_retry(&self, attempt: &mut u32) -> bool {
        if *attempt >= self.inner.opts.max_retries {
            return false;
        }
        *attempt += 1;
        self.inner.stats.retries.fetch_add(1, Ordering::Relaxed);
        tokio::time::sleep(self.backoff(*attempt)).await;
        true
    }

    fn backoff(&self, attempt: u32) -> Duration {
        let base = self.inner.opts.backoff_base.as_millis() as u64;
        let exp = base.saturating_mul(1u64 << attempt.min(10)).min(10_000);
        Duration::from_millis(exp / 2 + fastrand::u64(0..=exp / 2))
    }
}

/// `: E0000006 You do not have permission…` from an Okta error body, or empty.
fn okta_error_detail(body: &[u8]) -> String {
    let Ok(v) = serde_json::from_slice::<Value>(body) else { return String::new() };
    let code = v.get("errorCode").and_then(Value::as_str).unwrap_or("");
    let summary = v.get("errorSummary").and_then(Value::as_str).unwrap_or("");
    match (code.is_empty(), summary.is_empty()) {
        (true, true) => String::new(),
        _ => format!(": {code} {summary}").trim_end().to_string(),
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(inner) = src {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        src = inner.source();
    }
    s
}

/// The path and query of an absolute URL (what may appear in errors and logs).
fn path_of(url: &str) -> &str {
    match url.split_once("://") {
        Some((_, rest)) => rest.find('/').map_or("/", |i| &rest[i..]),
        None => url,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_detail_reads_okta_error_bodies() {
        let body = br#"{"errorCode":"E0000006","errorSummary":"You do not have permission to perform the requested action","errorLink":"E0000006","errorId":"oae1","errorCauses":[]}"#;
        assert_eq!(
            okta_error_detail(body),
            ": E0000006 You do not have permission to perform the requested action"
        );
        assert_eq!(okta_error_detail(b""), "");
        assert_eq!(okta_error_detail(b"<html>"), "");
    }

    #[test]
    fn path_of_strips_origin() {
        assert_eq!(path_of("https://x.okta.com/api/v1/users?limit=2"), "/api/v1/users?limit=2");
        assert_eq!(path_of("http://127.0.0.1:1"), "/");
    }

    #[test]
    fn debug_never_shows_the_token() {
        let c =
            OktaClient::new("http://127.0.0.1:9", Secret::new("tok-123"), ClientOptions::default())
                .unwrap();
        assert!(!format!("{c:?}").contains("tok-123"));
    }
}
