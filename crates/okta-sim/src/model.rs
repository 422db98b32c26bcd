//! The simulator's own in-memory directory and its wire forms. Nothing here is shared with the
//! client crate: the simulator models Okta from the spec, so both sides can't agree on a mistake.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, OnceLock};

use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::util::{ApiError, ApiResult, fmt_ms, okta_id, parse_ts};

/// The eight user statuses Okta reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum UserStatus {
    Staged,
    Provisioned,
    Active,
    Recovery,
    LockedOut,
    PasswordExpired,
    Suspended,
    Deprovisioned,
}

impl UserStatus {
    pub(crate) const ALL: [UserStatus; 8] = [
        UserStatus::Staged,
        UserStatus::Provisioned,
        UserStatus::Active,
        UserStatus::Recovery,
        UserStatus::LockedOut,
        UserStatus::PasswordExpired,
        UserStatus::Suspended,
        UserStatus::Deprovisioned,
    ];
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            UserStatus::Staged => "STAGED",
            UserStatus::Provisioned => "PROVISIONED",
            UserStatus::Active => "ACTIVE",
            UserStatus::Recovery => "RECOVERY",
            UserStatus::LockedOut => "LOCKED_OUT",
            UserStatus::PasswordExpired => "PASSWORD_EXPIRED",
            UserStatus::Suspended => "SUSPENDED",
            UserStatus::Deprovisioned => "DEPROVISIONED",
        }
    }
    pub(crate) fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

/// A user record.
#[derive(Debug)]
pub(crate) struct User {
    pub id: String,
    pub status: UserStatus,
    pub created: i64,
    pub activated: Option<i64>,
    pub status_changed: Option<i64>,
    pub last_login: Option<i64>,
    pub last_updated: i64,
    pub password_changed: Option<i64>,
    pub type_id: String,
    pub profile: Map<String, Value>,
    pub provider_type: String,
    pub provider_name: String,
    pub has_password: bool,
    pub recovery_question: Option<String>,
    /// Serialized collection form (`_links.self` only), filled lazily, reset on mutation.
    pub cache: OnceLock<Arc<str>>,
}

impl User {
    pub(crate) fn login(&self) -> &str {
        self.profile.get("login").and_then(Value::as_str).unwrap_or("")
    }
    pub(crate) fn display_name(&self) -> String {
        let f = self.profile.get("firstName").and_then(Value::as_str).unwrap_or("");
        let l = self.profile.get("lastName").and_then(Value::as_str).unwrap_or("");
        format!("{f} {l}").trim().to_owned()
    }
    pub(crate) fn touch(&mut self, now: i64) {
        self.last_updated = now;
        self.cache = OnceLock::new();
    }
    pub(crate) fn set_status(&mut self, s: UserStatus, now: i64) {
        self.status = s;
        self.status_changed = Some(now);
        self.touch(now);
    }
    /// Top-level attribute as a JSON value (for search/filter).
    pub(crate) fn attr(&self, path: &str) -> Option<Value> {
        let ts = |v: Option<i64>| v.map(|t| Value::String(fmt_ms(t)));
        match path {
            "id" => Some(Value::String(self.id.clone())),
            "status" => Some(Value::String(self.status.as_str().into())),
            "created" => ts(Some(self.created)),
            "activated" => ts(self.activated),
            "statusChanged" => ts(self.status_changed),
            "lastLogin" => ts(self.last_login),
            "lastUpdated" => ts(Some(self.last_updated)),
            "passwordChanged" => ts(self.password_changed),
            "type.id" => Some(Value::String(self.type_id.clone())),
            p => p.strip_prefix("profile.").and_then(|k| self.profile.get(k)).cloned(),
        }
    }
}

/// How a user is rendered.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct UserView {
    /// Single-object GET: adds lifecycle links.
    pub full_links: bool,
    /// `okta-response=omitCredentials`.
    pub omit_credentials: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct UserOut<'a> {
    id: &'a str,
    status: &'a str,
    created: String,
    activated: Option<String>,
    status_changed: Option<String>,
    last_login: Option<String>,
    last_updated: String,
    password_changed: Option<String>,
    #[serde(rename = "type")]
    type_: Value,
    profile: &'a Map<String, Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    credentials: Option<Value>,
    #[serde(rename = "_links")]
    links: Value,
}

