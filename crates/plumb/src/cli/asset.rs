//! `plumb asset …`: the inventory.

use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context as _;
use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use plumb_core::decommission::{Destination, Method, Start, Verification};
use plumb_core::model::{FIELDS, RelationKind};
use plumb_core::record::{Cell, Fields};
use plumb_core::{Asset, Kind, Status};
use plumb_store::{AssetFilter, OpenOptions, TagFilter, encode_cursor};
use serde::Serialize;

use crate::app::{self, Context, Settings};
use crate::cli::{stdout, word};
use crate::error::{BadInput, Outcome};
use crate::report::{self, Format, View};
use plumb_collect::records::RecordFormat;

/// The inventory: every asset with owner, classification, location and lifecycle status.
///
/// Every command takes an asset's id (a ULID) or its key. Every change is recorded as an
/// event in the tamper-evident history (`plumb asset history`, `plumb log verify`).
#[derive(Debug, Subcommand)]
pub enum AssetCommand {
    /// Register a new asset (status `registered` unless --status says otherwise).
    ///
    /// A production asset gets the head_of_product as owner and the sre_lead as manager from
    /// plumb.toml; any other owner or manager is refused (policy §3).
    Add(AddArgs),
    /// Show one asset with its relationships.
    Show {
        /// Id or key.
        asset: String,
    },
    /// List assets, filtered, sorted by key (a search: as recorded), a page at a time.
    List(ListArgs),
    /// Change fields of an asset; an empty value clears an optional field.
    ///
    /// The lifecycle status changes only through `plumb asset transition`.
    Set(SetArgs),
    /// Import assets from CSV, JSON (an array) or JSON Lines: all of the file or nothing.
    ///
    /// Columns (CSV) or keys (JSON) are the field names of `plumb asset export`: id, key,
    /// name, kind, type, environment, owner, manager, classification, location, status,
    /// source, financial_ref, tags, attributes, first_seen, last_seen; key, kind and type are
    /// required. In CSV, tags and attributes hold JSON text. A key that exists is updated with
    /// the fields the file gives. Any bad row fails the whole import (exit 2) with the file,
    /// line and field of every problem, and nothing is written.
    Import(ImportArgs),
    /// Export assets as CSV, JSON or JSON Lines, in the form `plumb asset import` reads back.
    Export(ExportArgs),
    /// Show the history of an asset: every change, who made it, before and after.
    History {
        /// Id or key.
        asset: String,
    },
    /// Record a typed relationship: FROM runs_on|depends_on|contains|managed_by TO.
    Link {
        /// Id or key of the asset the relationship starts from.
        from: String,
        /// runs_on, depends_on, contains or managed_by.
        #[arg(value_parser = word::<RelationKind>)]
        relation: RelationKind,
        /// Id or key of the asset it points to.
        to: String,
    },
    /// Move an asset along its lifecycle.
    ///
    /// discovered → registered → in_service → decommissioning → decommissioned; a registered
    /// asset may also go straight to decommissioning. Entering in_service needs owner,
    /// classification and location; decommissioned needs --evidence (policy §8).
    Transition {
        /// Id or key.
        asset: String,
        /// The new status.
        #[arg(value_parser = word::<Status>)]
        status: Status,
        /// Evidence for the move: the wipe certificate, the ticket (required for decommissioned).
        #[arg(long)]
        evidence: Option<String>,
    },
    /// Move every production asset to the current head_of_product and sre_lead of plumb.toml.
    ReassignProduction,
    /// Decommission an asset with its sanitization evidence (policy §8, NIST SP 800-88).
    ///
    /// Starting (--method and --ticket) records the sanitization record and moves the asset to
    /// `decommissioning`; only its owner or manager (the SRE Lead for production) or an admin may.
    /// --complete adds what is given and moves it to `decommissioned` once the evidence for its
    /// kind is there: servers and cloud resources need the method, the archived ticket
    /// (--attach) and a second person's validation (--validated-by); end-user devices
    /// ([checks] endpoint_types) need a device wipe and the hardware returned (--returned-to).
    /// A cloud crypto-erase is confirmed by sync: its KMS key (--kms-key, else the resource's
    /// own KmsKeyId) pending deletion or gone, and the resource absent from the latest complete
    /// sync. Anything missing is named, and what was given is kept. Attachments are stored in
    /// the database by SHA-256 and listed on the record.
    Decommission(DecommissionArgs),
    /// The certificate of sanitization of a decommissioned (or decommissioning) asset: -o html
    /// for a page to file, -o json for the record, what it still needs, and what sync saw.
    Certificate {
        /// Id or key.
        asset: String,
    },
}

