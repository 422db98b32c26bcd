//! `/api/v1/eventHooks*`: create, list, get, replace, delete, activate, deactivate, verify.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Extension, Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

use super::{json_response, list_response, parse_body};
use crate::model::{Hook, hook_json};
use crate::state::{HOOK_ELIGIBLE, ReqCtx, SimState};
use crate::util::{ApiError, ApiResult, now_ms, parse_query};

pub(super) fn routes() -> Router<SimState> {
    Router::new()
        .route("/eventHooks", get(list_hooks).post(create_hook))
        .route("/eventHooks/{id}", get(get_hook).put(replace_hook).delete(delete_hook))
        .route("/eventHooks/{id}/lifecycle/{op}", post(hook_lifecycle))
}

const MAX_HOOKS: usize = 25;
const MAX_EVENT_TYPES: usize = 300;

/// Parsed, validated hook fields from a create/replace body.
struct HookInput {
    name: String,
    description: Option<String>,
    items: Vec<String>,
    filter: Value,
    uri: String,
    version: String,
    headers: Vec<(String, String)>,
    auth: Option<(String, String)>,
}

fn is_loopback_http(uri: &str) -> bool {
    let Some(rest) = uri.strip_prefix("http://") else { return false };
    let host = rest.split(['/', '?']).next().unwrap_or("");
    let host = host.rsplit_once(':').map_or(host, |(h, _)| h);
    host == "localhost" || host.starts_with("127.") || host == "[::1]"
}

fn parse_hook(body: &Value) -> ApiResult<HookInput> {
    let name = body
        .get("name")
        .and_then(Value::as_str)
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| ApiError::validation("name", "name: The field cannot be left blank"))?
        .to_owned();
    let items: Vec<String> = body
        .pointer("/events/items")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).map(str::to_owned).collect())
        .unwrap_or_default();
    if items.is_empty() {
        return Err(ApiError::validation(
            "events",
            "events.items: At least one event type is required",
        ));
    }
    if items.len() > MAX_EVENT_TYPES {
        return Err(ApiError::validation(
            "events",
            "events.items: At most 300 event types per hook",
        ));
    }
    if let Some(bad) = items.iter().find(|t| !HOOK_ELIGIBLE.contains(&t.as_str())) {
        return Err(ApiError::validation(
            "events",
            format!("events.items: '{bad}' is not an event hook eligible event type"),
        ));
    }
    let cfg = body.pointer("/channel/config").ok_or_else(|| {
        ApiError::validation("channel", "channel.config: The field cannot be left blank")
    })?;
    let uri = cfg
        .get("uri")
        .and_then(Value::as_str)
        .ok_or_else(|| {
            ApiError::validation("channel", "channel.config.uri: The field cannot be left blank")
        })?
        .to_owned();
    if !(uri.starts_with("https://") || is_loopback_http(&uri)) {
        return Err(ApiError::validation("channel", "channel.config.uri: The URI must use HTTPS"));
    }
    let headers = cfg
        .get("headers")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|h| {
                    Some((h.get("key")?.as_str()?.to_owned(), h.get("value")?.as_str()?.to_owned()))
                })
                .collect()
        })
        .unwrap_or_default();
    let auth = match cfg.get("authScheme") {
        Some(a) if a.is_object() => {
            if a.get("type").and_then(Value::as_str).is_some_and(|t| t != "HEADER") {
                return Err(ApiError::validation(
                    "channel",
                    "channel.config.authScheme.type: only HEADER is supported",
                ));
            }
            Some((
                a.get("key").and_then(Value::as_str).unwrap_or("Authorization").to_owned(),
                a.get("value").and_then(Value::as_str).unwrap_or("").to_owned(),
            ))
        }
        _ => None,
    };
    Ok(HookInput {
        name,
        description: body.get("description").and_then(Value::as_str).map(str::to_owned),
        items,
        filter: body.pointer("/events/filter").cloned().unwrap_or(Value::Null),
        uri,
        version: body
            .pointer("/channel/version")
            .and_then(Value::as_str)
            .unwrap_or("1.0.0")
            .to_owned(),
        headers,
        auth,
    })
}

fn hook_target(h: &Hook) -> Value {
    json!({"id": h.id, "type": "EventHook", "alternateId": h.uri, "displayName": h.name, "detailEntry": null})
}

async fn list_hooks(State(st): State<SimState>, RawQuery(raw): RawQuery) -> Response {
    let pairs = parse_query(raw.as_deref());
    let items: Vec<String> =
        st.hooks().values().map(|h| hook_json(h, st.base_url()).to_string()).collect();
    list_response(&st, "/api/v1/eventHooks", &pairs, &items, None)
}

