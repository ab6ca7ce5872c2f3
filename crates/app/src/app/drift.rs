//! `plumb drift`: the managed view (Terraform states) against the live inventory, with the
//! items stored as findings of `drift/unmanaged|missing|changed` (so each opens once, stays
//! open and resolves once), the run recorded, and the sinks told what appeared and what went
//! away.
//!
//! Alerts go out after the results are committed: a sink that is slow or failing delays the
//! command, never the evidence, and its failure is noted on the run.
//!
//! Only what was collected completely within the freshness limit is compared: a resource of a
//! failed, stale or never-synced scope (live or state) is "not comparable", never missing,
//! unmanaged or unchanged; while a synced state cannot be relied on, no live resource is
//! unmanaged (that state may manage it); its open findings stay open as errors, the run is
//! partial, and the sinks hear of an incomplete scan (the heartbeat's `/fail`).
//!
//! A scan speaks only for what it looked at: one of named states (`--state`) resolves no
//! finding about another state's resources, and one of an environment (`--env`) resolves
//! nothing it did not report and tells the sinks it was incomplete.

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use plumb_collect::terraform::StateResource;
use plumb_core::authz::Action;
use plumb_core::coverage::{Coverage, Freshness};
use plumb_core::drift::{Detector, DriftKind, DriftReport, IgnoreRules, Managed};
use plumb_core::exception::{AssetFacts, Exception};
use plumb_core::model::{Finding, FindingStatus, Run, RunKind, RunOutcome};
use plumb_core::secrets::Sealer;
use plumb_core::sync::{Resource, TagMapping, discovered};
use plumb_core::{AssetId, InventoryRules, Timestamp};
use plumb_sink::{Alert, AlertItem, Delivery, Retry, Scan, Sink};
use plumb_store::{AssetFilter, FindingChanges, Reach};
use serde_json::{Value, json};

use crate::app::progress::Shared;
use crate::app::sync::collect_error;
use crate::app::{Context, alerts};
use crate::error::BadInput;

/// The ignore file read when none is named, if it exists.
pub const DEFAULT_IGNORE: &str = ".plumbignore";

/// What to compare.
#[derive(Clone, Debug, Default)]
pub struct DriftRequest {
    /// States to read directly (paths or `s3://`); empty: the synced Terraform resources.
    pub states: Vec<String>,
    /// The source of the live side.
    pub source: String,
    /// The ignore file; `None`: `.plumbignore` here, when present.
    pub ignore: Option<PathBuf>,
    /// Only this environment.
    pub environment: Option<String>,
}

/// What a drift scan found and did.
#[derive(Clone, Debug)]
pub struct DriftScan {
    /// The recorded run.
    pub run_id: String,
    /// The items, coverage and figures.
    pub report: DriftReport,
    /// The items as stored findings.
    pub findings: Vec<Finding>,
    /// What changed in the stored findings.
    pub changes: FindingChanges,
    /// What each sink was told.
    pub deliveries: Vec<Delivery>,
    /// Live assets of types drift has no mapping for.
    pub unknown_live: u64,
    /// How long it took.
    pub seconds: f64,
}

impl DriftScan {
    /// `-o json`'s document.
    pub fn document(&self) -> Value {
        json!({
            "run_id": self.run_id,
            "totals": self.report.totals,
            "coverage": self.report.coverage,
            "items": self.report.items,
            "unsupported_types": self.report.unsupported_types,
            "not_comparable": self.report.not_comparable,
            "complete": self.report.complete(),
            "unmapped_live": self.unknown_live,
            "alerts": self.deliveries,
        })
    }

    /// The items as a generic findings list, for SARIF, JUnit and HTML. Without --fail-on,
    /// unmanaged resources are errors (the policy asks for an alert on them), missing and
    /// changed ones warnings; what was not compared is an error either way. A kind passes only
    /// when the scan was complete and found none.
    pub fn as_findings(&self, fail_on: &DriftFailOn) -> crate::report::findings::Findings {
        let fail_on = if fail_on.kinds.is_empty() {
            DriftFailOn { kinds: vec![DriftKind::Unmanaged], allow_errors: false }
        } else {
            fail_on.clone()
        };
        let rules = CHECKS.map(|kind| {
            let found = self.findings.iter().find(|f| f.check == kind.check());
            let passed = self.report.complete() && found.is_none();
            let title = found.map_or("", |f| f.title.as_str());
            (crate::report::findings::Rule::new(&kind.check(), title), passed)
        });
        crate::report::findings::Findings::from_results("plumb drift", rules, &self.findings, |f| {
            fail_on.blocks(f)
        })
    }
}

