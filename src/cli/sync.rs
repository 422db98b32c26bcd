//! `port-okta sync`: one full resync, then exit (0 success, 1 partial or failed).

use super::target::CatalogTarget;
use anyhow::bail;
use port_okta::blueprint::BlueprintSet;
use port_okta::catalog::CatalogError;
use port_okta::config::{model::PortAppConfig, settings::Settings};
use port_okta::engine::resync::Progress;
use port_okta::engine::{Deletion, ResyncOptions, ResyncReport, resync};
use port_okta::mapping::{self, JqOptions};
use port_okta::okta::{ClientOptions, OktaClient};
use port_okta::secret::Secret;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Arguments of `port-okta sync`.
#[derive(Debug, clap::Args)]
pub struct SyncArgs {
    /// Where entities go: `sqlite:PATH` (the embedded catalog) or `port` (Port's API). Default:
    /// Port when OCEAN__PORT__CLIENT_ID/SECRET are set, else sqlite:./port-okta.db.
    #[arg(long)]
    pub catalog: Option<String>,
    /// The port-app-config YAML (default: the integration's mapping in Port, or the built-in
    /// seed mapping).
    #[arg(long)]
    pub mapping: Option<PathBuf>,
    /// Blueprints JSON (default: the built-in `okta-user` and `okta-group`).
    #[arg(long)]
    pub blueprints: Option<PathBuf>,
    /// Print the summary as one JSON object on stdout.
    #[arg(long)]
    pub json: bool,
    /// Print what would change (create/update/delete) and write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Concurrent member and app-assignment listings.
    #[arg(long, default_value_t = 8)]
    pub concurrency: usize,
    /// Share of each Okta rate-limit bucket this sync may use (0 < F ≤ 1).
    #[arg(long, default_value_t = 0.5)]
    pub bucket_share: f64,
    /// Okta requests in flight at most (Okta's org-wide cap is 75).
    #[arg(long, default_value_t = 16)]
    pub max_in_flight: usize,
    /// Seconds to wait for another sync to let go of the catalog (0: refuse at once; exit 3).
    #[arg(long, default_value_t = 0.0)]
    pub lock_timeout: f64,
    /// Allow plain http:// to an Okta host other than loopback (the token travels in clear).
    #[arg(long)]
    pub allow_insecure_http: bool,
}

/// Exit code of a sync refused because another one holds the catalog.
pub const EXIT_LOCKED: u8 = 3;

/// Everything a resync needs, resolved from flags and the environment.
pub struct SyncJob {
    /// Okta base URL.
    pub okta_url: String,
    /// Okta API token.
    pub token: Secret,
    /// Owner of the written entities.
    pub owner: String,
    /// Whether jq may read the environment.
    pub allow_env: bool,
    /// The catalog target.
    pub catalog: CatalogTarget,
}

/// Runs `port-okta sync`.
pub fn run(args: SyncArgs) -> anyhow::Result<ExitCode> {
    let settings = Settings::from_process_env().map_err(|errs| anyhow::anyhow!("{errs}"))?;
    let Some(okta_url) = settings.okta_base_url.clone() else {
        bail!("OKTA_DOMAIN (or OCEAN__INTEGRATION__CONFIG__OKTA_DOMAIN) is not set");
    };
    let Some(token) = settings.okta_api_token.clone() else {
        bail!("OKTA_API_TOKEN (or OCEAN__INTEGRATION__CONFIG__OKTA_API_TOKEN) is not set");
    };
    let job = SyncJob {
        okta_url,
        token,
        owner: settings.integration_identifier.clone(),
        allow_env: settings.allow_env_jq_access,
        catalog: CatalogTarget::resolve(args.catalog.as_deref(), &settings)?,
    };
    let (config, blueprints) = load_inputs(&args, &job.catalog)?;
    let report = match execute(&args, &job, &config, &blueprints) {
        Ok(report) => report,
        Err(e) => {
            if let Some(locked @ CatalogError::Locked { .. }) = e.downcast_ref::<CatalogError>() {
                eprintln!("error: {locked}; nothing was written");
                return Ok(ExitCode::from(EXIT_LOCKED));
            }
            return Err(e);
        }
    };
    if args.json {
        println!("{}", serde_json::to_string(&report.to_json())?);
    } else {
        print_summary(&report, args.dry_run);
    }
    Ok(exit_code(&report))
}

