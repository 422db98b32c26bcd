//! The full resync: list Okta, map, write, then delete what this integration owns and Okta no
//! longer has — only after an error-free listing and within `entityDeletionThreshold`.

use super::report::{Deletion, ResyncReport};
use super::write::{Writer, literal_blueprint};
use crate::blueprint::BlueprintSet;
use crate::catalog::{Catalog, CatalogError, WriteContext};
use crate::mapping::{CompiledConfig, CompiledResource};
use crate::model::EntityKey;
use crate::okta::org::{IndexPlan, MembershipIndex, encode};
use crate::okta::{OktaClient, OktaError};
use serde_json::Value;
use std::collections::BTreeSet;
use std::time::Instant;
use tokio::sync::mpsc;

/// Kinds this integration knows.
pub const USER_KIND: &str = "okta-user";
/// Kinds this integration knows.
pub const GROUP_KIND: &str = "okta-group";

/// Profile attributes the fetch always asks for when a `fields` projection is set, because
/// manager resolution needs them.
const MANAGER_FIELDS: [&str; 2] = ["managerId", "manager"];

/// How a resync runs.
#[derive(Debug, Clone)]
pub struct ResyncOptions {
    /// The integration identifier: owner of the entities it writes.
    pub owner: String,
    /// Record created/updated/deleted keys in the report (for `--dry-run`).
    pub record_plan: bool,
    /// Concurrent member/assignment listings.
    pub concurrency: usize,
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

/// Runs one full resync of the org behind `okta` into `catalog`.
pub async fn resync<C: Catalog>(
    okta: &OktaClient,
    config: &CompiledConfig,
    blueprints: &BlueprintSet,
    catalog: &C,
    opts: &ResyncOptions,
    progress: &(dyn Fn(Progress) + Sync),
) -> Result<ResyncReport, CatalogError> {
    let started = Instant::now();
    let run_id =
        format!("resync-{}-{}", jiff::Timestamp::now().as_millisecond(), fastrand::u32(..));
    let requests_before = okta.stats().requests.load(std::sync::atomic::Ordering::Relaxed);
    let r429_before = okta.stats().rate_limited.load(std::sync::atomic::Ordering::Relaxed);
    let mut report = ResyncReport {
        kinds: Vec::new(),
        okta_requests: 0,
        okta_429: 0,
        deletion: Deletion::Done,
        duration_s: 0.0,
        listing_errors: Vec::new(),
        problems: Vec::new(),
        problem_count: 0,
        plan: None,
    };
    for r in &config.resources {
        report.kind_mut(r.kind());
    }
    catalog.put_blueprints(&blueprints.blueprints).await?;
    let cx = WriteContext {
        owner: opts.owner.clone(),
        run_id,
        merge: config.enable_merge_entity,
        create_missing_related: config.create_missing_related_entities,
    };
    let existed = if opts.record_plan {
        Some(catalog.export().await?.into_iter().map(|e| e.key()).collect())
    } else {
        None
    };
    let mut writer = Writer::new(catalog, blueprints, cx, existed);

    // Memberships first: user items need their groups, group items their members.
    let users = config.resources.iter().filter(|r| r.kind() == USER_KIND);
    let plan = IndexPlan {
        members: config.resources.iter().any(|r| r.kind() == GROUP_KIND)
            || users.clone().any(|r| r.config().selector.include_groups),
        applications: users.clone().any(|r| r.config().selector.include_applications),
        concurrency: opts.concurrency,
    };
    progress(Progress::Phase("memberships".into()));
    let index = match MembershipIndex::fetch(okta, plan).await {
        Ok(index) => Some(index),
        Err(e) => {
            report.listing_errors.push(format!("memberships: {e}"));
            None
        }
    };

    if let Some(mut index) = index {
        for resource in &config.resources {
            progress(Progress::Phase(resource.kind().to_string()));
            let result = match resource.kind() {
                USER_KIND => {
                    sync_users(okta, resource, &mut index, &mut writer, &mut report, progress).await
                }
                GROUP_KIND => {
                    sync_groups(resource, &index, &mut writer, &mut report, progress).await
                }
                other => Err(SyncError::Listing(format!("kind {other} is not implemented"))),
            };
            match result {
                Ok(()) => {}
                Err(SyncError::Listing(e)) => {
                    report.listing_errors.push(format!("{}: {e}", resource.kind()))
                }
                Err(SyncError::Catalog(e)) => return Err(e),
            }
            writer.flush(&mut report).await?;
        }
    } else {
        for resource in &config.resources {
            report
                .listing_errors
                .push(format!("{}: not synced, memberships could not be read", resource.kind()));
        }
    }
    writer.retry_missing_related(&mut report).await?;

    progress(Progress::Phase("deletion".into()));
    let (deletion, deleted) =
        delete_stale(config, catalog, &opts.owner, &writer, &mut report).await?;
    report.deletion = deletion;
    report.plan = writer.take_plan().map(|mut p| {
        p.delete = deleted.iter().map(ToString::to_string).collect();
        p
    });
    report.okta_requests =
        okta.stats().requests.load(std::sync::atomic::Ordering::Relaxed) - requests_before;
    report.okta_429 =
        okta.stats().rate_limited.load(std::sync::atomic::Ordering::Relaxed) - r429_before;
    report.duration_s = started.elapsed().as_secs_f64();
    Ok(report)
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

/// The user listings: the plain list (which hides DEPROVISIONED users, like Okta) and the
/// deprovisioned ones by filter, both with the resource's `fields` projection.
fn user_listings(resource: &CompiledResource) -> Vec<String> {
    let fields: Option<String> =
        resource.config().selector.fields.as_deref().map(with_manager_fields);
    let projection = fields.map(|f| format!("&fields={}", encode(&f))).unwrap_or_default();
    vec![
        format!("/api/v1/users?limit=200{projection}"),
        format!(
            "/api/v1/users?limit=200&filter={}{projection}",
            encode("status eq \"DEPROVISIONED\"")
        ),
    ]
}

/// Adds `managerId`/`manager` to a `profile:(…)` projection that lacks them.
fn with_manager_fields(fields: &str) -> String {
    let Some(start) = fields.find("profile:(") else { return fields.to_string() };
    let open = start + "profile:(".len();
    let Some(close) = fields[open..].find(')').map(|i| open + i) else { return fields.to_string() };
    let mut attrs: Vec<&str> =
        fields[open..close].split(',').map(str::trim).filter(|s| !s.is_empty()).collect();
    for f in MANAGER_FIELDS {
        if !attrs.contains(&f) {
            attrs.push(f);
        }
    }
    format!("{}{}{}", &fields[..open], attrs.join(","), &fields[close..])
}

async fn sync_users<C: Catalog>(
    okta: &OktaClient,
    resource: &CompiledResource,
    index: &mut MembershipIndex,
    writer: &mut Writer<'_, C>,
    report: &mut ResyncReport,
    progress: &(dyn Fn(Progress) + Sync),
) -> Result<(), SyncError> {
    let selector = &resource.config().selector;
    let (groups, apps) = (selector.include_groups, selector.include_applications);
    // Listing runs ahead of mapping by a few pages: IO and CPU overlap, memory stays bounded.
    let (tx, mut rx) = mpsc::channel::<Vec<Value>>(4);
    let client = okta.clone();
    let urls = user_listings(resource);
    let lister = tokio::spawn(async move {
        for url in urls {
            let mut pager = client.pager(&url);
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
        for user in page {
            index.learn_user(&user);
            if index.manager_unresolved(&user) {
                // The manager may be listed later (by login or email): decide at the end.
                deferred.push(user);
                continue;
            }
            let item = index.user_item(user, groups, apps);
            writer.item(resource, &item, report).await?;
        }
        progress(Progress::Items { kind: resource.kind().to_string(), n });
    }
    let listed = lister.await.map_err(|e| SyncError::Listing(e.to_string()))?;
    for user in deferred {
        let item = index.user_item(user, groups, apps);
        writer.item(resource, &item, report).await?;
    }
    listed?;
    Ok(())
}

async fn sync_groups<C: Catalog>(
    resource: &CompiledResource,
    index: &MembershipIndex,
    writer: &mut Writer<'_, C>,
    report: &mut ResyncReport,
    progress: &(dyn Fn(Progress) + Sync),
) -> Result<(), SyncError> {
    for gi in 0..index.group_count() {
        let text = index.group_item_json(gi);
        writer
            .item_json(resource, text.as_bytes(), index.group_id(gi), report)
            .await?
            .map_err(|e| SyncError::Listing(format!("group item {gi} is not valid JSON: {e}")))?;
        if gi % 200 == 199 {
            progress(Progress::Items { kind: resource.kind().to_string(), n: 200 });
        }
    }
    progress(Progress::Items {
        kind: resource.kind().to_string(),
        n: (index.group_count() % 200) as u64,
    });
    Ok(())
}

/// Deletes owned entities of the resynced blueprints that this run did not write.
async fn delete_stale<C: Catalog>(
    config: &CompiledConfig,
    catalog: &C,
    owner: &str,
    writer: &Writer<'_, C>,
    report: &mut ResyncReport,
) -> Result<(Deletion, Vec<EntityKey>), CatalogError> {
    if !report.listing_errors.is_empty() {
        return Ok(skipped(format!(
            "the Okta listing did not complete ({} error{})",
            report.listing_errors.len(),
            if report.listing_errors.len() == 1 { "" } else { "s" }
        )));
    }
    if !writer.unidentified_failures.is_empty() {
        return Ok(skipped(format!(
            "items of {} failed before their identifier was known",
            writer.unidentified_failures.join(", ")
        )));
    }
    let mut resynced: BTreeSet<String> = writer.blueprints_written.iter().cloned().collect();
    resynced.extend(config.resources.iter().filter_map(|r| literal_blueprint(r.config())));
    let resynced: Vec<String> = resynced.into_iter().collect();
    let owned = catalog.owned(owner, &resynced).await?;
    let stale: Vec<EntityKey> = owned
        .iter()
        .map(|o| &o.key)
        .filter(|k| !writer.written.contains(*k) && !writer.protected_ids.contains(&k.identifier))
        .cloned()
        .collect();
    if stale.is_empty() {
        return Ok((Deletion::Done, Vec::new()));
    }
    let share = stale.len() as f64 / owned.len() as f64;
    if share > config.entity_deletion_threshold {
        return Ok(skipped(format!(
            "would delete {} of {} owned entities ({:.1}%), above entityDeletionThreshold {}",
            stale.len(),
            owned.len(),
            share * 100.0,
            config.entity_deletion_threshold
        )));
    }
    let deleted = catalog.delete(&stale, config.delete_dependent_entities).await?;
    for key in &deleted {
        let kind = config
            .resources
            .iter()
            .find(|r| literal_blueprint(r.config()).as_deref() == Some(key.blueprint.as_str()))
            .map_or_else(|| key.blueprint.clone(), |r| r.kind().to_string());
        report.kind_mut(&kind).deleted += 1;
    }
    Ok((Deletion::Done, deleted))
}

fn skipped(reason: String) -> (Deletion, Vec<EntityKey>) {
    (Deletion::Skipped(reason), Vec::new())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manager_fields_join_the_profile_projection() {
        assert_eq!(
            with_manager_fields("id,status,profile:(login,email)"),
            "id,status,profile:(login,email,managerId,manager)"
        );
        assert_eq!(
            with_manager_fields("id,profile:(managerId,login)"),
            "id,profile:(managerId,login,manager)"
        );
        assert_eq!(with_manager_fields("id,status"), "id,status");
    }
}