/// Arguments of `plumb asset decommission`.
#[derive(Debug, Args)]
pub struct DecommissionArgs {
    /// Id or key.
    asset: String,
    /// How it is sanitized (starts the record).
    #[arg(long, value_parser = word::<Method>, conflicts_with = "complete", required_unless_present = "complete")]
    method: Option<Method>,
    /// The change or service ticket the work is done under.
    #[arg(long, required_unless_present = "complete")]
    ticket: Option<String>,
    /// The sanitization tool and its version, such as "nwipe 0.34".
    #[arg(long, value_name = "NAME_VERSION")]
    tool: Option<String>,
    /// How the result was verified.
    #[arg(long, value_parser = word::<Verification>)]
    verification: Option<Verification>,
    /// The KMS key a cloud crypto-erase destroys, by ARN [default: the resource's KmsKeyId].
    #[arg(long, value_name = "ARN")]
    kms_key: Option<String>,
    /// An evidence file (the archived ticket, a wipe report); repeat for several.
    #[arg(long, value_name = "FILE")]
    attach: Vec<std::path::PathBuf>,
    /// Where the media goes afterwards: internal-reuse, external-reuse, recycler, manufacturer,
    /// other.
    #[arg(long, value_parser = word::<Destination>)]
    destination: Option<Destination>,
    /// Add what is given below and complete the record when nothing is missing.
    #[arg(long)]
    complete: bool,
    /// Who an end-user device was returned to.
    #[arg(long, value_name = "EMAIL", requires = "complete")]
    returned_to: Option<String>,
    /// The second person who validated the sanitization.
    #[arg(long, value_name = "EMAIL", requires = "complete")]
    validated_by: Option<String>,
}

/// Fields of a new asset.
#[derive(Debug, Args)]
pub struct AddArgs {
    /// Natural key, unique: an ARN, a serial number, a Terraform address.
    #[arg(long)]
    key: String,
    /// hardware, software, data or cloud.
    #[arg(long, value_parser = word::<Kind>)]
    kind: Kind,
    /// Finer type, such as aws.ec2.instance, laptop, container_image.
    #[arg(long = "type", value_name = "TYPE")]
    asset_type: String,
    /// Lifecycle status to start in [default: registered].
    #[arg(long, value_parser = word::<Status>)]
    status: Option<Status>,
    #[command(flatten)]
    fields: FieldArgs,
    /// A tag, KEY=VALUE; repeat for more.
    #[arg(long = "tag", value_name = "KEY=VALUE", value_parser = tag_pair)]
    tags: Vec<(String, String)>,
}

/// Fields shared by `add` and `set`.
#[derive(Debug, Args)]
pub struct FieldArgs {
    /// Human-readable name [default: the key].
    #[arg(long)]
    name: Option<String>,
    /// One of the environments of plumb.toml.
    #[arg(long)]
    environment: Option<String>,
    /// Accountable owner (e-mail).
    #[arg(long)]
    owner: Option<String>,
    /// Day-to-day manager (e-mail).
    #[arg(long)]
    manager: Option<String>,
    /// One of the classification levels of plumb.toml.
    #[arg(long)]
    classification: Option<String>,
    /// Where the asset is: region, site, office.
    #[arg(long)]
    location: Option<String>,
    /// Where the record comes from [default: manual].
    #[arg(long)]
    source: Option<String>,
    /// Reference into the financial fixed-asset register.
    #[arg(long)]
    financial_ref: Option<String>,
    /// The configuration document, as a JSON object.
    #[arg(long, value_name = "JSON")]
    attributes: Option<String>,
}