const CHECKS: [DriftKind; 3] = [DriftKind::Unmanaged, DriftKind::Missing, DriftKind::Changed];

/// What makes a scan block (`--fail-on`): items of these kinds, and (unless errors are
/// allowed) anything that could not be compared: a scan that did not see everything is never
/// a pass.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DriftFailOn {
    /// The kinds that block.
    pub kinds: Vec<DriftKind>,
    /// Whether what could not be compared is let through (`--allow-errors`).
    pub allow_errors: bool,
}

impl DriftFailOn {
    /// Whether a stored result blocks.
    pub fn blocks(&self, finding: &Finding) -> bool {
        match finding.status {
            FindingStatus::Error => {
                let kept = finding.keeps_a_failure() && self.kinds.iter().any(|k| k.check() == finding.check);
                kept || (!self.kinds.is_empty() && !self.allow_errors)
            }
            FindingStatus::Fail => self.kinds.iter().any(|k| k.check() == finding.check),
            _ => false,
        }
    }

    /// Whether the scan blocks.
    pub fn blocks_scan(&self, scan: &DriftScan) -> bool {
        let incomplete = !scan.report.complete() && !self.kinds.is_empty() && !self.allow_errors;
        incomplete || scan.findings.iter().any(|f| self.blocks(f))
    }
}

/// Runs a scan, stores it, and alerts. When the scan itself fails, the sinks hear of the
/// failure (the heartbeat's `/fail`) before the error is returned.
pub async fn drift(
    ctx: &Context,
    request: &DriftRequest,
    sinks: &[Box<dyn Sink>],
    retry: &Retry,
    progress: &Shared,
) -> anyhow::Result<DriftScan> {
    ctx.permit(Action::RecordRun)?;
    let clock = std::time::Instant::now();
    let started = plumb_store::now();
    let run_id = ulid::Ulid::generate().to_string();
    let scanned = match scan(ctx, request, progress, started, &run_id).await {
        Ok(scanned) => scanned,
        Err(err) => {
            let alert = failed_alert(&run_id, started, &err);
            alerts::tell(ctx, sinks, retry, &alert, None).await?;
            return Err(err);
        }
    };
    let alert = alert_of(&run_id, started, request, &scanned);
    let deliveries = alerts::tell(ctx, sinks, retry, &alert, Some(&run_id)).await?;
    let Scanned { report, findings, changes, unknown_live, .. } = scanned;
    Ok(DriftScan {
        run_id,
        report,
        findings,
        changes,
        deliveries,
        unknown_live,
        seconds: clock.elapsed().as_secs_f64(),
    })
}

/// What a scan found and stored.
struct Scanned {
    report: DriftReport,
    findings: Vec<Finding>,
    changes: FindingChanges,
    /// Live assets of types drift has no mapping for.
    unknown_live: u64,
    /// Unmanaged findings open after the scan, whoever reported them.
    open_unmanaged: u64,
}

