//! The durable event queue: what the webhook acknowledged and the System Log poller found, kept
//! until processed — across restarts and `kill -9`.
//!
//! [`EventQueue`] is the interface (a shared database could back it later); [`SqliteQueue`] keeps
//! it in a SQLite file of its own. Events are keyed by their LogEvent `uuid`, so a delivery
//! repeated by Okta, or seen through both the hook and the System Log, is queued once. Pushes
//! are durable before they return (WAL, `synchronous = FULL`), and concurrent pushes share one
//! commit: the queue's thread gathers every push waiting for it into a single transaction.

use super::envelope::{Event, Target};
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::mpsc;
use std::time::Duration;

/// The future every queue method returns.
pub type QueueFut<'a, T> = Pin<Box<dyn Future<Output = Result<T, QueueError>> + Send + 'a>>;

/// A queue failure.
#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    /// The queue's database failed.
    #[error("event queue {path}: {op}")]
    Sqlite {
        /// The database file.
        path: String,
        /// What was being done.
        op: &'static str,
        /// The SQLite error.
        #[source]
        source: rusqlite::Error,
    },
    /// A stored event could not be read back.
    #[error("event queue {path}: event {uuid} is corrupt: {message}")]
    Corrupt {
        /// The database file.
        path: String,
        /// The event.
        uuid: String,
        /// What was wrong.
        message: String,
    },
    /// The queue's thread is gone.
    #[error("event queue {0} is closed")]
    Closed(String),
}

/// Where an event came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// An Okta event-hook delivery.
    Hook,
    /// The System Log poller.
    Log,
}

impl Source {
    fn as_str(self) -> &'static str {
        match self {
            Self::Hook => "hook",
            Self::Log => "log",
        }
    }
}

/// What a push did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pushed {
    /// Events queued.
    pub added: usize,
    /// Events already known (queued, processed or parked before).
    pub duplicates: usize,
}

/// A queued event with its processing state.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Queued {
    /// The event.
    #[serde(flatten)]
    pub event: Event,
    /// `hook` or `log`.
    pub source: String,
    /// `pending`, `done` or `parked`.
    pub status: String,
    /// Failed processing attempts so far.
    pub attempts: u32,
    /// The last failure, if any.
    pub last_error: Option<String>,
    /// When it was received (Unix ms).
    pub received_ms: i64,
}

/// How full the queue is.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Depth {
    /// Events waiting to be processed.
    pub pending: u64,
    /// Events parked after repeated failures.
    pub parked: u64,
    /// When the oldest pending event was received (Unix ms).
    pub oldest_pending_received_ms: Option<i64>,
}

/// The queue interface.
pub trait EventQueue: Send + Sync + std::fmt::Debug {
    /// Queues `events` (those already known are skipped); durable when it returns.
    fn push(&self, events: Vec<Event>, source: Source) -> QueueFut<'_, Pushed>;
    /// Up to `limit` pending events due now, oldest `published` first.
    fn due(&self, limit: usize) -> QueueFut<'_, Vec<Queued>>;
    /// Marks events processed.
    fn complete(&self, uuids: Vec<String>) -> QueueFut<'_, ()>;
    /// Records a failed attempt: retried after `backoff`, or parked once it has failed
    /// `park_after` times (or at once when `park_now`). Returns the uuids parked.
    fn failed(
        &self,
        uuids: Vec<String>,
        error: String,
        backoff: Duration,
        park_after: u32,
        park_now: bool,
    ) -> QueueFut<'_, Vec<String>>;
    /// Counts and the oldest pending event.
    fn depth(&self) -> QueueFut<'_, Depth>;
    /// Events with `status` (all when `None`), newest first.
    fn list(&self, status: Option<String>, limit: u32) -> QueueFut<'_, Vec<Queued>>;
    /// A persisted value (the System Log cursor, the hook's secret fingerprint).
    fn state(&self, key: String) -> QueueFut<'_, Option<String>>;
    /// Persists a value.
    fn set_state(&self, key: String, value: String) -> QueueFut<'_, ()>;
    /// Forgets processed events received more than `age` ago (duplicates older than that are
    /// no longer recognised); returns how many.
    fn prune(&self, age: Duration) -> QueueFut<'_, u64>;
}

