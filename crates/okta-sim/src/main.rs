//! `okta-sim` binary: serves a simulated Okta org until SIGINT/SIGTERM.
//! The first stdout line is `listening on http://HOST:PORT`.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::Parser;
use okta_sim::{FaultRule, Faults, SimConfig};

/// A faithful Okta org simulator.
#[derive(Debug, Parser)]
#[command(name = "okta-sim", version, about)]
struct Args {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// Users to generate.
    #[arg(long, default_value_t = 50)]
    users: usize,
    /// Groups to generate (Everyone included).
    #[arg(long, default_value_t = 10)]
    groups: usize,
    /// Apps to generate.
    #[arg(long, default_value_t = 5)]
    apps: usize,
    /// Generator seed.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// API token accepted as `Authorization: SSWS <token>`.
    #[arg(long, default_value = "sim-token")]
    token: String,
    /// Load the org from an export JSON file instead of generating it.
    #[arg(long)]
    from: Option<PathBuf>,
    /// Multiply every rate limit by F; 0 disables rate limiting, and responses then carry no
    /// X-Rate-Limit-* headers (there is no limit to report).
    #[arg(long, default_value_t = 1.0)]
    rate_limit_scale: f64,
    /// Latency added to every API request (ms).
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
    /// Org-wide concurrency cap (0 disables it).
    #[arg(long, default_value_t = 75)]
    concurrency_limit: usize,
    /// Per-attempt timeout of hook verification/delivery (ms).
    #[arg(long, default_value_t = 3000)]
    hook_timeout_ms: u64,
    /// Lag (ms) before newly created users/groups appear in `search` results.
    #[arg(long, default_value_t = 0)]
    search_lag_ms: u64,
    /// Hook-eligible events per 24 h before hooks stop firing.
    #[arg(long, default_value_t = 400_000)]
    hook_daily_cap: u64,
    /// Org base URL for Link headers (default: the listening address).
    #[arg(long)]
    base_url: Option<String>,
    /// Initial faults as JSON (the body of POST /__sim/faults).
    #[arg(long)]
    faults: Option<String>,
    /// Random 500/503 on API requests with probability P.
    #[arg(long)]
    error_rate: Option<f64>,
    /// Abort the connection on API requests with probability P.
    #[arg(long)]
    reset_rate: Option<f64>,
    /// Delay every API request by this many extra ms (a `slow` fault).
    #[arg(long)]
    slow_ms: Option<u64>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let a = Args::parse();
    let mut faults: Faults = match &a.faults {
        Some(j) => serde_json::from_str(j).context("--faults is not valid JSON")?,
        None => Faults::default(),
    };
    if let Some(p) = a.error_rate {
        for status in [500, 503] {
            faults.rules.push(FaultRule {
                family: "*".into(),
                rate: Some(p / 2.0),
                status: Some(status),
                ..Default::default()
            });
        }
    }
    if let Some(p) = a.reset_rate {
        faults.rules.push(FaultRule {
            family: "*".into(),
            rate: Some(p),
            action: Some("reset".into()),
            ..Default::default()
        });
    }
    if let Some(ms) = a.slow_ms {
        faults.rules.push(FaultRule {
            family: "*".into(),
            action: Some("slow".into()),
            delay_ms: Some(ms),
            ..Default::default()
        });
    }
    let org = match &a.from {
        Some(p) => Some(serde_json::from_slice(
            &std::fs::read(p).with_context(|| format!("reading {}", p.display()))?,
        )?),
        None => None,
    };
    let config = SimConfig {
        users: a.users,
        groups: a.groups,
        apps: a.apps,
        seed: a.seed,
        token: a.token,
        rate_limit_scale: a.rate_limit_scale,
        latency_ms: a.latency_ms,
        concurrency_limit: a.concurrency_limit,
        hook_timeout_ms: a.hook_timeout_ms,
        hook_daily_cap: a.hook_daily_cap,
        search_lag_ms: a.search_lag_ms,
        faults,
        org,
        base_url: a.base_url,
    };
    // Signal handlers are registered before the URL is printed, so a supervisor that signals
    // as soon as it has read the line can't kill the process with the default action.
    let signals = Signals::register()?;
    let sim = okta_sim::spawn(config, a.listen).await?;
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "listening on http://{}", sim.addr())?;
        out.flush()?;
    }
    signals.wait().await;
    sim.shutdown().await;
    Ok(())
}

/// SIGINT and SIGTERM, registered eagerly.
struct Signals {
    #[cfg(unix)]
    int: tokio::signal::unix::Signal,
    #[cfg(unix)]
    term: tokio::signal::unix::Signal,
}

impl Signals {
    fn register() -> anyhow::Result<Signals> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(Signals {
                int: signal(SignalKind::interrupt())?,
                term: signal(SignalKind::terminate())?,
            })
        }
        #[cfg(not(unix))]
        {
            Ok(Signals {})
        }
    }

    async fn wait(mut self) {
        #[cfg(unix)]
        {
            tokio::select! {
                _ = self.int.recv() => {}
                _ = self.term.recv() => {}
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
