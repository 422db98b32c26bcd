//! Blueprint and entity endpoints of `catalog serve`.

use super::search::{self, Query};
use super::store::Row;
use super::{ApiError, ApiResult, AppState, Body, datasource};
use crate::blueprint::Blueprint;
use crate::catalog::rules::Blueprints;
use crate::catalog::{Catalog, Change, DeleteContext, UpsertOutcome, WriteContext};
use crate::model::{Entity, EntityKey};
use crate::port::wire::{self, BulkAnswer, BulkEntity, BulkError, DatasourcePage, DatasourceQuery};
use axum::Json;
use axum::extract::{Path, Query as UrlQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

// ----- blueprints -----------------------------------------------------------------------------

/// How long blueprints read from the file are reused (a blueprint written by another process,
/// e.g. a direct `sync` into the same file, is seen after at most this long).
const BLUEPRINT_CACHE: std::time::Duration = std::time::Duration::from_secs(2);

fn cached_blueprints(state: &AppState) -> Option<Arc<Blueprints>> {
    let cache = state.blueprints.lock().unwrap_or_else(|e| e.into_inner());
    cache.as_ref().filter(|(at, _)| at.elapsed() < BLUEPRINT_CACHE).map(|(_, b)| b.clone())
}

/// Every blueprint (cached briefly; every blueprint write through this server clears it).
async fn blueprints(state: &AppState) -> ApiResult<Blueprints> {
    if let Some(cached) = cached_blueprints(state) {
        return Ok((*cached).clone());
    }
    let read = state.read(|s| s.blueprints()).await?;
    let entry = (std::time::Instant::now(), Arc::new(read.clone()));
    *state.blueprints.lock().unwrap_or_else(|e| e.into_inner()) = Some(entry);
    Ok(read)
}

fn blueprint_json(bp: &Blueprint) -> Value {
    serde_json::to_value(bp).unwrap_or(Value::Null)
}

fn parse_blueprint(v: Value) -> ApiResult<Blueprint> {
    let bp: Blueprint =
        serde_json::from_value(v).map_err(|e| ApiError::bad(format!("not a blueprint: {e}")))?;
    if bp.identifier.is_empty() {
        return Err(ApiError::bad("a blueprint needs an identifier"));
    }
    Ok(bp)
}

async fn store_blueprint(state: &AppState, bp: Blueprint) -> ApiResult<Json<Value>> {
    let json = blueprint_json(&bp);
    *state.blueprints.lock().unwrap_or_else(|e| e.into_inner()) = None;
    state.catalog.put_blueprints(vec![bp]).await.map_err(ApiError::internal)?;
    *state.blueprints.lock().unwrap_or_else(|e| e.into_inner()) = None;
    Ok(Json(json!({"ok": true, "blueprint": json})))
}

pub(super) async fn list_blueprints(State(state): State<AppState>) -> ApiResult<Json<Value>> {
    let mut all: Vec<Blueprint> = blueprints(&state).await?.into_values().collect();
    all.sort_by(|a, b| a.identifier.cmp(&b.identifier));
    let list: Vec<Value> = all.iter().map(blueprint_json).collect();
    Ok(Json(json!({"ok": true, "blueprints": list})))
}

pub(super) async fn get_blueprint(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    match blueprints(&state).await?.get(&id) {
        Some(bp) => Ok(Json(json!({"ok": true, "blueprint": blueprint_json(bp)}))),
        None => Err(ApiError::not_found(format!("blueprint {id} not found"))),
    }
}

pub(super) async fn create_blueprint(
    State(state): State<AppState>,
    Body(body): Body,
) -> ApiResult<Response> {
    let bp = parse_blueprint(body)?;
    if blueprints(&state).await?.contains_key(&bp.identifier) {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "identifier_taken",
            format!("blueprint {} already exists", bp.identifier),
        ));
    }
    Ok((StatusCode::CREATED, store_blueprint(&state, bp).await?).into_response())
}

