//! `port-okta catalog …`: inspect the embedded catalog.

use super::target::CatalogTarget;
use anyhow::bail;
use port_okta::catalog::Catalog;
use port_okta::catalog::sqlite::SqliteCatalog;
use std::process::ExitCode;

/// `port-okta catalog` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum CatalogCommand {
    /// Print every entity as a JSON array sorted by blueprint then identifier.
    Export {
        /// The catalog: `sqlite:PATH`.
        #[arg(long, default_value = "sqlite:./port-okta.db")]
        catalog: String,
    },
    /// Print the last runs (resyncs): started, ended, status (running, completed, partial,
    /// failed, interrupted) and why.
    Status {
        /// The catalog: `sqlite:PATH`.
        #[arg(long, default_value = "sqlite:./port-okta.db")]
        catalog: String,
        /// How many runs, newest first.
        #[arg(long, default_value_t = 10)]
        limit: u32,
        /// Print them as a JSON array.
        #[arg(long)]
        json: bool,
    },
}

/// Runs a `port-okta catalog` subcommand.
pub fn run(cmd: CatalogCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        CatalogCommand::Export { catalog } => {
            let target = CatalogTarget::parse(&catalog)?;
            let path = target.sqlite_path()?;
            if !path.exists() {
                bail!("catalog {} does not exist (run `port-okta sync` first)", path.display());
            }
            let catalog = SqliteCatalog::open(path)?;
            let runtime = tokio::runtime::Builder::new_current_thread().build()?;
            let entities = runtime.block_on(catalog.export())?;
            let mut out = std::io::stdout().lock();
            serde_json::to_writer_pretty(&mut out, &entities)?;
            std::io::Write::write_all(&mut out, b"\n")?;
            Ok(ExitCode::SUCCESS)
        }
        CatalogCommand::Status { catalog, limit, json } => {
            let target = CatalogTarget::parse(&catalog)?;
            let path = target.sqlite_path()?;
            if !path.exists() {
                bail!("catalog {} does not exist (run `port-okta sync` first)", path.display());
            }
            let catalog = SqliteCatalog::open(path)?;
            let runtime = tokio::runtime::Builder::new_current_thread().enable_time().build()?;
            let runs = runtime.block_on(catalog.runs(limit))?;
            if json {
                println!("{}", serde_json::to_string_pretty(&runs)?);
                return Ok(ExitCode::SUCCESS);
            }
            if runs.is_empty() {
                println!("no runs recorded in {}", path.display());
            }
            for r in &runs {
                println!(
                    "{}  {:<11} started {}  ended {}  pid {}  owner {}{}",
                    r.run_id,
                    r.status,
                    r.started,
                    r.ended.as_deref().unwrap_or("-"),
                    r.pid,
                    r.owner,
                    r.detail.as_deref().map(|d| format!("  ({d})")).unwrap_or_default()
                );
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
