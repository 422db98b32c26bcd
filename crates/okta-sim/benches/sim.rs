//! okta-sim benchmark: org generation time and request throughput on loopback.
//!
//! `cargo bench -p okta-sim --bench sim` (env: `SIM_BENCH_USERS` = 100000, `SIM_BENCH_GROUPS` =
//! 5000, `SIM_BENCH_APPS` = 50, `SIM_BENCH_SECS` = 4 per scenario, `SIM_BENCH_CLIENTS` = 32).
//! Rate limits and the concurrency cap are disabled so the server itself is measured; the
//! clients (reqwest, keep-alive) run in the same process and share the machine's cores.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use okta_sim::SimConfig;
use serde_json::Value;

fn env(k: &str, d: u64) -> u64 {
    std::env::var(k).ok().and_then(|v| v.parse().ok()).unwrap_or(d)
}

fn rss_mib() -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmHWM:")).map(|l| l[6..].trim().to_owned()))
        .unwrap_or_else(|| "n/a".into())
}

/// CPU time (user + system) of this process so far, in seconds.
fn cpu_s() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // Fields 14 and 15 of /proc/PID/stat (utime, stime) are at 11 and 12 after the ')'.
    (ticks(11) + ticks(12)) / 100.0
}

async fn next_link(r: &reqwest::Response) -> Option<String> {
    r.headers()
        .get_all("link")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|l| l.ends_with("rel=\"next\""))
        .map(|l| l[1..l.find('>').unwrap_or(1)].to_owned())
}

async fn crawl_ids(c: &reqwest::Client, first: String, auth: &str) -> (Vec<String>, usize) {
    let mut url = Some(first);
    let mut ids = Vec::new();
    let mut pages = 0;
    while let Some(u) = url {
        let r = c.get(&u).header("Authorization", auth).send().await.expect("crawl");
        assert_eq!(r.status(), 200);
        url = next_link(&r).await;
        let page: Vec<Value> = r.json().await.expect("json");
        pages += 1;
        if page.is_empty() {
            break;
        }
        ids.extend(page.iter().filter_map(|v| v["id"].as_str().map(str::to_owned)));
    }
    (ids, pages)
}

