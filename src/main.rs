//! The `port-okta` command line: the only place for `anyhow` and exit codes.

mod cli;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// Keeps a software catalog in step with an Okta organisation.
#[derive(Debug, Parser)]
#[command(name = "port-okta", version, about)]
struct Cli {
    /// Log line format on stderr (`text`, or `json`: one object per line).
    #[arg(long, global = true, env = "LOG_FORMAT", value_enum, default_value = "text")]
    log_format: port_okta::telemetry::LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Mapping playground: map a JSON array of raw Okta items to entities (stdout).
    Map(cli::map::MapArgs),
    /// One full resync of the Okta org into the catalog, then exit.
    Sync(cli::sync::SyncArgs),
    /// Run as a service: live events (Okta event hooks, the System Log) and scheduled resyncs.
    Serve(cli::serve::ServeArgs),
    /// Inspect the durable event queue of `serve`.
    #[command(subcommand)]
    Events(cli::serve::EventsCommand),
    /// Start the Okta simulator, sync it into ./demo-catalog.db, and show the result.
    Demo(cli::demo::DemoArgs),
    /// Inspect the embedded catalog.
    #[command(subcommand)]
    Catalog(cli::catalog::CatalogCommand),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    port_okta::telemetry::init(cli.log_format);
    let result = match cli.command {
        Command::Map(args) => cli::map::run(args),
        Command::Sync(args) => cli::sync::run(args),
        Command::Demo(args) => cli::demo::run(args),
        Command::Serve(args) => cli::serve::run(args),
        Command::Events(cmd) => cli::serve::events(cmd),
        Command::Catalog(cmd) => cli::catalog::run(cmd),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(2)
        }
    }
}
