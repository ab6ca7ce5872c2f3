//! `plumb drift`: infrastructure code against what is live.

use std::io::Write;
use std::path::PathBuf;

use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use plumb_core::drift::DriftKind;
use plumb_sink::Retry;
use plumb_store::OpenOptions;
use serde_json::json;

use crate::app::drift::{DriftFailOn, DriftRequest, DriftScan};
use crate::app::{self, Settings};
use crate::cli::{stdout, word};
use crate::error::Outcome;
use crate::report::html::Section;
use crate::report::{self, Format, View};

/// Compare infrastructure code (Terraform state) with the live inventory: policy §4's daily
/// drift scan.
///
/// Reports unmanaged resources (live, in no state), missing ones (in a state, not live) and
/// changed ones (live attributes differ from the state's, attribute by attribute: tags,
/// security group rules, instance types, bucket settings, IAM policy documents compared as
/// JSON), and the share of live resources managed by code per environment, account and type.
/// Defaults that come with an account (default VPC, service-linked roles, AWS managed keys)
/// are not unmanaged.
///
/// Without --state, compares the states last synced with `plumb sync terraform`. Items are
/// stored as findings (drift/unmanaged, drift/missing, drift/changed, control CFG-02) that
/// open once and resolve once; the [[sink]]s of plumb.toml hear of each only then, and the
/// heartbeat sink after every scan.
///
/// Only what was synced completely within [checks] max_data_age_hours is compared: a resource
/// of a failed, stale or never-synced scope is "not comparable" (never missing or unmanaged),
/// its open findings stay open, and the heartbeat reports the scan as failed. Exit 1 with
/// --fail-on when an item of those kinds exists, or when something could not be compared
/// (unless --allow-errors).
///
/// Ignore file (.plumbignore, driftctl's syntax): `aws_iam_user.*` (a type),
/// `aws_s3_bucket.logs` (one resource), `aws_iam_role.ci-*` (a wildcard), `aws_instance.i-0abc.tags`
/// (one attribute), `!aws_iam_user.admin` (take back), `# comments`; `\.` is a dot in an id.
#[derive(Debug, Args)]
pub struct DriftArgs {
    /// A Terraform state to compare (path or s3://bucket/key); repeat for more [default: the
    /// synced states].
    #[arg(long = "state", value_name = "PATH")]
    states: Vec<String>,
    /// The source of the live side.
    #[arg(long, default_value = "aws")]
    source: String,
    /// The ignore file [default: ./.plumbignore when present].
    #[arg(long, value_name = "FILE")]
    ignore: Option<PathBuf>,
    /// Only this environment (stored items of others are left as they are).
    #[arg(long = "env", value_name = "ENVIRONMENT")]
    environment: Option<String>,
    /// Exit 1 when an item of these kinds exists: unmanaged, missing, changed (comma-separated).
    #[arg(long, value_delimiter = ',', value_parser = word::<DriftKind>)]
    fail_on: Vec<DriftKind>,
    /// With --fail-on: do not block on what could not be compared.
    #[arg(long, requires = "fail_on")]
    allow_errors: bool,
    /// Instead of scanning, show the drift history of one resource (its key, or a state
    /// resource's `terraform:STATE:ADDRESS`): when each kind of drift opened and resolved.
    #[arg(long, value_name = "KEY", conflicts_with_all = ["states", "ignore", "fail_on"])]
    history: Option<String>,
}

const HISTORY_VIEW: View = View {
    table: &["at", "action", "check", "actor", "detail"],
    all: &["seq", "at", "action", "check", "actor", "status", "detail"],
};

const ITEM_VIEW: View = View {
    table: &["kind", "type", "id", "detail"],
    all: &["kind", "key", "type", "id", "addresses", "states", "environment", "account", "detail"],
};

const COVERAGE_VIEW: View = View {
    table: &["environment", "account", "resource_type", "managed", "live", "coverage"],
    all: &["environment", "account", "resource_type", "managed", "live", "coverage"],
};

