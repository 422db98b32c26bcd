//! `/api/v1/groups*`: list/search/filter, create, get, update, delete, members.

use std::ops::Bound;
use std::sync::{Arc, OnceLock};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Extension, Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use serde_json::{Map, Value, json};

use super::{json_response, keyset_page, list_response, parse_body, parse_limit};
use crate::model::{Group, GroupType, Org, app_json, group_cached, group_json, user_cached};
use crate::query::{self, Dialect};
use crate::state::{ReqCtx, SimState, group_target, user_target};
use crate::util::{ApiError, ApiResult, now_ms, parse_query, qget, stamp_ms};

pub(super) fn routes() -> Router<SimState> {
    Router::new()
        .route("/groups", get(list_groups).post(create_group))
        .route("/groups/{id}", get(get_group).put(update_group).delete(delete_group))
        .route("/groups/{id}/users", get(group_users))
        .route("/groups/{id}/users/{uid}", put(add_member).delete(remove_member))
        .route("/groups/{id}/apps", get(group_apps))
}

fn embedded(org: &Org, g: &Group, expand: Option<&str>) -> Option<Value> {
    let expand = expand?;
    let mut e = Map::new();
    for x in expand.split(',') {
        match x.trim() {
            "stats" => {
                e.insert(
                    "stats".into(),
                    json!({
                        "usersCount": org.members.get(&g.id).map_or(0, |m| m.len()),
                        "appsCount": org.group_apps.get(&g.id).map_or(0, |m| m.len()),
                        "groupPushMappingsCount": 0,
                        "hasAdminPrivilege": false,
                    }),
                );
            }
            "app" => {
                if let Some(a) = g.source_app.as_ref().and_then(|a| org.apps.get(a)) {
                    e.insert(
                        "app".into(),
                        json!({"id": a.id, "name": a.name(), "label": a.label(),
                               "signOnMode": a.body.get("signOnMode")}),
                    );
                }
            }
            _ => {}
        }
    }
    (!e.is_empty()).then_some(Value::Object(e))
}

fn render(org: &Org, g: &Group, base: &str, expand: Option<&str>) -> Arc<str> {
    match embedded(org, g, expand) {
        None => group_cached(g, base),
        Some(e) => group_json(g, base, Some(e)).to_string().into(),
    }
}

async fn list_groups(State(st): State<SimState>, RawQuery(raw): RawQuery) -> ApiResult<Response> {
    let pairs = parse_query(raw.as_deref());
    let expand = qget(&pairs, "expand");
    let base = st.base_url().to_owned();
    let org = st.org_read();
    if let Some(q) = qget(&pairs, "q") {
        let limit = parse_limit(&pairs, 300, 1, 10_000)?;
        let q = q.to_lowercase();
        let items: Vec<Arc<str>> = org
            .groups
            .values()
            .filter(|g| g.name().to_lowercase().starts_with(&q))
            .take(limit)
            .map(|g| render(&org, g, &base, expand))
            .collect();
        drop(org);
        return Ok(list_response(&st, "/api/v1/groups", &pairs, &items, None));
    }
    let limit = parse_limit(&pairs, 200, 1, 10_000)?;
    let (expr, cs) = match (qget(&pairs, "search"), qget(&pairs, "filter")) {
        (Some(s), _) => (Some(query::parse(s, Dialect::GroupsSearch)?), false),
        (None, Some(f)) => (Some(query::parse(f, Dialect::GroupsFilter)?), true),
        _ => (None, false),
    };
    let lag = st.0.config.search_lag_ms as i64;
    let visible_after = if !cs && expr.is_some() && lag > 0 { now_ms() - lag } else { i64::MAX };
    let after = qget(&pairs, "after").unwrap_or("");
    let range = if after.is_empty() {
        org.groups.range::<str, _>((Bound::Unbounded, Bound::Unbounded))
    } else {
        org.groups.range::<str, _>((Bound::Excluded(after), Bound::Unbounded))
    };
    let it = range.map(|(_, g)| g).filter(|g| {
        expr.as_ref()
            .is_none_or(|e| g.created <= visible_after && query::eval(e, cs, &|p| g.attr(p)))
    });
    let (page, next) = keyset_page(it, limit, |g| g.id.clone());
    let items: Vec<Arc<str>> = page.iter().map(|g| render(&org, g, &base, expand)).collect();
    drop(org);
    Ok(list_response(&st, "/api/v1/groups", &pairs, &items, next))
}