pub(crate) fn user_links(u: &User, base: &str, full: bool) -> Value {
    let href = format!("{base}/api/v1/users/{}", u.id);
    let mut l = Map::new();
    if full {
        let post = |op: &str| json!({"href": format!("{href}/lifecycle/{op}"), "method": "POST"});
        let ops: &[&str] = match u.status {
            UserStatus::Staged => &["activate", "deactivate"],
            UserStatus::Provisioned => &["reactivate", "deactivate"],
            UserStatus::Active => &["suspend", "deactivate", "resetPassword", "expirePassword"],
            UserStatus::Recovery => &["reactivate", "deactivate", "resetPassword"],
            UserStatus::LockedOut => &["unlock", "deactivate", "resetPassword"],
            UserStatus::PasswordExpired => &["suspend", "deactivate", "resetPassword"],
            UserStatus::Suspended => &["unsuspend", "deactivate"],
            UserStatus::Deprovisioned => &["activate"],
        };
        for op in ops {
            l.insert((*op).to_owned(), post(op));
        }
        l.insert(
            "schema".into(),
            json!({"href": format!("{base}/api/v1/meta/schemas/user/osc{}", u.type_id.get(3..).unwrap_or(&u.type_id))}),
        );
        l.insert(
            "type".into(),
            json!({"href": format!("{base}/api/v1/meta/types/user/{}", u.type_id)}),
        );
    }
    l.insert("self".into(), json!({ "href": href }));
    Value::Object(l)
}

fn user_credentials(u: &User) -> Value {
    let mut c = Map::new();
    if u.has_password {
        c.insert("password".into(), json!({}));
    }
    if let Some(q) = &u.recovery_question {
        c.insert("recovery_question".into(), json!({ "question": q }));
    }
    c.insert("provider".into(), json!({"type": u.provider_type, "name": u.provider_name}));
    Value::Object(c)
}

/// Serializes a user to Okta's wire JSON.
pub(crate) fn user_to_string(u: &User, base: &str, view: UserView) -> String {
    let out = UserOut {
        id: &u.id,
        status: u.status.as_str(),
        created: fmt_ms(u.created),
        activated: u.activated.map(fmt_ms),
        status_changed: u.status_changed.map(fmt_ms),
        last_login: u.last_login.map(fmt_ms),
        last_updated: fmt_ms(u.last_updated),
        password_changed: u.password_changed.map(fmt_ms),
        type_: json!({ "id": u.type_id }),
        profile: &u.profile,
        credentials: (!view.omit_credentials).then(|| user_credentials(u)),
        links: user_links(u, base, view.full_links),
    };
    serde_json::to_string(&out).unwrap_or_else(|_| "{}".into())
}

/// The cached collection form of a user.
pub(crate) fn user_cached(u: &User, base: &str) -> Arc<str> {
    u.cache.get_or_init(|| user_to_string(u, base, UserView::default()).into()).clone()
}

/// Group types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum GroupType {
    Okta,
    App,
    BuiltIn,
}

impl GroupType {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            GroupType::Okta => "OKTA_GROUP",
            GroupType::App => "APP_GROUP",
            GroupType::BuiltIn => "BUILT_IN",
        }
    }
    pub(crate) fn parse(s: &str) -> Option<Self> {
        [GroupType::Okta, GroupType::App, GroupType::BuiltIn].into_iter().find(|t| t.as_str() == s)
    }
}

/// A group record.
#[derive(Debug)]
pub(crate) struct Group {
    pub id: String,
    pub created: i64,
    pub last_updated: i64,
    pub last_membership_updated: i64,
    pub object_class: Vec<String>,
    pub kind: GroupType,
    pub profile: Map<String, Value>,
    pub source_app: Option<String>,
    pub cache: OnceLock<Arc<str>>,
}

