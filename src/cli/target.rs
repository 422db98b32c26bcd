//! `--catalog`: which catalog target a command writes to, chosen at run time, and where the
//! mapping comes from (a file, the built-in default, or the integration object in Port).

use anyhow::{Context, bail};
use port_okta::catalog::Catalog;
use port_okta::catalog::memory::MemoryCatalog;
use port_okta::catalog::sqlite::SqliteCatalog;
use port_okta::config::{self, PortAppConfig, settings::Settings};
use port_okta::port::{PortCatalog, PortConfig, RetryPolicy};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The embedded catalog used when nothing else is chosen.
pub const DEFAULT_SQLITE: &str = "./port-okta.db";

/// A catalog target named on the command line (or implied by the environment).
#[derive(Debug, Clone)]
pub enum CatalogTarget {
    /// The embedded catalog: `sqlite:PATH` (or a bare path).
    Sqlite(PathBuf),
    /// Port's REST API (`--catalog port`, or `OCEAN__PORT__CLIENT_ID`/`…_SECRET` set).
    Port(Box<PortConfig>),
}

impl CatalogTarget {
    /// Parses an embedded-catalog `--catalog`: `sqlite:PATH` or a bare path.
    pub fn parse(target: &str) -> anyhow::Result<Self> {
        if let Some(path) = target.strip_prefix("sqlite:") {
            if path.is_empty() {
                bail!("--catalog sqlite: needs a file path, e.g. sqlite:./port-okta.db");
            }
            return Ok(Self::Sqlite(PathBuf::from(path)));
        }
        if target == "port" || target.starts_with("port:") || target.contains("://") {
            bail!(
                "--catalog {target}: this command needs the embedded catalog (sqlite:PATH); Port is chosen with `--catalog port` on `sync`, its URL by OCEAN__PORT__BASE_URL"
            );
        }
        if let Some((scheme, _)) = target.split_once(':')
            && scheme.len() > 1
            && scheme.bytes().all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b))
        {
            bail!(
                "--catalog {target}: unknown catalog `{scheme}:`; use sqlite:PATH for the embedded catalog (sqlite:{target} for a file of that name), or `port`"
            );
        }
        Ok(Self::Sqlite(PathBuf::from(target)))
    }

    /// The target of `sync`: `--catalog sqlite:PATH` when given; Port with `--catalog port`,
    /// or when no `--catalog` is given and Port credentials are set; else `./port-okta.db`.
    pub fn resolve(flag: Option<&str>, settings: &Settings) -> anyhow::Result<Self> {
        let credentials =
            settings.port_client_id.is_some() || settings.port_client_secret.is_some();
        match flag {
            Some("port") => Ok(Self::Port(Box::new(port_config(settings)?))),
            Some(other) => Self::parse(other),
            None if credentials => Ok(Self::Port(Box::new(port_config(settings)?))),
            None => Ok(Self::Sqlite(PathBuf::from(DEFAULT_SQLITE))),
        }
    }

    /// Opens the target. A dry run only reads it and never creates it: a missing SQLite file
    /// plans against an empty catalog. Call inside the runtime the catalog will be used in.
    pub fn open(&self, dry_run: bool) -> anyhow::Result<Arc<dyn Catalog>> {
        match self {
            Self::Sqlite(path) if dry_run && !path.exists() => Ok(Arc::new(MemoryCatalog::new())),
            Self::Sqlite(path) => {
                let catalog = SqliteCatalog::open(path)
                    .with_context(|| format!("opening catalog {}", path.display()))?;
                Ok(Arc::new(catalog))
            }
            Self::Port(config) => Ok(Arc::new(PortCatalog::new((**config).clone())?)),
        }
    }

    /// The embedded catalog file, for commands that only read SQLite.
    pub fn sqlite_path(&self) -> anyhow::Result<&PathBuf> {
        match self {
            Self::Sqlite(path) => Ok(path),
            Self::Port(_) => {
                bail!("this command reads the embedded catalog (sqlite:PATH), not Port")
            }
        }
    }

    /// The mapping to run with: `--mapping FILE` when given (for Port, it overrides the
    /// integration's mapping, and says so); for Port, the integration object's `config`,
    /// validated like a file (the integration is created with the default mapping if missing);
    /// else the built-in default. A dry run creates nothing in Port.
    pub fn mapping(&self, file: Option<&Path>, dry_run: bool) -> anyhow::Result<PortAppConfig> {
        match (file, self) {
            (Some(path), target) => {
                if let Self::Port(c) = target {
                    tracing::info!(integration = %c.integration_identifier, mapping = %path.display(), "--mapping overrides the integration's mapping in Port");
                }
                config::load_file(path).map_err(|d| anyhow::anyhow!("{d}"))
            }
            (None, Self::Port(c)) => port_mapping(c, dry_run),
            (None, Self::Sqlite(_)) => Ok(config::builtin_default()),
        }
    }
}

