//! `plumb db`: the schema.

use clap::Subcommand;
use plumb_store::OpenOptions;
use serde::Serialize;

use crate::app::Settings;
use crate::cli::stdout;
use crate::error::Outcome;
use crate::report::{self, Format, View};

/// Database schema: apply migrations, show which are applied.
#[derive(Debug, Subcommand)]
pub enum DbCommand {
    /// Apply pending migrations (every command also does this on start).
    Migrate,
    /// List the migrations this plumb knows and whether the database has them.
    Status,
}

#[derive(Serialize)]
struct Migration {
    version: i64,
    description: String,
    applied: bool,
}

const VIEW: View =
    View { table: &["version", "description", "applied"], all: &["version", "description", "applied"] };

pub async fn run(settings: &Settings, format: Format, command: DbCommand) -> anyhow::Result<Outcome> {
    let migrate = matches!(command, DbCommand::Migrate);
    let ctx = settings.open(&OpenOptions { migrate: false, ..OpenOptions::default() }).await?;
    if migrate {
        let applied = ctx.store.migrate().await?;
        eprintln!("applied {} migration(s)", applied.len());
    }
    let states: Vec<Migration> = ctx
        .store
        .migration_status()
        .await?
        .into_iter()
        .map(|m| Migration { version: m.version, description: m.description, applied: m.applied })
        .collect();
    report::list(&mut stdout(), format, VIEW, &states, None)?;
    if ctx.store.search_index_missing().await? {
        eprintln!("warning: {}", plumb_store::NO_SEARCH_INDEX);
    }
    Ok(Outcome::Clean)
}
