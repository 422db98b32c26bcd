//! `port-okta serve` (live events, scheduled resyncs) and `port-okta events` (the queue).

use super::sync::load_inputs;
use super::target::CatalogTarget;
use anyhow::{Context, bail};
use port_okta::config::settings::Settings;
use port_okta::events::queue::{EventQueue, SqliteQueue};
use port_okta::events::serve::{LiveEvents, Resyncs, ServeOptions, start};
use port_okta::mapping::{self, JqOptions};
use port_okta::okta::{ClientOptions, OktaClient};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

/// Arguments of `port-okta serve`.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Where the HTTP server listens (Okta's event hooks, /health, /ready, /metrics).
    #[arg(long, default_value = "0.0.0.0:8000")]
    pub listen: SocketAddr,
    /// Where entities go: `sqlite:PATH` (the embedded catalog) or `port` (Port's API). Default:
    /// Port when OCEAN__PORT__CLIENT_ID/SECRET are set, else sqlite:./port-okta.db.
    #[arg(long)]
    pub catalog: Option<String>,
    /// The port-app-config YAML (default: the built-in seed mapping).
    #[arg(long)]
    pub mapping: Option<PathBuf>,
    /// Blueprints JSON (default: the built-in `okta-user` and `okta-group`).
    #[arg(long)]
    pub blueprints: Option<PathBuf>,
    /// The durable event queue (a SQLite file of its own).
    #[arg(long, default_value = "./port-okta-events.db")]
    pub queue: PathBuf,
    /// How live events arrive: `hooks`, `poll` (the System Log) or `both`. Default: `both` when
    /// OCEAN__BASE_URL is set, else `poll`.
    #[arg(long, value_enum)]
    pub live_events: Option<LiveEvents>,
    /// Seconds between System Log polls once caught up.
    #[arg(long, default_value_t = 5.0)]
    pub poll_interval: f64,
    /// Largest event-hook delivery accepted, in bytes (larger ones get 413).
    #[arg(long, default_value_t = 1 << 20)]
    pub max_body: usize,
    /// Concurrent member and app-assignment listings in a resync.
    #[arg(long, default_value_t = 8)]
    pub concurrency: usize,
    /// Share of each Okta rate-limit bucket this service may use (0 < F ≤ 1).
    #[arg(long, default_value_t = 0.5)]
    pub bucket_share: f64,
    /// Okta requests in flight at most (Okta's org-wide cap is 75).
    #[arg(long, default_value_t = 16)]
    pub max_in_flight: usize,
    /// Allow plain http:// to an Okta host other than loopback (the token travels in clear).
    #[arg(long)]
    pub allow_insecure_http: bool,
}

/// Ocean's `POLLING` listener interval (`OCEAN__EVENT_LISTENER__INTERVAL` or the `interval` of
/// `OCEAN__EVENT_LISTENER`, seconds; default 60): how often Port is asked for a resync request.
fn listener_interval() -> anyhow::Result<Duration> {
    let from_json = std::env::var("OCEAN__EVENT_LISTENER").ok().and_then(|v| {
        serde_json::from_str::<serde_json::Value>(&v).ok()?.get("interval")?.as_f64()
    });
    let secs = match std::env::var("OCEAN__EVENT_LISTENER__INTERVAL") {
        Ok(v) if !v.trim().is_empty() => v.trim().parse::<f64>().with_context(|| {
            format!("OCEAN__EVENT_LISTENER__INTERVAL: not a number of seconds: {v}")
        })?,
        _ => from_json.unwrap_or(60.0),
    };
    super::seconds("OCEAN__EVENT_LISTENER interval", secs, 1.0, 86_400.0)
}

/// Ocean's `OCEAN__EVENT_LISTENER` type (`{"type": "POLLING"}` or `OCEAN__EVENT_LISTENER__TYPE`).
fn event_listener() -> anyhow::Result<String> {
    if let Ok(t) = std::env::var("OCEAN__EVENT_LISTENER__TYPE")
        && !t.trim().is_empty()
    {
        return Ok(t.trim().to_ascii_uppercase());
    }
    match std::env::var("OCEAN__EVENT_LISTENER") {
        Ok(v) if !v.trim().is_empty() => {
            let parsed: serde_json::Value = serde_json::from_str(&v)
                .with_context(|| format!("OCEAN__EVENT_LISTENER is not JSON: {v}"))?;
            let t = parsed.get("type").and_then(|t| t.as_str()).unwrap_or("POLLING");
            Ok(t.to_ascii_uppercase())
        }
        _ => Ok("POLLING".into()),
    }
}

/// The `sync` a `serve` resyncs as.
fn as_sync(args: &ServeArgs) -> super::sync::SyncArgs {
    super::sync::SyncArgs {
        catalog: args.catalog.clone(),
        mapping: args.mapping.clone(),
        blueprints: args.blueprints.clone(),
        json: false,
        dry_run: false,
        concurrency: args.concurrency,
        bucket_share: args.bucket_share,
        max_in_flight: args.max_in_flight,
        lock_timeout: 0.0,
        allow_insecure_http: args.allow_insecure_http,
    }
}

