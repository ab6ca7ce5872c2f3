//! `plumb check`: every selected policy over the inventory, in parallel, with the results
//! stored as findings that open, stay open and resolve across runs, and the run recorded.
//!
//! Checks of account scope see one account's documents of their types at a time; checks of
//! resource scope see batches of documents; conftest policies see one document. A check whose
//! data was not collected completely within the freshness limit (a service failed, is stale
//! or was never synced) reports `error` for the account and for every open finding about it,
//! instead of judging missing data as passing. A run of one environment judges that
//! environment's resources and whole accounts, and resolves only what it reports as passing.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use plumb_core::Timestamp;
use plumb_core::authz::Action;
use plumb_core::coverage::{Coverage, Freshness, Gap};
use plumb_core::exception::{self, AssetFacts, Exception};
use plumb_core::model::{Finding, FindingStatus, PREVIOUS_STATUS, Run, RunKind, RunOutcome, Severity};
use plumb_core::scope::{self, ScopeId};
use plumb_policy::{
    Check, Document, Limits, LoadOptions, PACKS, PolicyError, PolicySet, Scope, Source, Style,
};
use plumb_store::{AssetFilter, FindingChanges, Reach};
use serde::Serialize;
use serde_json::{Value, json};
use sha2::Digest;

use crate::app::Context;
use crate::app::progress::Shared;
use crate::error::BadInput;

const BATCH: usize = 500;

/// One check as `plumb policy list` and the API describe it.
#[derive(Clone, Debug, Serialize)]
pub struct CheckInfo {
    /// `pack/rule`.
    pub id: String,
    /// Its pack or policy folder.
    pub pack: String,
    /// Short title.
    pub title: String,
    /// Severity of a failure.
    pub severity: plumb_core::model::Severity,
    /// `resource` or `account`.
    pub scope: String,
    /// `native` or `conftest`.
    pub style: String,
    /// The controls it is evidence for.
    pub controls: Vec<String>,
    /// How to fix a failure.
    pub remediation: String,
    /// Resource types it reads (empty: all).
    pub types: Vec<String>,
    /// Services whose collection it needs.
    pub requires: Vec<String>,
    /// The file it is defined in.
    pub path: String,
}

/// The checks a request selects, described.
pub fn catalogue(request: &CheckRequest) -> anyhow::Result<Vec<CheckInfo>> {
    let set = policies(request, Limits::default())?.set;
    Ok(set
        .checks()
        .iter()
        .map(|c| CheckInfo {
            id: c.id.clone(),
            pack: c.pack.clone(),
            title: c.title.clone(),
            severity: c.severity,
            scope: format!("{:?}", c.scope).to_lowercase(),
            style: format!("{:?}", c.style).to_lowercase(),
            controls: c.controls.clone(),
            remediation: c.remediation.clone(),
            types: c.types.clone(),
            requires: c.requires.clone(),
            path: c.path.clone(),
        })
        .collect())
}

/// What to check.
#[derive(Clone, Debug, Default)]
pub struct CheckRequest {
    /// Built-in packs; empty: all of them, unless policy folders are given.
    pub packs: Vec<String>,
    /// Folders of the user's own policies.
    pub policy_dirs: Vec<PathBuf>,
    /// Only assets of this environment.
    pub environment: Option<String>,
    /// Packages the policy folders may replace (`--override`).
    pub overrides: Vec<String>,
}

/// One check's results in a run: the per-control summary.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct CheckSummary {
    /// The check.
    pub check: String,
    /// Its title.
    pub title: String,
    /// Its controls.
    pub controls: Vec<String>,
    /// Its severity.
    pub severity: String,
    /// Results that passed.
    pub pass: u64,
    /// Results that failed.
    pub fail: u64,
    /// Results that failed and an unexpired exception covers.
    pub excepted: u64,
    /// Results that need a person.
    pub manual: u64,
    /// Results that could not be evaluated.
    pub error: u64,
}

/// What a check run found.
#[derive(Clone, Debug)]
pub struct CheckReport {
    /// The recorded run.
    pub run_id: String,
    /// Every result, passing ones included.
    pub findings: Vec<Finding>,
    /// Per check.
    pub summary: Vec<CheckSummary>,
    /// What changed in the stored findings.
    pub changes: FindingChanges,
    /// How many documents were checked.
    pub resources: usize,
    /// How long it took.
    pub seconds: f64,
}

impl CheckReport {
    /// Whether the run blocks under `fail_on` (none: it never does).
    pub fn blocks(&self, fail_on: Option<FailOn>) -> bool {
        fail_on.is_some_and(|f| self.findings.iter().any(|r| f.blocks(r)))
    }

    /// The results as a generic findings list, for SARIF, JUnit and HTML; checks without
    /// failing, manual or error results pass. Without `--fail-on`, high failures and every
    /// error are what a reader must see first.
    pub fn as_findings(&self, fail_on: Option<FailOn>) -> crate::report::findings::Findings {
        let fail_on = fail_on.unwrap_or(FailOn { threshold: Severity::High, allow_errors: false });
        let rules = self.summary.iter().map(|s| {
            (
                crate::report::findings::Rule::new(&s.check, &s.title),
                s.fail + s.excepted + s.manual + s.error == 0,
            )
        });
        crate::report::findings::Findings::from_results("plumb check", rules, &self.findings, |f| {
            fail_on.blocks(f)
        })
    }

