//! # okta-sim: a faithful Okta org simulator
//!
//! An axum server over an in-memory directory that behaves like an Okta org's Management API
//! closely enough that Okta's own SDKs, this project's client, its tests, benchmarks and demo
//! can run against it. It is written from the API research notes (`spec/okta-api.md`), **not**
//! from the client's code: it has its own wire types, so the client and the simulator cannot
//! silently agree on the same mistake.
//!
//! ## Design
//!
//! * **Data** ([`SimConfig`]): a deterministic org from a seed (users of all eight statuses with
//!   realistic profiles, `managerId` as an Okta id or sometimes the manager's login, custom
//!   attributes; BUILT_IN *Everyone*, OKTA_GROUPs with a few huge and many small groups,
//!   APP_GROUPs imported from AD; apps with user and group assignments), or one loaded from an
//!   export document. Ids are 20 characters with Okta's prefixes; timestamps are
//!   `YYYY-MM-DDTHH:MM:SS.mmmZ`.
//! * **Keyset pagination**: objects live in `BTreeMap`s keyed by id, lists resume strictly after
//!   the `after` id, so objects created or deleted mid-crawl behave as with Okta. `Link` headers
//!   are absolute, one line each for `self` and `next`, and `next` keeps the original query.
//! * **Speed**: each user's collection JSON is serialized once and cached (reset on mutation), so a
//!   page of 200 users is mostly a memcpy. Locks are `std` locks never held across `.await`.
//! * **Gate** (one middleware for every request): `X-Okta-Request-Id` and `Date` on every
//!   response; the org-wide concurrency cap (429 with `X-Rate-Limit-Limit: 0`); per-family
//!   per-minute buckets ([`Family`]) with a 60 s window from its first request and
//!   `X-Rate-Limit-Limit/Remaining/Reset`; SSWS auth (401 E0000011); injected faults; latency;
//!   statistics.
//! * **Events**: every API mutation writes a System Log `LogEvent` (with `transaction.id` = the
//!   request id) and, when hook-eligible, queues it for delivery to every ACTIVE+VERIFIED hook
//!   subscribed to its type (async, 3 s timeout, one retry on timeout/5xx, optional delivery
//!   faults). See `delivery`.
//!
//! ## Control endpoints (no token)
//!
//! * `GET /__sim/export`: the whole org:
//!   ```json
//!   {"users": [<user>…],            // full Okta user objects (collection form, `_links.self`),
//!                                   // ALL statuses including DEPROVISIONED, ordered by id
//!    "groups": [<group>…],          // Okta group objects incl. Everyone, ordered by id
//!    "memberships": {"<groupId>": ["<userId>", …]},   // every group, Everyone included
//!    "apps": [<app>…],              // Okta app objects in list order
//!    "appAssignments": {"<appId>": ["<userId>", …]},  // users assigned directly or via a group
//!    "appGroupAssignments": {"<appId>": ["<groupId>", …]}}
//!   ```
//!   The same document is accepted by `--from FILE` / [`SimConfig::org`].
//! * `GET /__sim/stats`, `POST /__sim/stats/reset`: [`StatsSnapshot`].
//! * `GET|POST|DELETE /__sim/faults`: [`Faults`], e.g.
//!   ```json
//!   {"rules": [
//!      {"family": "list_users", "nth": 3, "status": 403},
//!      {"family": "list_users", "nth": 2, "count": 10, "status": 500},
//!      {"family": "*", "rate": 0.05, "status": 503},
//!      {"family": "groups", "nth": 2, "action": "reset"},
//!      {"family": "get_user", "action": "slow", "delayMs": 500},
//!      {"family": "list_users", "nth": 2, "action": "emptyWithNext"},
//!      {"family": "list_users", "action": "hide", "ids": ["00u1"]},
//!      {"path": "/api/v1/groups/00g1/users", "family": "groups", "action": "vanish"}],
//!    "seed": 7,
//!    "delivery": {"duplicate": 0.0, "drop": 0.0, "delayMs": 0, "reorder": false},
//!    "emptyLastPage": false}
//!   ```
//!   Families: `list_users`, `get_user`, `user_write`, `groups`, `group_by_id`, `apps`,
//!   `app_by_id`, `logs`, `other`, or `*`; `path` narrows a rule to one path. `nth` counts
//!   matching requests from when the rules were set (`count` consecutive ones fail). `rate`
//!   draws are deterministic: a hash of `seed`, the rule, the method, the URL and how often that
//!   URL was asked, so the same requests fail in every run. Actions: `status` (Okta's error
//!   body), `reset` (headers, then the connection breaks), `slow`, the page faults
//!   `emptyWithNext` / `empty` / `noLink` / `cycle` / `hide`, `vanish` (the group or user in the
//!   path is deleted just before the request is served), `redirect` (302 to `location`) and
//!   `hold` (the request waits until the faults are replaced: a test can pause a client at an
//!   exact request).
//!   `emptyLastPage` gives the last page of id-keyed listings a `next` link to an empty page.
//! * `POST /__sim/ratelimits/reset`: starts every rate-limit window afresh.
//!
//! ## Binary
//!
//! ```text
//! okta-sim --listen 127.0.0.1:0 --users 500 --groups 40 --apps 8 --seed 42 --token T \
//!          [--from export.json] [--base-url https://acme.okta.example] \
//!          [--rate-limit-scale 0.01] [--latency-ms 20] [--concurrency-limit 75] \
//!          [--hook-timeout-ms 3000] [--hook-daily-cap 400000] [--search-lag-ms 0] \
//!          [--faults '<JSON of POST /__sim/faults>'] \
//!          [--error-rate 0.05] [--reset-rate 0.01] [--slow-ms 200]
//! ```
//! The first stdout line is `listening on http://127.0.0.1:PORT`; it serves until SIGINT or
//! SIGTERM, then shuts down cleanly (exit status 0).
//!
//! ## Library use
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! let sim = okta_sim::spawn(okta_sim::SimConfig::default(), "127.0.0.1:0".parse()?).await?;
//! let url = sim.base_url(); // http://127.0.0.1:PORT
//! # let _ = url;
//! let export = sim.export();
//! # let _ = export;
//! sim.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! ## Known gaps
//!
//! No OAuth/DPoP (SSWS only), no per-token 50% share, search-index lag only for newly created objects, no asynchronous
//! `transitioningToStatus`, no hook activation lag, apps are read-only.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context;
use serde_json::Value;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

