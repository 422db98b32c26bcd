//! Resync benchmark against okta-sim (run as a child process, so this process's peak RSS is
//! port-okta's own).
//!
//! `cargo bench --bench resync -- [--users N] [--groups G] [--apps A] [--latency-ms L]
//!  [--rate-limit-scale F] [--per-user-sample N]`
//!
//! Prints, for our strategy: Okta requests, the page floor computed from the org, their ratio,
//! 429s, wall time and peak RSS; and for Ocean's per-user strategy (list users, then
//! `/users/{id}/groups` and `/users/{id}/appLinks` per user, 10 users at a time) the same
//! numbers measured on a sample of users, with the full-org request count and its
//! rate-limit-bound wall time.

use port_okta::blueprint::BlueprintSet;
use port_okta::catalog::sqlite::SqliteCatalog;
use port_okta::config;
use port_okta::engine::{ResyncOptions, resync};
use port_okta::mapping::{self, JqOptions};
use port_okta::okta::{ClientOptions, OktaClient};
use port_okta::secret::Secret;
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

const TOKEN: &str = "bench-token";

struct Args {
    users: u64,
    groups: u64,
    apps: u64,
    latency_ms: u64,
    rate_limit_scale: f64,
    per_user_sample: u64,
}

fn args() -> Args {
    let mut a = Args {
        users: 5000,
        groups: 200,
        apps: 20,
        latency_ms: 20,
        rate_limit_scale: 1.0,
        per_user_sample: 250,
    };
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < argv.len() {
        let v = argv.get(i + 1).cloned().unwrap_or_default();
        match argv[i].as_str() {
            "--users" => a.users = v.parse().expect("--users N"),
            "--groups" => a.groups = v.parse().expect("--groups N"),
            "--apps" => a.apps = v.parse().expect("--apps N"),
            "--latency-ms" => a.latency_ms = v.parse().expect("--latency-ms N"),
            "--rate-limit-scale" => a.rate_limit_scale = v.parse().expect("--rate-limit-scale F"),
            "--per-user-sample" => a.per_user_sample = v.parse().expect("--per-user-sample N"),
            _ => {
                i += 1;
                continue;
            }
        }
        i += 2;
    }
    a
}

struct Sim(Child, String);

impl Drop for Sim {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn sim_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("bench exe");
    // target/release/deps/resync-… → target/release/okta-sim
    let dir = exe.parent().and_then(Path::parent).expect("target dir");
    let sim = dir.join("okta-sim");
    if !sim.exists() {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let ok = Command::new(cargo)
            .args(["build", "--release", "-p", "okta-sim"])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .status()
            .expect("cargo build -p okta-sim");
        assert!(ok.success() && sim.exists(), "okta-sim not built at {}", sim.display());
    }
    sim
}

fn start_sim(a: &Args) -> Sim {
    let mut child = Command::new(sim_binary())
        .args(["--listen", "127.0.0.1:0", "--seed", "1", "--token", TOKEN])
        .args([
            "--users",
            &a.users.to_string(),
            "--groups",
            &a.groups.to_string(),
            "--apps",
            &a.apps.to_string(),
        ])
        .args([
            "--latency-ms",
            &a.latency_ms.to_string(),
            "--rate-limit-scale",
            &a.rate_limit_scale.to_string(),
        ])
        .stdout(Stdio::piped())
        .spawn()
        .expect("start okta-sim");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let url = line.trim().strip_prefix("listening on ").expect("listening line").to_string();
    Sim(child, url)
}

fn peak_rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

/// The fewest requests that list the org: every listing needs ⌈n / page⌉ pages, at least one.
fn page_floor(org: &Value) -> u64 {
    let pages = |n: usize, size: usize| n.div_ceil(size).max(1) as u64;
    let users = org["users"].as_array().unwrap();
    let deprovisioned = users.iter().filter(|u| u["status"] == "DEPROVISIONED").count();
    let mut floor = pages(users.len() - deprovisioned, 200) + pages(deprovisioned, 200);
    floor += pages(org["groups"].as_array().unwrap().len(), 200);
    for m in org["memberships"].as_object().unwrap().values() {
        floor += pages(m.as_array().unwrap().len(), 1000);
    }
    floor += pages(org["apps"].as_array().unwrap().len(), 200);
    for m in org["appAssignments"].as_object().unwrap().values() {
        floor += pages(m.as_array().unwrap().len(), 500);
    }
    floor
}