    /// The results shown: every one with `all`, else all but passes.
    pub fn shown(&self, all: bool) -> Vec<&Finding> {
        self.findings.iter().filter(|f| all || f.status != FindingStatus::Pass).collect()
    }

    /// `-o json`'s document: the run, the per-check summary and the results shown.
    pub fn document(&self, all: bool) -> serde_json::Value {
        json!({"run_id": self.run_id, "summary": self.summary, "findings": self.shown(all)})
    }
}

/// The policies a request selected, compiled, and what a run records of them.
#[derive(Debug)]
pub struct Selected {
    /// The compiled policies.
    pub set: PolicySet,
    /// Every user policy file with the SHA-256 of its text: what exactly was judged with.
    pub files: Vec<Value>,
}

/// The policies a request selects, compiled, with the evaluation limits.
pub fn policies(request: &CheckRequest, limits: Limits) -> anyhow::Result<Selected> {
    let mut groups = Vec::new();
    let all = request.packs.is_empty() && request.policy_dirs.is_empty();
    for pack in PACKS.iter().filter(|p| all || request.packs.iter().any(|name| name == p.name)) {
        groups.push((pack.name.to_owned(), pack.sources()));
    }
    for name in &request.packs {
        if !PACKS.iter().any(|p| p.name == name) {
            let known: Vec<&str> = PACKS.iter().map(|p| p.name).collect();
            return Err(
                BadInput(format!("unknown pack {name:?}; expected one of {}", known.join(", "))).into()
            );
        }
    }
    let mut files = Vec::new();
    for dir in &request.policy_dirs {
        let name =
            dir.file_name().map_or_else(|| dir.display().to_string(), |n| n.to_string_lossy().into_owned());
        let sources = read_policies(dir)?;
        for source in &sources {
            let digest = hex::encode(sha2::Sha256::digest(source.text.as_bytes()));
            files.push(json!({"path": source.path, "sha256": digest}));
        }
        groups.push((name, sources));
    }
    let options = LoadOptions { overrides: request.overrides.clone(), limits };
    let set = PolicySet::load(&groups, &options).map_err(|err| BadInput(err.to_string()))?;
    if let Some(unused) = request.overrides.iter().find(|o| !set.replaced().iter().any(|(p, _)| p == *o)) {
        return Err(BadInput(format!(
            "--override {unused}: no policy of yours replaces a package of that name"
        ))
        .into());
    }
    Ok(Selected { set, files })
}

/// The evaluation limits of `[checks]`.
pub fn limits(config: &crate::config::Config) -> Limits {
    Limits {
        time: std::time::Duration::from_secs(u64::from(config.checks.eval_timeout_seconds.max(1))),
        memory: u64::from(config.checks.eval_memory_mib.max(1)) << 20,
    }
}

/// Every `.rego` file under a folder, in a stable order.
fn read_policies(dir: &Path) -> anyhow::Result<Vec<Source>> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(current) = pending.pop() {
        let entries = std::fs::read_dir(&current)
            .map_err(|err| BadInput(format!("cannot read the policy folder {}: {err}", current.display())))?;
        for entry in entries {
            let path = entry?.path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == "rego") {
                let text = std::fs::read_to_string(&path)
                    .map_err(|err| BadInput(format!("cannot read {}: {err}", path.display())))?;
                files.push(Source { path: path.display().to_string(), text });
            }
        }
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(files)
}

