//! Deterministic org generation from a seed.
//!
//! Everything (ids, names, statuses, timestamps, memberships) comes from one `fastrand::Rng`
//! seeded with `--seed`, and timestamps are placed before a fixed anchor (2026-01-01), so the
//! same flags always give byte-identical exports.

use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;

use serde_json::{Map, Value, json};

use crate::model::{App, AppGroup, Group, GroupType, Org, User, UserStatus};

const FIRST: &[&str] = &[
    "Ada",
    "Alan",
    "Grace",
    "Linus",
    "Margaret",
    "Ken",
    "Barbara",
    "Dennis",
    "Frances",
    "Edsger",
    "Radia",
    "Tim",
    "Katherine",
    "John",
    "Sophie",
    "Donald",
    "Hedy",
    "Vint",
    "Joan",
    "Bjarne",
    "Anita",
    "Guido",
    "Adele",
    "James",
    "Mary",
    "Niklaus",
    "Shafi",
    "Leslie",
    "Lynn",
    "Robert",
    "Carol",
    "Brian",
    "Evelyn",
    "Andrew",
    "Jean",
    "Whitfield",
    "Susan",
    "Ward",
    "Irene",
    "Yukihiro",
    "Fernando",
    "María",
    "Zoë",
    "Noël",
    "Åsa",
    "Olúwásẹ̀un",
    "Priya",
    "Wei",
    "Aiko",
    "Mohammed",
];
const LAST: &[&str] = &[
    "Lovelace",
    "Turing",
    "Hopper",
    "Torvalds",
    "Hamilton",
    "Thompson",
    "Liskov",
    "Ritchie",
    "Allen",
    "Dijkstra",
    "Perlman",
    "Berners-Lee",
    "Johnson",
    "McCarthy",
    "Wilson",
    "Knuth",
    "Lamarr",
    "Cerf",
    "Clarke",
    "Stroustrup",
    "Borg",
    "van Rossum",
    "Goldberg",
    "Gosling",
    "Keller",
    "Wirth",
    "Goldwasser",
    "Lamport",
    "Conway",
    "Tarjan",
    "Shaw",
    "Kernighan",
    "Berezin",
    "Ng",
    "Sammet",
    "Diffie",
    "Kare",
    "Cunningham",
    "Greif",
    "Matsumoto",
    "Corbató",
    "O'Neil",
    "García",
    "Müller",
    "Nakamura",
    "Okafor",
    "Patel",
    "Chen",
    "Kowalski",
    "Søndergaard",
];
const DEPTS: &[&str] = &[
    "Engineering",
    "Sales",
    "Marketing",
    "Finance",
    "Human Resources",
    "Legal",
    "Support",
    "Operations",
    "Product",
    "Security",
    "IT",
    "Research",
];
const TITLES: &[&str] = &[
    "Software Engineer",
    "Senior Software Engineer",
    "Staff Engineer",
    "Engineering Manager",
    "Account Executive",
    "Sales Engineer",
    "Marketing Manager",
    "Financial Analyst",
    "HR Business Partner",
    "Counsel",
    "Support Specialist",
    "Site Reliability Engineer",
    "Product Manager",
    "Security Analyst",
    "IT Administrator",
    "Research Scientist",
];
const CITIES: &[(&str, &str, &str, &str)] = &[
    ("San Francisco", "CA", "94105", "US"),
    ("New York", "NY", "10001", "US"),
    ("Austin", "TX", "73301", "US"),
    ("Seattle", "WA", "98101", "US"),
    ("London", "", "EC1A 1BB", "GB"),
    ("Berlin", "", "10115", "DE"),
    ("Tel Aviv", "", "6100000", "IL"),
    ("Toronto", "ON", "M5H 2N2", "CA"),
    ("Bengaluru", "KA", "560001", "IN"),
    ("Sydney", "NSW", "2000", "AU"),
];
const TEAMS: &[&str] = &[
    "platform",
    "payments",
    "identity",
    "growth",
    "data",
    "infra",
    "mobile",
    "web",
    "billing",
    "search",
    "ml",
    "devex",
    "sre",
    "analytics",
    "partners",
    "enterprise",
    "smb",
    "emea",
    "apac",
    "amer",
];
const APPS: &[(&str, &str, &str)] = &[
    ("salesforce", "Salesforce.com", "SAML_2_0"),
    ("active_directory", "example.local", "AUTO_LOGIN"),
    ("slack", "Slack", "SAML_2_0"),
    ("github_enterprise_cloud", "GitHub Enterprise Cloud", "SAML_2_0"),
    ("google", "Google Workspace", "SAML_2_0"),
    ("zoomus", "Zoom", "SAML_2_0"),
    ("atlassian", "Atlassian Cloud", "SAML_2_0"),
    ("amazon_aws", "AWS Account Federation", "SAML_2_0"),
    ("bookmark", "Company Wiki", "BOOKMARK"),
    ("oidc_client", "Internal Portal", "OPENID_CONNECT"),
    ("workday", "Workday", "SAML_2_0"),
    ("pagerduty", "PagerDuty", "SAML_2_0"),
    ("template_swa", "Expense Tool", "BROWSER_PLUGIN"),
    ("template_basic_auth", "Legacy Reports", "BASIC_AUTH"),
    ("datadog", "Datadog", "SAML_2_0"),
];

