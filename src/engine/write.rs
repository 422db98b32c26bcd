//! The write service: item → mapping → blueprint validation → catalog upsert, and deletions
//! through the same catalog with the same `deleteDependentEntities` semantics.
//!
//! The resync and the live-event worker both own a [`Writer`], so an entity is written the same
//! way whatever brought it. A writer keeps no run-wide state: it queues at most one batch of
//! entities, and every call returns what happened as [`Outcome`]s, which the caller books (the
//! resync keeps the run's written keys, protected ids and report; an event keeps nothing).

use super::fresh::Freshness;
use crate::blueprint::BlueprintSet;
use crate::catalog::{Catalog, CatalogError, Change, DeleteContext, UpsertOutcome, WriteContext};
use crate::mapping::pool::Pool;
use crate::mapping::{CompiledConfig, CompiledResource, ItemMapping, Problem, Severity};
use crate::model::{Entity, EntityKey, Item, Raw};
use serde_json::Value;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Entities per catalog call.
pub const BATCH: usize = 500;

/// How long one item's jq evaluation may take before it is abandoned as an item error.
pub const DEFAULT_JQ_TIME_LIMIT: Duration = Duration::from_secs(30);

/// What an item that fails to write still protects from stale deletion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Protect {
    /// Nothing: the item produced entities (only part of it failed).
    Nothing,
    /// The entity whose identifier is this Okta id (the identifier mapping is `.id`).
    Identifier(String),
    /// Unknown: the item failed before its entity key was known.
    Unknown,
}

/// A field-level problem of an item or entity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldProblem {
    /// The mapping field, dotted (`properties.email`), or empty.
    pub field: String,
    /// What went wrong.
    pub message: String,
}

/// What happened to an item, an entity or a key.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The entity is now in the catalog as mapped.
    Written {
        /// The kind that mapped it.
        kind: String,
        /// Its key.
        key: EntityKey,
        /// Created, updated or unchanged.
        change: Change,
        /// Its relation targets, as [`key_digest`]s, when `createMissingRelatedEntities` is on
        /// (a resync then keeps such entities from being deleted as stale, as Ocean does);
        /// empty otherwise.
        targets: Box<[u128]>,
    },
    /// The selector left the item out.
    Filtered {
        /// The kind.
        kind: String,
        /// The item's Okta id.
        okta_id: String,
    },
    /// The item could not be mapped (its selector, identifier or blueprint failed).
    ItemFailed {
        /// The kind.
        kind: String,
        /// The item's Okta id.
        okta_id: String,
        /// Why.
        problems: Vec<FieldProblem>,
        /// What must not be deleted as stale because of it.
        protect: Protect,
    },
    /// The entity was refused by its blueprint or by the catalog; its stored entity is kept.
    Rejected {
        /// The kind.
        kind: String,
        /// The entity key.
        key: EntityKey,
        /// Why.
        problems: Vec<FieldProblem>,
    },
    /// A relation target does not exist and `createMissingRelatedEntities` is off; the entity
    /// may be written later, once its targets are.
    MissingRelated {
        /// The kind.
        kind: String,
        /// The whole entity (retried whole, not reduced: W-C4).
        entity: Box<Entity>,
        /// The missing target.
        target: EntityKey,
    },
    /// The entity was deleted (asked for, or a dependent of one that was).
    Deleted {
        /// The key deleted.
        key: EntityKey,
    },
    /// Not written: a live event re-read its Okta object after this writer's copy was read,
    /// so the catalog already holds something at least as fresh.
    Superseded {
        /// The kind.
        kind: String,
        /// The entity key.
        key: EntityKey,
    },
}

/// What an entity whose item fails its selector means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Selection {
    /// A resync: the item is left out; stale deletion removes its old entity if it is ours.
    Resync,
    /// A live event: the item's entity is deleted now (Ocean's `parse_all`).
    Event,
}

/// The write service. Owns its catalog, mapping and blueprints; holds at most one batch.
#[derive(Debug)]
pub struct Writer {
    catalog: Arc<dyn Catalog>,
    config: Arc<CompiledConfig>,
    blueprints: Arc<BlueprintSet>,
    write: WriteContext,
    delete: DeleteContext,
    jq_time_limit: Duration,
    pending: Vec<Pending>,
    /// Live events' record, with when this writer's copies were read: entities of objects an
    /// event re-read since then are not written (checked just before each catalog call).
    fresh: Option<(Arc<Freshness>, Instant)>,
    /// A full batch on its way to the catalog (written while the next one is mapped).
    inflight: Option<tokio::task::JoinHandle<Result<Vec<Outcome>, CatalogError>>>,
}