/// The SQLite queue.
#[derive(Debug)]
pub struct SqliteQueue {
    path: PathBuf,
    jobs: Option<mpsc::Sender<Job>>,
    worker: Option<std::thread::JoinHandle<()>>,
}

type Call = Box<dyn FnOnce(&mut Db) + Send>;

enum Job {
    Push(Vec<Event>, Source, tokio::sync::oneshot::Sender<Result<Pushed, QueueError>>),
    Call(Call),
}

struct Db {
    conn: rusqlite::Connection,
    path: String,
}

const SCHEMA: &str = "
PRAGMA journal_mode = WAL;
PRAGMA synchronous = FULL;
CREATE TABLE IF NOT EXISTS events (
    uuid         TEXT PRIMARY KEY,
    published    TEXT NOT NULL,
    published_ms INTEGER NOT NULL,
    event_type   TEXT NOT NULL,
    targets      TEXT NOT NULL,
    source       TEXT NOT NULL,
    received_ms  INTEGER NOT NULL,
    status       TEXT NOT NULL DEFAULT 'pending',
    attempts     INTEGER NOT NULL DEFAULT 0,
    next_ms      INTEGER NOT NULL DEFAULT 0,
    last_error   TEXT,
    done_ms      INTEGER
);
CREATE INDEX IF NOT EXISTS events_due ON events (status, published_ms);
CREATE TABLE IF NOT EXISTS state (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
";

/// Pushes committed together at most.
const GROUP_COMMIT: usize = 512;

fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

fn err<'a>(path: &'a str, op: &'static str) -> impl FnOnce(rusqlite::Error) -> QueueError + 'a {
    move |source| QueueError::Sqlite { path: path.to_string(), op, source }
}

impl SqliteQueue {
    /// Opens (creating if needed) the queue at `path` and starts its thread.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, QueueError> {
        let path = path.as_ref().to_path_buf();
        let name = path.display().to_string();
        let conn = rusqlite::Connection::open(&path).map_err(err(&name, "open"))?;
        conn.busy_timeout(Duration::from_secs(10)).map_err(err(&name, "open"))?;
        conn.execute_batch(SCHEMA).map_err(err(&name, "create the schema"))?;
        let mut db = Db { conn, path: name.clone() };
        let (jobs, rx) = mpsc::channel::<Job>();
        let worker = std::thread::Builder::new()
            .name("event-queue".into())
            .spawn(move || run(&mut db, &rx))
            .map_err(|e| QueueError::Closed(format!("{name} (no thread: {e})")))?;
        Ok(Self { path, jobs: Some(jobs), worker: Some(worker) })
    }

    fn closed(&self) -> QueueError {
        QueueError::Closed(self.path.display().to_string())
    }

    fn call<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Db) -> Result<T, QueueError> + Send + 'static,
    ) -> QueueFut<'_, T> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let job = Job::Call(Box::new(move |db| {
            let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(db)));
            let _ = tx.send(out.unwrap_or_else(|_| Err(QueueError::Closed(db.path.clone()))));
        }));
        let sent = self.jobs.as_ref().is_some_and(|j| j.send(job).is_ok());
        Box::pin(async move {
            if !sent {
                return Err(self.closed());
            }
            rx.await.map_err(|_| self.closed())?
        })
    }
}

impl Drop for SqliteQueue {
    fn drop(&mut self) {
        drop(self.jobs.take());
        if let Some(w) = self.worker.take() {
            let _ = w.join();
        }
    }
}

