//! The full resync: list Okta, map, write, then delete what this integration owns and Okta no
//! longer has — only after an error-free listing and within `entityDeletionThreshold`.
//!
//! The run's bookkeeping (written keys, protected ids, entities waiting for their relation
//! targets, the report, a dry run's plan) lives here in [`Books`], fed by the [`Outcome`]s of the
//! [`Writer`]; the writer itself keeps nothing between calls.

use super::fresh::Freshness;
use super::plan::PlanCatalog;
use super::report::{Deletion, Plan, Problem, ResyncReport};
use super::write::{FieldProblem, Outcome, Protect, Selection, Writer, key_digest};
use crate::blueprint::BlueprintSet;
use crate::catalog::{Catalog, CatalogError, Change, RunInfo, RunOutcome};
use crate::mapping::{CompiledConfig, CompiledResource};
use crate::model::{Entity, EntityKey, Item, Raw};
use crate::okta::org::{IndexPlan, MemberFields, MembershipIndex};
use crate::okta::{OktaClient, OktaError};
use serde_json::value::RawValue;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;
use tokio::sync::mpsc;

/// Kinds this integration knows.
pub const USER_KIND: &str = "okta-user";
/// Kinds this integration knows.
pub const GROUP_KIND: &str = "okta-group";

/// Most problems kept in a report (the rest are only counted).
const PROBLEM_SAMPLE: usize = 100;

/// Raw items per kind offered to the catalog as examples (Port's jq playground).
const EXAMPLES: usize = 25;

/// Items larger than this are not offered as examples (the Everyone group of a large org).
const EXAMPLE_MAX_BYTES: usize = 256 << 10;

/// Rounds of retrying entities whose relation targets were missing.
const RELATED_RETRY_ROUNDS: usize = 3;

/// How a resync runs.
#[derive(Debug, Clone)]
pub struct ResyncOptions {
    /// The integration identifier: owner of the entities it writes.
    pub owner: String,
    /// Plan only: read the catalog, compute what a real run would change, write nothing.
    pub dry_run: bool,
    /// Concurrent member/assignment listings.
    pub concurrency: usize,
    /// How long to wait for another run to let go of the catalog (zero: refuse at once).
    pub lock_wait: std::time::Duration,
    /// Objects live events re-read: an object an event re-read after this resync started
    /// reading Okta is left as the event wrote it (never overwritten by the resync's older copy,
    /// never deleted as stale).
    pub fresh: Option<Arc<Freshness>>,
}

impl ResyncOptions {
    /// A real run owned by `owner`: 8 concurrent listings, no waiting for the catalog's lock.
    pub fn new(owner: &str) -> Self {
        Self {
            owner: owner.to_string(),
            dry_run: false,
            concurrency: 8,
            lock_wait: std::time::Duration::ZERO,
            fresh: None,
        }
    }
}

/// A progress notification for terminals and logs.
#[derive(Debug, Clone)]
pub enum Progress {
    /// A phase started (`memberships`, a kind, `deletion`).
    Phase(String),
    /// `n` more items of `kind` were processed.
    Items {
        /// The kind.
        kind: String,
        /// How many.
        n: u64,
    },
}

