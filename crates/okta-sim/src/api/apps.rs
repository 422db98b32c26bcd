//! `/api/v1/apps*`: list, get, assigned users, assigned groups (read-only).

use std::ops::Bound;

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use serde_json::{Value, json};

use super::{json_response, keyset_page, list_response, parse_limit};
use crate::model::{App, app_json, user_cached};
use crate::query::{self, Dialect};
use crate::state::SimState;
use crate::util::{ApiError, ApiResult, fmt_ms, parse_query, qget};

pub(super) fn routes() -> Router<SimState> {
    Router::new()
        .route("/apps", get(list_apps))
        .route("/apps/{id}", get(get_app))
        .route("/apps/{id}/users", get(app_users))
        .route("/apps/{id}/groups", get(app_groups))
}

async fn list_apps(State(st): State<SimState>, RawQuery(raw): RawQuery) -> ApiResult<Response> {
    let pairs = parse_query(raw.as_deref());
    let limit = parse_limit(&pairs, 20, 1, 200)?;
    let expr = qget(&pairs, "filter").map(|f| query::parse(f, Dialect::AppsFilter)).transpose()?;
    let q = qget(&pairs, "q").map(str::to_lowercase);
    let after: Option<u64> = match qget(&pairs, "after") {
        None | Some("") => None,
        Some(s) => {
            Some(s.parse().map_err(|_| ApiError::new(400, "E0000029", "Invalid paging request"))?)
        }
    };
    let org = st.org_read();
    let matches = |a: &App| {
        let qok = q.as_ref().is_none_or(|q| {
            a.name().to_lowercase().starts_with(q) || a.label().to_lowercase().starts_with(q)
        });
        let fok = expr.as_ref().is_none_or(|e| {
            query::eval(e, true, &|p| match p {
                "id" => Some(json!(a.id)),
                "status" => Some(json!(a.status)),
                "name" => Some(json!(a.name())),
                "user.id" => Some(Value::Array(
                    org.app_users
                        .get(&a.id)
                        .map(|m| m.keys().map(|k| json!(k)).collect())
                        .unwrap_or_default(),
                )),
                "group.id" => Some(Value::Array(
                    org.app_groups
                        .get(&a.id)
                        .map(|m| m.keys().map(|k| json!(k)).collect())
                        .unwrap_or_default(),
                )),
                _ => None,
            })
        });
        qok && fok
    };
    let range = match after {
        None => org
            .app_order
            .range::<u64, (Bound<u64>, Bound<u64>)>((Bound::Unbounded, Bound::Unbounded)),
        Some(s) => org
            .app_order
            .range::<u64, (Bound<u64>, Bound<u64>)>((Bound::Excluded(s), Bound::Unbounded)),
    };
    let mut it = range.filter_map(|(_, id)| org.apps.get(id)).filter(|a| matches(a));
    let page: Vec<&App> = it.by_ref().take(limit).collect();
    let next = if page.len() == limit && it.next().is_some() {
        page.last().map(|a| a.seq.to_string())
    } else {
        None
    };
    let items: Vec<String> = page.iter().map(|a| app_json(a, st.base_url()).to_string()).collect();
    drop(org);
    Ok(list_response(&st, "/api/v1/apps", &pairs, &items, next))
}

async fn get_app(State(st): State<SimState>, Path(id): Path<String>) -> ApiResult<Response> {
    let org = st.org_read();
    let a = org.apps.get(&id).ok_or_else(|| ApiError::not_found(&id, "AppInstance"))?;
    Ok(json_response(StatusCode::OK, app_json(a, st.base_url()).to_string()))
}

async fn app_users(
    State(st): State<SimState>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    let pairs = parse_query(raw.as_deref());
    let limit = parse_limit(&pairs, 50, 1, 500)?;
    let after = qget(&pairs, "after").unwrap_or("");
    let expand_user = qget(&pairs, "expand") == Some("user");
    let base = st.base_url().to_owned();
    let org = st.org_read();
    if !org.apps.contains_key(&id) {
        return Err(ApiError::not_found(&id, "AppInstance"));
    }
    let empty = Default::default();
    let m = org.app_users.get(&id).unwrap_or(&empty);
    let range = if after.is_empty() {
        m.range::<str, _>((Bound::Unbounded, Bound::Unbounded))
    } else {
        m.range::<str, _>((Bound::Excluded(after), Bound::Unbounded))
    };
    let it = range.filter_map(|(uid, au)| org.users.get(uid).map(|u| (u, au)));
    let (page, next) = keyset_page(it, limit, |(u, _)| u.id.clone());
    let items: Vec<String> = page
        .iter()
        .map(|(u, au)| {
            let mut o = json!({
                // No `externalId`: Okta leaves it out for SSO assignments (nothing is synced).
                "id": u.id,
                "created": fmt_ms(au.created),
                "lastUpdated": fmt_ms(au.created),
                "scope": au.scope,
                "status": "PROVISIONED",
                "statusChanged": fmt_ms(au.created),
                "passwordChanged": null,
                "syncState": "DISABLED",
                "credentials": {"userName": u.login()},
                "profile": {},
                "_links": {
                    "app": {"href": format!("{base}/api/v1/apps/{id}")},
                    "user": {"href": format!("{base}/api/v1/users/{}", u.id)},
                },
            });
            if expand_user {
                let uj: Value = serde_json::from_str(&user_cached(u, &base)).unwrap_or(Value::Null);
                o["_embedded"] = json!({ "user": uj });
            }
            o.to_string()
        })
        .collect();
    drop(org);
    Ok(list_response(&st, &format!("/api/v1/apps/{id}/users"), &pairs, &items, next))
}

async fn app_groups(
    State(st): State<SimState>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    let pairs = parse_query(raw.as_deref());
    let limit = parse_limit(&pairs, 20, 20, 200)?;
    let after = qget(&pairs, "after").unwrap_or("");
    let base = st.base_url().to_owned();
    let org = st.org_read();
    if !org.apps.contains_key(&id) {
        return Err(ApiError::not_found(&id, "AppInstance"));
    }
    let empty = Default::default();
    let m = org.app_groups.get(&id).unwrap_or(&empty);
    let range = if after.is_empty() {
        m.range::<str, _>((Bound::Unbounded, Bound::Unbounded))
    } else {
        m.range::<str, _>((Bound::Excluded(after), Bound::Unbounded))
    };
    let it = range;
    let (page, next) = keyset_page(it, limit, |(g, _)| (*g).clone());
    let items: Vec<String> = page
        .iter()
        .map(|(gid, ag)| {
            json!({
                "id": gid,
                "lastUpdated": fmt_ms(ag.last_updated),
                "priority": ag.priority,
                "profile": {},
                "_links": {
                    "app": {"href": format!("{base}/api/v1/apps/{id}")},
                    "group": {"href": format!("{base}/api/v1/groups/{gid}")},
                },
            })
            .to_string()
        })
        .collect();
    drop(org);
    Ok(list_response(&st, &format!("/api/v1/apps/{id}/groups"), &pairs, &items, next))
}
