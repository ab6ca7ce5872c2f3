//! The CI gates and the change audit as use cases: read the inputs, let `plumb-gate` decide,
//! and, when a database is configured, record the evidence (the image scan on the image's
//! asset, the audit as a run). Without a database nothing is opened, so the gates run in any
//! CI job.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use plumb_core::authz::Action;
use plumb_core::exception::{AssetFacts, Exception, ExceptionId};
use plumb_core::model::{Run, RunKind, RunOutcome};
use plumb_core::{Asset, AssetId, Kind, NewAsset, Status, Timestamp};
use plumb_gate::dockerfile::{self, Baseline};
use plumb_gate::github::client::{GitHub, Retry};
use plumb_gate::github::{self, Check, CheckState, MergedChange, Pull, Repo, ReviewVerdict};
use plumb_gate::iac;
use plumb_gate::image::{self, Decision, ImagePolicy, Verdict};
use plumb_gate::scan::{self, ScanFormat, Severity};
use plumb_gate::vex::Vex;
use plumb_gate::{GateError, ignore};
use plumb_store::{OpenOptions, StoreError};
use serde::Serialize;
use serde_json::{Value, json};

use crate::app::{Context, Settings};

/// What `plumb gate image` was asked to do.
#[derive(Clone, Debug)]
pub struct ImageRequest {
    /// The scanner's report.
    pub report: PathBuf,
    /// Its format; `None` detects it.
    pub format: Option<ScanFormat>,
    /// The failing severities.
    pub fail_on: Vec<Severity>,
    /// VEX documents.
    pub vex: Vec<PathBuf>,
    /// Trivy ignore files.
    pub ignore_files: Vec<PathBuf>,
    /// The image reference, overriding the report's artifact name.
    pub image: Option<String>,
}

/// The image gate's result.
#[derive(Debug)]
pub struct ImageResult {
    /// The format the report was read as.
    pub format: ScanFormat,
    /// The image, from `--image` or the report.
    pub image: Option<String>,
    /// The verdict.
    pub verdict: Verdict,
    /// The run recorded, when a database is configured and the image is named.
    pub run_id: Option<String>,
}

/// Reads the report, ignore files and VEX, decides, and records the scan when a database is
/// configured.
pub async fn image(settings: &Settings, request: &ImageRequest) -> anyhow::Result<ImageResult> {
    let started = plumb_store::now();
    let text = plumb_gate::error::read(&request.report)?;
    let report = scan::parse(&request.report, &text, request.format)?;
    let mut ignores = Vec::new();
    for file in &request.ignore_files {
        ignores.extend(ignore::parse(file, &plumb_gate::error::read(file)?)?);
    }
    let mut vex = Vex::default();
    // A CycloneDX report's own `analysis` fields are VEX statements about the same image.
    if report.format == ScanFormat::Cyclonedx {
        vex.read(&request.report, &text)?;
    }
    for file in &request.vex {
        vex.read(file, &plumb_gate::error::read(file)?)?;
    }
    drop(text);
    let image = request.image.clone().or(report.artifact.clone());
    // With a database, the register's exceptions count beside the ignore files.
    let ctx = if settings.database_configured() {
        Some(settings.open(&OpenOptions::default()).await?)
    } else {
        None
    };
    if let Some(ctx) = &ctx {
        let key = image.as_deref().unwrap_or_default();
        ignores.extend(register_ignores(&report, key, &ctx.store.exceptions().await?, started));
    }
    let policy = ImagePolicy { fail_on: request.fail_on.clone() };
    let verdict = image::evaluate(&report, &policy, &ignores, &vex, started.to_jiff());
    let mut result = ImageResult { format: report.format, image, verdict, run_id: None };
    if let Some(ctx) = &ctx {
        match result.image.clone() {
            Some(key) => {
                result.run_id = Some(record_image_scan(ctx, &key, request, &result, started).await?);
            }
            None => tracing::warn!(
                message =
                    "The report names no image; pass --image REF to record the scan on the image's asset."
            ),
        }
    }
    Ok(result)
}

