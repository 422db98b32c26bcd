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
    }
}