/// A queued entity: its kind, the Okta id of the object it came from, the entity.
type Pending = (String, String, Entity);

/// A 128-bit digest of an entity key (`blueprint`, `identifier`), for run-wide sets that must
/// stay small: two keys share one with odds of about n²/2¹²⁸.
pub fn key_digest(blueprint: &str, identifier: &str) -> u128 {
    use std::hash::{DefaultHasher, Hash, Hasher};
    let half = |seed: u64| {
        let mut h = DefaultHasher::new();
        (seed, blueprint, identifier).hash(&mut h);
        h.finish()
    };
    (u128::from(half(0)) << 64) | u128::from(half(0x9e37_79b9_7f4a_7c15))
}

/// The [`key_digest`]s of `entity`'s relation targets.
fn target_digests(entity: &Entity, blueprints: &BlueprintSet) -> Box<[u128]> {
    let Some(bp) = blueprints.get(&entity.blueprint) else { return Box::default() };
    crate::catalog::rules::target_refs(entity, bp).map(|(b, id)| key_digest(b, id)).collect()
}

/// Writes `batch` in catalog calls of at most [`BATCH`] entities; an entity whose Okta object a
/// live event re-read after `fresh`'s instant is left out ([`Outcome::Superseded`]).
async fn upsert_batches(
    catalog: Arc<dyn Catalog>,
    blueprints: Arc<BlueprintSet>,
    cx: WriteContext,
    fresh: Option<(Arc<Freshness>, Instant)>,
    batch: Vec<Pending>,
) -> Result<Vec<Outcome>, CatalogError> {
    let mut out = Vec::with_capacity(batch.len());
    let mut batch = batch.into_iter().peekable();
    while batch.peek().is_some() {
        let mut kinds = Vec::with_capacity(BATCH);
        let mut entities = Vec::with_capacity(BATCH);
        for (kind, okta_id, entity) in batch.by_ref().take(BATCH) {
            // No await between this check and the catalog call: an event that re-reads the
            // object later is written after this batch (catalog calls are in order).
            if let Some((fresh, since)) = &fresh
                && fresh.touched_since(&okta_id, *since)
            {
                out.push(Outcome::Superseded { kind, key: entity.key() });
                continue;
            }
            kinds.push(kind);
            entities.push(entity);
        }
        if entities.is_empty() {
            continue;
        }
        let entities: Arc<[Entity]> = entities.into();
        let outcomes = catalog.upsert(entities.clone(), cx.clone()).await?;
        let mut outcomes = outcomes.into_iter();
        for (kind, entity) in kinds.into_iter().zip(entities.iter()) {
            let outcome = outcomes
                .next()
                .unwrap_or_else(|| UpsertOutcome::Rejected("the catalog gave no outcome".into()));
            out.push(match outcome {
                UpsertOutcome::Written(change) => Outcome::Written {
                    kind,
                    key: entity.key(),
                    change,
                    targets: if cx.create_missing_related {
                        target_digests(entity, &blueprints)
                    } else {
                        Box::default()
                    },
                },
                UpsertOutcome::MissingRelated(target) => {
                    Outcome::MissingRelated { kind, entity: Box::new(entity.clone()), target }
                }
                UpsertOutcome::Rejected(message) => Outcome::Rejected {
                    kind,
                    key: entity.key(),
                    problems: vec![FieldProblem { field: String::new(), message }],
                },
            });
        }
    }
    Ok(out)
}

impl Writer {
    /// A writer of `config`'s entities into `catalog`, owned by `owner`.
    pub fn new(
        catalog: Arc<dyn Catalog>,
        config: Arc<CompiledConfig>,
        blueprints: Arc<BlueprintSet>,
        owner: &str,
    ) -> Self {
        let write = WriteContext {
            owner: owner.to_string(),
            run_id: format!("writer-{}", jiff::Timestamp::now().as_millisecond()),
            merge: config.enable_merge_entity,
            create_missing_related: config.create_missing_related_entities,
        };
        let delete = DeleteContext {
            owner: owner.to_string(),
            dependents: config.delete_dependent_entities,
        };
        Self {
            catalog,
            config,
            blueprints,
            write,
            delete,
            jq_time_limit: DEFAULT_JQ_TIME_LIMIT,
            pending: Vec::with_capacity(BATCH),
            fresh: None,
            inflight: None,
        }
    }

    /// Leaves alone the objects live events re-read after `read_since` (see [`Freshness`]).
    pub fn set_fresh(&mut self, fresh: Arc<Freshness>, read_since: Instant) {
        self.fresh = Some((fresh, read_since));
    }

    /// Stamps what this writer writes from now on with `run_id`.
    pub fn set_run(&mut self, run_id: &str) {
        self.write.run_id = run_id.to_string();
    }