/// The register's active exceptions as ignore rules for this report: one per vulnerability an
/// exception covers (`image/CVE-…`, or a pattern) on this image. An image has no environment,
/// so only exceptions whose production risk was accepted apply (`Exception::covers`).
fn register_ignores(
    report: &plumb_gate::scan::ScanReport,
    image: &str,
    exceptions: &[Exception],
    now: Timestamp,
) -> Vec<ignore::IgnoreRule> {
    let facts = AssetFacts { key: image, asset_type: Some("container_image"), ..AssetFacts::default() };
    let mut rules = Vec::new();
    for vulnerability in &report.vulnerabilities {
        let check = format!("image/{}", vulnerability.id);
        let Some(exception) = exceptions.iter().find(|e| e.covers(&check, &facts, true, now)) else {
            continue;
        };
        rules.push(ignore::IgnoreRule {
            id: vulnerability.id.clone(),
            paths: Vec::new(),
            purls: Vec::new(),
            expires: Some(ignore::Expiry { text: exception.last_day(), at: exception.expires_at.to_jiff() }),
            statement: Some(format!("{}: {}", exception.id, exception.justification)),
            source: format!("exception {}", exception.id),
        });
    }
    rules
}

/// The scan summary kept on the asset and in the run.
fn scan_summary(request: &ImageRequest, result: &ImageResult, run_id: &str, at: Timestamp) -> Value {
    let verdict = &result.verdict;
    let by_severity: serde_json::Map<String, Value> =
        verdict.by_severity().into_iter().map(|(s, n)| (s.as_str().to_owned(), json!(n))).collect();
    let blocked: Vec<String> = verdict
        .findings
        .iter()
        .filter(|f| f.decision == Decision::Blocked)
        .map(|f| &f.vulnerability)
        .map(|v| format!("{} {} {}", v.id, v.package, v.version))
        .collect();
    json!({
        "run_id": run_id,
        "scanned_at": at,
        "report": request.report.display().to_string(),
        "format": result.format.as_str(),
        "outcome": if verdict.is_blocking() { "blocked" } else { "passed" },
        "fail_on": request.fail_on.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
        "vulnerabilities": by_severity,
        "decisions": verdict.by_decision().iter().map(|(k, n)| (k.to_string(), json!(n))).collect::<serde_json::Map<_, _>>(),
        "blocked": blocked,
    })
}

/// Updates (or creates) the image's `container_image` asset and records the run, in one
/// transaction.
async fn record_image_scan(
    ctx: &Context,
    key: &str,
    request: &ImageRequest,
    result: &ImageResult,
    started: Timestamp,
) -> anyhow::Result<String> {
    ctx.permit(Action::RecordRun)?;
    let run_id = ulid::Ulid::generate().to_string();
    let mut tx = ctx.begin_write().await?;
    let now = tx.now();
    let summary = scan_summary(request, result, &run_id, now);
    match tx.asset(key).await {
        Ok(before) => {
            let mut after = before.clone();
            if !after.attributes.is_object() {
                after.attributes = json!({});
            }
            after.attributes["scan"] = summary.clone();
            after.last_seen = now;
            tx.update_asset(&before, &after, "scanned", None).await?;
        }
        Err(StoreError::NotFound { .. }) => {
            let asset = Asset {
                id: AssetId(ulid::Ulid::generate()),
                key: key.to_owned(),
                name: key.to_owned(),
                kind: Kind::Software,
                asset_type: "container_image".to_owned(),
                environment: None,
                owner: None,
                manager: None,
                classification: None,
                location: None,
                status: Status::Discovered,
                source: "gate".to_owned(),
                financial_ref: None,
                tags: Default::default(),
                attributes: json!({"scan": summary}),
                first_seen: now,
                last_seen: now,
                scope: None,
                absent_since: None,
                provenance: Default::default(),
            };
            tx.create_assets(vec![NewAsset::new(asset).into()]).await?;
        }
        Err(err) => return Err(err.into()),
    }
    let verdict = &result.verdict;
    let details: Vec<Value> = verdict
        .findings
        .iter()
        .filter(|f| f.decision != Decision::Allowed)
        .map(|f| json!({"vulnerability": f.vulnerability, "decision": f.decision}))
        .collect();
    let run = Run {
        id: run_id.clone(),
        kind: RunKind::Gate,
        name: "image".to_owned(),
        started_at: started,
        finished_at: now,
        actor: ctx.principal.who.clone(),
        outcome: if verdict.is_blocking() { RunOutcome::Blocked } else { RunOutcome::Succeeded },
        inputs: json!({
            "image": key,
            "report": request.report.display().to_string(),
            "format": result.format.as_str(),
            "fail_on": request.fail_on.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
            "vex": request.vex.iter().map(|p| p.display().to_string()).collect::<Vec<_>>(),
            "ignore_files": request.ignore_files.iter().map(|p| p.display().to_string()).collect::<Vec<_>>(),
        }),
        counts: summary["decisions"].clone(),
        details: json!({"asset": key, "findings": details, "expired_exceptions": verdict.expired}),
    };
    tx.record_run(&run).await?;
    tx.commit().await?;
    Ok(run_id)
}