pub(super) async fn patch_blueprint(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Body(body): Body,
) -> ApiResult<Json<Value>> {
    let Some(old) = blueprints(&state).await?.remove(&id) else {
        return Err(ApiError::not_found(format!("blueprint {id} not found")));
    };
    let Value::Object(patch) = body else { return Err(ApiError::bad("expected a JSON object")) };
    let mut merged = blueprint_json(&old);
    if let Some(m) = merged.as_object_mut() {
        m.extend(patch);
        m.insert("identifier".into(), Value::String(id));
    }
    store_blueprint(&state, parse_blueprint(merged)?).await
}

pub(super) async fn put_blueprint(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Body(mut body): Body,
) -> ApiResult<Json<Value>> {
    if let Some(m) = body.as_object_mut() {
        m.insert("identifier".into(), Value::String(id));
    }
    store_blueprint(&state, parse_blueprint(body)?).await
}

// ----- upserts --------------------------------------------------------------------------------

/// Upsert query parameters (Port's defaults: no merge, no stubs).
#[derive(Debug, Deserialize)]
pub(super) struct WriteParams {
    #[serde(default = "yes")]
    upsert: bool,
    #[serde(default)]
    merge: bool,
    #[serde(default)]
    create_missing_related_entities: bool,
    #[serde(default)]
    ocean_info_resync_id: Option<String>,
}

fn yes() -> bool {
    true
}

/// One entity of a request, before writing: ready, or refused with (status, code, message,
/// identifier).
type Checked = Result<Entity, (u16, &'static str, String, String)>;

/// Reads and checks one entity of `blueprint` from its JSON; a `many` relation sent as a single
/// identifier becomes a list of one (Ocean sends that when jq yields one value).
fn check(state: &AppState, v: Value, blueprint: &Blueprint) -> Checked {
    let id = v.get("identifier").and_then(Value::as_str).unwrap_or("unknown").to_string();
    if let Some(rule) = state.reject_rule(&id) {
        return Err((rule.status, "invalid_request", rule.message, id));
    }
    let mut v = v;
    if let Some(m) = v.as_object_mut() {
        m.entry("blueprint").or_insert_with(|| Value::String(blueprint.identifier.clone()));
    }
    let mut entity: Entity = serde_json::from_value(v).map_err(|e| {
        (422, "invalid_request", format!("entity {id} is not an entity: {e}"), id.clone())
    })?;
    if entity.blueprint != blueprint.identifier {
        let why = format!(
            "entity {id} is of blueprint {}, sent to {}",
            entity.blueprint, blueprint.identifier
        );
        return Err((422, "invalid_request", why, id));
    }
    for (name, rel) in blueprint.relations.iter() {
        if rel.many
            && let Some(Value::String(s)) = entity.relations.get(name.as_str())
        {
            let one = Value::Array(vec![Value::String(s.clone())]);
            entity.relations.insert(name.clone(), one);
        }
    }
    Ok(entity)
}

/// Writes the checked entities of one request; one result per entity, in order.
async fn write(
    state: &AppState,
    headers: &HeaderMap,
    params: &WriteParams,
    checked: Vec<Checked>,
) -> ApiResult<Vec<Result<(String, Change), BulkError>>> {
    let owner = datasource(headers);
    let mut ready: Vec<Entity> = Vec::new();
    for e in checked.iter().flatten() {
        ready.push(e.clone());
    }
    if !params.upsert && !ready.is_empty() {
        let keys: Vec<EntityKey> = ready.iter().map(Entity::key).collect();
        let existing = state.catalog.get(keys).await.map_err(ApiError::internal)?;
        if existing.iter().any(Option::is_some) {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "identifier_taken",
                "an entity with this identifier exists (upsert=false)",
            ));
        }
    }
    let cx = WriteContext {
        owner,
        run_id: params.ocean_info_resync_id.clone().unwrap_or_default(),
        merge: params.merge,
        create_missing_related: params.create_missing_related_entities,
    };
    let outcomes = if ready.is_empty() {
        Vec::new()
    } else {
        state.catalog.upsert(Arc::from(ready), cx).await.map_err(ApiError::internal)?
    };
    let mut outcomes = outcomes.into_iter();
    let mut out = Vec::with_capacity(checked.len());
    let mut written = 0;
    for (index, c) in checked.into_iter().enumerate() {
        let refuse = |status_code, error: &str, message: String, identifier: String| BulkError {
            index,
            identifier,
            status_code,
            error: error.to_string(),
            message,
            related: None,
        };
        out.push(match c {
            Err((status, code, message, id)) => Err(refuse(status, code, message, id)),
            Ok(e) => match outcomes.next() {
                Some(UpsertOutcome::Written(change)) => {
                    written += 1;
                    Ok((e.identifier, change))
                }
                Some(UpsertOutcome::MissingRelated(target)) => {
                    let message = format!(
                        "entity {} relates to {target}, which does not exist (create_missing_related_entities is false)",
                        e.key()
                    );
                    Err(BulkError { related: Some(target), ..refuse(404, "not_found", message, e.identifier) })
                }
                Some(UpsertOutcome::Rejected(why)) => {
                    Err(refuse(422, "schema_mismatch", why, e.identifier))
                }
                None => Err(refuse(500, "internal_error", "no outcome".into(), e.identifier)),
            },
        });
    }
    state.count("entities_upserted", written);
    Ok(out)
}

