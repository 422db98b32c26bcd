//! System Log catch-up: the backstop for hook deliveries Okta dropped (one retry, a daily cap)
//! and the whole live mode when Okta cannot reach this service.
//!
//! The poller reads `GET /api/v1/logs` in Okta's polling mode (`since` once, then only the
//! `next` links, `sortOrder=ASCENDING`, no `until`), filtered to the event types port-okta acts
//! on, and feeds the same queue as the webhook: an event seen through both is queued once (its
//! `uuid`). The `next` link is the cursor, persisted in the queue's database after each page is
//! queued, so a restart resumes where it stopped. Requests go through the Okta client, so they
//! are paced in the logs bucket like every other request.

use super::envelope::{EVENT_TYPES, parse_log_event};
use super::metrics::Metrics;
use super::queue::{EventQueue, QueueError, Source};
use crate::okta::{OktaClient, OktaError};
use std::sync::Arc;
use std::time::Duration;

/// The queue state key of the cursor (a path and query).
pub const CURSOR: &str = "systemlog.next";

/// Events per page (Okta's maximum for `/logs`).
const PAGE: usize = 1000;

/// What can stop a poll.
#[derive(Debug, thiserror::Error)]
pub enum PollError {
    /// Okta failed.
    #[error(transparent)]
    Okta(#[from] OktaError),
    /// The queue failed.
    #[error(transparent)]
    Queue(#[from] QueueError),
}

/// The System Log poller.
#[derive(Debug)]
pub struct Poller {
    client: OktaClient,
    queue: Arc<dyn EventQueue>,
    metrics: Arc<Metrics>,
}

impl Poller {
    /// A poller feeding `queue`.
    pub fn new(client: OktaClient, queue: Arc<dyn EventQueue>, metrics: Arc<Metrics>) -> Self {
        Self { client, queue, metrics }
    }

    /// The first query: events published since `since`, of the types port-okta acts on.
    pub fn first_query(since: jiff::Timestamp) -> String {
        let filter: Vec<String> =
            EVENT_TYPES.iter().map(|t| format!("eventType eq \"{t}\"")).collect();
        format!(
            "/api/v1/logs?since={}&limit={PAGE}&sortOrder=ASCENDING&filter={}",
            crate::okta::api::encode(&since.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()),
            crate::okta::api::encode(&filter.join(" or "))
        )
    }

    /// Starts polling from `since` unless a cursor was persisted.
    pub async fn start_at(&self, since: jiff::Timestamp) -> Result<(), QueueError> {
        if self.queue.state(CURSOR.into()).await?.is_none() {
            self.queue.set_state(CURSOR.into(), Self::first_query(since)).await?;
        }
        Ok(())
    }

    /// Reads one page at the cursor, queues its events and moves the cursor; returns how many
    /// log events the page had (a full page means: poll again at once).
    pub async fn poll_once(&self) -> Result<usize, PollError> {
        let at = match self.queue.state(CURSOR.into()).await? {
            Some(c) => c,
            None => Self::first_query(jiff::Timestamp::now()),
        };
        let url = format!("{}{}", self.client.base_url(), at);
        // Polling pages always carry a `next` (also when empty): read it page by page.
        let page = self.client.get_page(&url).await?;
        let n = page.items.len();
        let mut events = Vec::new();
        let mut ignored = 0;
        for e in &page.items {
            match parse_log_event(e) {
                Ok(Some(ev)) => events.push(ev),
                Ok(None) => ignored += 1,
                Err(why) => {
                    ignored += 1;
                    tracing::warn!(uuid = %e.get("uuid").and_then(serde_json::Value::as_str).unwrap_or(""),
                        reason = %why, "unusable System Log event skipped");
                }
            }
        }
        if !events.is_empty() || ignored > 0 {
            let pushed = self.queue.push(events, Source::Log).await?;
            self.metrics.received("log", pushed.added, pushed.duplicates, ignored);
        }
        if let Some(next) = page.next {
            let base = self.client.base_url();
            let rel = next.strip_prefix(base).unwrap_or(&next).to_string();
            self.queue.set_state(CURSOR.into(), rel).await?;
        }
        Ok(n)
    }

    /// Polls until `stop` fires: at once after a full page, else every `interval`; failures
    /// back off (up to a minute) and are retried.
    pub async fn run(self, interval: Duration, mut stop: tokio::sync::watch::Receiver<bool>) {
        let mut failures = 0u32;
        loop {
            let wait = match self.poll_once().await {
                Ok(n) if n >= PAGE => Duration::ZERO,
                Ok(_) => {
                    failures = 0;
                    interval
                }
                Err(e) => {
                    failures += 1;
                    tracing::warn!(error = %e, failures, "System Log poll failed");
                    (interval * 2u32.pow(failures.min(4))).min(Duration::from_secs(60))
                }
            };
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = stop.changed() => return,
            }
            if *stop.borrow() {
                return;
            }
        }
    }
}