/// The active exception that covers a gate's finding, which then does not block.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Covered {
    /// The exception.
    pub exception: ExceptionId,
    /// Its last day.
    pub last_day: String,
    /// Why it was granted.
    pub justification: String,
}

impl Covered {
    /// "exception EX-3 until 2027-01-31: legacy base image, rebuilt weekly".
    pub fn describe(&self) -> String {
        format!("exception {} until {}: {}", self.exception, self.last_day, self.justification)
    }
}

/// A gate's finding and the exception that covers it, if one does.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Judged<T> {
    /// The finding.
    #[serde(flatten)]
    pub finding: T,
    /// The exception under which it does not block.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub excepted: Option<Covered>,
}

/// What a gate looked at, as the register's selectors see it.
struct Subject<'a> {
    /// The check id, such as `dockerfile/not-pinned`.
    check: &'a str,
    /// The file, as given: the key selectors match.
    key: String,
    /// `dockerfile` or `terraform`.
    asset_type: &'a str,
    /// The environment the gate was told, if any.
    environment: Option<&'a str>,
    /// Whether it may touch production (then only risk-accepted exceptions cover it).
    production: bool,
}

/// The register's exceptions, when a database is configured; with none, the gates run from
/// their files alone.
async fn register(settings: &Settings) -> anyhow::Result<Vec<Exception>> {
    if !settings.database_configured() {
        return Ok(Vec::new());
    }
    Ok(settings.open(&OpenOptions::default()).await?.store.exceptions().await?)
}

/// `finding` with the active exception that covers `subject`, if any.
fn judge<T>(finding: T, subject: &Subject<'_>, register: &[Exception], now: Timestamp) -> Judged<T> {
    let facts = AssetFacts {
        key: &subject.key,
        asset_type: Some(subject.asset_type),
        environment: subject.environment,
        ..AssetFacts::default()
    };
    let excepted = register
        .iter()
        .find(|e| e.covers(subject.check, &facts, subject.production, now))
        .map(|e| Covered { exception: e.id, last_day: e.last_day(), justification: e.justification.clone() });
    Judged { finding, excepted }
}

/// One Dockerfile's `FROM` lines and violations.
#[derive(Debug)]
pub struct DockerfileResult {
    /// The file.
    pub file: PathBuf,
    /// Its `FROM` lines.
    pub froms: Vec<dockerfile::From>,
    /// What is wrong, each with the exception that covers it, if any.
    pub violations: Vec<Judged<dockerfile::Violation>>,
}

/// Checks every Dockerfile against the baseline in the configuration. With a database, a
/// violation an active exception covers (`dockerfile/RULE`, selected by the file's path as
/// its key, type `dockerfile`) does not block; a Dockerfile names no environment, so only
/// risk-accepted exceptions apply.
pub async fn dockerfiles(
    settings: &Settings,
    files: &[PathBuf],
    build_args: &HashMap<String, String>,
) -> anyhow::Result<(Vec<DockerfileResult>, bool)> {
    let config = settings.config()?;
    let baseline = Baseline::new(config.baseline.image.iter().map(|i| i.repository.as_str()));
    let (register, now) = (register(settings).await?, plumb_store::now());
    let mut results = Vec::new();
    for file in files {
        let text = plumb_gate::error::read(file)?;
        let froms = dockerfile::parse(file, &text, build_args)?;
        let violations = dockerfile::check(file, &froms, &baseline)
            .into_iter()
            .map(|v| {
                let subject = Subject {
                    check: v.rule.id(),
                    key: file.display().to_string(),
                    asset_type: "dockerfile",
                    environment: None,
                    production: true,
                };
                judge(v, &subject, &register, now)
            })
            .collect();
        results.push(DockerfileResult { file: file.clone(), froms, violations });
    }
    Ok((results, baseline.is_empty()))
}

