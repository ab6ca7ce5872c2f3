//! Use cases: each glues the domain core to the store (and, later, collectors, the policy
//! engine and sinks). Front ends (the CLI now, the HTTP API later) call these and only format
//! what they return.

pub mod alerts;
pub mod assets;
pub mod check;
pub mod controls;
pub mod decommission;
pub mod drift;
pub mod evidence;
pub mod exceptions;
pub mod export;
pub mod findings;
pub mod gate;
pub mod gate_reports;
pub mod import;
pub mod progress;
pub mod register;
pub mod schedule;
pub mod seal;
pub mod sso;
pub mod sync;
pub mod tokens;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use plumb_core::authz::{self, Action, Identified, Principal};
use plumb_store::{OpenOptions, Store, WriteTx};

use crate::config::Config;

/// Runs CPU-bound work (evaluating policies, comparing a million resources) without holding
/// up the async runtime: on a multi-threaded runtime the worker hands its other tasks to the
/// rest first, so an API request is never stalled behind a check run. Elsewhere (a test's
/// single-threaded runtime) it just runs.
pub fn cpu_bound<T>(work: impl FnOnce() -> T) -> T {
    use tokio::runtime::{Handle, RuntimeFlavor};
    match Handle::try_current().map(|handle| handle.runtime_flavor()) {
        Ok(RuntimeFlavor::MultiThread) => tokio::task::block_in_place(work),
        _ => work(),
    }
}

/// Everything a use case needs: configuration, the store, and who is acting.
#[derive(Debug)]
pub struct Context {
    /// The loaded configuration, shared by every request of a server.
    pub config: Arc<Config>,
    /// The open store.
    pub store: Store,
    /// Who is acting, with their roles: every change is decided for them and recorded as theirs.
    pub principal: Principal,
}

impl Context {
    /// Refuses what the principal may not do (`plumb_core::authz`, the one table).
    pub fn permit(&self, action: Action<'_>) -> anyhow::Result<()> {
        authz::decide(&self.principal, action).map_err(|refusal| crate::error::NotPermitted(refusal).into())
    }

    /// An asset as the role table sees it: its keepers, and whether it is production.
    pub fn asset_ref<'a>(&self, asset: &'a plumb_core::Asset) -> authz::AssetRef<'a> {
        authz::AssetRef {
            owner: asset.owner.as_deref(),
            manager: asset.manager.as_deref(),
            production: asset.environment.as_deref() == Some(self.config.inventory.production.as_str()),
        }
    }

    /// A write transaction recorded for the principal.
    pub async fn begin_write(&self) -> anyhow::Result<WriteTx> {
        Ok(self.store.begin_write(&self.principal.who).await?)
    }
}

/// Where the configuration and database come from, as given on the command line.
#[derive(Clone, Debug, Default)]
pub struct Settings {
    /// `--config`; when absent, `./plumb.toml` if it exists.
    pub config: Option<PathBuf>,
    /// `--database-url`; when absent, the configuration's database.
    pub database_url: Option<String>,
    /// `--actor`; when absent, the OS user.
    pub actor: Option<String>,
}

/// The default configuration file.
pub const DEFAULT_CONFIG: &str = "plumb.toml";

impl Settings {
    /// Loads the configuration: the file named by `--config` (which must exist), else
    /// `./plumb.toml` when present, else built-in defaults.
    pub fn config(&self) -> anyhow::Result<Config> {
        match &self.config {
            Some(path) => Config::load(path),
            None if Path::new(DEFAULT_CONFIG).exists() => Config::load(Path::new(DEFAULT_CONFIG)),
            None => {
                tracing::info!(message = "No plumb.toml here; using built-in defaults (run `plumb init`).");
                Ok(Config::default())
            }
        }
    }

    /// Whether a database is configured: a URL was given, or a configuration file was named or
    /// is here. Gates run in CI without one and then touch no database.
    pub fn database_configured(&self) -> bool {
        self.database_url.is_some() || self.config.is_some() || Path::new(DEFAULT_CONFIG).exists()
    }

    /// The database URL: `--database-url`, else the configuration's.
    pub fn database_url(&self, config: &Config) -> String {
        self.database_url.clone().unwrap_or_else(|| config.database_url())
    }

    /// Loads the configuration and opens the store.
    pub async fn open(&self, options: &OpenOptions) -> anyhow::Result<Context> {
        let config = self.config()?;
        let url = self.database_url(&config);
        let store = Store::open(&url, options).await?;
        let principal = config.role_holders().principal(&self.actor(), Identified::LocalUser);
        if options.migrate {
            // Maintenance of the database itself, owed to whoever opens it first.
            seal::seal_stored_secrets(&store, &config, &principal.who).await?;
        }
        Ok(Context { config: Arc::new(config), store, principal })
    }

    /// Who is acting: `--actor` / `PLUMB_ACTOR`, else the OS user.
    pub fn actor(&self) -> String {
        self.actor
            .clone()
            .filter(|a| !a.trim().is_empty())
            .or_else(|| std::env::var("USER").ok())
            .or_else(|| std::env::var("USERNAME").ok())
            .unwrap_or_else(|| "unknown".to_owned())
    }
}
