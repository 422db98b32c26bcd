//! `port-okta serve`: the long-running service. One process runs, side by side:
//!
//! - the HTTP server ([`super::server`]): the event-hook endpoint, `/health`, `/ready`, `/metrics`;
//! - the worker ([`super::worker`]) draining the durable queue into the catalog;
//! - the System Log poller ([`super::poller`]) when live events poll;
//! - the hook registration ([`super::hooks`]) when a public base URL is known;
//! - the scheduler: a resync at start and every interval; a resync due while one runs is
//!   skipped; a failed resync is retried with backoff while events keep flowing.
//!
//! The process holds the catalog (one writer per catalog) for its whole life. Stopping
//! ([`Running::shutdown`], SIGTERM in the CLI) stops taking deliveries, lets the worker finish its
//! batch, and ends the session cleanly.

use super::hooks;
use super::metrics::Metrics;
use super::poller::Poller;
use super::queue::EventQueue;
use super::server::{AppState, router};
use super::worker::Worker;
use crate::blueprint::BlueprintSet;
use crate::catalog::{Catalog, CatalogError, RunInfo, RunOutcome};
use crate::engine::fresh::Freshness;
use crate::engine::write::Writer;
use crate::engine::{Deletion, ResyncOptions, resync};
use crate::mapping::CompiledConfig;
use crate::okta::OktaClient;
use crate::okta::live::LiveReader;
use crate::secret::Secret;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::sync::{Notify, watch};

/// How live events reach the service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LiveEvents {
    /// Okta event hooks only.
    Hooks,
    /// The System Log only (no public URL needed).
    Poll,
    /// Both: hooks for latency, the System Log for what hooks drop.
    Both,
}

/// When resyncs run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resyncs {
    /// At start, then every interval (if any).
    Scheduled(Option<Duration>),
    /// None at all (Ocean's `WEBHOOKS_ONLY`).
    Never,
}

/// Everything `serve` needs.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// Where the HTTP server listens.
    pub listen: SocketAddr,
    /// The Okta client.
    pub okta: OktaClient,
    /// The catalog.
    pub catalog: Arc<dyn Catalog>,
    /// The mapping.
    pub config: Arc<CompiledConfig>,
    /// The blueprints.
    pub blueprints: Arc<BlueprintSet>,
    /// The integration identifier (owner of what is written).
    pub owner: String,
    /// The durable queue.
    pub queue: Arc<dyn EventQueue>,
    /// The webhook's shared secret.
    pub secret: Option<Secret>,
    /// The public base URL (the hook is `<base>/integration/webhook`).
    pub base_url: Option<String>,
    /// Hooks, the System Log, or both.
    pub live: LiveEvents,
    /// Time between System Log polls when caught up.
    pub poll_interval: Duration,
    /// Resync schedule.
    pub resyncs: Resyncs,
    /// Largest delivery accepted.
    pub max_body: usize,
    /// Concurrent member listings in a resync.
    pub concurrency: usize,
    /// How often the catalog is asked whether a resync was requested (Port's resync button;
    /// Ocean's `POLLING` listener interval).
    pub resync_request_poll: Duration,
}

/// A running service.
#[derive(Debug)]
pub struct Running {
    /// The address it listens on.
    pub addr: SocketAddr,
    /// Its counters.
    pub metrics: Arc<Metrics>,
    /// Set once the first resync has finished.
    pub ready: Arc<AtomicBool>,
    stop: watch::Sender<bool>,
    http: Option<tokio::task::JoinHandle<()>>,
    tasks: tokio::task::JoinSet<()>,
    catalog: Arc<dyn Catalog>,
    session: String,
}

/// How long processed events stay in the queue (their uuids recognise duplicates meanwhile).
const KEEP_PROCESSED: Duration = Duration::from_secs(7 * 24 * 3600);

/// How often processed events past [`KEEP_PROCESSED`] are forgotten.
const PRUNE_EVERY: Duration = Duration::from_secs(3600);