/// 0 when the catalog now equals the org, 1 otherwise.
pub fn exit_code(report: &ResyncReport) -> ExitCode {
    if report.is_success() && report.deletion == Deletion::Done {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// The mapping and blueprints named by the flags, else the target's mapping (Port's
/// integration) or the built-in seed ones.
pub fn load_inputs(
    args: &SyncArgs,
    target: &CatalogTarget,
) -> anyhow::Result<(PortAppConfig, BlueprintSet)> {
    let config = target.mapping(args.mapping.as_deref(), args.dry_run)?;
    let blueprints = match &args.blueprints {
        Some(path) => BlueprintSet::load_file(path).map_err(|d| anyhow::anyhow!("{d}"))?,
        None => BlueprintSet::seed(),
    };
    Ok((config, blueprints))
}

/// Compiles the mapping, then runs one resync (a plan over the catalog for a dry run).
pub fn execute(
    args: &SyncArgs,
    job: &SyncJob,
    config: &PortAppConfig,
    blueprints: &BlueprintSet,
) -> anyhow::Result<ResyncReport> {
    let compiled = mapping::compile(config, blueprints, &JqOptions { allow_env: job.allow_env })
        .map_err(|d| anyhow::anyhow!("{d}"))?;
    let okta = OktaClient::new(
        &job.okta_url,
        job.token.clone(),
        ClientOptions {
            bucket_share: args.bucket_share,
            max_concurrency: args.max_in_flight,
            allow_insecure_http: args.allow_insecure_http,
            ..ClientOptions::default()
        },
    )?;
    let catalog = job.catalog.open(args.dry_run)?;
    let opts = ResyncOptions {
        dry_run: args.dry_run,
        concurrency: args.concurrency,
        lock_wait: super::seconds("--lock-timeout", args.lock_timeout, 0.0, 86_400.0)?,
        ..ResyncOptions::new(&job.owner)
    };
    let reporter = Reporter::new(!args.json && std::io::stderr().is_terminal(), okta.clone());
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let result = runtime.block_on(resync(
        &okta,
        Arc::new(compiled),
        Arc::new(blueprints.clone()),
        catalog,
        &opts,
        &|p| reporter.on(p),
    ));
    reporter.finish();
    Ok(result?)
}

/// Progress: a live line on a terminal, log lines otherwise.
struct Reporter {
    bar: Option<indicatif::ProgressBar>,
    okta: OktaClient,
    state: Mutex<(String, u64)>,
}

impl Reporter {
    fn new(terminal: bool, okta: OktaClient) -> Self {
        let bar = terminal.then(|| {
            let bar = indicatif::ProgressBar::new_spinner();
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        port_okta::telemetry::set_progress_bar(bar.clone());
        Self { bar, okta, state: Mutex::new((String::new(), 0)) }
    }

    fn on(&self, p: Progress) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let stats = self.okta.stats();
        let requests = stats.requests.load(std::sync::atomic::Ordering::Relaxed);
        let r429 = stats.rate_limited.load(std::sync::atomic::Ordering::Relaxed);
        let waits = stats.paced_waits.load(std::sync::atomic::Ordering::Relaxed);
        match p {
            Progress::Phase(phase) => {
                if self.bar.is_none() {
                    if !state.0.is_empty() && state.1 > 0 {
                        tracing::info!(phase = %state.0, items = state.1, "phase done");
                    }
                    tracing::info!(phase = %phase, okta_requests = requests, "phase started");
                }
                *state = (phase, 0);
            }
            Progress::Items { n, .. } => state.1 += n,
        }
        if let Some(bar) = &self.bar {
            bar.set_message(format!(
                "{}: {} items · {requests} okta requests · {r429} × 429 · {waits} paced waits",
                state.0, state.1
            ));
        }
    }

    fn finish(&self) {
        port_okta::telemetry::set_progress_bar(None);
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

/// The human-readable summary.
pub fn print_summary(report: &ResyncReport, dry_run: bool) {
    let verb = if dry_run { "would be" } else { "" };
    for (kind, k) in &report.kinds {
        println!(
            "{kind}: {} items, {} upserted{verb_sp}({} created, {} updated, {} unchanged), {} failed, {} filtered, {} deleted",
            k.items,
            k.upserted,
            k.created,
            k.updated,
            k.unchanged,
            k.failed,
            k.filtered,
            k.deleted,
            verb_sp = if verb.is_empty() { " ".to_string() } else { format!(" {verb} ") },
        );
    }
    println!(
        "okta: {} requests, {} rate-limited; deletion: {}; {:.2}s",
        report.okta_requests,
        report.okta_429,
        report.deletion.as_text(),
        report.duration_s
    );
    if report.verify_reads > 0 {
        println!(
            "verified before deleting: {} read(s), {} deletion(s) confirmed, {} kept",
            report.verify_reads,
            report.verified_deletes,
            report.kept_after_verification.len()
        );
    }
    for r in &report.interrupted_runs {
        println!("an earlier run was interrupted: {r}");
    }
    for e in &report.listing_errors {
        println!("listing error: {e}");
    }
    for p in &report.problems {
        println!("problem: {} {} {}: {}", p.kind, p.item, p.field, p.message);
    }
    if report.problem_count > report.problems.len() as u64 {
        println!("… and {} more problems", report.problem_count - report.problems.len() as u64);
    }
    if let Some(plan) = &report.plan {
        println!(
            "plan: {} create, {} update, {} delete",
            plan.create.len(),
            plan.update.len(),
            plan.delete.len()
        );
        for k in &plan.create {
            println!("+ {k}");
        }
        for k in &plan.update {
            println!("~ {k}");
        }
        for k in &plan.delete {
            println!("- {k}");
        }
    }
}