impl FieldArgs {
    fn into_fields(self) -> Fields {
        let pairs = [
            ("name", self.name),
            ("environment", self.environment),
            ("owner", self.owner),
            ("manager", self.manager),
            ("classification", self.classification),
            ("location", self.location),
            ("source", self.source),
            ("financial_ref", self.financial_ref),
            ("attributes", self.attributes),
        ];
        pairs.into_iter().filter_map(|(name, value)| Some((name.to_owned(), Cell::Text(value?)))).collect()
    }
}

#[derive(Debug, Args)]
pub struct SetArgs {
    /// Id or key.
    asset: String,
    /// New key.
    #[arg(long)]
    key: Option<String>,
    /// New type.
    #[arg(long = "type", value_name = "TYPE")]
    asset_type: Option<String>,
    #[command(flatten)]
    fields: FieldArgs,
    /// Add or change a tag, KEY=VALUE; repeat for more.
    #[arg(long = "tag", value_name = "KEY=VALUE", value_parser = tag_pair)]
    tags: Vec<(String, String)>,
    /// Remove a tag; repeat for more.
    #[arg(long = "untag", value_name = "KEY")]
    untag: Vec<String>,
}

/// Filters shared by `list` and `export`.
#[derive(Debug, Args)]
pub struct FilterArgs {
    /// Only this kind.
    #[arg(long, value_parser = word::<Kind>)]
    kind: Option<Kind>,
    /// Only this type.
    #[arg(long = "type", value_name = "TYPE")]
    asset_type: Option<String>,
    /// Only this environment.
    #[arg(long)]
    environment: Option<String>,
    /// Only this lifecycle status.
    #[arg(long, value_parser = word::<Status>)]
    status: Option<Status>,
    /// Only this owner.
    #[arg(long)]
    owner: Option<String>,
    /// Only this manager.
    #[arg(long)]
    manager: Option<String>,
    /// Only this classification.
    #[arg(long)]
    classification: Option<String>,
    /// Only this source.
    #[arg(long)]
    source: Option<String>,
    /// Only assets with this tag (KEY) or tag value (KEY=VALUE); repeat to require several.
    #[arg(long = "tag", value_name = "KEY[=VALUE]")]
    tags: Vec<String>,
    /// Only assets whose key, name, owner, location or a tag (key or value) contains this text
    /// (any case). Listed in the order the assets were first recorded, not by key.
    #[arg(short, long)]
    query: Option<String>,
}

impl FilterArgs {
    fn into_filter(self) -> AssetFilter {
        AssetFilter {
            kind: self.kind,
            asset_type: self.asset_type,
            environment: self.environment,
            status: self.status,
            owner: self.owner,
            manager: self.manager,
            classification: self.classification,
            source: self.source,
            tags: self
                .tags
                .into_iter()
                .map(|tag| match tag.split_once('=') {
                    Some((key, value)) => TagFilter { key: key.to_owned(), value: Some(value.to_owned()) },
                    None => TagFilter { key: tag, value: None },
                })
                .collect(),
            query: self.query,
        }
    }
}

#[derive(Debug, Args)]
pub struct ListArgs {
    #[command(flatten)]
    filter: FilterArgs,
    /// At most this many assets per page.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    limit: u32,
    /// Continue after the page that printed this cursor.
    #[arg(long)]
    cursor: Option<String>,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The file to import.
    file: PathBuf,
    /// The file's format: csv, json or jsonl [default: from its extension: .csv, .json,
    /// .jsonl/.ndjson].
    #[arg(long, value_parser = word::<RecordFormat>)]
    format: Option<RecordFormat>,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    #[command(flatten)]
    filter: FilterArgs,
    /// Format: csv, json or jsonl [default: from --out's extension, else -o json → json, else
    /// csv].
    #[arg(long, value_parser = word::<RecordFormat>)]
    format: Option<RecordFormat>,
    /// Write to this file (replaced only when the export is complete) instead of standard output.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
}

const ASSET_VIEW: View =
    View { table: &["key", "name", "kind", "type", "environment", "owner", "status"], all: FIELDS };

