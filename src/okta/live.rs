//! Items for live events: one user or group re-read from Okta, shaped exactly as the resync
//! shapes it, so an entity written from an event equals the one the next resync writes.
//!
//! - The user is projected locally on the resource's `fields` (plus the manager attributes), as
//!   the resync's listing is projected by Okta: Ocean's live events see every field while its
//!   resync sees the projection, so values flip between the two (W-O5); here they cannot.
//! - `groups` are the user's full group objects; `applications` are built from the app objects,
//!   in app-listing order, like the resync's (the app list is read once and re-read when a link
//!   names an app it does not know); `manager` is resolved by id or login, then by email.
//! - A group item carries its members as the resync's slim records.

use super::org::{
    app_link, assemble_group_item, assemble_user_item, id_of, manager_id, manager_ref, slim_member,
};
use super::{OktaClient, OktaError};
use serde_json::{Map, Value};
use std::collections::HashMap;
use tokio::sync::Mutex;

/// Reads users and groups as items, keeping the app list between calls.
#[derive(Debug)]
pub struct LiveReader {
    client: OktaClient,
    apps: Mutex<Apps>,
}

#[derive(Debug, Default)]
struct Apps {
    list: Vec<Value>,
    position: HashMap<String, usize>,
    loaded: bool,
}

/// What a user item includes (a user resource's selector).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserShape {
    /// `selector.fields`: the projection, or the whole user.
    pub fields: Option<String>,
    /// `include_groups`.
    pub groups: bool,
    /// `include_applications`.
    pub applications: bool,
}

impl LiveReader {
    /// A reader over `client`.
    pub fn new(client: OktaClient) -> Self {
        Self { client, apps: Mutex::new(Apps::default()) }
    }

    /// The client.
    pub fn client(&self) -> &OktaClient {
        &self.client
    }

    /// The user item of `id` in each shape, with the ids of the user's groups when they were
    /// read (`None`: the user does not exist).
    pub async fn user_items(
        &self,
        id: &str,
        shapes: &[UserShape],
    ) -> Result<Option<(Vec<Value>, Option<Vec<String>>)>, OktaError> {
        let groups = shapes.iter().any(|s| s.groups);
        let links = shapes.iter().any(|s| s.applications);
        let Some(read) = self.client.user_with_links(id, groups, links).await? else {
            return Ok(None);
        };
        let manager = match manager_id(&read.user) {
            Some(m) => self.manager(m).await?,
            None => Value::Null,
        };
        let applications = match &read.app_links {
            Some(links) => Some(self.applications(links).await?),
            None => None,
        };
        let items = shapes
            .iter()
            .map(|s| {
                let user = match &s.fields {
                    Some(f) => project(&read.user, &super::api::with_manager_fields(f)),
                    None => read.user.clone(),
                };
                let groups = s.groups.then(|| read.groups.clone().unwrap_or_default());
                let apps = s.applications.then(|| applications.clone().unwrap_or_default());
                assemble_user_item(user, groups, apps, manager.clone())
            })
            .collect();
        let group_ids =
            read.groups.as_ref().map(|g| g.iter().map(|g| id_of(g).to_string()).collect());
        Ok(Some((items, group_ids)))
    }

    /// The group item of `id` (`None`: the group does not exist).
    pub async fn group_item(&self, id: &str) -> Result<Option<Value>, OktaError> {
        let Some(group) = self.client.group(id).await? else { return Ok(None) };
        let mut members = Vec::new();
        let mut pager = self.client.group_members::<Value>(id);
        loop {
            match pager.next_page().await {
                Ok(Some(page)) => members.extend(page.iter().map(slim_member)),
                Ok(None) => break,
                Err(e) if e.status() == Some(404) => return Ok(None),
                Err(e) => return Err(e),
            }
        }
        Ok(Some(assemble_group_item(group, members)))
    }

    /// `managerId` resolved as the resync resolves it: by id or login, then by email.
    async fn manager(&self, manager: &str) -> Result<Value, OktaError> {
        if let Some(u) = self.client.user(manager).await? {
            return Ok(manager_ref(&u));
        }
        if manager.contains('@') {
            let by_email = self.client.user_by_email(manager).await?;
            return Ok(by_email.as_ref().map_or(Value::Null, manager_ref));
        }
        Ok(Value::Null)
    }

    /// App links rebuilt from the app objects, in app-listing order.
    async fn applications(&self, links: &[Value]) -> Result<Vec<Value>, OktaError> {
        let mut apps = self.apps.lock().await;
        let known = |apps: &Apps| {
            links.iter().all(|l| {
                l.get("appInstanceId")
                    .and_then(Value::as_str)
                    .is_none_or(|a| apps.position.contains_key(a))
            })
        };
        if !apps.loaded || !known(&apps) {
            let mut list = Vec::new();
            let mut pager = self.client.apps();
            while let Some(page) = pager.next_page().await? {
                list.extend(page);
            }
            apps.position =
                list.iter().enumerate().map(|(i, a)| (id_of(a).to_string(), i)).collect();
            apps.list = list;
            apps.loaded = true;
        }
        let mut positions: Vec<usize> = links
            .iter()
            .filter_map(|l| l.get("appInstanceId").and_then(Value::as_str))
            .filter_map(|a| apps.position.get(a).copied())
            .collect();
        positions.sort_unstable();
        positions.dedup();
        Ok(positions.iter().enumerate().map(|(n, &p)| app_link(&apps.list[p], n)).collect())
    }
}

/// Okta's `fields` projection of a user: `id` always, the named top-level fields, and
/// `profile:(a,b)` for a part of the profile.
pub fn project(user: &Value, fields: &str) -> Value {
    let Some(obj) = user.as_object() else { return user.clone() };
    let mut out = Map::new();
    if let Some(id) = obj.get("id") {
        out.insert("id".into(), id.clone());
    }
    let mut rest = fields.trim();
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix("profile:(") {
            let end = r.find(')').unwrap_or(r.len());
            let profile = obj.get("profile").and_then(Value::as_object);
            let picked: Map<String, Value> = r[..end]
                .split(',')
                .map(str::trim)
                .filter_map(|k| profile.and_then(|p| p.get(k)).map(|v| (k.to_string(), v.clone())))
                .collect();
            out.insert("profile".into(), Value::Object(picked));
            rest = r.get(end + 1..).unwrap_or("").trim_start_matches(',').trim();
            continue;
        }
        let (name, r) = rest.split_once(',').unwrap_or((rest, ""));
        let name = name.trim();
        if let Some(v) = obj.get(name) {
            out.insert(name.to_string(), v.clone());
        }
        rest = r.trim();
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn projects_like_okta_fields() {
        let user = json!({"id": "00u1", "status": "ACTIVE", "type": {"id": "oty1"}, "_links": {},
                          "profile": {"login": "a@x.io", "email": "a@x.io", "title": "CTO"}});
        assert_eq!(
            project(&user, "status,profile:(login,missing,title),lastLogin"),
            json!({"id": "00u1", "status": "ACTIVE", "profile": {"login": "a@x.io", "title": "CTO"}})
        );
        assert_eq!(project(&user, "profile"), json!({"id": "00u1", "profile": user["profile"]}));
    }
}
