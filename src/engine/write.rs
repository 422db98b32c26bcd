//! The single write path: item → mapping → blueprint validation → catalog upsert.
//!
//! Resyncs and live events both go through [`Writer`], so an entity is written the same way
//! whatever brought it. The writer remembers which keys it wrote and which it must protect
//! (items that failed: their existing entity is kept), which is what stale deletion needs.

use super::report::{Plan, Problem, ResyncReport};
use crate::blueprint::BlueprintSet;
use crate::catalog::{Catalog, CatalogError, UpsertOutcome, WriteContext};
use crate::config::model::{MappingValue, ResourceConfig};
use crate::mapping::{CompiledResource, ItemMapping, Severity};
use crate::model::{Entity, EntityKey};
use serde_json::Value;
use std::collections::HashSet;

/// Entities per catalog transaction.
pub const BATCH: usize = 500;

/// Most problems kept in a report (the rest are only counted).
const PROBLEM_SAMPLE: usize = 100;

/// Rounds of retrying entities whose relation targets were missing.
const RELATED_RETRY_ROUNDS: usize = 3;

/// Writes mapped entities to a catalog and keeps the books.
pub struct Writer<'a, C: Catalog> {
    catalog: &'a C,
    blueprints: &'a BlueprintSet,
    cx: WriteContext,
    pending: Vec<(String, Entity)>,
    retry: Vec<(String, Entity)>,
    /// Keys now in the catalog as this run mapped them.
    pub written: HashSet<EntityKey>,
    /// Identifiers whose items failed: their existing entities must not be deleted as stale.
    pub protected_ids: HashSet<String>,
    /// Kinds with a failed item whose entity key cannot be known: their stale entities cannot be
    /// told apart from the failed ones.
    pub unidentified_failures: Vec<String>,
    /// Blueprints written in this run.
    pub blueprints_written: HashSet<String>,
    plan: Option<Plan>,
    /// Keys in the catalog before the run, when recording a plan: an entity first created as a
    /// relation stub and then written in full is planned as a create, not an update.
    existed: Option<HashSet<EntityKey>>,
}

impl<'a, C: Catalog> Writer<'a, C> {
    /// A writer for one run; `existed` (the keys in the catalog before the run) turns on
    /// recording the plan of a dry run.
    pub fn new(
        catalog: &'a C,
        blueprints: &'a BlueprintSet,
        cx: WriteContext,
        existed: Option<HashSet<EntityKey>>,
    ) -> Self {
        Self {
            catalog,
            blueprints,
            cx,
            pending: Vec::new(),
            retry: Vec::new(),
            written: HashSet::new(),
            protected_ids: HashSet::new(),
            unidentified_failures: Vec::new(),
            blueprints_written: HashSet::new(),
            plan: existed.as_ref().map(|_| Plan::default()),
            existed,
        }
    }

    /// The planned changes, when recording.
    pub fn take_plan(&mut self) -> Option<Plan> {
        self.plan.take()
    }

    /// Maps one raw item with `resource` and queues its entities; flushes full batches.
    pub async fn item(
        &mut self,
        resource: &CompiledResource,
        item: &Value,
        report: &mut ResyncReport,
    ) -> Result<(), CatalogError> {
        let okta_id = item.get("id").and_then(Value::as_str).unwrap_or("");
        self.mapped(resource, resource.map_item(item), okta_id, report).await
    }

    /// Like [`Self::item`] for an item given as JSON text (mapped with
    /// [`CompiledResource::map_json`], which reads only what the mapping needs); `okta_id` is
    /// the item's Okta id. Text that is not JSON is an error of the Okta listing.
    pub async fn item_json(
        &mut self,
        resource: &CompiledResource,
        json: &[u8],
        okta_id: &str,
        report: &mut ResyncReport,
    ) -> Result<Result<(), serde_json::Error>, CatalogError> {
        let mapped = match resource.map_json(json) {
            Ok(m) => m,
            Err(e) => return Ok(Err(e)),
        };
        self.mapped(resource, mapped, okta_id, report).await.map(Ok)
    }

    async fn mapped(
        &mut self,
        resource: &CompiledResource,
        mapped: ItemMapping,
        okta_id: &str,
        report: &mut ResyncReport,
    ) -> Result<(), CatalogError> {
        let kind = resource.kind().to_string();
        report.kind_mut(&kind).items += 1;
        let errors: Vec<_> =
            mapped.problems.iter().filter(|p| p.severity == Severity::Error).collect();
        if !errors.is_empty() {
            report.kind_mut(&kind).failed += 1;
            for p in &errors {
                note(report, &kind, okta_id, &p.field, &p.message);
            }
            // The item produced no entity; keep whatever it had in the catalog.
            if mapped.entities.is_empty() {
                if identifier_is_okta_id(resource.config()) && !okta_id.is_empty() {
                    self.protected_ids.insert(okta_id.to_string());
                } else if !self.unidentified_failures.contains(&kind) {
                    self.unidentified_failures.push(kind.clone());
                }
            }
        }
        if mapped.entities.is_empty() && errors.is_empty() {
            report.kind_mut(&kind).filtered += 1;
        }
        for m in mapped.entities {
            if !m.passed_selector {
                continue;
            }
            let entity = m.entity;
            if let Some(bp) = self.blueprints.get(&entity.blueprint)
                && let Err(problems) = bp.validate(&entity)
            {
                report.kind_mut(&kind).failed += 1;
                self.protected_ids.insert(entity.identifier.clone());
                for p in problems {
                    note(report, &kind, &entity.key().to_string(), "", &p.to_string());
                }
                continue;
            }
            self.pending.push((kind.clone(), entity));
        }
        if self.pending.len() >= BATCH {
            self.flush(report).await?;
        }
        Ok(())
    }