/// Port settings from the environment; both credentials are needed.
fn port_config(settings: &Settings) -> anyhow::Result<PortConfig> {
    let (Some(id), Some(secret)) = (&settings.port_client_id, &settings.port_client_secret) else {
        bail!(
            "the Port catalog needs OCEAN__PORT__CLIENT_ID and OCEAN__PORT__CLIENT_SECRET (or PORT_CLIENT_ID / PORT_CLIENT_SECRET); {} is not set",
            if settings.port_client_id.is_none() { "the client id" } else { "the client secret" }
        );
    };
    let mut c = PortConfig::new(
        &settings.port_base_url,
        id,
        secret.clone(),
        &settings.integration_identifier,
    );
    c.batch_max_len = settings.upsert_batch_max_length;
    c.batch_max_bytes = settings.upsert_batch_max_bytes;
    c.retry = RetryPolicy { max_retries: settings.port_max_retries, ..RetryPolicy::default() };
    c.initialize_resources = settings.initialize_port_resources;
    c.send_examples = settings.send_raw_data_examples;
    Ok(c)
}

/// The integration's mapping in Port, read (and the integration created if missing) on a
/// short-lived client of its own.
fn port_mapping(c: &PortConfig, dry_run: bool) -> anyhow::Result<PortAppConfig> {
    let default = port_okta::config::builtin_default_json();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let config = runtime.block_on(async {
        let port = PortCatalog::new(c.clone())?;
        port.read_integration_config(&default, !dry_run).await
    });
    let config = config.with_context(|| {
        format!("reading the mapping of integration {} from Port", c.integration_identifier)
    })?;
    let name = format!("<Port integration {} config>", c.integration_identifier);
    let text = serde_json::to_string_pretty(&config)?;
    let parsed = config::parse_str(&name, &text).map_err(|d| {
        anyhow::anyhow!("the integration's mapping in Port is not valid (lines count in its JSON, pretty-printed):\n{d}")
    })?;
    tracing::info!(integration = %c.integration_identifier, resources = parsed.resources.len(), "mapping read from the integration in Port");
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalog_arguments_name_a_file_or_are_refused_with_the_reason() {
        let path = |t: &str| match CatalogTarget::parse(t).unwrap() {
            CatalogTarget::Sqlite(p) => p,
            CatalogTarget::Port(_) => panic!("{t} is not Port"),
        };
        assert_eq!(path("sqlite:./a.db"), PathBuf::from("./a.db"));
        assert_eq!(path("./b.db"), PathBuf::from("./b.db"));
        assert_eq!(path("sqlite:memory:"), PathBuf::from("memory:"));
        for bad in ["memory:", "postgres:x", "https://port.io", "port", "sqlite:"] {
            let err = CatalogTarget::parse(bad).err().map(|e| e.to_string());
            assert!(err.as_deref().is_some_and(|e| e.contains(bad)), "{bad}: {err:?}");
        }
    }
}
