//! `plumb schedule`: what `plumb serve` runs when.

use clap::Args;
use plumb_store::OpenOptions;

use crate::app::{Settings, schedule};
use crate::cli::stdout;
use crate::error::Outcome;
use crate::report::{self, Format, View};

/// Show the [schedule] of plumb.toml as `plumb serve` keeps it: each job's cron expression
/// (UTC), its next slots, how its last slot ended (and which server ran it, which run records
/// it), and a slot missed while no server ran (it runs once when one starts).
///
/// Check what an expression means before relying on it: "bi-monthly" (policy §6) is read both
/// as every second month (`0 9 1 */2 *`) and as twice a month (`0 9 1,15 * *`).
#[derive(Debug, Args)]
pub struct ScheduleArgs {
    /// How many upcoming slots to show per job.
    #[arg(long, default_value_t = 3, value_name = "N")]
    next: usize,
}

const VIEW: View = View {
    table: &["job", "cron", "next", "last_slot", "last_outcome", "missed"],
    all: &[
        "job",
        "cron",
        "next",
        "last_slot",
        "last_holder",
        "last_outcome",
        "last_error",
        "last_run",
        "missed",
    ],
};

pub async fn run(settings: &Settings, format: Format, args: ScheduleArgs) -> anyhow::Result<Outcome> {
    let ctx = settings.open(&OpenOptions::default()).await?;
    let planned = schedule::plan(&ctx, args.next).await?;
    if planned.is_empty() {
        eprintln!("no [schedule] in plumb.toml: `plumb serve` runs no job (see `plumb init` for an example)");
    }
    report::list(&mut stdout(), format, VIEW, &planned, None)?;
    Ok(Outcome::Clean)
}
