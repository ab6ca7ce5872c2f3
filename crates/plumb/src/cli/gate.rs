//! `plumb gate …`: CI gates that exit 1 when they block. Each prints a table for people, or
//! JSON, SARIF 2.1.0 or JUnit XML for machines (`-o`).

use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};
use plumb_gate::github::Repo;
use plumb_gate::image::Decision;
use plumb_gate::scan::{ScanFormat, Severity};
use serde::Serialize;

use crate::app::Settings;
use crate::app::gate::{self, ImageRequest, ImageResult};
use crate::app::gate_reports::{self, GateReport, why};
use crate::cli::stdout;
use crate::error::{BadInput, Outcome};
use crate::report::findings::Findings;
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
    gated: &GateReport,
    table: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> anyhow::Result<Outcome> {
    let out = &mut stdout();
    if !report::write_findings(out, format, &gated.findings, &[])? {
        match format {
            Format::Json => report::write_json(out, &gated.document)?,
            _ => table(out)?,
        }
    }
    Ok(if gated.blocks() { Outcome::Blocking } else { Outcome::Clean })
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
    let report = gate_reports::image(&request, &result);
    let verdict = &result.verdict;
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
    emit(format, &report, |out| image_table(out, &result))
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
    let report = gate_reports::dockerfiles(&results);
    let froms: usize = results.iter().map(|r| r.froms.len()).sum();
    let violations: usize = results.iter().map(|r| r.violations.len()).sum();
    let excepted: usize = results.iter().flat_map(|r| &r.violations).filter(|v| v.excepted.is_some()).count();
    eprintln!(
        "{} Dockerfile(s), {froms} FROM line(s): {violations} violation(s) ({excepted} excepted)",
        results.len()
    );
    emit(format, &report, |out| {
        findings_table(out, &report.findings, "every FROM is an approved baseline image pinned by digest")
    })
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
    let report = gate_reports::iac(&result, args.environment.as_deref());
    let scan = &result.scan;
    let kind = if result.production { "blocking (production)" } else { "warnings (not production)" };
    let excepted = result.findings.iter().filter(|f| f.excepted.is_some()).count();
    eprintln!(
        "{} .tf file(s), {} module(s), {} provider requirement(s): {} finding(s) ({excepted} excepted), {kind}",
        scan.files.len(),
        scan.modules,
        scan.providers,
        result.findings.len()
    );
    emit(format, &report, |out| {
        findings_table(out, &report.findings, "every module and provider is pinned to an exact version")
    })
}

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
    let report = gate_reports::pull_request(&repo, &result);
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
    emit(format, &report, |out| {
        if report.findings.findings.is_empty() {
            return writeln!(out, "{subject} may merge: independently approved, every required check passed");
        }
        for f in &report.findings.findings {
            writeln!(out, "BLOCKED  {}", f.message)?;
        }
        Ok(())
    })
}