impl Group {
    pub(crate) fn name(&self) -> &str {
        self.profile.get("name").and_then(Value::as_str).unwrap_or("")
    }
    pub(crate) fn attr(&self, path: &str) -> Option<Value> {
        match path {
            "id" => Some(Value::String(self.id.clone())),
            "type" => Some(Value::String(self.kind.as_str().into())),
            "created" => Some(Value::String(fmt_ms(self.created))),
            "lastUpdated" => Some(Value::String(fmt_ms(self.last_updated))),
            "lastMembershipUpdated" => Some(Value::String(fmt_ms(self.last_membership_updated))),
            "source.id" => self.source_app.clone().map(Value::String),
            p => p.strip_prefix("profile.").and_then(|k| self.profile.get(k)).cloned(),
        }
    }
}

/// Serializes a group; `embedded` is the optional `_embedded` object (`expand=stats|app`).
pub(crate) fn group_json(g: &Group, base: &str, embedded: Option<Value>) -> Value {
    let href = format!("{base}/api/v1/groups/{}", g.id);
    let mut links = Map::new();
    links.insert(
        "logo".into(),
        json!([
            {"name": "medium", "href": format!("{base}/assets/img/logos/groups/odyssey/okta-medium.png"), "type": "image/png"},
            {"name": "large", "href": format!("{base}/assets/img/logos/groups/odyssey/okta-large.png"), "type": "image/png"}
        ]),
    );
    if let Some(app) = &g.source_app {
        links.insert("source".into(), json!({"href": format!("{base}/api/v1/apps/{app}")}));
    }
    links.insert("users".into(), json!({"href": format!("{href}/users")}));
    links.insert("apps".into(), json!({"href": format!("{href}/apps")}));
    let mut o = Map::new();
    o.insert("id".into(), json!(g.id));
    o.insert("created".into(), json!(fmt_ms(g.created)));
    o.insert("lastUpdated".into(), json!(fmt_ms(g.last_updated)));
    o.insert("lastMembershipUpdated".into(), json!(fmt_ms(g.last_membership_updated)));
    o.insert("objectClass".into(), json!(g.object_class));
    o.insert("type".into(), json!(g.kind.as_str()));
    o.insert("profile".into(), Value::Object(g.profile.clone()));
    if let Some(e) = embedded {
        o.insert("_embedded".into(), e);
    }
    o.insert("_links".into(), Value::Object(links));
    Value::Object(o)
}

/// The cached plain form of a group.
pub(crate) fn group_cached(g: &Group, base: &str) -> Arc<str> {
    g.cache.get_or_init(|| group_json(g, base, None).to_string().into()).clone()
}

/// An app record; `body` holds the wire object minus `id`/`status`/`_links`.
#[derive(Debug)]
pub(crate) struct App {
    pub id: String,
    pub seq: u64,
    pub status: String,
    pub body: Map<String, Value>,
}

impl App {
    pub(crate) fn name(&self) -> &str {
        self.body.get("name").and_then(Value::as_str).unwrap_or("")
    }
    pub(crate) fn label(&self) -> &str {
        self.body.get("label").and_then(Value::as_str).unwrap_or("")
    }
}

pub(crate) fn app_json(a: &App, base: &str) -> Value {
    let href = format!("{base}/api/v1/apps/{}", a.id);
    let mut o = Map::new();
    o.insert("id".into(), json!(a.id));
    o.insert("status".into(), json!(a.status));
    for (k, v) in &a.body {
        o.insert(k.clone(), v.clone());
    }
    o.insert(
        "_links".into(),
        json!({
            "appLinks": [{"name": a.name(), "href": format!("{base}/home/{}/{}/1", a.name(), a.id), "type": "text/html"}],
            "groups": {"href": format!("{href}/groups")},
            "users": {"href": format!("{href}/users")},
            "logo": [{"name": "medium", "href": format!("{base}/assets/img/logos/{}.png", a.name()), "type": "image/png"}],
            "deactivate": {"href": format!("{href}/lifecycle/deactivate")},
            "metadata": {"href": format!("{href}/sso/saml/metadata"), "type": "application/xml"}
        }),
    );
    Value::Object(o)
}

/// A user's assignment to an app.
#[derive(Debug, Clone)]
pub(crate) struct AppUser {
    pub assignment_id: String,
    /// `USER` (direct) or `GROUP` (through an assigned group).
    pub scope: &'static str,
    pub created: i64,
}