/// Runs one full resync of the org behind `okta` into `catalog` (or, with
/// [`ResyncOptions::dry_run`], plans it over `catalog` without writing).
pub async fn resync(
    okta: &OktaClient,
    config: Arc<CompiledConfig>,
    blueprints: Arc<BlueprintSet>,
    catalog: Arc<dyn Catalog>,
    opts: &ResyncOptions,
    progress: &(dyn Fn(Progress) + Sync),
) -> Result<ResyncReport, CatalogError> {
    let started = Instant::now();
    let run_id =
        format!("resync-{}-{}", jiff::Timestamp::now().as_millisecond(), fastrand::u32(..));
    let requests_before = okta.stats().requests.load(Ordering::Relaxed);
    let r429_before = okta.stats().rate_limited.load(Ordering::Relaxed);
    let plan = opts.dry_run.then(|| Arc::new(PlanCatalog::new(catalog.clone())));
    let catalog: Arc<dyn Catalog> = match &plan {
        Some(p) => p.clone(),
        None => catalog,
    };
    tracing::info!(%run_id, catalog = %catalog.describe(), dry_run = opts.dry_run, "resync started");
    let run = RunInfo {
        run_id: run_id.clone(),
        owner: opts.owner.clone(),
        started: jiff::Timestamp::now(),
        pid: std::process::id(),
    };
    // One writer per catalog: nothing is written before the run holds it.
    let start = catalog.begin_run(run, opts.lock_wait).await?;
    let mut books = Books::new(&config, plan);
    books.fresh = opts.fresh.clone().map(|f| (f, Instant::now()));
    for r in start.interrupted {
        tracing::warn!(
            run_id = %r.run_id, pid = r.pid, started = %r.started,
            "an earlier run was interrupted; the catalog may mix its writes with older entities"
        );
        books
            .report
            .interrupted_runs
            .push(format!("{} (pid {}, started {})", r.run_id, r.pid, r.started));
    }
    let result =
        run_resync(okta, &config, blueprints, catalog.clone(), opts, &run_id, &mut books, progress)
            .await;
    let outcome = match &result {
        Err(e) => RunOutcome::Failed(e.to_string()),
        Ok(deletion) if books.report.is_success() && *deletion == Deletion::Done => {
            RunOutcome::Completed
        }
        Ok(Deletion::Skipped(why)) => RunOutcome::Partial(format!("deletion skipped: {why}")),
        Ok(Deletion::Done) => RunOutcome::Partial(format!(
            "{} listing error(s), {} problem(s)",
            books.report.listing_errors.len(),
            books.report.problem_count
        )),
    };
    let ended = catalog.end_run(run_id.clone(), outcome).await;
    let deletion = result?;
    ended?;
    let stats = okta.stats();
    let report = books.finish(
        deletion,
        stats.requests.load(Ordering::Relaxed) - requests_before,
        stats.rate_limited.load(Ordering::Relaxed) - r429_before,
        started.elapsed().as_secs_f64(),
    );
    for (kind, k) in &report.kinds {
        tracing::info!(
            kind = %kind, items = k.items, upserted = k.upserted, created = k.created,
            updated = k.updated, unchanged = k.unchanged, failed = k.failed,
            filtered = k.filtered, deleted = k.deleted, "kind synced"
        );
    }
    tracing::info!(
        %run_id, okta_requests = report.okta_requests, okta_429 = report.okta_429,
        deletion = %report.deletion.as_text(), listing_errors = report.listing_errors.len(),
        problems = report.problem_count, verified_deletes = report.verified_deletes,
        duration_s = report.duration_s, "resync finished"
    );
    Ok(report)
}

/// The run itself, once it holds the catalog: blueprints, listings, writes, deletion.
#[allow(clippy::too_many_arguments)]
async fn run_resync(
    okta: &OktaClient,
    config: &Arc<CompiledConfig>,
    blueprints: Arc<BlueprintSet>,
    catalog: Arc<dyn Catalog>,
    opts: &ResyncOptions,
    run_id: &str,
    books: &mut Books,
    progress: &(dyn Fn(Progress) + Sync),
) -> Result<Deletion, CatalogError> {
    catalog.put_blueprints(blueprints.blueprints.clone()).await?;
    let mut writer = Writer::new(catalog, config.clone(), blueprints, &opts.owner);
    writer.set_run(run_id);
    if let Some((fresh, since)) = &books.fresh {
        writer.set_fresh(fresh.clone(), *since);
    }

    // Memberships first: user items need their groups, group items their members.
    let users = config.resources.iter().filter(|r| r.kind() == USER_KIND);
    let index_plan = IndexPlan {
        members: config.resources.iter().any(|r| r.kind() == GROUP_KIND)
            || users.clone().any(|r| r.config().selector.include_groups),
        applications: users.clone().any(|r| r.config().selector.include_applications),
        concurrency: opts.concurrency,
    };
    progress(Progress::Phase("memberships".into()));
    match MembershipIndex::fetch(okta, index_plan).await {
        Ok(mut index) => {
            for (ri, resource) in config.resources.iter().enumerate() {
                progress(Progress::Phase(resource.kind().to_string()));
                let kind = resource.kind();
                let result = match kind {
                    USER_KIND => {
                        sync_users(okta, ri, &mut index, &mut writer, books, progress).await
                    }
                    GROUP_KIND => sync_groups(ri, &index, &mut writer, books, progress).await,
                    other => Err(SyncError::Listing(format!("kind {other} is not implemented"))),
                };
                match result {
                    Ok(()) => {}
                    Err(SyncError::Listing(e)) => books.listing_error(format!("{kind}: {e}")),
                    Err(SyncError::Catalog(e)) => return Err(e),
                }
                books.absorb(writer.flush().await?);
                // Best effort, as Ocean's: examples never fail a resync.
                let examples = books.examples.remove(kind).unwrap_or_default();
                if !examples.is_empty()
                    && let Err(e) = writer.catalog().examples(kind.to_string(), examples).await
                {
                    tracing::warn!(kind, error = %e, "could not send raw data examples");
                }
            }
        }
        Err(e) => {
            books.listing_error(format!("memberships: {e}"));
            for resource in &config.resources {
                books.listing_error(format!(
                    "{}: not synced, memberships could not be read",
                    resource.kind()
                ));
            }
        }
    }
    retry_missing_related(&mut writer, books).await?;

    progress(Progress::Phase("deletion".into()));
    // A catalog that fails while stale entities are found or deleted skips the deletion (what
    // was deleted before the failure is reported); the run is partial, not broken.
    match delete_stale(okta, config, &mut writer, &opts.owner, books).await {
        Ok(deletion) => Ok(deletion),
        Err(e) => {
            tracing::error!(error = %e, "the catalog failed during stale deletion");
            let done: u64 = books.report.kinds.iter().map(|(_, k)| k.deleted).sum();
            Ok(Deletion::Skipped(format!(
                "the catalog failed during deletion ({done} deleted before): {e}"
            )))
        }
    }
}

