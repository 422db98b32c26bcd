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

    for suffix in ["", "-wal", "-shm"] {
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
    };
    let job = SyncJob {
        okta_url: url.to_string(),
        token: Secret::new(token),
        owner: "port-okta-demo".into(),
        allow_env: false,
        catalog: super::target::CatalogTarget::Sqlite(args.catalog.clone()),
    };
    let report = execute(&sync_args, &job, &config, &blueprints)?;
    drop(sim);
    print_summary(&report, false);
    show_entities(&args.catalog)?;
    println!(
        "\ncatalog written to {} (inspect it: port-okta catalog export --catalog sqlite:{})",
        args.catalog.display(),
        args.catalog.display()
    );
    Ok(exit_code(&report))
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
