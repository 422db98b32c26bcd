//! The fetch strategy: memberships at the request floor, items shaped as Ocean shapes them.
//!
//! Ocean asks Okta for every user's groups and app links one user at a time (2N+1 requests,
//! W-O3) and never fetches group members (W-O9). Here the membership graph is read from the
//! side that pages best: every group's member list (`/groups/{id}/users`, 1000 per page) and
//! every app's assignments (`/apps/{id}/users`, 500 per page), then inverted in memory. The
//! index holds small integers per membership and one slim member record per user, so memory
//! stays flat in the org size apart from that graph.
//!
//! Items are what the mapping sees:
//! - a **user item** is the Okta user object plus `groups` (the user's full Okta group objects),
//!   `applications` (app-link-shaped objects, see [`MembershipIndex::app_links`]) and
//!   `manager` (`{"id","login","email"}` of the resolved manager, or null);
//! - a **group item** is the Okta group object plus `users`: its members as slim user records
//!   `{"id","status","profile":{"login","email","firstName","lastName","displayName"}}`.

use super::{OktaClient, OktaError};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;

/// What the membership index must contain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexPlan {
    /// Read every group's members.
    pub members: bool,
    /// Read apps and their user assignments.
    pub applications: bool,
    /// Concurrent member/assignment listings.
    pub concurrency: usize,
}

/// Users, groups and apps by small integer, with the membership graph between them.
#[derive(Debug, Default)]
pub struct MembershipIndex {
    user_ids: HashMap<Arc<str>, u32>,
    users: Vec<UserRecord>,
    /// Hashes of lowercased logins and emails → user (a hit is checked against the user's record,
    /// so the names themselves need not be kept twice).
    by_name: HashMap<u64, u32>,
    /// Every group as compact JSON text, in listing order (text costs a fraction of a value).
    groups: Vec<Box<str>>,
    group_ids: Vec<Box<str>>,
    group_members: Vec<Vec<u32>>,
    /// Each user's groups, built once the members are read.
    user_groups: Adjacency,
    /// Every app, in listing order.
    pub apps: Vec<Value>,
    /// Each user's apps (positions in `apps`), built once the assignments are read.
    user_apps: Adjacency,
    /// Each app's link as JSON text up to its `sortOrder` value (`…,"sortOrder":`).
    app_link_heads: Vec<Box<str>>,
    /// Groups that were deleted while the index was read (their member listing answered 404).
    gone_groups: Vec<bool>,
}

/// A user → targets relation in compressed rows: a few bytes per edge, one allocation.
#[derive(Debug, Default)]
struct Adjacency {
    offsets: Vec<u32>,
    targets: Vec<u32>,
}

impl Adjacency {
    /// The relation of `edges` (user, target) over users `0..users`, each row sorted, no repeats.
    fn build(users: usize, mut edges: Vec<(u32, u32)>) -> Self {
        edges.sort_unstable();
        edges.dedup();
        let mut offsets = vec![0u32; users + 1];
        for &(u, _) in &edges {
            offsets[u as usize + 1] += 1;
        }
        for i in 0..users {
            offsets[i + 1] += offsets[i];
        }
        // Collected into a fresh buffer: an in-place collect would keep the edges' allocation,
        // twice the size of the targets.
        let mut targets = Vec::with_capacity(edges.len());
        targets.extend(edges.iter().map(|&(_, t)| t));
        Self { offsets, targets }
    }

    /// The targets of `user` (none for a user the relation was built without).
    fn of(&self, user: usize) -> &[u32] {
        match (self.offsets.get(user), self.offsets.get(user + 1)) {
            (Some(&a), Some(&b)) => &self.targets[a as usize..b as usize],
            _ => &[],
        }
    }
}

/// The key of a login or email in `by_name`.
fn name_key(name: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::hash::DefaultHasher::new();
    name.to_lowercase().hash(&mut h);
    h.finish()
}

/// How much of each member a group item's text carries: everything the mapping can see of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberFields {
    /// The slim member record (see [`slim_member`]).
    All,
    /// Only `id` (the mapping reads nothing else of a member).
    Ids,
    /// No `users` at all (the mapping does not read them).
    Unread,
}

/// What the index keeps of a user: the record group items carry as members. Deserialized straight
/// from member pages, so a page of 1000 full user objects never exists as values.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
struct SlimMember {
    #[serde(default)]
    id: String,
    #[serde(default)]
    status: Value,
    #[serde(default)]
    profile: SlimProfile,
}

#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct SlimProfile {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    login: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    email: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    first_name: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    last_name: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    display_name: Option<Value>,
}