enum SyncError {
    Listing(String),
    Catalog(CatalogError),
}

impl From<CatalogError> for SyncError {
    fn from(e: CatalogError) -> Self {
        Self::Catalog(e)
    }
}

impl From<OktaError> for SyncError {
    fn from(e: OktaError) -> Self {
        Self::Listing(e.to_string())
    }
}

async fn sync_users(
    okta: &OktaClient,
    resource: usize,
    index: &mut MembershipIndex,
    writer: &mut Writer,
    books: &mut Books,
    progress: &(dyn Fn(Progress) + Sync),
) -> Result<(), SyncError> {
    let res = &writer.config().resources[resource];
    let kind = res.kind().to_string();
    let selector = &res.config().selector;
    let (groups, apps) = (selector.include_groups, selector.include_applications);
    // Listing runs ahead of mapping by a few pages: IO and CPU overlap, memory stays bounded.
    // Users stay JSON text: the item is spliced together from it (see `user_item_json`).
    let (tx, mut rx) = mpsc::channel::<Vec<Box<RawValue>>>(4);
    let listings = okta.all_users::<Box<RawValue>>(selector.fields.as_deref());
    let lister = tokio::spawn(async move {
        for mut pager in listings {
            while let Some(page) = pager.next_page().await? {
                if tx.send(page).await.is_err() {
                    return Ok(());
                }
            }
        }
        Ok::<(), OktaError>(())
    });
    let mut deferred = Vec::new();
    while let Some(page) = rx.recv().await {
        let n = page.len() as u64;
        for raw in page {
            let Ok(user) = index.learn_user_json(raw.get()) else {
                books.listing_error(format!("{kind}: a listed user is not a JSON object"));
                continue;
            };
            if user.manager_id.as_deref().is_some_and(|m| index.manager_unresolved_id(m)) {
                // The manager may be listed later (by login or email): decide at the end.
                deferred.push((raw, user));
                continue;
            }
            books.report.kind_mut(&kind).items += 1;
            if books.fresher_elsewhere(&user.id) {
                continue;
            }
            let text = index.user_item_json(raw.get(), &user, groups, apps);
            books.example(&kind, &text);
            let item = user_item(&kind, user.id, text);
            books.absorb(writer.item(resource, item, Selection::Resync).await?);
        }
        progress(Progress::Items { kind: kind.clone(), n });
    }
    let listed = lister.await.map_err(|e| SyncError::Listing(e.to_string()))?;
    for (raw, user) in deferred {
        books.report.kind_mut(&kind).items += 1;
        if books.fresher_elsewhere(&user.id) {
            continue;
        }
        let text = index.user_item_json(raw.get(), &user, groups, apps);
        books.example(&kind, &text);
        books.absorb(
            writer.item(resource, user_item(&kind, user.id, text), Selection::Resync).await?,
        );
    }
    listed?;
    Ok(())
}

