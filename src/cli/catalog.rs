//! `port-okta catalog …`: inspect the embedded catalog, or serve it over Port's API.

use super::target::CatalogTarget;
use anyhow::{Context, bail};
use port_okta::catalog::Catalog;
use port_okta::catalog::sqlite::SqliteCatalog;
use port_okta::catalog_api::{ServeConfig, spawn};
use port_okta::secret::Secret;
use std::io::Write;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

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
    /// Serve the embedded catalog over the subset of Port's REST API that Ocean and port-okta
    /// use (prints `listening on http://ADDR`, stops on SIGINT/SIGTERM).
    Serve(ServeArgs),
}

/// Arguments of `port-okta catalog serve`.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on (port 0: any free port).
    #[arg(long, default_value = "127.0.0.1:8787")]
    pub listen: SocketAddr,
    /// The catalog: `sqlite:PATH` (created if missing).
    #[arg(long, default_value = "sqlite:./port-okta.db")]
    pub catalog: String,
    /// The client id accepted by `POST /v1/auth/access_token`.
    #[arg(long, env = "OCEAN__PORT__CLIENT_ID", hide_env_values = true)]
    pub client_id: Option<String>,
    /// Its secret (prefer the environment variable: a flag shows in `ps`).
    #[arg(long, env = "OCEAN__PORT__CLIENT_SECRET", hide_env_values = true, value_parser = secret)]
    pub client_secret: Option<Secret>,
    /// Largest request body accepted, in bytes (larger ones get 413).
    #[arg(long, default_value_t = 10 << 20)]
    pub max_body_bytes: usize,
    /// Lifetime of an access token, in seconds.
    #[arg(long, default_value_t = 3600)]
    pub token_ttl_secs: u64,
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
        CatalogCommand::Serve(args) => serve(args),
    }
}

fn secret(s: &str) -> Result<Secret, String> {
    Ok(Secret::new(s))
}

fn serve(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let target = CatalogTarget::parse(&args.catalog)?;
    let path = target.sqlite_path()?.clone();
    let (Some(id), Some(secret)) = (args.client_id, args.client_secret) else {
        bail!(
            "catalog serve needs the client id and secret it accepts: --client-id/--client-secret or OCEAN__PORT__CLIENT_ID/OCEAN__PORT__CLIENT_SECRET"
        );
    };
    let mut config = ServeConfig::new(path, &id, secret);
    config.max_body_bytes = args.max_body_bytes;
    config.token_ttl = Duration::from_secs(args.token_ttl_secs.max(1));
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async {
        // Signal handlers first, so a supervisor that signals as soon as it reads the address
        // line cannot kill the process with the default action.
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        let server = spawn(config, args.listen).await.context("starting catalog serve")?;
        {
            let mut out = std::io::stdout().lock();
            writeln!(out, "listening on {}", server.base_url())?;
            out.flush()?;
        }
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
        tracing::info!(stats = ?server.stats(), "catalog serve stopping");
        server.shutdown().await;
        Ok(ExitCode::SUCCESS)
    })
}