/// What the resync reads of a listed user besides its text: the slim record and `managerId`.
#[derive(Debug, Default, serde::Deserialize)]
struct Listed {
    #[serde(default)]
    id: String,
    #[serde(default)]
    status: Value,
    #[serde(default)]
    profile: ListedProfile,
    // Top-level keys a user item adds: when the user already has one, the item is built as a
    // value (the added key replaces it in place) instead of spliced as text.
    #[serde(default)]
    groups: Option<serde::de::IgnoredAny>,
    #[serde(default)]
    applications: Option<serde::de::IgnoredAny>,
    #[serde(default)]
    manager: Option<serde::de::IgnoredAny>,
}

/// What the resync needs of a listed user to build its item.
#[derive(Debug, Clone, PartialEq)]
pub struct ListedUser {
    /// The Okta id.
    pub id: String,
    /// `profile.managerId`, when set.
    pub manager_id: Option<String>,
    /// The user has a top-level `groups`, `applications` or `manager` of its own.
    clash: bool,
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListedProfile {
    #[serde(default)]
    login: Option<Value>,
    #[serde(default)]
    email: Option<Value>,
    #[serde(default)]
    first_name: Option<Value>,
    #[serde(default)]
    last_name: Option<Value>,
    #[serde(default)]
    display_name: Option<Value>,
    #[serde(default)]
    manager_id: Option<Value>,
}

impl SlimMember {
    /// The slim record of a full Okta user object (copies only the kept fields).
    fn of(user: &Value) -> Self {
        use serde::Deserialize as _;
        Self::deserialize(user)
            .unwrap_or_else(|_| Self { id: id_of(user).to_string(), ..Self::default() })
    }
}

#[derive(Debug, Clone)]
struct UserRecord {
    id: Arc<str>,
    /// The slim member record without its keys and id (see [`encode_slim`]); empty while the
    /// user is known only from an app assignment (no member page or listing has shown it yet).
    slim: Box<str>,
}

/// The fields of a slim member record after its id, in the order its JSON has them.
const SLIM_FIELDS: [&str; 6] = ["status", "login", "email", "firstName", "lastName", "displayName"];

/// A slim member record as kept in the index: the JSON text of each of [`SLIM_FIELDS`]' values,
/// separated by newlines (compact JSON has none), empty where the profile has no such field.
/// Without its keys and its id (kept beside it) a record is about half the size of its JSON,
/// which is some 10 MB across 100,000 users.
fn encode_slim(m: &SlimMember) -> String {
    let p = &m.profile;
    let mut out = m.status.to_string();
    for v in [&p.login, &p.email, &p.first_name, &p.last_name, &p.display_name] {
        out.push('\n');
        if let Some(v) = v {
            out.push_str(&v.to_string());
        }
    }
    out
}

/// The JSON text of field `n` of an encoded slim record (see [`SLIM_FIELDS`]), if present.
fn slim_field(slim: &str, n: usize) -> Option<&str> {
    slim.split('\n').nth(n).filter(|f| !f.is_empty())
}

/// Appends `id` as a JSON string.
fn push_json_str(out: &mut String, id: &str) {
    if id.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
        out.push('"');
        out.push_str(id);
        out.push('"');
    } else {
        out.push_str(&Value::from(id).to_string());
    }
}

/// Appends the slim member record of user `id` as JSON, exactly as serializing the
/// [`SlimMember`] it was encoded from would write it.
fn push_slim_json(out: &mut String, id: &str, slim: &str) {
    out.push_str("{\"id\":");
    push_json_str(out, id);
    let mut fields = slim.split('\n');
    out.push_str(",\"status\":");
    out.push_str(fields.next().filter(|f| !f.is_empty()).unwrap_or("null"));
    out.push_str(",\"profile\":{");
    let mut first = true;
    for (name, text) in SLIM_FIELDS[1..].iter().zip(fields) {
        if text.is_empty() {
            continue;
        }
        if !first {
            out.push(',');
        }
        first = false;
        out.push('"');
        out.push_str(name);
        out.push_str("\":");
        out.push_str(text);
    }
    out.push_str("}}");
}

