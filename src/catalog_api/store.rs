//! What `catalog serve` reads beyond the [`Catalog`](crate::catalog::Catalog) interface, on its
//! own connection to the same SQLite file: entity rows with their datasource and update time
//! (for searches), blueprints, and its own tables for integrations and raw data examples.
//!
//! Writes to entities and blueprints never happen here: they go through the SQLite catalog, so
//! Port's write rules are applied in one place. WAL mode lets this connection read while the
//! catalog's thread writes; a read sees every write whose call has returned.

use crate::blueprint::Blueprint;
use crate::catalog::rules::Blueprints;
use crate::model::Entity;
use rusqlite::{Connection, OptionalExtension, params};
use serde_json::{Map, Value};
use std::path::Path;

/// One stored entity with its datasource, run and update time.
#[derive(Debug, Clone)]
pub struct Row {
    /// The entity.
    pub entity: Entity,
    /// The datasource that last wrote it.
    pub datasource: Option<String>,
    /// The run that last wrote it.
    pub run_id: Option<String>,
    /// When it was last written (RFC 3339).
    pub updated_at: String,
}

/// A row as Port's entity JSON, serialized without building a JSON value first.
#[derive(serde::Serialize)]
pub struct RowOut<'a> {
    #[serde(flatten)]
    entity: &'a Entity,
    #[serde(rename = "updatedAt")]
    updated_at: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    datasource: Option<&'a str>,
    #[serde(rename = "resyncId", skip_serializing_if = "Option::is_none")]
    resync_id: Option<&'a str>,
}

impl Row {
    /// Port's entity JSON (as [`Row::to_json`]), for serializing straight into a response.
    pub fn out(&self) -> RowOut<'_> {
        RowOut {
            entity: &self.entity,
            updated_at: &self.updated_at,
            datasource: self.datasource.as_deref(),
            resync_id: self.run_id.as_deref(),
        }
    }

    /// Port's entity JSON, with `catalog serve`'s `datasource` and `resyncId` extensions.
    pub fn to_json(&self) -> Value {
        let mut v = serde_json::to_value(&self.entity).unwrap_or(Value::Null);
        if let Some(m) = v.as_object_mut() {
            m.insert("updatedAt".into(), Value::String(self.updated_at.clone()));
            if let Some(ds) = &self.datasource {
                m.insert(crate::port::wire::ext::DATASOURCE.into(), Value::String(ds.clone()));
            }
            if let Some(r) = &self.run_id {
                m.insert(crate::port::wire::ext::RESYNC_ID.into(), Value::String(r.clone()));
            }
        }
        v
    }
}