fn user_item(kind: &str, okta_id: String, text: String) -> Item {
    Item { kind: kind.to_string(), okta_id, raw: Raw::Json(text.into_boxed_str()) }
}

async fn sync_groups(
    resource: usize,
    index: &MembershipIndex,
    writer: &mut Writer,
    books: &mut Books,
    progress: &(dyn Fn(Progress) + Sync),
) -> Result<(), SyncError> {
    let res = &writer.config().resources[resource];
    let kind = res.kind().to_string();
    let members = member_fields(res);
    for gi in (0..index.group_count()).filter(|&gi| !index.group_gone(gi)) {
        let item = Item {
            kind: kind.clone(),
            okta_id: index.group_id(gi).to_string(),
            raw: Raw::Json(index.group_item_json(gi, members).into_boxed_str()),
        };
        books.report.kind_mut(&kind).items += 1;
        if books.wants_example(&kind) {
            // Examples show the whole item, not the part this mapping reads.
            let text = index.group_item_json_within(gi, MemberFields::All, EXAMPLE_MAX_BYTES);
            if let Some(text) = text {
                books.example(&kind, &text);
            }
        }
        if !books.fresher_elsewhere(&item.okta_id) {
            books.absorb(writer.item(resource, item, Selection::Resync).await?);
        }
        if gi % 200 == 199 {
            progress(Progress::Items { kind: kind.clone(), n: 200 });
        }
    }
    progress(Progress::Items { kind, n: (index.group_count() % 200) as u64 });
    Ok(())
}

/// How much of each member a group item needs for `res`: with a mapping that reads only the
/// members' ids (`.users[]?.id`), the Everyone group of a 100,000-user org is 3 MB of text
/// instead of 17.
fn member_fields(res: &CompiledResource) -> MemberFields {
    let Some(node) = res.projection() else { return MemberFields::All };
    if node.all {
        return MemberFields::All;
    }
    let Some(users) = node.child("users") else { return MemberFields::Unread };
    match &users.elems {
        Some(m) if !users.all && users.keys.is_empty() && !m.all && m.elems.is_none() => {
            if m.keys.iter().all(|(k, _)| k == "id") {
                MemberFields::Ids
            } else {
                MemberFields::All
            }
        }
        _ => MemberFields::All,
    }
}

/// Retries entities whose relation targets were missing, now that every kind is written
/// (whole entities, not the reduced copies Ocean retries: W-C4): a few rounds in batches while
/// they make progress, then one by one; what is still missing then has failed.
async fn retry_missing_related(writer: &mut Writer, books: &mut Books) -> Result<(), CatalogError> {
    for _ in 0..RELATED_RETRY_ROUNDS {
        if books.retry.is_empty() {
            break;
        }
        let batch = std::mem::take(&mut books.retry);
        let before = batch.len();
        books.absorb(writer.write(batch).await?);
        if books.retry.len() == before {
            break;
        }
    }
    for entity in std::mem::take(&mut books.retry) {
        for outcome in writer.write(vec![entity]).await? {
            match outcome {
                Outcome::MissingRelated { kind, entity, target } => books.failed(
                    &kind,
                    &entity.key().to_string(),
                    Some(entity.identifier.clone()),
                    &[FieldProblem {
                        field: "relations".into(),
                        message: format!("related entity {target} does not exist"),
                    }],
                ),
                other => books.absorb(vec![other]),
            }
        }
    }
    Ok(())
}

