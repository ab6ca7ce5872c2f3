//! `plumb gate …`: CI gates that exit 1 when they block. Each prints a table for people, or
//! JSON, SARIF 2.1.0 or JUnit XML for machines (`-o`).

use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};
use plumb_gate::github::{CheckState, Repo};
use plumb_gate::image::{Decision, Finding as VulnFinding};
use plumb_gate::scan::{ScanFormat, Severity};
use plumb_gate::{dockerfile, iac};
use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::app::Settings;
use crate::app::gate::{self, ImageRequest, ImageResult, PrResult};
use crate::cli::stdout;
use crate::error::{BadInput, Outcome};
use crate::report::findings::{Finding, Findings, Kind, Level, Location, Rule};
use crate::report::{self, Format, View};

/// CI gates: scanned images, base images, IaC version pins, pull-request review.
///
/// Each exits 0 when nothing blocks, 1 when something does, 2 on bad input (naming the
/// file and line), 3 when a service (GitHub, the database) fails. `-o sarif` writes SARIF
/// 2.1.0 for code scanning, `-o junit` JUnit XML for CI test reports.
#[derive(Debug, Subcommand)]
pub enum GateCommand {
    /// Block an image whose scan report has vulnerabilities at failing severities.
    ///
    /// Reads Trivy JSON, Grype JSON, SARIF from any scanner or CycloneDX with vulnerabilities
    /// (detected from the content). A vulnerability at a --fail-on severity blocks unless an
    /// unexpired entry of an --ignore-file (Trivy's .trivyignore or .trivyignore.yaml)
    /// covers it or a --vex document says not_affected or fixed. The same vulnerability in
    /// the same package version is reported once with all its locations. With a database
    /// configured, the scan is recorded on the image's container_image asset (created when
    /// missing) and as a run.
    Image(ImageArgs),
    /// Require every FROM to be an approved baseline image pinned by digest.
    ///
    /// Approved repositories are the [[baseline.image]] entries of plumb.toml. ARGs declared
    /// before the first FROM are substituted (their defaults, or --build-arg); earlier stages
    /// and scratch are allowed.
    Dockerfile(DockerfileArgs),
    /// Require Terraform modules and providers to be pinned to exact semver versions.
    ///
    /// Parses every .tf file under DIR (skipping .terraform/). Registry modules need one
    /// exact version, git sources a ?ref= semver tag, archives a ?checksum=, providers an
    /// exact version; local paths are allowed. The findings block only with --env naming the
    /// production environment of plumb.toml; elsewhere they are warnings.
    Iac(IacArgs),
    /// Require an independent approval of the head commit and passing required checks.
    ///
    /// Reads GITHUB_TOKEN. Passes when someone other than the author approved the head
    /// commit (each reviewer's latest approve / request-changes / dismiss counts), nobody's
    /// latest review requests changes, and every required check (from branch protection, or
    /// every check on the head commit when protection is not readable) concluded success,
    /// neutral or skipped.
    Pr(PrArgs),
}

/// Arguments of `plumb gate image`.
#[derive(Debug, Args)]
pub struct ImageArgs {
    /// The scanner's report.
    #[arg(long, value_name = "FILE")]
    report: PathBuf,
    /// The report's format.
    #[arg(long, value_enum, default_value_t = ReportFormat::Auto)]
    format: ReportFormat,
    /// Severities that block: CRITICAL, HIGH, MEDIUM, LOW, NEGLIGIBLE, UNKNOWN.
    #[arg(long, value_delimiter = ',', default_value = "HIGH,CRITICAL", value_parser = severity)]
    fail_on: Vec<Severity>,
    /// An OpenVEX or CycloneDX VEX document (repeatable).
    #[arg(long, value_name = "FILE")]
    vex: Vec<PathBuf>,
    /// The image reference to record the scan on [default: the report's artifact name].
    #[arg(long, value_name = "REF")]
    image: Option<String>,
    /// A .trivyignore or .trivyignore.yaml file (repeatable).
    #[arg(long, value_name = "FILE")]
    ignore_file: Vec<PathBuf>,
}

/// Scanner report formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum ReportFormat {
    /// Detect from the content.
    Auto,
    /// Trivy JSON (schema version 2).
    Trivy,
    /// Grype JSON.
    Grype,
    /// SARIF 2.1.0.
    Sarif,
    /// CycloneDX JSON with vulnerabilities.
    Cyclonedx,
}

