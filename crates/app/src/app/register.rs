//! `plumb audit register`: the bi-monthly reconciliation of the inventory with finance's
//! fixed-asset register (policy §6), recorded as an `audit` run named `register` whose
//! findings (INV-01) open, stay open or resolve like a check's.

use std::collections::BTreeMap;
use std::path::Path;

use plumb_collect::register::{self as reader, RegisterFormat};
use plumb_core::authz::Action;
use plumb_core::model::{Finding, Run, RunKind, RunOutcome};
use plumb_core::register::{self, Class, Entry, RegisterField};
use plumb_core::{Asset, Timestamp};
use plumb_store::{AssetFilter, FindingChanges, Reach};
use serde::Serialize;
use serde_json::json;

use crate::app::Context;
use crate::app::gate_reports::GateReport;
use crate::app::sync::collect_error;
use crate::report::findings::{Findings, Rule};
use crate::report::html::Section;

/// The run name of a register audit.
pub const RUN_NAME: &str = plumb_core::evidence::REGISTER_RUN;

/// What `audit register` was asked.
#[derive(Clone, Debug)]
pub struct RegisterRequest<'a> {
    /// The export.
    pub path: &'a Path,
    /// Its format (`None`: from the file name).
    pub format: Option<RegisterFormat>,
    /// `--map COLUMN=FIELD`.
    pub map: Vec<(String, RegisterField)>,
}

/// The reconciliation as recorded: `-o json`'s document.
#[derive(Debug, Serialize)]
pub struct RegisterAudit {
    /// The run recorded.
    pub run_id: String,
    /// The control it is evidence for.
    pub control: &'static str,
    /// The file, as given.
    pub file: String,
    /// The file's SHA-256: which export was judged.
    pub sha256: String,
    /// Which column each field was read from.
    pub columns: BTreeMap<RegisterField, String>,
    /// When the inventory was read.
    pub inventory_read_at: Timestamp,
    /// Lines read from the register.
    pub register_lines: usize,
    /// Assets of the inventory compared (hardware, and any asset with a `financial_ref`).
    pub inventory_assets: usize,
    /// Entries per class, every class listed.
    pub counts: BTreeMap<Class, usize>,
    /// Every entry, by class then key.
    pub entries: Vec<Entry>,
    /// Findings opened and resolved by this audit.
    pub opened: u64,
    /// See `opened`.
    pub resolved: u64,
    /// The findings recorded (in `entries` already, so not in the document).
    #[serde(skip)]
    pub findings: Vec<Finding>,
}

impl RegisterAudit {
    /// Whether anything did not match plainly (the command then exits 1).
    pub fn has_findings(&self) -> bool {
        self.entries.iter().any(|e| e.class != Class::Matched)
    }
}

/// Reads the register, reconciles it with the inventory, and records the run and its findings.
pub async fn audit_register(ctx: &Context, request: &RegisterRequest<'_>) -> anyhow::Result<RegisterAudit> {
    ctx.permit(Action::RecordRun)?;
    let started = plumb_store::now();
    let format = request.format.unwrap_or_else(|| RegisterFormat::from_path(request.path));
    let path = request.path.to_owned();
    let map = request.map.clone();
    let register = tokio::task::spawn_blocking(move || reader::read(&path, format, &map))
        .await?
        .map_err(collect_error)?;
    let assets = inventory(ctx).await?;
    let inventory_read_at = plumb_store::now();
    let entries = crate::app::cpu_bound(|| register::reconcile(&register.lines, &assets));
    let mut findings = register::findings(&entries, inventory_read_at);
    let checks: Vec<String> = register::CHECKS.iter().map(|c| (*c).to_owned()).collect();
    let run_id = ulid::Ulid::generate().to_string();
    let mut audit = RegisterAudit {
        run_id: run_id.clone(),
        control: "INV-01",
        file: request.path.display().to_string(),
        sha256: register.sha256,
        columns: register.columns,
        inventory_read_at,
        register_lines: register.lines.len(),
        inventory_assets: assets.len(),
        counts: Class::ALL
            .iter()
            .map(|class| (*class, entries.iter().filter(|e| e.class == *class).count()))
            .collect(),
        entries,
        opened: 0,
        resolved: 0,
        findings: Vec::new(),
    };
    let mut tx = ctx.begin_write().await?;
    // The audit read the whole register and every asset it is compared with.
    let changes = tx.record_findings(&checks, &mut findings, &run_id, Reach::All).await?;
    audit.opened = changes.opened;
    audit.resolved = changes.resolved;
    tx.record_run(&run(ctx, &audit, started, &changes, format)).await?;
    tx.commit().await?;
    audit.findings = findings;
    Ok(audit)
}

