//! `port-okta map`.

use std::process::ExitCode;

/// Arguments of `port-okta map`.
#[derive(Debug, clap::Args)]
pub struct MapArgs {}

/// Runs `port-okta map`.
pub fn run(_args: MapArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("not built yet")
}