/// Runs the checks and stores their results.
pub async fn check(ctx: &Context, request: &CheckRequest, progress: &Shared) -> anyhow::Result<CheckReport> {
    ctx.permit(Action::RecordRun)?;
    let clock = std::time::Instant::now();
    let started = plumb_store::now();
    let Selected { set, files } = policies(request, limits(&ctx.config))?;
    let assets = load_assets(ctx).await?;
    let limit = Freshness { max_age_hours: ctx.config.checks.max_data_age_hours };
    let coverage = Coverage::new(&ctx.store.scope_statuses().await?, started, limit);
    let checks: Vec<String> = set.checks().iter().map(|c| c.id.clone()).collect();
    let open = open_findings(ctx, &checks).await?;
    let context =
        Document::from_json(&check_context(ctx, started)).map_err(|err| BadInput(err.to_string()))?;
    let mut findings = crate::app::cpu_bound(|| -> anyhow::Result<Vec<Finding>> {
        let work = plan(set.checks(), &assets, &coverage, &open, request.environment.as_deref());
        progress.set_total(work.items.len() as u64);
        let documents = documents(&assets)?;
        let mut findings = work.errors;
        findings.extend(evaluate(
            &set,
            &work.items,
            &Inputs { assets: &assets, documents: &documents, context: &context },
            progress,
        )?);
        Ok(findings)
    })?;
    let exceptions = ctx.store.exceptions().await?;
    apply_exceptions(ctx, &mut findings, &assets, &exceptions, started);
    findings.extend(exception::expired_with_failures(&findings, &exceptions, started));
    let overdue = register_overdue(ctx, &set, request, started).await?;
    findings.extend(overdue.clone());
    findings.sort_by(|a, b| (&a.check, &a.key).cmp(&(&b.check, &b.key)));
    let run_id = ulid::Ulid::generate().to_string();
    let mut tx = ctx.begin_write().await?;
    // An expired exception's finding is this run's to resolve only when the run judged a
    // check it covered.
    let speaks_for = |check: &str, key: &str| {
        check != exception::EXPIRED_CHECK
            || exceptions.iter().any(|e| e.id.to_string() == key && checks.iter().any(|c| e.names_check(c)))
    };
    // A run of one environment did not look at the others' resources.
    let reach = if request.environment.is_none() { Reach::Within(&speaks_for) } else { Reach::Reported };
    let mut recorded = checks.clone();
    recorded.push(exception::EXPIRED_CHECK.to_owned());
    recorded.extend(overdue.as_ref().map(|f| f.check.clone()));
    let changes = if has_duplicates(&findings) {
        let mut stored = stored_findings(&findings);
        let changes = tx.record_findings(&recorded, &mut stored, &run_id, reach).await?;
        carry_first_seen(&mut findings, &stored);
        changes
    } else {
        tx.record_findings(&recorded, &mut findings, &run_id, reach).await?
    };
    let mut summary = summarize(set.checks(), &findings);
    summary.extend(expired_summary(&findings));
    summary.extend(overdue.as_ref().map(overdue_summary));
    let judged = Judged { set: &set, files: &files, resources: assets.len() };
    tx.record_run(&run(ctx, &run_id, request, started, &summary, &changes, &judged)).await?;
    tx.commit().await?;
    Ok(CheckReport {
        run_id,
        findings,
        summary,
        changes,
        resources: assets.len(),
        seconds: clock.elapsed().as_secs_f64(),
    })
}

/// Failing results an active exception covers become `excepted`; those whose exception ended
/// say so (`plumb_core::exception::apply`).
fn apply_exceptions(
    ctx: &Context,
    findings: &mut [Finding],
    assets: &[Value],
    exceptions: &[Exception],
    now: Timestamp,
) {
    if exceptions.is_empty() {
        return;
    }
    let production = ctx.config.inventory.production.as_str();
    let accounts: Vec<Option<String>> = assets
        .iter()
        .map(|asset| {
            let key = asset["key"].as_str().unwrap_or_default();
            let scope = asset["scope"].as_str().map(ScopeId::parse);
            scope::locate_key(key).0.map(str::to_owned).or_else(|| scope.map(|s| s.tenant))
        })
        .collect();
    let facts: HashMap<&str, (AssetFacts<'_>, bool)> = assets
        .iter()
        .zip(&accounts)
        .filter_map(|(asset, account)| {
            let key = asset["key"].as_str()?;
            let environment = asset["environment"].as_str();
            let facts = AssetFacts {
                key,
                asset_type: asset["type"].as_str(),
                environment,
                account: account.as_deref(),
                tags: asset["tags"].as_object(),
            };
            Some((key, (facts, environment == Some(production))))
        })
        .collect();
    plumb_core::exception::apply(findings, exceptions, &facts, now);
}

/// Present assets as the JSON checks read: all of them, since a check of a whole account
/// judges the account whatever environment was asked for.
async fn load_assets(ctx: &Context) -> anyhow::Result<Vec<Value>> {
    let mut scan = ctx.store.scan_assets(AssetFilter::default()).await?;
    let mut assets = Vec::new();
    while let Some(batch) = scan.next_batch().await? {
        assets.extend(batch.iter().filter(|a| a.absent_since.is_none()).map(|a| a.to_json()));
    }
    Ok(assets)
}

/// The open findings of these checks, by check.
async fn open_findings(ctx: &Context, checks: &[String]) -> anyhow::Result<OpenFindings> {
    let mut open: OpenFindings = HashMap::new();
    for (check, key, status) in ctx.store.open_finding_keys(checks).await? {
        open.entry(check).or_default().push((key, status));
    }
    Ok(open)
}

/// What the checks read besides the documents.
fn check_context(ctx: &Context, now: Timestamp) -> Value {
    let config = &ctx.config;
    json!({
        "now": now.to_string(),
        "production": config.inventory.production,
        "roles": {"head_of_product": config.roles.head_of_product, "sre_lead": config.roles.sre_lead},
        "owner_tags": config.tags.owner,
        "endpoint_types": config.checks.endpoint_types,
        "customer_data_classifications": config.checks.customer_data_classifications,
        "stale_after_days": config.checks.stale_after_days,
        "root_recent_use_days": config.checks.root_recent_use_days,
        "tag_keys": {"environment": config.tags.environment, "classification": config.tags.classification},
        "words": {"environment": config.inventory.environments, "classification": config.inventory.classifications},
        "tag_values": {"environment": config.tags.environment_values, "classification": config.tags.classification_values},
        "documents": [],
    })
}

/// One unit of evaluation.
struct Item<'a> {
    check: &'a Check,
    /// Indexes into the assets.
    documents: Vec<usize>,
    /// For account scope and context documents: the account.
    account: Option<String>,
    /// The account's collected regions.
    regions: Vec<String>,
    /// Context documents (indexes), for resource-scope checks that ask for them.
    context: Vec<usize>,
    /// For account scope: the keys of the check's open findings about the account, which an
    /// evaluation error keeps open as errors.
    open: Vec<String>,
}

