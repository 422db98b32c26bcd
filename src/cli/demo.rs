//! `port-okta demo`: no account needed. Starts the Okta simulator as a child process, syncs it
//! into `./demo-catalog.db`, shows the result, and stops the simulator.
//!
//! The service never links the simulator: the demo runs the `okta-sim` binary that sits next to
//! `port-okta` (both are built by `cargo build --release`). When it is missing and the demo runs
//! under `cargo run`, it asks cargo to build it first.

use super::sync::{SyncArgs, SyncJob, execute, exit_code, print_summary};
use anyhow::{Context, bail};
use port_okta::blueprint::BlueprintSet;
use port_okta::catalog::Catalog;
use port_okta::catalog::sqlite::SqliteCatalog;
use port_okta::config;
use port_okta::model::Entity;
use port_okta::secret::Secret;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};

/// The mapping the demo uses: the seed mapping plus the manager relation and applications.
const DEMO_MAPPING: &str = include_str!("../../examples/full/port-app-config.yml");
/// The blueprints that go with it.
const DEMO_BLUEPRINTS: &str = include_str!("../../examples/full/blueprints.json");

/// Arguments of `port-okta demo`.
#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// Users in the simulated org.
    #[arg(long, default_value_t = 500)]
    pub users: u32,
    /// Groups in the simulated org.
    #[arg(long, default_value_t = 40)]
    pub groups: u32,
    /// Apps in the simulated org.
    #[arg(long, default_value_t = 8)]
    pub apps: u32,
    /// Where the demo catalog goes (replaced on every run).
    #[arg(long, default_value = "./demo-catalog.db")]
    pub catalog: PathBuf,
    /// Stop after the resync (skip the live-events part).
    #[arg(long)]
    pub no_live: bool,
}

/// Kills the simulator when the demo ends, however it ends.
struct Sim(Child);

