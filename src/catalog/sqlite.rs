//! The embedded catalog: one SQLite file, no account needed.
//!
//! Tables: `blueprints(identifier, json)` and `entities(blueprint, identifier, title, team, icon,
//! properties, relations, datasource, run_id, updated_at)`, JSON columns as text. Each call is
//! one transaction (an upsert batch is all or nothing).
//!
//! SQLite calls block, so the connection lives on a dedicated thread that runs the catalog's
//! calls one after the other; the async methods send it a job and await the answer, and the
//! executor's threads never wait on the database. Dropping the catalog lets the thread finish
//! the jobs already sent, closes the connection and joins the thread.

use super::rules::{self, Blueprints, Store};
use super::{
    BoxFut, Catalog, CatalogError, DeleteContext, OwnedKey, RunInfo, RunOutcome, RunStart, Stored,
    UpsertOutcome, WriteContext,
};
use crate::blueprint::Blueprint;
use crate::model::{Entity, EntityKey};
use rusqlite::{Connection, OptionalExtension, Transaction, params};
use serde_json::{Map, Value};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc;

/// The SQLite catalog.
#[derive(Debug)]
pub struct SqliteCatalog {
    path: PathBuf,
    jobs: Option<mpsc::Sender<Job>>,
    worker: Option<std::thread::JoinHandle<()>>,
}

type Job = Box<dyn FnOnce(&mut Db) + Send>;

/// The connection, owned by the catalog's thread.
struct Db {
    conn: Connection,
    path: String,
    /// The writer lock (`<catalog>-lock`), held from `begin_run` to `end_run`, with how many
    /// runs of this process hold it (a resync inside a `serve` session nests).
    lock: Option<(std::fs::File, u32)>,
}

/// A run as the `runs` table records it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct RunRecord {
    /// The run id.
    pub run_id: String,
    /// The integration that ran it.
    pub owner: String,
    /// Its process id.
    pub pid: u32,
    /// When it started (RFC 3339).
    pub started: String,
    /// When it ended, if it did.
    pub ended: Option<String>,
    /// `running`, `completed`, `partial`, `failed` or `interrupted`.
    pub status: String,
    /// What was partial or why it failed.
    pub detail: Option<String>,
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
CREATE TABLE IF NOT EXISTS runs (
    run_id  TEXT PRIMARY KEY,
    owner   TEXT NOT NULL,
    pid     INTEGER NOT NULL,
    started TEXT NOT NULL,
    ended   TEXT,
    status  TEXT NOT NULL,
    detail  TEXT
);
";

/// How long a write waits for another connection's transaction (readers never block writers in
/// WAL mode; two writers only meet when something bypasses the run lock).
const BUSY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

impl SqliteCatalog {
    /// Opens (creating if needed) the catalog at `path` and starts its thread.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, CatalogError> {
        let path = path.as_ref().to_path_buf();
        let name = path.display().to_string();
        let conn = Connection::open(&path).map_err(err(&name, "open"))?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(err(&name, "open"))?;
        conn.execute_batch(SCHEMA).map_err(err(&name, "create the schema"))?;
        let mut db = Db { conn, path: name, lock: None };
        let (jobs, rx) = mpsc::channel::<Job>();
        let worker = std::thread::Builder::new()
            .name("sqlite-catalog".into())
            .spawn(move || {
                for job in rx {
                    job(&mut db);
                }
            })
            .map_err(|e| CatalogError::Closed(format!("{} (no thread: {e})", path.display())))?;
        Ok(Self { path, jobs: Some(jobs), worker: Some(worker) })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `f` on the catalog's thread; a panic in `f` becomes [`CatalogError::Closed`] for
    /// this call only.
    fn call<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Db) -> Result<T, CatalogError> + Send + 'static,
    ) -> BoxFut<'_, T> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move |db| {
            let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(db)));
            let _ = tx.send(out.unwrap_or_else(|_| {
                Err(CatalogError::Closed(format!("{} (a call panicked)", db.path)))
            }));
        });
        let sent = self.jobs.as_ref().is_some_and(|j| j.send(job).is_ok());
        let closed = || CatalogError::Closed(self.path.display().to_string());
        Box::pin(async move {
            if !sent {
                return Err(closed());
            }
            rx.await.map_err(|_| closed())?
        })
    }
}