async fn scan(
    ctx: &Context,
    request: &DriftRequest,
    progress: &Shared,
    started: Timestamp,
    run_id: &str,
) -> anyhow::Result<Scanned> {
    let (ignore, ignore_file) = ignore_rules(request.ignore.as_deref())?;
    let limit = Freshness { max_age_hours: ctx.config.checks.max_data_age_hours };
    let coverage = Coverage::new(&ctx.store.scope_statuses().await?, started, limit);
    let sealer = crate::app::seal::sealer(&ctx.config)?;
    // The synced states that cannot be relied on; `None` when no state was ever synced.
    let unread_states = coverage.source_gaps("terraform");
    let mut detector =
        Detector::new(ignore, request.environment.clone(), coverage, &request.source, sealer.clone());
    let unknown_live = add_live(ctx, &request.source, &mut detector, progress).await?;
    let detector = if request.states.is_empty() {
        let Some(unread) = unread_states else {
            return Err(BadInput(
                "no Terraform state was ever synced, so nothing says what is managed: run `plumb sync \
                 terraform STATE…` first, or name the states with --state"
                    .to_owned(),
            )
            .into());
        };
        detector.unread_states(unread);
        add_synced_states(ctx, detector, progress).await?
    } else {
        add_state_files(ctx, request, detector, &sealer, progress).await?
    };
    let report = crate::app::cpu_bound(|| detector.finish());
    let now = plumb_store::now();
    let mut findings: Vec<Finding> = report.items.iter().map(|item| item.finding(now)).collect();
    except(ctx, &report, &mut findings, &ctx.store.exceptions().await?, now);
    let checks: Vec<String> = CHECKS.iter().map(|k| k.check()).collect();
    let open = ctx.store.open_finding_keys(&checks).await?;
    findings.extend(not_judged(&open, &report, now));
    let within = |check: &str, key: &str| of_named_states(&request.states, check, key);
    let reach = match (&request.environment, request.states.is_empty()) {
        (Some(_), _) => Reach::Reported,
        (None, true) => Reach::All,
        (None, false) => Reach::Within(&within),
    };
    let mut tx = ctx.begin_write().await?;
    let changes = tx.record_findings(&checks, &mut findings, run_id, reach).await?;
    let used = Used { ignore_file, started };
    tx.record_run(&run(ctx, run_id, request, &used, &report, &changes)).await?;
    tx.commit().await?;
    let open_unmanaged = open_unmanaged(&open, &findings, &changes);
    Ok(Scanned { report, findings, changes, unknown_live, open_unmanaged })
}

/// Unmanaged findings open after the scan and not excepted: this scan's, and those open before
/// that it neither reported nor resolved (a scan of part of the estate resolves nothing).
fn open_unmanaged(
    open: &[(String, String, FindingStatus)],
    findings: &[Finding],
    changes: &FindingChanges,
) -> u64 {
    let unmanaged = DriftKind::Unmanaged.check();
    let counted = |status: FindingStatus| status != FindingStatus::Excepted;
    let keys = |list: &[Finding]| -> std::collections::HashSet<String> {
        list.iter().filter(|f| f.check == unmanaged).map(|f| f.key.clone()).collect()
    };
    let (reported, resolved) = (keys(findings), keys(&changes.resolved_findings));
    let now = findings.iter().filter(|f| f.check == unmanaged && counted(f.status)).count();
    let kept = open
        .iter()
        .filter(|(check, key, status)| {
            *check == unmanaged && counted(*status) && !reported.contains(key) && !resolved.contains(key)
        })
        .count();
    (now + kept) as u64
}

