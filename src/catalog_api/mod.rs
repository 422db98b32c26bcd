//! `port-okta catalog serve`: the subset of Port's REST API that Ocean and port-okta's Port
//! client use, over the embedded SQLite catalog.
//!
//! Writes go through [`SqliteCatalog`], so entities follow the same rules as a direct sync (merge,
//! missing related entities, `delete_dependents`, blueprint validation; each entity of a bulk is
//! written whole or refused whole). What the [`Catalog`](crate::catalog::Catalog) interface does
//! not offer — searches, the datasource search, blueprints by id, integration objects, examples —
//! is read on the server's own connection ([`store`]).
//!
//! Endpoints (all under `/v1`, all but the token needing `Authorization: Bearer <token>`):
//! `POST auth/access_token`; `GET|POST blueprints`, `GET|PATCH|PUT blueprints/{id}`;
//! `POST blueprints/{bp}/entities` (single upsert), `POST blueprints/{bp}/entities/bulk`,
//! `GET|DELETE blueprints/{bp}/entities/{id}`, `POST blueprints/{bp}/bulk/entities/delete`,
//! `POST blueprints/entities/datasource-entities`, `POST entities/search`;
//! `GET organization`; `GET integration/provision-enabled`, `POST integration`,
//! `GET|PATCH integration/{id}`, `PATCH integration/{id}/config`,
//! `PATCH integration/{id}/resync-state`, `GET|POST integration/{id}/resync-request` (POST:
//! the resync button, an extension),
//! `POST|GET integration/{id}/kinds/{kind}/examples`; and the metrics and logs ingest URLs the
//! integration object names (`/__ingest/…`, accepted and counted).
//!
//! Errors are Port's shape, `{"ok": false, "error": "<code>", "message": "<text>"}`: 400
//! `invalid_request` (bad JSON, a bad query), 401 `unauthorized`, 404 `not_found`, 409
//! `identifier_taken`, 413 `payload_too_large`, 422 for an entity its blueprint refuses. A bulk
//! upsert answers 200, or 207 when some entities were refused (each in `errors` with its index).
//!
//! Tests inject faults with [`ServeHandle::set_faults`]: rules that name the route and the
//! exact request (the nth matching one, for `times` requests) that fails — no randomness.

mod entities;
mod integration;
pub mod search;
pub mod store;

use crate::catalog::sqlite::SqliteCatalog;
use crate::port::wire::{ErrorBody, TokenAnswer, TokenRequest};
use crate::secret::Secret;
use axum::extract::{FromRequest, MatchedPath, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, patch, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use store::Store;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// How `catalog serve` runs.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    /// The SQLite catalog file.
    pub catalog: PathBuf,
    /// The one accepted client id.
    pub client_id: String,
    /// Its secret.
    pub client_secret: Secret,
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// How long an access token lives.
    pub token_ttl: Duration,
}

impl ServeConfig {
    /// Defaults: 10 MiB bodies, tokens valid for an hour.
    pub fn new(catalog: PathBuf, client_id: &str, client_secret: Secret) -> Self {
        Self {
            catalog,
            client_id: client_id.to_string(),
            client_secret,
            max_body_bytes: 10 << 20,
            token_ttl: Duration::from_secs(3600),
        }
    }
}

/// A fault rule: the `nth` request (1-based, counted from when the rules were set) matching
/// `route` and, for `times` requests from it, answers `status` (with `Retry-After` /
/// `x-ratelimit-reset` when given) — or, with `expire_tokens`, invalidates every token first and
/// then serves the request normally (so it gets a 401).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FaultRule {
    /// A route name (`token`, `bulk_upsert`, `upsert`, `bulk_delete`, `delete`, `search`,
    /// `datasource_search`, `blueprints`, `integration`, `resync_state`, `examples`,
    /// `organization`, `ingest`) or `*`.
    pub route: String,
    /// The first matching request that fails (1-based).
    #[serde(default = "one")]
    pub nth: u64,
    /// How many consecutive matching requests fail (0: every one from `nth` on).
    #[serde(default = "one")]
    pub times: u64,
    /// The status answered.
    #[serde(default = "unavailable")]
    pub status: u16,
    /// A `Retry-After` header.
    #[serde(default)]
    pub retry_after: Option<String>,
    /// An `x-ratelimit-reset` header.
    #[serde(default)]
    pub ratelimit_reset: Option<String>,
    /// Invalidate every token instead of answering `status`.
    #[serde(default)]
    pub expire_tokens: bool,
}