struct Plan<'a> {
    items: Vec<Item<'a>>,
    /// `error` results for what could not be evaluated.
    errors: Vec<Finding>,
}

/// The assets' positions by type, and each asset's scope with its gap, worked out once for
/// all checks.
struct AssetIndex<'v> {
    assets: &'v [Value],
    by_type: HashMap<&'v str, Vec<usize>>,
    /// Each asset's position in `scopes`, when it came from a sync.
    scope_of: Vec<Option<usize>>,
    /// Every scope assets came from, with its gap (none when it was collected completely
    /// within the limit).
    scopes: Vec<(ScopeId, Option<Gap>)>,
    /// The tenant (account) of each asset key, for open findings keyed by asset.
    tenant_of_key: HashMap<&'v str, usize>,
}

impl<'v> AssetIndex<'v> {
    fn new(assets: &'v [Value], coverage: &Coverage) -> AssetIndex<'v> {
        let mut index = AssetIndex {
            assets,
            by_type: HashMap::new(),
            scope_of: Vec::with_capacity(assets.len()),
            scopes: Vec::new(),
            tenant_of_key: HashMap::new(),
        };
        let mut positions: HashMap<&str, usize> = HashMap::new();
        for (i, asset) in assets.iter().enumerate() {
            if let Some(asset_type) = asset["type"].as_str() {
                index.by_type.entry(asset_type).or_default().push(i);
            }
            let scope = asset["scope"].as_str().map(|name| {
                *positions.entry(name).or_insert_with(|| {
                    index.scopes.push((ScopeId::parse(name), coverage.gap(name)));
                    index.scopes.len() - 1
                })
            });
            if let (Some(position), Some(key)) = (scope, asset["key"].as_str()) {
                index.tenant_of_key.insert(key, position);
            }
            index.scope_of.push(scope);
        }
        index
    }

    /// The positions, in order, of the assets whose type is `wanted`.
    fn of_types(&self, wanted: impl Fn(&str) -> bool) -> Vec<usize> {
        let mut found: Vec<usize> = self
            .by_type
            .iter()
            .filter(|(t, _)| wanted(t))
            .flat_map(|(_, positions)| positions)
            .copied()
            .collect();
        found.sort_unstable();
        found
    }

    fn scope(&self, asset: usize) -> Option<&ScopeId> {
        self.scope_of[asset].map(|s| &self.scopes[s].0)
    }

    /// Why an asset's document cannot be judged: its scope was not collected completely
    /// within the limit. Assets people registered or imported have no scope and are judged as
    /// they are.
    fn gap(&self, asset: usize) -> Option<&Gap> {
        self.scope_of[asset].and_then(|s| self.scopes[s].1.as_ref())
    }

    /// The account of a synced asset of a structured source.
    fn tenant(&self, asset: usize, source: &str) -> Option<&str> {
        self.scope(asset).filter(|s| s.source == source && s.place.is_some()).map(|s| s.tenant.as_str())
    }

    fn in_tenant(&self, positions: &[usize], source: &str, tenant: &str) -> Vec<usize> {
        positions.iter().copied().filter(|&i| self.tenant(i, source) == Some(tenant)).collect()
    }

    /// The tenants of a source that assets came from.
    fn tenants(&self, source: &str) -> BTreeSet<String> {
        self.scopes
            .iter()
            .filter(|(s, _)| s.source == source && s.place.is_some())
            .map(|(s, _)| s.tenant.clone())
            .collect()
    }

    /// Whether an open finding's key may be about this tenant (one of `tenants`): an asset
    /// of it, the tenant itself, or a key that names it (an ARN, a settings key,
    /// `ACCOUNT:REGION`). A key that names no tenant (a resource gone from the inventory,
    /// a plain name) may be about any, so it is kept open rather than resolved.
    fn key_in_tenant(&self, key: &str, tenant: &str, tenants: &BTreeSet<String>) -> bool {
        if let Some(&scope) = self.tenant_of_key.get(key) {
            return self.scopes[scope].0.tenant == tenant;
        }
        let named = scope::locate_key(key)
            .0
            .or_else(|| key.split(':').next().filter(|first| tenants.contains(*first)));
        named.is_none_or(|named| named == tenant)
    }

    fn key(&self, asset: usize) -> &str {
        self.assets[asset]["key"].as_str().unwrap_or_default()
    }
}

/// The source whose services a check's `requires` names: the first word of its types
/// (`aws.iam.user`), AWS when it names none.
fn check_source(check: &Check) -> &str {
    check.types.first().and_then(|t| t.split('.').next()).unwrap_or("aws")
}

/// Open findings by check: (key, status).
type OpenFindings = HashMap<String, Vec<(String, FindingStatus)>>;

/// What to evaluate and what cannot be. With `environment`, checks of resources judge only
/// that environment's; checks of a whole account judge the account.
fn plan<'a>(
    checks: &'a [Check],
    assets: &[Value],
    coverage: &Coverage,
    open: &OpenFindings,
    environment: Option<&str>,
) -> Plan<'a> {
    let now = plumb_store::now();
    let index = AssetIndex::new(assets, coverage);
    let mut plan = Plan { items: Vec::new(), errors: Vec::new() };
    let no_open = Vec::new();
    for check in checks {
        let open = open.get(&check.id).unwrap_or(&no_open);
        let previous = |key: &str| open.iter().find(|(k, _)| k == key).map(|(_, status)| *status);
        let mut matching = index.of_types(|t| check.reads(t));
        if let (Some(environment), Scope::Resource) = (environment, check.scope) {
            matching.retain(|&i| assets[i]["environment"].as_str() == Some(environment));
        }
        if check.requires.is_empty() && check.scope == Scope::Resource {
            // Each document is judged on its own, so each needs only its own scope complete.
            let mut judged = Vec::with_capacity(matching.len());
            for i in matching {
                match index.gap(i) {
                    Some(gap) => {
                        let key = index.key(i);
                        plan.errors.push(not_collected(check, key, &[gap], previous(key), now));
                    }
                    None => judged.push(i),
                }
            }
            let size = if check.style == Style::Conftest { 1 } else { BATCH };
            for chunk in judged.chunks(size) {
                plan.items.push(Item {
                    check,
                    documents: chunk.to_vec(),
                    account: None,
                    regions: vec![],
                    context: vec![],
                    open: vec![],
                });
            }
            continue;
        }
        // Checks of a whole account, or of collected services: per account, and only where
        // everything they rest on was collected completely within the limit.
        let source = check_source(check);
        let context_types = index.of_types(|t| check.context.iter().any(|c| c == t));
        let mut tenants = index.tenants(source);
        tenants.extend(coverage.tenants(source));
        for tenant in &tenants {
            let documents = index.in_tenant(&matching, source, tenant);
            let context = index.in_tenant(&context_types, source, tenant);
            let mut gaps = coverage.required(source, tenant, &check.requires);
            for &i in documents.iter().chain(&context) {
                if let Some(gap) = index.gap(i).filter(|g| !gaps.iter().any(|known| known.scope == g.scope)) {
                    gaps.push(gap.clone());
                }
            }
            // The check's open findings about this tenant besides the tenant's own.
            let about: Vec<&(String, FindingStatus)> = open
                .iter()
                .filter(|(k, _)| k != tenant && index.key_in_tenant(k, tenant, &tenants))
                .collect();
            if !gaps.is_empty() {
                let gaps: Vec<&Gap> = gaps.iter().collect();
                plan.errors.push(not_collected(check, tenant, &gaps, previous(tenant), now));
                // What was open stays open, as an error: a detected failure resolves nothing.
                for (key, status) in about {
                    plan.errors.push(not_collected(check, key, &gaps, Some(*status), now));
                }
                continue;
            }
            let regions = coverage.places(source, tenant);
            match check.scope {
                Scope::Account => plan.items.push(Item {
                    check,
                    documents,
                    account: Some(tenant.clone()),
                    regions,
                    context,
                    open: about.iter().map(|(k, _)| k.clone()).collect(),
                }),
                Scope::Resource => {
                    for chunk in documents.chunks(BATCH) {
                        plan.items.push(Item {
                            check,
                            documents: chunk.to_vec(),
                            account: Some(tenant.clone()),
                            regions: regions.clone(),
                            context: context.clone(),
                            open: vec![],
                        });
                    }
                }
            }
        }
    }
    plan
}