/// A group's assignment to an app.
#[derive(Debug, Clone)]
pub(crate) struct AppGroup {
    pub priority: u32,
    pub last_updated: i64,
}

/// Event hook channel and state.
#[derive(Debug, Clone)]
pub(crate) struct Hook {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    pub status: &'static str,
    pub verification_status: &'static str,
    pub items: Vec<String>,
    pub filter: Value,
    pub uri: String,
    pub version: String,
    pub headers: Vec<(String, String)>,
    pub auth: Option<(String, String)>,
    pub created: i64,
    pub created_by: String,
    pub last_updated: i64,
}

pub(crate) fn hook_json(h: &Hook, base: &str) -> Value {
    let href = format!("{base}/api/v1/eventHooks/{}", h.id);
    let mut config = json!({
        "uri": h.uri,
        "headers": h.headers.iter().map(|(k, v)| json!({"key": k, "value": v})).collect::<Vec<_>>(),
        "method": "POST",
    });
    if let Some((k, _)) = &h.auth {
        // authScheme.value is write-only: never echoed.
        config["authScheme"] = json!({"type": "HEADER", "key": k});
    } else {
        config["authScheme"] = Value::Null;
    }
    let mut links = json!({
        "self": {"href": href, "hints": {"allow": ["GET", "PUT", "DELETE"]}},
        "verify": {"href": format!("{href}/lifecycle/verify"), "hints": {"allow": ["POST"]}},
    });
    if h.status == "ACTIVE" {
        links["deactivate"] =
            json!({"href": format!("{href}/lifecycle/deactivate"), "hints": {"allow": ["POST"]}});
    } else {
        links["activate"] =
            json!({"href": format!("{href}/lifecycle/activate"), "hints": {"allow": ["POST"]}});
    }
    json!({
        "id": h.id,
        "status": h.status,
        "verificationStatus": h.verification_status,
        "name": h.name,
        "description": h.description,
        "created": fmt_ms(h.created),
        "createdBy": h.created_by,
        "lastUpdated": fmt_ms(h.last_updated),
        "events": {"type": "EVENT_TYPE", "items": h.items, "filter": h.filter},
        "channel": {"type": "HTTP", "version": h.version, "config": config},
        "_links": links,
    })
}

/// The whole directory.
#[derive(Debug)]
pub(crate) struct Org {
    pub users: BTreeMap<String, User>,
    /// Lower-cased login → id (logins are unique ignoring case).
    pub logins: HashMap<String, String>,
    pub groups: BTreeMap<String, Group>,
    pub members: HashMap<String, BTreeSet<String>>,
    pub user_groups: HashMap<String, BTreeSet<String>>,
    pub apps: BTreeMap<String, App>,
    pub app_order: BTreeMap<u64, String>,
    pub app_users: HashMap<String, BTreeMap<String, AppUser>>,
    pub user_apps: HashMap<String, BTreeSet<String>>,
    pub app_groups: HashMap<String, BTreeMap<String, AppGroup>>,
    pub group_apps: HashMap<String, BTreeSet<String>>,
    pub everyone_id: String,
    pub user_type_id: String,
    /// The admin behind the API token (actor of System Log events).
    pub admin_id: String,
    pub rng: fastrand::Rng,
}

/// Login normalisation for uniqueness: case-insensitive.
pub(crate) fn login_key(login: &str) -> String {
    login.to_lowercase()
}

impl Org {
    pub(crate) fn empty(seed: u64) -> Org {
        let mut rng = fastrand::Rng::with_seed(seed);
        let user_type_id = okta_id(&mut rng, "oty");
        let everyone_id = okta_id(&mut rng, "00g");
        let admin_id = okta_id(&mut rng, "00u");
        Org {
            users: BTreeMap::new(),
            logins: HashMap::new(),
            groups: BTreeMap::new(),
            members: HashMap::new(),
            user_groups: HashMap::new(),
            apps: BTreeMap::new(),
            app_order: BTreeMap::new(),
            app_users: HashMap::new(),
            user_apps: HashMap::new(),
            app_groups: HashMap::new(),
            group_apps: HashMap::new(),
            everyone_id,
            user_type_id,
            admin_id,
            rng,
        }
    }