fn one() -> u64 {
    1
}
fn unavailable() -> u16 {
    503
}

/// An entity every bulk or single upsert refuses (by identifier), with this status and message.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RejectRule {
    /// The identifier refused.
    pub identifier: String,
    /// The status in the entity's error.
    #[serde(default = "unprocessable")]
    pub status: u16,
    /// The message.
    pub message: String,
}

fn unprocessable() -> u16 {
    422
}

/// Every injected fault.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Faults {
    /// Request faults.
    #[serde(default)]
    pub rules: Vec<FaultRule>,
    /// Entity refusals.
    #[serde(default)]
    pub reject: Vec<RejectRule>,
}

#[derive(Debug, Default)]
struct FaultState {
    faults: Faults,
    seen: Vec<u64>,
}

/// A Port-style error.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self { status, code, message: message.into() }
    }
    fn bad(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", message)
    }
    fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }
    fn internal(message: impl std::fmt::Display) -> Self {
        tracing::error!(error = %message, "catalog serve failed a request");
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal_error", message.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody { ok: false, error: self.code.to_string(), message: self.message };
        (self.status, Json(body)).into_response()
    }
}

type ApiResult<T> = Result<T, ApiError>;

/// A JSON request body, with Port-style errors for a body that is too large or not JSON.
pub struct Body(pub Value);

impl<S: Send + Sync> FromRequest<S> for Body {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let bytes = axum::body::Bytes::from_request(req, state).await.map_err(|r| {
            if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::new(
                    r.status(),
                    "payload_too_large",
                    "the request body is over the size limit",
                )
            } else {
                ApiError::bad(format!("the request body could not be read: {}", r.body_text()))
            }
        })?;
        serde_json::from_slice(&bytes)
            .map(Body)
            .map_err(|e| ApiError::bad(format!("the request body is not valid JSON: {e}")))
    }
}

/// Shared server state.
#[derive(Clone)]
pub(crate) struct AppState(Arc<Inner>);

pub(crate) struct Inner {
    catalog: SqliteCatalog,
    store: Arc<Mutex<Store>>,
    config: ServeConfig,
    tokens: Mutex<HashMap<String, Instant>>,
    faults: Mutex<FaultState>,
    stats: Mutex<BTreeMap<String, u64>>,
    in_flight: std::sync::atomic::AtomicU64,
    /// The blueprints as last read, and when (cleared by every blueprint write through this
    /// server).
    blueprints: Mutex<Option<(Instant, Arc<crate::catalog::rules::Blueprints>)>>,
}

impl std::ops::Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl AppState {
    /// Runs `f` on the server's connection off the async threads.
    async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Store) -> Result<T, String> + Send + 'static,
    ) -> ApiResult<T> {
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || f(&store.lock().unwrap_or_else(|e| e.into_inner())))
            .await
            .map_err(ApiError::internal)?
            .map_err(ApiError::internal)
    }

    fn count(&self, key: &str, n: u64) {
        *self
            .stats
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(key.to_string())
            .or_default() += n;
    }

    fn reject_rule(&self, identifier: &str) -> Option<RejectRule> {
        let f = self.faults.lock().unwrap_or_else(|e| e.into_inner());
        f.faults.reject.iter().find(|r| r.identifier == identifier).cloned()
    }
}

/// A running server; dropping it stops it.
pub struct ServeHandle {
    addr: SocketAddr,
    state: AppState,
    stop: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for ServeHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServeHandle").field("addr", &self.addr).finish_non_exhaustive()
    }
}

impl ServeHandle {
    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://ADDR`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Replaces the injected faults (and restarts their request counts).
    pub fn set_faults(&self, faults: Faults) {
        let mut f = self.state.faults.lock().unwrap_or_else(|e| e.into_inner());
        f.seen = vec![0; faults.rules.len()];
        f.faults = faults;
    }

    /// Requests per route so far, plus `entities_upserted`, `entities_deleted` and
    /// `bulk_upsert_max_in_flight`.
    pub fn stats(&self) -> BTreeMap<String, u64> {
        self.state.stats.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// A stored integration object.
    pub fn integration(&self, id: &str) -> Option<Value> {
        self.state.store.lock().unwrap_or_else(|e| e.into_inner()).integration(id).ok().flatten()
    }

    /// Stops the server and waits for it.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(server) = self.server.take() {
            let _ = server.await;
        }
    }
}

