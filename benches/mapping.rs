//! Mapping throughput: `cargo bench --bench mapping` (single thread).
//!
//! Generates 100,000 realistic Okta users deterministically (profile, credentials, `_links`,
//! 3–10 full group objects, app links; 2–5 KB each) and measures, in the same run:
//! (a) the plain-serde floor: typed borrowing structs → equivalent entity JSON;
//! (b) the engine end to end: JSON bytes → `map_json` (a borrowed document holding only what the
//!     mapping reads, evaluated in place) → entity JSON; also `parse_item` → `map_item` (a pruned
//!     `serde_json::Value`) and a full `Value` parse → `map_item`;
//! (c) `map_item` alone on pre-parsed values.
//! The process uses the system allocator, like the `port-okta` binary.
//! `MAPPING_BENCH_WRITE=FILE` writes the generated users to FILE as one JSON array (the input
//! of the `port-okta map` benchmark in BENCHMARKS.md) and stops. Set `MAPPING_BENCH_USERS` to
//! change the number of users, `MAPPING_BENCH_ROUNDS` the number of
//! interleaved rounds (best and median reported). `MAPPING_BENCH_ONLY=floor|engine` runs one pass
//! of (a) or (b) alone, for counting instructions with callgrind (see BENCHMARKS.md).

use port_okta::blueprint::BlueprintSet;
use port_okta::mapping::{self, JqOptions};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::borrow::Cow;
use std::time::Instant;

const FIRST: &[&str] = &[
    "Isaac", "Maria", "Chen", "Aisha", "Lars", "Sofia", "Kenji", "Olu", "Ana", "Mateo", "Zoë",
    "Priya",
];
const LAST: &[&str] = &[
    "Brock", "García", "Wang", "Okafor", "Nilsson", "Rossi", "Tanaka", "Adeyemi", "Silva", "Müller",
];
const DEPTS: &[&str] = &["Engineering", "Sales", "Finance", "Support", "Legal", "Marketing"];
const STATUSES: &[&str] = &[
    "ACTIVE",
    "ACTIVE",
    "ACTIVE",
    "PROVISIONED",
    "STAGED",
    "SUSPENDED",
    "LOCKED_OUT",
    "PASSWORD_EXPIRED",
    "DEPROVISIONED",
];
const ORG: &str = "https://acme.okta.example";

fn ts(rng: &mut fastrand::Rng) -> String {
    format!(
        "20{:02}-{:02}-{:02}T{:02}:{:02}:{:02}.000Z",
        rng.u32(15..26),
        rng.u32(1..13),
        rng.u32(1..29),
        rng.u32(0..24),
        rng.u32(0..60),
        rng.u32(0..60)
    )
}

fn okta_id(rng: &mut fastrand::Rng, prefix: &str) -> String {
    let chars: Vec<char> =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789".chars().collect();
    let mut s = prefix.to_owned();
    for _ in 0..17 {
        s.push(chars[rng.usize(..chars.len())]);
    }
    s
}

fn group(rng: &mut fastrand::Rng, i: usize) -> Value {
    let id = format!("00g{i:017}");
    json!({
        "id": id,
        "created": ts(rng),
        "lastUpdated": ts(rng),
        "lastMembershipUpdated": ts(rng),
        "objectClass": ["okta:user_group"],
        "type": if i.is_multiple_of(7) { "BUILT_IN" } else { "OKTA_GROUP" },
        "profile": {"name": format!("group-{i}"), "description": format!("Members of team {i}")},
        "_links": {
            "users": {"href": format!("{ORG}/api/v1/groups/{id}/users")},
            "apps": {"href": format!("{ORG}/api/v1/groups/{id}/apps")}
        }
    })
}