async fn create_hook(
    State(st): State<SimState>,
    Extension(ctx): Extension<ReqCtx>,
    body: Bytes,
) -> ApiResult<Response> {
    let input = parse_hook(&parse_body(&body)?)?;
    let now = now_ms();
    let id = st.org_write().new_id("who");
    let h = Hook {
        id: id.clone(),
        name: input.name,
        description: input.description,
        status: "ACTIVE",
        verification_status: "UNVERIFIED",
        items: input.items,
        filter: input.filter,
        uri: input.uri,
        version: input.version,
        headers: input.headers,
        auth: input.auth,
        created: now,
        created_by: st.0.admin_id.clone(),
        last_updated: now,
    };
    {
        let mut hooks = st.hooks();
        if hooks.len() >= MAX_HOOKS {
            return Err(ApiError::validation(
                "eventHook",
                "The maximum number of event hooks (25) has been reached",
            ));
        }
        hooks.insert(id, h.clone());
    }
    st.emit(&ctx, "event_hook.created", "Event hook created", vec![hook_target(&h)]);
    Ok(json_response(StatusCode::OK, hook_json(&h, st.base_url()).to_string()))
}

fn get_hook_rec(st: &SimState, id: &str) -> ApiResult<Hook> {
    st.hooks().get(id).cloned().ok_or_else(|| ApiError::not_found(id, "EventHook"))
}

async fn get_hook(State(st): State<SimState>, Path(id): Path<String>) -> ApiResult<Response> {
    let h = get_hook_rec(&st, &id)?;
    Ok(json_response(StatusCode::OK, hook_json(&h, st.base_url()).to_string()))
}

async fn replace_hook(
    State(st): State<SimState>,
    Extension(ctx): Extension<ReqCtx>,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<Response> {
    let input = parse_hook(&parse_body(&body)?)?;
    let h = {
        let mut hooks = st.hooks();
        let h = hooks.get_mut(&id).ok_or_else(|| ApiError::not_found(&id, "EventHook"))?;
        let channel_changed =
            h.uri != input.uri || h.headers != input.headers || h.auth != input.auth;
        h.name = input.name;
        h.description = input.description;
        h.items = input.items;
        h.filter = input.filter;
        h.uri = input.uri;
        h.version = input.version;
        h.headers = input.headers;
        h.auth = input.auth;
        h.last_updated = now_ms();
        if channel_changed {
            h.verification_status = "UNVERIFIED";
        }
        h.clone()
    };
    st.emit(&ctx, "event_hook.updated", "Event hook updated", vec![hook_target(&h)]);
    Ok(json_response(StatusCode::OK, hook_json(&h, st.base_url()).to_string()))
}

async fn delete_hook(
    State(st): State<SimState>,
    Extension(ctx): Extension<ReqCtx>,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let h = {
        let mut hooks = st.hooks();
        let h = hooks.get(&id).ok_or_else(|| ApiError::not_found(&id, "EventHook"))?;
        if h.status != "INACTIVE" {
            return Err(ApiError::validation(
                "status",
                "Only an INACTIVE event hook can be deleted",
            ));
        }
        hooks.remove(&id).ok_or_else(|| ApiError::not_found(&id, "EventHook"))?
    };
    st.emit(&ctx, "event_hook.deleted", "Event hook deleted", vec![hook_target(&h)]);
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn hook_lifecycle(
    State(st): State<SimState>,
    Extension(ctx): Extension<ReqCtx>,
    Path((id, op)): Path<(String, String)>,
) -> ApiResult<Response> {
    let (event, display) = match op.as_str() {
        "activate" | "deactivate" => {
            let mut hooks = st.hooks();
            let h = hooks.get_mut(&id).ok_or_else(|| ApiError::not_found(&id, "EventHook"))?;
            h.status = if op == "activate" { "ACTIVE" } else { "INACTIVE" };
            h.last_updated = now_ms();
            if op == "activate" {
                ("event_hook.activated", "Event hook activated")
            } else {
                ("event_hook.deactivated", "Event hook deactivated")
            }
        }
        "verify" => {
            let h = get_hook_rec(&st, &id)?;
            if let Err(why) = crate::delivery::verify(&st, &h).await {
                return Err(ApiError::validation("verification", why));
            }
            let mut hooks = st.hooks();
            let h = hooks.get_mut(&id).ok_or_else(|| ApiError::not_found(&id, "EventHook"))?;
            h.verification_status = "VERIFIED";
            h.last_updated = now_ms();
            ("event_hook.verified", "Event hook verified")
        }
        _ => return Err(ApiError::new(404, "E0000008", "The requested path was not found")),
    };
    let h = get_hook_rec(&st, &id)?;
    st.emit(&ctx, event, display, vec![hook_target(&h)]);
    Ok(json_response(StatusCode::OK, hook_json(&h, st.base_url()).to_string()))
}