impl Drop for SqliteCatalog {
    fn drop(&mut self) {
        drop(self.jobs.take());
        if let Some(worker) = self.worker.take() {
            let _ = worker.join();
        }
    }
}

fn err<'a>(path: &'a str, op: &'static str) -> impl FnOnce(rusqlite::Error) -> CatalogError + 'a {
    move |source| CatalogError::Sqlite { path: path.to_string(), op, source }
}

impl Db {
    /// Runs `f` in one transaction, committed when `commit` (reads roll back). A writing
    /// transaction starts `IMMEDIATE`: it takes SQLite's write lock up front, so a concurrent
    /// writer waits (up to the busy timeout) instead of failing on a lock upgrade.
    fn tx<T>(
        &mut self,
        op: &'static str,
        commit: bool,
        f: impl FnOnce(&mut TxStore<'_>) -> Result<T, CatalogError>,
    ) -> Result<T, CatalogError> {
        let behavior = if commit {
            rusqlite::TransactionBehavior::Immediate
        } else {
            rusqlite::TransactionBehavior::Deferred
        };
        let tx = self.conn.transaction_with_behavior(behavior).map_err(err(&self.path, op))?;
        let mut store = TxStore { tx: &tx, path: &self.path, op };
        let out = f(&mut store)?;
        if commit {
            tx.commit().map_err(err(&self.path, op))?;
        } else {
            tx.rollback().map_err(err(&self.path, op))?;
        }
        Ok(out)
    }
}

/// The lock file next to a catalog.
fn lock_path(db: &str) -> PathBuf {
    PathBuf::from(format!("{db}-lock"))
}

/// Who holds the lock, as its holder wrote it (`pid N, started T`).
fn holder_of(db: &str) -> String {
    std::fs::read_to_string(lock_path(db))
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "an unknown process".into())
}

impl Db {
    /// Takes the writer lock without waiting: `Some(true)` when taken now, `Some(false)` when
    /// this process already held it (a nested run), `None` when another process holds it.
    fn try_lock(&mut self, run: &RunInfo) -> Result<Option<bool>, CatalogError> {
        use std::io::Write;
        if let Some((_, depth)) = &mut self.lock {
            *depth += 1;
            return Ok(Some(false));
        }
        let path = lock_path(&self.path);
        let io = |e: std::io::Error| CatalogError::Closed(format!("{} ({e})", path.display()));
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => return Ok(None),
            Err(std::fs::TryLockError::Error(e)) => return Err(io(e)),
        }
        file.set_len(0).map_err(io)?;
        (&file)
            .write_all(
                format!("pid {}, started {}, run {}\n", run.pid, run.started, run.run_id)
                    .as_bytes(),
            )
            .map_err(io)?;
        self.lock = Some((file, 1));
        Ok(Some(true))
    }

    /// Records `run` as running. When the lock was taken afresh, earlier runs still marked
    /// running were interrupted (their process died without ending them: this one holds the
    /// lock they would hold).
    fn start_run(&mut self, run: &RunInfo, fresh: bool) -> Result<RunStart, CatalogError> {
        self.tx("begin run", true, |s| {
            let interrupted =
                if fresh { read_runs(s, "WHERE status = 'running'", 1000)? } else { Vec::new() };
            if fresh {
                s.tx.execute("UPDATE runs SET status = 'interrupted' WHERE status = 'running'", [])
                    .map_err(s.err())?;
            }
            s.tx.execute(
                "INSERT OR REPLACE INTO runs (run_id, owner, pid, started, status)
                 VALUES (?1, ?2, ?3, ?4, 'running')",
                params![run.run_id, run.owner, run.pid, run.started.to_string()],
            )
            .map_err(s.err())?;
            let interrupted = interrupted
                .into_iter()
                .map(|r| RunInfo {
                    run_id: r.run_id,
                    owner: r.owner,
                    started: r.started.parse().unwrap_or(run.started),
                    pid: r.pid,
                })
                .collect();
            Ok(RunStart { interrupted })
        })
    }
}

