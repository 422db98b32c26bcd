//! Port's REST API as a [`Catalog`] target: what Ocean does against Port, with its known gaps
//! closed (spec §3.4–§3.9, §5, W-C4, W-C6, W-C9–W-C14).
//!
//! * **Identity**: every call carries Ocean's User-Agent,
//!   `port-ocean/okta/<version>/<owner>/exporter`, from which Port derives the entity
//!   datasource — so entities Ocean wrote are ours after a migration, and nobody else's are
//!   touched. The owner is the write's (or run's) integration identifier.
//! * **Upserts**: per blueprint, at most 20 entities and 1 MiB per bulk call (exact sizes, not
//!   Ocean's estimate), with Ocean's query parameters; calls run concurrently under one bound for
//!   the whole client (W-C10); results are read by index (an index in neither list failed). A
//!   413 splits the call; missing related entities come back as
//!   [`UpsertOutcome::MissingRelated`] with the whole entity kept by the engine (W-C4).
//! * **Ownership**: [`Catalog::owned`] is Port's datasource search (paged, no `before`: the
//!   engine compares with what it wrote, so W-C7's shrinking denominator cannot happen);
//!   [`Catalog::delete`] deletes only entities of our datasource, sources before their targets
//!   (W-C9), ≤ 100 ids per bulk call, and reports the dependents Port deletes with them.
//! * **Blueprints**: created when missing (bare → relations → full, as Ocean), never overwritten;
//!   skipped with `OCEAN__INITIALIZE_PORT_RESOURCES=false`.
//! * **Runs**: the resync state is PATCHed running → completed / failed; raw data examples
//!   (≤ 25 per kind, secrets and `_links` removed, size-capped) go to the integration.
//! * **Transport** ([`http`]): token refresh with a margin, single-flight, one forced refresh on
//!   a 401 (W-C13); bounded retries of 429/408/502/503/504 and network errors honouring
//!   `Retry-After`/`x-ratelimit-reset`, never of 500 (W-C14).
//!
//! Every request is safe to repeat: upserts and deletes are idempotent, searches read, the
//! resync-state PATCH sets a value, and a blueprint or integration POST that already happened
//! answers 409, which is read as "exists".

pub mod http;
mod integration;
mod upsert;
pub mod wire;

pub use http::{PortStats, RetryPolicy};
pub use integration::{EXAMPLES_PER_KIND, examples, sanitize};

use crate::blueprint::Blueprint;
use crate::catalog::rules::{self, Blueprints};
use crate::catalog::{
    BoxFut, Catalog, CatalogError, DeleteContext, OwnedKey, RunInfo, RunOutcome, RunStart, Stored,
    UpsertOutcome, WriteContext,
};
use crate::model::{Entity, EntityKey};
use crate::secret::Secret;
use http::{PortHttp, Req};
use reqwest::Method;
use serde_json::{Value, json};
use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use wire::{DatasourcePage, DatasourceQuery, ext};

/// Ids per search or bulk-delete call.
const IDS_PER_CALL: usize = 100;
/// Entities per datasource-search page (Ocean's page size).
const DATASOURCE_PAGE: usize = 5000;
/// Pages of one datasource search, at most (5,000 × 2,000 = 10 M entities).
const MAX_PAGES: usize = 2000;

/// How to reach Port and how to write to it.
#[derive(Debug, Clone)]
pub struct PortConfig {
    /// API base URL (`https://api.getport.io`, `https://api.us.getport.io`, or `catalog serve`).
    pub base_url: String,
    /// `OCEAN__PORT__CLIENT_ID`.
    pub client_id: String,
    /// `OCEAN__PORT__CLIENT_SECRET`.
    pub client_secret: Secret,
    /// The integration whose mapping, state and examples are read and written.
    pub integration_identifier: String,
    /// The version in the User-Agent (and so in the datasource).
    pub version: String,
    /// Entities per bulk upsert, at most.
    pub batch_max_len: usize,
    /// Bytes per bulk upsert body, at most.
    pub batch_max_bytes: usize,
    /// Bulk calls in flight at once, for the whole client.
    pub concurrency: usize,
    /// Retries.
    pub retry: RetryPolicy,
    /// One request's time limit.
    pub timeout: Duration,
    /// Create missing blueprints and an empty mapping (`OCEAN__INITIALIZE_PORT_RESOURCES`).
    pub initialize_resources: bool,
    /// Send raw data examples (`OCEAN__SEND_RAW_DATA_EXAMPLES`).
    pub send_examples: bool,
}

