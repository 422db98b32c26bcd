//! The event worker: drains the queue, oldest `published` first, and writes what changed.
//!
//! Events are pings, not data: for each target the worker re-reads the current object from
//! Okta (a user with its groups and app links, a group with its members) and writes it through
//! the same [`Writer`] as the resync; a 404 means the object is gone and its entity is deleted,
//! as are `user.lifecycle.delete.initiated` and `group.lifecycle.delete` targets. The due events
//! are taken in batches and every target is read once per batch, so a burst about one object
//! costs one read. A failure is retried with backoff; an event that keeps failing is parked
//! (kept, visible in `/metrics` and `port-okta events list --parked`), never lost and never
//! blocking the events behind it.

use super::envelope::{Event, Target, TargetKind};
use super::metrics::Metrics;
use super::queue::{EventQueue, Queued};
use crate::catalog::CatalogError;
use crate::engine::fresh::Freshness;
use crate::engine::resync::{GROUP_KIND, USER_KIND};
use crate::engine::write::{Outcome, Selection, Writer};
use crate::model::{Item, Raw};
use crate::okta::OktaError;
use crate::okta::live::{LiveReader, UserShape};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// Events taken from the queue at once.
const BATCH: usize = 100;

/// Failed attempts before an event is parked.
pub const PARK_AFTER: u32 = 8;

/// Why processing a target failed.
#[derive(Debug, thiserror::Error)]
enum Failure {
    /// Reading Okta failed.
    #[error(transparent)]
    Okta(#[from] OktaError),
    /// Writing the catalog failed.
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    /// The object's item could not be mapped or written (a data problem: retrying the same
    /// data cannot help, so the event is parked at once).
    #[error("{0}")]
    Item(String),
}

/// The worker: owns its writer; shares the queue, the reader and the freshness record.
#[derive(Debug)]
pub struct Worker {
    queue: Arc<dyn EventQueue>,
    reader: Arc<LiveReader>,
    writer: Writer,
    fresh: Arc<Freshness>,
    metrics: Arc<Metrics>,
    /// The first retry's wait (doubling per attempt, up to 5 minutes).
    backoff_base: Duration,
    /// How many events each processed batch handled, for tests and logs.
    pub handled: u64,
}

impl Worker {
    /// A worker writing through `writer`.
    pub fn new(
        queue: Arc<dyn EventQueue>,
        reader: Arc<LiveReader>,
        writer: Writer,
        fresh: Arc<Freshness>,
        metrics: Arc<Metrics>,
    ) -> Self {
        Self {
            queue,
            reader,
            writer,
            fresh,
            metrics,
            backoff_base: Duration::from_secs(1),
            handled: 0,
        }
    }

    /// Sets the first retry's wait (1 s by default).
    pub fn set_backoff_base(&mut self, base: Duration) {
        self.backoff_base = base;
    }

    /// Processes the events due now, one batch; returns how many it took (0: nothing due).
    pub async fn process_batch(&mut self) -> Result<usize, super::queue::QueueError> {
        let due = self.queue.due(BATCH).await?;
        if due.is_empty() {
            return Ok(0);
        }
        // Each target once: deleted if any event of the batch deletes it, else re-read.
        let mut plan: BTreeMap<Target, bool> = BTreeMap::new();
        for q in &due {
            for t in &q.event.targets {
                *plan.entry(t.clone()).or_default() |= deletes(&q.event, t);
            }
        }
        let mut failures: BTreeMap<Target, Failure> = BTreeMap::new();
        // Groups whose membership changed without an event of their own (a user created into
        // Everyone, a deleted user's groups), with the user target that revealed them.
        let mut follow: BTreeMap<Target, Target> = BTreeMap::new();
        for (target, deleted) in &plan {
            self.fresh.mark(&target.id);
            match self.apply(target, *deleted).await {
                Ok(groups) => {
                    for g in groups.into_iter().filter(|g| !plan.contains_key(g)) {
                        follow.entry(g).or_insert_with(|| target.clone());
                    }
                }
                Err(e) => {
                    tracing::warn!(kind = ?target.kind, id = %target.id, error = %e, "event target failed");
                    failures.insert(target.clone(), e);
                }
            }
        }
        for (group, cause) in follow {
            self.fresh.mark(&group.id);
            if let Err(e) = self.apply(&group, false).await {
                tracing::warn!(id = %group.id, error = %e, "group refresh after a membership change failed");
                failures.entry(cause).or_insert(e);
            }
        }
        let mut done = Vec::new();
        for q in &due {
            let failed: Vec<&Failure> =
                q.event.targets.iter().filter_map(|t| failures.get(t)).collect();
            if failed.is_empty() {
                done.push(q.event.uuid.clone());
                self.metrics.processed(&q.event.event_type);
                continue;
            }
            let why: Vec<String> = failed.iter().map(|f| f.to_string()).collect();
            let park_now = failed.iter().any(|f| matches!(f, Failure::Item(_)))
                || failed.iter().any(|f| matches!(f, Failure::Catalog(c) if !c.retryable()));
            let parked = self
                .queue
                .failed(
                    vec![q.event.uuid.clone()],
                    why.join("; "),
                    backoff(self.backoff_base, q),
                    PARK_AFTER,
                    park_now,
                )
                .await?;
            if parked.is_empty() {
                self.metrics.retried();
            } else {
                tracing::error!(uuid = %q.event.uuid, event_type = %q.event.event_type,
                    error = %why.join("; "), "event parked");
                self.metrics.parked(&q.event.event_type);
            }
        }
        self.queue.complete(done).await?;
        self.handled += due.len() as u64;
        Ok(due.len())
    }