impl ReportFormat {
    fn scan_format(self) -> Option<ScanFormat> {
        match self {
            ReportFormat::Auto => None,
            ReportFormat::Trivy => Some(ScanFormat::Trivy),
            ReportFormat::Grype => Some(ScanFormat::Grype),
            ReportFormat::Sarif => Some(ScanFormat::Sarif),
            ReportFormat::Cyclonedx => Some(ScanFormat::Cyclonedx),
        }
    }
}

fn severity(word: &str) -> Result<Severity, String> {
    Severity::parse(word)
        .ok_or_else(|| format!("{word:?} is not one of CRITICAL, HIGH, MEDIUM, LOW, NEGLIGIBLE, UNKNOWN"))
}

/// Arguments of `plumb gate dockerfile`.
#[derive(Debug, Args)]
pub struct DockerfileArgs {
    /// Dockerfiles to check.
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
    /// A build argument, as given to docker build (repeatable).
    #[arg(long = "build-arg", value_name = "NAME=VALUE")]
    build_args: Vec<String>,
}

/// Arguments of `plumb gate iac`.
#[derive(Debug, Args)]
pub struct IacArgs {
    /// The folder holding the Terraform code.
    #[arg(value_name = "DIR")]
    dir: PathBuf,
    /// The environment the code deploys to; the production environment blocks.
    #[arg(long = "env", value_name = "ENVIRONMENT")]
    environment: Option<String>,
}

/// Arguments of `plumb gate pr`.
#[derive(Debug, Args)]
pub struct PrArgs {
    /// The repository, OWNER/NAME.
    #[arg(long, value_name = "OWNER/NAME")]
    repo: String,
    /// The pull request number.
    #[arg(long, value_name = "N")]
    pr: u64,
    /// The GitHub API (GitHub Enterprise: https://HOST/api/v3).
    #[arg(long, value_name = "URL", env = "GITHUB_API_URL", default_value = "https://api.github.com")]
    api_url: String,
    /// A check not to wait for, such as the CI job running this gate (repeatable).
    #[arg(long, value_name = "NAME")]
    skip_check: Vec<String>,
    /// A check that must pass whatever the branch's rules say (repeatable); for tokens that
    /// cannot read branch protection.
    #[arg(long, value_name = "NAME")]
    require_check: Vec<String>,
}

pub async fn run(settings: &Settings, format: Format, command: GateCommand) -> anyhow::Result<Outcome> {
    if format == Format::Csv {
        return Err(BadInput("gates print table, json, sarif, junit or html, not csv".to_owned()).into());
    }
    match command {
        GateCommand::Image(args) => image(settings, format, args).await,
        GateCommand::Dockerfile(args) => dockerfiles(settings, format, &args).await,
        GateCommand::Iac(args) => iac(settings, format, &args).await,
        GateCommand::Pr(args) => pull_request(format, &args).await,
    }
}