impl PortConfig {
    /// Ocean's defaults for `base_url` and these credentials.
    pub fn new(base_url: &str, client_id: &str, client_secret: Secret, integration: &str) -> Self {
        Self {
            base_url: base_url.to_string(),
            client_id: client_id.to_string(),
            client_secret,
            integration_identifier: integration.to_string(),
            version: env!("CARGO_PKG_VERSION").to_string(),
            batch_max_len: 20,
            batch_max_bytes: 1 << 20,
            concurrency: 8,
            retry: RetryPolicy::default(),
            timeout: Duration::from_secs(60),
            initialize_resources: true,
            send_examples: true,
        }
    }
}

/// The Port catalog.
#[derive(Debug)]
pub struct PortCatalog {
    http: Arc<PortHttp>,
    config: PortConfig,
    permits: Arc<tokio::sync::Semaphore>,
    /// The integration of the run in progress (for its end).
    run: Mutex<Option<String>>,
}

impl PortCatalog {
    /// A client of the Port API described by `config`.
    pub fn new(config: PortConfig) -> Result<Self, CatalogError> {
        let concurrency = config.concurrency.max(1);
        let http = PortHttp::new(
            &config.base_url,
            &config.client_id,
            config.client_secret.clone(),
            config.retry,
            config.timeout,
            concurrency * 2,
        )?;
        Ok(Self {
            http: Arc::new(http),
            permits: Arc::new(tokio::sync::Semaphore::new(concurrency)),
            config,
            run: Mutex::new(None),
        })
    }

    /// The client's counters.
    pub fn stats(&self) -> &PortStats {
        self.http.stats()
    }

    /// The User-Agent of writes owned by `owner`.
    fn user_agent(&self, owner: &str) -> String {
        wire::user_agent(wire::INTEGRATION_TYPE, &self.config.version, owner)
    }

    fn default_ua(&self) -> String {
        self.user_agent(&self.config.integration_identifier)
    }

    /// Every blueprint in Port.
    async fn blueprints(&self) -> Result<Blueprints, CatalogError> {
        let req = Req::new(Method::GET, &["blueprints"], &self.default_ua());
        let answer: Value = self.http.call(&req).await?;
        let list = answer["blueprints"].as_array().cloned().unwrap_or_default();
        let mut out = Blueprints::new();
        for v in list {
            let bp: Blueprint = serde_json::from_value(v).map_err(|e| CatalogError::Corrupt {
                key: "blueprints".into(),
                message: format!("Port sent a blueprint port-okta cannot read: {e}"),
            })?;
            out.insert(bp.identifier.clone(), bp);
        }
        Ok(out)
    }

    /// `POST /v1/entities/search` with `rules` combined by `and`; entities with their owner.
    async fn search(&self, rules: Vec<Value>) -> Result<Vec<Stored>, CatalogError> {
        let req = Req::new(Method::POST, &["entities", "search"], &self.default_ua())
            .query("exclude_calculated_properties", "true")
            .json(&json!({ "combinator": "and", "rules": rules }));
        let answer: Value = self.http.call(&req).await?;
        let list = answer["entities"].as_array().cloned().unwrap_or_default();
        list.into_iter().map(stored_of).collect()
    }

    /// The stored entities of `blueprint` among `ids`, optionally only ours (`owner`).
    async fn find(
        &self,
        blueprint: &str,
        ids: &[String],
        owner: Option<&str>,
    ) -> Result<Vec<Stored>, CatalogError> {
        let mut out = Vec::new();
        for chunk in ids.chunks(IDS_PER_CALL) {
            let mut rules = vec![
                json!({"property": "$blueprint", "operator": "=", "value": blueprint}),
                json!({"property": "$identifier", "operator": "in", "value": chunk}),
            ];
            if let Some(owner) = owner {
                rules.extend(datasource_rules(owner));
            }
            out.extend(self.search(rules).await?);
        }
        Ok(out)
    }

