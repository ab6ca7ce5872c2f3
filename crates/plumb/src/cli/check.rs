//! `plumb check` and `plumb policy`: policy checks over the inventory.

use std::io::Write;
use std::path::PathBuf;

use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use plumb_core::model::{FindingStatus, Severity};
use plumb_policy::PACKS;
use plumb_store::OpenOptions;

use crate::app::check::{CheckReport, CheckRequest, FailOn};
use crate::app::{self, Settings};
use crate::cli::{stdout, word};
use crate::error::{BadInput, Outcome};
use crate::report::{self, Format, View};

/// Evaluate policies over the inventory and store the results as findings.
///
/// Built-in packs: `inventory` (the policy's own rules, INV-01) and `cis-aws-1.5` (CIS AWS
/// Foundations Benchmark v1.5.0, CFG-01). Without --pack or --policy every built-in pack runs;
/// with --policy only the named packs (if any) run beside your own policies. Your folder may
/// hold plumb checks (METADATA with custom.id and a `findings` rule) or conftest policies
/// (`deny`/`violation`/`warn` over each resource's configuration document), which run
/// unchanged. A package of yours with the same name as a built-in one replaces it only with
/// --override naming it. Each evaluation is stopped past [checks] eval_timeout_seconds or
/// eval_memory_mib (exit 2, naming the policy); a check that fails on an input is `error`.
///
/// Failing results open findings that stay open until a run passes them. A check is judged
/// only on data collected completely within [checks] max_data_age_hours: what rests on a
/// failed, partial or stale sync is `error` (open findings stay open), never pass.
///
/// Exit 1 with --fail-on when a failing result is at least that severe, or when any result
/// could not be evaluated (unless --allow-errors).
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// A built-in pack to run; repeat for more (see `plumb policy list`).
    #[arg(long = "pack", value_name = "NAME")]
    packs: Vec<String>,
    /// A folder of your own .rego policies; repeat for more.
    #[arg(long = "policy", value_name = "DIR")]
    policies: Vec<PathBuf>,
    /// Only assets of this environment (findings of other environments are left as they are).
    #[arg(long = "env", value_name = "ENVIRONMENT")]
    environment: Option<String>,
    /// Exit 1 when a result fails at this severity or above: info, low, medium, high, critical.
    #[arg(long, value_parser = word::<Severity>)]
    fail_on: Option<Severity>,
    /// With --fail-on: do not block on results that could not be evaluated (`error`).
    #[arg(long, requires = "fail_on")]
    allow_errors: bool,
    /// Let your policies replace this built-in package (such as plumb.cis_aws_1_5.lib); repeat
    /// for more. Replacing one without it is refused; the run records what was replaced.
    #[arg(long = "override", value_name = "PACKAGE")]
    overrides: Vec<String>,
    /// Also list passing results (JSON, CSV).
    #[arg(long)]
    all: bool,
}

/// The policies plumb knows.
#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// The checks of the built-in packs (and of --policy folders), with severity and controls.
    List {
        /// Only this pack.
        #[arg(long = "pack", value_name = "NAME")]
        packs: Vec<String>,
        /// Also these folders.
        #[arg(long = "policy", value_name = "DIR")]
        policies: Vec<PathBuf>,
        /// Let those folders replace this built-in package; repeat for more.
        #[arg(long = "override", value_name = "PACKAGE")]
        overrides: Vec<String>,
    },
    /// Print a built-in pack's Rego, file by file (to read it, or to start your own from it).
    Show {
        /// The pack.
        pack: String,
    },
}

const FINDING_VIEW: View = View {
    table: &["check", "key", "status", "severity", "message"],
    all: &[
        "check",
        "title",
        "controls",
        "key",
        "status",
        "severity",
        "message",
        "evidence",
        "remediation",
        "first_seen",
        "last_seen",
    ],
};

const SUMMARY_VIEW: View = View {
    table: &["check", "severity", "pass", "fail", "excepted", "manual", "error", "title"],
    all: &["check", "title", "controls", "severity", "pass", "fail", "excepted", "manual", "error"],
};

const CHECK_VIEW: View = View {
    table: &["id", "severity", "scope", "controls", "title"],
    all: &["id", "pack", "title", "severity", "scope", "style", "controls", "types", "requires", "path"],
};

pub async fn run(settings: &Settings, format: Format, args: CheckArgs) -> anyhow::Result<Outcome> {
    let ctx = settings.open(&OpenOptions::default()).await?;
    let request = CheckRequest {
        packs: args.packs,
        policy_dirs: args.policies,
        environment: args.environment,
        overrides: args.overrides,
    };
    let progress = ProgressBar::new(0);
    progress.set_style(
        ProgressStyle::with_template("{spinner} checking {pos}/{len} batches ({per_sec}) {elapsed}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    let result = app::check::check(&ctx, &request, &crate::cli::progress::shared(&progress)).await;
    progress.finish_and_clear();
    let report = result?;
    let fail_on = args.fail_on.map(|threshold| FailOn { threshold, allow_errors: args.allow_errors });
    let blocking = report.blocks(fail_on);
    print(format, &report, args.all, fail_on)?;
    let totals = |status: FindingStatus| report.findings.iter().filter(|f| f.status == status).count();
    eprintln!(
        "checked {} resources with {} checks in {:.1}s: {} pass, {} fail, {} excepted, {} manual, {} error; {} findings opened, {} resolved (run {})",
        report.resources,
        report.summary.len(),
        report.seconds,
        totals(FindingStatus::Pass),
        totals(FindingStatus::Fail),
        totals(FindingStatus::Excepted),
        totals(FindingStatus::Manual),
        totals(FindingStatus::Error),
        report.changes.opened,
        report.changes.resolved,
        report.run_id
    );
    Ok(if blocking { Outcome::Blocking } else { Outcome::Clean })
}

fn print(format: Format, report: &CheckReport, all: bool, fail_on: Option<FailOn>) -> anyhow::Result<()> {
    let shown = report.shown(all);
    let out = &mut stdout();
    match format {
        Format::Json => report::write_json(out, &report.document(all))?,
        Format::Csv => report::list(out, format, FINDING_VIEW, &shown, None)?,
        Format::Sarif | Format::Junit | Format::Html => {
            report::write_findings(out, format, &report.as_findings(fail_on), &[])?;
        }
        Format::Table => {
            report::list(out, format, SUMMARY_VIEW, &report.summary, None)?;
            if !shown.is_empty() {
                writeln!(out)?;
                report::list(out, format, FINDING_VIEW, &shown, None)?;
            }
        }
    }
    Ok(())
}

pub async fn policy(settings: &Settings, format: Format, command: PolicyCommand) -> anyhow::Result<Outcome> {
    let _ = settings;
    match command {
        PolicyCommand::List { packs, policies, overrides } => {
            let request = CheckRequest { packs, policy_dirs: policies, environment: None, overrides };
            let rows = app::check::catalogue(&request)?;
            report::list(&mut stdout(), format, CHECK_VIEW, &rows, None)?;
        }
        PolicyCommand::Show { pack } => {
            let Some(found) = PACKS.iter().find(|p| p.name == pack) else {
                let known: Vec<&str> = PACKS.iter().map(|p| p.name).collect();
                return Err(
                    BadInput(format!("unknown pack {pack:?}; expected one of {}", known.join(", "))).into()
                );
            };
            let out = &mut stdout();
            writeln!(out, "# pack {}: {}", found.name, found.description)?;
            for (name, text) in found.files {
                writeln!(out, "\n# ---- {}/{name}\n{text}", found.name)?;
            }
        }
    }
    Ok(Outcome::Clean)
}