/// The queue's thread: pushes waiting together share one transaction; other calls run alone.
fn run(db: &mut Db, rx: &mpsc::Receiver<Job>) {
    while let Ok(first) = rx.recv() {
        let mut pushes = Vec::new();
        let mut calls: Vec<Call> = Vec::new();
        let mut next = Some(first);
        // Take every job already waiting (bounded by the group size).
        while let Some(job) = next.take() {
            match job {
                Job::Push(events, source, reply) => pushes.push((events, source, reply)),
                Job::Call(c) => calls.push(c),
            }
            if pushes.len() < GROUP_COMMIT {
                next = rx.try_recv().ok();
            }
        }
        if !pushes.is_empty() {
            let batch: Vec<(&[Event], Source)> =
                pushes.iter().map(|(e, s, _)| (e.as_slice(), *s)).collect();
            match insert(db, &batch) {
                Ok(counts) => {
                    for ((_, _, reply), pushed) in pushes.into_iter().zip(counts) {
                        let _ = reply.send(Ok(pushed));
                    }
                }
                Err(e) => {
                    let why = e.to_string();
                    for (_, _, reply) in pushes {
                        let _ = reply.send(Err(QueueError::Closed(why.clone())));
                    }
                }
            }
        }
        for call in calls {
            call(db);
        }
    }
}