/// Runs `port-okta serve` until SIGTERM or SIGINT.
pub fn run(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let settings = Settings::from_process_env().map_err(|errs| anyhow::anyhow!("{errs}"))?;
    let Some(okta_url) = settings.okta_base_url.clone() else {
        bail!("OKTA_DOMAIN (or OCEAN__INTEGRATION__CONFIG__OKTA_DOMAIN) is not set");
    };
    let Some(token) = settings.okta_api_token.clone() else {
        bail!("OKTA_API_TOKEN (or OCEAN__INTEGRATION__CONFIG__OKTA_API_TOKEN) is not set");
    };
    let listener = event_listener()?;
    let resyncs = match listener.as_str() {
        "POLLING" => Resyncs::Scheduled(
            settings.scheduled_resync_interval_minutes.map(|m| Duration::from_secs(m.get() * 60)),
        ),
        "WEBHOOKS_ONLY" => Resyncs::Never,
        // Ocean's ONCE: one resync, then exit, no live events.
        "ONCE" => return super::sync::run(as_sync(&args)),
        other => bail!(
            "OCEAN__EVENT_LISTENER type {other} is not supported here (POLLING, ONCE, WEBHOOKS_ONLY)"
        ),
    };
    let live = args.live_events.unwrap_or(if settings.base_url.is_some() {
        LiveEvents::Both
    } else {
        LiveEvents::Poll
    });
    let target = CatalogTarget::resolve(args.catalog.as_deref(), &settings)?;
    let (config, blueprints) = load_inputs(&as_sync(&args), &target)?;
    let compiled = mapping::compile(
        &config,
        &blueprints,
        &JqOptions { allow_env: settings.allow_env_jq_access },
    )
    .map_err(|d| anyhow::anyhow!("{d}"))?;
    let okta = OktaClient::new(
        &okta_url,
        token,
        ClientOptions {
            bucket_share: args.bucket_share,
            max_concurrency: args.max_in_flight,
            allow_insecure_http: args.allow_insecure_http,
            ..ClientOptions::default()
        },
    )?;
    let catalog = target.open(false)?;
    let queue: Arc<dyn EventQueue> = Arc::new(
        SqliteQueue::open(&args.queue)
            .with_context(|| format!("opening the event queue {}", args.queue.display()))?,
    );
    let opts = ServeOptions {
        listen: args.listen,
        okta,
        catalog,
        config: Arc::new(compiled),
        blueprints: Arc::new(blueprints),
        owner: settings.integration_identifier.clone(),
        queue,
        secret: settings.okta_webhook_secret.clone(),
        base_url: settings.base_url.clone(),
        live,
        poll_interval: super::seconds("--poll-interval", args.poll_interval, 0.05, 3600.0)?,
        resyncs,
        max_body: args.max_body,
        concurrency: args.concurrency,
        resync_request_poll: listener_interval()?,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async move {
        let mut running = match start(opts).await {
            Ok(r) => r,
            Err(e) => {
                if let Some(locked @ port_okta::catalog::CatalogError::Locked { .. }) =
                    e.downcast_ref::<port_okta::catalog::CatalogError>()
                {
                    eprintln!("error: {locked}");
                    return Ok(ExitCode::from(super::sync::EXIT_LOCKED));
                }
                return Err(e);
            }
        };
        println!("listening on http://{}", running.addr);
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        tokio::select! {
            _ = term.recv() => tracing::info!("SIGTERM: draining"),
            _ = tokio::signal::ctrl_c() => tracing::info!("SIGINT: draining"),
            _ = running.wait() => tracing::error!("the HTTP server stopped; shutting down"),
        }
        running.shutdown().await?;
        tracing::info!("stopped");
        Ok(ExitCode::SUCCESS)
    })
}

/// `port-okta events` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum EventsCommand {
    /// List queued events, newest first.
    List {
        /// The event queue.
        #[arg(long, default_value = "./port-okta-events.db")]
        queue: PathBuf,
        /// Only events parked after repeated failures.
        #[arg(long)]
        parked: bool,
        /// Only events waiting to be processed.
        #[arg(long, conflicts_with = "parked")]
        pending: bool,
        /// How many.
        #[arg(long, default_value_t = 50)]
        limit: u32,
        /// Print them as a JSON array.
        #[arg(long)]
        json: bool,
    },
}

/// Runs a `port-okta events` subcommand.
pub fn events(cmd: EventsCommand) -> anyhow::Result<ExitCode> {
    let EventsCommand::List { queue, parked, pending, limit, json } = cmd;
    if !queue.exists() {
        bail!(
            "event queue {} does not exist (it is created by `port-okta serve`)",
            queue.display()
        );
    }
    let q = SqliteQueue::open(&queue)?;
    let status = if parked {
        Some("parked".to_string())
    } else if pending {
        Some("pending".to_string())
    } else {
        None
    };
    let runtime = tokio::runtime::Builder::new_current_thread().enable_time().build()?;
    let events = runtime.block_on(q.list(status, limit))?;
    if json {
        println!("{}", serde_json::to_string_pretty(&events)?);
        return Ok(ExitCode::SUCCESS);
    }
    if events.is_empty() {
        println!("no events");
    }
    for e in &events {
        let targets: Vec<String> =
            e.event.targets.iter().map(|t| format!("{:?}:{}", t.kind, t.id)).collect();
        println!(
            "{}  {:<8} {}  {}  [{}]  attempts {}{}",
            e.event.published,
            e.status,
            e.event.event_type,
            e.event.uuid,
            targets.join(", "),
            e.attempts,
            e.last_error.as_deref().map(|x| format!("  ({x})")).unwrap_or_default()
        );
    }
    Ok(ExitCode::SUCCESS)
}