impl MembershipIndex {
    /// Reads groups (always), members and app assignments (as planned) from Okta.
    pub async fn fetch(client: &OktaClient, plan: IndexPlan) -> Result<Self, OktaError> {
        let mut index = Self::default();
        let mut pager = client.groups();
        while let Some(page) = pager.next_page().await? {
            for g in page {
                index.group_ids.push(Box::from(id_of(&g)));
                index.groups.push(g.to_string().into_boxed_str());
            }
        }
        if index.groups.is_empty() {
            // Every Okta org has the built-in Everyone group: an empty listing is a lie.
            return Err(OktaError::Incomplete {
                path: "/api/v1/groups".into(),
                page: 1,
                problem: "is empty, but every Okta org has the built-in Everyone group".into(),
            });
        }
        index.group_members = vec![Vec::new(); index.groups.len()];
        index.gone_groups = vec![false; index.groups.len()];
        if plan.members {
            let ids: Vec<String> = index.group_ids.iter().map(|g| g.to_string()).collect();
            let mut members = std::mem::take(&mut index.group_members);
            let pager = |c: &OktaClient, id: &str| c.group_members::<SlimMember>(id);
            let gone = fan_out(client, ids, plan.concurrency, pager, |gi, page| {
                members[gi].extend(page.into_iter().map(|m| index.intern_member(m)));
            })
            .await?;
            // A group deleted mid-run has no members and no item: its entity goes stale, and is
            // deleted once a direct read confirms it is gone.
            for gi in gone {
                members[gi].clear();
                index.gone_groups[gi] = true;
                tracing::info!(
                    group = index.group_id(gi),
                    "group deleted while listing its members"
                );
            }
            index.group_members = members;
        }
        if plan.applications {
            let mut apps = client.apps();
            while let Some(page) = apps.next_page().await? {
                index.apps.extend(page);
            }
            let ids: Vec<String> = index.apps.iter().map(|a| id_of(a).to_string()).collect();
            let pager = |c: &OktaClient, id: &str| c.app_users::<SlimMember>(id);
            let mut edges = Vec::new();
            let gone = fan_out(client, ids, plan.concurrency, pager, |ai, page| {
                for u in page {
                    edges.push((index.intern_id(&u.id), ai as u32));
                }
            })
            .await?;
            // Pages of different apps arrive in any order: rows are sorted, so each user's apps
            // are in app-listing order. An app deleted mid-run assigns nobody.
            edges.retain(|(_, a)| !gone.contains(&(*a as usize)));
            index.user_apps = Adjacency::build(index.users.len(), edges);
            index.app_link_heads = index.apps.iter().map(app_link_head).collect();
        }
        index.index_groups();
        Ok(index)
    }

    /// Builds each user's groups from the groups' members.
    fn index_groups(&mut self) {
        let edges = self
            .group_members
            .iter()
            .enumerate()
            .flat_map(|(gi, m)| m.iter().map(move |&u| (u, gi as u32)))
            .collect();
        self.user_groups = Adjacency::build(self.users.len(), edges);
        for m in &mut self.group_members {
            m.shrink_to_fit();
        }
        self.users.shrink_to_fit();
    }

    fn intern_id(&mut self, id: &str) -> u32 {
        if let Some(&i) = self.user_ids.get(id) {
            return i;
        }
        let i = self.users.len() as u32;
        let id: Arc<str> = Arc::from(id);
        self.user_ids.insert(id.clone(), i);
        self.users.push(UserRecord { id, slim: Box::from("") });
        i
    }

    /// Records a user seen as a group member (or in the user listing) and returns its index.
    fn intern_member(&mut self, m: SlimMember) -> u32 {
        let i = self.intern_id(&m.id);
        if self.users[i as usize].slim.is_empty() {
            for name in [&m.profile.login, &m.profile.email] {
                if let Some(name) = name.as_ref().and_then(Value::as_str) {
                    self.by_name.entry(name_key(name)).or_insert(i);
                }
            }
            self.users[i as usize].slim = encode_slim(&m).into_boxed_str();
        }
        i
    }

    /// Learns a user from the user listing, so managers can be resolved by login or email.
    pub fn learn_user(&mut self, user: &Value) {
        self.intern_member(SlimMember::of(user));
    }

    /// Learns a listed user from its JSON text; returns its id and `profile.managerId`.
    pub fn learn_user_json(&mut self, raw: &str) -> Result<ListedUser, serde_json::Error> {
        let listed: Listed = serde_json::from_str(raw)?;
        let clash =
            listed.groups.is_some() || listed.applications.is_some() || listed.manager.is_some();
        let id = listed.id.clone();
        let p = listed.profile;
        let manager_id = match p.manager_id {
            Some(Value::String(m)) if !m.is_empty() => Some(m),
            _ => None,
        };
        self.intern_member(SlimMember {
            id: listed.id,
            status: listed.status,
            profile: SlimProfile {
                login: p.login,
                email: p.email,
                first_name: p.first_name,
                last_name: p.last_name,
                display_name: p.display_name,
            },
        });
        Ok(ListedUser { id, manager_id, clash })
    }