const EVENT_VIEW: View = View {
    table: &["seq", "at", "actor", "action", "change"],
    all: &[
        "seq",
        "id",
        "at",
        "actor",
        "entity",
        "entity_id",
        "action",
        "before",
        "after",
        "prev_hash",
        "hash",
    ],
};

pub async fn run(settings: &Settings, format: Format, command: AssetCommand) -> anyhow::Result<Outcome> {
    let ctx = settings.open(&OpenOptions::default()).await?;
    match command {
        AssetCommand::Add(args) => {
            let mut fields = args.fields.into_fields();
            fields.push(("key".to_owned(), Cell::Text(args.key)));
            fields.push(("kind".to_owned(), Cell::Text(args.kind.as_str().to_owned())));
            fields.push(("type".to_owned(), Cell::Text(args.asset_type)));
            if let Some(status) = args.status {
                fields.push(("status".to_owned(), Cell::Text(status.as_str().to_owned())));
            }
            if !args.tags.is_empty() {
                let tags: serde_json::Map<String, serde_json::Value> =
                    args.tags.into_iter().map(|(k, v)| (k, serde_json::Value::String(v))).collect();
                fields.push(("tags".to_owned(), Cell::Json(tags.into())));
            }
            let asset = app::assets::add(&ctx, &fields).await?;
            report::one(&mut stdout(), format, ASSET_VIEW, &asset)?;
        }
        AssetCommand::Show { asset } => show(&ctx, format, &asset).await?,
        AssetCommand::List(args) => list(&ctx, format, args).await?,
        AssetCommand::Set(args) => {
            let asset = set(&ctx, args).await?;
            report::one(&mut stdout(), format, ASSET_VIEW, &asset)?;
        }
        AssetCommand::Import(args) => import(&ctx, format, args).await?,
        AssetCommand::Export(args) => export(&ctx, format, args).await?,
        AssetCommand::History { asset } => {
            let events = app::assets::history(&ctx, &asset).await?;
            if format == Format::Table {
                let rows: Vec<serde_json::Value> = events.iter().map(history_row).collect();
                report::list(&mut stdout(), format, EVENT_VIEW, &rows, None)?;
            } else {
                report::list(&mut stdout(), format, EVENT_VIEW, &events, None)?;
            }
        }
        AssetCommand::Link { from, relation, to } => {
            let (relationship, new) = app::assets::link(&ctx, &from, relation, &to).await?;
            let verb = if new { "linked" } else { "already linked" };
            eprintln!("{verb}: {from} {} {to}", relationship.kind);
        }
        AssetCommand::Transition { asset, status, evidence } => {
            let asset = app::assets::transition(&ctx, &asset, status, evidence.as_deref()).await?;
            report::one(&mut stdout(), format, ASSET_VIEW, &asset)?;
        }
        AssetCommand::Decommission(args) => decommission(&ctx, format, args).await?,
        AssetCommand::Certificate { asset } => {
            let certificate = app::decommission::certificate(&ctx, &asset).await?;
            print_certificate(format, &certificate)?;
        }
        AssetCommand::ReassignProduction => {
            let changed = app::assets::reassign_production(&ctx).await?;
            eprintln!("reassigned {} production asset(s) to the current role holders", changed.len());
            report::list(&mut stdout(), format, ASSET_VIEW, &changed, None)?;
        }
    }
    Ok(Outcome::Clean)
}

async fn decommission(ctx: &Context, format: Format, args: DecommissionArgs) -> anyhow::Result<()> {
    let certificate = if args.complete {
        let request = app::decommission::CompleteRequest {
            reference: args.asset,
            returned_to: args.returned_to,
            validated_by: args.validated_by,
            destination: args.destination,
            attach: args.attach,
        };
        app::decommission::complete(ctx, request).await?
    } else {
        let start = Start {
            method: args.method,
            ticket: args.ticket.unwrap_or_default(),
            tool: args.tool,
            verification: args.verification,
            kms_key: args.kms_key,
            destination: args.destination,
        };
        app::decommission::start(
            ctx,
            app::decommission::StartRequest { reference: args.asset, start, attach: args.attach },
        )
        .await?
    };
    let record = &certificate.record;
    match certificate.missing.as_slice() {
        [] => eprintln!("{} is {}: its record is complete", record.asset_key, certificate.asset.status),
        missing => eprintln!(
            "{} is {}; still needed:\n  - {}",
            record.asset_key,
            certificate.asset.status,
            missing.join("\n  - ")
        ),
    }
    print_certificate(format, &certificate)
}