fn user(rng: &mut fastrand::Rng, groups: &[Value], i: usize) -> Value {
    let id = okta_id(rng, "00u");
    let first = FIRST[rng.usize(..FIRST.len())];
    let last = LAST[rng.usize(..LAST.len())];
    let login = format!("{}.{}{}@acme.example", first.to_lowercase(), last.to_lowercase(), i);
    let mut profile = json!({
        "firstName": first,
        "lastName": last,
        "login": login,
        "email": login,
        "title": "Senior Engineer",
        "department": DEPTS[rng.usize(..DEPTS.len())],
        "employeeNumber": format!("{}", 10000 + i),
        "mobilePhone": format!("+1-555-{:04}", rng.u32(0..10000)),
        "primaryPhone": null,
        "streetAddress": format!("{} Market St", rng.u32(1..999)),
        "city": "San Francisco",
        "state": "CA",
        "zipCode": "94105",
        "countryCode": "US",
        "secondEmail": null,
        "costCenter": format!("CC-{}", rng.u32(100..999)),
    });
    if rng.bool() {
        profile["displayName"] = json!(format!("{first} {last}"));
    }
    let n = rng.usize(3..=10);
    let start = rng.usize(..groups.len() - n);
    let apps: Vec<Value> = (0..rng.usize(0..3))
        .map(|k| json!({"id": format!("00ub0oNGTSWTBKOLGLNR{k}"), "label": "Slack", "linkUrl": format!("{ORG}/home/slack/0oa{k}/1"), "appName": "slack", "appInstanceId": format!("0oa{k}"), "appAssignmentId": format!("0ua{k}"), "credentialsSetup": false, "hidden": false, "sortOrder": k}))
        .collect();
    json!({
        "id": id,
        "status": STATUSES[rng.usize(..STATUSES.len())],
        "created": ts(rng),
        "activated": if rng.bool() { Value::String(ts(rng)) } else { Value::Null },
        "statusChanged": ts(rng),
        "lastLogin": ts(rng),
        "lastUpdated": ts(rng),
        "passwordChanged": ts(rng),
        "type": {"id": "oty1234567890abcdef"},
        "profile": profile,
        "credentials": {
            "password": {},
            "recovery_question": {"question": "Who's a major player in the cowboy scene?"},
            "provider": {"type": "OKTA", "name": "OKTA"}
        },
        "_links": {
            "suspend": {"href": format!("{ORG}/api/v1/users/{id}/lifecycle/suspend"), "method": "POST"},
            "schema": {"href": format!("{ORG}/api/v1/meta/schemas/user/osc1234567890")},
            "resetPassword": {"href": format!("{ORG}/api/v1/users/{id}/lifecycle/reset_password"), "method": "POST"},
            "expirePassword": {"href": format!("{ORG}/api/v1/users/{id}/lifecycle/expire_password"), "method": "POST"},
            "self": {"href": format!("{ORG}/api/v1/users/{id}")},
            "type": {"href": format!("{ORG}/api/v1/meta/types/user/oty1234567890")},
            "deactivate": {"href": format!("{ORG}/api/v1/users/{id}/lifecycle/deactivate"), "method": "POST"}
        },
        "groups": groups[start..start + n].to_vec(),
        "applications": apps,
    })
}

// ---- (a) the plain-serde floor ----

#[derive(Deserialize)]
struct UserIn<'a> {
    #[serde(borrow)]
    id: Cow<'a, str>,
    #[serde(borrow)]
    status: Option<Cow<'a, str>>,
    #[serde(borrow)]
    created: Option<Cow<'a, str>>,
    #[serde(borrow)]
    activated: Option<Cow<'a, str>>,
    #[serde(borrow, rename = "lastLogin")]
    last_login: Option<Cow<'a, str>>,
    #[serde(borrow, rename = "lastUpdated")]
    last_updated: Option<Cow<'a, str>>,
    #[serde(borrow)]
    profile: ProfileIn<'a>,
    #[serde(borrow, default)]
    groups: Vec<GroupIn<'a>>,
}

#[derive(Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
struct ProfileIn<'a> {
    #[serde(borrow)]
    login: Option<Cow<'a, str>>,
    #[serde(borrow)]
    email: Option<Cow<'a, str>>,
    #[serde(borrow)]
    first_name: Option<Cow<'a, str>>,
    #[serde(borrow)]
    last_name: Option<Cow<'a, str>>,
    #[serde(borrow)]
    display_name: Option<Cow<'a, str>>,
    #[serde(borrow)]
    title: Option<Cow<'a, str>>,
    #[serde(borrow)]
    department: Option<Cow<'a, str>>,
    #[serde(borrow)]
    employee_number: Option<Cow<'a, str>>,
    #[serde(borrow)]
    mobile_phone: Option<Cow<'a, str>>,
    #[serde(borrow)]
    primary_phone: Option<Cow<'a, str>>,
    #[serde(borrow)]
    street_address: Option<Cow<'a, str>>,
    #[serde(borrow)]
    city: Option<Cow<'a, str>>,
    #[serde(borrow)]
    state: Option<Cow<'a, str>>,
    #[serde(borrow)]
    zip_code: Option<Cow<'a, str>>,
    #[serde(borrow)]
    country_code: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct GroupIn<'a> {
    #[serde(borrow)]
    id: Cow<'a, str>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PropsOut<'a> {
    #[serde(flatten)]
    profile: &'a ProfileIn<'a>,
    status: &'a Option<Cow<'a, str>>,
    created: &'a Option<Cow<'a, str>>,
    activated: &'a Option<Cow<'a, str>>,
    last_login: &'a Option<Cow<'a, str>>,
    last_updated: &'a Option<Cow<'a, str>>,
}

