//! `plumb audit …`: reviews of what already happened, kept as evidence.

use clap::{Args, Subcommand};
use serde::Serialize;

use plumb_collect::register::RegisterFormat;
use plumb_core::register::RegisterField;

use crate::app::gate_reports;
use crate::app::register::{ENTRY_COLUMNS, RegisterRequest, entry_row};
use crate::app::{self, Settings};
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
    /// Reconcile the inventory with finance's fixed-asset register (policy §6, evidence for
    /// INV-01), as the bi-monthly audit.
    ///
    /// Reads the register export (CSV with any delimiter, or an XLSX workbook's first sheet)
    /// and matches each line to an asset on its asset number (the asset's `financial_ref`),
    /// else on its serial (letters and digits compared, any case). Reports every line and
    /// every hardware asset as matched, matched with differences (location, serial, a
    /// disposed line for an active asset, a decommissioned asset still on the books), only in
    /// the register, only in the inventory, or ambiguous. Columns are found by their usual
    /// names (asset_tag, inventory_number, serial_number, location, status, …) unless named
    /// with --map.
    ///
    /// Recorded as an `audit` run named `register`; each entry that is not a plain match is an
    /// INV-01 finding, resolved by a later audit that no longer reports it. Exit 1 when there
    /// is any.
    Register(RegisterArgs),
}

/// Arguments of `plumb audit register`.
#[derive(Debug, Args)]
pub struct RegisterArgs {
    /// The register as finance exported it.
    file: std::path::PathBuf,
    /// Read the column COLUMN as FIELD (asset_number, serial, location, status, description);
    /// repeat for several.
    #[arg(long = "map", value_name = "COLUMN=FIELD", value_parser = column_field)]
    map: Vec<(String, RegisterField)>,
    /// The file's format [default: from its name: .xlsx and .xlsm are workbooks, anything else
    /// delimited text].
    #[arg(long, value_name = "csv|xlsx")]
    format: Option<RegisterFormat>,
}

fn column_field(text: &str) -> Result<(String, RegisterField), String> {
    let (column, field) =
        text.rsplit_once('=').ok_or_else(|| format!("expected COLUMN=FIELD, found {text:?}"))?;
    Ok((column.to_owned(), field.trim().parse::<RegisterField>().map_err(|err| err.to_string())?))
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
    match command {
        AuditCommand::Changes(args) => changes(settings, format, args).await,
        AuditCommand::Register(args) => register(settings, format, args).await,
    }
}

async fn register(settings: &Settings, format: Format, args: RegisterArgs) -> anyhow::Result<Outcome> {
    let ctx = settings.open(&plumb_store::OpenOptions::default()).await?;
    let request = RegisterRequest { path: &args.file, format: args.format, map: args.map };
    let audit = app::register::audit_register(&ctx, &request).await?;
    let counts: Vec<String> =
        audit.counts.iter().map(|(class, n)| format!("{n} {}", class.as_str())).collect();
    eprintln!(
        "{}: {} line(s) against {} asset(s): {}; {} finding(s) opened, {} resolved; recorded as run {}",
        audit.file,
        audit.register_lines,
        audit.inventory_assets,
        counts.join(", "),
        audit.opened,
        audit.resolved,
        audit.run_id
    );
    let (report, sections) = app::register::report(&audit);
    let out = &mut std::io::stdout();
    if !report::write_findings(out, format, &report.findings, &sections)? {
        match format {
            Format::Json => report::write_json(out, &report.document)?,
            _ => {
                let rows: Vec<serde_json::Map<String, serde_json::Value>> = audit
                    .entries
                    .iter()
                    .map(|entry| {
                        ENTRY_COLUMNS
                            .iter()
                            .map(|c| (*c).to_owned())
                            .zip(entry_row(entry).into_iter().map(Into::into))
                            .collect()
                    })
                    .collect();
                let view =
                    View { table: &["class", "line", "asset_number", "key", "reason"], all: ENTRY_COLUMNS };
                report::list(out, format, view, &rows, None)?;
            }
        }
    }
    Ok(if report.blocks() { Outcome::Blocking } else { Outcome::Clean })
}

async fn changes(settings: &Settings, format: Format, args: ChangesArgs) -> anyhow::Result<Outcome> {
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
    let result = app::gate::audit_changes(settings, &args.api_url, &token, &repo, since, until).await?;
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
pub(crate) fn instant(flag: &str, text: &str) -> anyhow::Result<jiff::Timestamp> {
    if let Ok(date) = text.parse::<jiff::civil::Date>() {
        return Ok(jiff::tz::TimeZone::UTC.to_timestamp(date.to_datetime(jiff::civil::Time::midnight()))?);
    }
    text.parse::<jiff::Timestamp>().map_err(|_| {
        BadInput(format!("{flag} {text:?}: expected a date (2025-01-31) or an RFC 3339 time")).into()
    })
}
