//! Dry runs: the engine's plan mode, for every catalog target.
//!
//! [`PlanCatalog`] wraps any [`Catalog`] as a copy-on-write overlay: reads go to the real target,
//! writes land in memory only. It applies the same [`rules`] as the embedded targets, so the
//! resync runs unchanged on it and plans exactly the creates, updates, unchanged entities and
//! deletions a real run would make — and writes nothing.

use crate::blueprint::Blueprint;
use crate::catalog::rules::{self, Blueprints, Store};
use crate::catalog::{
    BoxFut, Catalog, CatalogError, DeleteContext, OwnedKey, Stored, UpsertOutcome, WriteContext,
};
use crate::model::{Entity, EntityKey};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::{Arc, Mutex};

/// A catalog that reads through to `base` and keeps every write in memory.
#[derive(Debug)]
pub struct PlanCatalog {
    base: Arc<dyn Catalog>,
    overlay: Mutex<Overlay>,
}

#[derive(Debug, Default)]
struct Overlay {
    blueprints: Blueprints,
    /// Every key read or written so far: its planned state (`None`: absent or deleted).
    entities: HashMap<EntityKey, Option<Stored>>,
    /// Keys that were in the base catalog when first read.
    in_base: HashSet<EntityKey>,
    /// Keys written (or deleted) by the plan.
    touched: BTreeSet<EntityKey>,
}

impl Store for Overlay {
    fn load(&mut self, key: &EntityKey) -> Result<Option<Stored>, CatalogError> {
        Ok(self.entities.get(key).cloned().flatten())
    }
    fn exists(&mut self, blueprint: &str, identifier: &str) -> Result<bool, CatalogError> {
        let key = EntityKey { blueprint: blueprint.into(), identifier: identifier.into() };
        Ok(self.entities.get(&key).is_some_and(Option::is_some))
    }
    fn save(&mut self, entity: &Entity, owner: &str, run_id: &str) -> Result<(), CatalogError> {
        let key = entity.key();
        self.touched.insert(key.clone());
        let stored = Stored {
            entity: entity.clone(),
            owner: Some(owner.to_string()),
            run_id: Some(run_id.to_string()),
        };
        self.entities.insert(key, Some(stored));
        Ok(())
    }
    fn stamp(&mut self, key: &EntityKey, owner: &str, run_id: &str) -> Result<(), CatalogError> {
        if let Some(Some(s)) = self.entities.get_mut(key) {
            s.owner = Some(owner.to_string());
            s.run_id = Some(run_id.to_string());
            self.touched.insert(key.clone());
        }
        Ok(())
    }
    fn remove(&mut self, key: &EntityKey) -> Result<bool, CatalogError> {
        let existed = self.entities.get(key).is_some_and(Option::is_some);
        self.touched.insert(key.clone());
        self.entities.insert(key.clone(), None);
        Ok(existed)
    }
    fn referrers(&mut self, _: &str, _: &str, _: &str) -> Result<Vec<String>, CatalogError> {
        // Cascades are planned by `PlanCatalog::delete`, which knows the base catalog too.
        Ok(Vec::new())
    }
}

impl PlanCatalog {
    /// A plan over `base`.
    pub fn new(base: Arc<dyn Catalog>) -> Self {
        Self { base, overlay: Mutex::new(Overlay::default()) }
    }

