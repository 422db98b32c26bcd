//! The embedded catalog: one SQLite file, no account needed.
//!
//! Tables: `blueprints(identifier, json)` and `entities(blueprint, identifier, title, team, icon,
//! properties, relations, datasource, run_id, updated_at)`, JSON columns as text. Each upsert
//! batch is one transaction. `VACUUM INTO` gives a consistent copy, which is how a dry run
//! works: the real resync runs against a scratch copy.

use super::{Catalog, CatalogError, OwnedKey, UpsertOutcome, WriteContext};
use crate::blueprint::Blueprint;
use crate::model::{Entity, EntityKey};
use rusqlite::{Connection, OptionalExtension, Transaction, params};
use serde_json::{Map, Value};
use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// The SQLite catalog.
#[derive(Debug)]
pub struct SqliteCatalog {
    path: PathBuf,
    conn: Mutex<Connection>,
}

const SCHEMA: &str = "
PRAGMA journal_mode = WAL;
PRAGMA synchronous = NORMAL;
CREATE TABLE IF NOT EXISTS blueprints (
    identifier TEXT PRIMARY KEY,
    json       TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS entities (
    blueprint  TEXT NOT NULL,
    identifier TEXT NOT NULL,
    title      TEXT,
    team       TEXT,
    icon       TEXT,
    properties TEXT NOT NULL,
    relations  TEXT NOT NULL,
    datasource TEXT,
    run_id     TEXT,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (blueprint, identifier)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS entities_by_owner ON entities (datasource, blueprint);
";

impl SqliteCatalog {
    /// Writes a consistent copy of the catalog to `dest` (which must not exist).
    pub fn copy_to(&self, dest: &Path) -> Result<(), CatalogError> {
        let conn = self.conn.lock().unwrap_or_else(|e| e.into_inner());
        conn.execute("VACUUM INTO ?1", params![dest.display().to_string()])
            .map_err(|e| err(&self.path, e))?;
        Ok(())
    }

    /// Opens (creating if needed) the catalog at `path`.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, CatalogError> {
        let path = path.as_ref().to_path_buf();
        let conn = Connection::open(&path).map_err(|e| err(&path, e))?;
        conn.execute_batch(SCHEMA).map_err(|e| err(&path, e))?;
        Ok(Self { path, conn: Mutex::new(conn) })
    }

    fn with_tx<T>(
        &self,
        commit: bool,
        f: impl FnOnce(&Transaction<'_>) -> Result<T, CatalogError>,
    ) -> Result<T, CatalogError> {
        let mut conn = self.conn.lock().unwrap_or_else(|e| e.into_inner());
        let tx = conn.transaction().map_err(|e| err(&self.path, e))?;
        let out = f(&tx)?;
        if commit {
            tx.commit().map_err(|e| err(&self.path, e))?;
        } else {
            tx.rollback().map_err(|e| err(&self.path, e))?;
        }
        Ok(out)
    }

    fn blueprint_map(
        &self,
        tx: &Transaction<'_>,
    ) -> Result<HashMap<String, Blueprint>, CatalogError> {
        let mut stmt = tx
            .prepare_cached("SELECT identifier, json FROM blueprints")
            .map_err(|e| err(&self.path, e))?;
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
            .map_err(|e| err(&self.path, e))?;
        let mut out = HashMap::new();
        for row in rows {
            let (id, json) = row.map_err(|e| err(&self.path, e))?;
            let bp: Blueprint = serde_json::from_str(&json).map_err(|e| CatalogError::Corrupt {
                key: format!("blueprint {id}"),
                message: e.to_string(),
            })?;
            out.insert(id, bp);
        }
        Ok(out)
    }
}

fn err(path: &Path, e: rusqlite::Error) -> CatalogError {
    CatalogError::Sqlite { path: path.display().to_string(), message: e.to_string() }
}

fn opt_json(v: &Option<Value>) -> Option<String> {
    v.as_ref().map(Value::to_string)
}

/// Relation targets of `entity`: (relation name, target identifiers).
fn relation_targets(entity: &Entity) -> Vec<(&str, Vec<&str>)> {
    entity
        .relations
        .iter()
        .map(|(name, v)| {
            let ids = match v {
                Value::String(s) => vec![s.as_str()],
                Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
                _ => Vec::new(),
            };
            (name.as_str(), ids)
        })
        .collect()
}

struct Stored {
    title: Option<Value>,
    team: Option<Value>,
    icon: Option<Value>,
    properties: Map<String, Value>,
    relations: Map<String, Value>,
    datasource: Option<String>,
}

fn parse_col(key: &EntityKey, col: Option<String>) -> Result<Option<Value>, CatalogError> {
    col.map(|s| serde_json::from_str(&s))
        .transpose()
        .map_err(|e| CatalogError::Corrupt { key: key.to_string(), message: e.to_string() })
}

fn parse_map(key: &EntityKey, s: &str) -> Result<Map<String, Value>, CatalogError> {
    serde_json::from_str(s)
        .map_err(|e| CatalogError::Corrupt { key: key.to_string(), message: e.to_string() })
}

impl SqliteCatalog {
    fn load(&self, tx: &Transaction<'_>, key: &EntityKey) -> Result<Option<Stored>, CatalogError> {
        let mut stmt = tx
            .prepare_cached(
                "SELECT title, team, icon, properties, relations, datasource FROM entities
                 WHERE blueprint = ?1 AND identifier = ?2",
            )
            .map_err(|e| err(&self.path, e))?;
        let row = stmt
            .query_row(params![key.blueprint, key.identifier], |r| {
                Ok((
                    r.get::<_, Option<String>>(0)?,
                    r.get::<_, Option<String>>(1)?,
                    r.get::<_, Option<String>>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, Option<String>>(5)?,
                ))
            })
            .optional()
            .map_err(|e| err(&self.path, e))?;
        let Some((title, team, icon, props, rels, datasource)) = row else { return Ok(None) };
        Ok(Some(Stored {
            title: parse_col(key, title)?,
            team: parse_col(key, team)?,
            icon: parse_col(key, icon)?,
            properties: parse_map(key, &props)?,
            relations: parse_map(key, &rels)?,
            datasource,
        }))
    }

    fn exists(
        &self,
        tx: &Transaction<'_>,
        blueprint: &str,
        id: &str,
    ) -> Result<bool, CatalogError> {
        let mut stmt = tx
            .prepare_cached("SELECT 1 FROM entities WHERE blueprint = ?1 AND identifier = ?2")
            .map_err(|e| err(&self.path, e))?;
        stmt.exists(params![blueprint, id]).map_err(|e| err(&self.path, e))
    }

    fn write(
        &self,
        tx: &Transaction<'_>,
        e: &Entity,
        cx: &WriteContext,
    ) -> Result<(), CatalogError> {
        let mut stmt = tx
            .prepare_cached(
                "INSERT INTO entities (blueprint, identifier, title, team, icon, properties, relations,
                                       datasource, run_id, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
                 ON CONFLICT (blueprint, identifier) DO UPDATE SET
                   title = excluded.title, team = excluded.team, icon = excluded.icon,
                   properties = excluded.properties, relations = excluded.relations,
                   datasource = excluded.datasource, run_id = excluded.run_id,
                   updated_at = excluded.updated_at",
            )
            .map_err(|e| err(&self.path, e))?;
        stmt.execute(params![
            e.blueprint,
            e.identifier,
            opt_json(&e.title),
            opt_json(&e.team),
            opt_json(&e.icon),
            Value::Object(e.properties.clone()).to_string(),
            Value::Object(e.relations.clone()).to_string(),
            cx.owner,
            cx.run_id,
            jiff::Timestamp::now().to_string(),
        ])
        .map_err(|e| err(&self.path, e))?;
        Ok(())
    }

    fn upsert_sync(
        &self,
        entities: &[Entity],
        cx: &WriteContext,
    ) -> Result<Vec<UpsertOutcome>, CatalogError> {
        self.with_tx(true, |tx| {
            let blueprints = self.blueprint_map(tx)?;
            let batch: HashSet<(&str, &str)> =
                entities.iter().map(|e| (e.blueprint.as_str(), e.identifier.as_str())).collect();
            let mut out = Vec::with_capacity(entities.len());
            for entity in entities {
                let key = entity.key();
                // Dangling relations: stub them, or refuse the entity (Port's 404 not_found).
                let mut missing = None;
                if let Some(bp) = blueprints.get(&entity.blueprint) {
                    'rels: for (name, ids) in relation_targets(entity) {
                        let Some(rel) = bp.relations.get(name) else { continue };
                        for id in ids {
                            if batch.contains(&(rel.target.as_str(), id)) || self.exists(tx, &rel.target, id)? {
                                continue;
                            }
                            if cx.create_missing_related {
                                let stub = Entity {
                                    identifier: id.to_string(),
                                    title: None,
                                    blueprint: rel.target.clone(),
                                    team: None,
                                    icon: None,
                                    properties: Map::new(),
                                    relations: Map::new(),
                                };
                                self.write(tx, &stub, cx)?;
                            } else {
                                missing = Some(EntityKey { blueprint: rel.target.clone(), identifier: id.to_string() });
                                break 'rels;
                            }
                        }
                    }
                }
                if let Some(m) = missing {
                    out.push(UpsertOutcome::MissingRelated(m));
                    continue;
                }
                let stored = self.load(tx, &key)?;
                let mut next = entity.clone();
                if let (true, Some(old)) = (cx.merge, &stored) {
                    let mut props = old.properties.clone();
                    props.extend(entity.properties.clone());
                    next.properties = props;
                    let mut rels = old.relations.clone();
                    rels.extend(entity.relations.clone());
                    next.relations = rels;
                    next.title = entity.title.clone().or_else(|| old.title.clone());
                    next.team = entity.team.clone().or_else(|| old.team.clone());
                    next.icon = entity.icon.clone().or_else(|| old.icon.clone());
                }
                let outcome = match &stored {
                    None => UpsertOutcome::Created,
                    Some(old)
                        if old.title == next.title
                            && old.team == next.team
                            && old.icon == next.icon
                            && old.properties == next.properties
                            && old.relations == next.relations
                            && old.datasource.as_deref() == Some(cx.owner.as_str()) =>
                    {
                        UpsertOutcome::Unchanged
                    }
                    Some(_) => UpsertOutcome::Updated,
                };
                if outcome == UpsertOutcome::Unchanged {
                    let mut stmt = tx
                        .prepare_cached("UPDATE entities SET run_id = ?3 WHERE blueprint = ?1 AND identifier = ?2")
                        .map_err(|e| err(&self.path, e))?;
                    stmt.execute(params![key.blueprint, key.identifier, cx.run_id])
                        .map_err(|e| err(&self.path, e))?;
                } else {
                    self.write(tx, &next, cx)?;
                }
                out.push(outcome);
            }
            Ok(out)
        })
    }

    fn delete_sync(
        &self,
        keys: &[EntityKey],
        delete_dependents: bool,
    ) -> Result<Vec<EntityKey>, CatalogError> {
        self.with_tx(true, |tx| {
            let blueprints = self.blueprint_map(tx)?;
            let mut deleted: BTreeSet<EntityKey> = BTreeSet::new();
            let mut queue: Vec<EntityKey> = keys.to_vec();
            // Bounded: every round deletes at least one entity or stops.
            while let Some(key) = queue.pop() {
                if deleted.contains(&key) {
                    continue;
                }
                let n = tx
                    .execute(
                        "DELETE FROM entities WHERE blueprint = ?1 AND identifier = ?2",
                        params![key.blueprint, key.identifier],
                    )
                    .map_err(|e| err(&self.path, e))?;
                if n == 0 {
                    continue;
                }
                if delete_dependents {
                    for (bp_id, bp) in &blueprints {
                        for (rel_name, rel) in bp.relations.iter() {
                            if !rel.required || rel.target != key.blueprint {
                                continue;
                            }
                            let path = format!("$.\"{}\"", rel_name.replace('"', "\\\""));
                            let mut stmt = tx
                                .prepare_cached(
                                    "SELECT identifier FROM entities WHERE blueprint = ?1 AND EXISTS
                                     (SELECT 1 FROM json_each(entities.relations, ?2) WHERE value = ?3)",
                                )
                                .map_err(|e| err(&self.path, e))?;
                            let deps = stmt
                                .query_map(params![bp_id, path, key.identifier], |r| r.get::<_, String>(0))
                                .map_err(|e| err(&self.path, e))?;
                            for dep in deps {
                                let identifier = dep.map_err(|e| err(&self.path, e))?;
                                queue.push(EntityKey { blueprint: bp_id.clone(), identifier });
                            }
                        }
                    }
                }
                deleted.insert(key);
            }
            Ok(deleted.into_iter().collect())
        })
    }
}

impl Catalog for SqliteCatalog {
    async fn put_blueprints(&self, blueprints: &[Blueprint]) -> Result<(), CatalogError> {
        self.with_tx(true, |tx| {
            for bp in blueprints {
                let json = serde_json::to_string(bp).map_err(|e| CatalogError::Corrupt {
                    key: bp.identifier.clone(),
                    message: e.to_string(),
                })?;
                tx.execute(
                    "INSERT INTO blueprints (identifier, json) VALUES (?1, ?2)
                     ON CONFLICT (identifier) DO UPDATE SET json = excluded.json",
                    params![bp.identifier, json],
                )
                .map_err(|e| err(&self.path, e))?;
            }
            Ok(())
        })
    }

    async fn upsert(
        &self,
        entities: &[Entity],
        cx: &WriteContext,
    ) -> Result<Vec<UpsertOutcome>, CatalogError> {
        self.upsert_sync(entities, cx)
    }

    async fn owned(
        &self,
        owner: &str,
        blueprints: &[String],
    ) -> Result<Vec<OwnedKey>, CatalogError> {
        self.with_tx(false, |tx| {
            let mut stmt = tx
                .prepare_cached("SELECT identifier, run_id FROM entities WHERE datasource = ?1 AND blueprint = ?2")
                .map_err(|e| err(&self.path, e))?;
            let mut out = Vec::new();
            for bp in blueprints {
                let rows = stmt
                    .query_map(params![owner, bp], |r| {
                        Ok((r.get::<_, String>(0)?, r.get::<_, Option<String>>(1)?))
                    })
                    .map_err(|e| err(&self.path, e))?;
                for row in rows {
                    let (identifier, run_id) = row.map_err(|e| err(&self.path, e))?;
                    out.push(OwnedKey {
                        key: EntityKey { blueprint: bp.clone(), identifier },
                        run_id: run_id.unwrap_or_default(),
                    });
                }
            }
            Ok(out)
        })
    }

    async fn delete(
        &self,
        keys: &[EntityKey],
        delete_dependents: bool,
    ) -> Result<Vec<EntityKey>, CatalogError> {
        self.delete_sync(keys, delete_dependents)
    }

    async fn export(&self) -> Result<Vec<Entity>, CatalogError> {
        self.with_tx(false, |tx| {
            let mut stmt = tx
                .prepare_cached(
                    "SELECT blueprint, identifier, title, team, icon, properties, relations FROM entities
                     ORDER BY blueprint, identifier",
                )
                .map_err(|e| err(&self.path, e))?;
            let rows = stmt
                .query_map([], |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, Option<String>>(2)?,
                        r.get::<_, Option<String>>(3)?,
                        r.get::<_, Option<String>>(4)?,
                        r.get::<_, String>(5)?,
                        r.get::<_, String>(6)?,
                    ))
                })
                .map_err(|e| err(&self.path, e))?;
            let mut out = Vec::new();
            for row in rows {
                let (blueprint, identifier, title, team, icon, props, rels) =
                    row.map_err(|e| err(&self.path, e))?;
                let key = EntityKey { blueprint: blueprint.clone(), identifier: identifier.clone() };
                out.push(Entity {
                    identifier,
                    title: parse_col(&key, title)?,
                    blueprint,
                    team: parse_col(&key, team)?,
                    icon: parse_col(&key, icon)?,
                    properties: parse_map(&key, &props)?,
                    relations: parse_map(&key, &rels)?,
                });
            }
            Ok(out)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::blueprint::{BlueprintSchema, Relation, indexmap_like::OrderedMap};
    use serde_json::json;

    fn tmp(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("port-okta-test-{}-{name}", std::process::id()));
        let _ = std::fs::remove_file(&dir);
        dir
    }

    fn bp(id: &str, rels: Vec<(&str, &str, bool, bool)>) -> Blueprint {
        Blueprint {
            identifier: id.into(),
            title: None,
            icon: None,
            schema: BlueprintSchema::default(),
            calculation_properties: Map::new(),
            relations: OrderedMap(
                rels.into_iter()
                    .map(|(n, t, required, many)| {
                        let target = t.into();
                        let rel = Relation { target, required, many, ..Default::default() };
                        (n.to_string(), rel)
                    })
                    .collect(),
            ),
            extra: Map::new(),
        }
    }

    fn ent(bp: &str, id: &str, props: Value, rels: Value) -> Entity {
        Entity {
            identifier: id.into(),
            title: Some(json!(id)),
            blueprint: bp.into(),
            team: None,
            icon: None,
            properties: props.as_object().cloned().unwrap_or_default(),
            relations: rels.as_object().cloned().unwrap_or_default(),
        }
    }

    fn cx(run: &str) -> WriteContext {
        WriteContext {
            owner: "okta".into(),
            run_id: run.into(),
            merge: true,
            create_missing_related: false,
        }
    }

    fn block<T>(f: impl std::future::Future<Output = T>) -> T {
        tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f)
    }

    #[test]
    fn upsert_reports_created_updated_unchanged_and_exports_sorted() {
        let path = tmp("upsert.db");
        let c = SqliteCatalog::open(&path).unwrap();
        block(async {
            c.put_blueprints(&[bp("u", vec![])]).await.unwrap();
            let a = ent("u", "b", json!({"x": 1}), json!({}));
            let b = ent("u", "a", json!({"x": 2}), json!({}));
            let out = c.upsert(&[a.clone(), b.clone()], &cx("r1")).await.unwrap();
            assert_eq!(out, [UpsertOutcome::Created, UpsertOutcome::Created]);
            let mut a2 = a.clone();
            a2.properties.insert("x".into(), json!(3));
            let out = c.upsert(&[a2.clone(), b.clone()], &cx("r2")).await.unwrap();
            assert_eq!(out, [UpsertOutcome::Updated, UpsertOutcome::Unchanged]);
            let all = c.export().await.unwrap();
            assert_eq!(all, vec![b, a2]);
            let owned = c.owned("okta", &["u".into()]).await.unwrap();
            assert!(owned.iter().all(|o| o.run_id == "r2"));
        });
        drop(c);
        let _ = std::fs::remove_file(path);
    }

    #[test]
    fn merge_keeps_unmentioned_properties_and_replace_drops_them() {
        let path = tmp("merge.db");
        let c = SqliteCatalog::open(&path).unwrap();
        block(async {
            c.upsert(&[ent("u", "a", json!({"x": 1, "y": 2}), json!({}))], &cx("r1"))
                .await
                .unwrap();
            c.upsert(&[ent("u", "a", json!({"x": 5}), json!({}))], &cx("r2")).await.unwrap();
            assert_eq!(
                c.export().await.unwrap()[0].properties,
                json!({"x": 5, "y": 2}).as_object().cloned().unwrap()
            );
            let replace = WriteContext { merge: false, ..cx("r3") };
            c.upsert(&[ent("u", "a", json!({"x": 6}), json!({}))], &replace).await.unwrap();
            assert_eq!(
                c.export().await.unwrap()[0].properties,
                json!({"x": 6}).as_object().cloned().unwrap()
            );
        });
        drop(c);
        let _ = std::fs::remove_file(path);
    }

    #[test]
    fn missing_related_entities_are_refused_or_stubbed() {
        let path = tmp("related.db");
        let c = SqliteCatalog::open(&path).unwrap();
        block(async {
            c.put_blueprints(&[bp("u", vec![("groups", "g", false, true)]), bp("g", vec![])])
                .await
                .unwrap();
            let u = ent("u", "u1", json!({}), json!({"groups": ["g1", "g2"]}));
            let out = c.upsert(std::slice::from_ref(&u), &cx("r1")).await.unwrap();
            assert_eq!(
                out,
                [UpsertOutcome::MissingRelated(EntityKey {
                    blueprint: "g".into(),
                    identifier: "g1".into()
                })]
            );
            assert!(c.export().await.unwrap().is_empty());
            // A target in the same batch counts as present.
            let g1 = ent("g", "g1", json!({}), json!({}));
            let stubbing = WriteContext { create_missing_related: true, ..cx("r2") };
            let out = c.upsert(&[u, g1], &stubbing).await.unwrap();
            assert!(out.iter().all(UpsertOutcome::is_ok));
            let ids: Vec<String> =
                c.export().await.unwrap().into_iter().map(|e| e.key().to_string()).collect();
            assert_eq!(ids, ["g/g1", "g/g2", "u/u1"]);
        });
        drop(c);
        let _ = std::fs::remove_file(path);
    }

    #[test]
    fn delete_dependents_follows_required_relations_only() {
        let path = tmp("delete.db");
        let c = SqliteCatalog::open(&path).unwrap();
        block(async {
            c.put_blueprints(&[
                bp("g", vec![]),
                bp("req", vec![("owner", "g", true, false)]),
                bp("opt", vec![("owner", "g", false, false)]),
            ])
            .await
            .unwrap();
            let s = WriteContext { create_missing_related: true, ..cx("r1") };
            c.upsert(
                &[
                    ent("g", "g1", json!({}), json!({})),
                    ent("req", "r1", json!({}), json!({"owner": "g1"})),
                    ent("opt", "o1", json!({}), json!({"owner": "g1"})),
                ],
                &s,
            )
            .await
            .unwrap();
            let key = EntityKey { blueprint: "g".into(), identifier: "g1".into() };
            let deleted = c.delete(&[key], true).await.unwrap();
            let ids: Vec<String> = deleted.iter().map(ToString::to_string).collect();
            assert_eq!(ids, ["g/g1", "req/r1"]);
            let left: Vec<String> =
                c.export().await.unwrap().iter().map(|e| e.key().to_string()).collect();
            assert_eq!(left, ["opt/o1"]);
        });
        drop(c);
        let _ = std::fs::remove_file(path);
    }
}