fn group_profile(body: &Value) -> ApiResult<Map<String, Value>> {
    let p = body.get("profile").and_then(Value::as_object).cloned().ok_or_else(|| {
        ApiError::validation("profile", "profile: The field cannot be left blank")
    })?;
    match p.get("name").and_then(Value::as_str) {
        Some(n) if !n.trim().is_empty() && n.chars().count() <= 255 => {}
        _ => return Err(ApiError::validation("name", "name: The field cannot be left blank")),
    }
    if p.get("description").and_then(Value::as_str).is_some_and(|d| d.chars().count() > 1024) {
        return Err(ApiError::validation("description", "description: The field is too long"));
    }
    Ok(p)
}

async fn create_group(
    State(st): State<SimState>,
    Extension(ctx): Extension<ReqCtx>,
    body: Bytes,
) -> ApiResult<Response> {
    let body = parse_body(&body)?;
    let profile = group_profile(&body)?;
    let now = stamp_ms();
    let (resp, target) = {
        let mut org = st.org_write();
        let name = profile.get("name").and_then(Value::as_str).unwrap_or("");
        if org.groups.values().any(|g| g.kind == GroupType::Okta && g.name() == name) {
            return Err(ApiError::validation(
                "name",
                "name: An object with this field already exists in the current organization",
            ));
        }
        let id = org.new_id("00g");
        let g = Group {
            id: id.clone(),
            created: now,
            last_updated: now,
            last_membership_updated: now,
            object_class: vec!["okta:user_group".into()],
            kind: GroupType::Okta,
            profile,
            source_app: None,
            cache: OnceLock::new(),
        };
        let t = group_target(&g.id, g.name());
        let r = group_json(&g, st.base_url(), None).to_string();
        org.insert_group(g);
        (r, t)
    };
    st.emit(&ctx, "group.lifecycle.create", "Create Okta group", vec![target]);
    Ok(json_response(StatusCode::OK, resp))
}

async fn get_group(
    State(st): State<SimState>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    let pairs = parse_query(raw.as_deref());
    let org = st.org_read();
    let g = org.groups.get(&id).ok_or_else(|| ApiError::not_found(&id, "UserGroup"))?;
    let body = render(&org, g, st.base_url(), qget(&pairs, "expand"));
    Ok(json_response(StatusCode::OK, body.to_string()))
}

