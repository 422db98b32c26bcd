//! `/metrics`: what `serve` did, in Prometheus' text format. Every name is declared here with its
//! help text; label values come from small fixed sets (routes, statuses, event types, outcomes),
//! never from ids.

use super::queue::Depth;
use crate::okta::ClientStats;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::Ordering;

/// The counters of one `serve` process.
#[derive(Debug, Default)]
pub struct Metrics {
    inner: Mutex<Counters>,
}

#[derive(Debug, Default)]
struct Counters {
    requests: BTreeMap<(&'static str, u16), u64>,
    received: BTreeMap<&'static str, u64>,
    duplicates: u64,
    ignored: u64,
    processed: BTreeMap<String, u64>,
    parked: BTreeMap<String, u64>,
    retried: u64,
    resyncs: BTreeMap<&'static str, u64>,
    resync_seconds_sum: f64,
    last_resync_seconds: f64,
}

impl Metrics {
    fn with(&self, f: impl FnOnce(&mut Counters)) {
        f(&mut self.inner.lock().unwrap_or_else(|e| e.into_inner()));
    }

    /// One HTTP request answered on `route` with `status`.
    pub fn request(&self, route: &'static str, status: u16) {
        self.with(|c| *c.requests.entry((route, status)).or_default() += 1);
    }

    /// Events received from `source` (`hook` or `log`): queued, already known, of other types.
    pub fn received(&self, source: &'static str, added: usize, duplicates: usize, ignored: usize) {
        self.with(|c| {
            *c.received.entry(source).or_default() += added as u64;
            c.duplicates += duplicates as u64;
            c.ignored += ignored as u64;
        });
    }

    /// An event processed.
    pub fn processed(&self, event_type: &str) {
        self.with(|c| *c.processed.entry(event_type.to_string()).or_default() += 1);
    }

    /// An event parked after repeated failures.
    pub fn parked(&self, event_type: &str) {
        self.with(|c| *c.parked.entry(event_type.to_string()).or_default() += 1);
    }

    /// An event to be retried.
    pub fn retried(&self) {
        self.with(|c| c.retried += 1);
    }

    /// A resync ended with `outcome` (`completed`, `partial`, `failed`, `skipped`).
    pub fn resync(&self, outcome: &'static str, seconds: f64) {
        self.with(|c| {
            *c.resyncs.entry(outcome).or_default() += 1;
            if outcome != "skipped" {
                c.resync_seconds_sum += seconds;
                c.last_resync_seconds = seconds;
            }
        });
    }

    /// The text exposition, with the queue's depth and the Okta client's counters.
    pub fn render(&self, depth: Option<&Depth>, okta: &ClientStats, now_ms: i64) -> String {
        let c = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let mut out = String::new();
        let mut family = |name: &str, kind: &str, help: &str, rows: Vec<(String, String)>| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
            for (labels, value) in rows {
                let _ = writeln!(out, "{name}{labels} {value}");
            }
        };
        family(
            "port_okta_http_requests_total",
            "counter",
            "HTTP requests answered, by route and status.",
            c.requests
                .iter()
                .map(|((r, s), n)| (format!("{{route=\"{r}\",status=\"{s}\"}}"), n.to_string()))
                .collect(),
        );
        family(
            "port_okta_events_received_total",
            "counter",
            "Events queued, by source (hook, log).",
            c.received
                .iter()
                .map(|(s, n)| (format!("{{source=\"{s}\"}}"), n.to_string()))
                .collect(),
        );
        family(
            "port_okta_events_duplicates_total",
            "counter",
            "Events received again (same uuid) and not queued twice.",
            vec![(String::new(), c.duplicates.to_string())],
        );
        family(
            "port_okta_events_ignored_total",
            "counter",
            "Events of types port-okta does not act on.",
            vec![(String::new(), c.ignored.to_string())],
        );
        family(
            "port_okta_events_processed_total",
            "counter",
            "Events processed into the catalog, by type.",
            c.processed.iter().map(|(t, n)| (format!("{{type=\"{t}\"}}"), n.to_string())).collect(),
        );
        family(
            "port_okta_events_parked_total",
            "counter",
            "Events parked after repeated failures, by type.",
            c.parked.iter().map(|(t, n)| (format!("{{type=\"{t}\"}}"), n.to_string())).collect(),
        );
        family(
            "port_okta_events_retries_total",
            "counter",
            "Failed event attempts scheduled for a retry.",
            vec![(String::new(), c.retried.to_string())],
        );
        if let Some(d) = depth {
            family(
                "port_okta_events_queue_depth",
                "gauge",
                "Events waiting to be processed.",
                vec![(String::new(), d.pending.to_string())],
            );
            family(
                "port_okta_events_parked",
                "gauge",
                "Events parked now (see `port-okta events list --parked`).",
                vec![(String::new(), d.parked.to_string())],
            );
            let age =
                d.oldest_pending_received_ms.map_or(0.0, |t| (now_ms - t).max(0) as f64 / 1000.0);
            family(
                "port_okta_events_oldest_age_seconds",
                "gauge",
                "Age of the oldest event waiting to be processed.",
                vec![(String::new(), format!("{age:.3}"))],
            );
        }
        family(
            "port_okta_resyncs_total",
            "counter",
            "Resyncs, by outcome (completed, partial, failed, skipped: one was already running).",
            c.resyncs
                .iter()
                .map(|(o, n)| (format!("{{outcome=\"{o}\"}}"), n.to_string()))
                .collect(),
        );
        family(
            "port_okta_resync_duration_seconds_sum",
            "counter",
            "Seconds spent in resyncs.",
            vec![(String::new(), format!("{:.3}", c.resync_seconds_sum))],
        );
        family(
            "port_okta_last_resync_duration_seconds",
            "gauge",
            "Duration of the last resync.",
            vec![(String::new(), format!("{:.3}", c.last_resync_seconds))],
        );
        family(
            "port_okta_okta_requests_total",
            "counter",
            "HTTP requests sent to Okta (retries included).",
            vec![(String::new(), okta.requests.load(Ordering::Relaxed).to_string())],
        );
        family(
            "port_okta_okta_rate_limited_total",
            "counter",
            "429 answers from Okta.",
            vec![(String::new(), okta.rate_limited.load(Ordering::Relaxed).to_string())],
        );
        out
    }
}