/// The `error` result for a key whose data was not collected completely within the limit.
fn not_collected(
    check: &Check,
    key: &str,
    gaps: &[&Gap],
    previous: Option<FindingStatus>,
    now: Timestamp,
) -> Finding {
    let why: Vec<String> = gaps.iter().map(ToString::to_string).collect();
    let scopes: Vec<&str> = gaps.iter().map(|g| g.scope.as_str()).collect();
    let mut message = format!("not evaluated: {}", why.join("; "));
    if let Some(previous) = previous {
        message.push_str(&format!(" (the last result was {previous}; it stays open)"));
    }
    Finding {
        check: check.id.clone(),
        title: check.title.clone(),
        controls: check.controls.clone(),
        key: key.to_owned(),
        status: FindingStatus::Error,
        severity: check.severity,
        message,
        evidence: json!({"not_collected": scopes, "reasons": why, PREVIOUS_STATUS: previous.map(FindingStatus::as_str)}),
        remediation: "Fix the collection (see `plumb run list --kind sync`), then sync and check again."
            .to_owned(),
        first_seen: now,
        last_seen: now,
    }
}

/// Evaluates every item on all cores; each thread has its own copy of the compiled policies.
/// A check that fails on an input is `error` for the keys of that input (the run goes on);
/// one that goes past a limit stops the run, naming every check that was stopped.
fn evaluate(
    set: &PolicySet,
    items: &[Item<'_>],
    inputs: &Inputs<'_>,
    progress: &Shared,
) -> anyhow::Result<Vec<Finding>> {
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get()).min(items.len().max(1));
    let next = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let now = plumb_store::now();
    let results: Vec<Result<Vec<Finding>, PolicyError>> = set.within_memory_limit(|| {
        std::thread::scope(|scope| {
            let workers: Vec<_> = (0..threads)
                .map(|_| {
                    let mut evaluator = set.evaluator();
                    let (next, stop) = (&next, &stop);
                    scope.spawn(move || {
                        let mut found = Vec::new();
                        while !stop.load(Ordering::Relaxed) {
                            let index = next.fetch_add(1, Ordering::Relaxed);
                            let Some(item) = items.get(index) else { break };
                            match evaluate_item(&mut evaluator, item, inputs, now) {
                                Ok(results) => found.extend(results),
                                Err(err) => {
                                    stop.store(true, Ordering::Relaxed);
                                    return Err(err);
                                }
                            }
                            progress.advance(1);
                        }
                        Ok(found)
                    })
                })
                .collect();
            workers
                .into_iter()
                .map(|w| {
                    w.join()
                        .unwrap_or_else(|_| Err(PolicyError::Document("a check thread panicked".to_owned())))
                })
                .collect()
        })
    });
    let mut findings = Vec::new();
    let mut stopped = Vec::new();
    for result in results {
        match result {
            Ok(found) => findings.extend(found),
            Err(err @ PolicyError::Limit { .. }) => stopped.push(err.to_string()),
            Err(err) => return Err(BadInput(err.to_string()).into()),
        }
    }
    if !stopped.is_empty() {
        let limits = set.limits();
        return Err(BadInput(format!(
            "{} (limits: {} s and {} MiB per evaluation, [checks] eval_timeout_seconds and eval_memory_mib)",
            stopped.join("; "),
            limits.time.as_secs(),
            limits.memory >> 20
        ))
        .into());
    }
    Ok(findings)
}

