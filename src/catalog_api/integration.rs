//! Integration endpoints of `catalog serve`: the integration object (its `config` is the
//! mapping), resync state, raw data examples, the organization, and the ingest URLs Ocean posts
//! metrics and logs to.

use super::{ApiError, ApiResult, AppState, Body};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

async fn load(state: &AppState, id: &str) -> ApiResult<Value> {
    let key = id.to_string();
    state
        .read(move |s| s.integration(&key))
        .await?
        .ok_or_else(|| ApiError::not_found(format!("integration {id} not found")))
}

async fn save(state: &AppState, id: &str, integration: Value) -> ApiResult<Json<Value>> {
    let (key, value) = (id.to_string(), integration.clone());
    state.read(move |s| s.put_integration(&key, &value)).await?;
    Ok(Json(json!({"ok": true, "integration": integration})))
}

fn now() -> String {
    jiff::Timestamp::now().to_string()
}

pub(super) async fn organization() -> Json<Value> {
    Json(json!({"ok": true, "organization": {
        "id": "catalog-serve", "name": "port-okta catalog serve", "featureFlags": []
    }}))
}

pub(super) async fn provision_enabled() -> Json<Value> {
    Json(json!({"ok": true, "integrations": []}))
}

pub(super) async fn get_one(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    Ok(Json(json!({"ok": true, "integration": load(&state, &id).await?})))
}

/// `POST /v1/integration`: `installationId` names it; 409 when it exists. Its ingest URLs point
/// back at this server (as the client reached it).
pub(super) async fn create(
    State(state): State<AppState>,
    headers: HeaderMap,
    Body(body): Body,
) -> ApiResult<Response> {
    let Some(id) = body.get("installationId").and_then(Value::as_str).map(String::from) else {
        return Err(ApiError::bad("an integration needs an installationId"));
    };
    let key = id.clone();
    if state.read(move |s| s.integration(&key)).await?.is_some() {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "identifier_taken",
            format!("integration {id} already exists"),
        ));
    }
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("127.0.0.1");
    let mut integration = json!({
        "identifier": id,
        "installationId": id,
        "config": {},
        "resyncState": null,
        "createdAt": now(),
        "updatedAt": now(),
        "logAttributes": {"ingestUrl": format!("http://{host}/__ingest/logs")},
        "metricAttributes": {"ingestUrl": format!("http://{host}/__ingest/metrics")},
    });
    if let (Some(m), Value::Object(given)) = (integration.as_object_mut(), body) {
        for (k, v) in given {
            m.insert(k, v);
        }
    }
    Ok((StatusCode::CREATED, save(&state, &id, integration).await?).into_response())
}

pub(super) async fn patch(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Body(body): Body,
) -> ApiResult<Json<Value>> {
    let mut integration = load(&state, &id).await?;
    let Value::Object(given) = body else { return Err(ApiError::bad("expected a JSON object")) };
    if let Some(m) = integration.as_object_mut() {
        m.extend(given);
        m.insert("updatedAt".into(), Value::String(now()));
    }
    save(&state, &id, integration).await
}

/// `PATCH /v1/integration/{id}/config`: `{"config": …}` replaces the mapping.
pub(super) async fn patch_config(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Body(body): Body,
) -> ApiResult<Json<Value>> {
    let mut integration = load(&state, &id).await?;
    let Some(config) = body.get("config").cloned() else {
        return Err(ApiError::bad("expected {\"config\": {...}}"));
    };
    if !config.is_object() {
        return Err(ApiError::bad("`config` must be an object"));
    }
    integration["config"] = config;
    integration["updatedAt"] = Value::String(now());
    save(&state, &id, integration).await
}

pub(super) async fn resync_state(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Body(body): Body,
) -> ApiResult<Json<Value>> {
    let mut integration = load(&state, &id).await?;
    let Value::Object(mut given) = body else {
        return Err(ApiError::bad("expected a JSON object"));
    };
    if !given.get("status").is_some_and(Value::is_string) {
        return Err(ApiError::bad("a resync state needs a `status`"));
    }
    let mut resync = integration.get("resyncState").cloned().unwrap_or(Value::Null);
    if !resync.is_object() {
        resync = json!({});
    }
    if let Some(m) = resync.as_object_mut() {
        m.append(&mut given);
        m.insert("updatedAt".into(), Value::String(now()));
    }
    integration["resyncState"] = resync;
    save(&state, &id, integration).await
}

/// The last resync requested (Port's resync button; `null` until one was).
pub(super) async fn resync_request(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let integration = load(&state, &id).await?;
    let request = integration.get("resyncRequest").cloned().unwrap_or(Value::Null);
    Ok(Json(json!({"ok": true, "request": request})))
}

/// Requests a resync, as Port's resync button does (an extension of catalog serve: Port's UI
/// has no public endpoint for it). Integrations polling `GET …/resync-request` see it change.
pub(super) async fn request_resync(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let mut integration = load(&state, &id).await?;
    let request = json!({"id": format!("rr-{}", jiff::Timestamp::now().as_millisecond()), "updatedAt": now()});
    integration["resyncRequest"] = request.clone();
    let _saved = save(&state, &id, integration).await?;
    Ok(Json(json!({"ok": true, "request": request})))
}

pub(super) async fn post_examples(
    State(state): State<AppState>,
    Path((id, kind)): Path<(String, String)>,
    Body(body): Body,
) -> ApiResult<Json<Value>> {
    load(&state, &id).await?;
    let Some(examples) = body.get("examples").filter(|e| e.is_array()).cloned() else {
        return Err(ApiError::bad("expected {\"examples\": [...]}"));
    };
    state.read(move |s| s.put_examples(&id, &kind, &examples)).await?;
    Ok(Json(json!({"ok": true})))
}

pub(super) async fn get_examples(
    State(state): State<AppState>,
    Path((id, kind)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    let examples = state.read(move |s| s.examples(&id, &kind)).await?;
    Ok(Json(json!({"ok": true, "examples": examples.unwrap_or_else(|| json!([]))})))
}

/// Metrics and logs Ocean posts to the integration's ingest URLs: accepted and counted.
pub(super) async fn ingest() -> Json<Value> {
    Json(json!({"ok": true}))
}
