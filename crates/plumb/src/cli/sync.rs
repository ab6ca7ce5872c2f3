//! `plumb sync`: collect resources into the inventory.

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use plumb_collect::Source;
use plumb_store::OpenOptions;
use serde_json::{Value, json};

use crate::app::{self, Context, Settings};
use crate::cli::stdout;
use crate::error::{BadInput, Outcome};
use crate::report::{self, Format, View};

/// Collect resources into the inventory (policy §3: "synchronised nightly by agents").
///
/// New resources become `discovered` assets, never silently `registered`; owner, environment
/// and classification come from tags through [tags] in plumb.toml (production assets always
/// get the role holders). A changed resource appends one event with the changed fields; one
/// no longer seen is marked absent (an event, not a deletion). Every sync is recorded as a
/// run, and every scope it covers (an AWS service in a region, a state, a file) gets a status:
/// `plumb check` and `plumb drift` judge only scopes collected completely within
/// [checks] max_data_age_hours and report the others as errors. Without a subcommand, runs
/// every [[source]] of plumb.toml.
///
/// Exit 1 when parts could not be collected (they are listed); 3 when the source could not
/// be reached at all (its scopes are then marked failed).
#[derive(Debug, Args)]
pub struct SyncArgs {
    #[command(subcommand)]
    source: Option<SyncSource>,
}

#[derive(Debug, Subcommand)]
enum SyncSource {
    /// An AWS account through the official SDK: EC2, EBS, VPC, S3, IAM, CloudTrail,
    /// CloudWatch, SNS, KMS, Config, RDS, EFS, ECR, Access Analyzer, Security Hub.
    ///
    /// Credentials and endpoints come from the SDK's default chain (AWS_PROFILE, SSO, instance
    /// roles, AWS_ENDPOINT_URL). A service that fails in a region (access denied, not
    /// enabled) is reported in the run and the others go on.
    Aws(AwsArgs),
    /// A CSV, JSON or JSON Lines export of a system plumb has no collector for (an MDM's
    /// laptops, a spreadsheet of hardware).
    ///
    /// Uses the [[source]] of type file in plumb.toml with the same path (or --name) for its
    /// field mapping; without one, columns named like the inventory fields are used as such
    /// and the others become attributes.
    File(FileArgs),
    /// Terraform states (format version 4): the managed view drift compares with.
    ///
    /// Every managed resource instance becomes an asset keyed by state and address, with the
    /// state's attributes; live assets with the same ARN are linked to it (managed_by).
    Terraform {
        /// State files: local paths, or s3://bucket/key.
        #[arg(required = true)]
        states: Vec<String>,
    },
    /// A recorded collection (JSON Lines of resources in their collector's shape, with how each
    /// scope ended), replayed as it was recorded: its scopes count as collected when the
    /// recording says, so an old recording is stale. For air-gapped inventories and demos.
    Snapshot {
        /// The recording.
        file: PathBuf,
    },
    /// Show every scope's status: when a sync last tried it and last collected it completely,
    /// why its last attempt failed, and whether checks and drift may judge it now (`complete`)
    /// or report what rests on it as error (`failed`, `stale`, `never`, `future`: said to be collected
    /// later than now). Worst first.
    Status,
}

#[derive(Debug, Args)]
struct AwsArgs {
    /// A named profile [default: the SDK's default chain].
    #[arg(long)]
    profile: Option<String>,
    /// `all` (every enabled region) or a comma-separated list.
    #[arg(long, value_delimiter = ',', default_value = "all")]
    regions: Vec<String>,
    /// Only these services, comma-separated [default: all].
    #[arg(long, value_delimiter = ',')]
    services: Vec<String>,
    /// How many (service, region) parts run at once.
    #[arg(long, default_value_t = 8)]
    concurrency: usize,
}

#[derive(Debug, Args)]
struct FileArgs {
    /// The file.
    file: PathBuf,
    /// The scope name [default: the configured source's, else the file name].
    #[arg(long)]
    name: Option<String>,
    /// csv, json or jsonl [default: from the extension].
    #[arg(long)]
    format: Option<String>,
    /// Kind of every resource without a kind column: hardware, software, data, cloud.
    #[arg(long)]
    kind: Option<String>,
    /// Type of every resource without a type column, such as laptop.
    #[arg(long = "type", value_name = "TYPE")]
    asset_type: Option<String>,
    /// Map an inventory field to a column, FIELD=COLUMN (key=serial_number); repeat for more.
    #[arg(long = "field", value_name = "FIELD=COLUMN")]
    fields: Vec<String>,
}

const VIEW: View = View {
    table: &[],
    all: &[
        "run_id",
        "source",
        "resources",
        "new",
        "changed",
        "unchanged",
        "absent",
        "returned",
        "errors",
        "scopes",
        "failed_scopes",
        "seconds",
    ],
};

const STATUS_VIEW: View = View {
    table: &["scope", "health", "attempted_at", "succeeded_at", "error"],
    all: &["scope", "origin", "health", "attempted_at", "succeeded_at", "error"],
};

