//! `plumb log`: the event history as a whole.

use clap::Subcommand;
use plumb_store::{OpenOptions, Verification};
use serde_json::json;

use crate::app::Settings;
use crate::cli::stdout;
use crate::error::Outcome;
use crate::report::{self, Format};

/// The tamper-evident event log.
#[derive(Debug, Subcommand)]
pub enum LogCommand {
    /// Check the hash chain of every event, then that every asset, finding, scope status and
    /// run still says what its history says; exit 1 and name the first broken event (an event
    /// edited, deleted, inserted or reordered) or the first row edited beside the chain.
    Verify,
}

pub async fn run(settings: &Settings, format: Format, command: LogCommand) -> anyhow::Result<Outcome> {
    let LogCommand::Verify = command;
    let ctx = settings.open(&OpenOptions::default()).await?;
    let verification = ctx.store.verify_events().await?;
    let (value, outcome) = match &verification {
        Verification::Intact { events, head } => {
            (json!({"status": "intact", "events": events, "head": head}), Outcome::Clean)
        }
        Verification::Broken(broken) => (
            json!({"status": "broken", "first_broken_seq": broken.seq(), "reason": broken.to_string()}),
            Outcome::Blocking,
        ),
        Verification::Disagrees { events, mismatch } => (
            json!({"status": "edited", "events": events, "table": mismatch.table, "row": mismatch.row, "reason": mismatch.to_string()}),
            Outcome::Blocking,
        ),
    };
    match (format, &verification) {
        (Format::Table, Verification::Intact { events, head }) => {
            println!(
                "verified {events} events; chain intact; every row agrees with its history; head {head}"
            );
        }
        (Format::Table, Verification::Broken(broken)) => println!("chain broken: {broken}"),
        (Format::Table, Verification::Disagrees { mismatch, .. }) => {
            println!("chain intact, but a row was edited beside it: {mismatch}");
        }
        _ => report::one(
            &mut stdout(),
            format,
            report::View {
                table: &[],
                all: &["status", "events", "head", "first_broken_seq", "table", "row", "reason"],
            },
            &value,
        )?,
    }
    Ok(outcome)
}