/// Prints findings in the chosen format; `table` prints the human form.
pub(crate) fn emit(
    format: Format,
    findings: &Findings,
    json: &Value,
    table: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> anyhow::Result<Outcome> {
    let out = &mut stdout();
    if !report::write_findings(out, format, findings, &[])? {
        match format {
            Format::Json => report::write_json(out, json)?,
            _ => table(out)?,
        }
    }
    Ok(if findings.findings.iter().any(Finding::blocks) { Outcome::Blocking } else { Outcome::Clean })
}

async fn image(settings: &Settings, format: Format, args: ImageArgs) -> anyhow::Result<Outcome> {
    let request = ImageRequest {
        report: args.report,
        format: args.format.scan_format(),
        fail_on: args.fail_on,
        vex: args.vex,
        ignore_files: args.ignore_file,
        image: args.image,
    };
    let result = gate::image(settings, &request).await?;
    let findings = image_findings(&request, &result);
    let verdict = &result.verdict;
    let counts: Map<String, Value> =
        verdict.by_severity().into_iter().map(|(s, n)| (s.as_str().to_owned(), json!(n))).collect();
    let decisions: Map<String, Value> =
        verdict.by_decision().into_iter().map(|(k, n)| (k.to_owned(), json!(n))).collect();
    let document = json!({
        "gate": "image",
        "outcome": if verdict.is_blocking() { "blocked" } else { "passed" },
        "image": result.image,
        "report": request.report.display().to_string(),
        "format": result.format.as_str(),
        "fail_on": request.fail_on,
        "reported": verdict.reported,
        "vulnerabilities": counts,
        "decisions": decisions,
        "findings": verdict.findings,
        "expired_exceptions": verdict.expired,
        "run_id": result.run_id,
    });
    let summary = severity_summary(verdict.by_severity());
    let [blocked, excepted, vex, allowed] = verdict.by_decision().map(|(_, n)| n);
    eprintln!(
        "{}: {} vulnerabilities ({} reported; {summary}): {blocked} blocked, {excepted} excepted, {vex} not affected or fixed (VEX), {allowed} below {}",
        result.image.as_deref().unwrap_or("image"),
        verdict.findings.len(),
        verdict.reported,
        request.fail_on.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(",")
    );
    if let Some(run) = &result.run_id {
        eprintln!("recorded as run {run}");
    }
    emit(format, &findings, &document, |out| image_table(out, &result))
}

fn severity_summary(counts: Vec<(Severity, usize)>) -> String {
    if counts.is_empty() {
        return "none".to_owned();
    }
    counts.iter().map(|(s, n)| format!("{s} {n}")).collect::<Vec<_>>().join(", ")
}

#[derive(Serialize)]
struct VulnRow {
    decision: &'static str,
    severity: String,
    id: String,
    package: String,
    fixed_in: String,
    why: String,
}

fn image_table(out: &mut dyn Write, result: &ImageResult) -> std::io::Result<()> {
    let rows: Vec<VulnRow> = result
        .verdict
        .findings
        .iter()
        .filter(|f| f.decision != Decision::Allowed)
        .map(|f| (f, &f.vulnerability))
        .map(|(f, v)| VulnRow {
            decision: decision_word(&f.decision),
            severity: v.severity_text.as_ref().map_or(v.severity.to_string(), |t| format!("UNKNOWN ({t})")),
            id: v.id.clone(),
            package: format!("{} {}", v.package, v.version),
            fixed_in: if v.fixed_versions.is_empty() {
                "no fix yet".to_owned()
            } else {
                v.fixed_versions.join(", ")
            },
            why: why(f),
        })
        .collect();
    if rows.is_empty() {
        writeln!(out, "nothing blocks: no vulnerability at a failing severity")?;
    } else {
        let columns = &["decision", "severity", "id", "package", "fixed_in", "why"];
        report::list(out, Format::Table, View { table: columns, all: columns }, &rows, None)?;
    }
    for rule in &result.verdict.expired {
        let until = rule.expires.as_ref().map_or("", |e| e.text.as_str());
        writeln!(
            out,
            "expired exception: {} {} (expired {until}; suppresses nothing)",
            rule.source, rule.id
        )?;
    }
    Ok(())
}

fn decision_word(decision: &Decision) -> &'static str {
    match decision {
        Decision::Blocked => "BLOCKED",
        Decision::Excepted { .. } => "EXCEPTED",
        Decision::Vex { .. } => "VEX",
        Decision::Allowed => "allowed",
    }
}

/// Why a finding blocks or does not, in a few words.
fn why(finding: &VulnFinding) -> String {
    match &finding.decision {
        Decision::Blocked if !finding.expired_exceptions.is_empty() => {
            format!("exception expired ({})", finding.expired_exceptions.join(", "))
        }
        Decision::Blocked => {
            format!("{} location(s): {}", finding.locations.len(), finding.locations.join("; "))
        }
        Decision::Excepted { source, until, statement } => {
            let until = until.as_deref().map_or("no expiry".to_owned(), |u| format!("until {u}"));
            let statement = statement.as_deref().map(|s| format!(": {s}")).unwrap_or_default();
            format!("{until} ({source}){statement}")
        }
        Decision::Vex { status, justification, source } => {
            let justification = justification.as_deref().map(|j| format!(": {j}")).unwrap_or_default();
            format!("{}{justification} ({source})", status.as_str())
        }
        Decision::Allowed => String::new(),
    }
}

/// The CVSS-like score code scanning ranks by, from a severity.
fn security_severity(severity: Severity) -> Option<f64> {
    match severity {
        Severity::Critical => Some(9.5),
        Severity::High => Some(8.0),
        Severity::Medium => Some(5.5),
        Severity::Low => Some(2.0),
        Severity::Negligible | Severity::Unknown => None,
    }
}