/// Drift items an active exception covers become `excepted` (`plumb_core::exception::apply`).
/// An item of unknown environment counts as production.
fn except(
    ctx: &Context,
    report: &DriftReport,
    findings: &mut [Finding],
    exceptions: &[Exception],
    now: Timestamp,
) {
    if exceptions.is_empty() {
        return;
    }
    let production = ctx.config.inventory.production.as_str();
    let facts: HashMap<&str, (AssetFacts<'_>, bool)> = report
        .items
        .iter()
        .map(|item| {
            let facts = AssetFacts {
                key: &item.key,
                asset_type: Some(&item.resource_type),
                environment: item.environment.as_deref(),
                account: item.account.as_deref(),
                tags: None,
            };
            (item.key.as_str(), (facts, item.environment.as_deref().is_none_or(|e| e == production)))
        })
        .collect();
    plumb_core::exception::apply(findings, exceptions, &facts, now);
}

/// Open findings about what this scan could not judge stay open, as errors: a scan that did
/// not see a resource resolves nothing about it.
fn not_judged(
    open: &[(String, String, FindingStatus)],
    report: &DriftReport,
    now: Timestamp,
) -> Vec<Finding> {
    let mut findings = Vec::new();
    for (check, key, status) in open {
        let (Some(reasons), Some(kind)) =
            (report.unjudged.get(key), CHECKS.iter().find(|k| k.check() == *check))
        else {
            continue;
        };
        findings.push(kind.not_judged(key, reasons, *status, now));
    }
    findings
}

/// Whether a scan of the named states speaks for an open finding: every finding about a live
/// resource, and "missing" only for the resources of those states (`terraform:STATE:ADDRESS`).
fn of_named_states(states: &[String], check: &str, key: &str) -> bool {
    check != DriftKind::Missing.check()
        || states.iter().any(|state| {
            key.strip_prefix("terraform:")
                .and_then(|rest| rest.strip_prefix(state.as_str()))
                .is_some_and(|rest| rest.starts_with(':'))
        })
}

/// The ignore rules and the file they came from: the named file (which must exist), else
/// `.plumbignore` when present.
fn ignore_rules(path: Option<&Path>) -> anyhow::Result<(IgnoreRules, Option<String>)> {
    let path = match path {
        Some(path) => path,
        None if Path::new(DEFAULT_IGNORE).exists() => Path::new(DEFAULT_IGNORE),
        None => return Ok((IgnoreRules::default(), None)),
    };
    let text = std::fs::read_to_string(path)
        .map_err(|err| BadInput(format!("cannot read the ignore file {}: {err}", path.display())))?;
    let rules = IgnoreRules::parse(&text).map_err(|err| BadInput(format!("{}: {err}", path.display())))?;
    Ok((rules, Some(path.display().to_string())))
}

/// What a scan actually used, for its record: the ignore file may be the default one.
struct Used {
    ignore_file: Option<String>,
    started: Timestamp,
}

/// Feeds the present assets of the live source; returns how many had no mapping. The next
/// page is read while this one is indexed.
async fn add_live(
    ctx: &Context,
    source: &str,
    detector: &mut Detector,
    progress: &Shared,
) -> anyhow::Result<u64> {
    let mut scan = ctx.store.scan_documents(source).await?;
    let (sender, mut pages) = tokio::sync::mpsc::channel(2);
    let reading = tokio::spawn(async move {
        while let Some(batch) = scan.next_batch().await? {
            if sender.send(batch).await.is_err() {
                break;
            }
        }
        Ok::<_, plumb_store::StoreError>(())
    });
    let mut unknown = 0;
    while let Some(batch) = pages.recv().await {
        progress.advance(batch.len() as u64);
        unknown += crate::app::cpu_bound(|| {
            let mut unknown = 0;
            for record in batch {
                if !detector.add_live(record) {
                    unknown += 1;
                }
            }
            unknown
        });
    }
    reading.await??;
    Ok(unknown)
}

/// Feeds the Terraform resources the last syncs stored.
async fn add_synced_states(
    ctx: &Context,
    mut detector: Detector,
    progress: &Shared,
) -> anyhow::Result<Detector> {
    let filter = AssetFilter { source: Some("terraform".to_owned()), ..AssetFilter::default() };
    let mut scan = ctx.store.scan_assets(filter).await?;
    while let Some(batch) = scan.next_batch().await? {
        for asset in batch.iter().filter(|a| a.absent_since.is_none()) {
            if let Some(managed) = Managed::from_asset(asset) {
                detector.add_managed(&managed);
            }
        }
        progress.advance(batch.len() as u64);
    }
    Ok(detector)
}

/// Streams the named states through the detector on a blocking thread.
async fn add_state_files(
    ctx: &Context,
    request: &DriftRequest,
    detector: Detector,
    sealer: &Sealer,
    progress: &Shared,
) -> anyhow::Result<Detector> {
    let mut readers = Vec::new();
    for state in &request.states {
        readers.push((state.clone(), plumb_collect::terraform::open(state).await.map_err(collect_error)?));
    }
    // The environment of a state resource comes from its tags, as sync would map them; it is
    // only needed to filter missing resources by environment.
    let environment = request.environment.is_some().then(|| (ctx.config.tag_mapping(), ctx.config.rules()));
    let progress = progress.clone();
    let sealer = sealer.clone();
    tokio::task::spawn_blocking(move || {
        read_states(readers, detector, environment.as_ref(), &sealer, &progress)
    })
    .await
    .map_err(|err| anyhow::anyhow!("reading the states stopped: {err}"))?
}

/// State resources handed from the parsing thread to the comparing one at a time.
const MANAGED_BATCH: usize = 256;

/// Parses the states on one thread while this one compares what it parsed: the two halves
/// take about as long as each other.
fn read_states(
    readers: Vec<(String, Box<dyn Read + Send>)>,
    mut detector: Detector,
    environment: Option<&(TagMapping, InventoryRules)>,
    sealer: &Sealer,
    progress: &Shared,
) -> anyhow::Result<Detector> {
    let (sender, batches) = std::sync::mpsc::sync_channel::<Vec<Managed>>(8);
    std::thread::scope(|threads| {
        let parsing = threads.spawn(move || parse_states(readers, environment, sealer, &sender));
        for batch in batches {
            for managed in &batch {
                detector.add_managed(managed);
            }
            progress.advance(batch.len() as u64);
        }
        parsing.join().map_err(|_| anyhow::anyhow!("parsing the states stopped"))?
    })?;
    Ok(detector)
}

fn parse_states(
    readers: Vec<(String, Box<dyn Read + Send>)>,
    environment: Option<&(TagMapping, InventoryRules)>,
    sealer: &Sealer,
    sender: &std::sync::mpsc::SyncSender<Vec<Managed>>,
) -> anyhow::Result<()> {
    for (name, reader) in readers {
        let mut batch = Vec::with_capacity(MANAGED_BATCH);
        let mut emit = |block| {
            batch.extend(managed_of(&name, block, environment, sealer));
            if batch.len() >= MANAGED_BATCH {
                sender.send(std::mem::take(&mut batch)).map_err(|_| plumb_collect::Stopped)?;
            }
            Ok(())
        };
        plumb_collect::terraform::parse(&name, reader, &mut emit).map_err(collect_error)?;
        sender.send(batch).map_err(|_| anyhow::anyhow!("comparing the states stopped"))?;
    }
    Ok(())
}

/// The managed resources of one state resource block.
fn managed_of(
    state: &str,
    block: StateResource,
    environment: Option<&(TagMapping, InventoryRules)>,
    sealer: &Sealer,
) -> Vec<Managed> {
    if environment.is_some() {
        // The environment comes from the tags as sync would map them, which needs the resource.
        return plumb_collect::terraform::resources(state, block, sealer)
            .into_iter()
            .map(|r| managed(r, environment))
            .collect();
    }
    plumb_collect::terraform::instances(state, block, sealer)
        .map(|instance| Managed {
            key: instance.key,
            address: instance.address,
            state: state.to_owned(),
            provider: instance.provider,
            terraform_type: instance.resource_type,
            values: instance.values,
            environment: None,
            scope: None,
        })
        .collect()
}

fn managed(resource: Resource, environment: Option<&(TagMapping, InventoryRules)>) -> Managed {
    let environment = environment.and_then(|(mapping, rules)| {
        discovered(&resource, mapping, rules, AssetId(ulid::Ulid::nil()), Timestamp::UNIX_EPOCH).environment
    });
    let key = resource.key();
    let Resource { mut attributes, native_id, resource_type, scope, .. } = resource;
    Managed {
        key,
        address: native_id,
        state: plumb_core::scope::ScopeId::parse(&scope).tenant,
        provider: attributes.get("provider_config").and_then(Value::as_str).unwrap_or_default().into(),
        terraform_type: resource_type.strip_prefix("terraform.").unwrap_or(&resource_type).to_owned(),
        values: attributes.get_mut("values").map(Value::take).unwrap_or(Value::Null),
        environment,
        scope: None,
    }
}

fn run(
    ctx: &Context,
    run_id: &str,
    request: &DriftRequest,
    used: &Used,
    report: &DriftReport,
    changes: &FindingChanges,
) -> Run {
    let totals = &report.totals;
    let found = totals.unmanaged + totals.missing + totals.changed;
    // A scan that could not compare everything is partial whatever else it found.
    let outcome = if !report.complete() {
        RunOutcome::Partial
    } else if found > 0 {
        RunOutcome::Blocked
    } else {
        RunOutcome::Succeeded
    };
    let items: Vec<Value> = report
        .items
        .iter()
        .map(|i| json!({"kind": i.kind.as_str(), "key": i.key, "type": i.resource_type, "id": i.id, "addresses": i.addresses}))
        .collect();
    Run {
        id: run_id.to_owned(),
        kind: RunKind::Drift,
        name: request.source.clone(),
        started_at: used.started,
        finished_at: plumb_store::now(),
        actor: ctx.principal.who.clone(),
        outcome,
        inputs: json!({
            "states": if request.states.is_empty() { json!("synced") } else { json!(request.states) },
            "source": request.source,
            "ignore": used.ignore_file,
            "environment": request.environment,
        }),
        counts: json!({
            "live": totals.live,
            "managed": totals.managed,
            "state_resources": totals.state_resources,
            "unmanaged": totals.unmanaged,
            "missing": totals.missing,
            "changed": totals.changed,
            "ignored": totals.ignored,
            "defaults": totals.defaults,
            "not_comparable": totals.not_comparable,
            "opened": changes.opened,
            "resolved": changes.resolved,
        }),
        details: json!({
            "coverage": report.coverage,
            "items": items,
            "unsupported_types": report.unsupported_types,
            "not_comparable": report.not_comparable,
        }),
    }
}

fn alert_item(finding: &Finding) -> AlertItem {
    AlertItem {
        kind: finding.check.strip_prefix("drift/").unwrap_or(&finding.check).to_owned(),
        key: finding.key.clone(),
        resource_type: finding.evidence.get("type").and_then(Value::as_str).unwrap_or_default().to_owned(),
        message: finding.message.clone(),
    }
}

/// What the sinks hear of a scan. One of an environment saw part of the estate: it is
/// incomplete, so no incident resolves and no heartbeat says the daily scan was done.
fn alert_of(run_id: &str, at: Timestamp, request: &DriftRequest, scanned: &Scanned) -> Alert {
    let Scanned { report, changes, open_unmanaged, .. } = scanned;
    let totals = &report.totals;
    let error = match &request.environment {
        _ if !report.complete() => Some(incomplete_message(report)),
        Some(environment) => Some(format!("only environment {environment} was compared")),
        None => None,
    };
    Alert {
        scan: Scan::Drift,
        run_id: run_id.to_owned(),
        at: at.to_string(),
        outcome: if error.is_none() {
            plumb_sink::Outcome::Completed
        } else {
            plumb_sink::Outcome::Incomplete
        },
        error,
        // An excepted item was reviewed and accepted: nobody is paged for it.
        opened: changes
            .opened_findings
            .iter()
            .filter(|f| f.status != FindingStatus::Excepted)
            .map(alert_item)
            .collect(),
        resolved: changes.resolved_findings.iter().map(alert_item).collect(),
        open_unmanaged: Some(*open_unmanaged),
        summary: json!({
            "unmanaged": totals.unmanaged,
            "missing": totals.missing,
            "changed": totals.changed,
            "managed": totals.managed,
            "live": totals.live,
        }),
        report_url: None,
    }
}

/// What an incomplete scan could not compare, in a sentence.
pub fn incomplete_message(report: &DriftReport) -> String {
    let parts: Vec<String> =
        report.not_comparable.iter().map(|n| format!("{} resources: {}", n.resources, n.reason)).collect();
    format!("{} resources not compared: {}", report.totals.not_comparable, parts.join("; "))
}

fn failed_alert(run_id: &str, at: Timestamp, err: &anyhow::Error) -> Alert {
    Alert {
        scan: Scan::Drift,
        run_id: run_id.to_owned(),
        at: at.to_string(),
        outcome: plumb_sink::Outcome::Failed,
        error: Some(format!("{err:#}")),
        opened: Vec::new(),
        resolved: Vec::new(),
        // A failed scan knows nothing of what is open.
        open_unmanaged: None,
        summary: json!({}),
        report_url: None,
    }
}