fn main() {
    let a = args();
    let sim = start_sim(&a);
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let cfg = config::load_file(&root.join("examples/full/port-app-config.yml")).unwrap();
    let blueprints = BlueprintSet::load_file(&root.join("examples/full/blueprints.json")).unwrap();
    let compiled = mapping::compile(&cfg, &blueprints, &JqOptions { allow_env: false }).unwrap();
    let db = std::env::temp_dir().join(format!("port-okta-bench-{}.db", std::process::id()));
    let client = OktaClient::new(&sim.1, Secret::new(TOKEN), ClientOptions::default()).unwrap();
    let rss_before = peak_rss_mb();
    let started = Instant::now();
    let report = runtime
        .block_on(async {
            let catalog = Arc::new(SqliteCatalog::open(&db).unwrap());
            let opts = ResyncOptions { concurrency: 8, ..ResyncOptions::new("bench") };
            let t0 = Instant::now();
            let phase = |p: port_okta::engine::resync::Progress| {
                if let port_okta::engine::resync::Progress::Phase(name) = p {
                    eprintln!("  {:>7.2} s  {name} starts", t0.elapsed().as_secs_f64());
                }
            };
            let (compiled, blueprints) = (Arc::new(compiled), Arc::new(blueprints));
            resync(&client, compiled, blueprints, catalog, &opts, &phase).await
        })
        .unwrap();
    let wall = started.elapsed().as_secs_f64();
    let rss_peak = peak_rss_mb();
    // Only now read the org (its JSON would otherwise count in our peak RSS).
    let org: Value = runtime.block_on(async {
        reqwest::get(format!("{}/__sim/export", sim.1)).await.unwrap().json().await.unwrap()
    });
    let floor = page_floor(&org);
    drop(org);
    println!(
        "org: {} users, {} groups, {} apps, latency {} ms, rate-limit scale {}",
        a.users, a.groups, a.apps, a.latency_ms, a.rate_limit_scale
    );
    println!(
        "port-okta: {} requests (page floor {floor}, ratio {:.3}), {} × 429, {:.2} s wall, peak RSS {:.1} MB (before sync {:.1} MB), success {}",
        report.okta_requests,
        report.okta_requests as f64 / floor as f64,
        report.okta_429,
        wall,
        rss_peak,
        rss_before,
        report.is_success()
    );
    for s in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{s}", db.display()));
    }
    if a.per_user_sample > 0 {
        per_user(&runtime, &sim.1, &a, report.okta_requests);
    }
}

/// Ocean's strategy: list users, then groups and app links per user, 10 users at a time.
fn per_user(runtime: &tokio::runtime::Runtime, url: &str, a: &Args, ours: u64) {
    let client = OktaClient::new(url, Secret::new(TOKEN), ClientOptions::default()).unwrap();
    let started = Instant::now();
    let (sampled, listed) = runtime.block_on(async {
        let users = client.list_all("/api/v1/users?limit=200").await.unwrap();
        let listed = users.len() as u64;
        let sample: Vec<String> = users
            .iter()
            .take(a.per_user_sample as usize)
            .map(|u| u["id"].as_str().unwrap().to_string())
            .collect();
        let done = Arc::new(AtomicU64::new(0));
        for chunk in sample.chunks(10) {
            let mut set = tokio::task::JoinSet::new();
            for id in chunk {
                let (c, id, done) = (client.clone(), id.clone(), done.clone());
                set.spawn(async move {
                    c.list_all(&format!("/api/v1/users/{id}/groups?limit=200")).await.unwrap();
                    c.list_all(&format!("/api/v1/users/{id}/appLinks?limit=200")).await.unwrap();
                    done.fetch_add(1, Ordering::Relaxed);
                });
            }
            while set.join_next().await.is_some() {}
        }
        (done.load(Ordering::Relaxed), listed)
    });
    let wall = started.elapsed().as_secs_f64();
    let requests = client.stats().requests.load(Ordering::Relaxed);
    let full_requests = 2 * a.users + a.users.div_ceil(200);
    // /users/{id}/groups and appLinks fall in the 1200/min bucket; a token may use half of it.
    let bound_min = (2 * a.users) as f64 / (1200.0 * a.rate_limit_scale * 0.5);
    println!(
        "per-user (Ocean's) sample: {sampled} of {listed} listed users, {requests} requests, {wall:.2} s wall"
    );
    println!(
        "per-user (Ocean's) full org: {full_requests} requests (≥ {:.1} × ours), rate-limit bound ≥ {:.1} min at a 50% share",
        full_requests as f64 / ours.max(1) as f64,
        bound_min
    );
}
