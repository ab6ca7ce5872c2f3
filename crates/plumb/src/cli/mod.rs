//! The command line: global flags, one file per command group, and dispatch.

mod asset;
mod audit;
mod check;
mod db;
mod drift;
mod evidence;
mod examples;
mod exception;
mod gate;
mod init;
mod log;
mod progress;
mod run;
mod schedule;
mod serve;
mod sync;
mod token;

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::app::Settings;
use crate::error::{BadInput, Outcome};
use crate::report::Format;

/// plumb keeps an organisation's infrastructure inventoried, hardened and provably so.
///
/// It keeps the authoritative asset inventory (owner, classification, location, lifecycle
/// status) with a tamper-evident history of every change, enforces the production ownership
/// rule, and stores everything in SQLite by default or PostgreSQL at scale.
///
/// Start with `plumb init`, then `plumb asset import FILE` or `plumb asset add`.
#[derive(Debug, Parser)]
#[command(name = "plumb", version, propagate_version = true, max_term_width = 100)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

/// The heading global flags are listed under in every command's help, apart from its own.
const GLOBAL: &str = "Global options";

/// The command line as parsed: the derived definition with every command's examples.
pub fn parse() -> Cli {
    use clap::{CommandFactory, FromArgMatches};
    let matches = examples::attach(Cli::command()).get_matches();
    Cli::from_arg_matches(&matches).unwrap_or_else(|err| err.exit())
}

/// Flags every command accepts.
#[derive(Debug, Args)]
pub struct Global {
    /// Configuration file [default: ./plumb.toml when present, else built-in defaults].
    #[arg(long, global = true, env = "PLUMB_CONFIG", value_name = "FILE", help_heading = GLOBAL)]
    pub config: Option<PathBuf>,

    /// Database: sqlite://PATH or postgres://USER@HOST/DB [default: the configuration's].
    #[arg(long, global = true, env = "PLUMB_DATABASE_URL", value_name = "URL", hide_env_values = true, help_heading = GLOBAL)]
    pub database_url: Option<String>,

    /// Who the changes are recorded for in the history [default: the OS user].
    #[arg(long, global = true, env = "PLUMB_ACTOR", value_name = "EMAIL", help_heading = GLOBAL)]
    pub actor: Option<String>,

    /// Output: aligned table, JSON or CSV with the API's field names; checks, drift, gates and
    /// audits also print SARIF 2.1.0 (code scanning), JUnit XML (CI test reports) and HTML.
    #[arg(short, long, global = true, value_enum, default_value_t = Output(Format::Table), help_heading = GLOBAL)]
    pub output: Output,

    /// Log more to standard error (-v info, -vv debug); PLUMB_LOG takes tracing filters.
    #[arg(short, long, global = true, action = clap::ArgAction::Count, help_heading = GLOBAL)]
    pub verbose: u8,

    /// Log lines as text for people, or one JSON object per line for a log pipeline (the
    /// request logs of `plumb serve` with their request id, method, route, status, duration).
    #[arg(long, global = true, env = "PLUMB_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text, help_heading = GLOBAL)]
    pub log_format: LogFormat,
}

/// How log lines are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// `LEVEL message key=value …`.
    Text,
    /// One JSON object per line.
    Json,
}

impl Global {
    fn settings(&self) -> Settings {
        Settings {
            config: self.config.clone(),
            database_url: self.database_url.clone(),
            actor: self.actor.clone(),
        }
    }
}