fn image_findings(request: &ImageRequest, result: &ImageResult) -> Findings {
    let mut findings = Findings::new("plumb gate image");
    for f in &result.verdict.findings {
        let v = &f.vulnerability;
        findings.rule(Rule {
            id: v.id.clone(),
            description: v.title.clone().unwrap_or_else(|| v.id.clone()),
            help_uri: v.url.clone(),
            security_severity: security_severity(v.severity),
        });
        let fixed = if v.fixed_versions.is_empty() {
            "no fixed version yet".to_owned()
        } else {
            format!("fixed in {}", v.fixed_versions.join(", "))
        };
        let level = match (&f.decision, v.severity) {
            (Decision::Allowed, Severity::Critical | Severity::High | Severity::Medium) => Level::Warning,
            (Decision::Allowed, _) => Level::Note,
            _ => Level::Error,
        };
        let suppressed = match &f.decision {
            Decision::Excepted { .. } | Decision::Vex { .. } => Some(why(f)),
            Decision::Blocked | Decision::Allowed => None,
        };
        let mut properties = Map::new();
        properties.insert("severity".into(), json!(v.severity));
        properties.insert("package".into(), json!(v.package));
        properties.insert("installed_version".into(), json!(v.version));
        properties.insert("fixed_versions".into(), json!(v.fixed_versions));
        properties.insert("locations".into(), json!(f.locations));
        if let Some(purl) = &v.purl {
            properties.insert("purl".into(), json!(purl));
        }
        findings.findings.push(Finding {
            rule_id: v.id.clone(),
            level,
            message: format!("{} in {} {} ({}): {fixed}", v.id, v.package, v.version, v.severity),
            subject: format!("{} {} {}", v.id, v.package, v.version),
            location: f.locations.first().map(|uri| Location { uri: uri.clone(), line: Some(1) }),
            suppressed,
            kind: Kind::Fail,
            properties,
        });
    }
    if result.verdict.findings.is_empty() {
        findings.passed.push(result.image.clone().unwrap_or_else(|| request.report.display().to_string()));
    }
    findings
}

async fn dockerfiles(settings: &Settings, format: Format, args: &DockerfileArgs) -> anyhow::Result<Outcome> {
    let mut build_args = HashMap::new();
    for pair in &args.build_args {
        let (name, value) = pair
            .split_once('=')
            .ok_or_else(|| BadInput(format!("--build-arg {pair:?}: expected NAME=VALUE")))?;
        build_args.insert(name.to_owned(), value.to_owned());
    }
    let (results, no_baseline) = gate::dockerfiles(settings, &args.files, &build_args).await?;
    if no_baseline {
        eprintln!(
            "note: plumb.toml approves no base image yet ([[baseline.image]]), so every pulled image is refused"
        );
    }
    let mut findings = Findings::new("plumb gate dockerfile");
    for rule in [dockerfile::Rule::NotApproved, dockerfile::Rule::NotPinned, dockerfile::Rule::Unresolved] {
        findings.rule(Rule::new(rule.id(), docker_rule_text(rule)));
    }
    for result in &results {
        if result.violations.is_empty() {
            findings.passed.push(result.file.display().to_string());
        }
        for judged in &result.violations {
            let v = &judged.finding;
            let mut properties = Map::new();
            properties.insert("image".into(), json!(v.image));
            findings.findings.push(Finding {
                rule_id: v.rule.id().to_owned(),
                level: Level::Error,
                message: v.message.clone(),
                subject: format!("{}:{}", v.file.display(), v.line),
                location: Some(Location { uri: v.file.display().to_string(), line: Some(v.line) }),
                suppressed: judged.excepted.as_ref().map(gate::Covered::describe),
                kind: Kind::Fail,
                properties,
            });
        }
    }
    let froms: usize = results.iter().map(|r| r.froms.len()).sum();
    let violations: usize = results.iter().map(|r| r.violations.len()).sum();
    let excepted: usize = results.iter().flat_map(|r| &r.violations).filter(|v| v.excepted.is_some()).count();
    eprintln!(
        "{} Dockerfile(s), {froms} FROM line(s): {violations} violation(s) ({excepted} excepted)",
        results.len()
    );
    let document = json!({
        "gate": "dockerfile",
        "outcome": if violations > excepted { "blocked" } else { "passed" },
        "files": results.iter().map(|r| json!({"file": r.file.display().to_string(), "froms": r.froms, "violations": r.violations})).collect::<Vec<_>>(),
    });
    emit(format, &findings, &document, |out| {
        findings_table(out, &findings, "every FROM is an approved baseline image pinned by digest")
    })
}