#[derive(Serialize)]
struct RelsOut<'a> {
    groups: Vec<&'a str>,
}

#[derive(Serialize)]
struct EntityOut<'a> {
    identifier: &'a str,
    title: Option<Cow<'a, str>>,
    blueprint: &'static str,
    properties: PropsOut<'a>,
    relations: RelsOut<'a>,
}

fn floor(line: &[u8]) -> Vec<u8> {
    let u: UserIn = serde_json::from_slice(line).expect("generated user parses");
    let p = &u.profile;
    let title = p.display_name.clone().or_else(|| match (&p.first_name, &p.last_name) {
        (None, None) => p.login.clone(),
        (f, l) => Some(Cow::Owned(format!(
            "{} {}",
            f.as_deref().unwrap_or(""),
            l.as_deref().unwrap_or("")
        ))),
    });
    let e = EntityOut {
        identifier: &u.id,
        title,
        blueprint: "okta-user",
        properties: PropsOut {
            profile: p,
            status: &u.status,
            created: &u.created,
            activated: &u.activated,
            last_login: &u.last_login,
            last_updated: &u.last_updated,
        },
        relations: RelsOut { groups: u.groups.iter().map(|g| g.id.as_ref()).collect() },
    };
    serde_json::to_vec(&e).expect("entity serializes")
}