impl Drop for ServeHandle {
    fn drop(&mut self) {
        if let Some(server) = self.server.take() {
            server.abort();
        }
    }
}

/// Opens the catalog and starts serving on `addr` (port 0 for an ephemeral port).
pub async fn spawn(config: ServeConfig, addr: SocketAddr) -> anyhow::Result<ServeHandle> {
    use anyhow::Context;
    let catalog = SqliteCatalog::open(&config.catalog)?;
    let store = Store::open(&config.catalog).map_err(anyhow::Error::msg)?;
    let listener =
        tokio::net::TcpListener::bind(addr).await.with_context(|| format!("binding {addr}"))?;
    let local = listener.local_addr()?;
    let state = AppState(Arc::new(Inner {
        catalog,
        store: Arc::new(Mutex::new(store)),
        config,
        tokens: Mutex::new(HashMap::new()),
        faults: Mutex::new(FaultState::default()),
        stats: Mutex::new(BTreeMap::new()),
        in_flight: std::sync::atomic::AtomicU64::new(0),
        blueprints: Mutex::new(None),
    }));
    let app = router(state.clone());
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = stop_rx.await;
            })
            .await;
    });
    tracing::info!(addr = %local, "catalog serve listening");
    Ok(ServeHandle { addr: local, state, stop: Some(stop_tx), server: Some(server) })
}

fn router(state: AppState) -> Router {
    let limit = state.config.max_body_bytes;
    let v1 = Router::new()
        .route("/blueprints", get(entities::list_blueprints).post(entities::create_blueprint))
        .route(
            "/blueprints/{bp}",
            get(entities::get_blueprint)
                .patch(entities::patch_blueprint)
                .put(entities::put_blueprint),
        )
        .route("/blueprints/{bp}/entities", post(entities::upsert_one))
        .route("/blueprints/{bp}/entities/bulk", post(entities::upsert_bulk))
        .route(
            "/blueprints/{bp}/entities/{id}",
            get(entities::get_one).delete(entities::delete_one),
        )
        .route("/blueprints/{bp}/bulk/entities/delete", post(entities::delete_bulk))
        .route("/blueprints/entities/datasource-entities", post(entities::datasource_search))
        .route("/entities/search", post(entities::search))
        .route("/organization", get(integration::organization))
        .route("/integration", post(integration::create))
        .route("/integration/provision-enabled", get(integration::provision_enabled))
        .route("/integration/{id}", get(integration::get_one).patch(integration::patch))
        .route("/integration/{id}/config", patch(integration::patch_config))
        .route("/integration/{id}/resync-state", patch(integration::resync_state))
        .route(
            "/integration/{id}/resync-request",
            get(integration::resync_request).post(integration::request_resync),
        )
        .route(
            "/integration/{id}/kinds/{kind}/examples",
            post(integration::post_examples).get(integration::get_examples),
        )
        .layer(axum::middleware::from_fn_with_state(state.clone(), auth))
        .route("/auth/access_token", post(token));
    Router::new()
        .nest("/v1", v1)
        .route("/__ingest/{*rest}", any(integration::ingest))
        .fallback(|| async { ApiError::not_found("no such route") })
        .layer(axum::middleware::from_fn_with_state(state.clone(), faults))
        .layer(axum::extract::DefaultBodyLimit::max(limit))
        .with_state(state)
}

/// The route name fault rules and statistics use.
fn route_name(method: &axum::http::Method, path: &str) -> &'static str {
    use axum::http::Method;
    match (method, path) {
        (_, "/v1/auth/access_token") => "token",
        (_, "/v1/blueprints/{bp}/entities/bulk") => "bulk_upsert",
        (&Method::POST, "/v1/blueprints/{bp}/entities") => "upsert",
        (_, "/v1/blueprints/{bp}/bulk/entities/delete") => "bulk_delete",
        (&Method::DELETE, "/v1/blueprints/{bp}/entities/{id}") => "delete",
        (_, "/v1/entities/search") => "search",
        (_, "/v1/blueprints/entities/datasource-entities") => "datasource_search",
        (_, p) if p.starts_with("/v1/blueprints") => "blueprints",
        (_, "/v1/integration/{id}/resync-state") => "resync_state",
        (_, "/v1/integration/{id}/kinds/{kind}/examples") => "examples",
        (_, p) if p.starts_with("/v1/integration") => "integration",
        (_, "/v1/organization") => "organization",
        (_, p) if p.starts_with("/__ingest") => "ingest",
        _ => "other",
    }
}

