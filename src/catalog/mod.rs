//! Catalog targets: the embedded SQLite catalog (the default), an in-memory catalog (tests and
//! empty dry-run baselines) and, through the same interface, Port's REST API.
//!
//! [`Catalog`] is the one interface the engine writes through. It is object-safe and `Send +
//! Sync`, so the target is chosen at run time and shared as `Arc<dyn Catalog>` by the resync and
//! the event worker. Its methods return boxed futures ([`BoxFut`]) rather than `async fn`: the
//! cost is one allocation per call, and calls are per batch (≤ 500 entities), never per entity;
//! an enum of targets would have closed the set of targets to the catalog module and made test
//! doubles (fault-injecting wrappers, the dry-run overlay) impossible.
//!
//! Every target keeps Port's semantics: entities keyed by (blueprint, identifier), owned by the
//! integration that wrote them (its datasource), upserted with `merge` and
//! `create_missing_related_entities`, deleted with `delete_dependents`. The embedded targets share
//! one implementation of those rules ([`rules`]), so they cannot drift apart; the conformance
//! suite (`tests/conformance.rs`) runs the same scenarios against every target.

pub mod memory;
pub mod rules;
pub mod sqlite;

use crate::blueprint::Blueprint;
use crate::model::{Entity, EntityKey};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

/// The future every [`Catalog`] method returns.
pub type BoxFut<'a, T> = Pin<Box<dyn Future<Output = Result<T, CatalogError>> + Send + 'a>>;

/// How a batch of entities is written.
#[derive(Debug, Clone)]
pub struct WriteContext {
    /// The integration identifier that owns what it writes.
    pub owner: String,
    /// The resync (or event batch) writing; stamped on every entity written.
    pub run_id: String,
    /// `enableMergeEntity`: keep properties/relations the payload does not mention.
    pub merge: bool,
    /// `createMissingRelatedEntities`: create empty targets for dangling relations.
    pub create_missing_related: bool,
}

/// How entities are deleted.
#[derive(Debug, Clone)]
pub struct DeleteContext {
    /// Only entities owned by this integration are deleted (dependents excepted: Port deletes
    /// them whoever owns them).
    pub owner: String,
    /// `deleteDependentEntities`: also delete entities whose *required* relation points at a
    /// deleted one, transitively.
    pub dependents: bool,
}

/// How an entity written by an upsert compares with what was stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// It did not exist and was created.
    Created,
    /// It existed and changed.
    Updated,
    /// It existed unchanged; only its ownership stamp moved.
    Unchanged,
}

/// What happened to one entity of an upsert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UpsertOutcome {
    /// The entity is now in the catalog as given.
    Written(Change),
    /// A relation points at an entity that does not exist (and stubs are off).
    MissingRelated(EntityKey),
    /// The catalog refused it, with the catalog's reason.
    Rejected(String),
}

impl UpsertOutcome {
    /// Whether the entity is now in the catalog as given.
    pub fn is_ok(&self) -> bool {
        matches!(self, Self::Written(_))
    }
}

/// A stored entity with its ownership stamp.
#[derive(Debug, Clone, PartialEq)]
pub struct Stored {
    /// The entity as stored.
    pub entity: Entity,
    /// The integration (datasource) that last wrote it, if any.
    pub owner: Option<String>,
    /// The run that last wrote it, if any.
    pub run_id: Option<String>,
}

/// The key of a stored entity with its ownership stamp.
#[derive(Debug, Clone, PartialEq)]
pub struct OwnedKey {
    /// The entity key.
    pub key: EntityKey,
    /// The run that last wrote it.
    pub run_id: String,
}

/// A run (a resync) as the catalog records it.
#[derive(Debug, Clone, PartialEq)]
pub struct RunInfo {
    /// The run's id, stamped on everything it writes.
    pub run_id: String,
    /// The integration running it.
    pub owner: String,
    /// When it started.
    pub started: jiff::Timestamp,
    /// The process running it.
    pub pid: u32,
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunOutcome {
    /// The catalog now equals the org.
    Completed,
    /// It finished, but something was partial (a listing error, a failed item, deletion
    /// skipped); the text says what.
    Partial(String),
    /// It failed before finishing; the text says why.
    Failed(String),
}

/// What the catalog knew when a run began.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunStart {
    /// Earlier runs that never ended (killed mid-way): the catalog may hold a mix of their
    /// writes and older entities.
    pub interrupted: Vec<RunInfo>,
}

/// A catalog failure that is not about one entity (IO, corruption, HTTP, a closed target).
///
/// Each variant says what was being done and, where there is one, keeps the underlying error as
/// its [`std::error::Error::source`]; [`CatalogError::retryable`] tells whether the same call may
/// succeed if tried again.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    /// The embedded catalog's database failed.
    #[error("catalog database {path}: {op}")]
    Sqlite {
        /// The database file.
        path: String,
        /// What was being done (`upsert`, `open`, …).
        op: &'static str,
        /// The SQLite error.
        #[source]
        source: rusqlite::Error,
    },
    /// A stored value could not be read back.
    #[error("catalog entry {key} is corrupt: {message}")]
    Corrupt {
        /// The entity key (or `blueprint <id>`).
        key: String,
        /// What was wrong.
        message: String,
    },
    /// An HTTP catalog answered with an error status.
    #[error("catalog answered {status} to {method} {path}{}", code_and_message(.code, .message))]
    Http {
        /// The request method.
        method: String,
        /// The request path and query (never a token).
        path: String,
        /// The HTTP status.
        status: u16,
        /// The catalog's error code (Port's `error`, e.g. `not_found`), when it sent one.
        code: Option<String>,
        /// The catalog's error message, when it sent one.
        message: Option<String>,
    },
    /// An HTTP catalog could not be reached.
    #[error("catalog request {method} {path} failed")]
    Network {
        /// The request method.
        method: String,
        /// The request path and query.
        path: String,
        /// The transport error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The catalog's worker is gone (it panicked or was shut down).
    #[error("catalog {0} is closed")]
    Closed(String),
    /// Another run holds the catalog (one writer per catalog).
    #[error("another sync ({holder}) holds the catalog {catalog}")]
    Locked {
        /// The catalog.
        catalog: String,
        /// Who holds it: `pid N, started T`.
        holder: String,
    },
}

