//! `/api/v1/users*`: list/search/filter, get, create, update, lifecycle, delete, a user's
//! groups and appLinks.

use std::ops::Bound;
use std::sync::{Arc, OnceLock};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Extension, Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Map, Value, json};

use super::{json_response, keyset_page, list_response, parse_body, parse_limit};
use crate::model::{
    Org, User, UserStatus, UserView, group_cached, login_key, user_cached, user_to_string,
};
use crate::query::{self, Dialect, Fields};
use crate::state::{ReqCtx, SimState, group_target, user_target};
use crate::util::{ApiError, ApiResult, parse_query, qget, stamp_ms};

pub(super) fn routes() -> Router<SimState> {
    Router::new()
        .route("/users", get(list_users).post(create_user))
        .route("/users/{id}", get(get_user).post(update_user).put(replace_user).delete(delete_user))
        .route("/users/{id}/lifecycle/{op}", post(lifecycle))
        .route("/users/{id}/groups", get(user_groups))
        .route("/users/{id}/appLinks", get(app_links))
}

fn omit_credentials(h: &HeaderMap) -> bool {
    h.get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("okta-response=") && v.contains("omitCredentials"))
}

fn render(u: &User, base: &str, view: UserView, fields: Option<&Fields>) -> Arc<str> {
    match fields {
        None if !view.omit_credentials && !view.full_links => user_cached(u, base),
        None => user_to_string(u, base, view).into(),
        Some(f) => {
            let v: Value =
                serde_json::from_str(&user_to_string(u, base, view)).unwrap_or(Value::Null);
            f.apply(v).to_string().into()
        }
    }
}

async fn list_users(
    State(st): State<SimState>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let pairs = parse_query(raw.as_deref());
    let view = UserView { full_links: false, omit_credentials: omit_credentials(&headers) };
    let fields = qget(&pairs, "fields").map(Fields::parse).transpose()?;
    let base = st.base_url().to_owned();
    let org = st.org_read();
    if let Some(q) = qget(&pairs, "q") {
        // People-picker prefix search: not paginated, excludes DEPROVISIONED.
        let limit = parse_limit(&pairs, 10, 1, 200)?;
        let q = q.to_lowercase();
        let starts = |u: &User, k: &str| {
            u.profile
                .get(k)
                .and_then(Value::as_str)
                .is_some_and(|s| s.to_lowercase().starts_with(&q))
        };
        let items: Vec<Arc<str>> = org
            .users
            .values()
            .filter(|u| u.status != UserStatus::Deprovisioned)
            .filter(|u| starts(u, "firstName") || starts(u, "lastName") || starts(u, "email"))
            .take(limit)
            .map(|u| render(u, &base, view, fields.as_ref()))
            .collect();
        return Ok(list_response(&st, "/api/v1/users", &pairs, &items, None));
    }
    let limit = parse_limit(&pairs, 200, 1, 200)?;
    let (expr, dialect) = match (qget(&pairs, "search"), qget(&pairs, "filter")) {
        (Some(s), _) => (Some(query::parse(s, Dialect::UsersSearch)?), Dialect::UsersSearch),
        (None, Some(f)) => (Some(query::parse(f, Dialect::UsersFilter)?), Dialect::UsersFilter),
        (None, None) => (None, Dialect::UsersSearch),
    };
    let cs = dialect.case_sensitive();
    // The search index is eventually consistent: new users show up after the configured lag.
    let lag = st.0.config.search_lag_ms as i64;
    let visible_after = if dialect == Dialect::UsersSearch && lag > 0 && expr.is_some() {
        crate::util::now_ms() - lag
    } else {
        i64::MAX
    };
    let matches = |u: &User| match &expr {
        None => u.status != UserStatus::Deprovisioned,
        Some(e) => u.created <= visible_after && query::eval(e, cs, &|p| u.attr(p)),
    };
    let after = qget(&pairs, "after").unwrap_or("");
    let (page, next): (Vec<&User>, Option<String>) =
        if let (Some(sort_by), true) = (qget(&pairs, "sortBy"), qget(&pairs, "search").is_some()) {
            let desc = qget(&pairs, "sortOrder").is_some_and(|o| o.eq_ignore_ascii_case("desc"));
            let key = |u: &User| {
                u.attr(sort_by).map(|v| match v {
                    Value::String(s) => s.to_lowercase(),
                    v => v.to_string(),
                })
            };
            let mut all: Vec<(Option<String>, &User)> =
                org.users.values().filter(|u| matches(u)).map(|u| (key(u), u)).collect();
            all.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.id.cmp(&b.1.id)));
            if desc {
                all.reverse();
            }
            let start = if after.is_empty() {
                0
            } else {
                all.iter().position(|(_, u)| u.id == after).map(|p| p + 1).unwrap_or(all.len())
            };
            let page: Vec<&User> = all.iter().skip(start).take(limit).map(|(_, u)| *u).collect();
            let more = start + page.len() < all.len();
            let next = if more { page.last().map(|u| u.id.clone()) } else { None };
            (page, next)
        } else {
            let range = if after.is_empty() {
                org.users.range::<str, _>((Bound::Unbounded, Bound::Unbounded))
            } else {
                org.users.range::<str, _>((Bound::Excluded(after), Bound::Unbounded))
            };
            let mut it = range.map(|(_, u)| u).filter(|u| matches(u));
            let page: Vec<&User> = it.by_ref().take(limit).collect();
            let more = page.len() == limit && it.next().is_some();
            let next = if more { page.last().map(|u| u.id.clone()) } else { None };
            (page, next)
        };
    let items: Vec<Arc<str>> =
        page.iter().map(|u| render(u, &base, view, fields.as_ref())).collect();
    drop(org);
    Ok(list_response(&st, "/api/v1/users", &pairs, &items, next))
}