#[derive(Debug, Subcommand)]
#[allow(clippy::large_enum_variant, reason = "parsed once per process")]
pub enum Command {
    Init(init::InitArgs),
    #[command(subcommand)]
    Asset(asset::AssetCommand),
    #[command(subcommand)]
    Db(db::DbCommand),
    #[command(subcommand)]
    Log(log::LogCommand),
    Sync(sync::SyncArgs),
    #[command(subcommand)]
    Run(run::RunCommand),
    Check(check::CheckArgs),
    Drift(drift::DriftArgs),
    #[command(subcommand)]
    Policy(check::PolicyCommand),
    #[command(subcommand)]
    Gate(gate::GateCommand),
    #[command(subcommand)]
    Audit(audit::AuditCommand),
    Evidence(evidence::EvidenceArgs),
    #[command(subcommand)]
    Exception(exception::ExceptionCommand),
    #[command(subcommand)]
    Token(token::TokenCommand),
    Serve(serve::ServeArgs),
    Schedule(schedule::ScheduleArgs),
}

impl Command {
    /// Whether the command prints findings (and so also SARIF and JUnit) rather than records.
    fn prints_findings(&self) -> bool {
        matches!(self, Command::Gate(_) | Command::Audit(_) | Command::Check(_) | Command::Drift(_))
    }

    /// Whether the command prints a page of its own in this format (a certificate as HTML).
    fn prints_page(&self, format: Format) -> bool {
        format == Format::Html && matches!(self, Command::Asset(asset::AssetCommand::Certificate { .. }))
    }
}

/// Runs the parsed command.
pub async fn run(cli: Cli) -> anyhow::Result<Outcome> {
    let settings = cli.global.settings();
    let format = cli.global.output.0;
    // Refused before anything runs, so a write command never succeeds and then fails to print.
    if !format.is_for_records() && !cli.command.prints_findings() && !cli.command.prints_page(format) {
        return Err(BadInput(format!(
            "-o {} is for `plumb check`, `plumb drift`, `plumb gate` and `plumb audit`; this command prints \
             table, json or csv",
            format.as_str()
        ))
        .into());
    }
    match cli.command {
        Command::Init(args) => init::run(&settings, args).await,
        Command::Asset(command) => asset::run(&settings, format, command).await,
        Command::Db(command) => db::run(&settings, format, command).await,
        Command::Log(command) => log::run(&settings, format, command).await,
        Command::Sync(args) => sync::run(&settings, format, args).await,
        Command::Run(command) => run::run(&settings, format, command).await,
        Command::Check(args) => check::run(&settings, format, args).await,
        Command::Drift(args) => drift::run(&settings, format, args).await,
        Command::Policy(command) => check::policy(&settings, format, command).await,
        Command::Gate(command) => gate::run(&settings, format, command).await,
        Command::Audit(command) => audit::run(&settings, format, command).await,
        Command::Evidence(args) => evidence::run(&settings, args).await,
        Command::Exception(command) => exception::run(&settings, format, command).await,
        Command::Token(command) => token::run(&settings, format, command).await,
        Command::Serve(args) => serve::run(&settings, args).await,
        Command::Schedule(args) => schedule::run(&settings, format, args).await,
    }
}

/// `-o`'s value: a report format, listed with its description.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Output(pub Format);

/// Every `-o` value, in `Format::ALL`'s order.
const OUTPUTS: [Output; Format::ALL.len()] = {
    let mut outputs = [Output(Format::Table); Format::ALL.len()];
    let mut i = 0;
    while i < outputs.len() {
        outputs[i] = Output(Format::ALL[i]);
        i += 1;
    }
    outputs
};

impl clap::ValueEnum for Output {
    fn value_variants<'a>() -> &'a [Self] {
        &OUTPUTS
    }

    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        Some(clap::builder::PossibleValue::new(self.0.as_str()).help(self.0.describe()))
    }
}

/// Parses a closed-set word, listing the accepted words on error.
pub(crate) fn word<T>(text: &str) -> Result<T, String>
where
    T: std::str::FromStr,
    T::Err: std::fmt::Display,
{
    text.parse().map_err(|err: T::Err| err.to_string())
}

/// Standard output, locked once for a whole report.
fn stdout() -> std::io::StdoutLock<'static> {
    std::io::stdout().lock()
}