/// Deletes owned entities of the resynced blueprints that this run did not write — only when
/// every listing completed, no blueprint's stale share (cascades included) is over the
/// threshold, and (up to [`VERIFY_CAP`] of them) a direct Okta read confirms the object is gone.
async fn delete_stale(
    okta: &OktaClient,
    config: &CompiledConfig,
    writer: &mut Writer,
    owner: &str,
    books: &mut Books,
) -> Result<Deletion, CatalogError> {
    let errors = books.report.listing_errors.len();
    if errors > 0 {
        return Ok(Deletion::Skipped(format!(
            "the Okta listing did not complete ({errors} error{}: {})",
            if errors == 1 { "" } else { "s" },
            books.report.listing_errors.join("; ")
        )));
    }
    if !books.unidentified.is_empty() {
        return Ok(Deletion::Skipped(format!(
            "items of {} failed before their identifier was known",
            books.unidentified.join(", ")
        )));
    }
    let mut resynced: BTreeSet<String> = books.blueprints_written.iter().cloned().collect();
    resynced
        .extend(config.resources.iter().filter_map(|r| r.literal_blueprint().map(String::from)));
    let owned = writer.catalog().owned(owner.to_string(), resynced.into_iter().collect()).await?;
    let stale: Vec<EntityKey> = owned
        .iter()
        .map(|o| &o.key)
        .filter(|k| !books.written.contains_key(k) && !books.protected_ids.contains(&k.identifier))
        .filter(|k| !books.touched_by_events(&k.identifier))
        .cloned()
        .collect();
    // Which candidates a direct Okta read checks: those whose identifier is their Okta id,
    // unless the selector left their item out (listed, so it exists), and at most VERIFY_CAP.
    let kinds = okta_kinds(config);
    let mut to_read: HashMap<EntityKey, &str> = stale
        .iter()
        .filter_map(|k| Some((k, *kinds.get(k.blueprint.as_str())?)))
        .filter(|(k, kind)| !books.deselected.contains(kind, &k.identifier))
        .map(|(k, kind)| (k.clone(), kind))
        .collect();
    if to_read.len() > VERIFY_CAP {
        tracing::warn!(
            candidates = to_read.len(),
            cap = VERIFY_CAP,
            "too many stale entities to confirm one by one; the threshold decides"
        );
        to_read.clear();
    }
    // Ocean's rule with createMissingRelatedEntities: an entity this run's entities relate to
    // is kept (deleting it would leave their relations dangling, and it would come back as a
    // stub). A candidate that is read is left to its read: a 200 keeps it anyway.
    let stale: Vec<EntityKey> = if config.create_missing_related_entities {
        stale
            .into_iter()
            .filter(|k| to_read.contains_key(k) || !books.targets.contains_key(k))
            .collect()
    } else {
        stale
    };
    if stale.is_empty() {
        return Ok(Deletion::Done);
    }
    if let Some(why) = over_threshold(config, writer.catalog().as_ref(), &owned, &stale).await? {
        return Ok(Deletion::Skipped(why));
    }
    let confirmed = verify_gone(okta, stale, &to_read, books).await;
    let verified: HashSet<EntityKey> =
        confirmed.iter().filter(|(_, v)| *v).map(|(k, _)| k.clone()).collect();
    let outcomes = writer.delete(confirmed.into_iter().map(|(k, _)| k).collect()).await?;
    books.report.verified_deletes += outcomes
        .iter()
        .filter(|o| matches!(o, Outcome::Deleted { key } if verified.contains(key)))
        .count() as u64;
    books.absorb(outcomes);
    Ok(Deletion::Done)
}

/// Direct Okta reads at most, per run, to confirm stale entities are gone; above it the
/// threshold alone decides.
const VERIFY_CAP: usize = 1000;

/// Confirming reads in flight at once (paced like every other request).
const VERIFY_CONCURRENCY: usize = 8;

/// The per-blueprint stale share, cascades included: the reason deletion must be skipped, if
/// any blueprint's share is over `entityDeletionThreshold`.
async fn over_threshold(
    config: &CompiledConfig,
    catalog: &dyn Catalog,
    owned: &[crate::catalog::OwnedKey],
    stale: &[EntityKey],
) -> Result<Option<String>, CatalogError> {
    // What `deleteDependentEntities` would take with them: planned before anything is deleted.
    let doomed = if config.delete_dependent_entities {
        crate::catalog::cascade(catalog, stale.to_vec()).await?
    } else {
        stale.iter().cloned().collect()
    };
    let mut owned_per: HashMap<&str, usize> = HashMap::new();
    for o in owned {
        *owned_per.entry(o.key.blueprint.as_str()).or_default() += 1;
    }
    let mut doomed_per: std::collections::BTreeMap<&str, usize> = Default::default();
    for k in &doomed {
        *doomed_per.entry(k.blueprint.as_str()).or_default() += 1;
    }
    let threshold = config.entity_deletion_threshold;
    for (bp, n) in doomed_per {
        let of = owned_per.get(bp).copied().unwrap_or(0);
        // A cascade into entities this integration does not own counts as all of them.
        let share = if of == 0 { 1.0 } else { n as f64 / of as f64 };
        if share > threshold {
            let whose = if of == 0 { " (owned by others, reached by the cascade)" } else { "" };
            return Ok(Some(format!(
                "would delete {n} of {} {bp} entities{whose} ({:.1}%), above entityDeletionThreshold {threshold}",
                of.max(n),
                share * 100.0
            )));
        }
    }
    Ok(None)
}