fn full_user_response(u: &User, base: &str, omit: bool) -> Response {
    let mut r = json_response(
        StatusCode::OK,
        user_to_string(u, base, UserView { full_links: true, omit_credentials: omit }),
    );
    if let Ok(v) = HeaderValue::from_str(&format!("W/\"{}\"", u.last_updated)) {
        r.headers_mut().insert(header::ETAG, v);
    }
    r
}

async fn get_user(
    State(st): State<SimState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let org = st.org_read();
    let u = org.user_ref(&id).ok_or_else(|| ApiError::not_found(&id, "User"))?;
    Ok(full_user_response(u, st.base_url(), omit_credentials(&headers)))
}

fn validate_profile(
    org: &Org,
    profile: &Map<String, Value>,
    self_id: Option<&str>,
) -> ApiResult<()> {
    let mut causes = Vec::new();
    for k in ["login", "email", "firstName", "lastName"] {
        match profile.get(k) {
            Some(Value::String(s)) if !s.trim().is_empty() => {}
            _ => causes.push(format!("{k}: The field cannot be left blank")),
        }
    }
    if let Some(login) = profile.get("login").and_then(Value::as_str) {
        if login.chars().count() < 5 || login.chars().count() > 100 {
            causes.push("login: Username must be between 5 and 100 characters".into());
        }
        if let Some(other) = org.logins.get(&login_key(login))
            && Some(other.as_str()) != self_id
        {
            causes.push(
                "login: An object with this field already exists in the current organization"
                    .into(),
            );
        }
    }
    if let Some(email) = profile.get("email").and_then(Value::as_str)
        && !email.contains('@')
    {
        causes.push("email: Does not match required pattern".into());
    }
    if causes.is_empty() {
        return Ok(());
    }
    let what =
        causes.iter().map(|c| c.split(':').next().unwrap_or("")).collect::<Vec<_>>().join(", ");
    let mut e = ApiError::new(400, "E0000001", format!("Api validation failed: {what}"));
    e.causes = causes;
    Err(e)
}

fn targets_of(u: &User) -> Vec<Value> {
    vec![user_target(&u.id, u.login(), &u.display_name())]
}