/// Starts the service; returns once it listens.
pub async fn start(opts: ServeOptions) -> anyhow::Result<Running> {
    let session =
        format!("serve-{}-{}", std::process::id(), jiff::Timestamp::now().as_millisecond());
    // One writer per catalog: the service holds it for its whole life (resyncs nest in it).
    let start = opts
        .catalog
        .begin_run(
            RunInfo {
                run_id: session.clone(),
                owner: opts.owner.clone(),
                started: jiff::Timestamp::now(),
                pid: std::process::id(),
            },
            Duration::ZERO,
        )
        .await?;
    for r in start.interrupted {
        tracing::warn!(run_id = %r.run_id, pid = r.pid, "an earlier run was interrupted");
    }
    opts.catalog.put_blueprints(opts.blueprints.blueprints.clone()).await?;
    if opts.secret.is_none() {
        tracing::warn!(
            "no webhook secret is set (OKTA_WEBHOOK_SECRET): anyone who can reach this service \
             can post events; set one before exposing it"
        );
    }
    let metrics = Arc::new(Metrics::default());
    let ready = Arc::new(AtomicBool::new(false));
    let wake = Arc::new(Notify::new());
    let fresh = Arc::new(Freshness::new());
    let (stop, stop_rx) = watch::channel(false);
    let mut tasks = tokio::task::JoinSet::new();

    let listener = tokio::net::TcpListener::bind(opts.listen).await?;
    let addr = listener.local_addr()?;
    let app = router(AppState {
        queue: opts.queue.clone(),
        secret: opts.secret.clone(),
        metrics: metrics.clone(),
        ready: ready.clone(),
        okta: opts.okta.clone(),
        wake: wake.clone(),
        max_body: opts.max_body,
    });
    let mut http_stop = stop_rx.clone();
    let http = tokio::spawn(async move {
        let served = axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = http_stop.wait_for(|s| *s).await;
            })
            .await;
        if let Err(e) = served {
            tracing::error!(error = %e, "the HTTP server stopped");
        }
    });
    tracing::info!(%addr, "serving");

    // The worker.
    let writer = Writer::new(
        opts.catalog.clone(),
        opts.config.clone(),
        opts.blueprints.clone(),
        &opts.owner,
    );
    let reader = Arc::new(LiveReader::new(opts.okta.clone()));
    let mut worker =
        Worker::new(opts.queue.clone(), reader, writer, fresh.clone(), metrics.clone());
    let mut worker_stop = stop_rx.clone();
    let worker_wake = wake.clone();
    tasks.spawn(async move {
        loop {
            let n = match worker.process_batch().await {
                Ok(n) => n,
                Err(e) => {
                    tracing::error!(error = %e, "the event queue failed");
                    0
                }
            };
            if *worker_stop.borrow() {
                return;
            }
            if n == 0 {
                tokio::select! {
                    _ = worker_wake.notified() => {}
                    _ = tokio::time::sleep(Duration::from_millis(500)) => {}
                    _ = worker_stop.changed() => return,
                }
            }
        }
    });

    // Processed events are kept a week (to recognise late duplicates), then forgotten: the
    // queue file does not grow with every event ever received.
    let (queue, mut prune_stop) = (opts.queue.clone(), stop_rx.clone());
    tasks.spawn(async move {
        loop {
            match queue.prune(KEEP_PROCESSED).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(events = n, "forgot processed events older than a week"),
                Err(e) => tracing::warn!(error = %e, "could not prune the event queue"),
            }
            tokio::select! {
                _ = tokio::time::sleep(PRUNE_EVERY) => {}
                _ = prune_stop.changed() => return,
            }
        }
    });

    // The System Log poller.
    if matches!(opts.live, LiveEvents::Poll | LiveEvents::Both) {
        let poller = Poller::new(opts.okta.clone(), opts.queue.clone(), metrics.clone());
        // Catch up from a little before now on first start (the resync covers what came before).
        poller.start_at(jiff::Timestamp::now() - jiff::SignedDuration::from_secs(60)).await?;
        let (interval, rx) = (opts.poll_interval, stop_rx.clone());
        let wake = wake.clone();
        tasks.spawn(async move {
            poller.run(interval, rx).await;
            wake.notify_one();
        });
    }

    // The event hook.
    if let (Some(base), true) =
        (&opts.base_url, matches!(opts.live, LiveEvents::Hooks | LiveEvents::Both))
    {
        let (okta, queue, secret, base, rx) = (
            opts.okta.clone(),
            opts.queue.clone(),
            opts.secret.clone(),
            base.clone(),
            stop_rx.clone(),
        );
        tasks.spawn(async move {
            let mut wait = Duration::from_secs(1);
            // Bounded by shutdown: retried with backoff until Okta accepts it.
            loop {
                match hooks::ensure(&okta, &*queue, &base, secret.as_ref()).await {
                    Ok((_, id, verify)) => {
                        if verify {
                            hooks::verify_until_reachable(&okta, &id, rx).await;
                        }
                        return;
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "event hook registration failed; retrying")
                    }
                }
                let mut rx2 = rx.clone();
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    _ = rx2.changed() => return,
                }
                wait = (wait * 2).min(Duration::from_secs(60));
            }
        });
    } else if opts.live == LiveEvents::Hooks {
        tracing::warn!("--live-events hooks without OCEAN__BASE_URL: no hook can be registered");
    }

    // The scheduler.
    let resync_opts = ResyncOptions {
        owner: opts.owner.clone(),
        dry_run: false,
        concurrency: opts.concurrency,
        lock_wait: Duration::ZERO,
        fresh: Some(fresh.clone()),
    };
    let (okta, config, blueprints, catalog) =
        (opts.okta.clone(), opts.config.clone(), opts.blueprints.clone(), opts.catalog.clone());
    let fresh = fresh.clone();
    let (metrics2, ready2, mut rx) = (metrics.clone(), ready.clone(), stop_rx.clone());
    match opts.resyncs {
        Resyncs::Never => ready.store(true, Ordering::Release),
        Resyncs::Scheduled(every) => {
            let poll_requests = opts.resync_request_poll;
            tasks.spawn(async move {
                let mut failures = 0u32;
                // Port's resync button: a changed request marker means "resync now".
                let mut last_request = catalog.resync_request().await.ok().flatten();
                loop {
                    let begun = tokio::time::Instant::now();
                    let outcome = resync(
                        &okta,
                        config.clone(),
                        blueprints.clone(),
                        catalog.clone(),
                        &resync_opts,
                        &|_| {},
                    )
                    .await;
                    let secs = begun.elapsed().as_secs_f64();
                    let ok = match &outcome {
                        Ok(r) => {
                            let label = if r.is_success() && r.deletion == Deletion::Done {
                                "completed"
                            } else {
                                "partial"
                            };
                            metrics2.resync(label, secs);
                            ready2.store(true, Ordering::Release);
                            r.listing_errors.is_empty()
                        }
                        Err(e) => {
                            tracing::error!(error = %e, "resync failed");
                            metrics2.resync("failed", secs);
                            false
                        }
                    };
                    // Marks older than this resync's start can no longer matter.
                    fresh.forget_before(begun.into_std());
                    let wait = if ok {
                        failures = 0;
                        match every {
                            Some(d) => {
                                let skipped =
                                    (begun.elapsed().as_secs_f64() / d.as_secs_f64()) as u64;
                                for _ in 0..skipped {
                                    tracing::warn!(
                                        "a scheduled resync was due while one ran; skipped"
                                    );
                                    metrics2.resync("skipped", 0.0);
                                }
                                let since = begun.elapsed().as_nanos() % d.as_nanos().max(1);
                                d.saturating_sub(Duration::from_nanos(since as u64))
                            }
                            // No schedule: only a resync request starts the next one.
                            None => Duration::MAX,
                        }
                    } else {
                        // Okta or the catalog failed: retry sooner, with backoff, while events flow.
                        failures += 1;
                        let backoff = Duration::from_secs(5 * 2u64.pow(failures.min(6)));
                        every.map_or(backoff, |d| backoff.min(d))
                    };
                    let due = tokio::time::Instant::now()
                        .checked_add(wait)
                        .unwrap_or_else(|| tokio::time::Instant::now() + Duration::from_secs(86_400 * 365));
                    // Bounded by the schedule (or shutdown); polls for resync requests meanwhile.
                    loop {
                        tokio::select! {
                            _ = tokio::time::sleep_until(due) => break,
                            _ = rx.changed() => return,
                            _ = tokio::time::sleep(poll_requests) => {
                                let now = catalog.resync_request().await.ok().flatten();
                                if now.is_some() && now != last_request {
                                    tracing::info!(request = ?now, "a resync was requested in the catalog");
                                    last_request = now;
                                    break;
                                }
                            }
                        }
                    }
                }
            });
        }
    }
    Ok(Running {
        addr,
        metrics,
        ready,
        stop,
        http: Some(http),
        tasks,
        catalog: opts.catalog,
        session,
    })
}

impl Running {
    /// Stops taking deliveries, lets the worker finish its batch, ends the catalog session.
    pub async fn shutdown(mut self) -> Result<(), CatalogError> {
        let _ = self.stop.send(true);
        if let Some(http) = self.http.take() {
            let _ = http.await;
        }
        // Bounded: every task returns once `stop` is set (a running resync is cut short and
        // recorded as interrupted by the next run).
        let drain = async { while self.tasks.join_next().await.is_some() {} };
        if tokio::time::timeout(Duration::from_secs(30), drain).await.is_err() {
            self.tasks.abort_all();
        }
        self.catalog.end_run(self.session.clone(), RunOutcome::Completed).await
    }

    /// Waits until the HTTP server stops on its own (it only does on a fatal error).
    pub async fn wait(&mut self) {
        match &mut self.http {
            Some(http) => {
                let _ = http.await;
                self.http = None;
            }
            None => std::future::pending().await,
        }
    }
}