/// The Okta kind of each blueprint whose identifier is the Okta id.
fn okta_kinds(config: &CompiledConfig) -> HashMap<&str, &str> {
    let mut kind_of: HashMap<&str, &str> = HashMap::new();
    for r in &config.resources {
        if let (Some(bp), true) = (r.literal_blueprint(), r.identifier_is_okta_id()) {
            kind_of.entry(bp).or_insert(r.kind());
        }
    }
    kind_of
}

/// Confirms the stale entities in `to_read` (each with its Okta kind) gone with a direct read
/// of their Okta object: 404 → delete; 200 → keep (the listing missed it) and report; an error
/// → keep. The others (their identifier is not the Okta id, the selector left their item out,
/// or there were more than [`VERIFY_CAP`]) are deleted on the threshold's word alone. Returns
/// the keys to delete, each with whether a read confirmed it.
async fn verify_gone(
    okta: &OktaClient,
    stale: Vec<EntityKey>,
    to_read: &HashMap<EntityKey, &str>,
    books: &mut Books,
) -> Vec<(EntityKey, bool)> {
    let mut out = Vec::with_capacity(stale.len());
    let mut reads = tokio::task::JoinSet::new();
    let mut queue = stale.into_iter();
    loop {
        while reads.len() < VERIFY_CONCURRENCY {
            let Some(key) = queue.next() else { break };
            let Some(kind) = to_read.get(&key).map(|k| k.to_string()) else {
                out.push((key, false));
                continue;
            };
            let okta = okta.clone();
            reads.spawn(async move {
                let read = match kind.as_str() {
                    USER_KIND => okta.user(&key.identifier).await,
                    _ => okta.group(&key.identifier).await,
                };
                (key, kind, read)
            });
        }
        let Some(joined) = reads.join_next().await else { break };
        books.report.verify_reads += 1;
        let Ok((key, kind, read)) = joined else {
            books.listing_error("a confirming read failed to run".into());
            continue;
        };
        match read {
            Ok(None) => out.push((key, true)),
            Ok(Some(_)) => {
                books.listing_error(format!(
                    "{kind}: the listing missed {} which still exists in Okta; its entity is kept",
                    key.identifier
                ));
                books.report.kept_after_verification.push(key.to_string());
            }
            Err(e) => {
                books.listing_error(format!(
                    "{kind}: could not confirm {} is gone: {e}",
                    key.identifier
                ));
                books.report.kept_after_verification.push(key.to_string());
            }
        }
    }
    out
}

/// A run-wide set of (blueprint or kind, identifier) pairs as 128-bit [`key_digest`]s: the keys
/// a 100,000-user run wrote take 2 MB this way instead of 13. Two pairs with one digest (odds
/// about n²/2¹²⁸) could only keep a stale entity, never delete a written one.
#[derive(Debug, Default)]
struct KeyDigests(HashSet<u128>);

impl KeyDigests {
    fn insert(&mut self, scope: &str, identifier: &str) {
        self.0.insert(key_digest(scope, identifier));
    }

    fn contains(&self, scope: &str, identifier: &str) -> bool {
        self.0.contains(&key_digest(scope, identifier))
    }

    fn contains_key(&self, key: &EntityKey) -> bool {
        self.contains(&key.blueprint, &key.identifier)
    }
}