fn read_runs(s: &TxStore<'_>, filter: &str, limit: u32) -> Result<Vec<RunRecord>, CatalogError> {
    let mut stmt =
        s.tx.prepare(&format!(
            "SELECT run_id, owner, pid, started, ended, status, detail FROM runs {filter}
             ORDER BY started DESC LIMIT {limit}"
        ))
        .map_err(s.err())?;
    let rows = stmt
        .query_map([], |r| {
            Ok(RunRecord {
                run_id: r.get(0)?,
                owner: r.get(1)?,
                pid: r.get(2)?,
                started: r.get(3)?,
                ended: r.get(4)?,
                status: r.get(5)?,
                detail: r.get(6)?,
            })
        })
        .map_err(s.err())?;
    rows.collect::<Result<Vec<_>, _>>().map_err(s.err())
}

/// One transaction's view of the database.
struct TxStore<'a> {
    tx: &'a Transaction<'a>,
    path: &'a str,
    op: &'static str,
}

fn opt_json(v: &Option<Value>) -> Option<String> {
    v.as_ref().map(Value::to_string)
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

/// The columns of an entity row, in `ENTITY_COLUMNS` order.
const ENTITY_COLUMNS: &str =
    "blueprint, identifier, title, team, icon, properties, relations, datasource, run_id";

type Row = (
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    String,
    String,
    Option<String>,
    Option<String>,
);

fn read_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Row> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
        r.get(6)?,
        r.get(7)?,
        r.get(8)?,
    ))
}

fn stored_of(row: Row) -> Result<Stored, CatalogError> {
    let (blueprint, identifier, title, team, icon, props, rels, datasource, run_id) = row;
    let key = EntityKey { blueprint, identifier };
    Ok(Stored {
        entity: Entity {
            title: parse_col(&key, title)?,
            team: parse_col(&key, team)?,
            icon: parse_col(&key, icon)?,
            properties: parse_map(&key, &props)?,
            relations: parse_map(&key, &rels)?,
            identifier: key.identifier,
            blueprint: key.blueprint,
        },
        owner: datasource,
        run_id,
    })
}

impl<'a> TxStore<'a> {
    fn err(&self) -> impl FnOnce(rusqlite::Error) -> CatalogError + 'a {
        err(self.path, self.op)
    }

    fn blueprints(&self) -> Result<Blueprints, CatalogError> {
        let mut stmt = self
            .tx
            .prepare_cached("SELECT identifier, json FROM blueprints")
            .map_err(self.err())?;
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
            .map_err(self.err())?;
        let mut out = Blueprints::new();
        for row in rows {
            let (id, json) = row.map_err(self.err())?;
            let bp: Blueprint = serde_json::from_str(&json).map_err(|e| CatalogError::Corrupt {
                key: format!("blueprint {id}"),
                message: e.to_string(),
            })?;
            out.insert(id, bp);
        }
        Ok(out)
    }
}