/// One item's results; a check that fails on this input is `error` for its keys, a limit
/// (or an input that cannot be built) is returned.
fn evaluate_item(
    evaluator: &mut plumb_policy::Evaluator,
    item: &Item<'_>,
    inputs: &Inputs<'_>,
    now: Timestamp,
) -> Result<Vec<Finding>, PolicyError> {
    let input = inputs.input(item)?;
    let outcomes = match evaluator.evaluate(item.check, &input) {
        Ok(outcomes) => outcomes,
        Err(err @ (PolicyError::Evaluation { .. } | PolicyError::Result { .. })) => {
            return Ok(inputs
                .keys(item)
                .into_iter()
                .map(|key| failed_on(item.check, key, &err, now))
                .collect());
        }
        Err(err) => return Err(err),
    };
    let assets = inputs.assets;
    Ok(outcomes
        .into_iter()
        .map(|outcome| {
            let key = outcome.key.clone().or_else(|| {
                item.documents.first().and_then(|&i| assets[i]["key"].as_str()).map(str::to_owned)
            });
            finding(item.check, key.unwrap_or_default(), outcome, now)
        })
        .collect())
}

/// The `error` result for a key whose check failed on its input.
fn failed_on(check: &Check, key: String, err: &PolicyError, now: Timestamp) -> Finding {
    Finding {
        check: check.id.clone(),
        title: check.title.clone(),
        controls: check.controls.clone(),
        key,
        status: FindingStatus::Error,
        severity: check.severity,
        message: format!("not evaluated: the check failed on this input: {err}"),
        evidence: json!({"evaluation_error": err.to_string(), "policy": check.path}),
        remediation: "Fix the policy (or report the built-in check's failure), then check again.".to_owned(),
        first_seen: now,
        last_seen: now,
    }
}

/// The assets, converted once for the engine, and the context every check reads.
struct Inputs<'a> {
    assets: &'a [Value],
    documents: &'a [Document],
    context: &'a Document,
}

impl Inputs<'_> {
    /// The keys an item judges: its account with the open findings about it, or its
    /// documents.
    fn keys(&self, item: &Item<'_>) -> Vec<String> {
        match (item.check.scope, &item.account) {
            (Scope::Account, Some(account)) => {
                std::iter::once(account.clone()).chain(item.open.iter().cloned()).collect()
            }
            _ => item
                .documents
                .iter()
                .filter_map(|&i| self.assets[i]["key"].as_str().map(str::to_owned))
                .collect(),
        }
    }

    fn input(&self, item: &Item<'_>) -> Result<Document, plumb_policy::PolicyError> {
        if item.check.style == Style::Conftest {
            let attributes = item.documents.first().map_or(&Value::Null, |&i| &self.assets[i]["attributes"]);
            return Document::from_json(attributes);
        }
        let pick = |indexes: &[usize]| indexes.iter().map(|&i| self.documents[i].clone()).collect::<Vec<_>>();
        let context = self.context.with("documents", Document::array(pick(&item.context)));
        Ok(match (item.check.scope, &item.account) {
            (Scope::Account, Some(account)) => {
                plumb_policy::account_input(account, &item.regions, pick(&item.documents), &context)
            }
            _ => plumb_policy::resource_input(pick(&item.documents), &context),
        })
    }
}