async fn faults(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let path = req.extensions().get::<MatchedPath>().map(|p| p.as_str().to_string());
    let route = route_name(req.method(), path.as_deref().unwrap_or(req.uri().path()));
    state.count(route, 1);
    let fired = {
        let mut f = state.faults.lock().unwrap_or_else(|e| e.into_inner());
        let FaultState { faults, seen } = &mut *f;
        let mut fired = None;
        for (i, rule) in faults.rules.iter().enumerate() {
            if rule.route != "*" && rule.route != route {
                continue;
            }
            seen[i] += 1;
            let n = seen[i];
            let hit = n >= rule.nth && (rule.times == 0 || n < rule.nth + rule.times);
            if hit && fired.is_none() {
                fired = Some(rule.clone());
            }
        }
        fired
    };
    let Some(rule) = fired else {
        if route != "bulk_upsert" {
            return next.run(req).await;
        }
        // The most bulk upserts served at once, to check clients' concurrency bounds.
        let guard = InFlight::enter(&state.in_flight);
        {
            let mut stats = state.stats.lock().unwrap_or_else(|e| e.into_inner());
            let max = stats.entry("bulk_upsert_max_in_flight".into()).or_default();
            *max = (*max).max(guard.now);
        }
        let resp = next.run(req).await;
        drop(guard);
        return resp;
    };
    tracing::debug!(
        route,
        status = rule.status,
        expire_tokens = rule.expire_tokens,
        "injected fault"
    );
    if rule.expire_tokens {
        state.tokens.lock().unwrap_or_else(|e| e.into_inner()).clear();
        return next.run(req).await;
    }
    let status = StatusCode::from_u16(rule.status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
    let mut resp = ApiError::new(status, "injected_fault", format!("injected fault on {route}"))
        .into_response();
    for (name, value) in
        [("retry-after", &rule.retry_after), ("x-ratelimit-reset", &rule.ratelimit_reset)]
    {
        if let Some(v) = value.as_deref().and_then(|v| HeaderValue::from_str(v).ok()) {
            resp.headers_mut().insert(name, v);
        }
    }
    resp
}

/// A request counted as in flight until it is dropped (answered or cancelled).
struct InFlight<'a> {
    counter: &'a std::sync::atomic::AtomicU64,
    now: u64,
}

impl<'a> InFlight<'a> {
    fn enter(counter: &'a std::sync::atomic::AtomicU64) -> Self {
        let now = counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
        Self { counter, now }
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.counter.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
    }
}

async fn auth(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let token = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_string);
    let valid = token.is_some_and(|t| {
        let mut tokens = state.tokens.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        tokens.retain(|_, exp| *exp > now);
        tokens.contains_key(&t)
    });
    if !valid {
        return ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "a valid access token is required (POST /v1/auth/access_token)",
        )
        .into_response();
    }
    next.run(req).await
}

async fn token(State(state): State<AppState>, Body(body): Body) -> ApiResult<Json<Value>> {
    let req: TokenRequest = serde_json::from_value(body)
        .map_err(|e| ApiError::bad(format!("expected {{clientId, clientSecret}}: {e}")))?;
    let ok = req.client_id == state.config.client_id
        && state.config.client_secret.constant_time_eq(req.client_secret.as_bytes());
    if !ok {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "unknown client id or secret",
        ));
    }
    let mut bytes = [0u8; 24];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut bytes).map_err(|_| {
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "no randomness")
    })?;
    let token: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let ttl = state.config.token_ttl;
    state
        .tokens
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(token.clone(), Instant::now() + ttl);
    let answer =
        TokenAnswer { access_token: token, expires_in: ttl.as_secs(), token_type: "Bearer".into() };
    Ok(Json(json!(answer)))
}

/// The datasource of a request's writes, from its User-Agent.
fn datasource(headers: &HeaderMap) -> String {
    let ua = headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()).unwrap_or_default();
    crate::port::wire::datasource_of_user_agent(ua)
}