impl Store for TxStore<'_> {
    fn load(&mut self, key: &EntityKey) -> Result<Option<Stored>, CatalogError> {
        let mut stmt = self
            .tx
            .prepare_cached(&format!(
                "SELECT {ENTITY_COLUMNS} FROM entities WHERE blueprint = ?1 AND identifier = ?2"
            ))
            .map_err(self.err())?;
        let row = stmt
            .query_row(params![key.blueprint, key.identifier], read_row)
            .optional()
            .map_err(self.err())?;
        row.map(stored_of).transpose()
    }

    fn exists(&mut self, blueprint: &str, identifier: &str) -> Result<bool, CatalogError> {
        let mut stmt = self
            .tx
            .prepare_cached("SELECT 1 FROM entities WHERE blueprint = ?1 AND identifier = ?2")
            .map_err(self.err())?;
        stmt.exists(params![blueprint, identifier]).map_err(self.err())
    }

    fn save(&mut self, e: &Entity, owner: &str, run_id: &str) -> Result<(), CatalogError> {
        let json =
            |m: &Map<String, Value>| serde_json::to_string(m).unwrap_or_else(|_| "{}".into());
        let mut stmt = self
            .tx
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
            .map_err(self.err())?;
        stmt.execute(params![
            e.blueprint,
            e.identifier,
            opt_json(&e.title),
            opt_json(&e.team),
            opt_json(&e.icon),
            json(&e.properties),
            json(&e.relations),
            owner,
            run_id,
            jiff::Timestamp::now().to_string(),
        ])
        .map_err(self.err())?;
        Ok(())
    }

    fn stamp(&mut self, key: &EntityKey, owner: &str, run_id: &str) -> Result<(), CatalogError> {
        let mut stmt = self
            .tx
            .prepare_cached(
                "UPDATE entities SET datasource = ?3, run_id = ?4
                 WHERE blueprint = ?1 AND identifier = ?2",
            )
            .map_err(self.err())?;
        stmt.execute(params![key.blueprint, key.identifier, owner, run_id]).map_err(self.err())?;
        Ok(())
    }

    fn remove(&mut self, key: &EntityKey) -> Result<bool, CatalogError> {
        let mut stmt = self
            .tx
            .prepare_cached("DELETE FROM entities WHERE blueprint = ?1 AND identifier = ?2")
            .map_err(self.err())?;
        Ok(stmt.execute(params![key.blueprint, key.identifier]).map_err(self.err())? > 0)
    }

    fn referrers(
        &mut self,
        blueprint: &str,
        relation: &str,
        target: &str,
    ) -> Result<Vec<String>, CatalogError> {
        let path = format!("$.\"{}\"", relation.replace('"', "\\\""));
        let mut stmt = self
            .tx
            .prepare_cached(
                "SELECT identifier FROM entities WHERE blueprint = ?1 AND EXISTS
                 (SELECT 1 FROM json_each(entities.relations, ?2) WHERE value = ?3)",
            )
            .map_err(self.err())?;
        let rows = stmt
            .query_map(params![blueprint, path, target], |r| r.get::<_, String>(0))
            .map_err(self.err())?;
        rows.collect::<Result<Vec<_>, _>>().map_err(self.err())
    }
}

impl SqliteCatalog {
    /// The last `limit` runs, newest first. A run still marked running whose lock is free was
    /// interrupted, and is shown so.
    pub async fn runs(&self, limit: u32) -> Result<Vec<RunRecord>, CatalogError> {
        self.call(move |db| {
            let mut runs = db.tx("list runs", false, |s| read_runs(s, "", limit))?;
            let held_elsewhere = db.lock.is_none() && {
                let probe = std::fs::File::open(lock_path(&db.path)).ok();
                probe
                    .is_some_and(|f| matches!(f.try_lock(), Err(std::fs::TryLockError::WouldBlock)))
            };
            for r in &mut runs {
                if r.status == "running" && db.lock.is_none() && !held_elsewhere {
                    r.status = "interrupted".into();
                }
            }
            Ok(runs)
        })
        .await
    }
}

impl Catalog for SqliteCatalog {
    fn describe(&self) -> String {
        format!("sqlite:{}", self.path.display())
    }