    /// Writes one target's current state (or deletes its entity); for a user, returns the groups
    /// whose members changed with it (when a group mapping reads `.users`).
    async fn apply(&mut self, target: &Target, deleted: bool) -> Result<Vec<Target>, Failure> {
        let kind = match target.kind {
            TargetKind::User => USER_KIND,
            TargetKind::Group => GROUP_KIND,
        };
        let resources: Vec<usize> = self
            .writer
            .config()
            .resources
            .iter()
            .enumerate()
            .filter(|(_, r)| r.kind() == kind)
            .map(|(i, _)| i)
            .collect();
        if resources.is_empty() {
            return Ok(Vec::new());
        }
        let before = match target.kind {
            TargetKind::User => self.stored_groups(&target.id).await?,
            TargetKind::Group => None,
        };
        let mut after: Option<Vec<String>> = deleted.then(Vec::new);
        let items: Option<Vec<serde_json::Value>> = match (deleted, target.kind) {
            (true, _) => None,
            (false, TargetKind::User) => {
                let shapes: Vec<UserShape> = resources
                    .iter()
                    .map(|&r| {
                        let s = &self.writer.config().resources[r].config().selector;
                        UserShape {
                            fields: s.fields.clone(),
                            groups: s.include_groups,
                            applications: s.include_applications,
                        }
                    })
                    .collect();
                match self.reader.user_items(&target.id, &shapes).await? {
                    Some((items, groups)) => {
                        after = groups;
                        Some(items)
                    }
                    None => {
                        after = Some(Vec::new());
                        None
                    }
                }
            }
            (false, TargetKind::Group) => {
                let item = self.reader.group_item(&target.id).await?;
                item.map(|g| vec![g; resources.len()])
            }
        };
        let mut outcomes = Vec::new();
        match items {
            None => outcomes.extend(self.writer.gone(kind, &target.id).await?),
            Some(items) => {
                for (r, raw) in resources.into_iter().zip(items) {
                    let item = Item {
                        kind: kind.to_string(),
                        okta_id: target.id.clone(),
                        raw: Raw::Value(raw),
                    };
                    outcomes.extend(self.writer.item(r, item, Selection::Event).await?);
                }
                outcomes.extend(self.writer.flush().await?);
            }
        }
        let problems: Vec<String> = outcomes
            .iter()
            .filter_map(|o| match o {
                Outcome::ItemFailed { problems, .. } | Outcome::Rejected { problems, .. } => Some(
                    problems
                        .iter()
                        .map(|p| format!("{}: {}", p.field, p.message))
                        .collect::<Vec<_>>()
                        .join("; "),
                ),
                Outcome::MissingRelated { target, .. } => {
                    Some(format!("related entity {target} does not exist"))
                }
                _ => None,
            })
            .collect();
        if !problems.is_empty() {
            return Err(Failure::Item(problems.join("; ")));
        }
        // Membership changed on the user's side: the groups it left or joined.
        let (Some(before), Some(after)) = (before, after) else { return Ok(Vec::new()) };
        let changed: std::collections::BTreeSet<&String> = before
            .iter()
            .filter(|g| !after.contains(g))
            .chain(after.iter().filter(|g| !before.contains(g)))
            .collect();
        Ok(changed
            .into_iter()
            .map(|id| Target { kind: TargetKind::Group, id: id.clone() })
            .collect())
    }

    /// The user's groups as its stored entity relates them (its relations to a group blueprint
    /// whose identifier is the Okta id) — `None` when no group mapping reads `.users` (nothing
    /// to follow) or the groups cannot be known from the catalog.
    async fn stored_groups(&self, user_id: &str) -> Result<Option<Vec<String>>, Failure> {
        let config = self.writer.config();
        let group_bps: Vec<&str> = config
            .resources
            .iter()
            .filter(|r| r.kind() == GROUP_KIND && r.reads("users") && r.identifier_is_okta_id())
            .filter_map(|r| r.literal_blueprint())
            .collect();
        if group_bps.is_empty() {
            return Ok(None);
        }
        let keys: Vec<crate::model::EntityKey> = config
            .resources
            .iter()
            .filter(|r| r.kind() == USER_KIND && r.identifier_is_okta_id())
            .filter_map(|r| r.literal_blueprint())
            .map(|bp| crate::model::EntityKey {
                blueprint: bp.to_string(),
                identifier: user_id.to_string(),
            })
            .collect();
        let mut groups = Vec::new();
        for stored in self.writer.catalog().get(keys).await?.into_iter().flatten() {
            let Some(bp) = self.writer.blueprints().get(&stored.entity.blueprint) else { continue };
            for (name, rel) in bp.relations.iter() {
                if !group_bps.contains(&rel.target.as_str()) {
                    continue;
                }
                match stored.entity.relations.get(name.as_str()) {
                    Some(serde_json::Value::String(s)) => groups.push(s.clone()),
                    Some(serde_json::Value::Array(a)) => {
                        groups.extend(a.iter().filter_map(|v| v.as_str()).map(String::from))
                    }
                    _ => {}
                }
            }
        }
        groups.sort_unstable();
        groups.dedup();
        Ok(Some(groups))
    }
}

/// Whether `event` deletes `target`.
fn deletes(event: &Event, target: &Target) -> bool {
    matches!(
        (event.event_type.as_str(), target.kind),
        ("user.lifecycle.delete.initiated", TargetKind::User)
            | ("group.lifecycle.delete", TargetKind::Group)
    )
}

/// The wait before the next attempt: `base`, twice that, four times, … up to 5 minutes.
fn backoff(base: Duration, q: &Queued) -> Duration {
    (base * (1u32 << q.attempts.min(8))).min(Duration::from_secs(300))
}