    /// Sets the time limit of one item's jq evaluation.
    pub fn set_jq_time_limit(&mut self, limit: Duration) {
        self.jq_time_limit = limit;
    }

    /// The catalog written to.
    pub fn catalog(&self) -> &Arc<dyn Catalog> {
        &self.catalog
    }

    /// The mapping.
    pub fn config(&self) -> &Arc<CompiledConfig> {
        &self.config
    }

    /// The blueprints.
    pub fn blueprints(&self) -> &Arc<BlueprintSet> {
        &self.blueprints
    }

    /// Entities queued and not yet written (at most [`BATCH`], plus one batch on its way).
    pub fn pending(&self) -> usize {
        self.pending.len() + if self.inflight.is_some() { BATCH } else { 0 }
    }

    /// Entities the writer can hold without allocating (its whole state: at most [`BATCH`]).
    pub fn held(&self) -> usize {
        self.pending.capacity()
    }

    /// Maps `item` with resource `resource` of the config, validates its entities and queues
    /// them (writing a full batch). With [`Selection::Event`], entities that fail the selector
    /// are deleted (after the queue is written).
    pub async fn item(
        &mut self,
        resource: usize,
        item: Item,
        selection: Selection,
    ) -> Result<Vec<Outcome>, CatalogError> {
        let res = &self.config.resources[resource];
        let kind = res.kind().to_string();
        let protect_id = res.identifier_is_okta_id().then(|| item.okta_id.clone());
        let mapped = self.map(resource, item.raw, selection == Selection::Event).await;
        let mut out = Vec::new();
        let errors: Vec<FieldProblem> = mapped
            .problems
            .into_iter()
            .filter(|p| p.severity == Severity::Error)
            .map(|p| FieldProblem { field: p.field, message: p.message })
            .collect();
        let failed = !errors.is_empty();
        if failed {
            let protect = match (mapped.entities.is_empty(), protect_id) {
                (false, _) => Protect::Nothing,
                (true, Some(id)) if !id.is_empty() => Protect::Identifier(id),
                (true, _) => Protect::Unknown,
            };
            out.push(Outcome::ItemFailed {
                kind: kind.clone(),
                okta_id: item.okta_id.clone(),
                problems: errors,
                protect,
            });
        }
        let mut unselected = Vec::new();
        let mut selected = 0usize;
        for m in mapped.entities {
            let entity = m.entity;
            if !m.passed_selector {
                unselected.push(entity.key());
                continue;
            }
            selected += 1;
            if let Some(bp) = self.blueprints.get(&entity.blueprint)
                && let Err(problems) = bp.validate(&entity)
            {
                let problems = problems
                    .into_iter()
                    .map(|p| FieldProblem { field: String::new(), message: p.to_string() })
                    .collect();
                out.push(Outcome::Rejected { kind: kind.clone(), key: entity.key(), problems });
                continue;
            }
            self.pending.push((kind.clone(), item.okta_id.clone(), entity));
        }
        if selected == 0 && !failed {
            out.push(Outcome::Filtered { kind, okta_id: item.okta_id.clone() });
        }
        if self.pending.len() >= BATCH {
            out.extend(self.send_queued().await?);
        }
        if !unselected.is_empty() {
            unselected.retain(|k| !self.pending.iter().any(|(_, _, e)| e.key() == *k));
            out.extend(self.delete(unselected).await?);
        }
        Ok(out)
    }

    /// A live event's item: mapped by every resource of its kind, entities that fail a selector
    /// deleted, and everything written before returning.
    pub async fn event_item(&mut self, item: Item) -> Result<Vec<Outcome>, CatalogError> {
        let mut out = Vec::new();
        for resource in self.resources_of(&item.kind) {
            out.extend(self.item(resource, item.clone(), Selection::Event).await?);
        }
        out.extend(self.flush().await?);
        Ok(out)
    }

    /// An object deleted in Okta: the entity each resource of `kind` maps it to is deleted (the
    /// key is computed from a stub `{"id": okta_id}`, as Ocean does).
    pub async fn gone(&mut self, kind: &str, okta_id: &str) -> Result<Vec<Outcome>, CatalogError> {
        let stub = serde_json::json!({ "id": okta_id });
        let mut out = Vec::new();
        let mut keys = Vec::new();
        for resource in self.resources_of(kind) {
            match self.config.resources[resource].key_of(&stub) {
                Ok(key) => keys.push(key),
                Err(message) => out.push(Outcome::ItemFailed {
                    kind: kind.to_string(),
                    okta_id: okta_id.to_string(),
                    problems: vec![FieldProblem { field: "identifier".into(), message }],
                    protect: Protect::Nothing,
                }),
            }
        }
        out.extend(self.delete(keys).await?);
        Ok(out)
    }