    pub(crate) fn new_id(&mut self, prefix: &str) -> String {
        loop {
            let id = okta_id(&mut self.rng, prefix);
            let taken = match prefix {
                "00u" => self.users.contains_key(&id),
                "00g" => self.groups.contains_key(&id),
                "0oa" => self.apps.contains_key(&id),
                _ => false,
            };
            if !taken {
                return id;
            }
        }
    }

    pub(crate) fn insert_user(&mut self, u: User) {
        self.logins.insert(login_key(u.login()), u.id.clone());
        self.user_groups.entry(u.id.clone()).or_default();
        self.users.insert(u.id.clone(), u);
    }

    pub(crate) fn insert_group(&mut self, g: Group) {
        self.members.entry(g.id.clone()).or_default();
        self.groups.insert(g.id.clone(), g);
    }

    /// Adds a membership without touching timestamps; returns whether it was new.
    pub(crate) fn link_member(&mut self, gid: &str, uid: &str) -> bool {
        let added = self.members.entry(gid.to_owned()).or_default().insert(uid.to_owned());
        self.user_groups.entry(uid.to_owned()).or_default().insert(gid.to_owned());
        added
    }

    pub(crate) fn unlink_member(&mut self, gid: &str, uid: &str) -> bool {
        let removed = self.members.get_mut(gid).is_some_and(|m| m.remove(uid));
        if let Some(s) = self.user_groups.get_mut(uid) {
            s.remove(gid);
        }
        removed
    }

    pub(crate) fn assign_app_user(&mut self, app: &str, uid: &str, scope: &'static str, now: i64) {
        let id = okta_id(&mut self.rng, "0ua");
        let entry = self.app_users.entry(app.to_owned()).or_default();
        match entry.get_mut(uid) {
            Some(existing) => {
                if scope == "USER" {
                    existing.scope = "USER";
                }
            }
            None => {
                entry.insert(uid.to_owned(), AppUser { assignment_id: id, scope, created: now });
            }
        }
        self.user_apps.entry(uid.to_owned()).or_default().insert(app.to_owned());
    }

    pub(crate) fn unassign_app_user(&mut self, app: &str, uid: &str) {
        if let Some(m) = self.app_users.get_mut(app) {
            m.remove(uid);
        }
        if let Some(s) = self.user_apps.get_mut(uid) {
            s.remove(app);
        }
    }

    /// Keeps group-scoped app assignments in step after `uid` joined `gid`.
    pub(crate) fn on_member_added(&mut self, gid: &str, uid: &str, now: i64) {
        let apps: Vec<String> =
            self.group_apps.get(gid).map(|s| s.iter().cloned().collect()).unwrap_or_default();
        let active = self.users.get(uid).is_some_and(|u| u.status != UserStatus::Deprovisioned);
        if active {
            for a in apps {
                self.assign_app_user(&a, uid, "GROUP", now);
            }
        }
    }

    /// Drops group-scoped app assignments that no remaining group grants after `uid` left `gid`.
    pub(crate) fn on_member_removed(&mut self, gid: &str, uid: &str) {
        let apps: Vec<String> =
            self.group_apps.get(gid).map(|s| s.iter().cloned().collect()).unwrap_or_default();
        for a in apps {
            let is_group_scope =
                self.app_users.get(&a).and_then(|m| m.get(uid)).is_some_and(|x| x.scope == "GROUP");
            if !is_group_scope {
                continue;
            }
            let still = self.user_groups.get(uid).is_some_and(|gs| {
                gs.iter().any(|g| self.app_groups.get(&a).is_some_and(|ag| ag.contains_key(g)))
            });
            if !still {
                self.unassign_app_user(&a, uid);
            }
        }
    }

    pub(crate) fn user_ref(&self, id_or_login: &str) -> Option<&User> {
        self.users.get(id_or_login).or_else(|| {
            self.logins.get(&login_key(id_or_login)).and_then(|id| self.users.get(id)).or_else(
                || {
                    // Unambiguous login shortname (the part before '@').
                    let short = login_key(id_or_login);
                    let mut found = self
                        .users
                        .values()
                        .filter(|u| login_key(u.login()).split('@').next() == Some(short.as_str()));
                    let first = found.next();
                    if found.next().is_some() { None } else { first }
                },
            )
        })
    }