    /// A user item as JSON text, from the user's listed text: the same item as
    /// [`Self::user_item`], built without parsing the user or any of its groups (their text is
    /// spliced in), so the mapping parses only what it reads.
    pub fn user_item_json(
        &self,
        raw: &str,
        user: &ListedUser,
        groups: bool,
        applications: bool,
    ) -> String {
        let (id, manager_id) = (user.id.as_str(), user.manager_id.as_deref());
        let body = raw.trim_end().strip_suffix('}');
        let Some(body) = body.filter(|_| !user.clash) else {
            let user: Value = serde_json::from_str(raw).unwrap_or(Value::Null);
            return self.user_item(user, groups, applications).to_string();
        };
        let index = self.user_ids.get(id).map(|&i| i as usize);
        let mut out = String::with_capacity(raw.len() + 1024);
        out.push_str(body);
        let mut sep = if body.trim_end().ends_with('{') { "" } else { "," };
        if groups {
            out.push_str(sep);
            out.push_str("\"groups\":[");
            for (n, &g) in index.map_or(&[][..], |i| self.user_groups.of(i)).iter().enumerate() {
                if n > 0 {
                    out.push(',');
                }
                out.push_str(&self.groups[g as usize]);
            }
            out.push(']');
            sep = ",";
        }
        if applications {
            out.push_str(sep);
            out.push_str("\"applications\":[");
            for (n, &a) in index.map_or(&[][..], |i| self.user_apps.of(i)).iter().enumerate() {
                if n > 0 {
                    out.push(',');
                }
                match self.app_link_heads.get(a as usize) {
                    Some(head) => {
                        out.push_str(head);
                        out.push_str(&n.to_string());
                        out.push('}');
                    }
                    None => out.push_str(&app_link(&self.apps[a as usize], n).to_string()),
                }
            }
            out.push(']');
            sep = ",";
        }
        out.push_str(sep);
        out.push_str("\"manager\":");
        match manager_id.and_then(|m| self.manager_index(m)) {
            Some(i) => out.push_str(&self.manager_json(i)),
            None => out.push_str("null"),
        }
        out.push('}');
        out
    }

    /// Resolves a `managerId` value: an Okta user id, else a login, else an email.
    pub fn resolve_manager(&self, manager_id: &str) -> Option<Value> {
        let i = self.manager_index(manager_id)?;
        serde_json::from_str(&self.manager_json(i)).ok()
    }

    /// The user a `managerId` names: by Okta id, else by login, else by email.
    fn manager_index(&self, manager_id: &str) -> Option<u32> {
        // A user known only from an app assignment has no record yet: not resolved (the user
        // naming it waits until the listing has reached it).
        let known = |i: &u32| !self.users[*i as usize].slim.is_empty();
        self.user_ids.get(manager_id).copied().filter(known).or_else(|| {
            let i = *self.by_name.get(&name_key(manager_id))?;
            self.has_name(i, manager_id).then_some(i)
        })
    }

    /// User `i` as a manager reference (see [`manager_ref`]), as JSON text.
    fn manager_json(&self, i: u32) -> String {
        let rec = &self.users[i as usize];
        let mut out = String::with_capacity(96);
        out.push_str("{\"id\":");
        push_json_str(&mut out, &rec.id);
        out.push_str(",\"login\":");
        out.push_str(slim_field(&rec.slim, 1).unwrap_or("null"));
        out.push_str(",\"email\":");
        out.push_str(slim_field(&rec.slim, 2).unwrap_or("null"));
        out.push('}');
        out
    }

    /// Whether user `i`'s login or email is `name` (case-insensitively).
    fn has_name(&self, i: u32, name: &str) -> bool {
        let slim = &self.users[i as usize].slim;
        [1, 2]
            .into_iter()
            .filter_map(|n| serde_json::from_str::<Value>(slim_field(slim, n)?).ok())
            .any(|v| v.as_str().is_some_and(|n| n.to_lowercase() == name.to_lowercase()))
    }

    /// How many groups the org has.
    pub fn group_count(&self) -> usize {
        self.groups.len()
    }

    /// Whether the group at `group_index` was deleted while the index was read (no item).
    pub fn group_gone(&self, group_index: usize) -> bool {
        self.gone_groups.get(group_index).copied().unwrap_or(false)
    }