/// The assets a register can hold: hardware, and any asset given a `financial_ref`.
async fn inventory(ctx: &Context) -> anyhow::Result<Vec<Asset>> {
    let mut scan = ctx.store.scan_assets(AssetFilter::default()).await?;
    let mut assets = Vec::new();
    while let Some(batch) = scan.next_batch().await? {
        assets.extend(
            batch.into_iter().filter(|a| a.kind == plumb_core::Kind::Hardware || a.financial_ref.is_some()),
        );
    }
    Ok(assets)
}

fn run(
    ctx: &Context,
    audit: &RegisterAudit,
    started: Timestamp,
    changes: &FindingChanges,
    format: RegisterFormat,
) -> Run {
    let format = match format {
        RegisterFormat::Csv => "csv",
        RegisterFormat::Xlsx => "xlsx",
    };
    Run {
        id: audit.run_id.clone(),
        kind: RunKind::Audit,
        name: RUN_NAME.to_owned(),
        started_at: started,
        finished_at: plumb_store::now(),
        actor: ctx.principal.who.clone(),
        outcome: if audit.has_findings() { RunOutcome::Blocked } else { RunOutcome::Succeeded },
        inputs: json!({
            "file": audit.file,
            "sha256": audit.sha256,
            "format": format,
            "columns": audit.columns,
            "inventory_read_at": audit.inventory_read_at,
        }),
        counts: json!({
            "register_lines": audit.register_lines,
            "inventory_assets": audit.inventory_assets,
            "classes": audit.counts,
            "opened": changes.opened,
            "resolved": changes.resolved,
        }),
        details: json!({"control": audit.control, "entries": audit.entries}),
    }
}

/// The audit as findings (SARIF, JUnit, HTML: every entry that is not a plain match blocks)
/// and as its document (`-o json`), with the tables an HTML page shows above the findings.
pub fn report(audit: &RegisterAudit) -> (GateReport, Vec<Section>) {
    let rules = register::CHECKS.iter().map(|check| {
        let passed = !audit.findings.iter().any(|f| f.check == *check);
        let title = audit.findings.iter().find(|f| f.check == *check).map_or(*check, |f| f.title.as_str());
        (Rule::new(check, title), passed)
    });
    let findings = Findings::from_results("plumb audit register", rules, &audit.findings, |_| true);
    let document = serde_json::to_value(audit).unwrap_or_default();
    let classes = Section {
        title: format!(
            "Register {} (SHA-256 {}) against the inventory read at {}",
            audit.file, audit.sha256, audit.inventory_read_at
        ),
        columns: vec!["class".to_owned(), "entries".to_owned()],
        rows: audit.counts.iter().map(|(class, n)| vec![class.as_str().to_owned(), n.to_string()]).collect(),
    };
    let entries = Section {
        title: "Entries".to_owned(),
        columns: ENTRY_COLUMNS.iter().map(|c| (*c).to_owned()).collect(),
        rows: audit.entries.iter().map(entry_row).collect(),
    };
    (GateReport { findings, document }, vec![classes, entries])
}

/// The columns of an entry as a row (`-o csv`, the HTML page, the table).
pub const ENTRY_COLUMNS: &[&str] =
    &["class", "line", "asset_number", "serial", "key", "matched_by", "differences", "reason"];

/// An entry as the cells of `ENTRY_COLUMNS`.
pub fn entry_row(entry: &Entry) -> Vec<String> {
    let line = entry.line.as_ref();
    let text = |value: Option<&String>| value.cloned().unwrap_or_default();
    let differences: Vec<String> = entry
        .differences
        .iter()
        .map(|d| format!("{}: register {:?}, inventory {:?}", d.field, d.register, d.inventory))
        .collect();
    vec![
        entry.class.as_str().to_owned(),
        line.map(|l| l.line.to_string()).unwrap_or_default(),
        text(line.and_then(|l| l.asset_number.as_ref())),
        text(line.and_then(|l| l.serial.as_ref())),
        text(entry.key.as_ref()),
        entry.matched_by.map(|m| m.as_str().to_owned()).unwrap_or_default(),
        differences.join("; "),
        entry.reason.clone(),
    ]
}