async fn blueprint_of(state: &AppState, bp: &str) -> ApiResult<Blueprint> {
    let found = match cached_blueprints(state) {
        Some(all) => all.get(bp).cloned(),
        None => blueprints(state).await?.remove(bp),
    };
    found.ok_or_else(|| ApiError::not_found(format!("blueprint {bp} not found")))
}

pub(super) async fn upsert_bulk(
    State(state): State<AppState>,
    Path(bp): Path<String>,
    UrlQuery(params): UrlQuery<WriteParams>,
    headers: HeaderMap,
    Body(body): Body,
) -> ApiResult<Response> {
    let blueprint = blueprint_of(&state, &bp).await?;
    let Some(Value::Array(list)) = body.get("entities").cloned() else {
        return Err(ApiError::bad("expected {\"entities\": [...]}"));
    };
    let checked: Vec<Checked> = list.into_iter().map(|v| check(&state, v, &blueprint)).collect();
    let results = write(&state, &headers, &params, checked).await?;
    let mut answer = BulkAnswer { ok: true, ..BulkAnswer::default() };
    for (index, r) in results.into_iter().enumerate() {
        match r {
            Ok((identifier, change)) => answer.entities.push(BulkEntity {
                index,
                identifier,
                created: change == Change::Created,
                unchanged: change == Change::Unchanged,
            }),
            Err(e) => answer.errors.push(e),
        }
    }
    let status = if answer.errors.is_empty() { StatusCode::OK } else { StatusCode::MULTI_STATUS };
    Ok((status, Json(answer)).into_response())
}

pub(super) async fn upsert_one(
    State(state): State<AppState>,
    Path(bp): Path<String>,
    UrlQuery(params): UrlQuery<WriteParams>,
    headers: HeaderMap,
    Body(body): Body,
) -> ApiResult<Response> {
    let blueprint = blueprint_of(&state, &bp).await?;
    let checked = vec![check(&state, body, &blueprint)];
    let result = write(&state, &headers, &params, checked).await?.remove(0);
    match result {
        Ok((identifier, change)) => {
            let stored =
                state.read(move |s| s.by_ids(&bp, &[identifier])).await?.into_iter().next();
            let status =
                if change == Change::Created { StatusCode::CREATED } else { StatusCode::OK };
            let entity = stored.map(|r| r.to_json()).unwrap_or(Value::Null);
            Ok((status, Json(json!({"ok": true, "entity": entity}))).into_response())
        }
        Err(e) => {
            let status =
                StatusCode::from_u16(e.status_code).unwrap_or(StatusCode::UNPROCESSABLE_ENTITY);
            let code = if e.error == "not_found" { "not_found" } else { "invalid_request" };
            Err(ApiError::new(status, code, e.message))
        }
    }
}