fn insert(db: &mut Db, batch: &[(&[Event], Source)]) -> Result<Vec<Pushed>, QueueError> {
    let path = db.path.clone();
    let tx = db
        .conn
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .map_err(err(&path, "push"))?;
    let mut out = Vec::with_capacity(batch.len());
    {
        let mut stmt = tx
            .prepare_cached(
                "INSERT OR IGNORE INTO events
                 (uuid, published, published_ms, event_type, targets, source, received_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )
            .map_err(err(&path, "push"))?;
        let now = now_ms();
        for (events, source) in batch {
            let mut pushed = Pushed::default();
            for e in *events {
                let published_ms =
                    e.published.parse::<jiff::Timestamp>().map_or(now, |t| t.as_millisecond());
                let targets = serde_json::to_string(&e.targets).unwrap_or_else(|_| "[]".into());
                let n = stmt
                    .execute(rusqlite::params![
                        e.uuid,
                        e.published,
                        published_ms,
                        e.event_type,
                        targets,
                        source.as_str(),
                        now
                    ])
                    .map_err(err(&path, "push"))?;
                if n == 1 {
                    pushed.added += 1;
                } else {
                    pushed.duplicates += 1;
                }
            }
            out.push(pushed);
        }
    }
    tx.commit().map_err(err(&path, "push"))?;
    Ok(out)
}

const QUEUED_COLUMNS: &str =
    "uuid, published, event_type, targets, source, status, attempts, last_error, received_ms";

fn read_queued(path: &str, r: &rusqlite::Row<'_>) -> rusqlite::Result<Result<Queued, QueueError>> {
    let uuid: String = r.get(0)?;
    let targets: String = r.get(3)?;
    let targets: Result<Vec<Target>, _> = serde_json::from_str(&targets);
    let targets = match targets {
        Ok(t) => t,
        Err(e) => {
            return Ok(Err(QueueError::Corrupt {
                path: path.to_string(),
                uuid,
                message: e.to_string(),
            }));
        }
    };
    Ok(Ok(Queued {
        event: Event { uuid, published: r.get(1)?, event_type: r.get(2)?, targets },
        source: r.get(4)?,
        status: r.get(5)?,
        attempts: r.get(6)?,
        last_error: r.get(7)?,
        received_ms: r.get(8)?,
    }))
}

fn query_queued(
    db: &Db,
    sql: &str,
    params: impl rusqlite::Params,
) -> Result<Vec<Queued>, QueueError> {
    let mut stmt = db.conn.prepare_cached(sql).map_err(err(&db.path, "read"))?;
    let rows =
        stmt.query_map(params, |r| read_queued(&db.path, r)).map_err(err(&db.path, "read"))?;
    let mut out = Vec::new();
    for row in rows {
        out.push(row.map_err(err(&db.path, "read"))??);
    }
    Ok(out)
}

impl EventQueue for SqliteQueue {
    fn push(&self, events: Vec<Event>, source: Source) -> QueueFut<'_, Pushed> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let sent =
            self.jobs.as_ref().is_some_and(|j| j.send(Job::Push(events, source, tx)).is_ok());
        Box::pin(async move {
            if !sent {
                return Err(self.closed());
            }
            rx.await.map_err(|_| self.closed())?
        })
    }

    fn due(&self, limit: usize) -> QueueFut<'_, Vec<Queued>> {
        self.call(move |db| {
            query_queued(
                db,
                &format!(
                    "SELECT {QUEUED_COLUMNS} FROM events
                     WHERE status = 'pending' AND next_ms <= ?1
                     ORDER BY published_ms, uuid LIMIT ?2"
                ),
                rusqlite::params![now_ms(), limit as i64],
            )
        })
    }

    fn complete(&self, uuids: Vec<String>) -> QueueFut<'_, ()> {
        self.call(move |db| {
            let path = db.path.clone();
            let tx = db.conn.transaction().map_err(err(&path, "complete"))?;
            {
                let mut stmt = tx
                    .prepare_cached(
                        "UPDATE events SET status = 'done', done_ms = ?2, last_error = NULL
                         WHERE uuid = ?1",
                    )
                    .map_err(err(&path, "complete"))?;
                let now = now_ms();
                for u in &uuids {
                    stmt.execute(rusqlite::params![u, now]).map_err(err(&path, "complete"))?;
                }
            }
            tx.commit().map_err(err(&path, "complete"))
        })
    }

    fn failed(
        &self,
        uuids: Vec<String>,
        error: String,
        backoff: Duration,
        park_after: u32,
        park_now: bool,
    ) -> QueueFut<'_, Vec<String>> {
        self.call(move |db| {
            let path = db.path.clone();
            let tx = db.conn.transaction().map_err(err(&path, "record a failure"))?;
            let mut parked = Vec::new();
            {
                let next = now_ms() + backoff.as_millis() as i64;
                let mut stmt = tx
                    .prepare_cached(
                        "UPDATE events SET attempts = attempts + 1, last_error = ?2, next_ms = ?3,
                           status = CASE WHEN ?4 OR attempts + 1 >= ?5 THEN 'parked' ELSE 'pending' END
                         WHERE uuid = ?1 RETURNING status",
                    )
                    .map_err(err(&path, "record a failure"))?;
                for u in &uuids {
                    let status: Option<String> = stmt
                        .query_row(rusqlite::params![u, error, next, park_now, park_after], |r| {
                            r.get(0)
                        })
                        .ok();
                    if status.as_deref() == Some("parked") {
                        parked.push(u.clone());
                    }
                }
            }
            tx.commit().map_err(err(&path, "record a failure"))?;
            Ok(parked)
        })
    }

    fn depth(&self) -> QueueFut<'_, Depth> {
        self.call(move |db| {
            let row = db
                .conn
                .query_row(
                    "SELECT
                       (SELECT count(*) FROM events WHERE status = 'pending'),
                       (SELECT count(*) FROM events WHERE status = 'parked'),
                       (SELECT min(received_ms) FROM events WHERE status = 'pending')",
                    [],
                    |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?, r.get::<_, Option<i64>>(2)?)),
                )
                .map_err(err(&db.path, "count"))?;
            Ok(Depth {
                pending: row.0 as u64,
                parked: row.1 as u64,
                oldest_pending_received_ms: row.2,
            })
        })
    }

    fn list(&self, status: Option<String>, limit: u32) -> QueueFut<'_, Vec<Queued>> {
        self.call(move |db| {
            let sql = format!(
                "SELECT {QUEUED_COLUMNS} FROM events WHERE ?1 IS NULL OR status = ?1
                 ORDER BY published_ms DESC, uuid LIMIT ?2"
            );
            query_queued(db, &sql, rusqlite::params![status, limit])
        })
    }

    fn state(&self, key: String) -> QueueFut<'_, Option<String>> {
        self.call(move |db| {
            use rusqlite::OptionalExtension;
            db.conn
                .query_row("SELECT value FROM state WHERE key = ?1", [&key], |r| r.get(0))
                .optional()
                .map_err(err(&db.path, "read state"))
        })
    }

    fn set_state(&self, key: String, value: String) -> QueueFut<'_, ()> {
        self.call(move |db| {
            db.conn
                .execute(
                    "INSERT INTO state (key, value) VALUES (?1, ?2)
                     ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    [&key, &value],
                )
                .map(|_| ())
                .map_err(err(&db.path, "write state"))
        })
    }

    fn prune(&self, age: Duration) -> QueueFut<'_, u64> {
        self.call(move |db| {
            let before = now_ms() - age.as_millis() as i64;
            db.conn
                .execute("DELETE FROM events WHERE status = 'done' AND done_ms < ?1", [before])
                .map(|n| n as u64)
                .map_err(err(&db.path, "prune"))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::envelope::TargetKind;

    fn ev(uuid: &str, published: &str) -> Event {
        Event {
            uuid: uuid.into(),
            published: published.into(),
            event_type: "user.lifecycle.create".into(),
            targets: vec![Target { kind: TargetKind::User, id: format!("00u{uuid}") }],
        }
    }

    fn block<T>(f: impl Future<Output = T>) -> T {
        tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(f)
    }

    struct Tmp(PathBuf);
    impl Drop for Tmp {
        fn drop(&mut self) {
            for s in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{s}", self.0.display()));
            }
        }
    }

    #[test]
    fn dedups_orders_by_published_retries_parks_and_survives_reopening() {
        let tmp =
            Tmp(std::env::temp_dir().join(format!("port-okta-queue-{}.db", std::process::id())));
        block(async {
            let q = SqliteQueue::open(&tmp.0).unwrap();
            let p = q
                .push(
                    vec![ev("b", "2026-01-01T00:00:02.000Z"), ev("a", "2026-01-01T00:00:01.000Z")],
                    Source::Hook,
                )
                .await
                .unwrap();
            assert_eq!(p, Pushed { added: 2, duplicates: 0 });
            let p = q.push(vec![ev("a", "2026-01-01T00:00:01.000Z")], Source::Log).await.unwrap();
            assert_eq!(p, Pushed { added: 0, duplicates: 1 }, "the same uuid through the log");
            let due: Vec<String> =
                q.due(10).await.unwrap().into_iter().map(|e| e.event.uuid).collect();
            assert_eq!(due, ["a", "b"], "oldest published first");
            let parked =
                q.failed(vec!["a".into()], "boom".into(), Duration::ZERO, 2, false).await.unwrap();
            assert!(parked.is_empty());
            let parked =
                q.failed(vec!["a".into()], "boom".into(), Duration::ZERO, 2, false).await.unwrap();
            assert_eq!(parked, ["a"], "parked after its second failure");
            q.complete(vec!["b".into()]).await.unwrap();
            assert_eq!(q.depth().await.unwrap().parked, 1);
            q.set_state("cursor".into(), "x".into()).await.unwrap();
        });
        // A new process sees the same queue.
        block(async {
            let q = SqliteQueue::open(&tmp.0).unwrap();
            let parked = q.list(Some("parked".into()), 10).await.unwrap();
            assert_eq!(parked[0].event.uuid, "a");
            assert_eq!(parked[0].last_error.as_deref(), Some("boom"));
            assert_eq!(q.depth().await.unwrap().pending, 0);
            assert_eq!(q.state("cursor".into()).await.unwrap().as_deref(), Some("x"));
            let p = q.push(vec![ev("b", "2026-01-01T00:00:02.000Z")], Source::Hook).await.unwrap();
            assert_eq!(p.duplicates, 1, "a processed event is not queued again");
        });
    }

    #[test]
    fn pruning_forgets_only_processed_events_older_than_the_age() {
        let tmp =
            Tmp(std::env::temp_dir()
                .join(format!("port-okta-queue-prune-{}.db", std::process::id())));
        block(async {
            let q = SqliteQueue::open(&tmp.0).unwrap();
            let events = vec![
                ev("done", "2026-01-01T00:00:01.000Z"),
                ev("open", "2026-01-01T00:00:02.000Z"),
            ];
            q.push(events, Source::Hook).await.unwrap();
            q.complete(vec!["done".into()]).await.unwrap();
            assert_eq!(q.prune(Duration::from_secs(3600)).await.unwrap(), 0, "too recent");
            tokio::time::sleep(Duration::from_millis(5)).await;
            assert_eq!(q.prune(Duration::ZERO).await.unwrap(), 1);
            assert_eq!(q.depth().await.unwrap().pending, 1, "a pending event is never pruned");
            let p =
                q.push(vec![ev("done", "2026-01-01T00:00:01.000Z")], Source::Log).await.unwrap();
            assert_eq!(p.added, 1, "a pruned event is no longer recognised");
        });
    }
}