/// The certificate: a page (-o html), the document (-o json), or the record's fields.
fn print_certificate(format: Format, certificate: &app::decommission::Certificate) -> anyhow::Result<()> {
    let out = &mut stdout();
    match format {
        Format::Html => crate::report::certificate::write(out, certificate)?,
        Format::Json => report::write_json(out, certificate)?,
        _ => report::one(out, format, RECORD_VIEW, &certificate.record)?,
    }
    Ok(())
}

const RECORD_VIEW: View = View {
    table: &[
        "asset_key",
        "state",
        "method",
        "category",
        "ticket",
        "started_by",
        "validated_by",
        "returned_to",
    ],
    all: &[
        "asset_key",
        "state",
        "method",
        "category",
        "ticket",
        "tool",
        "verification",
        "kms_key",
        "started_by",
        "started_at",
        "validated_by",
        "destination",
        "returned_to",
        "completed_by",
        "completed_at",
        "attachments",
    ],
};

/// An asset with its relationships, for `show`.
#[derive(Serialize)]
struct Shown<'a> {
    #[serde(flatten)]
    asset: &'a Asset,
    relationships: Vec<app::assets::Related>,
}

async fn show(ctx: &Context, format: Format, reference: &str) -> anyhow::Result<()> {
    let asset = app::assets::get(ctx, reference).await?;
    let relationships = app::assets::relationships(ctx, &asset).await?;
    let out = &mut stdout();
    match format {
        Format::Json => report::write_json(out, &Shown { asset: &asset, relationships })?,
        Format::Csv => report::one(out, format, ASSET_VIEW, &asset)?,
        Format::Sarif | Format::Junit | Format::Html => {
            return Err(report::unsupported(format, "an asset", "table, json or csv").into());
        }
        Format::Table => {
            report::one(out, format, ASSET_VIEW, &asset)?;
            if !relationships.is_empty() {
                writeln!(out)?;
                let view = View { table: &["direction", "kind", "key", "id"], all: &[] };
                report::list(out, format, view, &relationships, None)?;
            }
        }
    }
    Ok(())
}

async fn list(ctx: &Context, format: Format, args: ListArgs) -> anyhow::Result<()> {
    let result =
        app::assets::page(ctx, &args.filter.into_filter(), args.limit as usize, args.cursor.as_deref())
            .await?;
    let next = result.next.as_deref().map(encode_cursor);
    report::list(&mut stdout(), format, ASSET_VIEW, &result.items, next.as_deref())?;
    if let (Some(next), Format::Table) = (&next, format) {
        eprintln!("more assets: add --cursor {next}");
    }
    Ok(())
}

async fn set(ctx: &Context, args: SetArgs) -> anyhow::Result<Asset> {
    let mut fields = args.fields.into_fields();
    if let Some(key) = args.key {
        fields.push(("key".to_owned(), Cell::Text(key)));
    }
    if let Some(asset_type) = args.asset_type {
        fields.push(("type".to_owned(), Cell::Text(asset_type)));
    }
    if !args.tags.is_empty() || !args.untag.is_empty() {
        let mut tags = ctx.store.asset(&args.asset).await?.tags;
        tags.extend(args.tags);
        for key in &args.untag {
            tags.remove(key);
        }
        fields.push(("tags".to_owned(), Cell::Json(serde_json::to_value(tags)?)));
    }
    if fields.is_empty() {
        return Err(
            BadInput("nothing to change: give at least one field flag (see --help)".to_owned()).into()
        );
    }
    app::assets::set(ctx, &args.asset, &fields, None).await
}

