//! `plumb audit …`: reviews of what already happened, kept as evidence.

use clap::{Args, Subcommand};
use serde::Serialize;

use crate::app::Settings;
use crate::app::gate as app;
use crate::app::gate_reports;
use crate::cli::gate::{emit, github_token, repo};
use crate::error::{BadInput, Outcome};
use crate::report::{self, Format, View};

/// Audits kept as evidence for the controls.
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// List every pull request merged into the default branch in a period and flag those
    /// merged without an independent approval of their head commit (evidence for CFG-01).
    ///
    /// Reads GITHUB_TOKEN. Exit 1 when any is flagged. With a database configured, the list
    /// is recorded as an `audit` run named `changes`.
    Changes(ChangesArgs),
}

/// Arguments of `plumb audit changes`.
#[derive(Debug, Args)]
pub struct ChangesArgs {
    /// The repository, OWNER/NAME.
    #[arg(long, value_name = "OWNER/NAME")]
    repo: String,
    /// Start of the period (inclusive): a date (UTC) or an RFC 3339 time.
    #[arg(long, value_name = "DATE")]
    since: String,
    /// End of the period (exclusive) [default: now].
    #[arg(long, value_name = "DATE")]
    until: Option<String>,
    /// The GitHub API (GitHub Enterprise: https://HOST/api/v3).
    #[arg(long, value_name = "URL", env = "GITHUB_API_URL", default_value = "https://api.github.com")]
    api_url: String,
}

pub async fn run(settings: &Settings, format: Format, command: AuditCommand) -> anyhow::Result<Outcome> {
    let AuditCommand::Changes(args) = command;
    if format == Format::Csv {
        return Err(BadInput("audit changes prints table, json, sarif or junit, not csv".to_owned()).into());
    }
    let repo = repo(&args.repo)?;
    let since = instant("--since", &args.since)?;
    let until = match &args.until {
        Some(text) => instant("--until", text)?,
        None => jiff::Timestamp::now(),
    };
    if until <= since {
        return Err(BadInput(format!("--until {until} is not after --since {since}")).into());
    }
    let token = github_token()?;
    let result = app::audit_changes(settings, &args.api_url, &token, &repo, since, until).await?;
    let report = gate_reports::changes(&repo, since, until, &result);
    let flagged = report.findings.findings.len();
    eprintln!(
        "{repo} {}: {} pull request(s) merged from {since} to {until}, {flagged} flagged",
        result.branch,
        result.changes.len()
    );
    if let Some(run) = &result.run_id {
        eprintln!("recorded as run {run}");
    }
    let rows: Vec<Row> = result
        .changes
        .iter()
        .map(|c| Row {
            number: c.number,
            merged_at: c.merged_at.clone(),
            author: c.author.clone(),
            approved_by: c.approved_by.join(", "),
            flag: c.flag.clone().unwrap_or_default(),
            title: c.title.clone(),
        })
        .collect();
    emit(format, &report, |out| {
        let columns = &["number", "merged_at", "author", "approved_by", "flag", "title"];
        report::list(out, Format::Table, View { table: columns, all: columns }, &rows, None)
    })
}

#[derive(Serialize)]
struct Row {
    number: u64,
    merged_at: String,
    author: String,
    approved_by: String,
    flag: String,
    title: String,
}

/// A date (its first instant, UTC) or an RFC 3339 time.
fn instant(flag: &str, text: &str) -> anyhow::Result<jiff::Timestamp> {
    if let Ok(date) = text.parse::<jiff::civil::Date>() {
        return Ok(jiff::tz::TimeZone::UTC.to_timestamp(date.to_datetime(jiff::civil::Time::midnight()))?);
    }
    text.parse::<jiff::Timestamp>().map_err(|_| {
        BadInput(format!("{flag} {text:?}: expected a date (2025-01-31) or an RFC 3339 time")).into()
    })
}