fn docker_rule_text(rule: dockerfile::Rule) -> &'static str {
    match rule {
        dockerfile::Rule::NotApproved => "The base image is not an approved baseline image (policy §4).",
        dockerfile::Rule::NotPinned => "The base image is not pinned by digest (@sha256:…).",
        dockerfile::Rule::Unresolved => {
            "The base image uses an ARG without a value, so it cannot be verified."
        }
    }
}

#[derive(Serialize)]
struct FindingRow {
    location: String,
    rule: String,
    problem: String,
}

/// Findings with a file location, one per row; `clean` when there are none.
fn findings_table(out: &mut dyn Write, findings: &Findings, clean: &str) -> std::io::Result<()> {
    if findings.findings.is_empty() {
        return writeln!(out, "{clean}");
    }
    let rows: Vec<FindingRow> = findings
        .findings
        .iter()
        .map(|f| FindingRow {
            location: f.location.as_ref().map_or(String::new(), |l| match l.line {
                Some(line) => format!("{}:{line}", l.uri),
                None => l.uri.clone(),
            }),
            rule: f.rule_id.clone(),
            problem: match &f.suppressed {
                Some(why) => format!("{} [excepted: {why}]", f.message),
                None => f.message.clone(),
            },
        })
        .collect();
    let columns = &["location", "rule", "problem"];
    report::list(out, Format::Table, View { table: columns, all: columns }, &rows, None)
}

async fn iac(settings: &Settings, format: Format, args: &IacArgs) -> anyhow::Result<Outcome> {
    let result = gate::iac(settings, &args.dir, args.environment.as_deref()).await?;
    let (scan, production) = (&result.scan, result.production);
    let level = if production { Level::Error } else { Level::Warning };
    let mut findings = Findings::new("plumb gate iac");
    for judged in &result.findings {
        let f = &judged.finding;
        findings.rule(Rule::new(f.rule.id(), iac_rule_text(f.rule)));
        let mut properties = Map::new();
        properties.insert("subject".into(), json!(f.subject));
        if let Some(constraint) = &f.constraint {
            properties.insert("constraint".into(), json!(constraint));
        }
        findings.findings.push(Finding {
            rule_id: f.rule.id().to_owned(),
            level,
            message: format!("{}: {}", f.subject, f.message),
            subject: format!("{}:{} {}", f.file.display(), f.line, f.subject),
            location: Some(Location { uri: f.file.display().to_string(), line: Some(f.line) }),
            suppressed: judged.excepted.as_ref().map(gate::Covered::describe),
            kind: Kind::Fail,
            properties,
        });
    }
    for file in &scan.files {
        if !result.findings.iter().any(|f| &f.finding.file == file) {
            findings.passed.push(file.display().to_string());
        }
    }
    let kind = if production { "blocking (production)" } else { "warnings (not production)" };
    let excepted = result.findings.iter().filter(|f| f.excepted.is_some()).count();
    eprintln!(
        "{} .tf file(s), {} module(s), {} provider requirement(s): {} finding(s) ({excepted} excepted), {kind}",
        scan.files.len(),
        scan.modules,
        scan.providers,
        result.findings.len()
    );
    let document = json!({
        "gate": "iac",
        "environment": args.environment,
        "production": production,
        "outcome": if result.blocks() { "blocked" } else { "passed" },
        "files": scan.files.len(),
        "modules": scan.modules,
        "providers": scan.providers,
        "findings": result.findings,
    });
    emit(format, &findings, &document, |out| {
        findings_table(out, &findings, "every module and provider is pinned to an exact version")
    })
}

fn iac_rule_text(rule: iac::Rule) -> &'static str {
    match rule {
        iac::Rule::VersionMissing => "A registry module has no version.",
        iac::Rule::VersionNotExact => "A registry module's version is a constraint, not one exact version.",
        iac::Rule::RefMissing => "A git module source has no ?ref=.",
        iac::Rule::RefCommit => "A git module source is pinned to a commit, not a semver tag.",
        iac::Rule::RefNotSemver => "A git module source's ref is not a semver tag.",
        iac::Rule::ArchiveUnpinned => "An archive module source has no ?checksum=.",
        iac::Rule::SourceUnknown => "A module source cannot be checked.",
        iac::Rule::ProviderVersionMissing => "A provider requirement has no version.",
        iac::Rule::ProviderVersionNotExact => "A provider requirement is not one exact version.",
        iac::Rule::NotLiteral => "A source or version is not a literal string.",
    }
}