    /// The direct dependents of `keys` given `blueprints`: a `relatedTo` search per blueprint
    /// with a required relation into theirs, each answer checked against the relation itself.
    async fn dependents_in(
        &self,
        blueprints: &Blueprints,
        keys: &[EntityKey],
    ) -> Result<BTreeSet<EntityKey>, CatalogError> {
        let mut by_target: HashMap<&str, Vec<String>> = HashMap::new();
        for k in keys {
            by_target.entry(k.blueprint.as_str()).or_default().push(k.identifier.clone());
        }
        let targets: HashSet<&EntityKey> = keys.iter().collect();
        let mut out = BTreeSet::new();
        for (target_bp, ids) in by_target {
            let sources: BTreeSet<&str> =
                rules::required_into(blueprints, target_bp).map(|(bp, _)| bp).collect();
            for source in sources {
                for chunk in ids.chunks(IDS_PER_CALL) {
                    let rules = vec![
                        json!({"property": "$blueprint", "operator": "=", "value": source}),
                        json!({"operator": "relatedTo", "blueprint": target_bp, "value": chunk, "required": true}),
                    ];
                    for s in self.search(rules).await? {
                        if rules::depends_on(&s.entity, blueprints, &targets) {
                            out.insert(s.entity.key());
                        }
                    }
                }
            }
        }
        Ok(out)
    }

    /// Upserts the entities at `indices` (one level of a batch): their bulk calls run
    /// concurrently under the client-wide bound.
    async fn upsert_level(
        &self,
        entities: &[Entity],
        indices: &[usize],
        cx: &WriteContext,
    ) -> Result<Vec<(usize, UpsertOutcome)>, CatalogError> {
        let ua = self.user_agent(&cx.owner);
        let mut calls = tokio::task::JoinSet::new();
        let chunks = upsert::chunks(
            entities,
            indices,
            self.config.batch_max_len,
            self.config.batch_max_bytes,
        );
        for chunk in chunks {
            let (http, permits, cx, ua) =
                (self.http.clone(), self.permits.clone(), cx.clone(), ua.clone());
            calls.spawn(async move {
                let _permit = permits.acquire_owned().await;
                upsert::send(http, chunk, cx, ua).await
            });
        }
        let mut out = Vec::with_capacity(indices.len());
        while let Some(done) = calls.join_next().await {
            let done =
                done.map_err(|e| CatalogError::Closed(format!("a Port upsert task ended: {e}")))??;
            out.extend(done);
        }
        Ok(out)
    }

    /// Creates a missing blueprint as Ocean does: bare, then with relations, then in full.
    async fn create_blueprint(&self, bp: &Blueprint) -> Result<(), CatalogError> {
        let ua = self.default_ua();
        let full = serde_json::to_value(bp).map_err(|e| CatalogError::Corrupt {
            key: format!("blueprint {}", bp.identifier),
            message: e.to_string(),
        })?;
        let mut bare = full.clone();
        if let Some(m) = bare.as_object_mut() {
            for k in [
                "relations",
                "calculationProperties",
                "mirrorProperties",
                "aggregationProperties",
                "ownership",
                "teamInheritance",
            ] {
                m.remove(k);
            }
        }
        let post = Req::new(Method::POST, &["blueprints"], &ua).json(&bare);
        match self.http.send(&post).await {
            Ok(_) => {}
            Err(CatalogError::Http { status: 409, .. }) => {
                tracing::info!(blueprint = %bp.identifier, "blueprint created meanwhile; left as it is");
                return Ok(());
            }
            Err(e) => return Err(e),
        }
        let path = ["blueprints", bp.identifier.as_str()];
        if !bp.relations.is_empty() {
            let rels = json!({"identifier": bp.identifier, "relations": full["relations"]});
            self.http.send(&Req::new(Method::PATCH, &path, &ua).json(&rels)).await?;
        }
        self.http.send(&Req::new(Method::PATCH, &path, &ua).json(&full)).await?;
        tracing::info!(blueprint = %bp.identifier, "blueprint created in Port");
        Ok(())
    }
}

/// As much of an entity of the datasource search as [`Catalog::owned`] reads.
#[derive(serde::Deserialize)]
struct Owned {
    identifier: String,
    blueprint: String,
    #[serde(rename = "resyncId", default)]
    resync_id: Option<String>,
}

/// The two datasource rules Ocean appends to find an integration's own entities.
fn datasource_rules(owner: &str) -> [Value; 2] {
    [
        json!({"property": "$datasource", "operator": "contains", "value": wire::datasource_prefix(wire::INTEGRATION_TYPE)}),
        json!({"property": "$datasource", "operator": "contains", "value": wire::datasource_suffix(owner)}),
    ]
}