    /// Whether `key` was in the catalog before the plan started (an entity first created as a
    /// relation stub and then written in full is a create, not an update).
    pub fn existed_before(&self, key: &EntityKey) -> bool {
        self.lock().in_base.contains(key)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Overlay> {
        self.overlay.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Reads the keys not yet known from the base catalog into the overlay.
    async fn fetch(&self, keys: impl IntoIterator<Item = EntityKey>) -> Result<(), CatalogError> {
        let missing: Vec<EntityKey> = {
            let o = self.lock();
            let set: BTreeSet<EntityKey> =
                keys.into_iter().filter(|k| !o.entities.contains_key(k)).collect();
            set.into_iter().collect()
        };
        if missing.is_empty() {
            return Ok(());
        }
        let found = self.base.get(missing.clone()).await?;
        let mut o = self.lock();
        for (key, stored) in missing.into_iter().zip(found) {
            if o.entities.contains_key(&key) {
                continue;
            }
            if stored.is_some() {
                o.in_base.insert(key.clone());
            }
            o.entities.insert(key, stored);
        }
        Ok(())
    }

    /// Direct dependents of `keys` in the planned state: the base catalog's, minus those the
    /// plan deleted or rewrote without the relation, plus planned entities that depend on them.
    async fn planned_dependents(&self, keys: &[EntityKey]) -> Result<Vec<EntityKey>, CatalogError> {
        let from_base = self.base.dependents(keys.to_vec()).await?;
        self.fetch(from_base.iter().cloned()).await?;
        let o = self.lock();
        let targets: HashSet<&EntityKey> = keys.iter().collect();
        let mut out: BTreeSet<EntityKey> = from_base
            .into_iter()
            .filter(|k| match o.entities.get(k) {
                Some(Some(s)) => {
                    !o.touched.contains(k) || rules::depends_on(&s.entity, &o.blueprints, &targets)
                }
                _ => false,
            })
            .collect();
        for key in &o.touched {
            if let Some(Some(s)) = o.entities.get(key)
                && rules::depends_on(&s.entity, &o.blueprints, &targets)
            {
                out.insert(key.clone());
            }
        }
        Ok(out.into_iter().collect())
    }
}

impl Catalog for PlanCatalog {
    fn describe(&self) -> String {
        format!("plan over {}", self.base.describe())
    }

    fn put_blueprints(&self, blueprints: Vec<Blueprint>) -> BoxFut<'_, ()> {
        let mut o = self.lock();
        for bp in blueprints {
            o.blueprints.insert(bp.identifier.clone(), bp);
        }
        Box::pin(async { Ok(()) })
    }

    fn upsert(&self, entities: Arc<[Entity]>, cx: WriteContext) -> BoxFut<'_, Vec<UpsertOutcome>> {
        Box::pin(async move {
            let needed: Vec<EntityKey> = {
                let o = self.lock();
                entities
                    .iter()
                    .flat_map(|e| {
                        let targets: Vec<EntityKey> = o
                            .blueprints
                            .get(&e.blueprint)
                            .map(|bp| rules::relation_targets(e, bp).collect())
                            .unwrap_or_default();
                        std::iter::once(e.key()).chain(targets)
                    })
                    .collect()
            };
            self.fetch(needed).await?;
            let mut o = self.lock();
            let blueprints = std::mem::take(&mut o.blueprints);
            let out = rules::upsert(&mut *o, &blueprints, &entities, &cx);
            o.blueprints = blueprints;
            out
        })
    }

    fn get(&self, keys: Vec<EntityKey>) -> BoxFut<'_, Vec<Option<Stored>>> {
        Box::pin(async move {
            self.fetch(keys.iter().cloned()).await?;
            let o = self.lock();
            Ok(keys.iter().map(|k| o.entities.get(k).cloned().flatten()).collect())
        })
    }

    fn owned(&self, owner: String, blueprints: Vec<String>) -> BoxFut<'_, Vec<OwnedKey>> {
        Box::pin(async move {
            let base = self.base.owned(owner.clone(), blueprints.clone()).await?;
            let o = self.lock();
            let mut out: BTreeMap<EntityKey, String> = base
                .into_iter()
                .filter(|k| !o.touched.contains(&k.key))
                .map(|k| (k.key, k.run_id))
                .collect();
            for key in &o.touched {
                if let Some(Some(s)) = o.entities.get(key)
                    && s.owner.as_deref() == Some(owner.as_str())
                    && blueprints.contains(&key.blueprint)
                {
                    out.insert(key.clone(), s.run_id.clone().unwrap_or_default());
                }
            }
            Ok(out.into_iter().map(|(key, run_id)| OwnedKey { key, run_id }).collect())
        })
    }

    fn dependents(&self, keys: Vec<EntityKey>) -> BoxFut<'_, Vec<EntityKey>> {
        Box::pin(async move { self.planned_dependents(&keys).await })
    }

    fn delete(&self, keys: Vec<EntityKey>, cx: DeleteContext) -> BoxFut<'_, Vec<EntityKey>> {
        Box::pin(async move {
            self.fetch(keys.iter().cloned()).await?;
            let owned: Vec<EntityKey> = {
                let o = self.lock();
                keys.into_iter()
                    .filter(|k| {
                        matches!(o.entities.get(k), Some(Some(s)) if s.owner.as_deref() == Some(cx.owner.as_str()))
                    })
                    .collect()
            };
            let doomed = if cx.dependents {
                crate::catalog::cascade(self, owned).await?
            } else {
                owned.into_iter().collect()
            };
            let mut o = self.lock();
            for key in &doomed {
                o.remove(key)?;
            }
            Ok(doomed.into_iter().collect())
        })
    }

    fn export(&self) -> BoxFut<'_, Vec<Entity>> {
        Box::pin(async move {
            let base = self.base.export().await?;
            let o = self.lock();
            let mut all: BTreeMap<EntityKey, Entity> = base
                .into_iter()
                .filter(|e| !o.touched.contains(&e.key()))
                .map(|e| (e.key(), e))
                .collect();
            for key in &o.touched {
                if let Some(Some(s)) = o.entities.get(key) {
                    all.insert(key.clone(), s.entity.clone());
                }
            }
            Ok(all.into_values().collect())
        })
    }
}