    pub(crate) fn user_id(&self, id_or_login: &str) -> ApiResult<String> {
        self.user_ref(id_or_login)
            .map(|u| u.id.clone())
            .ok_or_else(|| ApiError::not_found(id_or_login, "User"))
    }

    /// Removes a user and everything that refers to it.
    pub(crate) fn remove_user(&mut self, uid: &str) -> Option<User> {
        let u = self.users.remove(uid)?;
        self.logins.remove(&login_key(u.login()));
        for g in self.user_groups.remove(uid).unwrap_or_default() {
            if let Some(m) = self.members.get_mut(&g) {
                m.remove(uid);
            }
        }
        for a in self.user_apps.remove(uid).unwrap_or_default() {
            if let Some(m) = self.app_users.get_mut(&a) {
                m.remove(uid);
            }
        }
        Some(u)
    }

    pub(crate) fn remove_group(&mut self, gid: &str) -> Option<Group> {
        let g = self.groups.remove(gid)?;
        for uid in self.members.remove(gid).unwrap_or_default() {
            if let Some(s) = self.user_groups.get_mut(&uid) {
                s.remove(gid);
            }
        }
        for a in self.group_apps.remove(gid).unwrap_or_default() {
            if let Some(m) = self.app_groups.get_mut(&a) {
                m.remove(gid);
            }
        }
        Some(g)
    }

    /// The export document (see the crate docs for its shape).
    pub(crate) fn export(&self, base: &str) -> Value {
        let users: Vec<Value> = self
            .users
            .values()
            .map(|u| serde_json::from_str(&user_cached(u, base)).unwrap_or(Value::Null))
            .collect();
        let groups: Vec<Value> = self.groups.values().map(|g| group_json(g, base, None)).collect();
        let memberships: Map<String, Value> = self
            .groups
            .keys()
            .map(|g| {
                let m: Vec<Value> = self
                    .members
                    .get(g)
                    .map(|s| s.iter().map(|u| Value::String(u.clone())).collect())
                    .unwrap_or_default();
                (g.clone(), Value::Array(m))
            })
            .collect();
        let apps: Vec<Value> = self
            .app_order
            .values()
            .filter_map(|id| self.apps.get(id))
            .map(|a| app_json(a, base))
            .collect();
        let assignments: Map<String, Value> = self
            .app_order
            .values()
            .map(|a| {
                let m: Vec<Value> = self
                    .app_users
                    .get(a)
                    .map(|s| s.keys().map(|k| Value::String(k.clone())).collect())
                    .unwrap_or_default();
                (a.clone(), Value::Array(m))
            })
            .collect();
        let app_groups: Map<String, Value> = self
            .app_order
            .values()
            .map(|a| {
                let m: Vec<Value> = self
                    .app_groups
                    .get(a)
                    .map(|s| s.keys().map(|k| Value::String(k.clone())).collect())
                    .unwrap_or_default();
                (a.clone(), Value::Array(m))
            })
            .collect();
        json!({
            "users": users,
            "groups": groups,
            "memberships": memberships,
            "apps": apps,
            "appAssignments": assignments,
            "appGroupAssignments": app_groups,
        })
    }