    /// Writes every queued entity.
    pub async fn flush(&mut self) -> Result<Vec<Outcome>, CatalogError> {
        let mut out = self.settle().await?;
        let batch = std::mem::take(&mut self.pending);
        out.extend(self.upsert(batch).await?);
        Ok(out)
    }

    /// Writes `entities` (kind, entity) now, after anything queued.
    pub async fn write(
        &mut self,
        entities: Vec<(String, Entity)>,
    ) -> Result<Vec<Outcome>, CatalogError> {
        let mut out = self.flush().await?;
        let entities = entities.into_iter().map(|(k, e)| (k, e.identifier.clone(), e)).collect();
        out.extend(self.upsert(entities).await?);
        Ok(out)
    }

    /// Deletes `keys` (owned by this integration) and, with `deleteDependentEntities`, their
    /// dependents; anything queued is written first.
    pub async fn delete(&mut self, keys: Vec<EntityKey>) -> Result<Vec<Outcome>, CatalogError> {
        let mut out = self.flush().await?;
        for chunk in keys.chunks(BATCH) {
            let deleted = self.catalog.delete(chunk.to_vec(), self.delete.clone()).await?;
            out.extend(deleted.into_iter().map(|key| Outcome::Deleted { key }));
        }
        Ok(out)
    }

    fn resources_of(&self, kind: &str) -> Vec<usize> {
        let resources = self.config.resources.iter().enumerate();
        resources.filter(|(_, r)| r.kind() == kind).map(|(i, _)| i).collect()
    }

    async fn upsert(&self, batch: Vec<Pending>) -> Result<Vec<Outcome>, CatalogError> {
        upsert_batches(
            self.catalog.clone(),
            self.blueprints.clone(),
            self.write.clone(),
            self.fresh.clone(),
            batch,
        )
        .await
    }

    /// Sends a full queue to the catalog without waiting for it, so the next batch is mapped
    /// while this one is written; returns what the previous such batch did.
    async fn send_queued(&mut self) -> Result<Vec<Outcome>, CatalogError> {
        let previous = self.settle().await?;
        let batch = std::mem::replace(&mut self.pending, Vec::with_capacity(BATCH));
        let job = upsert_batches(
            self.catalog.clone(),
            self.blueprints.clone(),
            self.write.clone(),
            self.fresh.clone(),
            batch,
        );
        self.inflight = Some(tokio::spawn(job));
        Ok(previous)
    }

    /// Waits for the batch sent by [`Self::send_queued`], if any.
    async fn settle(&mut self) -> Result<Vec<Outcome>, CatalogError> {
        match self.inflight.take() {
            None => Ok(Vec::new()),
            Some(job) => job.await.map_err(|e| {
                CatalogError::Closed(format!(
                    "{} (a write task failed: {e})",
                    self.catalog.describe()
                ))
            })?,
        }
    }

    /// Maps an item: inline when the mapping is native (a panic becomes an item error), on the
    /// large-stack pool with a time limit when it goes through jaq.
    async fn map(&self, resource: usize, raw: Raw, all: bool) -> ItemMapping {
        let res = &self.config.resources[resource];
        if !res.needs_jaq() {
            return std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                map_raw(res, &raw, all)
            }))
            .unwrap_or_else(|_| crate::mapping::internal_error());
        }
        let config = self.config.clone();
        let job = move || map_raw(&config.resources[resource], &raw, all);
        match Pool::global().run(job, self.jq_time_limit).await {
            Ok(mapped) => mapped,
            Err(e) => ItemMapping {
                entities: Vec::new(),
                problems: vec![Problem {
                    field: String::new(),
                    message: format!("{e}; item skipped"),
                    severity: Severity::Error,
                }],
            },
        }
    }
}

fn map_raw(res: &CompiledResource, raw: &Raw, all: bool) -> ItemMapping {
    match raw {
        Raw::Json(text) if !all => res.map_json(text.as_bytes()).unwrap_or_else(not_json),
        Raw::Json(text) => {
            serde_json::from_str::<Value>(text).map_or_else(not_json, |v| res.map_item_all(&v))
        }
        Raw::Value(v) if all => res.map_item_all(v),
        Raw::Value(v) => res.map_item(v),
    }
}

fn not_json(e: serde_json::Error) -> ItemMapping {
    ItemMapping {
        entities: Vec::new(),
        problems: vec![Problem {
            field: String::new(),
            message: format!("the item is not valid JSON: {e}"),
            severity: Severity::Error,
        }],
    }
}