fn code_and_message(code: &Option<String>, message: &Option<String>) -> String {
    match (code, message) {
        (None, None) => String::new(),
        (Some(c), None) => format!(": {c}"),
        (None, Some(m)) => format!(": {m}"),
        (Some(c), Some(m)) => format!(": {c}: {m}"),
    }
}

impl CatalogError {
    /// Whether the same call may succeed when tried again: a busy database, a rate limit, a
    /// timeout, a gateway error or a broken connection. A bad request, bad credentials, a
    /// corrupt entry or a closed catalog are not.
    pub fn retryable(&self) -> bool {
        match self {
            Self::Sqlite { source, .. } => matches!(
                source.sqlite_error_code(),
                Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
            ),
            Self::Http { status, .. } => matches!(status, 408 | 429 | 502 | 503 | 504),
            Self::Network { .. } => true,
            Self::Corrupt { .. } | Self::Closed(_) | Self::Locked { .. } => false,
        }
    }
}

/// `keys` and, transitively, every entity that depends on them through a required relation: what
/// a delete with `delete_dependents` takes (asked through [`Catalog::dependents`], so a plan
/// overlay answers for its planned state).
pub async fn cascade(
    catalog: &dyn Catalog,
    keys: Vec<EntityKey>,
) -> Result<std::collections::BTreeSet<EntityKey>, CatalogError> {
    let mut all: std::collections::BTreeSet<EntityKey> = keys.iter().cloned().collect();
    let mut frontier = keys;
    // Bounded: each round adds only keys not seen before.
    while !frontier.is_empty() {
        let next: Vec<EntityKey> =
            catalog.dependents(frontier).await?.into_iter().filter(|k| !all.contains(k)).collect();
        all.extend(next.iter().cloned());
        frontier = next;
    }
    Ok(all)
}

/// Where entities live.
///
/// Inputs are owned (`Vec`, `Arc<[Entity]>`), so a target may hand the work to another thread or
/// task without copying it. Every method is one round trip: batching is the caller's job.
pub trait Catalog: Send + Sync + std::fmt::Debug {
    /// A short description for logs, e.g. `sqlite:./port-okta.db` (never a secret).
    fn describe(&self) -> String;

    /// Creates or replaces blueprints.
    fn put_blueprints(&self, blueprints: Vec<Blueprint>) -> BoxFut<'_, ()>;

    /// Upserts a batch; one outcome per entity, in order.
    fn upsert(&self, entities: Arc<[Entity]>, cx: WriteContext) -> BoxFut<'_, Vec<UpsertOutcome>>;

    /// The stored entities of `keys`, in order (`None` where there is none).
    fn get(&self, keys: Vec<EntityKey>) -> BoxFut<'_, Vec<Option<Stored>>>;

    /// Every entity of `blueprints` owned by `owner`.
    fn owned(&self, owner: String, blueprints: Vec<String>) -> BoxFut<'_, Vec<OwnedKey>>;

    /// The entities whose *required* relation points directly at one of `keys` (one level; the
    /// cascade of [`Catalog::delete`] is its transitive closure).
    fn dependents(&self, keys: Vec<EntityKey>) -> BoxFut<'_, Vec<EntityKey>>;

    /// Deletes those of `keys` owned by `cx.owner` (and, with `cx.dependents`, the entities that
    /// depend on them); returns every key deleted.
    fn delete(&self, keys: Vec<EntityKey>, cx: DeleteContext) -> BoxFut<'_, Vec<EntityKey>>;

    /// Every entity, sorted by blueprint then identifier.
    fn export(&self) -> BoxFut<'_, Vec<Entity>>;

    /// Starts a run: takes the catalog for this writer (waiting up to `wait` for another run to
    /// let go, else [`CatalogError::Locked`]) and records the run as running. Targets without
    /// runs accept every run.
    fn begin_run(&self, run: RunInfo, wait: std::time::Duration) -> BoxFut<'_, RunStart> {
        let _ = (run, wait);
        Box::pin(async { Ok(RunStart::default()) })
    }

    /// Ends a run: records its outcome and lets the catalog go.
    fn end_run(&self, run_id: String, outcome: RunOutcome) -> BoxFut<'_, ()> {
        let _ = (run_id, outcome);
        Box::pin(async { Ok(()) })
    }

    /// A marker of the last resync requested through the catalog (Port's resync button): when it
    /// changes, a resync is due. Targets without one answer `None`.
    fn resync_request(&self) -> BoxFut<'_, Option<String>> {
        Box::pin(async { Ok(None) })
    }

    /// Raw Okta items of `kind` as examples for the mapping playground (Port's jq playground);
    /// targets without one ignore them.
    fn examples(&self, kind: String, items: Vec<serde_json::Value>) -> BoxFut<'_, ()> {
        let _ = (kind, items);
        Box::pin(async { Ok(()) })
    }
}
