//! Live-events benchmark, whole processes as users run them: `okta-sim` and `port-okta serve`
//! are child processes of this harness, which only generates load and measures.
//!
//! `cargo bench --bench webhook -- [--rate 500] [--seconds 20] [--latency-ms 20] [--changes 40]`
//!
//! 1. Intake: deliveries (one `user.account.update_profile` event each, unique uuids, real
//!    users as targets) are posted open-loop at `--rate` per second for `--seconds`, each on
//!    its own request over keep-alive connections; the ack latency (send → 200, durable in the
//!    queue) is measured from each request's scheduled time.
//! 2. Event → catalog: `--changes` profile edits made in okta-sim one after another, each timed
//!    until the catalog (read from its SQLite file) shows it; first with hooks (and the System
//!    Log as backstop), then with the System Log only (no public URL).

use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const TOKEN: &str = "bench-token";
const SECRET: &str = "bench-hook-secret";

struct Args {
    rate: u64,
    seconds: u64,
    latency_ms: u64,
    changes: usize,
}

fn args() -> Args {
    let mut a = Args { rate: 500, seconds: 20, latency_ms: 20, changes: 40 };
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < argv.len() {
        let v = argv.get(i + 1).cloned().unwrap_or_default();
        match argv[i].as_str() {
            "--rate" => a.rate = v.parse().expect("--rate N"),
            "--seconds" => a.seconds = v.parse().expect("--seconds N"),
            "--latency-ms" => a.latency_ms = v.parse().expect("--latency-ms N"),
            "--changes" => a.changes = v.parse().expect("--changes N"),
            _ => {
                i += 1;
                continue;
            }
        }
        i += 2;
    }
    a
}

/// A child process, killed when dropped.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn release_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("bench exe");
    exe.parent().and_then(Path::parent).expect("target dir").to_path_buf()
}

