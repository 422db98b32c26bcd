//! `port-okta sync`.

use std::process::ExitCode;

/// Arguments of `port-okta sync`.
#[derive(Debug, clap::Args)]
pub struct SyncArgs {}

/// Runs `port-okta sync`.
pub fn run(_args: SyncArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("not built yet")
}