/// What `gate iac` found under a folder.
#[derive(Debug)]
pub struct IacResult {
    /// The scan; its findings are in `findings`, judged.
    pub scan: iac::Scan,
    /// Every finding, each with the exception that covers it, if any.
    pub findings: Vec<Judged<iac::Finding>>,
    /// Whether the environment is production: only then do findings block.
    pub production: bool,
}

impl IacResult {
    /// Whether the gate blocks: production, and a finding no exception covers.
    pub fn blocks(&self) -> bool {
        self.production && self.findings.iter().any(|f| f.excepted.is_none())
    }
}

/// Checks the Terraform under `dir`; findings block only in the production environment. With
/// a database, a finding an active exception covers (`iac/RULE`, selected by the `.tf` file's
/// path as its key, type `terraform`, and `environment=`) does not block.
pub async fn iac(settings: &Settings, dir: &Path, environment: Option<&str>) -> anyhow::Result<IacResult> {
    let config = settings.config()?;
    // A folder given no environment may be production: as for images, only risk-accepted
    // exceptions cover it; it blocks only when production is named.
    let production = environment.is_some_and(|e| e == config.inventory.production);
    if !dir.is_dir() {
        return Err(GateError::Read {
            path: dir.to_path_buf(),
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "not a folder"),
        }
        .into());
    }
    let mut scan = iac::scan_dir(dir)?;
    let (register, now) = (register(settings).await?, plumb_store::now());
    let findings = std::mem::take(&mut scan.findings)
        .into_iter()
        .map(|f| {
            let subject = Subject {
                check: f.rule.id(),
                key: f.file.display().to_string(),
                asset_type: "terraform",
                environment,
                production: environment.is_none_or(|e| e == config.inventory.production),
            };
            judge(f, &subject, &register, now)
        })
        .collect();
    Ok(IacResult { scan, findings, production })
}

/// Where the required checks came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RequiredFrom {
    /// The base branch's protection, its rulesets, or `--require-check`.
    Rules,
    /// Nothing named any: every check that ran on the head commit counts.
    AllChecks,
}

/// Which checks the pull request gate asks for beyond what the branch's rules say.
#[derive(Clone, Debug, Default)]
pub struct PrChecks {
    /// Checks that must pass whatever the rules say (`--require-check`).
    pub require: Vec<String>,
    /// Checks not to wait for, such as the job running this gate (`--skip-check`).
    pub skip: Vec<String>,
}

/// The pull-request gate's result.
#[derive(Debug)]
pub struct PrResult {
    /// The pull request.
    pub pull: Pull,
    /// What the reviews amount to.
    pub reviews: ReviewVerdict,
    /// Where the required checks came from.
    pub required_from: RequiredFrom,
    /// What the branch protection and the rulesets said, in words.
    pub rules: Vec<String>,
    /// Each required check and its state.
    pub checks: Vec<Check>,
}

impl PrResult {
    /// Whether the pull request may merge: independently approved, and at least one check
    /// required and passed (an approval alone is not change control: policy §4 asks for
    /// policy-as-code checks too).
    pub fn passes(&self) -> bool {
        self.reviews.passes()
            && !self.checks.is_empty()
            && self.checks.iter().all(|c| c.state == CheckState::Passed)
    }

    /// Why the checks cannot pass when there are none to pass.
    pub fn no_checks(&self) -> Option<String> {
        self.checks.is_empty().then(|| {
            format!(
                "no required check is known for {} ({}) and none ran on the head commit: change control needs \
                 policy-as-code checks (policy §4); require checks on the branch, let the token read its \
                 protection, or name them with --require-check",
                self.pull.base.branch,
                self.rules.join("; ")
            )
        })
    }
}