pub async fn run(settings: &Settings, format: Format, args: DriftArgs) -> anyhow::Result<Outcome> {
    let ctx = settings.open(&OpenOptions::default()).await?;
    if let Some(key) = &args.history {
        return history(&ctx, format, key).await;
    }
    let sinks = app::alerts::sinks(&ctx)?;
    let request = DriftRequest {
        states: args.states,
        source: args.source,
        ignore: args.ignore,
        environment: args.environment,
    };
    let progress = ProgressBar::new_spinner();
    progress.set_style(
        ProgressStyle::with_template("{spinner} comparing {pos} resources ({per_sec}) {elapsed}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    let result = app::drift::drift(
        &ctx,
        &request,
        &sinks,
        &Retry::default(),
        &crate::cli::progress::shared(&progress),
    )
    .await;
    progress.finish_and_clear();
    let scan = result?;
    let fail_on = DriftFailOn { kinds: args.fail_on, allow_errors: args.allow_errors };
    print(format, &scan, &fail_on)?;
    summarize(&scan);
    Ok(if fail_on.blocks_scan(&scan) { Outcome::Blocking } else { Outcome::Clean })
}

async fn history(ctx: &app::Context, format: Format, key: &str) -> anyhow::Result<Outcome> {
    let checks: Vec<String> =
        [DriftKind::Unmanaged, DriftKind::Missing, DriftKind::Changed].iter().map(|k| k.check()).collect();
    let events = ctx.store.finding_history(&checks, key).await?;
    let rows: Vec<serde_json::Value> = events
        .iter()
        .map(|event| {
            let after: serde_json::Value =
                event.after.as_deref().and_then(|a| serde_json::from_str(a).ok()).unwrap_or_default();
            let field = |name: &str| after.get(name).cloned().unwrap_or_default();
            json!({
                "seq": event.seq, "at": event.at, "action": event.action,
                "check": event.entity_id.split('|').next().unwrap_or_default(), "actor": event.actor,
                "status": field("status"),
                "detail": field("message").as_str().map(str::to_owned).or_else(|| field("reason").as_str().map(str::to_owned)),
            })
        })
        .collect();
    if rows.is_empty() {
        eprintln!("no drift recorded for {key}");
    }
    report::list(&mut stdout(), format, HISTORY_VIEW, &rows, None)?;
    Ok(Outcome::Clean)
}

fn coverage_rows(scan: &DriftScan) -> Vec<serde_json::Value> {
    scan.report
        .coverage
        .iter()
        .map(|row| {
            let share = if row.live == 0 { 0.0 } else { row.managed as f64 * 100.0 / row.live as f64 };
            json!({
                "environment": row.environment, "account": row.account, "resource_type": row.resource_type,
                "managed": row.managed, "live": row.live, "coverage": format!("{share:.1}%"),
            })
        })
        .collect()
}

const NOT_COMPARABLE_VIEW: View =
    View { table: &["scope", "resources", "reason"], all: &["scope", "resources", "reason"] };

fn print(format: Format, scan: &DriftScan, fail_on: &DriftFailOn) -> anyhow::Result<()> {
    let out = &mut stdout();
    let items: Vec<serde_json::Value> = scan
        .report
        .items
        .iter()
        .map(|item| {
            json!({
                "kind": item.kind.as_str(), "key": item.key, "type": item.resource_type, "id": item.id,
                "addresses": item.addresses.join(" "), "states": item.states.join(" "),
                "environment": item.environment, "account": item.account, "detail": item.message(),
            })
        })
        .collect();
    match format {
        Format::Json => report::write_json(out, &scan.document())?,
        Format::Csv => report::list(out, format, ITEM_VIEW, &items, None)?,
        Format::Table => {
            report::list(out, format, COVERAGE_VIEW, &coverage_rows(scan), None)?;
            if !items.is_empty() {
                writeln!(out)?;
                report::list(out, format, ITEM_VIEW, &items, None)?;
            }
            if !scan.report.complete() {
                writeln!(out)?;
                report::list(out, format, NOT_COMPARABLE_VIEW, &scan.report.not_comparable, None)?;
            }
        }
        Format::Sarif | Format::Junit | Format::Html => {
            let sections = [coverage_section(scan), not_comparable_section(scan)];
            report::write_findings(out, format, &scan.as_findings(fail_on), &sections)?;
        }
    }
    Ok(())
}

fn not_comparable_section(scan: &DriftScan) -> Section {
    let rows = scan
        .report
        .not_comparable
        .iter()
        .map(|n| vec![n.scope.clone(), n.resources.to_string(), n.reason.clone()])
        .collect();
    let columns = NOT_COMPARABLE_VIEW.all.iter().map(|c| (*c).to_owned()).collect();
    Section { title: "Not compared".to_owned(), columns, rows }
}

fn coverage_section(scan: &DriftScan) -> Section {
    let columns = COVERAGE_VIEW.all;
    let rows = coverage_rows(scan)
        .iter()
        .map(|row| {
            columns
                .iter()
                .map(|c| row[*c].as_str().map_or_else(|| row[*c].to_string(), str::to_owned))
                .collect()
        })
        .collect();
    Section { title: "Coverage".to_owned(), columns: columns.iter().map(|c| (*c).to_owned()).collect(), rows }
}

fn summarize(scan: &DriftScan) {
    let totals = &scan.report.totals;
    let share = if totals.live == 0 { 0.0 } else { totals.managed as f64 * 100.0 / totals.live as f64 };
    eprintln!(
        "drift in {:.1}s: {} unmanaged, {} missing, {} changed; {} of {} live resources managed ({share:.1}%), \
         {} ignored, {} defaults; {} opened, {} resolved (run {})",
        scan.seconds,
        totals.unmanaged,
        totals.missing,
        totals.changed,
        totals.managed,
        totals.live,
        totals.ignored,
        totals.defaults,
        scan.changes.opened,
        scan.changes.resolved,
        scan.run_id
    );
    if !scan.report.complete() {
        eprintln!(
            "warning: incomplete scan: {} (nothing was judged missing, unmanaged or unchanged on data not collected \
             completely within [checks] max_data_age_hours)",
            app::drift::incomplete_message(&scan.report)
        );
    }
    if scan.unknown_live > 0 {
        eprintln!(
            "note: {} live resources are of types drift has no Terraform mapping for",
            scan.unknown_live
        );
    }
    for (kind, count) in &scan.report.unsupported_types {
        eprintln!("note: {count} state resources of type {kind} are not compared (no mapping)");
    }
    for delivery in scan.deliveries.iter().filter(|d| !d.ok) {
        eprintln!(
            "warning: sink {} ({}) failed after {} attempts: {}",
            delivery.sink,
            delivery.sink_type,
            delivery.attempts,
            delivery.error.as_deref().unwrap_or("unknown error")
        );
    }
}