/// The server's connection.
pub struct Store {
    conn: Connection,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS port_integrations (
    identifier TEXT PRIMARY KEY,
    json       TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS port_examples (
    integration TEXT NOT NULL,
    kind        TEXT NOT NULL,
    json        TEXT NOT NULL,
    PRIMARY KEY (integration, kind)
);
";

const COLUMNS: &str = "blueprint, identifier, title, team, icon, properties, relations, datasource, run_id, updated_at";

type Result<T> = std::result::Result<T, String>;

fn sql(e: rusqlite::Error) -> String {
    format!("catalog database: {e}")
}

fn read_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Result<Row>> {
    let parse = |s: Option<String>| -> Result<Option<Value>> {
        s.map(|s| serde_json::from_str(&s).map_err(|e| e.to_string())).transpose()
    };
    let map = |s: String| -> Result<Map<String, Value>> {
        serde_json::from_str(&s).map_err(|e| e.to_string())
    };
    let (blueprint, identifier): (String, String) = (r.get(0)?, r.get(1)?);
    let (title, team, icon): (Option<String>, Option<String>, Option<String>) =
        (r.get(2)?, r.get(3)?, r.get(4)?);
    let (props, rels): (String, String) = (r.get(5)?, r.get(6)?);
    let (datasource, run_id, updated_at) = (r.get(7)?, r.get(8)?, r.get(9)?);
    Ok((|| {
        Ok(Row {
            entity: Entity {
                title: parse(title)?,
                team: parse(team)?,
                icon: parse(icon)?,
                properties: map(props)?,
                relations: map(rels)?,
                identifier,
                blueprint,
            },
            datasource,
            run_id,
            updated_at,
        })
    })()
    .map_err(|e: String| format!("a stored entity is corrupt: {e}")))
}

impl Store {
    /// Opens the catalog file (already created by the SQLite catalog) and the server's tables.
    pub fn open(path: &Path) -> Result<Self> {
        let conn = Connection::open(path).map_err(sql)?;
        conn.busy_timeout(std::time::Duration::from_secs(10)).map_err(sql)?;
        conn.execute_batch(SCHEMA).map_err(sql)?;
        Ok(Self { conn })
    }

    fn rows(&self, where_sql: &str, args: &[&dyn rusqlite::ToSql]) -> Result<Vec<Row>> {
        let mut stmt = self
            .conn
            .prepare_cached(&format!("SELECT {COLUMNS} FROM entities {where_sql}"))
            .map_err(sql)?;
        let rows = stmt.query_map(args, read_row).map_err(sql)?;
        let mut out = Vec::new();
        for row in rows {
            out.push(row.map_err(sql)??);
        }
        Ok(out)
    }

    /// Entities of `blueprint` with these identifiers.
    pub fn by_ids(&self, blueprint: &str, ids: &[String]) -> Result<Vec<Row>> {
        let mut out = Vec::new();
        for id in ids {
            out.extend(self.rows("WHERE blueprint = ?1 AND identifier = ?2", &[&blueprint, id])?);
        }
        Ok(out)
    }

    /// Every entity of `blueprint`, by identifier.
    pub fn of_blueprint(&self, blueprint: &str) -> Result<Vec<Row>> {
        self.rows("WHERE blueprint = ?1 ORDER BY identifier", &[&blueprint])
    }

    /// Every entity, by blueprint then identifier.
    pub fn all(&self) -> Result<Vec<Row>> {
        self.rows("ORDER BY blueprint, identifier", &[])
    }

    /// Up to `limit` entities whose datasource starts with `prefix` or is exactly `bare`, after
    /// the cursor `from` = (datasource, blueprint, identifier), in that order.
    pub fn datasource_page(
        &self,
        prefix: &str,
        bare: &str,
        from: &(String, String, String),
        limit: usize,
    ) -> Result<Vec<Row>> {
        // Every string starting with `prefix` sorts in [prefix, prefix + U+10FFFF).
        let upper = format!("{prefix}\u{10FFFF}");
        let (ds, bp, id) = from;
        let limit = limit as i64;
        self.rows(
            "WHERE (datasource = ?1 OR (datasource >= ?2 AND datasource < ?3))
               AND (datasource, blueprint, identifier) > (?4, ?5, ?6)
             ORDER BY datasource, blueprint, identifier LIMIT ?7",
            &[&bare, &prefix, &upper, ds, bp, id, &limit],
        )
    }

    /// Every blueprint.
    pub fn blueprints(&self) -> Result<Blueprints> {
        let mut stmt =
            self.conn.prepare_cached("SELECT identifier, json FROM blueprints").map_err(sql)?;
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
            .map_err(sql)?;
        let mut out = Blueprints::new();
        for row in rows {
            let (id, json) = row.map_err(sql)?;
            let bp: Blueprint = serde_json::from_str(&json)
                .map_err(|e| format!("stored blueprint {id} is corrupt: {e}"))?;
            out.insert(id, bp);
        }
        Ok(out)
    }

    /// An integration object.
    pub fn integration(&self, id: &str) -> Result<Option<Value>> {
        let json: Option<String> = self
            .conn
            .query_row("SELECT json FROM port_integrations WHERE identifier = ?1", [id], |r| {
                r.get(0)
            })
            .optional()
            .map_err(sql)?;
        json.map(|j| serde_json::from_str(&j).map_err(|e| format!("stored integration {id}: {e}")))
            .transpose()
    }

    /// Creates or replaces an integration object.
    pub fn put_integration(&self, id: &str, integration: &Value) -> Result<()> {
        self.conn
            .execute(
                "INSERT INTO port_integrations (identifier, json) VALUES (?1, ?2)
                 ON CONFLICT (identifier) DO UPDATE SET json = excluded.json",
                params![id, integration.to_string()],
            )
            .map_err(sql)?;
        Ok(())
    }

    /// Replaces a kind's raw data examples.
    pub fn put_examples(&self, integration: &str, kind: &str, examples: &Value) -> Result<()> {
        self.conn
            .execute(
                "INSERT INTO port_examples (integration, kind, json) VALUES (?1, ?2, ?3)
                 ON CONFLICT (integration, kind) DO UPDATE SET json = excluded.json",
                params![integration, kind, examples.to_string()],
            )
            .map_err(sql)?;
        Ok(())
    }

    /// A kind's raw data examples.
    pub fn examples(&self, integration: &str, kind: &str) -> Result<Option<Value>> {
        let json: Option<String> = self
            .conn
            .query_row(
                "SELECT json FROM port_examples WHERE integration = ?1 AND kind = ?2",
                [integration, kind],
                |r| r.get(0),
            )
            .optional()
            .map_err(sql)?;
        json.map(|j| serde_json::from_str(&j).map_err(|e| e.to_string())).transpose()
    }
}
