//! An in-memory catalog: the conformance suite's reference target, and the empty baseline a dry
//! run plans against when the catalog file does not exist yet.
//!
//! It applies the same [`rules`](super::rules) as the SQLite catalog, under one mutex (held only
//! for the synchronous body of a call, never across an `.await`).

use super::rules::{self, Blueprints, Store};
use super::{
    BoxFut, Catalog, CatalogError, DeleteContext, OwnedKey, Stored, UpsertOutcome, WriteContext,
};
use crate::blueprint::Blueprint;
use crate::model::{Entity, EntityKey};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// The in-memory catalog.
#[derive(Debug, Default)]
pub struct MemoryCatalog {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    blueprints: Blueprints,
    entities: BTreeMap<EntityKey, Stored>,
}

impl Store for BTreeMap<EntityKey, Stored> {
    fn load(&mut self, key: &EntityKey) -> Result<Option<Stored>, CatalogError> {
        Ok(self.get(key).cloned())
    }
    fn exists(&mut self, blueprint: &str, identifier: &str) -> Result<bool, CatalogError> {
        let key = EntityKey { blueprint: blueprint.into(), identifier: identifier.into() };
        Ok(self.contains_key(&key))
    }
    fn save(&mut self, entity: &Entity, owner: &str, run_id: &str) -> Result<(), CatalogError> {
        let stored = Stored {
            entity: entity.clone(),
            owner: Some(owner.to_string()),
            run_id: Some(run_id.to_string()),
        };
        self.insert(entity.key(), stored);
        Ok(())
    }
    fn stamp(&mut self, key: &EntityKey, owner: &str, run_id: &str) -> Result<(), CatalogError> {
        if let Some(s) = self.get_mut(key) {
            s.owner = Some(owner.to_string());
            s.run_id = Some(run_id.to_string());
        }
        Ok(())
    }
    fn remove(&mut self, key: &EntityKey) -> Result<bool, CatalogError> {
        Ok(BTreeMap::remove(self, key).is_some())
    }
    fn referrers(
        &mut self,
        blueprint: &str,
        relation: &str,
        target: &str,
    ) -> Result<Vec<String>, CatalogError> {
        Ok(self
            .values()
            .filter(|s| s.entity.blueprint == blueprint)
            .filter(|s| s.entity.relations.get(relation).is_some_and(|v| rules::holds(v, target)))
            .map(|s| s.entity.identifier.clone())
            .collect())
    }
}

impl MemoryCatalog {
    /// An empty catalog.
    pub fn new() -> Self {
        Self::default()
    }

    fn with<T>(
        &self,
        f: impl FnOnce(&mut State) -> Result<T, CatalogError>,
    ) -> Result<T, CatalogError> {
        // The rules never fail on this store, so a call never leaves half a batch behind.
        f(&mut self.state.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

impl Catalog for MemoryCatalog {
    fn describe(&self) -> String {
        "memory".into()
    }

    fn put_blueprints(&self, blueprints: Vec<Blueprint>) -> BoxFut<'_, ()> {
        let r = self.with(|s| {
            for bp in blueprints {
                s.blueprints.insert(bp.identifier.clone(), bp);
            }
            Ok(())
        });
        Box::pin(async move { r })
    }

    fn upsert(&self, entities: Arc<[Entity]>, cx: WriteContext) -> BoxFut<'_, Vec<UpsertOutcome>> {
        let r = self.with(|s| rules::upsert(&mut s.entities, &s.blueprints, &entities, &cx));
        Box::pin(async move { r })
    }

    fn get(&self, keys: Vec<EntityKey>) -> BoxFut<'_, Vec<Option<Stored>>> {
        let r = self.with(|s| Ok(keys.iter().map(|k| s.entities.get(k).cloned()).collect()));
        Box::pin(async move { r })
    }

    fn owned(&self, owner: String, blueprints: Vec<String>) -> BoxFut<'_, Vec<OwnedKey>> {
        let r = self.with(|s| {
            Ok(s.entities
                .values()
                .filter(|e| e.owner.as_deref() == Some(owner.as_str()))
                .filter(|e| blueprints.contains(&e.entity.blueprint))
                .map(|e| OwnedKey {
                    key: e.entity.key(),
                    run_id: e.run_id.clone().unwrap_or_default(),
                })
                .collect())
        });
        Box::pin(async move { r })
    }

    fn dependents(&self, keys: Vec<EntityKey>) -> BoxFut<'_, Vec<EntityKey>> {
        let r = self.with(|s| rules::dependents(&mut s.entities, &s.blueprints, &keys));
        Box::pin(async move { r })
    }

    fn delete(&self, keys: Vec<EntityKey>, cx: DeleteContext) -> BoxFut<'_, Vec<EntityKey>> {
        let r = self.with(|s| rules::delete(&mut s.entities, &s.blueprints, &keys, &cx));
        Box::pin(async move { r })
    }

    fn export(&self) -> BoxFut<'_, Vec<Entity>> {
        let r = self.with(|s| Ok(s.entities.values().map(|s| s.entity.clone()).collect()));
        Box::pin(async move { r })
    }
}