impl Drop for Sim {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Runs `port-okta demo`.
pub fn run(args: DemoArgs) -> anyhow::Result<ExitCode> {
    let sim_bin = find_sim()?;
    let token = format!("demo-{:016x}", fastrand::u64(..));
    let mut child = Command::new(&sim_bin)
        .args(["--listen", "127.0.0.1:0", "--seed", "42", "--token", &token])
        .args(["--users", &args.users.to_string(), "--groups", &args.groups.to_string()])
        .args(["--apps", &args.apps.to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .with_context(|| format!("starting {}", sim_bin.display()))?;
    let stdout = child.stdout.take().context("simulator stdout")?;
    let sim = Sim(child);
    let mut first = String::new();
    BufReader::new(stdout).read_line(&mut first).context("reading the simulator's first line")?;
    let Some(url) = first.trim().strip_prefix("listening on ") else {
        bail!("okta-sim did not report its address (got {first:?})");
    };
    println!("okta-sim: {} users, {} groups, {} apps at {url}", args.users, args.groups, args.apps);

    for suffix in ["", "-wal", "-shm", "-lock"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", args.catalog.display()));
    }
    let config = config::parse_str("examples/full/port-app-config.yml", DEMO_MAPPING)
        .map_err(|d| anyhow::anyhow!("{d}"))?;
    let blueprints = BlueprintSet::parse_str("examples/full/blueprints.json", DEMO_BLUEPRINTS)
        .map_err(|d| anyhow::anyhow!("{d}"))?;
    let sync_args = SyncArgs {
        catalog: Some(format!("sqlite:{}", args.catalog.display())),
        mapping: None,
        blueprints: None,
        json: false,
        dry_run: false,
        concurrency: 8,
        bucket_share: 0.5,
        max_in_flight: 16,
        lock_timeout: 0.0,
        allow_insecure_http: false,
    };
    let job = SyncJob {
        okta_url: url.to_string(),
        token: Secret::new(token),
        owner: "port-okta-demo".into(),
        allow_env: false,
        catalog: super::target::CatalogTarget::Sqlite(args.catalog.clone()),
    };
    let report = execute(&sync_args, &job, &config, &blueprints)?;
    print_summary(&report, false);
    show_entities(&args.catalog)?;
    if !args.no_live {
        live(url, &job, &config, &blueprints, &args.catalog)?;
    }
    drop(sim);
    println!(
        "\ncatalog written to {} (inspect it: port-okta catalog export --catalog sqlite:{})",
        args.catalog.display(),
        args.catalog.display()
    );
    Ok(exit_code(&report))
}

/// The live part: `serve` registers its hook with the simulator, the org changes, and each
/// change is shown arriving in the catalog with its latency.
fn live(
    sim_url: &str,
    job: &SyncJob,
    config: &config::model::PortAppConfig,
    blueprints: &BlueprintSet,
    catalog_path: &Path,
) -> anyhow::Result<()> {
    use port_okta::events::queue::SqliteQueue;
    use port_okta::events::serve::{LiveEvents, Resyncs, ServeOptions, start};
    use port_okta::model::EntityKey;
    use serde_json::{Value, json};
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    let queue_path =
        std::env::temp_dir().join(format!("port-okta-demo-{}-events.db", std::process::id()));
    struct RemoveQueue(PathBuf);
    impl Drop for RemoveQueue {
        fn drop(&mut self) {
            for s in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{s}", self.0.display()));
            }
        }
    }
    let _queue_file = RemoveQueue(queue_path.clone());
    let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let secret = Secret::new(format!("demo-hook-{:016x}", fastrand::u64(..)));
    let compiled = port_okta::mapping::compile(
        config,
        blueprints,
        &port_okta::mapping::JqOptions { allow_env: false },
    )
    .map_err(|d| anyhow::anyhow!("{d}"))?;
    let okta = port_okta::okta::OktaClient::new(sim_url, job.token.clone(), Default::default())?;
    let catalog: Arc<dyn Catalog> = Arc::new(SqliteCatalog::open(catalog_path)?);
    let opts = ServeOptions {
        listen: format!("127.0.0.1:{port}").parse()?,
        okta,
        catalog: catalog.clone(),
        config: Arc::new(compiled),
        blueprints: Arc::new(blueprints.clone()),
        owner: job.owner.clone(),
        queue: Arc::new(SqliteQueue::open(&queue_path)?),
        secret: Some(secret),
        base_url: Some(format!("http://127.0.0.1:{port}")),
        live: LiveEvents::Both,
        poll_interval: Duration::from_secs(1),
        resyncs: Resyncs::Never,
        max_body: 1 << 20,
        concurrency: 8,
        resync_request_poll: Duration::from_secs(60),
    };
    let http = reqwest::Client::builder().no_proxy().build()?;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async move {
        let running = start(opts).await?;
        println!("\nlive events: serving on http://{}; registering the event hook with Okta…", running.addr);
        let api = |method: reqwest::Method, path: String, body: Option<Value>| {
            let mut r = http
                .request(method, format!("{sim_url}{path}"))
                .header("Authorization", format!("SSWS {}", job.token.expose()))
                .header("Accept", "application/json");
            r = match body {
                Some(b) => r.json(&b),
                None => r.header("Content-Length", "0"),
            };
            async move { anyhow::Ok(r.send().await?.error_for_status()?.json::<Value>().await.unwrap_or(Value::Null)) }
        };
        // Bounded: 20 s for the hook to be verified.
        let mut verified = false;
        for _ in 0..200 {
            let hooks = api(reqwest::Method::GET, "/api/v1/eventHooks".into(), None).await?;
            if hooks.as_array().is_some_and(|a| a.iter().any(|h| h["verificationStatus"] == "VERIFIED")) {
                verified = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        println!("  event hook {}", if verified { "verified" } else { "not verified (the System Log carries the events)" });
        let key = |bp: &str, id: &str| EntityKey { blueprint: bp.into(), identifier: id.into() };
        let entity = |k: EntityKey| {
            let catalog = catalog.clone();
            async move { catalog.get(vec![k]).await.ok().and_then(|mut v| v.pop().flatten()).map(|s| s.entity) }
        };
        let export = api(reqwest::Method::GET, "/__sim/export".into(), None).await?;
        let active: Vec<String> = export["users"].as_array().into_iter().flatten()
            .filter(|u| u["status"] == "ACTIVE").take(2)
            .filter_map(|u| u["id"].as_str().map(String::from)).collect();
        let group = export["groups"].as_array().into_iter().flatten()
            .find(|g| g["type"] == "OKTA_GROUP").and_then(|g| g["id"].as_str()).unwrap_or_default().to_string();
        let mut latencies = Vec::new();
        // Each change, then a bounded wait (10 s) until the catalog shows it.
        macro_rules! change {
            ($label:expr, $act:expr, $check:expr) => {{
                let t0 = Instant::now();
                let _ = $act;
                let mut seen = false;
                for _ in 0..1000 {
                    if $check {
                        seen = true;
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
                let secs = t0.elapsed().as_secs_f64();
                if seen {
                    latencies.push(secs);
                    println!("  ✓ {:<46} in the catalog after {:.2} s", $label, secs);
                } else {
                    println!("  ✗ {:<46} not seen within 10 s", $label);
                }
            }};
        }
        let new_user: Value = api(reqwest::Method::POST, "/api/v1/users?activate=true".into(), Some(json!({
            "profile": {"firstName": "Grace", "lastName": "Hopper", "email": "grace.hopper@example.com", "login": "grace.hopper@example.com"},
            "credentials": {"password": {"value": "Cobol-1959-Navy"}}}))).await?;
        let new_id = new_user["id"].as_str().unwrap_or_default().to_string();
        change!("new user Grace Hopper", (), entity(key("okta-user", &new_id)).await.is_some());
        change!(format!("Grace Hopper joins group {group}"),
            api(reqwest::Method::PUT, format!("/api/v1/groups/{group}/users/{new_id}"), None).await?,
            entity(key("okta-user", &new_id)).await.is_some_and(|e| e.relations.get("groups").is_some_and(|g| g.to_string().contains(&group))));
        change!("profile edit: Grace Hopper's title",
            api(reqwest::Method::POST, format!("/api/v1/users/{new_id}"), Some(json!({"profile": {"title": "Rear Admiral"}}))).await?,
            entity(key("okta-user", &new_id)).await.is_some_and(|e| e.properties.get("title") == Some(&json!("Rear Admiral"))));
        if let [deactivated, deleted] = active.as_slice() {
            change!(format!("deactivation of {deactivated}"),
                api(reqwest::Method::POST, format!("/api/v1/users/{deactivated}/lifecycle/deactivate"), None).await?,
                entity(key("okta-user", deactivated)).await.is_some_and(|e| e.properties.get("status") == Some(&json!("DEPROVISIONED"))));
            change!(format!("deletion of {deleted}"),
                {
                    api(reqwest::Method::POST, format!("/api/v1/users/{deleted}/lifecycle/deactivate"), None).await?;
                    api(reqwest::Method::DELETE, format!("/api/v1/users/{deleted}"), None).await?;
                },
                entity(key("okta-user", deleted)).await.is_none());
        }
        latencies.sort_by(f64::total_cmp);
        let median = latencies.get(latencies.len() / 2).copied().unwrap_or(0.0);
        let max = latencies.last().copied().unwrap_or(0.0);
        println!("live events: {} of 5 changes arrived; median {:.2} s, slowest {:.2} s", latencies.len(), median, max);
        running.shutdown().await?;
        anyhow::Ok(())
    })
}

/// Prints a few users and groups with their relations.
fn show_entities(path: &Path) -> anyhow::Result<()> {
    let catalog = SqliteCatalog::open(path)?;
    let runtime = tokio::runtime::Builder::new_current_thread().build()?;
    let all = runtime.block_on(catalog.export())?;
    let show = |e: &Entity| {
        let rels: Vec<String> = e
            .relations
            .iter()
            .map(|(k, v)| match v {
                serde_json::Value::Array(a) if a.len() > 4 => {
                    format!("{k}: [{} entities]", a.len())
                }
                other => format!("{k}: {other}"),
            })
            .collect();
        println!(
            "  {} {} — {}",
            e.key(),
            e.title.as_ref().map(ToString::to_string).unwrap_or_default(),
            rels.join("; ")
        );
    };
    println!("\nsome users:");
    all.iter()
        .filter(|e| e.blueprint == "okta-user")
        .filter(|e| has_relations(e))
        .take(4)
        .for_each(show);
    println!("some groups:");
    all.iter().filter(|e| e.blueprint == "okta-group").take(3).for_each(show);
    Ok(())
}

fn has_relations(e: &Entity) -> bool {
    e.relations
        .values()
        .filter(|v| !v.is_null() && v.as_array().is_none_or(|a| !a.is_empty()))
        .count()
        >= 2
}

/// The `okta-sim` binary next to this one; built through cargo when missing under `cargo run`.
fn find_sim() -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe().context("locating port-okta")?;
    let dir = exe.parent().context("port-okta has no parent directory")?;
    let sim = dir.join(format!("okta-sim{}", std::env::consts::EXE_SUFFIX));
    if sim.exists() {
        return Ok(sim);
    }
    let Ok(cargo) = std::env::var("CARGO") else {
        bail!(
            "{} not found: build it with `cargo build --release` (it is part of the workspace)",
            sim.display()
        );
    };
    tracing::info!("building okta-sim (first run only)");
    let mut cmd = Command::new(cargo);
    cmd.args(["build", "-p", "okta-sim"]).current_dir(env!("CARGO_MANIFEST_DIR"));
    if dir.ends_with("release") {
        cmd.arg("--release");
    }
    let status = cmd.status().context("running cargo build -p okta-sim")?;
    if !status.success() || !sim.exists() {
        bail!("could not build okta-sim ({status})");
    }
    Ok(sim)
}
