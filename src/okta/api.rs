//! What the engine asks Okta for, by name: the only place that builds Okta paths.
//!
//! The engine asks for "every user (all statuses) with this projection", "the members of group
//! G" or "a user with its groups and app links"; page sizes, filters, projections and URL
//! encoding are decided here, at the request floor of each endpoint (`spec/okta-api.md` §3).

use super::{OktaClient, OktaError, Pager};
use serde_json::Value;

/// Users per page (Okta's maximum for `/users`).
const USERS_PAGE: u32 = 200;
/// Groups per page.
const GROUPS_PAGE: u32 = 200;
/// Members per page (Okta's maximum for `/groups/{id}/users`).
const MEMBERS_PAGE: u32 = 1000;
/// Apps per page.
const APPS_PAGE: u32 = 200;
/// App users per page (Okta's maximum for `/apps/{id}/users`).
const APP_USERS_PAGE: u32 = 500;

/// Profile attributes a user projection always includes, because manager resolution needs them.
const MANAGER_FIELDS: [&str; 2] = ["managerId", "manager"];

/// A user with the memberships an item carries.
#[derive(Debug, Clone, PartialEq)]
pub struct UserWithLinks {
    /// The Okta user object.
    pub user: Value,
    /// Its groups (full group objects), when asked for.
    pub groups: Option<Vec<Value>>,
    /// Its app links, when asked for.
    pub app_links: Option<Vec<Value>>,
}

impl OktaClient {
    /// Every user, of every status, with the `fields` projection (plus the manager attributes):
    /// Okta's plain list hides `DEPROVISIONED` users, so they are a second listing by filter.
    pub fn all_users<T: serde::de::DeserializeOwned>(&self, fields: Option<&str>) -> Vec<Pager<T>> {
        let projection = fields
            .map(|f| format!("&fields={}", encode(&with_manager_fields(f))))
            .unwrap_or_default();
        let deprovisioned = encode("status eq \"DEPROVISIONED\"");
        vec![
            self.pager_of(&format!("/api/v1/users?limit={USERS_PAGE}{projection}")),
            self.pager_of(&format!(
                "/api/v1/users?limit={USERS_PAGE}&filter={deprovisioned}{projection}"
            )),
        ]
    }

    /// Every group.
    pub fn groups(&self) -> Pager {
        self.pager(&format!("/api/v1/groups?limit={GROUPS_PAGE}"))
    }

    /// The members of group `group_id`.
    pub fn group_members<T: serde::de::DeserializeOwned>(&self, group_id: &str) -> Pager<T> {
        self.pager_of(&format!("/api/v1/groups/{}/users?limit={MEMBERS_PAGE}", encode(group_id)))
    }

    /// Every app.
    pub fn apps(&self) -> Pager {
        self.pager(&format!("/api/v1/apps?limit={APPS_PAGE}"))
    }

    /// The users assigned to app `app_id`.
    pub fn app_users<T: serde::de::DeserializeOwned>(&self, app_id: &str) -> Pager<T> {
        self.pager_of(&format!("/api/v1/apps/{}/users?limit={APP_USERS_PAGE}", encode(app_id)))
    }

    /// One user by id or login (`None`: 404, the user does not exist).
    pub async fn user(&self, id_or_login: &str) -> Result<Option<Value>, OktaError> {
        found(self.get_json(&format!("/api/v1/users/{}", encode(id_or_login))).await)
    }

    /// The user whose primary email is `email` (`None`: there is none).
    pub async fn user_by_email(&self, email: &str) -> Result<Option<Value>, OktaError> {
        let search = encode(&format!("profile.email eq \"{}\"", email.replace('"', "")));
        let found = self.get_json(&format!("/api/v1/users?search={search}&limit=2")).await?;
        Ok(found.as_array().and_then(|a| a.first()).cloned())
    }

    /// One group by id (`None`: 404).
    pub async fn group(&self, id: &str) -> Result<Option<Value>, OktaError> {
        found(self.get_json(&format!("/api/v1/groups/{}", encode(id))).await)
    }

    /// A user with its groups and app links, as a live event needs them (`None`: the user does
    /// not exist). The three reads run concurrently.
    pub async fn user_with_links(
        &self,
        id: &str,
        groups: bool,
        app_links: bool,
    ) -> Result<Option<UserWithLinks>, OktaError> {
        let enc = encode(id);
        let list = |path: String, wanted: bool, paged: bool| async move {
            if !wanted {
                return Ok(None);
            }
            let mut all = Vec::new();
            let mut pager = if paged { self.pager(&path) } else { self.pager(&path).unlinked() };
            while let Some(page) = pager.next_page().await? {
                all.extend(page);
            }
            Ok::<_, OktaError>(Some(all))
        };
        let (user, groups, app_links) = tokio::join!(
            self.user(id),
            list(format!("/api/v1/users/{enc}/groups?limit={GROUPS_PAGE}"), groups, true),
            // App links are not paged: Okta returns them all, without `Link` headers.
            list(format!("/api/v1/users/{enc}/appLinks"), app_links, false),
        );
        let Some(user) = user? else { return Ok(None) };
        let missing = |r: Result<Option<Vec<Value>>, OktaError>| match r {
            Err(e) if e.status() == Some(404) => Ok(None),
            other => other,
        };
        Ok(Some(UserWithLinks { user, groups: missing(groups)?, app_links: missing(app_links)? }))
    }
}

/// A read's result with 404 as `None`.
fn found(r: Result<Value, OktaError>) -> Result<Option<Value>, OktaError> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.status() == Some(404) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Adds `managerId`/`manager` to a `profile:(…)` projection that lacks them.
pub fn with_manager_fields(fields: &str) -> String {
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

/// Percent-encodes a path segment or query value.
pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
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

    #[test]
    fn encodes_path_segments() {
        assert_eq!(encode("00g1"), "00g1");
        assert_eq!(encode("a b/c"), "a%20b%2Fc");
        assert_eq!(encode("status eq \"X\""), "status%20eq%20%22X%22");
    }
}