mod api;
mod delivery;
mod generate;
mod model;
mod query;
mod state;
mod util;

pub use state::{DeliveryFaults, Family, FaultRule, Faults, SimState, StatsSnapshot};
pub use util::{ApiError, ApiResult};

/// Simulator configuration. `Default` gives a small org (50 users, 10 groups, 5 apps).
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Number of users to generate.
    pub users: usize,
    /// Number of groups to generate, the BUILT_IN Everyone group included.
    pub groups: usize,
    /// Number of apps to generate.
    pub apps: usize,
    /// Seed of the deterministic generator.
    pub seed: u64,
    /// The API token accepted as `Authorization: SSWS <token>`.
    pub token: String,
    /// Multiplies every rate-limit bucket (e.g. 0.01 to hit limits with few requests);
    /// `0` or less disables rate limiting, and responses then carry no `X-Rate-Limit-*` headers
    /// (the concurrency cap's 429 still reports `X-Rate-Limit-Limit: 0`).
    pub rate_limit_scale: f64,
    /// Latency added to every API request, in milliseconds.
    pub latency_ms: u64,
    /// Org-wide cap of in-flight API requests (Okta: 75); 0 disables it.
    pub concurrency_limit: usize,
    /// Timeout of each hook verification/delivery attempt (Okta: 3000 ms).
    pub hook_timeout_ms: u64,
    /// Lag of the eventually consistent `search` index: users and groups created less than this
    /// many ms ago are not yet returned by `search` (plain lists and `filter` see them at once).
    /// Okta: typically under 1 s; default 0. Updates of existing objects are not lagged.
    pub search_lag_ms: u64,
    /// Hook-eligible events delivered per 24 h before hooks stop firing (Okta: 400,000).
    pub hook_daily_cap: u64,
    /// Initial fault configuration.
    pub faults: Faults,
    /// Load this export document instead of generating an org.
    pub org: Option<Value>,
    /// Org base URL for `Link` headers and `_links` (default: `http://<bound address>`).
    pub base_url: Option<String>,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            users: 50,
            groups: 10,
            apps: 5,
            seed: 42,
            token: "sim-token".into(),
            rate_limit_scale: 1.0,
            latency_ms: 0,
            concurrency_limit: 75,
            hook_timeout_ms: 3000,
            hook_daily_cap: 400_000,
            search_lag_ms: 0,
            faults: Faults::default(),
            org: None,
            base_url: None,
        }
    }
}