    /// The id of the group at `group_index`.
    pub fn group_id(&self, group_index: usize) -> &str {
        self.group_ids.get(group_index).map_or("", |id| id)
    }

    /// The Okta group object at `group_index`.
    pub fn group(&self, group_index: usize) -> Value {
        serde_json::from_str(&self.groups[group_index]).unwrap_or(Value::Null)
    }

    /// The user's groups as full Okta group objects.
    pub fn groups_of(&self, user_id: &str) -> Vec<Value> {
        self.user_ids.get(user_id).map_or_else(Vec::new, |&i| {
            self.user_groups.of(i as usize).iter().map(|&g| self.group(g as usize)).collect()
        })
    }

    /// The user's apps shaped as Okta app links (`GET /users/{id}/appLinks`).
    pub fn app_links(&self, user_id: &str) -> Vec<Value> {
        let Some(&i) = self.user_ids.get(user_id) else { return Vec::new() };
        self.user_apps
            .of(i as usize)
            .iter()
            .enumerate()
            .map(|(n, &a)| app_link(&self.apps[a as usize], n))
            .collect()
    }

    /// The group's members as slim user records.
    pub fn members_of(&self, group_index: usize) -> Vec<Value> {
        self.group_members.get(group_index).map_or_else(Vec::new, |m| {
            m.iter()
                .map(|&u| {
                    let rec = &self.users[u as usize];
                    if rec.slim.is_empty() {
                        return json!({ "id": &*rec.id });
                    }
                    let mut text = String::with_capacity(rec.slim.len() + 96);
                    push_slim_json(&mut text, &rec.id, &rec.slim);
                    serde_json::from_str(&text).unwrap_or_else(|_| json!({ "id": &*rec.id }))
                })
                .collect()
        })
    }

    /// Membership edges (group, user) in the index.
    pub fn membership_count(&self) -> usize {
        self.group_members.iter().map(Vec::len).sum()
    }

    /// A user item: the Okta user plus `groups`, `applications` and `manager`, as configured.
    pub fn user_item(&self, user: Value, groups: bool, applications: bool) -> Value {
        let id = id_of(&user).to_string();
        let manager = manager_id(&user)
            .map(|m| self.resolve_manager(m).unwrap_or(Value::Null))
            .unwrap_or(Value::Null);
        let groups = groups.then(|| self.groups_of(&id));
        let applications = applications.then(|| self.app_links(&id));
        assemble_user_item(user, groups, applications, manager)
    }

    /// True when `managerId` is set on `user` but does not resolve (yet).
    pub fn manager_unresolved(&self, user: &Value) -> bool {
        manager_id(user).is_some_and(|m| self.manager_unresolved_id(m))
    }

    /// True when the `managerId` value `m` names no user known (yet).
    pub fn manager_unresolved_id(&self, m: &str) -> bool {
        self.manager_index(m).is_none()
    }

    /// A group item as JSON text, built from the stored member records without materialising
    /// them as values (the Everyone group of a large org has every user as a member); the
    /// mapping then parses only what it reads. `members` says how much of each member the text
    /// carries (see [`MemberFields`]).
    pub fn group_item_json(&self, group_index: usize, members: MemberFields) -> String {
        self.group_item_json_within(group_index, members, usize::MAX).unwrap_or_default()
    }

    /// [`Self::group_item_json`] when its text is at most `max_len` bytes, else `None` (without
    /// building more than `max_len` bytes: the Everyone group's full text can be tens of MB).
    pub fn group_item_json_within(
        &self,
        group_index: usize,
        members: MemberFields,
        max_len: usize,
    ) -> Option<String> {
        let text = &self.groups[group_index];
        let has_users =
            text.contains("\"users\":") && self.group(group_index).get("users").is_some();
        let Some(body) = text.strip_suffix('}').filter(|_| !has_users) else {
            let item = self.group_item(group_index).to_string();
            return (item.len() <= max_len).then_some(item);
        };
        if members == MemberFields::Unread {
            return (text.len() <= max_len).then(|| text.to_string());
        }
        let ids = &self.group_members[group_index];
        let per_member = if members == MemberFields::Ids { 32 } else { 192 };
        let guess = text.len() + ids.len() * per_member + 16;
        let mut out = String::with_capacity(guess.min(max_len.saturating_add(1)));
        out.push_str(body);
        out.push_str(if body.ends_with('{') { "\"users\":[" } else { ",\"users\":[" });
        for (n, &u) in ids.iter().enumerate() {
            if n > 0 {
                out.push(',');
            }
            let rec = &self.users[u as usize];
            if rec.slim.is_empty() || members == MemberFields::Ids {
                out.push_str("{\"id\":");
                push_json_str(&mut out, &rec.id);
                out.push('}');
            } else {
                push_slim_json(&mut out, &rec.id, &rec.slim);
            }
            if out.len() > max_len {
                return None;
            }
        }
        out.push_str("]}");
        (out.len() <= max_len).then_some(out)
    }