/// The token for GitHub, from GITHUB_TOKEN (never a flag: command lines are visible to
/// other users of the machine).
pub(crate) fn github_token() -> anyhow::Result<String> {
    match std::env::var("GITHUB_TOKEN") {
        Ok(token) if !token.trim().is_empty() => Ok(token),
        _ => Err(BadInput(
            "set GITHUB_TOKEN to a token that can read the repository's pull requests and checks".to_owned(),
        )
        .into()),
    }
}

pub(crate) fn repo(text: &str) -> anyhow::Result<Repo> {
    Repo::parse(text).map_err(|err| BadInput(format!("--repo: {err}")).into())
}

async fn pull_request(format: Format, args: &PrArgs) -> anyhow::Result<Outcome> {
    let repo = repo(&args.repo)?;
    let token = github_token()?;
    let asked = gate::PrChecks { require: args.require_check.clone(), skip: args.skip_check.clone() };
    let result = gate::pull_request(&args.api_url, &token, &repo, args.pr, &asked).await?;
    let subject = format!("{repo}#{}", args.pr);
    let mut findings = Findings::new("plumb gate pr");
    if let Some(problem) = result.reviews.problem() {
        findings.rule(Rule::new(
            "pr/review",
            "The head commit needs an independent approval and no outstanding change request.",
        ));
        findings.findings.push(pr_finding("pr/review", &subject, &result, problem));
    }
    if let Some(problem) = result.no_checks() {
        findings.rule(Rule::new("pr/check", "Every required check must succeed on the head commit."));
        findings.findings.push(pr_finding("pr/check", &subject, &result, problem));
    }
    for check in result.checks.iter().filter(|c| c.state != CheckState::Passed) {
        findings.rule(Rule::new("pr/check", "Every required check must succeed on the head commit."));
        let state = match &check.state {
            CheckState::Failed(conclusion) => format!("concluded {conclusion}"),
            CheckState::Pending(status) => format!("has not completed ({status})"),
            CheckState::Missing => "has not run on the head commit".to_owned(),
            CheckState::Passed => "passed".to_owned(),
        };
        findings.findings.push(pr_finding(
            "pr/check",
            &format!("{subject} {}", check.name),
            &result,
            format!("check {:?} {state}", check.name),
        ));
    }
    if result.passes() {
        findings.passed.push(subject.clone());
    }
    eprintln!(
        "{subject} by {} at {}: approved by [{}]; {} check(s) required ({})",
        result.pull.author(),
        result.pull.head.sha,
        result.reviews.approved_by.join(", "),
        result.checks.len(),
        match result.required_from {
            gate::RequiredFrom::Rules => format!("named by {}", result.rules.join("; ")),
            gate::RequiredFrom::AllChecks =>
                format!("{}: every check on the head commit", result.rules.join("; ")),
        }
    );
    let document = json!({
        "gate": "pr",
        "outcome": if result.passes() { "passed" } else { "blocked" },
        "repo": repo.to_string(),
        "number": result.pull.number,
        "author": result.pull.author(),
        "head_sha": result.pull.head.sha,
        "reviews": result.reviews,
        "required_checks_from": result.required_from,
        "rules": result.rules,
        "checks": result.checks,
    });
    emit(format, &findings, &document, |out| {
        if findings.findings.is_empty() {
            return writeln!(out, "{subject} may merge: independently approved, every required check passed");
        }
        for f in &findings.findings {
            writeln!(out, "BLOCKED  {}", f.message)?;
        }
        Ok(())
    })
}

fn pr_finding(rule: &str, subject: &str, result: &PrResult, message: String) -> Finding {
    let mut properties = Map::new();
    properties.insert("head_sha".into(), json!(result.pull.head.sha));
    Finding {
        rule_id: rule.to_owned(),
        level: Level::Error,
        message,
        subject: subject.to_owned(),
        location: Some(Location { uri: result.pull.html_url.clone(), line: None }),
        suppressed: None,
        kind: Kind::Fail,
        properties,
    }
}