async fn create_user(
    State(st): State<SimState>,
    Extension(ctx): Extension<ReqCtx>,
    RawQuery(raw): RawQuery,
    body: Bytes,
) -> ApiResult<Response> {
    let pairs = parse_query(raw.as_deref());
    let body = parse_body(&body)?;
    let activate = qget(&pairs, "activate").is_none_or(|v| v != "false");
    let profile = body.get("profile").and_then(Value::as_object).cloned().ok_or_else(|| {
        ApiError::validation("profile", "profile: The field cannot be left blank")
    })?;
    let has_password = body.pointer("/credentials/password/value").is_some_and(Value::is_string)
        || body.pointer("/credentials/password/hash").is_some();
    let recovery = body
        .pointer("/credentials/recovery_question/question")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let group_ids: Vec<String> = body
        .get("groupIds")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).map(str::to_owned).collect())
        .unwrap_or_default();
    let now = stamp_ms();
    let mut events = Vec::new();
    let resp = {
        let mut org = st.org_write();
        validate_profile(&org, &profile, None)?;
        for g in &group_ids {
            if !org.groups.contains_key(g) {
                return Err(ApiError::not_found(g, "UserGroup"));
            }
        }
        let id = org.new_id("00u");
        let status = match (activate, has_password) {
            (false, _) => UserStatus::Staged,
            (true, true) => UserStatus::Active,
            (true, false) => UserStatus::Provisioned,
        };
        let type_id = body
            .pointer("/type/id")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .unwrap_or_else(|| org.user_type_id.clone());
        let u = User {
            id: id.clone(),
            status,
            created: now,
            activated: activate.then_some(now),
            status_changed: activate.then_some(now),
            last_login: None,
            last_updated: now,
            password_changed: has_password.then_some(now),
            type_id,
            profile,
            provider_type: "OKTA".into(),
            provider_name: "OKTA".into(),
            has_password,
            recovery_question: recovery,
            cache: OnceLock::new(),
        };
        let t = targets_of(&u);
        events.push(("user.lifecycle.create", "Create Okta user", t.clone()));
        if activate {
            events.push(("user.lifecycle.activate", "Activate Okta user", t.clone()));
        }
        org.insert_user(u);
        let everyone = org.everyone_id.clone();
        if org.groups.contains_key(&everyone) {
            org.link_member(&everyone, &id);
            if let Some(g) = org.groups.get_mut(&everyone) {
                g.last_membership_updated = now;
            }
        }
        for g in &group_ids {
            org.link_member(g, &id);
            org.on_member_added(g, &id, now);
            if let Some(gr) = org.groups.get_mut(g) {
                gr.last_membership_updated = now;
                let mut tt = t.clone();
                tt.push(group_target(&gr.id, gr.name()));
                events.push(("group.user_membership.add", "Add user to group membership", tt));
            }
        }
        full_user_response(&org.users[&id], st.base_url(), false)
    };
    for (t, d, targets) in events {
        st.emit(&ctx, t, d, targets);
    }
    Ok(resp)
}

