//! Shared simulator state: the directory, the System Log, event hooks, rate-limit buckets,
//! fault rules and statistics.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio::sync::mpsc;

use crate::SimConfig;
use crate::model::{Hook, Org};
use crate::util::{fmt_ms, now_ms, uuid4};

/// Endpoint families: the unit of rate limiting, fault targeting and statistics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Family {
    /// `GET`/`POST /api/v1/users` (list and create): 600/min.
    ListUsers,
    /// `GET /api/v1/users/{idOrLogin}`: 2000/min.
    GetUser,
    /// `POST`/`PUT`/`DELETE /api/v1/users/{id}` and lifecycle operations: 600/min.
    UserWrite,
    /// `/api/v1/groups` and its sub-resources except `/groups/{id}`: 500/min.
    Groups,
    /// `/api/v1/groups/{id}`: 1000/min.
    GroupById,
    /// `/api/v1/apps` and `/api/v1/apps/{id}/*`: 100/min.
    Apps,
    /// `/api/v1/apps/{id}`: 500/min.
    AppById,
    /// `/api/v1/logs`: 120/min.
    Logs,
    /// Everything else under `/api/v1` (event hooks, `/users/{id}/groups`, appLinks): 1200/min.
    Other,
    /// `/__sim/*` control endpoints: never rate limited, never faulted.
    Sim,
}

impl Family {
    /// All families that carry a rate limit.
    pub const LIMITED: [Family; 9] = [
        Family::ListUsers,
        Family::GetUser,
        Family::UserWrite,
        Family::Groups,
        Family::GroupById,
        Family::Apps,
        Family::AppById,
        Family::Logs,
        Family::Other,
    ];

    /// Stable snake_case name, used in stats and fault rules.
    pub fn name(self) -> &'static str {
        match self {
            Family::ListUsers => "list_users",
            Family::GetUser => "get_user",
            Family::UserWrite => "user_write",
            Family::Groups => "groups",
            Family::GroupById => "group_by_id",
            Family::Apps => "apps",
            Family::AppById => "app_by_id",
            Family::Logs => "logs",
            Family::Other => "other",
            Family::Sim => "sim",
        }
    }

    /// Okta Workforce default requests per minute.
    pub fn base_limit(self) -> u64 {
        match self {
            Family::ListUsers | Family::UserWrite => 600,
            Family::GetUser => 2000,
            Family::Groups | Family::AppById => 500,
            Family::GroupById => 1000,
            Family::Apps => 100,
            Family::Logs => 120,
            Family::Other => 1200,
            Family::Sim => u64::MAX,
        }
    }

    /// Classifies a request by method and path.
    pub fn classify(method: &str, path: &str) -> Family {
        let Some(rest) = path.strip_prefix("/api/v1/") else {
            return if path.starts_with("/__sim") { Family::Sim } else { Family::Other };
        };
        let segs: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
        match segs.as_slice() {
            ["users"] => Family::ListUsers,
            ["users", _] if method == "GET" => Family::GetUser,
            ["users", _] | ["users", _, "lifecycle", ..] => Family::UserWrite,
            ["groups", _] => Family::GroupById,
            ["groups", ..] => Family::Groups,
            ["apps", _] => Family::AppById,
            ["apps", ..] => Family::Apps,
            ["logs", ..] => Family::Logs,
            _ => Family::Other,
        }
    }

    fn index(self) -> usize {
        Family::LIMITED.iter().position(|f| *f == self).unwrap_or(0)
    }
}

/// Rate-limit verdict for one request.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RateInfo {
    pub limit: u64,
    pub remaining: u64,
    pub reset_s: i64,
    pub allowed: bool,
    /// Rate limiting is off (`rate_limit_scale` 0): nothing to report in headers.
    pub unlimited: bool,
}

#[derive(Debug, Default, Clone, Copy)]
struct Bucket {
    start_ms: i64,
    count: u64,
}