fn main() {
    let n: usize =
        std::env::var("MAPPING_BENCH_USERS").ok().and_then(|s| s.parse().ok()).unwrap_or(100_000);
    let mut rng = fastrand::Rng::with_seed(20261128);
    let groups: Vec<Value> = (0..200).map(|i| group(&mut rng, i)).collect();
    let t = Instant::now();
    let lines: Vec<Vec<u8>> =
        (0..n).map(|i| serde_json::to_vec(&user(&mut rng, &groups, i)).unwrap()).collect();
    let bytes: usize = lines.iter().map(Vec::len).sum();
    println!(
        "generated {n} users, {:.1} MB, {:.0} bytes/user on average, in {:.1}s",
        bytes as f64 / 1e6,
        bytes as f64 / n as f64,
        t.elapsed().as_secs_f64()
    );

    // The input of the `port-okta map` benchmark: the same users as one JSON array, one per line.
    if let Ok(path) = std::env::var("MAPPING_BENCH_WRITE") {
        let mut text = Vec::with_capacity(bytes + 2 * n + 4);
        text.extend_from_slice(b"[\n");
        for (i, line) in lines.iter().enumerate() {
            if i > 0 {
                text.extend_from_slice(b",\n");
            }
            text.extend_from_slice(line);
        }
        text.extend_from_slice(b"\n]\n");
        std::fs::write(&path, &text).unwrap_or_else(|e| panic!("cannot write {path}: {e}"));
        return println!("wrote {n} users as a JSON array to {path} ({} bytes)", text.len());
    }

    let config = port_okta::config::builtin_default();
    let compiled = mapping::compile(&config, &BlueprintSet::seed(), &JqOptions::default())
        .expect("seed compiles");
    let users = compiled.resources.iter().find(|r| r.kind() == "okta-user").expect("user resource");

    // Sanity: the engine (pruned and full parse) and the floor produce the same entities.
    for line in lines.iter().take(2000) {
        let v: Value = serde_json::from_slice(line).unwrap();
        let m = users.map_item(&v);
        assert_eq!(users.map_item(&users.parse_item(line).unwrap()), m);
        assert_eq!(users.map_json(line).unwrap(), m);
        assert!(m.problems.is_empty(), "{:?}", m.problems);
        let ours = serde_json::to_value(&m.entities[0].entity).unwrap();
        let theirs: Value = serde_json::from_slice(&floor(line)).unwrap();
        assert_eq!(ours, theirs);
    }

    // For instruction counts (callgrind): one pass of one measure, then stop.
    match std::env::var("MAPPING_BENCH_ONLY").as_deref() {
        Ok("floor") => return println!("(checksum {})", run_floor(&lines)),
        Ok("engine") => return println!("(checksum {})", run_engine(users, &lines)),
        Ok(other) => panic!("MAPPING_BENCH_ONLY={other}: expected floor or engine"),
        Err(_) => {}
    }

    // Every measure runs once per round, interleaved, so that load from other processes on a
    // shared machine hits them alike; the best round of each is reported, with the median.
    let rounds: usize =
        std::env::var("MAPPING_BENCH_ROUNDS").ok().and_then(|s| s.parse().ok()).unwrap_or(5).max(1);
    let pre_n = n.min(20_000);
    let parsed: Vec<Value> =
        lines.iter().take(pre_n).map(|l| users.parse_item(l).unwrap()).collect();
    let mut sink = 0usize;
    let mut timings: [Vec<f64>; 6] = Default::default();
    let mut ratios = Vec::new();
    for _ in 0..rounds {
        let floor_s = time(&mut sink, || run_floor(&lines));
        let engine_s = time(&mut sink, || run_engine(users, &lines));
        let pruned_s = time(&mut sink, || {
            let mut k = 0;
            for line in &lines {
                let v = users.parse_item(line).unwrap();
                for e in &users.map_item(&v).entities {
                    k += serde_json::to_vec(&e.entity).unwrap().len();
                }
            }
            k
        });
        let full_s = time(&mut sink, || {
            let mut k = 0;
            for line in &lines {
                let v: Value = serde_json::from_slice(line).unwrap();
                for e in &users.map_item(&v).entities {
                    k += serde_json::to_vec(&e.entity).unwrap().len();
                }
            }
            k
        });
        let map_s =
            time(&mut sink, || parsed.iter().map(|v| users.map_item(v).entities.len()).sum());
        let parse_s = time(&mut sink, || {
            lines
                .iter()
                .map(|l| serde_json::from_slice::<Value>(l).unwrap().is_object() as usize)
                .sum()
        });
        ratios.push(engine_s / floor_s);
        for (t, s) in timings.iter_mut().zip([floor_s, engine_s, pruned_s, full_s, map_s, parse_s])
        {
            t.push(s);
        }
    }
    drop(parsed);

    let [floor_t, engine_t, pruned_t, full_t, map_t, parse_t] = timings;
    let line = |label: &str, count: usize, t: &[f64], what: &str| {
        println!(
            "{label:<34}: {:>9.0} users/s best, {:>9.0} median ({what})",
            count as f64 / min(t),
            count as f64 / median(t)
        );
    };
    println!("{rounds} rounds, interleaved:");
    line("(a) serde floor (typed, borrowed)", n, &floor_t, "from_slice → to_vec");
    line("(b) engine end to end", n, &engine_t, "map_json → to_vec");
    line("    same via a pruned Value", n, &pruned_t, "parse_item → map_item → to_vec");
    line("    same with a full Value parse", n, &full_t, "from_slice::<Value> → map_item → to_vec");
    line("(c) map_item on pre-parsed values", pre_n, &map_t, "parse_item values");
    line("    full serde_json::Value parse", n, &parse_t, "parse only");
    println!(
        "ratio floor / engine end to end   : {:>9.2}x best to best, {:.2}x median of rounds",
        min(&engine_t) / min(&floor_t),
        median(&ratios)
    );
    println!("(checksum {sink})");
}

/// (a) The floor over every line (not inlined, so that callgrind can count it alone).
#[inline(never)]
fn run_floor(lines: &[Vec<u8>]) -> usize {
    lines.iter().map(|line| floor(line).len()).sum()
}

/// (b) The engine end to end over every line (not inlined, for callgrind).
#[inline(never)]
fn run_engine(users: &mapping::CompiledResource, lines: &[Vec<u8>]) -> usize {
    let mut k = 0;
    for line in lines {
        for e in &users.map_json(line).unwrap().entities {
            k += serde_json::to_vec(&e.entity).unwrap().len();
        }
    }
    k
}

/// Seconds taken by `f`; its result goes to `sink` so that the work is not optimised away.
fn time(sink: &mut usize, f: impl FnOnce() -> usize) -> f64 {
    let t = Instant::now();
    *sink += f();
    t.elapsed().as_secs_f64()
}

fn min(t: &[f64]) -> f64 {
    t.iter().copied().fold(f64::INFINITY, f64::min)
}

fn median(t: &[f64]) -> f64 {
    let mut v = t.to_vec();
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}