async fn import(ctx: &Context, format: Format, args: ImportArgs) -> anyhow::Result<()> {
    let file_format = args.format.or_else(|| RecordFormat::from_path(&args.file)).ok_or_else(|| {
        BadInput(format!(
            "cannot tell the format of {} from its extension; pass --format csv|json|jsonl",
            args.file.display()
        ))
    })?;
    let progress = ProgressBar::new_spinner();
    progress.set_style(
        ProgressStyle::with_template("{spinner} importing {msg}: {human_pos} records ({per_sec})")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    progress.set_message(args.file.display().to_string());
    progress.enable_steady_tick(std::time::Duration::from_millis(200));
    let started = Instant::now();
    let result =
        app::import::import(ctx, &args.file, file_format, &crate::cli::progress::shared(&progress)).await;
    progress.finish_and_clear();
    let summary = result?;
    let seconds = started.elapsed().as_secs_f64();
    eprintln!(
        "imported {}: {} records, {} created, {} updated, {} unchanged in {seconds:.1}s",
        args.file.display(),
        summary.records,
        summary.created,
        summary.updated,
        summary.unchanged
    );
    if format != Format::Table {
        report::one(
            &mut stdout(),
            format,
            View { table: &[], all: &["records", "created", "updated", "unchanged"] },
            &summary,
        )?;
    }
    Ok(())
}

async fn export(ctx: &Context, output: Format, args: ExportArgs) -> anyhow::Result<()> {
    let format = args.format.or_else(|| args.out.as_deref().and_then(RecordFormat::from_path)).unwrap_or(
        match output {
            Format::Json => RecordFormat::Json,
            Format::Table | Format::Csv => RecordFormat::Csv,
            Format::Sarif | Format::Junit | Format::Html => {
                return Err(report::unsupported(output, "an export", "--format csv, json or jsonl").into());
            }
        },
    );
    let filter = args.filter.into_filter();
    let Some(path) = args.out else {
        let count = app::export::export(ctx, filter, format, &mut stdout()).await?;
        eprintln!("exported {count} assets");
        return Ok(());
    };
    // Write next to the target and rename when complete, so a failed export never leaves a
    // half-written file where a good one was.
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(std::path::Path::new("."));
    let mut file = tempfile::NamedTempFile::new_in(dir)
        .map_err(|err| BadInput(format!("cannot write in {}: {err}", dir.display())))?;
    let count = {
        let mut writer = std::io::BufWriter::new(file.as_file_mut());
        let count = app::export::export(ctx, filter, format, &mut writer).await?;
        writer.flush()?;
        count
    };
    file.persist(&path).with_context(|| format!("cannot write {}", path.display()))?;
    eprintln!("exported {count} assets to {}", path.display());
    Ok(())
}

/// An event as a table row: its change summarised as `field: old → new`.
fn history_row(event: &plumb_core::Event) -> serde_json::Value {
    let parse = |text: &Option<String>| {
        text.as_deref().and_then(|t| serde_json::from_str::<serde_json::Value>(t).ok()).unwrap_or_default()
    };
    let (before, after) = (parse(&event.before), parse(&event.after));
    let short = |value: Option<&serde_json::Value>| {
        let text = match value {
            None | Some(serde_json::Value::Null) => "-".to_owned(),
            Some(serde_json::Value::String(s)) => s.clone(),
            Some(other) => other.to_string(),
        };
        if text.chars().count() > 40 {
            format!("{}…", text.chars().take(39).collect::<String>())
        } else {
            text
        }
    };
    let change = match (&before, after.as_object()) {
        (serde_json::Value::Null, Some(fields)) if event.action == "created" => {
            format!("new {}", short(fields.get("key")))
        }
        (_, Some(fields)) => fields
            .iter()
            .map(|(field, new)| format!("{field}: {} → {}", short(before.get(field)), short(Some(new))))
            .collect::<Vec<_>>()
            .join("; "),
        _ => String::new(),
    };
    serde_json::json!({"seq": event.seq, "at": event.at, "actor": event.actor, "action": event.action, "change": change})
}

fn tag_pair(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((key, value)) if !key.trim().is_empty() => Ok((key.trim().to_owned(), value.to_owned())),
        _ => Err(format!("expected KEY=VALUE, found {text:?}")),
    }
}