/// One fault rule (see the crate docs for the JSON form).
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct FaultRule {
    /// Endpoint family name (`list_users`, `groups`, …) or `*` for all `/api/v1` families.
    pub family: String,
    /// Only requests to exactly this path (no query), e.g. `/api/v1/groups/00g1/users`.
    pub path: Option<String>,
    /// Fire on the k-th matching request (1-based) counted from when the rules were set.
    pub nth: Option<u64>,
    /// With `nth`: fire on this many consecutive matching requests from the k-th (default 1),
    /// so that a client's retries of that request fail too.
    pub count: Option<u64>,
    /// Fire with this probability (0..=1) on each matching request. The draw is a hash of the
    /// fault seed, the rule, the request's method and URL and how many times that URL was
    /// requested: the same requests fail in every run, whatever order they arrive in.
    pub rate: Option<f64>,
    /// What happens (default `status`):
    /// - `status`: Okta's error for `status` (default 500);
    /// - `reset`: headers, then the connection breaks;
    /// - `slow`: `delayMs` more latency;
    /// - `emptyWithNext`: a 200 `[]` page that keeps its `Link` headers (`next` included);
    /// - `empty`: a 200 `[]` page with only a `self` link (a listing that looks complete);
    /// - `noLink`: the page without any `Link` header;
    /// - `cycle`: the page's `next` points back to the listing's first page;
    /// - `hide`: the objects whose `id` is in `ids` are left out of the page;
    /// - `vanish`: the group or user the path names is deleted just before the request is served;
    /// - `redirect`: a 302 to `location`;
    /// - `hold`: the request waits until the fault configuration is replaced (at most 120 s),
    ///   then is served: a test can stop a client mid-run at an exact request.
    pub action: Option<String>,
    /// Object ids for `hide`.
    pub ids: Vec<String>,
    /// Target for `redirect`.
    pub location: Option<String>,
    /// HTTP status for `status` faults; the body is Okta's error for that status.
    pub status: Option<u16>,
    /// Extra latency for `slow` faults.
    pub delay_ms: Option<u64>,
    /// Only requests with this HTTP method (any when absent).
    pub method: Option<String>,
}

/// Event-hook delivery faults.
#[derive(Debug, Clone, Serialize, Deserialize, Default, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct DeliveryFaults {
    /// Probability of sending a delivery twice (same `eventId`).
    pub duplicate: f64,
    /// Probability of silently dropping a delivery (no attempt at all).
    pub drop: f64,
    /// Delay before each delivery.
    pub delay_ms: u64,
    /// Swap consecutive deliveries pairwise: the first event is held until the next arrives
    /// (or 2 s pass), then the later one is sent first.
    pub reorder: bool,
}

/// The full fault configuration, as posted to `POST /__sim/faults`.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct Faults {
    /// Request fault rules, checked in order; the first that fires wins.
    pub rules: Vec<FaultRule>,
    /// Hook delivery faults.
    pub delivery: DeliveryFaults,
    /// Give the last page of id-keyed listings (users, groups, members, a user's groups) a
    /// `next` link anyway, leading to an empty page: clients must treat an empty page as the end.
    pub empty_last_page: bool,
    /// Seed of `rate` rules and delivery faults (0 when unset).
    pub seed: u64,
}

/// What a fault rule decided for one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum FaultHit {
    Status(u16),
    Reset,
    Slow(u64),
    EmptyWithNext,
    Empty,
    NoLink,
    Cycle,
    Hide(Vec<String>),
    Vanish,
    Redirect(String),
    Hold,
}

#[derive(Debug, Default)]
struct FaultState {
    faults: Faults,
    counters: HashMap<(usize, Family), u64>,
    /// How many times each (rule, method, URL) was requested: the `rate` draws' input.
    attempts: HashMap<(usize, String), u64>,
}