/// The assets converted for the engine, on all cores.
fn documents(assets: &[Value]) -> anyhow::Result<Vec<Document>> {
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let chunk = assets.len().div_ceil(threads).max(1);
    let converted: Vec<Result<Vec<Document>, plumb_policy::PolicyError>> = std::thread::scope(|scope| {
        let workers: Vec<_> = assets
            .chunks(chunk)
            .map(|part| scope.spawn(move || part.iter().map(Document::from_json).collect()))
            .collect();
        workers
            .into_iter()
            .map(|w| {
                w.join().unwrap_or_else(|_| {
                    Err(plumb_policy::PolicyError::Document("a thread panicked".to_owned()))
                })
            })
            .collect()
    });
    let mut documents = Vec::with_capacity(assets.len());
    for part in converted {
        documents.extend(part.map_err(|err| BadInput(err.to_string()))?);
    }
    Ok(documents)
}

fn finding(check: &Check, key: String, outcome: plumb_policy::Outcome, now: Timestamp) -> Finding {
    Finding {
        check: check.id.clone(),
        title: check.title.clone(),
        controls: check.controls.clone(),
        key,
        status: outcome.status,
        severity: outcome.severity.unwrap_or(check.severity),
        message: outcome.message,
        evidence: outcome.evidence,
        remediation: check.remediation.clone(),
        first_seen: now,
        last_seen: now,
    }
}

/// Whether a check said several things about one key; `findings` are sorted by (check, key).
fn has_duplicates(findings: &[Finding]) -> bool {
    findings.windows(2).any(|pair| pair[0].check == pair[1].check && pair[0].key == pair[1].key)
}

/// What is stored: one finding per (check, key). A check may say several things about one key
/// (a conftest policy with several `deny` messages); they are kept together, the worst status
/// and highest severity leading.
fn stored_findings(findings: &[Finding]) -> Vec<Finding> {
    let mut merged: BTreeMap<(&str, &str), Vec<&Finding>> = BTreeMap::new();
    for finding in findings {
        merged.entry((finding.check.as_str(), finding.key.as_str())).or_default().push(finding);
    }
    merged
        .into_values()
        .map(|group| match group.as_slice() {
            [one] => (*one).clone(),
            many => {
                let worst = many.iter().max_by_key(|f| (rank(f.status), f.severity)).copied().unwrap_or(many[0]);
                let mut messages: Vec<&str> = many.iter().map(|f| f.message.as_str()).collect();
                messages.sort_unstable();
                messages.dedup();
                Finding {
                    message: messages.join("; "),
                    evidence: json!({"results": many.iter().map(|f| json!({"status": f.status.as_str(), "message": f.message, "evidence": f.evidence})).collect::<Vec<_>>()}),
                    ..worst.clone()
                }
            }
        })
        .collect()
}

/// How bad a status is, for merging.
fn rank(status: FindingStatus) -> u8 {
    match status {
        FindingStatus::Pass => 0,
        FindingStatus::Excepted => 1,
        FindingStatus::Manual => 2,
        FindingStatus::Error => 3,
        FindingStatus::Fail => 4,
    }
}

/// Results share the first_seen of the stored finding of their (check, key).
fn carry_first_seen(findings: &mut [Finding], stored: &[Finding]) {
    let first: BTreeMap<(&str, &str), Timestamp> =
        stored.iter().map(|f| ((f.check.as_str(), f.key.as_str()), f.first_seen)).collect();
    for finding in findings.iter_mut() {
        if let Some(seen) = first.get(&(finding.check.as_str(), finding.key.as_str())) {
            finding.first_seen = *seen;
        }
    }
}

fn summarize(checks: &[Check], findings: &[Finding]) -> Vec<CheckSummary> {
    let mut by_check: BTreeMap<&str, CheckSummary> = checks
        .iter()
        .map(|c| {
            let summary = CheckSummary {
                check: c.id.clone(),
                title: c.title.clone(),
                controls: c.controls.clone(),
                severity: c.severity.as_str().to_owned(),
                ..CheckSummary::default()
            };
            (c.id.as_str(), summary)
        })
        .collect();
    for finding in findings {
        if let Some(summary) = by_check.get_mut(finding.check.as_str()) {
            match finding.status {
                FindingStatus::Pass => summary.pass += 1,
                FindingStatus::Fail => summary.fail += 1,
                FindingStatus::Excepted => summary.excepted += 1,
                FindingStatus::Manual => summary.manual += 1,
                FindingStatus::Error => summary.error += 1,
            }
        }
    }
    by_check.into_values().collect()
}