    /// Writes every queued entity.
    pub async fn flush(&mut self, report: &mut ResyncReport) -> Result<(), CatalogError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let batch = std::mem::take(&mut self.pending);
        let entities: Vec<Entity> = batch.iter().map(|(_, e)| e.clone()).collect();
        let outcomes = self.catalog.upsert(&entities, &self.cx).await?;
        for ((kind, entity), outcome) in batch.into_iter().zip(outcomes) {
            match outcome {
                UpsertOutcome::MissingRelated(_) => self.retry.push((kind, entity)),
                other => self.record(report, &kind, entity, &other),
            }
        }
        Ok(())
    }

    /// Retries entities whose relation targets were missing, now that every kind is written
    /// (whole entities, not the reduced copies Ocean retries: W-C4).
    pub async fn retry_missing_related(
        &mut self,
        report: &mut ResyncReport,
    ) -> Result<(), CatalogError> {
        for _ in 0..RELATED_RETRY_ROUNDS {
            if self.retry.is_empty() {
                break;
            }
            let batch = std::mem::take(&mut self.retry);
            let before = batch.len();
            for chunk in batch.chunks(BATCH) {
                let entities: Vec<Entity> = chunk.iter().map(|(_, e)| e.clone()).collect();
                let outcomes = self.catalog.upsert(&entities, &self.cx).await?;
                for ((kind, entity), outcome) in chunk.iter().cloned().zip(outcomes) {
                    match outcome {
                        UpsertOutcome::MissingRelated(_) => self.retry.push((kind, entity)),
                        other => self.record(report, &kind, entity, &other),
                    }
                }
            }
            if self.retry.len() == before {
                break;
            }
        }
        for (kind, entity) in std::mem::take(&mut self.retry) {
            let outcome = self.catalog.upsert(std::slice::from_ref(&entity), &self.cx).await?;
            let outcome =
                outcome.into_iter().next().unwrap_or(UpsertOutcome::Rejected("no outcome".into()));
            self.record(report, &kind, entity, &outcome);
        }
        Ok(())
    }

    fn record(
        &mut self,
        report: &mut ResyncReport,
        kind: &str,
        entity: Entity,
        outcome: &UpsertOutcome,
    ) {
        let key = entity.key();
        let k = report.kind_mut(kind);
        match outcome {
            UpsertOutcome::Created => {
                k.created += 1;
                k.upserted += 1;
                if let Some(p) = &mut self.plan {
                    p.create.push(key.to_string());
                }
            }
            UpsertOutcome::Updated => {
                k.updated += 1;
                k.upserted += 1;
                if let (Some(p), Some(existed)) = (&mut self.plan, &self.existed) {
                    if existed.contains(&key) {
                        p.update.push(key.to_string());
                    } else {
                        p.create.push(key.to_string());
                    }
                }
            }
            UpsertOutcome::Unchanged => {
                k.unchanged += 1;
                k.upserted += 1;
            }
            UpsertOutcome::MissingRelated(target) => {
                k.failed += 1;
                self.protected_ids.insert(key.identifier.clone());
                note(
                    report,
                    kind,
                    &key.to_string(),
                    "relations",
                    &format!("related entity {target} does not exist"),
                );
                return;
            }
            UpsertOutcome::Rejected(why) => {
                k.failed += 1;
                self.protected_ids.insert(key.identifier.clone());
                note(report, kind, &key.to_string(), "", why);
                return;
            }
        }
        self.blueprints_written.insert(key.blueprint.clone());
        self.written.insert(key);
    }
}

fn note(report: &mut ResyncReport, kind: &str, item: &str, field: &str, message: &str) {
    report.problem_count += 1;
    if report.problems.len() < PROBLEM_SAMPLE {
        report.problems.push(Problem {
            kind: kind.to_string(),
            item: item.to_string(),
            field: field.to_string(),
            message: message.to_string(),
        });
    }
}

/// True when the resource's identifier is exactly the Okta id (`.id`), so a failed item's
/// entity key is known even though the item produced no entity.
fn identifier_is_okta_id(resource: &ResourceConfig) -> bool {
    matches!(&resource.port.mappings.identifier, MappingValue::Jq(e) if e.source.trim() == ".id")
}

/// The blueprint a resource writes, when its mapping names it literally (`'"okta-user"'`).
pub fn literal_blueprint(resource: &ResourceConfig) -> Option<String> {
    let src = resource.port.mappings.blueprint.source.trim();
    let quoted = if src.len() >= 2 && src.starts_with('\'') && src.ends_with('\'') {
        format!("\"{}\"", &src[1..src.len() - 1])
    } else {
        src.to_string()
    };
    serde_json::from_str::<String>(&quoted).ok().filter(|s| !s.is_empty())
}