/// Reads the pull request, its reviews, the base branch's rules and the head commit's checks.
pub async fn pull_request(
    api: &str,
    token: &str,
    repo: &Repo,
    number: u64,
    asked: &PrChecks,
) -> anyhow::Result<PrResult> {
    let github = GitHub::new(api, token, Retry::default())?;
    let pull = github.pull(repo, number).await?;
    let reviews = github.reviews(repo, number).await?;
    let protection = github.required_checks(repo, &pull.base.branch).await?;
    let rulesets = github.ruleset_checks(repo, &pull.base.branch).await?;
    let runs = github.check_runs(repo, &pull.head.sha).await?;
    let statuses = github.statuses(repo, &pull.head.sha).await?;
    let verdict = github::review_verdict(pull.author(), &pull.head.sha, &reviews, None);
    let rules =
        vec![describe("branch protection", protection.as_deref()), describe("rulesets", rulesets.as_deref())];
    let mut named: Vec<String> =
        protection.into_iter().chain(rulesets).flatten().chain(asked.require.iter().cloned()).collect();
    named.sort();
    named.dedup();
    named.retain(|name| !asked.skip.contains(name));
    let required_from = if named.is_empty() { RequiredFrom::AllChecks } else { RequiredFrom::Rules };
    let mut checks = github::check_states((!named.is_empty()).then_some(named.as_slice()), &runs, &statuses);
    checks.retain(|check| !asked.skip.contains(&check.name));
    Ok(PrResult { pull, reviews: verdict, required_from, rules, checks })
}

/// What one source of required checks said.
fn describe(source: &str, names: Option<&[String]>) -> String {
    match names {
        None => format!("{source}: not readable with this token, or none"),
        Some([]) => format!("{source}: no required checks"),
        Some(names) => format!("{source}: {}", names.join(", ")),
    }
}

/// The change audit's result.
#[derive(Debug)]
pub struct ChangesResult {
    /// The default branch audited.
    pub branch: String,
    /// Every pull request merged into it in the period, oldest first.
    pub changes: Vec<MergedChange>,
    /// The run recorded, when a database is configured.
    pub run_id: Option<String>,
}

/// Lists the pull requests merged into the default branch in `[since, until)`, judges each,
/// and records the audit as evidence for CFG-01 when a database is configured.
pub async fn audit_changes(
    settings: &Settings,
    api: &str,
    token: &str,
    repo: &Repo,
    since: jiff::Timestamp,
    until: jiff::Timestamp,
) -> anyhow::Result<ChangesResult> {
    let started = plumb_store::now();
    let github = GitHub::new(api, token, Retry::default())?;
    let branch = github.default_branch(repo).await?;
    let mut pulls = github.merged_pulls(repo, &branch, since, until).await?;
    pulls.sort_by(|a, b| a.merged_at.cmp(&b.merged_at).then(a.number.cmp(&b.number)));
    let mut changes = Vec::new();
    for pull in &pulls {
        let reviews = github.reviews(repo, pull.number).await?;
        changes.push(github::judge_merged(pull, &reviews));
    }
    let mut result = ChangesResult { branch, changes, run_id: None };
    if settings.database_configured() {
        let ctx = settings.open(&OpenOptions::default()).await?;
        ctx.permit(Action::RecordRun)?;
        let flagged = result.changes.iter().filter(|c| c.flag.is_some()).count();
        let mut tx = ctx.begin_write().await?;
        let run = Run {
            id: ulid::Ulid::generate().to_string(),
            kind: RunKind::Audit,
            name: "changes".to_owned(),
            started_at: started,
            finished_at: tx.now(),
            actor: ctx.principal.who.clone(),
            outcome: if flagged > 0 { RunOutcome::Blocked } else { RunOutcome::Succeeded },
            inputs: json!({"repo": repo.to_string(), "branch": result.branch, "since": since.to_string(), "until": until.to_string(), "api": api}),
            counts: json!({"merged": result.changes.len(), "flagged": flagged}),
            details: json!({"control": "CFG-01", "pull_requests": result.changes}),
        };
        tx.record_run(&run).await?;
        tx.commit().await?;
        result.run_id = Some(run.id);
    }
    Ok(result)
}
