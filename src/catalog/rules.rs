//! Port's write semantics, once: the upsert rule (merge, dangling relations, created / updated /
//! unchanged) and the delete cascade (`delete_dependents` over *required* relations).
//!
//! Every embedded target (SQLite, in-memory) and the engine's dry-run overlay run these same
//! functions over their own [`Store`], so a dry run plans exactly what a real run does and the
//! targets cannot disagree about what an upsert means.

use super::{CatalogError, Change, DeleteContext, Stored, UpsertOutcome, WriteContext};
use crate::blueprint::Blueprint;
use crate::model::{Entity, EntityKey};
use serde_json::{Map, Value};
use std::collections::{BTreeSet, HashMap, HashSet};

/// Blueprints by identifier, as the store knows them.
pub type Blueprints = HashMap<String, Blueprint>;

/// The primitive reads and writes the rules need; one transaction's view of a target.
pub trait Store {
    /// The stored entity of `key`.
    fn load(&mut self, key: &EntityKey) -> Result<Option<Stored>, CatalogError>;
    /// Whether an entity of (`blueprint`, `identifier`) exists.
    fn exists(&mut self, blueprint: &str, identifier: &str) -> Result<bool, CatalogError>;
    /// Writes (creates or replaces) an entity with its ownership stamp.
    fn save(&mut self, entity: &Entity, owner: &str, run_id: &str) -> Result<(), CatalogError>;
    /// Moves the ownership stamp of an unchanged entity.
    fn stamp(&mut self, key: &EntityKey, owner: &str, run_id: &str) -> Result<(), CatalogError>;
    /// Deletes an entity; false when there was none.
    fn remove(&mut self, key: &EntityKey) -> Result<bool, CatalogError>;
    /// Identifiers of `blueprint` entities whose relation `relation` holds `target` (as a
    /// string or an element of an array).
    fn referrers(
        &mut self,
        blueprint: &str,
        relation: &str,
        target: &str,
    ) -> Result<Vec<String>, CatalogError>;
}

/// Relation targets of `entity` that its blueprint defines: (relation name, target key).
pub fn relation_targets<'a>(
    entity: &'a Entity,
    blueprint: &'a Blueprint,
) -> impl Iterator<Item = EntityKey> + 'a {
    entity.relations.iter().flat_map(move |(name, v)| {
        let target = blueprint.relations.get(name).map(|r| r.target.as_str());
        let ids: Vec<&str> = match (target, v) {
            (None, _) => Vec::new(),
            (Some(_), Value::String(s)) => vec![s.as_str()],
            (Some(_), Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        ids.into_iter().map(move |id| EntityKey {
            blueprint: target.unwrap_or_default().to_string(),
            identifier: id.to_string(),
        })
    })
}

/// Relation targets of `entity` that its blueprint defines, as (target blueprint, identifier),
/// borrowed (nothing is allocated per target: a group's members relation can hold 100,000).
pub fn target_refs<'a>(
    entity: &'a Entity,
    blueprint: &'a Blueprint,
) -> impl Iterator<Item = (&'a str, &'a str)> + 'a {
    entity.relations.iter().flat_map(move |(name, v)| {
        let target = blueprint.relations.get(name).map(|r| r.target.as_str());
        let ids: Box<dyn Iterator<Item = &'a str> + 'a> = match (target, v) {
            (None, _) => Box::new(std::iter::empty()),
            (Some(_), Value::String(s)) => Box::new(std::iter::once(s.as_str())),
            (Some(_), Value::Array(a)) => Box::new(a.iter().filter_map(Value::as_str)),
            _ => Box::new(std::iter::empty()),
        };
        ids.map(move |id| (target.unwrap_or_default(), id))
    })
}

/// Whether `v` (a relation value) holds `target`.
pub fn holds(v: &Value, target: &str) -> bool {
    match v {
        Value::String(s) => s == target,
        Value::Array(a) => a.iter().any(|x| x.as_str() == Some(target)),
        _ => false,
    }
}