/// The run's bookkeeping, fed by the writer's outcomes.
struct Books {
    report: ResyncReport,
    /// Keys now in the catalog as this run mapped them.
    written: KeyDigests,
    /// Relation targets of the entities written.
    targets: KeyDigests,
    /// Items the selector left out, as [`key_digest`]s of (kind, Okta id): listed, so known to
    /// exist, and stale by the mapping's choice rather than by a listing's word.
    deselected: KeyDigests,
    /// Identifiers whose items failed: their existing entities must not be deleted as stale.
    protected_ids: HashSet<String>,
    /// Kinds with a failed item whose entity key cannot be known.
    unidentified: Vec<String>,
    /// Blueprints written in this run.
    blueprints_written: HashSet<String>,
    /// Entities waiting for their relation targets.
    retry: Vec<(String, Entity)>,
    /// The kind that writes each literal blueprint (deletions are reported per kind).
    kind_of_blueprint: HashMap<String, String>,
    /// A dry run's plan and the overlay it is computed on.
    plan: Option<(Plan, Arc<PlanCatalog>)>,
    /// Live events' record, with when this run started reading Okta.
    fresh: Option<(Arc<Freshness>, Instant)>,
    /// The first raw items of each kind, as examples.
    examples: HashMap<String, Vec<serde_json::Value>>,
}

impl Books {
    fn new(config: &CompiledConfig, plan: Option<Arc<PlanCatalog>>) -> Self {
        let mut report = ResyncReport::default();
        let mut kind_of_blueprint = HashMap::new();
        for r in &config.resources {
            report.kind_mut(r.kind());
            if let Some(bp) = r.literal_blueprint() {
                kind_of_blueprint.entry(bp.to_string()).or_insert_with(|| r.kind().to_string());
            }
        }
        Self {
            report,
            written: KeyDigests::default(),
            targets: KeyDigests::default(),
            deselected: KeyDigests::default(),
            protected_ids: HashSet::new(),
            unidentified: Vec::new(),
            blueprints_written: HashSet::new(),
            retry: Vec::new(),
            kind_of_blueprint,
            plan: plan.map(|p| (Plan::default(), p)),
            fresh: None,
            examples: HashMap::new(),
        }
    }

    /// Whether [`Self::example`] would still keep an example of `kind`.
    fn wants_example(&self, kind: &str) -> bool {
        self.examples.get(kind).is_none_or(|kept| kept.len() < EXAMPLES)
    }

    /// Keeps `text` as an example of `kind` while there are fewer than [`EXAMPLES`].
    fn example(&mut self, kind: &str, text: &str) {
        let kept = self.examples.entry(kind.to_string()).or_default();
        if kept.len() < EXAMPLES
            && text.len() <= EXAMPLE_MAX_BYTES
            && let Ok(v) = serde_json::from_str(text)
        {
            kept.push(v);
        }
    }

    /// Whether a live event re-read `okta_id` after this run started reading Okta.
    fn touched_by_events(&self, okta_id: &str) -> bool {
        self.fresh.as_ref().is_some_and(|(f, since)| f.touched_since(okta_id, *since))
    }

    /// An item whose object a live event re-read since this run began: the event's copy is
    /// fresher, so the item is not written, and its entity is not stale.
    fn fresher_elsewhere(&mut self, okta_id: &str) -> bool {
        if !self.touched_by_events(okta_id) {
            return false;
        }
        tracing::debug!(okta_id, "left as a live event wrote it");
        self.protected_ids.insert(okta_id.to_string());
        true
    }

    fn listing_error(&mut self, e: String) {
        tracing::warn!(error = %e, "okta listing failed");
        self.report.listing_errors.push(e);
    }

    fn note(&mut self, kind: &str, item: &str, p: &FieldProblem) {
        self.report.problem_count += 1;
        if self.report.problems.len() < PROBLEM_SAMPLE {
            self.report.problems.push(Problem {
                kind: kind.to_string(),
                item: item.to_string(),
                field: p.field.clone(),
                message: p.message.clone(),
            });
        }
    }

    fn failed(
        &mut self,
        kind: &str,
        item: &str,
        protect: Option<String>,
        problems: &[FieldProblem],
    ) {
        self.report.kind_mut(kind).failed += 1;
        if let Some(id) = protect {
            self.protected_ids.insert(id);
        }
        for p in problems {
            self.note(kind, item, p);
        }
    }