    /// Loads an org from an export document.
    pub(crate) fn load(doc: &Value, seed: u64) -> anyhow::Result<Org> {
        use anyhow::Context;
        let mut org = Org::empty(seed);
        let now = crate::util::now_ms();
        let ts = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).and_then(parse_ts);
        let s = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).map(str::to_owned);
        let mut everyone = None;
        for u in doc.get("users").and_then(Value::as_array).context("users[] missing")? {
            let id = s(u, "id").context("user without id")?;
            let status =
                s(u, "status").and_then(|x| UserStatus::parse(&x)).context("bad user status")?;
            let creds = u.get("credentials").cloned().unwrap_or(Value::Null);
            let type_id = u
                .pointer("/type/id")
                .and_then(Value::as_str)
                .map(str::to_owned)
                .unwrap_or_else(|| org.user_type_id.clone());
            org.user_type_id = type_id.clone();
            org.insert_user(User {
                id,
                status,
                created: ts(u, "created").unwrap_or(now),
                activated: ts(u, "activated"),
                status_changed: ts(u, "statusChanged"),
                last_login: ts(u, "lastLogin"),
                last_updated: ts(u, "lastUpdated").unwrap_or(now),
                password_changed: ts(u, "passwordChanged"),
                type_id,
                profile: u.get("profile").and_then(Value::as_object).cloned().unwrap_or_default(),
                provider_type: creds
                    .pointer("/provider/type")
                    .and_then(Value::as_str)
                    .unwrap_or("OKTA")
                    .into(),
                provider_name: creds
                    .pointer("/provider/name")
                    .and_then(Value::as_str)
                    .unwrap_or("OKTA")
                    .into(),
                has_password: creds.get("password").is_some(),
                recovery_question: creds
                    .pointer("/recovery_question/question")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
                cache: OnceLock::new(),
            });
        }
        for g in doc.get("groups").and_then(Value::as_array).context("groups[] missing")? {
            let id = s(g, "id").context("group without id")?;
            let kind = s(g, "type").and_then(|t| GroupType::parse(&t)).unwrap_or(GroupType::Okta);
            if kind == GroupType::BuiltIn
                && g.pointer("/profile/name").and_then(Value::as_str) == Some("Everyone")
            {
                everyone = Some(id.clone());
            }
            let source_app = g
                .pointer("/_links/source/href")
                .and_then(Value::as_str)
                .and_then(|h| h.rsplit('/').next())
                .map(str::to_owned);
            org.insert_group(Group {
                id,
                created: ts(g, "created").unwrap_or(now),
                last_updated: ts(g, "lastUpdated").unwrap_or(now),
                last_membership_updated: ts(g, "lastMembershipUpdated").unwrap_or(now),
                object_class: g
                    .get("objectClass")
                    .and_then(Value::as_array)
                    .map(|a| a.iter().filter_map(Value::as_str).map(str::to_owned).collect())
                    .unwrap_or_else(|| vec!["okta:user_group".into()]),
                kind,
                profile: g.get("profile").and_then(Value::as_object).cloned().unwrap_or_default(),
                source_app,
                cache: OnceLock::new(),
            });
        }
        if let Some(e) = everyone {
            org.everyone_id = e;
        }
        if let Some(m) = doc.get("memberships").and_then(Value::as_object) {
            for (gid, uids) in m {
                for uid in uids.as_array().into_iter().flatten().filter_map(Value::as_str) {
                    if org.users.contains_key(uid) && org.groups.contains_key(gid) {
                        org.link_member(gid, uid);
                    }
                }
            }
        }
        for (i, a) in doc.get("apps").and_then(Value::as_array).into_iter().flatten().enumerate() {
            let id = s(a, "id").context("app without id")?;
            let mut body = a.as_object().cloned().unwrap_or_default();
            body.remove("id");
            body.remove("_links");
            let status = body
                .remove("status")
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_else(|| "ACTIVE".into());
            let seq = 16_278_919_418_571 + i as u64 * 7;
            org.app_order.insert(seq, id.clone());
            org.apps.insert(id.clone(), App { id, seq, status, body });
        }
        if let Some(m) = doc.get("appGroupAssignments").and_then(Value::as_object) {
            for (app, gids) in m {
                for (p, gid) in
                    gids.as_array().into_iter().flatten().filter_map(Value::as_str).enumerate()
                {
                    org.app_groups
                        .entry(app.clone())
                        .or_default()
                        .insert(gid.into(), AppGroup { priority: p as u32, last_updated: now });
                    org.group_apps.entry(gid.into()).or_default().insert(app.clone());
                }
            }
        }
        if let Some(m) = doc.get("appAssignments").and_then(Value::as_object) {
            for (app, uids) in m {
                for uid in uids.as_array().into_iter().flatten().filter_map(Value::as_str) {
                    let via_group = org.user_groups.get(uid).is_some_and(|gs| {
                        gs.iter()
                            .any(|g| org.app_groups.get(app).is_some_and(|ag| ag.contains_key(g)))
                    });
                    org.assign_app_user(app, uid, if via_group { "GROUP" } else { "USER" }, now);
                }
            }
        }
        Ok(org)
    }
}