fn start_sim(latency_ms: u64) -> (Proc, String) {
    let mut child = Command::new(release_dir().join("okta-sim"))
        .args(["--listen", "127.0.0.1:0", "--users", "2000", "--groups", "50", "--apps", "10"])
        .args(["--seed", "3", "--token", TOKEN, "--latency-ms", &latency_ms.to_string()])
        .args(["--rate-limit-scale", "100"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("okta-sim (cargo build --release)");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let url = line.trim().strip_prefix("listening on ").expect("listening line").to_string();
    (Proc(child), url)
}

fn start_serve(sim: &str, dir: &Path, port: u16, hooks: bool) -> Proc {
    let mut cmd = Command::new(release_dir().join("port-okta"));
    cmd.current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .args(["--catalog", &format!("sqlite:{}", dir.join("catalog.db").display())])
        .args(["--queue", &dir.join("events.db").display().to_string()])
        .args([
            "--mapping",
            "examples/full/port-app-config.yml",
            "--blueprints",
            "examples/full/blueprints.json",
        ])
        .env("OKTA_DOMAIN", sim)
        .env("OKTA_API_TOKEN", TOKEN)
        .env("OKTA_WEBHOOK_SECRET", SECRET)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null());
    if hooks {
        cmd.env("OCEAN__BASE_URL", format!("http://127.0.0.1:{port}"));
    } else {
        cmd.env_remove("OCEAN__BASE_URL").args(["--live-events", "poll"]);
    }
    Proc(cmd.spawn().expect("port-okta (cargo build --release)"))
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn rss_mb(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

async fn wait_ready(http: &reqwest::Client, base: &str) {
    for _ in 0..1200 {
        if http.get(format!("{base}/ready")).send().await.is_ok_and(|r| r.status().is_success()) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("serve never became ready");
}

/// Reads one user's title from the catalog file.
fn title_of(db: &Path, user: &str) -> Option<String> {
    let conn =
        rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .ok()?;
    let props: String = conn
        .query_row(
            "SELECT properties FROM entities WHERE blueprint = 'okta-user' AND identifier = ?1",
            [user],
            |r| r.get(0),
        )
        .ok()?;
    let v: Value = serde_json::from_str(&props).ok()?;
    v.get("title").and_then(Value::as_str).map(String::from)
}

async fn event_to_catalog(
    http: &reqwest::Client,
    sim: &str,
    db: &Path,
    users: &[String],
    n: usize,
    tag: &str,
) -> Vec<f64> {
    let mut out = Vec::new();
    for i in 0..n {
        let user = &users[i % users.len()];
        let title = format!("{tag}-{i}");
        let t0 = Instant::now();
        http.post(format!("{sim}/api/v1/users/{user}"))
            .header("Authorization", format!("SSWS {TOKEN}"))
            .json(&json!({"profile": {"title": title}}))
            .send()
            .await
            .unwrap();
        // Bounded: 60 s per change.
        for _ in 0..12_000 {
            if title_of(db, user).as_deref() == Some(title.as_str()) {
                out.push(t0.elapsed().as_secs_f64());
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    out.sort_by(f64::total_cmp);
    out
}

fn main() {
    let a = args();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let dir = std::env::temp_dir().join(format!("port-okta-webhook-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let (sim, sim_url) = start_sim(a.latency_ms);
    let http = reqwest::Client::builder().no_proxy().pool_max_idle_per_host(256).build().unwrap();
    let org: Value = runtime.block_on(async {
        http.get(format!("{sim_url}/__sim/export")).send().await.unwrap().json().await.unwrap()
    });
    let users: Vec<String> = org["users"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|u| u["status"] == "ACTIVE")
        .map(|u| u["id"].as_str().unwrap().to_string())
        .collect();
    println!("org: 2000 users, 50 groups, 10 apps; okta-sim latency {} ms", a.latency_ms);

    // 1. Intake.
    let port = free_port();
    let serve = start_serve(&sim_url, &dir, port, true);
    let base = format!("http://127.0.0.1:{port}");
    let (acks, failed, wall) = runtime.block_on(async {
        wait_ready(&http, &base).await;
        let total = a.rate * a.seconds;
        let interval = Duration::from_secs_f64(1.0 / a.rate as f64);
        let start = tokio::time::Instant::now();
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..total {
            let at = start + interval * i as u32;
            let user = users[i as usize % users.len()].clone();
            let (http, url) = (http.clone(), format!("{base}/integration/webhook"));
            tasks.spawn(async move {
                tokio::time::sleep_until(at).await;
                let body = json!({"eventType": "com.okta.event_hook", "eventId": format!("bench-{i}"),
                    "data": {"events": [{"uuid": format!("bench-{i}-{}", std::process::id()),
                        "published": jiff::Timestamp::now().to_string(),
                        "eventType": "user.account.update_profile",
                        "target": [{"type": "User", "id": user}]}]}});
                let r = http.post(url).header("Authorization", SECRET).json(&body).send().await;
                let ok = r.is_ok_and(|r| r.status().is_success());
                (ok, at.elapsed().as_secs_f64())
            });
        }
        let mut acks = Vec::with_capacity(total as usize);
        let mut failed = 0;
        while let Some(j) = tasks.join_next().await {
            let (ok, secs) = j.unwrap();
            if ok {
                acks.push(secs * 1000.0);
            } else {
                failed += 1;
            }
        }
        acks.sort_by(f64::total_cmp);
        (acks, failed, start.elapsed().as_secs_f64())
    });
    println!(
        "intake: {} deliveries at {}/s offered over {:.1} s: {} acknowledged ({:.0}/s), {} failed; ack latency p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms; serve peak RSS {:.1} MB",
        a.rate * a.seconds,
        a.rate,
        wall,
        acks.len(),
        acks.len() as f64 / wall,
        failed,
        percentile(&acks, 0.5),
        percentile(&acks, 0.99),
        acks.last().copied().unwrap_or(f64::NAN),
        rss_mb(serve.0.id())
    );
    drop(serve);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();

    // 2. Event → catalog, hooks then poll-only.
    for hooks in [true, false] {
        let port = free_port();
        let serve = start_serve(&sim_url, &dir, port, hooks);
        let base = format!("http://127.0.0.1:{port}");
        let lat = runtime.block_on(async {
            wait_ready(&http, &base).await;
            if hooks {
                // Bounded: the hook is verified within 30 s.
                for _ in 0..300 {
                    let h: Value = http
                        .get(format!("{sim_url}/api/v1/eventHooks"))
                        .header("Authorization", format!("SSWS {TOKEN}"))
                        .send()
                        .await
                        .unwrap()
                        .json()
                        .await
                        .unwrap();
                    if h.as_array()
                        .is_some_and(|a| a.iter().any(|h| h["verificationStatus"] == "VERIFIED"))
                    {
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
            let tag = if hooks { "hooks" } else { "poll" };
            event_to_catalog(&http, &sim_url, &dir.join("catalog.db"), &users, a.changes, tag).await
        });
        println!(
            "event → catalog ({}): {} of {} changes; p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms",
            if hooks { "hooks + System Log" } else { "System Log only, default 5 s poll" },
            lat.len(),
            a.changes,
            percentile(&lat, 0.5) * 1000.0,
            percentile(&lat, 0.99) * 1000.0,
            lat.last().copied().unwrap_or(f64::NAN) * 1000.0
        );
        drop(serve);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
    }
    drop(sim);
    let _ = std::fs::remove_dir_all(&dir);
}