    /// A group item: the Okta group plus its members as `users`.
    pub fn group_item(&self, group_index: usize) -> Value {
        assemble_group_item(self.group(group_index), self.members_of(group_index))
    }
}

/// A user's `profile.managerId`, when set.
pub fn manager_id(user: &Value) -> Option<&str> {
    user.pointer("/profile/managerId").and_then(Value::as_str).filter(|m| !m.is_empty())
}

/// The manager as a user item carries it: `{"id", "login", "email"}` of the manager's user.
pub fn manager_ref(manager: &Value) -> Value {
    json!({
        "id": id_of(manager),
        "login": manager.pointer("/profile/login").cloned().unwrap_or(Value::Null),
        "email": manager.pointer("/profile/email").cloned().unwrap_or(Value::Null),
    })
}

/// A user item: `user` plus `groups` and `applications` (when asked for) and `manager` — the
/// one shape the resync and live events both give the mapping.
pub fn assemble_user_item(
    mut user: Value,
    groups: Option<Vec<Value>>,
    applications: Option<Vec<Value>>,
    manager: Value,
) -> Value {
    if let Value::Object(obj) = &mut user {
        if let Some(groups) = groups {
            obj.insert("groups".into(), Value::Array(groups));
        }
        if let Some(applications) = applications {
            obj.insert("applications".into(), Value::Array(applications));
        }
        obj.insert("manager".into(), manager);
    }
    user
}

/// A group item: the Okta group plus its members as slim user records (`users`).
pub fn assemble_group_item(mut group: Value, members: Vec<Value>) -> Value {
    if let Value::Object(obj) = &mut group {
        obj.insert("users".into(), Value::Array(members));
    }
    group
}

/// A member as group items carry it: `{"id","status","profile":{"login","email","firstName",
/// "lastName","displayName"}}` (only what the user has).
pub fn slim_member(user: &Value) -> Value {
    serde_json::to_value(SlimMember::of(user)).unwrap_or_else(|_| json!({ "id": id_of(user) }))
}

/// [`app_link`]'s JSON text up to its `sortOrder` value (`sortOrder` is its last key).
fn app_link_head(app: &Value) -> Box<str> {
    let mut link = app_link(app, 0);
    if let Some(o) = link.as_object_mut() {
        o.shift_remove("sortOrder");
    }
    let text = link.to_string();
    let body = text.strip_suffix('}').unwrap_or(&text);
    let sep = if body.ends_with('{') { "" } else { "," };
    format!("{body}{sep}\"sortOrder\":").into_boxed_str()
}

/// An app link as `GET /users/{id}/appLinks` returns it, built from the app object.
pub fn app_link(app: &Value, sort_order: usize) -> Value {
    let link = app.pointer("/_links/appLinks/0/href").cloned().unwrap_or(Value::Null);
    let logo = app.pointer("/_links/logo/0/href").cloned().unwrap_or(Value::Null);
    json!({
        "id": id_of(app),
        "label": app.get("label").cloned().unwrap_or(Value::Null),
        "linkUrl": link,
        "logoUrl": logo,
        "appName": app.get("name").cloned().unwrap_or(Value::Null),
        "appInstanceId": id_of(app),
        "appAssignmentId": Value::Null,
        "credentialsSetup": false,
        "hidden": false,
        "sortOrder": sort_order,
    })
}

/// The `id` of an Okta object, or "".
pub fn id_of(v: &Value) -> &str {
    v.get("id").and_then(Value::as_str).unwrap_or("")
}

/// What a listing task reports.
enum Msg<T> {
    /// A page of listing `i`.
    Page(usize, Vec<T>),
    /// Listing `i` finished.
    Done(usize, Result<(), OktaError>),
}