    fn put_blueprints(&self, blueprints: Vec<Blueprint>) -> BoxFut<'_, ()> {
        self.call(move |db| {
            db.tx("put blueprints", true, |s| {
                for bp in &blueprints {
                    let json = serde_json::to_string(bp).map_err(|e| CatalogError::Corrupt {
                        key: format!("blueprint {}", bp.identifier),
                        message: e.to_string(),
                    })?;
                    s.tx.execute(
                        "INSERT INTO blueprints (identifier, json) VALUES (?1, ?2)
                         ON CONFLICT (identifier) DO UPDATE SET json = excluded.json",
                        params![bp.identifier, json],
                    )
                    .map_err(s.err())?;
                }
                Ok(())
            })
        })
    }

    fn upsert(&self, entities: Arc<[Entity]>, cx: WriteContext) -> BoxFut<'_, Vec<UpsertOutcome>> {
        self.call(move |db| {
            db.tx("upsert", true, |s| {
                let blueprints = s.blueprints()?;
                rules::upsert(s, &blueprints, &entities, &cx)
            })
        })
    }

    fn get(&self, keys: Vec<EntityKey>) -> BoxFut<'_, Vec<Option<Stored>>> {
        self.call(move |db| db.tx("get", false, |s| keys.iter().map(|k| s.load(k)).collect()))
    }

    fn owned(&self, owner: String, blueprints: Vec<String>) -> BoxFut<'_, Vec<OwnedKey>> {
        self.call(move |db| {
            db.tx("list owned entities", false, |s| {
                let mut stmt =
                    s.tx.prepare_cached(
                        "SELECT identifier, run_id FROM entities
                         WHERE datasource = ?1 AND blueprint = ?2",
                    )
                    .map_err(s.err())?;
                let mut out = Vec::new();
                for bp in &blueprints {
                    let rows = stmt
                        .query_map(params![owner, bp], |r| {
                            Ok((r.get::<_, String>(0)?, r.get::<_, Option<String>>(1)?))
                        })
                        .map_err(s.err())?;
                    for row in rows {
                        let (identifier, run_id) = row.map_err(s.err())?;
                        out.push(OwnedKey {
                            key: EntityKey { blueprint: bp.clone(), identifier },
                            run_id: run_id.unwrap_or_default(),
                        });
                    }
                }
                Ok(out)
            })
        })
    }

    fn dependents(&self, keys: Vec<EntityKey>) -> BoxFut<'_, Vec<EntityKey>> {
        self.call(move |db| {
            db.tx("find dependents", false, |s| {
                let blueprints = s.blueprints()?;
                rules::dependents(s, &blueprints, &keys)
            })
        })
    }

    fn delete(&self, keys: Vec<EntityKey>, cx: DeleteContext) -> BoxFut<'_, Vec<EntityKey>> {
        self.call(move |db| {
            db.tx("delete", true, |s| {
                let blueprints = s.blueprints()?;
                rules::delete(s, &blueprints, &keys, &cx)
            })
        })
    }

    fn begin_run(&self, run: RunInfo, wait: std::time::Duration) -> BoxFut<'_, RunStart> {
        Box::pin(async move {
            let deadline = tokio::time::Instant::now() + wait;
            // Bounded: one attempt per 100 ms until the deadline.
            let fresh = loop {
                let attempt = run.clone();
                if let Some(fresh) = self.call(move |db| db.try_lock(&attempt)).await? {
                    break fresh;
                }
                if tokio::time::Instant::now() >= deadline {
                    let name = self.path.display().to_string();
                    let holder = self.call(move |db| Ok(holder_of(&db.path))).await?;
                    return Err(CatalogError::Locked { catalog: name, holder });
                }
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            };
            self.call(move |db| db.start_run(&run, fresh)).await
        })
    }

    fn end_run(&self, run_id: String, outcome: RunOutcome) -> BoxFut<'_, ()> {
        self.call(move |db| {
            let (status, detail) = match outcome {
                RunOutcome::Completed => ("completed", None),
                RunOutcome::Partial(why) => ("partial", Some(why)),
                RunOutcome::Failed(why) => ("failed", Some(why)),
            };
            let result = db.tx("end run", true, |s| {
                s.tx.execute(
                    "UPDATE runs SET status = ?2, detail = ?3, ended = ?4 WHERE run_id = ?1",
                    params![run_id, status, detail, jiff::Timestamp::now().to_string()],
                )
                .map_err(s.err())?;
                Ok(())
            });
            // The lock goes with the last run holding it, whatever happened to the update.
            if let Some((_, depth)) = &mut db.lock {
                *depth -= 1;
                if *depth == 0 {
                    db.lock = None;
                }
            }
            result
        })
    }

    fn export(&self) -> BoxFut<'_, Vec<Entity>> {
        self.call(move |db| {
            db.tx("export", false, |s| {
                let mut stmt =
                    s.tx.prepare_cached(&format!(
                        "SELECT {ENTITY_COLUMNS} FROM entities ORDER BY blueprint, identifier"
                    ))
                    .map_err(s.err())?;
                let rows = stmt.query_map([], read_row).map_err(s.err())?;
                let mut out = Vec::new();
                for row in rows {
                    out.push(stored_of(row.map_err(s.err())?)?.entity);
                }
                Ok(out)
            })
        })
    }
}
