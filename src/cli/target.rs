//! `--catalog`: which catalog target a command writes to, chosen at run time.

use anyhow::{Context, bail};
use port_okta::catalog::Catalog;
use port_okta::catalog::memory::MemoryCatalog;
use port_okta::catalog::sqlite::SqliteCatalog;
use std::path::PathBuf;
use std::sync::Arc;

/// A catalog target named on the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CatalogTarget {
    /// The embedded catalog: `sqlite:PATH` (or a bare path).
    Sqlite(PathBuf),
}

impl CatalogTarget {
    /// Parses `--catalog`: `sqlite:PATH` or a bare path.
    pub fn parse(target: &str) -> anyhow::Result<Self> {
        if let Some(path) = target.strip_prefix("sqlite:") {
            if path.is_empty() {
                bail!("--catalog sqlite: needs a file path, e.g. sqlite:./port-okta.db");
            }
            return Ok(Self::Sqlite(PathBuf::from(path)));
        }
        if target.starts_with("port") || target.contains("://") {
            bail!(
                "--catalog {target}: only the embedded catalog (sqlite:PATH) is available in this version"
            );
        }
        Ok(Self::Sqlite(PathBuf::from(target)))
    }

    /// Opens the target. A dry run only reads it and never creates it: a missing SQLite file
    /// plans against an empty catalog.
    pub fn open(&self, dry_run: bool) -> anyhow::Result<Arc<dyn Catalog>> {
        match self {
            Self::Sqlite(path) if dry_run && !path.exists() => Ok(Arc::new(MemoryCatalog::new())),
            Self::Sqlite(path) => {
                let catalog = SqliteCatalog::open(path)
                    .with_context(|| format!("opening catalog {}", path.display()))?;
                Ok(Arc::new(catalog))
            }
        }
    }

    /// The embedded catalog file, for commands that only read SQLite.
    pub fn sqlite_path(&self) -> anyhow::Result<&PathBuf> {
        match self {
            Self::Sqlite(path) => Ok(path),
        }
    }
}