/// (blueprint, relation) pairs whose relation is required and targets `blueprint`.
pub fn required_into<'a>(
    blueprints: &'a Blueprints,
    blueprint: &'a str,
) -> impl Iterator<Item = (&'a str, &'a str)> + 'a {
    blueprints.iter().flat_map(move |(bp_id, bp)| {
        bp.relations
            .iter()
            .filter(move |(_, rel)| rel.required && rel.target == blueprint)
            .map(move |(name, _)| (bp_id.as_str(), name.as_str()))
    })
}

/// Whether `entity` depends on one of `targets` through a required relation.
pub fn depends_on(entity: &Entity, blueprints: &Blueprints, targets: &HashSet<&EntityKey>) -> bool {
    let Some(bp) = blueprints.get(&entity.blueprint) else { return false };
    bp.relations.iter().filter(|(_, r)| r.required).any(|(name, rel)| {
        entity.relations.get(name.as_str()).is_some_and(|v| {
            targets.iter().any(|t| t.blueprint == rel.target && holds(v, &t.identifier))
        })
    })
}

/// An empty entity standing in for a missing relation target.
pub fn stub(key: &EntityKey) -> Entity {
    Entity {
        identifier: key.identifier.clone(),
        title: None,
        blueprint: key.blueprint.clone(),
        team: None,
        icon: None,
        properties: Map::new(),
        relations: Map::new(),
    }
}

/// What an upsert of `entity` stores over `stored`, and how it compares.
///
/// With `merge`, properties and relations the payload does not mention are kept, and an unset
/// title / team / icon keeps the stored one. The entity is unchanged when every field is equal
/// and it is already owned by `owner`.
pub fn merged<'a>(
    stored: Option<&Stored>,
    entity: &'a Entity,
    merge: bool,
    owner: &str,
) -> (std::borrow::Cow<'a, Entity>, Change) {
    use std::borrow::Cow;
    let Some(old) = stored else { return (Cow::Borrowed(entity), Change::Created) };
    let adds = |e: &Entity| {
        old.entity.properties.keys().any(|k| !e.properties.contains_key(k))
            || old.entity.relations.keys().any(|k| !e.relations.contains_key(k))
            || (e.title.is_none() && old.entity.title.is_some())
            || (e.team.is_none() && old.entity.team.is_some())
            || (e.icon.is_none() && old.entity.icon.is_some())
    };
    // A merge copies the payload only when the stored entity adds to it (a stub adds nothing,
    // and copying the Everyone group's members relation costs megabytes).
    let next = if merge && adds(entity) {
        // The payload's fields, then what only the stored entity has (nothing is copied twice).
        let mut next = entity.clone();
        for (k, v) in &old.entity.properties {
            if !next.properties.contains_key(k) {
                next.properties.insert(k.clone(), v.clone());
            }
        }
        for (k, v) in &old.entity.relations {
            if !next.relations.contains_key(k) {
                next.relations.insert(k.clone(), v.clone());
            }
        }
        next.title = next.title.or_else(|| old.entity.title.clone());
        next.team = next.team.or_else(|| old.entity.team.clone());
        next.icon = next.icon.or_else(|| old.entity.icon.clone());
        Cow::Owned(next)
    } else {
        Cow::Borrowed(entity)
    };
    let same = old.entity.title == next.title
        && old.entity.team == next.team
        && old.entity.icon == next.icon
        && old.entity.properties == next.properties
        && old.entity.relations == next.relations
        && old.owner.as_deref() == Some(owner);
    (next, if same { Change::Unchanged } else { Change::Updated })
}