fn build_org(config: &SimConfig) -> anyhow::Result<model::Org> {
    match &config.org {
        Some(doc) => model::Org::load(doc, config.seed),
        None => Ok(generate::generate(config.users, config.groups, config.apps, config.seed)),
    }
}

/// An org generated (or loaded) without serving it: for benchmarks and export comparisons.
#[derive(Debug)]
pub struct GeneratedOrg(model::Org);

impl GeneratedOrg {
    /// Number of users (all statuses).
    pub fn users(&self) -> usize {
        self.0.users.len()
    }
    /// Number of groups (Everyone included).
    pub fn groups(&self) -> usize {
        self.0.groups.len()
    }
    /// Number of group memberships (Everyone included).
    pub fn memberships(&self) -> usize {
        self.0.members.values().map(|s| s.len()).sum()
    }
    /// The export document, with links on `base_url`.
    pub fn export(&self, base_url: &str) -> Value {
        self.0.export(base_url)
    }
}

/// Generates (or, with [`SimConfig::org`], loads) the org of a config without serving it.
pub fn generate(config: &SimConfig) -> anyhow::Result<GeneratedOrg> {
    build_org(config).map(GeneratedOrg)
}

/// Builds a state and router without binding a socket (for `tower::ServiceExt::oneshot`-style
/// tests). Event hook deliveries need [`spawn`]: here queued events are simply dropped.
pub fn router_for(config: SimConfig, base_url: &str) -> anyhow::Result<(SimState, axum::Router)> {
    let org = build_org(&config)?;
    let (tx, _rx) = mpsc::unbounded_channel();
    let st = SimState::new(config, base_url.to_owned(), org, tx);
    Ok((st.clone(), router(st)))
}

/// The full router over a state.
pub fn router(state: SimState) -> axum::Router {
    api::router(state)
}

/// A running simulator. Stop it with [`SimHandle::shutdown`]; dropping it aborts its tasks.
#[derive(Debug)]
pub struct SimHandle {
    addr: SocketAddr,
    state: SimState,
    stop: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<()>>,
    worker: Option<JoinHandle<()>>,
}

/// Starts a simulator on `addr` (use port 0 for an ephemeral port).
pub async fn spawn(config: SimConfig, addr: SocketAddr) -> anyhow::Result<SimHandle> {
    let listener =
        tokio::net::TcpListener::bind(addr).await.with_context(|| format!("binding {addr}"))?;
    let local = listener.local_addr()?;
    let base = config.base_url.clone().unwrap_or_else(|| format!("http://{local}"));
    let cfg = config.clone();
    let org = tokio::task::spawn_blocking(move || build_org(&cfg))
        .await
        .context("org generation panicked")??;
    let (tx, rx) = mpsc::unbounded_channel();
    let state = SimState::new(config, base, org, tx);
    let worker = tokio::spawn(delivery::run(state.clone(), rx));
    let app = api::router(state.clone());
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = stop_rx.await;
            })
            .await;
    });
    Ok(SimHandle {
        addr: local,
        state,
        stop: Some(stop_tx),
        server: Some(server),
        worker: Some(worker),
    })
}

impl SimHandle {
    /// The org base URL, e.g. `http://127.0.0.1:40123`.
    pub fn base_url(&self) -> String {
        self.state.base_url().to_owned()
    }
    /// The bound socket address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
    /// The shared state (stats, faults, export).
    pub fn state(&self) -> &SimState {
        &self.state
    }
    /// The export document (see the crate docs).
    pub fn export(&self) -> Value {
        self.state.export()
    }
    /// A statistics snapshot.
    pub fn stats(&self) -> StatsSnapshot {
        self.state.stats()
    }
    /// Clears statistics.
    pub fn reset_stats(&self) {
        self.state.reset_stats();
    }
    /// Replaces the fault configuration.
    pub fn set_faults(&self, faults: Faults) {
        self.state.set_faults(faults);
    }
    /// Stops the server (in-flight requests get up to 5 s) and every background delivery task.
    pub async fn shutdown(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(mut server) = self.server.take()
            && tokio::time::timeout(Duration::from_secs(5), &mut server).await.is_err()
        {
            server.abort();
            let _ = server.await;
        }
        if let Some(w) = self.worker.take() {
            w.abort();
            let _ = w.await;
        }
    }
}

impl Drop for SimHandle {
    fn drop(&mut self) {
        if let Some(s) = self.server.take() {
            s.abort();
        }
        if let Some(w) = self.worker.take() {
            w.abort();
        }
    }
}
