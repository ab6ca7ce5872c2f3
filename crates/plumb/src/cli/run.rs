//! `plumb run`: the recorded runs (syncs, drift scans, checks, gates, audits, reminders and
//! scheduled jobs), the evidence.

use clap::Subcommand;
use plumb_core::model::RunKind;
use plumb_store::OpenOptions;

use crate::app::Settings;
use crate::cli::stdout;
use crate::error::Outcome;
use crate::report::{self, Format, View};

/// Recorded runs of sync, drift, check, gate, audit, reminder and the scheduled jobs of `plumb
/// serve` (job): what ran, on what, with what result.
#[derive(Debug, Subcommand)]
pub enum RunCommand {
    /// The most recent runs, newest first.
    List {
        /// Only runs of this kind: sync, drift, check, gate, audit, reminder, job.
        #[arg(long, value_parser = crate::cli::word::<RunKind>)]
        kind: Option<RunKind>,
        /// At most this many.
        #[arg(long, default_value_t = 20)]
        limit: usize,
    },
    /// One run with everything it recorded.
    Show {
        /// The run's id.
        id: String,
    },
}

const VIEW: View = View {
    table: &["id", "kind", "name", "started_at", "outcome", "counts"],
    all: &[
        "id",
        "kind",
        "name",
        "started_at",
        "finished_at",
        "actor",
        "outcome",
        "inputs",
        "counts",
        "details",
    ],
};

pub async fn run(settings: &Settings, format: Format, command: RunCommand) -> anyhow::Result<Outcome> {
    let ctx = settings.open(&OpenOptions::default()).await?;
    match command {
        RunCommand::List { kind, limit } => {
            let runs = crate::app::findings::runs(&ctx, kind, limit).await?;
            report::list(&mut stdout(), format, VIEW, &runs, None)?;
        }
        RunCommand::Show { id } => {
            let run = crate::app::findings::run(&ctx, &id).await?;
            report::one(&mut stdout(), format, VIEW, &run)?;
        }
    }
    Ok(Outcome::Clean)
}