pub async fn run(settings: &Settings, format: Format, args: SyncArgs) -> anyhow::Result<Outcome> {
    let ctx = settings.open(&OpenOptions::default()).await?;
    let sources: Vec<Box<dyn Source>> = match args.source {
        Some(SyncSource::Status) => {
            let reports = app::sync::scope_reports(&ctx).await?;
            report::list(&mut stdout(), format, STATUS_VIEW, &reports, None)?;
            return Ok(Outcome::Clean);
        }
        Some(SyncSource::File(file)) => {
            vec![plumb_collect::build(file_settings(&ctx, file)?).map_err(input)?]
        }
        Some(SyncSource::Aws(aws)) => {
            let settings = json!({
                "type": "aws",
                "profile": aws.profile,
                "regions": aws.regions,
                "services": (!aws.services.is_empty()).then_some(aws.services),
                "concurrency": aws.concurrency,
            });
            vec![plumb_collect::build(settings).map_err(input)?]
        }
        Some(SyncSource::Snapshot { file }) => {
            vec![plumb_collect::build(json!({"type": "snapshot", "path": file})).map_err(input)?]
        }
        Some(SyncSource::Terraform { states }) => {
            vec![plumb_collect::build(json!({"type": "terraform", "states": states})).map_err(input)?]
        }
        None => app::sync::configured(&ctx)?,
    };
    let mut summaries = Vec::new();
    for source in &sources {
        let progress = ProgressBar::new_spinner();
        progress.set_style(
            ProgressStyle::with_template(
                "{spinner} syncing {prefix}: {human_pos} resources ({per_sec}) {msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        progress.set_prefix(source.describe());
        progress.enable_steady_tick(std::time::Duration::from_millis(200));
        let result = app::sync::sync(&ctx, source.as_ref(), &crate::cli::progress::shared(&progress)).await;
        progress.finish_and_clear();
        let summary = result?;
        eprintln!(
            "synced {}: {} resources, {} new, {} changed, {} unchanged, {} absent, {} returned, {} linked, {} errors in {:.1}s (run {})",
            summary.source,
            summary.resources,
            summary.new,
            summary.changed,
            summary.unchanged,
            summary.absent,
            summary.returned,
            summary.linked,
            summary.errors.len(),
            summary.seconds,
            summary.run_id
        );
        for error in &summary.errors {
            eprintln!("  not collected: {} {}: {}", error.scope, error.operation, error.message);
        }
        summaries.push(summary);
    }
    if format != Format::Table {
        report::list(&mut stdout(), format, VIEW, &summaries, None)?;
    }
    let failed: usize = summaries.iter().map(|s| s.errors.len()).sum();
    if failed > 0 {
        eprintln!(
            "sync incomplete: {failed} parts not collected; `plumb check` and `plumb drift` report what rests \
             on them as error until a sync collects them"
        );
        return Ok(Outcome::Blocking);
    }
    Ok(Outcome::Clean)
}

/// Whether two paths name one file: a configured path is relative to plumb.toml, the argument
/// to the working folder.
fn same_file(configured: &Path, given: &Path) -> bool {
    match (std::fs::canonicalize(configured), std::fs::canonicalize(given)) {
        (Ok(a), Ok(b)) => a == b,
        _ => configured == given,
    }
}

/// The file source's settings: the configured one for this file or name, with flags on top.
fn file_settings(ctx: &Context, args: FileArgs) -> anyhow::Result<Value> {
    let path = args.file.display().to_string();
    let configured = ctx.config.source_settings()?.into_iter().find(|s| {
        s.get("type").and_then(Value::as_str) == Some("file")
            && (s.get("path").and_then(Value::as_str).is_some_and(|p| same_file(Path::new(p), &args.file))
                || args.name.is_some() && s.get("name").and_then(Value::as_str) == args.name.as_deref())
    });
    let mut settings = configured.unwrap_or_else(|| json!({"type": "file"}));
    let overrides = [
        ("path", Some(path)),
        ("name", args.name),
        ("format", args.format),
        ("kind", args.kind),
        ("asset_type", args.asset_type),
    ];
    for (key, value) in overrides {
        if let (Some(value), Value::Object(map)) = (value, &mut settings) {
            map.insert(key.to_owned(), Value::String(value));
        }
    }
    for pair in args.fields {
        let (field, column) = pair
            .split_once('=')
            .ok_or_else(|| BadInput(format!("--field expects FIELD=COLUMN, found {pair:?}")))?;
        if let Value::Object(map) = &mut settings {
            let fields = map.entry("fields").or_insert_with(|| json!({}));
            if let Value::Object(fields) = fields {
                fields.insert(field.to_owned(), Value::String(column.to_owned()));
            }
        }
    }
    Ok(settings)
}

fn input(err: plumb_collect::CollectError) -> anyhow::Error {
    BadInput(err.to_string()).into()
}