/// A deterministic draw in [0, 1) from a seed and a request's identity (FNV-1a, then a mix).
pub(crate) fn draw(seed: u64, parts: &[&[u8]]) -> f64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ seed.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    for part in parts {
        for b in part.iter().chain(std::iter::once(&0xff)) {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    (h >> 11) as f64 / (1u64 << 53) as f64
}

/// Statistics snapshot returned by `GET /__sim/stats` and [`crate::SimHandle::stats`].
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StatsSnapshot {
    /// family → status code → count (API requests only; `/__sim` excluded).
    pub requests: BTreeMap<String, BTreeMap<u16, u64>>,
    /// Total API requests.
    pub total_requests: u64,
    /// 429 responses (rate limit and concurrency).
    pub rate_limited: u64,
    /// 429 responses caused by the concurrency cap.
    pub concurrency_rejected: u64,
    /// Requests an injected fault rule fired on.
    pub faults_fired: u64,
    /// Peak number of in-flight API requests.
    pub peak_concurrency: u64,
    /// Requests in flight now.
    pub in_flight: u64,
    /// Hook deliveries: `attempts`, `succeeded`, `failed`, `retried`, `dropped`, `duplicated`.
    pub hook_deliveries: BTreeMap<String, u64>,
    /// System Log events written.
    pub log_events: u64,
}

impl StatsSnapshot {
    /// Requests of one family with one status.
    pub fn count(&self, family: &str, status: u16) -> u64 {
        self.requests.get(family).and_then(|m| m.get(&status)).copied().unwrap_or(0)
    }
    /// All requests of one family.
    pub fn family_total(&self, family: &str) -> u64 {
        self.requests.get(family).map(|m| m.values().sum()).unwrap_or(0)
    }
}

#[derive(Debug, Default)]
struct Stats {
    requests: BTreeMap<&'static str, BTreeMap<u16, u64>>,
    total: u64,
    rate_limited: u64,
    concurrency_rejected: u64,
    faults_fired: u64,
    hook: BTreeMap<&'static str, u64>,
}

/// A System Log record: insertion sequence, `published` and the LogEvent.
#[derive(Debug, Clone)]
pub(crate) struct LogRec {
    pub seq: u64,
    pub published: i64,
    pub event: Arc<Value>,
}

/// The state behind every handler. Cheap to clone.
#[derive(Debug, Clone)]
pub struct SimState(pub(crate) Arc<Inner>);

#[derive(Debug)]
pub(crate) struct Inner {
    pub config: SimConfig,
    pub base_url: String,
    pub admin_id: String,
    pub org: RwLock<Org>,
    pub logs: RwLock<Vec<LogRec>>,
    pub hooks: Mutex<BTreeMap<String, Hook>>,
    buckets: Mutex<[Bucket; 9]>,
    faults: Mutex<FaultState>,
    /// Notified whenever the fault configuration is replaced (releases `hold` faults).
    faults_changed: tokio::sync::Notify,
    stats: Mutex<Stats>,
    pub inflight: AtomicUsize,
    pub peak: AtomicUsize,
    /// Hook-eligible events in the current 24 h window: (window start ms, count).
    hook_day: Mutex<(i64, u64)>,
    pub events_tx: mpsc::UnboundedSender<Arc<Value>>,
    pub http: reqwest::Client,
}

/// Event types a hook may subscribe to (Okta's `event-hook-eligible` tag, the part a
/// directory simulator can produce plus common neighbours).
pub(crate) const HOOK_ELIGIBLE: &[&str] = &[
    "user.lifecycle.create",
    "user.lifecycle.activate",
    "user.lifecycle.deactivate",
    "user.lifecycle.reactivate",
    "user.lifecycle.suspend",
    "user.lifecycle.unsuspend",
    "user.lifecycle.delete.initiated",
    "user.account.update_profile",
    "user.account.lock",
    "user.account.unlock",
    "user.account.unlock_by_admin",
    "user.account.update_password",
    "user.account.reset_password",
    "user.account.privilege.grant",
    "user.account.privilege.revoke",
    "user.import.password",
    "group.lifecycle.create",
    "group.lifecycle.delete",
    "group.profile.update",
    "group.privilege.grant",
    "group.privilege.revoke",
    "group.application_assignment.add",
    "group.application_assignment.remove",
    "group.application_assignment.update",
    "group.user_membership.add",
    "group.user_membership.remove",
    "system.import.group.create",
    "system.import.group.delete",
    "system.import.start",
    "system.import.complete",
    "system.import.roadblock",
    "application.user_membership.add",
    "application.user_membership.remove",
    "application.user_membership.update",
    "application.user_membership.change_password",
    "application.lifecycle.create",
    "application.lifecycle.update",
    "application.lifecycle.activate",
    "application.lifecycle.deactivate",
    "application.lifecycle.delete",
];

/// Context of the API request that caused an event.
#[derive(Debug, Clone, Default)]
pub(crate) struct ReqCtx {
    pub request_id: String,
    pub uri: String,
    pub user_agent: String,
}

impl SimState {
    pub(crate) fn new(
        config: SimConfig,
        base_url: String,
        org: Org,
        events_tx: mpsc::UnboundedSender<Arc<Value>>,
    ) -> SimState {
        let faults = config.faults.clone();
        SimState(Arc::new(Inner {
            config,
            base_url,
            admin_id: org.admin_id.clone(),
            org: RwLock::new(org),
            logs: RwLock::new(Vec::new()),
            hooks: Mutex::new(BTreeMap::new()),
            buckets: Mutex::new([Bucket::default(); 9]),
            faults: Mutex::new(FaultState { faults, ..FaultState::default() }),
            faults_changed: tokio::sync::Notify::new(),
            stats: Mutex::new(Stats::default()),
            inflight: AtomicUsize::new(0),
            peak: AtomicUsize::new(0),
            hook_day: Mutex::new((0, 0)),
            events_tx,
            http: reqwest::Client::builder().no_proxy().build().unwrap_or_default(),
        }))
    }

    /// The org base URL used in `Link` headers and `_links`.
    pub fn base_url(&self) -> &str {
        &self.0.base_url
    }

    pub(crate) fn org_read(&self) -> std::sync::RwLockReadGuard<'_, Org> {
        self.0.org.read().unwrap_or_else(|e| e.into_inner())
    }
    pub(crate) fn org_write(&self) -> std::sync::RwLockWriteGuard<'_, Org> {
        self.0.org.write().unwrap_or_else(|e| e.into_inner())
    }
    pub(crate) fn hooks(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Hook>> {
        self.0.hooks.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Effective per-minute limit of a family.
    pub fn limit_of(&self, f: Family) -> u64 {
        let scale = self.0.config.rate_limit_scale;
        if scale <= 0.0 || !scale.is_finite() {
            return f.base_limit();
        }
        ((f.base_limit() as f64 * scale).floor() as u64).max(1)
    }

    /// Counts one request against its family's bucket.
    pub(crate) fn take_rate(&self, f: Family) -> RateInfo {
        let now = now_ms();
        let limit = self.limit_of(f);
        let unlimited = self.0.config.rate_limit_scale <= 0.0 || f == Family::Sim;
        if f == Family::Sim {
            return RateInfo {
                limit,
                remaining: limit,
                reset_s: now / 1000 + 60,
                allowed: true,
                unlimited: false,
            };
        }
        let mut b = self.0.buckets.lock().unwrap_or_else(|e| e.into_inner());
        let bucket = &mut b[f.index()];
        if bucket.count == 0 || now >= bucket.start_ms + 60_000 {
            *bucket = Bucket { start_ms: now, count: 0 };
        }
        let reset_s = (bucket.start_ms + 60_000 + 999) / 1000;
        if unlimited || bucket.count < limit {
            bucket.count += 1;
            RateInfo {
                limit,
                remaining: limit.saturating_sub(bucket.count),
                reset_s,
                allowed: true,
                unlimited,
            }
        } else {
            RateInfo { limit, remaining: 0, reset_s, allowed: false, unlimited }
        }
    }

    /// Resets every rate-limit window.
    pub fn reset_rate_limits(&self) {
        *self.0.buckets.lock().unwrap_or_else(|e| e.into_inner()) = [Bucket::default(); 9];
    }

    /// Checks the fault rules for a request.
    pub(crate) fn fault_for(&self, f: Family, method: &str, uri: &str) -> Option<FaultHit> {
        if f == Family::Sim {
            return None;
        }
        let path = uri.split('?').next().unwrap_or(uri);
        let mut st = self.0.faults.lock().unwrap_or_else(|e| e.into_inner());
        let FaultState { faults, counters, attempts } = &mut *st;
        // Every matching rule counts every request it matches, so `nth` means "the n-th request
        // of the family" whatever the other rules did; the first rule that fires wins.
        let mut hit = None;
        for (i, r) in faults.rules.iter().enumerate() {
            if r.family != "*" && r.family != f.name() {
                continue;
            }
            if r.method.as_deref().is_some_and(|m| !m.eq_ignore_ascii_case(method)) {
                continue;
            }
            if r.path.as_deref().is_some_and(|p| p != path) {
                continue;
            }
            let c = counters.entry((i, f)).or_insert(0);
            *c += 1;
            if hit.is_some() {
                continue;
            }
            let fire = match (r.nth, r.rate) {
                (Some(n), _) => *c >= n && *c < n + r.count.unwrap_or(1).max(1),
                (None, Some(p)) => {
                    let a = attempts.entry((i, format!("{method} {uri}"))).or_insert(0);
                    *a += 1;
                    let idx = (i as u64).to_le_bytes();
                    let n = a.to_le_bytes();
                    draw(faults.seed, &[&idx, method.as_bytes(), uri.as_bytes(), &n]) < p
                }
                (None, None) => true,
            };
            if fire {
                hit = Some(match r.action.as_deref() {
                    Some("reset") => FaultHit::Reset,
                    Some("slow") => FaultHit::Slow(r.delay_ms.unwrap_or(1000)),
                    Some("emptyWithNext") => FaultHit::EmptyWithNext,
                    Some("empty") => FaultHit::Empty,
                    Some("noLink") => FaultHit::NoLink,
                    Some("cycle") => FaultHit::Cycle,
                    Some("hide") => FaultHit::Hide(r.ids.clone()),
                    Some("vanish") => FaultHit::Vanish,
                    Some("hold") => FaultHit::Hold,
                    Some("redirect") => {
                        FaultHit::Redirect(r.location.clone().unwrap_or_else(|| "/".into()))
                    }
                    _ => FaultHit::Status(r.status.unwrap_or(500)),
                });
            }
        }
        drop(st);
        if hit.is_some() {
            self.0.stats.lock().unwrap_or_else(|e| e.into_inner()).faults_fired += 1;
        }
        hit
    }

    /// Replaces the fault configuration (and restarts the k-th-request counters).
    pub fn set_faults(&self, faults: Faults) {
        let mut st = self.0.faults.lock().unwrap_or_else(|e| e.into_inner());
        st.faults = faults;
        st.counters.clear();
        st.attempts.clear();
        drop(st);
        self.0.faults_changed.notify_waiters();
    }

    /// Waits until the fault configuration is replaced, at most `limit`.
    pub(crate) async fn until_faults_change(&self, limit: std::time::Duration) {
        let _ = tokio::time::timeout(limit, self.0.faults_changed.notified()).await;
    }

    /// The current fault configuration.
    pub fn faults(&self) -> Faults {
        self.0.faults.lock().unwrap_or_else(|e| e.into_inner()).faults.clone()
    }

    pub(crate) fn empty_last_page(&self) -> bool {
        self.0.faults.lock().unwrap_or_else(|e| e.into_inner()).faults.empty_last_page
    }

    pub(crate) fn fault_seed(&self) -> u64 {
        self.0.faults.lock().unwrap_or_else(|e| e.into_inner()).faults.seed
    }

    pub(crate) fn delivery_faults(&self) -> DeliveryFaults {
        self.0.faults.lock().unwrap_or_else(|e| e.into_inner()).faults.delivery.clone()
    }

    pub(crate) fn record(&self, f: Family, status: u16, concurrency: bool) {
        if f == Family::Sim {
            return;
        }
        let mut s = self.0.stats.lock().unwrap_or_else(|e| e.into_inner());
        *s.requests.entry(f.name()).or_default().entry(status).or_insert(0) += 1;
        s.total += 1;
        if status == 429 {
            s.rate_limited += 1;
        }
        if concurrency {
            s.concurrency_rejected += 1;
        }
    }

    pub(crate) fn hook_stat(&self, key: &'static str) {
        let mut s = self.0.stats.lock().unwrap_or_else(|e| e.into_inner());
        *s.hook.entry(key).or_insert(0) += 1;
    }

    /// A statistics snapshot.
    pub fn stats(&self) -> StatsSnapshot {
        let s = self.0.stats.lock().unwrap_or_else(|e| e.into_inner());
        StatsSnapshot {
            requests: s.requests.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect(),
            total_requests: s.total,
            rate_limited: s.rate_limited,
            concurrency_rejected: s.concurrency_rejected,
            faults_fired: s.faults_fired,
            peak_concurrency: self.0.peak.load(Ordering::SeqCst) as u64,
            in_flight: self.0.inflight.load(Ordering::SeqCst) as u64,
            hook_deliveries: s.hook.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect(),
            log_events: self.0.logs.read().map(|l| l.len() as u64).unwrap_or(0),
        }
    }

    /// Clears statistics (counts, peak concurrency).
    pub fn reset_stats(&self) {
        *self.0.stats.lock().unwrap_or_else(|e| e.into_inner()) = Stats::default();
        self.0.peak.store(self.0.inflight.load(Ordering::SeqCst), Ordering::SeqCst);
    }

    /// The whole org as the export document.
    pub fn export(&self) -> Value {
        self.org_read().export(&self.0.base_url)
    }

    /// Writes a System Log event and queues it for hook delivery when eligible.
    pub(crate) fn emit(&self, ctx: &ReqCtx, event_type: &str, display: &str, targets: Vec<Value>) {
        self.emit_with(ctx, event_type, display, targets, "SUCCESS", None);
    }

    pub(crate) fn emit_with(
        &self,
        ctx: &ReqCtx,
        event_type: &str,
        display: &str,
        targets: Vec<Value>,
        result: &str,
        reason: Option<&str>,
    ) {
        let now = now_ms();
        let admin = &self.0.admin_id;
        let ev = json!({
            "actor": {"id": admin, "type": "User", "alternateId": "sim.admin@example.com",
                      "displayName": "Sim Admin", "detailEntry": null},
            "client": {"userAgent": {"rawUserAgent": ctx.user_agent, "os": "Unknown", "browser": "UNKNOWN"},
                       "zone": "null", "device": "Unknown", "id": null, "ipAddress": "127.0.0.1",
                       "geographicalContext": geo()},
            "device": null,
            "authenticationContext": {"authenticationProvider": null, "credentialProvider": null,
                                      "credentialType": null, "issuer": null, "interface": null,
                                      "authenticationStep": 0, "externalSessionId": "trs-sim"},
            "displayMessage": display,
            "eventType": event_type,
            "outcome": {"result": result, "reason": reason},
            "published": fmt_ms(now),
            "securityContext": {"asNumber": null, "asOrg": null, "isp": null, "domain": null, "isProxy": null},
            "severity": "INFO",
            "debugContext": {"debugData": {"requestId": ctx.request_id, "requestUri": ctx.uri, "url": ctx.uri}},
            "transaction": {"type": "WEB", "id": ctx.request_id, "detail": {}},
            "uuid": uuid4(),
            "version": "0",
            "request": {"ipChain": [{"ip": "127.0.0.1", "geographicalContext": geo(), "version": "V4", "source": null}]},
            "target": targets,
        });
        let ev = Arc::new(ev);
        {
            let mut logs = self.0.logs.write().unwrap_or_else(|e| e.into_inner());
            let seq = logs.len() as u64 + 1;
            logs.push(LogRec { seq, published: now, event: ev.clone() });
        }
        if HOOK_ELIGIBLE.contains(&event_type) {
            // Okta's daily cap: past it, hooks stop firing for the rest of the 24 h window
            // (the window starts at the first event) and events are not replayed.
            let within = {
                let mut day = self.0.hook_day.lock().unwrap_or_else(|e| e.into_inner());
                if day.1 == 0 || now >= day.0 + 24 * 3600 * 1000 {
                    *day = (now, 0);
                }
                day.1 += 1;
                day.1 <= self.0.config.hook_daily_cap
            };
            if within {
                let _ = self.0.events_tx.send(ev);
            } else {
                self.hook_stat("capped");
            }
        }
    }
}

/// Log target for a user.
pub(crate) fn user_target(id: &str, login: &str, display: &str) -> Value {
    json!({"id": id, "type": "User", "alternateId": login, "displayName": display, "detailEntry": null})
}

/// Log target for a group.
pub(crate) fn group_target(id: &str, name: &str) -> Value {
    json!({"id": id, "type": "UserGroup", "alternateId": "unknown", "displayName": name, "detailEntry": null})
}

/// Where the simulated org's requests come from (Okta resolves an address to a place; the
/// schema has no null here).
fn geo() -> Value {
    json!({"city": "San Francisco", "state": "California", "country": "United States",
           "postalCode": "94105", "geolocation": {"lat": 37.7852, "lon": -122.3874}})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classify_paths() {
        assert_eq!(Family::classify("GET", "/api/v1/users"), Family::ListUsers);
        assert_eq!(Family::classify("POST", "/api/v1/users"), Family::ListUsers);
        assert_eq!(Family::classify("GET", "/api/v1/users/00u1"), Family::GetUser);
        assert_eq!(Family::classify("POST", "/api/v1/users/00u1"), Family::UserWrite);
        assert_eq!(
            Family::classify("POST", "/api/v1/users/00u1/lifecycle/suspend"),
            Family::UserWrite
        );
        assert_eq!(Family::classify("GET", "/api/v1/users/00u1/groups"), Family::Other);
        assert_eq!(Family::classify("GET", "/api/v1/groups"), Family::Groups);
        assert_eq!(Family::classify("GET", "/api/v1/groups/00g1"), Family::GroupById);
        assert_eq!(Family::classify("GET", "/api/v1/groups/00g1/users"), Family::Groups);
        assert_eq!(Family::classify("GET", "/api/v1/apps"), Family::Apps);
        assert_eq!(Family::classify("GET", "/api/v1/apps/0oa1"), Family::AppById);
        assert_eq!(Family::classify("GET", "/api/v1/apps/0oa1/users"), Family::Apps);
        assert_eq!(Family::classify("GET", "/api/v1/logs"), Family::Logs);
        assert_eq!(Family::classify("GET", "/api/v1/eventHooks"), Family::Other);
        assert_eq!(Family::classify("GET", "/__sim/stats"), Family::Sim);
    }
}