/// An entity as Port returns it, with the owner and run `catalog serve` adds.
fn stored_of(mut v: Value) -> Result<Stored, CatalogError> {
    let owner = v.get(ext::DATASOURCE).and_then(Value::as_str).map(wire::owner_of_datasource);
    let run_id = v.get(ext::RESYNC_ID).and_then(Value::as_str).map(String::from);
    if let Some(m) = v.as_object_mut() {
        // Port's meta fields are not entity fields.
        for k in
            ["createdAt", "updatedAt", "createdBy", "updatedBy", ext::DATASOURCE, ext::RESYNC_ID]
        {
            m.remove(k);
        }
    }
    let key = format!(
        "{}/{}",
        v["blueprint"].as_str().unwrap_or("?"),
        v["identifier"].as_str().unwrap_or("?")
    );
    let entity: Entity = serde_json::from_value(v).map_err(|e| CatalogError::Corrupt {
        key,
        message: format!("Port sent an entity port-okta cannot read: {e}"),
    })?;
    Ok(Stored { entity, owner, run_id })
}

/// `keys` ordered so that an entity comes before the entities it points at (sources before
/// targets, W-C9); entities in a cycle keep their given order, after the rest.
fn sources_first(entities: &[Stored], blueprints: &Blueprints) -> Vec<EntityKey> {
    let index: HashMap<EntityKey, usize> =
        entities.iter().enumerate().map(|(i, s)| (s.entity.key(), i)).collect();
    // points[i]: the entities of the set that entity i points at.
    let points: Vec<Vec<usize>> = entities
        .iter()
        .enumerate()
        .map(|(i, s)| match blueprints.get(&s.entity.blueprint) {
            Some(bp) => rules::relation_targets(&s.entity, bp)
                .filter_map(|k| index.get(&k).copied())
                .filter(|&j| j != i)
                .collect::<BTreeSet<usize>>()
                .into_iter()
                .collect(),
            None => Vec::new(),
        })
        .collect();
    let mut pointed_by = vec![0usize; entities.len()];
    for targets in &points {
        for &j in targets {
            pointed_by[j] += 1;
        }
    }
    let mut ready: std::collections::VecDeque<usize> =
        (0..entities.len()).filter(|&i| pointed_by[i] == 0).collect();
    let mut done = vec![false; entities.len()];
    let mut out = Vec::with_capacity(entities.len());
    while let Some(i) = ready.pop_front() {
        done[i] = true;
        out.push(entities[i].entity.key());
        for &j in &points[i] {
            pointed_by[j] -= 1;
            if pointed_by[j] == 0 {
                ready.push_back(j);
            }
        }
    }
    out.extend((0..entities.len()).filter(|&i| !done[i]).map(|i| entities[i].entity.key()));
    out
}

/// The identifiers a bulk delete answer reports deleted (strings, or objects with one).
fn deleted_ids(answer: &Value) -> Option<HashSet<String>> {
    let list = answer.get("deletedEntities")?.as_array()?;
    Some(
        list.iter()
            .filter_map(|v| match v {
                Value::String(s) => Some(s.clone()),
                other => other.get("identifier").and_then(Value::as_str).map(String::from),
            })
            .collect(),
    )
}

impl Catalog for PortCatalog {
    fn describe(&self) -> String {
        format!("port:{}", self.http.base())
    }