/// The summary line of expired exceptions whose results still fail, when there are any.
fn expired_summary(findings: &[Finding]) -> Option<CheckSummary> {
    let expired: Vec<&Finding> = findings.iter().filter(|f| f.check == exception::EXPIRED_CHECK).collect();
    let first = expired.first()?;
    Some(CheckSummary {
        check: first.check.clone(),
        title: first.title.clone(),
        controls: vec!["CFG-01".to_owned()],
        severity: expired.iter().map(|f| f.severity).max().unwrap_or(first.severity).as_str().to_owned(),
        fail: expired.len() as u64,
        ..CheckSummary::default()
    })
}

/// Whether the fixed-asset register was reconciled within `[audit] register_every_days`
/// (`core::register::overdue`): judged by a run of every environment with an INV-01 check.
async fn register_overdue(
    ctx: &Context,
    set: &PolicySet,
    request: &CheckRequest,
    now: Timestamp,
) -> anyhow::Result<Option<Finding>> {
    let inventory = set.checks().iter().any(|c| c.controls.iter().any(|control| control == "INV-01"));
    if !inventory || request.environment.is_some() {
        return Ok(None);
    }
    let last = ctx.store.last_run_named(RunKind::Audit, crate::app::register::RUN_NAME).await?;
    let every = ctx.config.audit.register_every_days;
    Ok(Some(plumb_core::register::overdue(last.map(|run| run.finished_at), every, now)))
}

fn overdue_summary(finding: &Finding) -> CheckSummary {
    let failed = finding.status == FindingStatus::Fail;
    CheckSummary {
        check: finding.check.clone(),
        title: finding.title.clone(),
        controls: finding.controls.clone(),
        severity: finding.severity.as_str().to_owned(),
        pass: u64::from(!failed),
        fail: u64::from(failed),
        ..CheckSummary::default()
    }
}

/// What a run judged with, for its record.
struct Judged<'a> {
    set: &'a PolicySet,
    files: &'a [Value],
    resources: usize,
}

fn run(
    ctx: &Context,
    run_id: &str,
    request: &CheckRequest,
    started: Timestamp,
    summary: &[CheckSummary],
    changes: &FindingChanges,
    judged: &Judged<'_>,
) -> Run {
    let total = |f: fn(&CheckSummary) -> u64| summary.iter().map(f).sum::<u64>();
    let failed = total(|s| s.fail);
    let errors = total(|s| s.error);
    // A run that could not judge everything is partial whatever else it found: its evidence
    // must not read as complete.
    let outcome = if errors > 0 {
        RunOutcome::Partial
    } else if failed > 0 {
        RunOutcome::Blocked
    } else {
        RunOutcome::Succeeded
    };
    Run {
        id: run_id.to_owned(),
        kind: RunKind::Check,
        name: if request.packs.is_empty() { "all".to_owned() } else { request.packs.join(",") },
        started_at: started,
        finished_at: plumb_store::now(),
        actor: ctx.principal.who.clone(),
        outcome,
        inputs: json!({
            "packs": request.packs,
            "policy_dirs": request.policy_dirs.iter().map(|p| p.display().to_string()).collect::<Vec<_>>(),
            "environment": request.environment,
            "resources": judged.resources,
            "plumb": env!("CARGO_PKG_VERSION"),
            "policy_files": judged.files,
            "overrides": judged.set.replaced().iter().map(|(package, path)| json!({"package": package, "by": path})).collect::<Vec<_>>(),
            "limits": {"seconds": judged.set.limits().time.as_secs(), "memory_mib": judged.set.limits().memory >> 20},
            "max_data_age_hours": ctx.config.checks.max_data_age_hours,
        }),
        counts: json!({
            "checks": summary.len(),
            "pass": total(|s| s.pass),
            "fail": failed,
            "excepted": total(|s| s.excepted),
            "manual": total(|s| s.manual),
            "error": errors,
            "opened": changes.opened,
            "resolved": changes.resolved,
        }),
        details: json!({"summary": summary}),
    }
}

/// What makes a check run block (`--fail-on`): failures at the threshold or above, and
/// results that could not be evaluated unless errors are allowed (a verdict that was not
/// reached is never a pass).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FailOn {
    /// The lowest severity of a failure that blocks.
    pub threshold: Severity,
    /// Whether `error` results are let through (`--allow-errors`).
    pub allow_errors: bool,
}

impl FailOn {
    /// Whether this result blocks. Excepted failures never do; an error keeping a failure
    /// open blocks as that failure would, errors allowed or not.
    pub fn blocks(&self, finding: &Finding) -> bool {
        match finding.status {
            FindingStatus::Fail => finding.severity >= self.threshold,
            FindingStatus::Error => {
                !self.allow_errors || (finding.keeps_a_failure() && finding.severity >= self.threshold)
            }
            FindingStatus::Pass | FindingStatus::Manual | FindingStatus::Excepted => false,
        }
    }
}