    fn absorb(&mut self, outcomes: Vec<Outcome>) {
        for outcome in outcomes {
            match outcome {
                Outcome::Written { kind, key, change, targets } => {
                    self.targets.0.extend(targets.iter().copied());
                    let k = self.report.kind_mut(&kind);
                    k.upserted += 1;
                    match change {
                        Change::Created => k.created += 1,
                        Change::Updated => k.updated += 1,
                        Change::Unchanged => k.unchanged += 1,
                    }
                    if let Some((plan, overlay)) = &mut self.plan {
                        match change {
                            Change::Created => plan.create.push(key.to_string()),
                            Change::Updated if overlay.existed_before(&key) => {
                                plan.update.push(key.to_string())
                            }
                            Change::Updated => plan.create.push(key.to_string()),
                            Change::Unchanged => {}
                        }
                    }
                    self.blueprints_written.insert(key.blueprint.clone());
                    self.written.insert(&key.blueprint, &key.identifier);
                }
                Outcome::Filtered { kind, okta_id } => {
                    self.deselected.insert(&kind, &okta_id);
                    self.report.kind_mut(&kind).filtered += 1
                }
                Outcome::ItemFailed { kind, okta_id, problems, protect } => {
                    let protected = match protect {
                        Protect::Identifier(id) => Some(id),
                        Protect::Unknown => {
                            if !self.unidentified.contains(&kind) {
                                self.unidentified.push(kind.clone());
                            }
                            None
                        }
                        Protect::Nothing => None,
                    };
                    self.failed(&kind, &okta_id, protected, &problems);
                }
                Outcome::Rejected { kind, key, problems } => {
                    self.failed(&kind, &key.to_string(), Some(key.identifier.clone()), &problems)
                }
                Outcome::MissingRelated { kind, entity, .. } => self.retry.push((kind, *entity)),
                Outcome::Superseded { key, .. } => {
                    self.protected_ids.insert(key.identifier);
                }
                Outcome::Deleted { key } => {
                    let kind = self
                        .kind_of_blueprint
                        .get(&key.blueprint)
                        .cloned()
                        .unwrap_or_else(|| key.blueprint.clone());
                    self.report.kind_mut(&kind).deleted += 1;
                    if let Some((plan, _)) = &mut self.plan {
                        plan.delete.push(key.to_string());
                    }
                }
            }
        }
    }

    fn finish(mut self, deletion: Deletion, requests: u64, r429: u64, secs: f64) -> ResyncReport {
        self.report.deletion = deletion;
        self.report.okta_requests = requests;
        self.report.okta_429 = r429;
        self.report.duration_s = secs;
        self.report.plan = self.plan.map(|(p, _)| p);
        self.report
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::blueprint::BlueprintSet;
    use crate::jq::JqOptions;

    fn group_resource(mappings: &str) -> CompiledResource {
        let yaml = format!(
            "resources:\n  - kind: okta-group\n    selector:\n      query: 'true'\n    port:\n      entity:\n        mappings:\n          identifier: .id\n          blueprint: '\"okta-group\"'\n{}",
            mappings.lines().map(|l| format!("          {l}\n")).collect::<String>()
        );
        let cfg = crate::config::parse_str("t.yml", &yaml).unwrap_or_else(|d| panic!("{d}"));
        let mut c = crate::mapping::compile(&cfg, &BlueprintSet::seed(), &JqOptions::default())
            .unwrap_or_else(|d| panic!("{d}"));
        c.resources.remove(0)
    }

    #[test]
    fn group_items_carry_as_much_of_each_member_as_the_mapping_reads() {
        let fields = |m: &str| member_fields(&group_resource(m));
        assert_eq!(fields("relations:\n  members: .users[]?.id"), MemberFields::Ids);
        assert_eq!(fields("relations:\n  members: '[.users[].id]'"), MemberFields::Ids);
        assert_eq!(fields("title: .profile.name"), MemberFields::Unread);
        let all = [
            "properties:\n  logins: '[.users[].profile.login]'",
            "properties:\n  everyone: .users",
            "properties:\n  n: .users | length",
            "properties:\n  first: .users[0]",
            "properties:\n  g: .",
        ];
        for m in all {
            assert_eq!(fields(m), MemberFields::All, "{m}");
        }
    }

    #[test]
    fn key_digests_tell_blueprints_and_identifiers_apart() {
        let key = |b: &str, i: &str| EntityKey { blueprint: b.into(), identifier: i.into() };
        let mut w = KeyDigests::default();
        w.insert("okta-user", "00u1");
        w.insert("a", "bc");
        assert!(w.contains_key(&key("okta-user", "00u1")));
        assert!(!w.contains_key(&key("okta-group", "00u1")));
        assert!(!w.contains_key(&key("okta-user", "00u2")));
        assert!(
            !w.contains_key(&key("ab", "c")),
            "the boundary between the two is part of the key"
        );
    }
}