async fn update_group(
    State(st): State<SimState>,
    Extension(ctx): Extension<ReqCtx>,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<Response> {
    let body = parse_body(&body)?;
    let profile = group_profile(&body)?;
    let now = stamp_ms();
    let (resp, target) = {
        let mut org = st.org_write();
        let g = org.groups.get_mut(&id).ok_or_else(|| ApiError::not_found(&id, "UserGroup"))?;
        if g.kind != GroupType::Okta {
            return Err(ApiError::validation(
                "profile",
                format!("Cannot modify the profile of a group of type {}", g.kind.as_str()),
            ));
        }
        g.profile = profile;
        g.last_updated = now;
        g.cache = OnceLock::new();
        (group_json(g, st.base_url(), None).to_string(), group_target(&g.id, g.name()))
    };
    st.emit(&ctx, "group.profile.update", "Update group profile", vec![target]);
    Ok(json_response(StatusCode::OK, resp))
}

async fn delete_group(
    State(st): State<SimState>,
    Extension(ctx): Extension<ReqCtx>,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let target = {
        let mut org = st.org_write();
        let g = org.groups.get(&id).ok_or_else(|| ApiError::not_found(&id, "UserGroup"))?;
        if g.kind == GroupType::BuiltIn {
            return Err(ApiError::forbidden());
        }
        let t = group_target(&g.id, g.name());
        org.remove_group(&id);
        t
    };
    st.emit(&ctx, "group.lifecycle.delete", "Delete Okta group", vec![target]);
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn group_users(
    State(st): State<SimState>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    let pairs = parse_query(raw.as_deref());
    let limit = parse_limit(&pairs, 1000, 1, 1000)?;
    let after = qget(&pairs, "after").unwrap_or("");
    let org = st.org_read();
    let set = org.members.get(&id).ok_or_else(|| ApiError::not_found(&id, "UserGroup"))?;
    let range = if after.is_empty() {
        set.range::<str, _>((Bound::Unbounded, Bound::Unbounded))
    } else {
        set.range::<str, _>((Bound::Excluded(after), Bound::Unbounded))
    };
    let it = range.filter_map(|u| org.users.get(u));
    let (page, next) = keyset_page(it, limit, |u| u.id.clone());
    let items: Vec<Arc<str>> = page.iter().map(|u| user_cached(u, st.base_url())).collect();
    drop(org);
    Ok(list_response(&st, &format!("/api/v1/groups/{id}/users"), &pairs, &items, next))
}

async fn add_member(
    State(st): State<SimState>,
    Extension(ctx): Extension<ReqCtx>,
    Path((id, uid)): Path<(String, String)>,
) -> ApiResult<Response> {
    membership(st, ctx, id, uid, true)
}

async fn remove_member(
    State(st): State<SimState>,
    Extension(ctx): Extension<ReqCtx>,
    Path((id, uid)): Path<(String, String)>,
) -> ApiResult<Response> {
    membership(st, ctx, id, uid, false)
}

fn membership(
    st: SimState,
    ctx: ReqCtx,
    gid: String,
    uid: String,
    add: bool,
) -> ApiResult<Response> {
    let now = stamp_ms();
    let targets = {
        let mut org = st.org_write();
        let g = org.groups.get(&gid).ok_or_else(|| ApiError::not_found(&gid, "UserGroup"))?;
        if g.kind != GroupType::Okta {
            return Err(ApiError::forbidden().cause(format!(
                "Membership of a group of type {} cannot be changed",
                g.kind.as_str()
            )));
        }
        let gname = g.name().to_owned();
        let u = org.users.get(&uid).ok_or_else(|| ApiError::not_found(&uid, "User"))?;
        let t = vec![user_target(&u.id, u.login(), &u.display_name()), group_target(&gid, &gname)];
        let changed = if add {
            let c = org.link_member(&gid, &uid);
            if c {
                org.on_member_added(&gid, &uid, now);
            }
            c
        } else {
            let c = org.unlink_member(&gid, &uid);
            if c {
                org.on_member_removed(&gid, &uid);
            }
            c
        };
        if changed && let Some(g) = org.groups.get_mut(&gid) {
            g.last_membership_updated = now;
            g.cache = OnceLock::new();
        }
        changed.then_some(t)
    };
    if let Some(t) = targets {
        if add {
            st.emit(&ctx, "group.user_membership.add", "Add user to group membership", t);
        } else {
            st.emit(&ctx, "group.user_membership.remove", "Remove user from group membership", t);
        }
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn group_apps(
    State(st): State<SimState>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    let pairs = parse_query(raw.as_deref());
    let limit = parse_limit(&pairs, 20, 1, 200)?;
    let after = qget(&pairs, "after").unwrap_or("");
    let org = st.org_read();
    if !org.groups.contains_key(&id) {
        return Err(ApiError::not_found(&id, "UserGroup"));
    }
    let empty = Default::default();
    let set = org.group_apps.get(&id).unwrap_or(&empty);
    let it = set
        .iter()
        .filter(|a| after.is_empty() || a.as_str() > after)
        .filter_map(|a| org.apps.get(a));
    let (page, next) = keyset_page(it, limit, |a| a.id.clone());
    let items: Vec<String> = page.iter().map(|a| app_json(a, st.base_url()).to_string()).collect();
    drop(org);
    Ok(list_response(&st, &format!("/api/v1/groups/{id}/apps"), &pairs, &items, next))
}
