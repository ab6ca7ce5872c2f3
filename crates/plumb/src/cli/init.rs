//! `plumb init`: the commented configuration and the database.

use std::path::PathBuf;

use clap::Args;
use plumb_store::{OpenOptions, Store};

use crate::app::{DEFAULT_CONFIG, Settings};
use crate::config::{Config, TEMPLATE};
use crate::error::{BadInput, Outcome};

/// Write a commented plumb.toml that encodes the policy, and create the database.
///
/// The file names the role holders (head_of_product, sre_lead, infosec_manager), the
/// environments and classification levels, the cloud tag mapping, the schedule and the
/// controls INV-01, CFG-01 and CFG-02. Edit it, then re-run any command: the database is
/// migrated automatically.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// Overwrite an existing configuration file.
    #[arg(long)]
    force: bool,
}

pub async fn run(settings: &Settings, args: InitArgs) -> anyhow::Result<Outcome> {
    let path = settings.config.clone().unwrap_or_else(|| PathBuf::from(DEFAULT_CONFIG));
    if path.exists() && !args.force {
        return Err(BadInput(format!(
            "{} already exists; keep it, or pass --force to overwrite it with the template",
            path.display()
        ))
        .into());
    }
    std::fs::write(&path, TEMPLATE)
        .map_err(|err| BadInput(format!("cannot write {}: {err}", path.display())))?;
    let config = Config::load(&path)?;
    let url = settings.database_url(&config);
    let store = Store::open(&url, &OpenOptions::default()).await?;
    store.close().await;
    eprintln!("wrote {}; database ready at {}", path.display(), plumb_store::redact(&url));
    eprintln!("next: set the [roles] to real people, then `plumb asset import FILE` or `plumb asset add`");
    Ok(Outcome::Clean)
}