/// Fixed anchor for generated timestamps: 2026-01-01T00:00:00Z.
const ANCHOR_MS: i64 = 1_767_225_600_000;
const YEAR_MS: i64 = 365 * 24 * 3600 * 1000;

fn pick<'a, T>(rng: &mut fastrand::Rng, xs: &'a [T]) -> &'a T {
    &xs[rng.usize(..xs.len())]
}

fn ascii_slug(s: &str) -> String {
    s.chars()
        .filter_map(|c| {
            let c = match c {
                'á' | 'à' | 'å' | 'Å' | 'ä' => 'a',
                'é' | 'ë' | 'è' | 'ẹ' => 'e',
                'ó' | 'ö' | 'ø' | 'ò' => 'o',
                'ú' | 'ü' | 'ù' => 'u',
                'í' | 'ï' => 'i',
                'ñ' => 'n',
                c => c,
            };
            if c.is_ascii_alphanumeric() { Some(c.to_ascii_lowercase()) } else { None }
        })
        .collect()
}

/// Status for the i-th generated user: the first eight cover every status, then a realistic mix.
fn status_for(rng: &mut fastrand::Rng, i: usize) -> UserStatus {
    if i < UserStatus::ALL.len() {
        return UserStatus::ALL[i];
    }
    match rng.u32(..1000) {
        0..=29 => UserStatus::Staged,
        30..=69 => UserStatus::Provisioned,
        70..=99 => UserStatus::Suspended,
        100..=119 => UserStatus::LockedOut,
        120..=149 => UserStatus::PasswordExpired,
        150..=159 => UserStatus::Recovery,
        160..=209 => UserStatus::Deprovisioned,
        _ => UserStatus::Active,
    }
}