async fn scenario(
    name: &str,
    c: &reqwest::Client,
    clients: usize,
    secs: u64,
    auth: &str,
    make: Arc<dyn Fn(&mut fastrand::Rng) -> String + Send + Sync>,
) -> (String, f64, f64) {
    let done = Arc::new(AtomicU64::new(0));
    let bytes = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(secs);
    let mut tasks = Vec::new();
    for w in 0..clients {
        let (c, done, bytes, make, auth) =
            (c.clone(), done.clone(), bytes.clone(), make.clone(), auth.to_owned());
        tasks.push(tokio::spawn(async move {
            let mut rng = fastrand::Rng::with_seed(w as u64);
            while Instant::now() < deadline {
                let r = c
                    .get(make(&mut rng))
                    .header("Authorization", &auth)
                    .send()
                    .await
                    .expect("request");
                assert_eq!(r.status(), 200);
                let b = r.bytes().await.expect("body");
                bytes.fetch_add(b.len() as u64, Ordering::Relaxed);
                done.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    let t = Instant::now();
    for t in tasks {
        t.await.expect("worker");
    }
    let el = t.elapsed().as_secs_f64();
    let n = done.load(Ordering::Relaxed) as f64;
    let mb = bytes.load(Ordering::Relaxed) as f64 / 1e6;
    (name.to_owned(), n / el, mb / el)
}

fn main() -> anyhow::Result<()> {
    let users = env("SIM_BENCH_USERS", 100_000) as usize;
    let groups = env("SIM_BENCH_GROUPS", 5_000) as usize;
    let apps = env("SIM_BENCH_APPS", 50) as usize;
    let secs = env("SIM_BENCH_SECS", 4);
    let clients = env("SIM_BENCH_CLIENTS", 32) as usize;
    let cfg = SimConfig {
        users,
        groups,
        apps,
        seed: 1,
        token: "bench".into(),
        rate_limit_scale: 0.0,
        concurrency_limit: 0,
        ..SimConfig::default()
    };
    println!(
        "okta-sim bench: {users} users, {groups} groups, {apps} apps; {clients} clients x {secs}s per scenario"
    );

    let (t, c0) = (Instant::now(), cpu_s());
    let org = okta_sim::generate(&cfg)?;
    let (gen_s, gen_cpu) = (t.elapsed().as_secs_f64(), cpu_s() - c0);
    println!(
        "generation: {gen_s:.2} s wall, {gen_cpu:.2} s CPU ({} users, {} groups, {} memberships); peak RSS {}",
        org.users(),
        org.groups(),
        org.memberships(),
        rss_mib()
    );
    drop(org);

    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    rt.block_on(async move {
        let t = Instant::now();
        let sim = okta_sim::spawn(cfg, "127.0.0.1:0".parse()?).await?;
        let spawn_s = t.elapsed().as_secs_f64();
        let base = sim.base_url();
        let auth = "SSWS bench".to_owned();
        let c = reqwest::Client::builder().no_proxy().pool_max_idle_per_host(clients * 2).build()?;
        let t = Instant::now();
        let (uids, pages) = crawl_ids(&c, format!("{base}/api/v1/users?limit=200"), &auth).await;
        let crawl_s = t.elapsed().as_secs_f64();
        let (gids, _) = crawl_ids(&c, format!("{base}/api/v1/groups?limit=200"), &auth).await;
        println!("spawn (generate + bind): {spawn_s:.2} s; first full crawl of /api/v1/users (limit=200): {pages} pages, {} users in {crawl_s:.2} s", uids.len());
        let uids = Arc::new(uids);
        let gids = Arc::new(gids);
        let mut rows = Vec::new();
        let (b, u2, g2) = (base.clone(), uids.clone(), gids.clone());
        let list200: Arc<dyn Fn(&mut fastrand::Rng) -> String + Send + Sync> =
            Arc::new(move |r| format!("{b}/api/v1/users?limit=200&after={}", u2[r.usize(..u2.len())]));
        let (b, u3) = (base.clone(), uids.clone());
        let list20: Arc<dyn Fn(&mut fastrand::Rng) -> String + Send + Sync> =
            Arc::new(move |r| format!("{b}/api/v1/users?limit=20&after={}", u3[r.usize(..u3.len())]));
        let (b, u4) = (base.clone(), uids.clone());
        let get_user: Arc<dyn Fn(&mut fastrand::Rng) -> String + Send + Sync> =
            Arc::new(move |r| format!("{b}/api/v1/users/{}", u4[r.usize(..u4.len())]));
        let (b, g3) = (base.clone(), g2.clone());
        let groups200: Arc<dyn Fn(&mut fastrand::Rng) -> String + Send + Sync> =
            Arc::new(move |r| format!("{b}/api/v1/groups?limit=200&after={}", g3[r.usize(..g3.len())]));
        let (b, g4) = (base.clone(), g2.clone());
        let members200: Arc<dyn Fn(&mut fastrand::Rng) -> String + Send + Sync> =
            Arc::new(move |r| format!("{b}/api/v1/groups/{}/users?limit=200", g4[r.usize(..g4.len())]));
        for (name, f) in [
            ("GET /api/v1/users?limit=20&after=…", list20),
            ("GET /api/v1/users?limit=200&after=…", list200),
            ("GET /api/v1/users/{id}", get_user),
            ("GET /api/v1/groups?limit=200&after=…", groups200),
            ("GET /api/v1/groups/{id}/users?limit=200", members200),
        ] {
            let row = scenario(name, &c, clients, secs, &auth, f).await;
            println!("{:<45} {:>9.0} req/s {:>8.1} MB/s", row.0, row.1, row.2);
            rows.push(row);
        }
        println!("peak RSS {}", rss_mib());
        sim.shutdown().await;
        anyhow::Ok(())
    })?;
    Ok(())
}
