//! `port-okta catalog …`.

use std::process::ExitCode;

/// `port-okta catalog` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum CatalogCommand {}

/// Runs a `port-okta catalog` subcommand.
pub fn run(cmd: CatalogCommand) -> anyhow::Result<ExitCode> {
    match cmd {}
}