/// Generates an org of `users` users, `groups` groups (Everyone included) and `apps` apps.
pub(crate) fn generate(users: usize, groups: usize, apps: usize, seed: u64) -> Org {
    let mut org = Org::empty(seed);
    let mut rng =
        fastrand::Rng::with_seed(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15).wrapping_add(1));
    let type_id = org.user_type_id.clone();

    // Users.
    let mut ids: Vec<String> = Vec::with_capacity(users);
    let mut logins: HashMap<String, u32> = HashMap::with_capacity(users);
    for i in 0..users {
        let id = org.new_id("00u");
        let first = *pick(&mut rng, FIRST);
        let last = *pick(&mut rng, LAST);
        let base = format!("{}.{}", ascii_slug(first), ascii_slug(last));
        // Unique logins: the n-th person with the same name gets `first.last{n}` (n ≥ 2).
        let n = logins.entry(base.clone()).or_insert(0);
        *n += 1;
        let login =
            if *n == 1 { format!("{base}@example.com") } else { format!("{base}{n}@example.com") };
        let status = status_for(&mut rng, i);
        let created = ANCHOR_MS - 7 * YEAR_MS + rng.i64(0..6 * YEAR_MS);
        let created = created - created % 1000;
        let activated = match status {
            UserStatus::Staged => None,
            _ => Some(created + rng.i64(1000..3_600_000)),
        };
        let never_logged_in =
            matches!(status, UserStatus::Staged | UserStatus::Provisioned) || rng.u8(..20) == 0;
        let last_login =
            if never_logged_in { None } else { Some(ANCHOR_MS - rng.i64(0..YEAR_MS / 2)) };
        let password_changed = match status {
            UserStatus::Staged | UserStatus::Provisioned => None,
            _ => activated.map(|a| a + rng.i64(0..YEAR_MS)),
        };
        let status_changed = match status {
            UserStatus::Staged => None,
            UserStatus::Active | UserStatus::Provisioned => activated,
            _ => Some(ANCHOR_MS - rng.i64(0..YEAR_MS)),
        };
        let last_updated = [Some(created), activated, password_changed, status_changed]
            .into_iter()
            .flatten()
            .max()
            .unwrap_or(created)
            + rng.i64(0..86_400_000);
        let (city, state, zip, country) = *pick(&mut rng, CITIES);
        let dept = *pick(&mut rng, DEPTS);
        let mut p = Map::with_capacity(32);
        p.insert("login".into(), json!(login));
        p.insert("email".into(), json!(login));
        p.insert("firstName".into(), json!(first));
        p.insert("lastName".into(), json!(last));
        p.insert("displayName".into(), json!(format!("{first} {last}")));
        p.insert("secondEmail".into(), Value::Null);
        p.insert("title".into(), json!(pick(&mut rng, TITLES)));
        p.insert("department".into(), json!(dept));
        p.insert("employeeNumber".into(), json!(format!("{:06}", 100_000 + i)));
        p.insert(
            "mobilePhone".into(),
            if rng.bool() {
                json!(format!("+1-555-{:03}-{:04}", rng.u32(..1000), rng.u32(..10000)))
            } else {
                Value::Null
            },
        );
        p.insert(
            "primaryPhone".into(),
            json!(format!("+1-555-{:03}-{:04}", rng.u32(..1000), rng.u32(..10000))),
        );
        p.insert("streetAddress".into(), json!(format!("{} Market St", rng.u32(1..2000))));
        p.insert("city".into(), json!(city));
        p.insert("state".into(), if state.is_empty() { Value::Null } else { json!(state) });
        p.insert("zipCode".into(), json!(zip));
        p.insert("countryCode".into(), json!(country));
        p.insert("organization".into(), json!("Example Corp"));
        p.insert("division".into(), json!(if rng.bool() { "R&D" } else { "GTM" }));
        p.insert("costCenter".into(), json!(format!("CC-{}", 100 + rng.u32(..40))));
        p.insert(
            "userType".into(),
            json!(if rng.u8(..10) == 0 { "Contractor" } else { "Employee" }),
        );
        p.insert("preferredLanguage".into(), json!("en"));
        p.insert("locale".into(), json!("en_US"));
        p.insert("timezone".into(), json!("America/Los_Angeles"));
        // Custom attributes of a few types.
        p.insert(
            "githubUsername".into(),
            json!(format!("{}{}", ascii_slug(first), rng.u32(..100))),
        );
        p.insert("startDate".into(), json!(crate::util::fmt_ms(created)[..10].to_owned()));
        p.insert("isContractor".into(), json!(p["userType"] == "Contractor"));
        p.insert("skills".into(), json!([pick(&mut rng, TEAMS), pick(&mut rng, TEAMS)]));
        p.insert("managerId".into(), Value::Null);
        p.insert("manager".into(), Value::Null);
        let ad = rng.u8(..10) == 0;
        let u = User {
            id: id.clone(),
            status,
            created,
            activated,
            status_changed,
            last_login,
            last_updated,
            password_changed,
            type_id: type_id.clone(),
            profile: p,
            provider_type: if ad { "ACTIVE_DIRECTORY" } else { "OKTA" }.into(),
            provider_name: if ad { "example.local" } else { "OKTA" }.into(),
            has_password: !matches!(status, UserStatus::Staged | UserStatus::Provisioned),
            recovery_question: (rng.u8(..3) == 0)
                .then(|| "What is the food you least liked as a child?".into()),
            cache: OnceLock::new(),
        };
        org.insert_user(u);
        ids.push(id);
    }
    // Managers: the first ~2% are executives without one; others point at an earlier user.
    // Most managerIds are Okta ids, some are the manager's login or email.
    let execs = (users / 50).max(1);
    for i in execs..users {
        let m = rng.usize(..i.min(execs * 10).max(1));
        let (mid, mlogin, mname) = {
            let mu = &org.users[&ids[m]];
            (mu.id.clone(), mu.login().to_owned(), mu.display_name())
        };
        let kind = rng.u8(..20);
        let manager_id = match kind {
            0 | 1 => mlogin,
            2 => mlogin.to_uppercase(),
            _ => mid,
        };
        if let Some(u) = org.users.get_mut(&ids[i]) {
            u.profile.insert("managerId".into(), json!(manager_id));
            u.profile.insert("manager".into(), json!(mname));
        }
    }

    // Apps.
    for i in 0..apps {
        let id = org.new_id("0oa");
        let (name, label, mode) = APPS[i % APPS.len()];
        let label = if i < APPS.len() {
            label.to_owned()
        } else {
            format!("{label} ({})", i / APPS.len() + 1)
        };
        let created = ANCHOR_MS - 5 * YEAR_MS + rng.i64(0..4 * YEAR_MS);
        let created = created - created % 1000;
        let status = if rng.u8(..10) == 0 && i > 0 { "INACTIVE" } else { "ACTIVE" };
        let body = json!({
            "name": name,
            "label": label,
            "lastUpdated": crate::util::fmt_ms(created + rng.i64(0..YEAR_MS)),
            "created": crate::util::fmt_ms(created),
            "accessibility": {"selfService": false, "errorRedirectUrl": null, "loginRedirectUrl": null},
            "visibility": {"autoSubmitToolbar": false, "hide": {"iOS": false, "web": false}, "appLinks": {name: true}},
            "features": if mode == "SAML_2_0" { json!(["PUSH_NEW_USERS", "PUSH_PROFILE_UPDATES"]) } else { json!([]) },
            "signOnMode": mode,
            "credentials": {"userNameTemplate": {"template": "${source.login}", "type": "BUILT_IN"}, "signing": {}},
            // A bookmark app's settings name the page it opens (Okta requires `url`).
            "settings": {"app": if mode == "BOOKMARK" { json!({"url": format!("https://{name}.example.com/"), "requestIntegration": false}) } else { json!({}) },
                         "notifications": {"vpn": {"network": {"connection": "DISABLED"}, "message": null, "helpUrl": null}}},
        });
        let seq = 16_278_919_418_571 + i as u64 * 7;
        org.app_order.insert(seq, id.clone());
        org.apps.insert(
            id.clone(),
            App {
                id,
                seq,
                status: status.into(),
                body: body.as_object().cloned().unwrap_or_default(),
            },
        );
    }
    let app_ids: Vec<String> = org.app_order.values().cloned().collect();
    let ad_app = app_ids
        .iter()
        .find(|a| org.apps[*a].name() == "active_directory")
        .or(app_ids.first())
        .cloned();

    // Groups: Everyone (BUILT_IN), some APP_GROUPs imported from AD, the rest OKTA_GROUPs.
    if groups > 0 {
        let everyone = org.everyone_id.clone();
        org.insert_group(Group {
            id: everyone.clone(),
            created: ANCHOR_MS - 8 * YEAR_MS,
            last_updated: ANCHOR_MS - 8 * YEAR_MS,
            last_membership_updated: ANCHOR_MS - rng.i64(0..YEAR_MS / 12),
            object_class: vec!["okta:user_group".into()],
            kind: GroupType::BuiltIn,
            profile: json!({"name": "Everyone", "description": "All users in your organization"})
                .as_object()
                .cloned()
                .unwrap_or_default(),
            source_app: None,
            cache: OnceLock::new(),
        });
        for u in &ids {
            org.link_member(&everyone, u);
        }
    }
    let mut names: HashSet<String> = HashSet::new();
    let rest = groups.saturating_sub(1);
    let n_app_groups = if ad_app.is_some() { rest / 10 } else { 0 };
    let huge = 3.min(rest);
    let medium = (rest / 100).max(1).min(rest.saturating_sub(huge));
    let mut group_ids = Vec::with_capacity(rest);
    for i in 0..rest {
        let id = org.new_id("00g");
        let is_app = i >= rest - n_app_groups;
        let dept = *pick(&mut rng, DEPTS);
        let team = *pick(&mut rng, TEAMS);
        let mut name = match (i, is_app) {
            (0, false) => "All Employees".to_owned(),
            (1, false) => "Engineering".to_owned(),
            (2, false) => "Contractors".to_owned(),
            (_, true) => format!("{}-{team}-users", ascii_slug(dept)),
            _ => format!("{dept} - {team}"),
        };
        if names.contains(&name) {
            let mut n = 2;
            while names.contains(&format!("{name} {n}")) {
                n += 1;
            }
            name = format!("{name} {n}");
        }
        names.insert(name.clone());
        let created = ANCHOR_MS - 6 * YEAR_MS + rng.i64(0..5 * YEAR_MS);
        let created = created - created % 1000;
        let (object_class, profile, source_app) = if is_app {
            let sam = name.clone();
            (
                vec!["okta:windows_security_principal".to_owned()],
                json!({
                    "name": name, "description": format!("{dept} {team} (imported)"),
                    "groupType": "Security", "samAccountName": sam,
                    "objectSid": format!("S-1-5-21-{}-{}", rng.u32(..u32::MAX), 1000 + i),
                    "groupScope": "Global",
                    "dn": format!("CN={sam},OU=Groups,DC=example,DC=local"),
                    "windowsDomainQualifiedName": format!("EXAMPLE\\{sam}"),
                    "externalId": format!("{:032x}", rng.u128(..)),
                }),
                ad_app.clone(),
            )
        } else {
            (
                vec!["okta:user_group".to_owned()],
                json!({"name": name, "description": format!("{dept} / {team}")}),
                None,
            )
        };
        org.insert_group(Group {
            id: id.clone(),
            created,
            last_updated: created + rng.i64(0..YEAR_MS),
            last_membership_updated: ANCHOR_MS - rng.i64(0..YEAR_MS),
            object_class,
            kind: if is_app { GroupType::App } else { GroupType::Okta },
            profile: profile.as_object().cloned().unwrap_or_default(),
            source_app,
            cache: OnceLock::new(),
        });
        // Size: a few huge groups, some medium, many small.
        let size = if i < huge {
            users * (30 + rng.usize(..30)) / 100
        } else if i < huge + medium {
            users * (1 + rng.usize(..4)) / 100
        } else {
            let r = rng.f64();
            ((r * r * r * 60.0) as usize).min(users)
        };
        if size * 2 > users {
            for u in &ids {
                if rng.usize(..users) < size {
                    org.link_member(&id, u);
                }
            }
        } else {
            let mut picked = HashSet::with_capacity(size);
            let mut tries = 0;
            while picked.len() < size && tries < size * 4 {
                picked.insert(rng.usize(..users));
                tries += 1;
            }
            let mut picked: Vec<usize> = picked.into_iter().collect();
            picked.sort_unstable();
            for k in picked {
                org.link_member(&id, &ids[k]);
            }
        }
        group_ids.push(id);
    }

    // App assignments: each app gets a few small/medium groups and some direct users.
    let assignable: Vec<String> = group_ids.iter().skip(huge).cloned().collect();
    for app in &app_ids {
        let n_groups = if assignable.is_empty() { 0 } else { rng.usize(..4).min(assignable.len()) };
        for p in 0..n_groups {
            let g = pick(&mut rng, &assignable).clone();
            org.app_groups.entry(app.clone()).or_default().insert(
                g.clone(),
                AppGroup { priority: p as u32, last_updated: ANCHOR_MS - rng.i64(0..YEAR_MS) },
            );
            org.group_apps.entry(g).or_default().insert(app.clone());
        }
        let groups_of_app: Vec<String> =
            org.app_groups.get(app).map(|m| m.keys().cloned().collect()).unwrap_or_default();
        for g in groups_of_app {
            let members: Vec<String> =
                org.members.get(&g).map(|m| m.iter().cloned().collect()).unwrap_or_default();
            for u in members {
                if org.users[&u].status != UserStatus::Deprovisioned {
                    let t = ANCHOR_MS - rng.i64(0..YEAR_MS);
                    org.assign_app_user(app, &u, "GROUP", t);
                }
            }
        }
        if !ids.is_empty() {
            let direct = rng.usize(..(users / 20).clamp(1, 200));
            for _ in 0..direct {
                let u = pick(&mut rng, &ids).clone();
                if org.users[&u].status != UserStatus::Deprovisioned {
                    let t = ANCHOR_MS - rng.i64(0..YEAR_MS);
                    org.assign_app_user(app, &u, "USER", t);
                }
            }
        }
    }
    org
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_and_complete() {
        let a = generate(300, 30, 8, 7);
        let b = generate(300, 30, 8, 7);
        let ea = a.export("http://x");
        assert_eq!(ea, b.export("http://x"));
        assert_ne!(ea, generate(300, 30, 8, 8).export("http://x"));
        assert_eq!(a.users.len(), 300);
        assert_eq!(a.groups.len(), 30);
        for s in UserStatus::ALL {
            assert!(a.users.values().any(|u| u.status == s), "{s:?} missing");
        }
        for t in [GroupType::Okta, GroupType::App, GroupType::BuiltIn] {
            assert!(a.groups.values().any(|g| g.kind == t), "{t:?} missing");
        }
        assert_eq!(a.members[&a.everyone_id].len(), 300);
        let with_mgr = a.users.values().filter(|u| u.profile["managerId"].is_string()).count();
        assert!(with_mgr > 250);
        let by_login = a
            .users
            .values()
            .filter(|u| u.profile["managerId"].as_str().is_some_and(|m| m.contains('@')))
            .count();
        assert!(by_login > 0);
        for u in a.users.values() {
            assert_eq!(u.id.len(), 20);
        }
    }
}
