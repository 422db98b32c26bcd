//! Catalog targets: the embedded SQLite catalog (the default) and, later, Port's REST API.
//!
//! [`Catalog`] is the one interface the engine writes through, so resyncs and live events share
//! a single write path. Both targets keep Port's semantics: entities keyed by (blueprint,
//! identifier), owned by the integration that wrote them (its datasource), upserted with
//! `merge` and `create_missing_related_entities`, deleted with `delete_dependents`.

pub mod sqlite;

use crate::blueprint::Blueprint;
use crate::model::{Entity, EntityKey};

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

/// What happened to one entity of an upsert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UpsertOutcome {
    /// It did not exist and was created.
    Created,
    /// It existed and changed.
    Updated,
    /// It existed unchanged; only its ownership stamp moved.
    Unchanged,
    /// A relation points at an entity that does not exist (and stubs are off).
    MissingRelated(EntityKey),
    /// The catalog refused it.
    Rejected(String),
}

impl UpsertOutcome {
    /// Whether the entity is now in the catalog as given.
    pub fn is_ok(&self) -> bool {
        matches!(self, Self::Created | Self::Updated | Self::Unchanged)
    }
}

/// A stored entity with its ownership stamp.
#[derive(Debug, Clone, PartialEq)]
pub struct OwnedKey {
    /// The entity key.
    pub key: EntityKey,
    /// The run that last wrote it.
    pub run_id: String,
}

/// A catalog failure that is not about one entity (IO, corruption, HTTP).
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    /// The embedded catalog's database failed.
    #[error("catalog database {path}: {message}")]
    Sqlite {
        /// The database file.
        path: String,
        /// What failed.
        message: String,
    },
    /// A stored value could not be read back.
    #[error("catalog entry {key} is corrupt: {message}")]
    Corrupt {
        /// The entity key.
        key: String,
        /// What was wrong.
        message: String,
    },
}

/// Where entities live. Implemented by the embedded SQLite catalog and Port's REST API.
#[allow(async_fn_in_trait)]
pub trait Catalog {
    /// Creates or replaces blueprints.
    async fn put_blueprints(&self, blueprints: &[Blueprint]) -> Result<(), CatalogError>;
    /// Upserts a batch; one outcome per entity, in order.
    async fn upsert(
        &self,
        entities: &[Entity],
        cx: &WriteContext,
    ) -> Result<Vec<UpsertOutcome>, CatalogError>;
    /// Every entity of `blueprints` owned by `owner`.
    async fn owned(
        &self,
        owner: &str,
        blueprints: &[String],
    ) -> Result<Vec<OwnedKey>, CatalogError>;
    /// Deletes `keys` (and, with `delete_dependents`, entities whose *required* relation points
    /// at a deleted one); returns every key deleted.
    async fn delete(
        &self,
        keys: &[EntityKey],
        delete_dependents: bool,
    ) -> Result<Vec<EntityKey>, CatalogError>;
    /// Every entity, sorted by blueprint then identifier.
    async fn export(&self) -> Result<Vec<Entity>, CatalogError>;
}
