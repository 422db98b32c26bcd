//! Logs: every log line goes through `tracing`, with structured fields and never a secret.
//!
//! Human-readable on a terminal (ANSI colours only there), one JSON object per line with
//! `--log-format json` or `LOG_FORMAT=json`. The level comes from `RUST_LOG` (full filter
//! syntax), else Ocean's `APPLICATION__LOG_LEVEL` (`DEBUG`, `INFO`, `WARNING`, …), else `info`.
//! Logs go to stderr; while a progress bar is on screen, each line is written above it.

use std::io::{IsTerminal, Write};
use std::sync::Mutex;
use tracing_subscriber::EnvFilter;

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

/// The progress bar log lines must not tear.
static BAR: Mutex<Option<indicatif::ProgressBar>> = Mutex::new(None);

/// Shows `bar` (or, with `None`, no bar) below the log lines.
pub fn set_progress_bar(bar: Option<indicatif::ProgressBar>) {
    *BAR.lock().unwrap_or_else(|e| e.into_inner()) = bar;
}

/// The level filter from `RUST_LOG`, else `APPLICATION__LOG_LEVEL`, else `info`.
pub fn filter_from(rust_log: Option<&str>, app_level: Option<&str>) -> EnvFilter {
    if let Some(f) = rust_log.filter(|s| !s.trim().is_empty())
        && let Ok(filter) = EnvFilter::try_new(f)
    {
        return filter;
    }
    let level = match app_level.map(|l| l.trim().to_ascii_lowercase()).as_deref() {
        Some("trace") => "trace",
        Some("debug") => "debug",
        Some("warn" | "warning") => "warn",
        Some("error" | "critical" | "fatal") => "error",
        Some("off" | "none") => "off",
        _ => "info",
    };
    EnvFilter::new(level)
}

/// Installs the process's log subscriber (once; later calls do nothing).
pub fn init(format: LogFormat) {
    let filter = filter_from(
        std::env::var("RUST_LOG").ok().as_deref(),
        std::env::var("APPLICATION__LOG_LEVEL").ok().as_deref(),
    );
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(|| BarAwareStderr)
        .with_target(false);
    let _ = match format {
        LogFormat::Text => builder.with_ansi(std::io::stderr().is_terminal()).try_init(),
        LogFormat::Json => builder.json().flatten_event(true).with_ansi(false).try_init(),
    };
}

/// Stderr that suspends the progress bar while a line is written.
struct BarAwareStderr;

impl Write for BarAwareStderr {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let bar = BAR.lock().unwrap_or_else(|e| e.into_inner()).clone();
        match bar {
            Some(bar) => bar.suspend(|| std::io::stderr().write(buf)),
            None => std::io::stderr().write(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn level_comes_from_rust_log_then_ocean_then_info() {
        assert_eq!(filter_from(Some("debug"), Some("ERROR")).to_string(), "debug");
        assert_eq!(filter_from(None, Some("WARNING")).to_string(), "warn");
        assert_eq!(filter_from(Some(""), Some("DEBUG")).to_string(), "debug");
        assert_eq!(filter_from(None, None).to_string(), "info");
        assert_eq!(filter_from(None, Some("CRITICAL")).to_string(), "error");
    }
}