/// Upserts `entities` into `store`: one outcome per entity, in order.
///
/// An entity that violates its blueprint is refused ([`UpsertOutcome::Rejected`], Port's 422).
/// A relation target counts as present when it is stored or in the same batch. A missing one is
/// created as an empty stub with `create_missing_related`, otherwise the entity is refused
/// ([`UpsertOutcome::MissingRelated`], Port's 404 `not_found`).
pub fn upsert(
    store: &mut impl Store,
    blueprints: &Blueprints,
    entities: &[Entity],
    cx: &WriteContext,
) -> Result<Vec<UpsertOutcome>, CatalogError> {
    // Targets known to be present: in the batch, or found stored earlier in this call.
    let mut present: HashSet<(&str, &str)> =
        entities.iter().map(|e| (e.blueprint.as_str(), e.identifier.as_str())).collect();
    let mut out = Vec::with_capacity(entities.len());
    for entity in entities {
        // Port validates every entity against its blueprint; so does every embedded target.
        if let Some(bp) = blueprints.get(&entity.blueprint)
            && let Err(problems) = bp.validate(entity)
        {
            let why: Vec<String> = problems.iter().map(ToString::to_string).collect();
            out.push(UpsertOutcome::Rejected(why.join("; ")));
            continue;
        }
        let mut missing = None;
        if let Some(bp) = blueprints.get(&entity.blueprint) {
            for (target_bp, id) in target_refs(entity, bp) {
                if present.contains(&(target_bp, id)) {
                    continue;
                }
                if !store.exists(target_bp, id)? {
                    let target =
                        EntityKey { blueprint: target_bp.to_string(), identifier: id.to_string() };
                    if !cx.create_missing_related {
                        missing = Some(target);
                        break;
                    }
                    store.save(&stub(&target), &cx.owner, &cx.run_id)?;
                }
                present.insert((target_bp, id));
            }
        }
        if let Some(target) = missing {
            out.push(UpsertOutcome::MissingRelated(target));
            continue;
        }
        let key = entity.key();
        let stored = store.load(&key)?;
        let (next, change) = merged(stored.as_ref(), entity, cx.merge, &cx.owner);
        if change == Change::Unchanged {
            store.stamp(&key, &cx.owner, &cx.run_id)?;
        } else {
            store.save(&next, &cx.owner, &cx.run_id)?;
        }
        out.push(UpsertOutcome::Written(change));
    }
    Ok(out)
}

/// The stored entities whose required relation points directly at one of `keys`.
pub fn dependents(
    store: &mut impl Store,
    blueprints: &Blueprints,
    keys: &[EntityKey],
) -> Result<Vec<EntityKey>, CatalogError> {
    let mut out = BTreeSet::new();
    for key in keys {
        for (bp, rel) in required_into(blueprints, &key.blueprint) {
            for identifier in store.referrers(bp, rel, &key.identifier)? {
                out.insert(EntityKey { blueprint: bp.to_string(), identifier });
            }
        }
    }
    Ok(out.into_iter().collect())
}

/// Deletes those of `keys` owned by `cx.owner` and, with `cx.dependents`, the transitive
/// closure of their dependents; returns every key deleted, sorted.
pub fn delete(
    store: &mut impl Store,
    blueprints: &Blueprints,
    keys: &[EntityKey],
    cx: &DeleteContext,
) -> Result<Vec<EntityKey>, CatalogError> {
    let mut deleted: BTreeSet<EntityKey> = BTreeSet::new();
    let mut queue: Vec<EntityKey> = Vec::new();
    for key in keys {
        let owned = store.load(key)?.is_some_and(|s| s.owner.as_deref() == Some(cx.owner.as_str()));
        if owned {
            queue.push(key.clone());
        }
    }
    // Bounded: every key is deleted at most once, and only stored keys enqueue more.
    while let Some(key) = queue.pop() {
        if deleted.contains(&key) || !store.remove(&key)? {
            continue;
        }
        if cx.dependents {
            queue.extend(dependents(store, blueprints, std::slice::from_ref(&key))?);
        }
        deleted.insert(key);
    }
    Ok(deleted.into_iter().collect())
}
