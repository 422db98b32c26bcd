//! `port-okta demo`.

use std::process::ExitCode;

/// Arguments of `port-okta demo`.
#[derive(Debug, clap::Args)]
pub struct DemoArgs {}

/// Runs `port-okta demo`.
pub fn run(_args: DemoArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("not built yet")
}