async fn update_user(
    State(st): State<SimState>,
    Extension(ctx): Extension<ReqCtx>,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<Response> {
    modify_user(st, ctx, id, body, false)
}

async fn replace_user(
    State(st): State<SimState>,
    Extension(ctx): Extension<ReqCtx>,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<Response> {
    modify_user(st, ctx, id, body, true)
}

fn modify_user(
    st: SimState,
    ctx: ReqCtx,
    id: String,
    body: Bytes,
    replace: bool,
) -> ApiResult<Response> {
    let body = parse_body(&body)?;
    let patch = body.get("profile").and_then(Value::as_object).cloned();
    let now = stamp_ms();
    let (resp, targets) = {
        let mut org = st.org_write();
        let uid = org.user_id(&id)?;
        let old = org.users[&uid].profile.clone();
        let new_profile = match (&patch, replace) {
            (Some(p), true) => p.clone(),
            (Some(p), false) => {
                let mut m = old.clone();
                for (k, v) in p {
                    m.insert(k.clone(), v.clone());
                }
                m
            }
            (None, true) => {
                return Err(ApiError::validation(
                    "profile",
                    "profile: The field cannot be left blank",
                ));
            }
            (None, false) => old.clone(),
        };
        validate_profile(&org, &new_profile, Some(&uid))?;
        let old_login = login_key(org.users[&uid].login());
        let new_login =
            new_profile.get("login").and_then(Value::as_str).map(login_key).unwrap_or_default();
        if old_login != new_login {
            org.logins.remove(&old_login);
            org.logins.insert(new_login, uid.clone());
        }
        let changed = new_profile != old;
        let u = org.users.get_mut(&uid).ok_or_else(|| ApiError::not_found(&id, "User"))?;
        if changed {
            u.profile = new_profile;
            u.touch(now);
        }
        (full_user_response(u, st.base_url(), false), changed.then(|| targets_of(u)))
    };
    if let Some(t) = targets {
        st.emit(&ctx, "user.account.update_profile", "Update user profile for Okta", t);
    }
    Ok(resp)
}

async fn lifecycle(
    State(st): State<SimState>,
    Extension(ctx): Extension<ReqCtx>,
    Path((id, op)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    let pairs = parse_query(raw.as_deref());
    let send_email = qget(&pairs, "sendEmail").is_none_or(|v| v != "false");
    let now = stamp_ms();
    let base = st.base_url().to_owned();
    let mut events: Vec<(&'static str, &'static str, Vec<Value>)> = Vec::new();
    let body = {
        let mut org = st.org_write();
        let uid = org.user_id(&id)?;
        let status = org.users[&uid].status;
        let not_allowed = || {
            ApiError::new(
                403,
                "E0000038",
                "This operation is not allowed in the user's current status.",
            )
        };
        let activation = |send: bool| {
            if send {
                json!({})
            } else {
                let tok = crate::util::random_alnum(20);
                json!({"activationUrl": format!("{base}/welcome/{tok}"), "activationToken": tok})
            }
        };
        let (new_status, event, display, body) = match op.as_str() {
            "activate" => match status {
                UserStatus::Staged | UserStatus::Deprovisioned => {
                    let s = if org.users[&uid].has_password {
                        UserStatus::Active
                    } else {
                        UserStatus::Provisioned
                    };
                    (s, "user.lifecycle.activate", "Activate Okta user", activation(send_email))
                }
                UserStatus::Active => {
                    return Err(ApiError::new(
                        403,
                        "E0000016",
                        "Activation failed because the user is already active",
                    ));
                }
                _ => return Err(not_allowed()),
            },
            "reactivate" => match status {
                UserStatus::Provisioned | UserStatus::Recovery => (
                    status,
                    "user.lifecycle.reactivate",
                    "Reactivate Okta user",
                    activation(send_email),
                ),
                _ => return Err(not_allowed()),
            },
            "deactivate" => match status {
                UserStatus::Deprovisioned => return Err(not_allowed()),
                _ => (
                    UserStatus::Deprovisioned,
                    "user.lifecycle.deactivate",
                    "Deactivate Okta user",
                    json!({}),
                ),
            },
            "suspend" => match status {
                UserStatus::Active => (
                    UserStatus::Suspended,
                    "user.lifecycle.suspend",
                    "Suspend Okta user",
                    json!({}),
                ),
                _ => {
                    return Err(ApiError::validation(
                        "suspend",
                        "Cannot suspend a user that is not active",
                    ));
                }
            },
            "unsuspend" => match status {
                UserStatus::Suspended => (
                    UserStatus::Active,
                    "user.lifecycle.unsuspend",
                    "Unsuspend Okta user",
                    json!({}),
                ),
                _ => {
                    return Err(ApiError::validation(
                        "unsuspend",
                        "Cannot unsuspend a user that is not suspended",
                    ));
                }
            },
            "unlock" => match status {
                UserStatus::LockedOut => (
                    UserStatus::Active,
                    "user.account.unlock_by_admin",
                    "Unlock user account by admin",
                    json!({}),
                ),
                _ => return Err(not_allowed()),
            },
            _ => return Err(ApiError::new(404, "E0000008", "The requested path was not found")),
        };
        if new_status == UserStatus::Deprovisioned {
            deactivate_in(&mut org, &uid, now);
        }
        let u = org.users.get_mut(&uid).ok_or_else(|| ApiError::not_found(&id, "User"))?;
        if new_status != u.status {
            u.set_status(new_status, now);
        } else {
            u.touch(now);
        }
        if op == "activate" {
            u.activated = Some(now);
        }
        events.push((event, display, targets_of(u)));
        body
    };
    for (t, d, targets) in events {
        st.emit(&ctx, t, d, targets);
    }
    Ok(json_response(StatusCode::OK, body.to_string()))
}

/// Deactivation side effects: all app assignments are removed (Okta's destructive deactivate).
fn deactivate_in(org: &mut Org, uid: &str, now: i64) {
    let apps: Vec<String> =
        org.user_apps.get(uid).map(|s| s.iter().cloned().collect()).unwrap_or_default();
    for a in apps {
        org.unassign_app_user(&a, uid);
    }
    if let Some(u) = org.users.get_mut(uid) {
        u.set_status(UserStatus::Deprovisioned, now);
    }
}

async fn delete_user(
    State(st): State<SimState>,
    Extension(ctx): Extension<ReqCtx>,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let now = stamp_ms();
    let mut events = Vec::new();
    {
        let mut org = st.org_write();
        let uid = org.user_id(&id)?;
        let t = targets_of(&org.users[&uid]);
        if org.users[&uid].status != UserStatus::Deprovisioned {
            deactivate_in(&mut org, &uid, now);
            events.push(("user.lifecycle.deactivate", "Deactivate Okta user", t));
        } else {
            org.remove_user(&uid);
            let everyone = org.everyone_id.clone();
            if let Some(g) = org.groups.get_mut(&everyone) {
                g.last_membership_updated = now;
            }
            events.push((
                "user.lifecycle.delete.initiated",
                "Delete Okta user initiated",
                t.clone(),
            ));
            events.push(("user.lifecycle.delete.completed", "Delete Okta user completed", t));
        }
    }
    for (t, d, targets) in events {
        st.emit(&ctx, t, d, targets);
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn user_groups(
    State(st): State<SimState>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    let pairs = parse_query(raw.as_deref());
    let limit = parse_limit(&pairs, 200, 1, 200)?;
    let after = qget(&pairs, "after").unwrap_or("").to_owned();
    let org = st.org_read();
    let uid = org.user_id(&id)?;
    let empty = Default::default();
    let set = org.user_groups.get(&uid).unwrap_or(&empty);
    let it = if after.is_empty() {
        set.range::<str, _>((Bound::Unbounded, Bound::Unbounded))
    } else {
        set.range::<str, _>((Bound::Excluded(after.as_str()), Bound::Unbounded))
    }
    .filter_map(|g| org.groups.get(g));
    let (page, next) = keyset_page(it, limit, |g| g.id.clone());
    let items: Vec<Arc<str>> = page.iter().map(|g| group_cached(g, st.base_url())).collect();
    let path = format!("/api/v1/users/{id}/groups");
    drop(org);
    Ok(list_response(&st, &path, &pairs, &items, next))
}

async fn app_links(
    State(st): State<SimState>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    let pairs = parse_query(raw.as_deref());
    let base = st.base_url().to_owned();
    let org = st.org_read();
    let uid = org.user_id(&id)?;
    let mut items = Vec::new();
    for (i, a) in org.user_apps.get(&uid).into_iter().flatten().enumerate() {
        let (Some(app), Some(au)) =
            (org.apps.get(a), org.app_users.get(a).and_then(|m| m.get(&uid)))
        else {
            continue;
        };
        if app.status != "ACTIVE" {
            continue;
        }
        items.push(
            json!({
                "id": format!("00a{}", au.assignment_id.get(3..).unwrap_or(&au.assignment_id)),
                "label": app.label(),
                "linkUrl": format!("{base}/home/{}/{}/{}", app.name(), app.id, 100 + app.seq % 900),
                "logoUrl": format!("{base}/assets/img/logos/{}.png", app.name()),
                "appName": app.name(),
                "appInstanceId": app.id,
                "appAssignmentId": au.assignment_id,
                "credentialsSetup": false,
                "hidden": false,
                "sortOrder": i,
            })
            .to_string(),
        );
    }
    let path = format!("/api/v1/users/{id}/appLinks");
    drop(org);
    Ok(list_response(&st, &path, &pairs, &items, None))
}