/// Lists `pager_of(id)` for every id with at most `concurrency` listings at once, handing each
/// page to `sink` with the id's position as soon as it arrives, so memory holds a few pages, not
/// every listing. A listing that answers 404 (its object was deleted mid-run) is reported in
/// the returned positions; any other error stops the rest, and so does a listing task that
/// panics (an error, never a hang).
async fn fan_out<T: serde::de::DeserializeOwned + Send + 'static>(
    client: &OktaClient,
    ids: Vec<String>,
    concurrency: usize,
    pager_of: impl Fn(&OktaClient, &str) -> super::Pager<T>,
    mut sink: impl FnMut(usize, Vec<T>),
) -> Result<Vec<usize>, OktaError> {
    let concurrency = concurrency.max(1);
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Msg<T>>(concurrency * 2);
    let mut tasks = tokio::task::JoinSet::new();
    let mut queue = ids.into_iter().enumerate();
    let mut running = 0usize;
    let mut gone = Vec::new();
    loop {
        while running < concurrency {
            let Some((i, id)) = queue.next() else { break };
            let (tx, mut pager) = (tx.clone(), pager_of(client, &id));
            running += 1;
            tasks.spawn(async move {
                let result = async {
                    while let Some(page) = pager.next_page().await? {
                        if tx.send(Msg::Page(i, page)).await.is_err() {
                            break;
                        }
                    }
                    Ok(())
                }
                .await;
                let _ = tx.send(Msg::Done(i, result)).await;
            });
        }
        if running == 0 {
            return Ok(gone);
        }
        let msg = tokio::select! {
            msg = rx.recv() => msg,
            Some(Err(e)) = tasks.join_next() => {
                tasks.abort_all();
                return Err(OktaError::Task(format!("a listing task failed: {e}")));
            }
        };
        match msg {
            Some(Msg::Page(i, page)) => sink(i, page),
            Some(Msg::Done(_, Ok(()))) => running -= 1,
            Some(Msg::Done(i, Err(e))) if e.status() == Some(404) => {
                running -= 1;
                gone.push(i);
            }
            Some(Msg::Done(_, Err(e))) => {
                tasks.abort_all();
                return Err(e);
            }
            None => return Ok(gone),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(id: &str, login: &str, manager: Option<&str>) -> Value {
        json!({"id": id, "status": "ACTIVE", "profile": {"login": login, "email": login, "managerId": manager}})
    }

    #[test]
    fn compact_member_records_read_back_as_the_json_they_were_made_from() {
        let users = [
            json!({"id": "00ua", "status": "ACTIVE", "profile": {"login": "a@x.io", "email": "a@x.io",
                   "firstName": "Ann", "lastName": "Lee", "displayName": "Ann \"AL\" Lee\n", "title": "x"}}),
            json!({"id": "00u\"b", "profile": {"email": null, "lastName": 7, "firstName": {"k": [1.0]}}}),
            json!({"id": "00uc", "status": "SUSPENDED", "profile": {}}),
            json!({"id": "00ud", "status": 1e3}),
            json!({"id": "00ué"}),
        ];
        for user in users {
            let m = SlimMember::of(&user);
            let mut text = String::new();
            push_slim_json(&mut text, &m.id, &encode_slim(&m));
            assert_eq!(text, serde_json::to_string(&m).unwrap(), "{user}");
            assert_eq!(serde_json::from_str::<Value>(&text).unwrap(), slim_member(&user));
        }
    }

    #[test]
    fn a_manager_known_only_from_an_app_assignment_is_unresolved_until_listed() {
        let mut ix = MembershipIndex::default();
        ix.intern_id("00um");
        assert!(ix.manager_unresolved_id("00um"), "no login or email to refer by yet");
        assert!(ix.resolve_manager("00um").is_none());
        ix.learn_user(&user("00um", "m@x.io", None));
        assert!(!ix.manager_unresolved_id("00um"));
        assert_eq!(ix.resolve_manager("00um").unwrap()["login"], "m@x.io");
    }

    #[test]
    fn inverts_memberships_and_resolves_managers_by_id_login_and_email() {
        let groups = [json!({"id": "00g1", "profile": {"name": "a"}}), json!({"id": "00g2"})];
        let mut ix = MembershipIndex {
            groups: groups.iter().map(|g| g.to_string().into_boxed_str()).collect(),
            group_ids: vec![Box::from("00g1"), Box::from("00g2")],
            ..Default::default()
        };
        ix.group_members = vec![Vec::new(), Vec::new()];
        let a = ix.intern_member(SlimMember::of(&user("00ua", "a@x.io", None)));
        let b = ix.intern_member(SlimMember::of(&user("00ub", "B@x.io", None)));
        ix.group_members[0] = vec![a, b];
        ix.group_members[1] = vec![b];
        ix.index_groups();
        ix.apps = vec![
            json!({"id": "0oa1", "label": "Wiki", "name": "wiki", "_links": {"appLinks": [{"href": "https://x/w"}]}}),
            json!({"id": "0oa2", "label": "Chat", "name": "chat"}),
        ];
        ix.user_apps = Adjacency::build(ix.users.len(), vec![(b, 1), (b, 0), (a, 1)]);
        ix.app_link_heads = ix.apps.iter().map(app_link_head).collect();
        // The text item is the value item.
        for (raw, groups, apps) in [
            (user("00ub", "B@x.io", Some("a@x.io")).to_string(), true, false),
            (user("00ub", "B@x.io", None).to_string(), true, true),
            (json!({"id": "00ub", "groups": "clash"}).to_string(), true, true),
            (
                json!({"id": "00ub", "profile": {"manager": "Ada", "managerId": "a@x.io"}})
                    .to_string(),
                true,
                true,
            ),
            (json!({"id": "00ub", "manager": {"x": 1}}).to_string(), false, false),
            (" { } ".to_string(), false, false),
        ] {
            let listed = ix.learn_user_json(&raw).unwrap();
            let text = ix.user_item_json(&raw, &listed, groups, apps);
            let value = ix.user_item(serde_json::from_str(&raw).unwrap(), groups, apps);
            assert_eq!(serde_json::from_str::<Value>(&text).unwrap(), value, "{raw}");
        }
        let item = ix.user_item(user("00ub", "B@x.io", Some("a@x.io")), true, false);
        let groups: Vec<&str> = item["groups"].as_array().unwrap().iter().map(id_of).collect();
        assert_eq!(groups, ["00g1", "00g2"]);
        assert_eq!(item["manager"]["id"], "00ua");
        assert!(item.get("applications").is_none());
        assert_eq!(ix.resolve_manager("b@X.io").unwrap()["id"], "00ub");
        assert_eq!(ix.resolve_manager("00ua").unwrap()["id"], "00ua");
        assert!(ix.resolve_manager("nobody").is_none());
        let g = ix.group_item(0);
        let from_text: Value =
            serde_json::from_str(&ix.group_item_json(0, MemberFields::All)).unwrap();
        assert_eq!(from_text, g, "the text form is the same item");
        let full = ix.group_item_json(0, MemberFields::All);
        let within = |max| ix.group_item_json_within(0, MemberFields::All, max);
        assert_eq!(within(full.len()).as_deref(), Some(&*full), "a text that fits is whole");
        assert_eq!(within(full.len() - 1), None, "one byte over the limit gives nothing");
        assert_eq!(within(40), None, "a limit inside the members stops early");
        let ids: Value = serde_json::from_str(&ix.group_item_json(0, MemberFields::Ids)).unwrap();
        assert_eq!(ids["users"], json!([{"id": "00ua"}, {"id": "00ub"}]));
        assert_eq!(ids["profile"], g["profile"]);
        let unread: Value =
            serde_json::from_str(&ix.group_item_json(0, MemberFields::Unread)).unwrap();
        assert_eq!(unread, ix.group(0), "no users key when the mapping reads none");
        let members: Vec<&str> = g["users"].as_array().unwrap().iter().map(id_of).collect();
        assert_eq!(members, ["00ua", "00ub"]);
        assert_eq!(g["users"][1]["profile"]["login"], "B@x.io");
    }

    /// A type whose deserialization panics: the listing task reading it dies.
    #[derive(Debug)]
    struct Boom;

    impl<'de> serde::Deserialize<'de> for Boom {
        fn deserialize<D: serde::Deserializer<'de>>(_: D) -> Result<Self, D::Error> {
            panic!("boom")
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_panicking_listing_task_is_an_error_not_a_hang() {
        let cfg =
            okta_sim::SimConfig { users: 20, groups: 4, token: "t".into(), ..Default::default() };
        let sim = okta_sim::spawn(cfg, "127.0.0.1:0".parse().unwrap()).await.unwrap();
        let client =
            OktaClient::new(&sim.base_url(), crate::secret::Secret::new("t"), Default::default())
                .unwrap();
        let ids: Vec<String> = sim.export()["groups"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| id_of(g).to_string())
            .collect();
        let pager = |c: &OktaClient, id: &str| c.group_members::<Boom>(id);
        let listed = fan_out(&client, ids, 2, pager, |_, _| {});
        // The bound only guards the test against the hang it checks for.
        let result = tokio::time::timeout(std::time::Duration::from_secs(60), listed).await;
        sim.shutdown().await;
        match result {
            Ok(Err(OktaError::Task(why))) => assert!(why.contains("panic"), "{why}"),
            other => panic!("expected a task error, got {other:?}"),
        }
    }
}