pub(super) async fn get_one(
    State(state): State<AppState>,
    Path((bp, id)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    let (b, i) = (bp.clone(), id.clone());
    match state.read(move |s| s.by_ids(&b, &[i])).await?.into_iter().next() {
        Some(row) => Ok(Json(json!({"ok": true, "entity": row.to_json()}))),
        None => Err(ApiError::not_found(format!("entity {bp}/{id} not found"))),
    }
}

// ----- deletes --------------------------------------------------------------------------------

#[derive(Debug, Deserialize)]
pub(super) struct DeleteParams {
    #[serde(default)]
    delete_dependents: bool,
}

/// Deletes `keys` whoever owns them (Port does not scope deletes by datasource): each owner's
/// share through the catalog's delete rule. Returns every key deleted.
async fn delete_keys(
    state: &AppState,
    keys: Vec<EntityKey>,
    dependents: bool,
) -> ApiResult<BTreeSet<EntityKey>> {
    let stored = state.catalog.get(keys.clone()).await.map_err(ApiError::internal)?;
    let mut by_owner: BTreeMap<String, Vec<EntityKey>> = BTreeMap::new();
    for (key, s) in keys.into_iter().zip(stored) {
        if let Some(owner) = s.and_then(|s| s.owner) {
            by_owner.entry(owner).or_default().push(key);
        }
    }
    let mut deleted = BTreeSet::new();
    for (owner, keys) in by_owner {
        let cx = DeleteContext { owner, dependents };
        deleted.extend(state.catalog.delete(keys, cx).await.map_err(ApiError::internal)?);
    }
    state.count("entities_deleted", deleted.len() as u64);
    Ok(deleted)
}

pub(super) async fn delete_bulk(
    State(state): State<AppState>,
    Path(bp): Path<String>,
    UrlQuery(params): UrlQuery<DeleteParams>,
    Body(body): Body,
) -> ApiResult<Json<Value>> {
    blueprint_of(&state, &bp).await?;
    let Some(ids) = body.get("entities").and_then(Value::as_array) else {
        return Err(ApiError::bad("expected {\"entities\": [identifiers]}"));
    };
    let keys: Vec<EntityKey> = ids
        .iter()
        .map(|v| {
            v.as_str()
                .map(|id| EntityKey { blueprint: bp.clone(), identifier: id.to_string() })
                .ok_or_else(|| ApiError::bad("entity identifiers must be strings"))
        })
        .collect::<Result<_, _>>()?;
    let deleted = delete_keys(&state, keys, params.delete_dependents).await?;
    let ids: Vec<&str> =
        deleted.iter().filter(|k| k.blueprint == bp).map(|k| k.identifier.as_str()).collect();
    Ok(Json(json!({"ok": true, "deletedEntities": ids})))
}

pub(super) async fn delete_one(
    State(state): State<AppState>,
    Path((bp, id)): Path<(String, String)>,
    UrlQuery(params): UrlQuery<DeleteParams>,
) -> ApiResult<Json<Value>> {
    let key = EntityKey { blueprint: bp, identifier: id };
    let deleted = delete_keys(&state, vec![key.clone()], params.delete_dependents).await?;
    if !deleted.contains(&key) {
        return Err(ApiError::not_found(format!("entity {key} not found")));
    }
    Ok(Json(json!({"ok": true})))
}

// ----- searches -------------------------------------------------------------------------------

/// `include=` projections: the listed top-level fields, or `properties.x` / `relations.y`.
fn project(v: Value, include: &[String]) -> Value {
    if include.is_empty() {
        return v;
    }
    let Value::Object(m) = v else { return v };
    let mut out = Map::new();
    for field in include {
        match field.split_once('.') {
            Some((outer, inner)) => {
                if let Some(x) = m.get(outer).and_then(|o| o.get(inner)) {
                    let slot = out.entry(outer.to_string()).or_insert_with(|| json!({}));
                    if let Some(slot) = slot.as_object_mut() {
                        slot.insert(inner.to_string(), x.clone());
                    }
                }
            }
            None => {
                if let Some(x) = m.get(field) {
                    out.insert(field.clone(), x.clone());
                }
            }
        }
    }
    Value::Object(out)
}

pub(super) async fn search(
    State(state): State<AppState>,
    UrlQuery(params): UrlQuery<Vec<(String, String)>>,
    Body(body): Body,
) -> ApiResult<Json<Value>> {
    let mut query: Query = search::parse(&body).map_err(ApiError::bad)?;
    let include: Vec<String> =
        params.into_iter().filter(|(k, _)| k == "include").map(|(_, v)| v).collect();
    let mut related: Vec<search::Related> =
        query.related_mut().into_iter().map(|r| r.clone()).collect();
    let scope = query.scope();
    let (rows, bps, related) = state
        .read(move |s| {
            let bps = s.blueprints()?;
            for r in &mut related {
                let named = s.by_ids(&r.blueprint, &r.ids)?;
                r.targets = search::targets_of(&named, r, &bps);
            }
            let rows = match (&scope.blueprint, &scope.ids) {
                (Some(bp), Some(ids)) => s.by_ids(bp, ids)?,
                (Some(bp), None) => s.of_blueprint(bp)?,
                _ => s.all()?,
            };
            Ok((rows, bps, related))
        })
        .await?;
    for (slot, r) in query.related_mut().into_iter().zip(related) {
        *slot = r;
    }
    let entities: Vec<Value> = rows
        .iter()
        .filter(|r| query.matches(r, &bps))
        .map(|r| project(r.to_json(), &include))
        .collect();
    Ok(Json(json!({"ok": true, "entities": entities})))
}

/// The datasource search: entities whose datasource has the prefix and the suffix (a direct
/// sync's bare owner included), last updated before `before`, paged by `from`/`next`.
pub(super) async fn datasource_search(
    State(state): State<AppState>,
    Body(body): Body,
) -> ApiResult<Response> {
    let q: DatasourceQuery = serde_json::from_value(body).map_err(|e| {
        ApiError::bad(format!(
            "expected {{datasource_prefix, datasource_suffix, limit?, before?, from?}}: {e}"
        ))
    })?;
    let before = match &q.before {
        None => None,
        Some(b) => Some(
            b.parse::<jiff::Timestamp>()
                .map_err(|e| ApiError::bad(format!("`before` is not an ISO 8601 time: {e}")))?,
        ),
    };
    let from: (String, String, String) = match &q.from {
        None => Default::default(),
        Some(c) => serde_json::from_str(c)
            .map_err(|_| ApiError::bad("`from` is not a cursor this server returned"))?,
    };
    let limit = q.limit.unwrap_or(5000).clamp(1, 10_000);
    let bare = q
        .datasource_suffix
        .strip_prefix('/')
        .and_then(|s| s.strip_suffix("/exporter"))
        .filter(|_| q.datasource_prefix == wire::datasource_prefix(wire::INTEGRATION_TYPE))
        .unwrap_or_default()
        .to_string();
    let prefix = q.datasource_prefix.clone();
    let rows: Vec<Row> =
        state.read(move |s| s.datasource_page(&prefix, &bare, &from, limit)).await?;
    let next = (rows.len() == limit).then(|| {
        let last = &rows[rows.len() - 1];
        json!([
            last.datasource.clone().unwrap_or_default(),
            last.entity.blueprint,
            last.entity.identifier
        ])
        .to_string()
    });
    let entities: Vec<_> = rows
        .iter()
        .filter(|r| {
            r.datasource.as_deref().is_some_and(|d| {
                wire::datasource_matches(d, &q.datasource_prefix, &q.datasource_suffix)
            })
        })
        .filter(|r| match before {
            None => true,
            Some(b) => r.updated_at.parse::<jiff::Timestamp>().is_ok_and(|t| t < b),
        })
        .map(Row::out)
        .collect();
    Ok(Json(DatasourcePage { entities, next }).into_response())
}