    fn put_blueprints(&self, blueprints: Vec<Blueprint>) -> BoxFut<'_, ()> {
        Box::pin(async move {
            if !self.config.initialize_resources {
                return Ok(());
            }
            for bp in &blueprints {
                let get =
                    Req::new(Method::GET, &["blueprints", &bp.identifier], &self.default_ua());
                match self.http.send(&get).await {
                    Ok(_) => continue,
                    Err(CatalogError::Http { status: 404, .. }) => {
                        self.create_blueprint(bp).await?
                    }
                    Err(e) => return Err(e),
                }
            }
            Ok(())
        })
    }

    fn upsert(&self, entities: Arc<[Entity]>, cx: WriteContext) -> BoxFut<'_, Vec<UpsertOutcome>> {
        Box::pin(async move {
            let mut out: Vec<Option<UpsertOutcome>> = vec![None; entities.len()];
            for level in upsert::levels(&entities) {
                for (i, outcome) in self.upsert_level(&entities, &level, &cx).await? {
                    out[i] = Some(outcome);
                }
            }
            Ok(out
                .into_iter()
                .map(|o| o.unwrap_or_else(|| UpsertOutcome::Rejected("not sent".into())))
                .collect())
        })
    }

    fn get(&self, keys: Vec<EntityKey>) -> BoxFut<'_, Vec<Option<Stored>>> {
        Box::pin(async move {
            let mut by_bp: HashMap<&str, Vec<String>> = HashMap::new();
            for k in &keys {
                by_bp.entry(k.blueprint.as_str()).or_default().push(k.identifier.clone());
            }
            let mut found: HashMap<EntityKey, Stored> = HashMap::new();
            for (bp, ids) in by_bp {
                for s in self.find(bp, &ids, None).await? {
                    found.insert(s.entity.key(), s);
                }
            }
            Ok(keys.iter().map(|k| found.get(k).cloned()).collect())
        })
    }

    fn owned(&self, owner: String, blueprints: Vec<String>) -> BoxFut<'_, Vec<OwnedKey>> {
        Box::pin(async move {
            let wanted: HashSet<&str> = blueprints.iter().map(String::as_str).collect();
            let mut query = DatasourceQuery {
                datasource_prefix: wire::datasource_prefix(wire::INTEGRATION_TYPE),
                datasource_suffix: wire::datasource_suffix(&owner),
                limit: Some(DATASOURCE_PAGE),
                before: None,
                from: None,
            };
            let mut out = Vec::new();
            for page in 0.. {
                if page == MAX_PAGES {
                    return Err(CatalogError::Corrupt {
                        key: "datasource search".into(),
                        message: format!(
                            "more than {MAX_PAGES} pages; the cursor does not advance"
                        ),
                    });
                }
                let req = Req::new(
                    Method::POST,
                    &["blueprints", "entities", "datasource-entities"],
                    &self.user_agent(&owner),
                )
                .json(&query);
                let answer: DatasourcePage<Owned> = self.http.call(&req).await?;
                for e in answer.entities {
                    if wanted.contains(e.blueprint.as_str()) {
                        let key = EntityKey { blueprint: e.blueprint, identifier: e.identifier };
                        out.push(OwnedKey { key, run_id: e.resync_id.unwrap_or_default() });
                    }
                }
                match answer.next {
                    Some(next)
                        if !next.is_empty() && query.from.as_deref() != Some(next.as_str()) =>
                    {
                        query.from = Some(next);
                    }
                    _ => break,
                }
            }
            Ok(out)
        })
    }

    fn dependents(&self, keys: Vec<EntityKey>) -> BoxFut<'_, Vec<EntityKey>> {
        Box::pin(async move {
            let blueprints = self.blueprints().await?;
            Ok(self.dependents_in(&blueprints, &keys).await?.into_iter().collect())
        })
    }

    fn delete(&self, keys: Vec<EntityKey>, cx: DeleteContext) -> BoxFut<'_, Vec<EntityKey>> {
        Box::pin(async move {
            let blueprints = self.blueprints().await?;
            let mut by_bp: HashMap<&str, Vec<String>> = HashMap::new();
            for k in &keys {
                by_bp.entry(k.blueprint.as_str()).or_default().push(k.identifier.clone());
            }
            let mut ours = Vec::new();
            for (bp, ids) in by_bp {
                ours.extend(self.find(bp, &ids, Some(&cx.owner)).await?);
            }
            if ours.is_empty() {
                return Ok(Vec::new());
            }
            // What Port will delete with them: the closure of their dependents.
            let mut cascade: BTreeSet<EntityKey> = BTreeSet::new();
            if cx.dependents {
                let mut frontier: Vec<EntityKey> = ours.iter().map(|s| s.entity.key()).collect();
                // Bounded: each round keeps only keys not seen before.
                while !frontier.is_empty() {
                    let next: Vec<EntityKey> = self
                        .dependents_in(&blueprints, &frontier)
                        .await?
                        .into_iter()
                        .filter(|k| cascade.insert(k.clone()))
                        .collect();
                    frontier = next;
                }
            }
            let order = sources_first(&ours, &blueprints);
            let ua = self.user_agent(&cx.owner);
            let mut deleted: BTreeSet<EntityKey> = BTreeSet::new();
            let mut i = 0;
            while i < order.len() {
                let bp = order[i].blueprint.clone();
                let run: Vec<String> = order[i..]
                    .iter()
                    .take_while(|k| k.blueprint == bp)
                    .take(IDS_PER_CALL)
                    .map(|k| k.identifier.clone())
                    .collect();
                i += run.len();
                let req =
                    Req::new(Method::POST, &["blueprints", &bp, "bulk", "entities", "delete"], &ua)
                        .query("delete_dependents", cx.dependents.to_string())
                        .query("ocean_info_event_type", "resync")
                        .json(&json!({ "entities": run }));
                PortStats::add(&self.http.stats().delete_calls, 1);
                let answer: Value = self.http.call(&req).await?;
                let reported = deleted_ids(&answer);
                for id in run {
                    if reported.as_ref().is_none_or(|r| r.contains(&id)) {
                        deleted.insert(EntityKey { blueprint: bp.clone(), identifier: id });
                    }
                }
            }
            deleted.extend(cascade);
            Ok(deleted.into_iter().collect())
        })
    }

    fn export(&self) -> BoxFut<'_, Vec<Entity>> {
        Box::pin(async move {
            let blueprints = self.blueprints().await?;
            let mut ids: Vec<&String> = blueprints.keys().collect();
            ids.sort();
            let mut out = Vec::new();
            for bp in ids {
                let rule = json!({"property": "$blueprint", "operator": "=", "value": bp});
                let mut found: Vec<Entity> =
                    self.search(vec![rule]).await?.into_iter().map(|s| s.entity).collect();
                found.sort_by(|a, b| a.identifier.cmp(&b.identifier));
                out.extend(found);
            }
            Ok(out)
        })
    }

    fn begin_run(&self, run: RunInfo, _wait: Duration) -> BoxFut<'_, RunStart> {
        Box::pin(async move {
            *self.run.lock().unwrap_or_else(|e| e.into_inner()) = Some(run.owner.clone());
            let body = json!({
                "status": "running",
                "lastResyncStart": run.started.to_string(),
                "lastResyncEnd": null,
                "nextResync": null,
                "intervalInMinuets": null,
            });
            self.resync_state(&run.owner, body).await;
            Ok(RunStart::default())
        })
    }

    fn end_run(&self, run_id: String, outcome: RunOutcome) -> BoxFut<'_, ()> {
        Box::pin(async move {
            let owner = self
                .run
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .take()
                .unwrap_or_else(|| self.config.integration_identifier.clone());
            let status = match &outcome {
                RunOutcome::Completed => "completed",
                RunOutcome::Partial(_) | RunOutcome::Failed(_) => "failed",
            };
            let stats = self.stats();
            tracing::info!(
                %run_id, status, port_requests = PortStats::get(&stats.requests),
                upsert_calls = PortStats::get(&stats.upsert_calls),
                upserted = PortStats::get(&stats.upserted), refused = PortStats::get(&stats.refused),
                delete_calls = PortStats::get(&stats.delete_calls), retries = PortStats::get(&stats.retries),
                "port run ended"
            );
            let body = json!({
                "status": status,
                "lastResyncEnd": jiff::Timestamp::now().to_string(),
                "nextResync": null,
                "intervalInMinuets": null,
            });
            self.resync_state(&owner, body).await;
            Ok(())
        })
    }

    fn resync_request(&self) -> BoxFut<'_, Option<String>> {
        Box::pin(self.last_resync_request())
    }

    fn examples(&self, kind: String, items: Vec<Value>) -> BoxFut<'_, ()> {
        Box::pin(async move {
            if self.config.send_examples {
                self.send_examples(&kind, &items).await;
            }
            Ok(())
        })
    }
}

impl Drop for PortCatalog {
    fn drop(&mut self) {
        let s = self.stats();
        tracing::info!(
            port_requests = PortStats::get(&s.requests),
            upsert_calls = PortStats::get(&s.upsert_calls),
            upserted = PortStats::get(&s.upserted),
            refused = PortStats::get(&s.refused),
            delete_calls = PortStats::get(&s.delete_calls),
            retries = PortStats::get(&s.retries),
            rate_limited = PortStats::get(&s.rate_limited),
            waited_ms = PortStats::get(&s.waited_ms),
            token_fetches = PortStats::get(&s.token_fetches),
            "port client done"
        );
    }
}
