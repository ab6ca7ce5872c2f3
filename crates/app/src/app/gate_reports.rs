//! What each gate's result says, in the two shapes every front end shows: a list of findings
//! (rendered as SARIF, JUnit or HTML, and deciding whether the gate blocks) and the gate's JSON
//! document (`-o json`, and the API's body). Front ends add only their own presentation (the
//! CLI's tables and one-line summaries).

use plumb_gate::github::{CheckState, Repo};
use plumb_gate::image::{Decision, Finding as VulnFinding};
use plumb_gate::scan::Severity;
use plumb_gate::{dockerfile, iac};
use serde_json::{Map, Value, json};

use crate::app::gate::{
    ChangesResult, Covered, DockerfileResult, IacResult, ImageRequest, ImageResult, PrResult,
};
use crate::report::findings::{Finding, Findings, Kind, Level, Location, Rule};

/// One gate's verdict as findings and as its document.
#[derive(Debug)]
pub struct GateReport {
    /// The findings, each blocking or not.
    pub findings: Findings,
    /// The gate's JSON document.
    pub document: Value,
}

impl GateReport {
    /// Whether the gate blocks: a finding at error level that nothing suppresses.
    pub fn blocks(&self) -> bool {
        self.findings.findings.iter().any(Finding::blocks)
    }
}

/// `plumb gate image`.
pub fn image(request: &ImageRequest, result: &ImageResult) -> GateReport {
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
    GateReport { findings: image_findings(request, result), document }
}

/// Why a finding blocks or does not, in a few words.
pub fn why(finding: &VulnFinding) -> String {
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

/// `plumb gate dockerfile`.
pub fn dockerfiles(results: &[DockerfileResult]) -> GateReport {
    let mut findings = Findings::new("plumb gate dockerfile");
    for rule in [dockerfile::Rule::NotApproved, dockerfile::Rule::NotPinned, dockerfile::Rule::Unresolved] {
        findings.rule(Rule::new(rule.id(), docker_rule_text(rule)));
    }
    for result in results {
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
                suppressed: judged.excepted.as_ref().map(Covered::describe),
                kind: Kind::Fail,
                properties,
            });
        }
    }
    let blocked = findings.findings.iter().any(Finding::blocks);
    let document = json!({
        "gate": "dockerfile",
        "outcome": if blocked { "blocked" } else { "passed" },
        "files": results.iter().map(|r| json!({"file": r.file.display().to_string(), "froms": r.froms, "violations": r.violations})).collect::<Vec<_>>(),
    });
    GateReport { findings, document }
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

/// `plumb gate iac`; findings block only in production.
pub fn iac(result: &IacResult, environment: Option<&str>) -> GateReport {
    let level = if result.production { Level::Error } else { Level::Warning };
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
            suppressed: judged.excepted.as_ref().map(Covered::describe),
            kind: Kind::Fail,
            properties,
        });
    }
    for file in &result.scan.files {
        if !result.findings.iter().any(|f| &f.finding.file == file) {
            findings.passed.push(file.display().to_string());
        }
    }
    let scan = &result.scan;
    let document = json!({
        "gate": "iac",
        "environment": environment,
        "production": result.production,
        "outcome": if result.blocks() { "blocked" } else { "passed" },
        "files": scan.files.len(),
        "modules": scan.modules,
        "providers": scan.providers,
        "findings": result.findings,
    });
    GateReport { findings, document }
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

/// `plumb gate pr`.
pub fn pull_request(repo: &Repo, result: &PrResult) -> GateReport {
    let subject = format!("{repo}#{}", result.pull.number);
    let mut findings = Findings::new("plumb gate pr");
    if let Some(problem) = result.reviews.problem() {
        findings.rule(Rule::new(
            "pr/review",
            "The head commit needs an independent approval and no outstanding change request.",
        ));
        findings.findings.push(pr_finding("pr/review", &subject, result, problem));
    }
    if let Some(problem) = result.no_checks() {
        findings.rule(Rule::new("pr/check", "Every required check must succeed on the head commit."));
        findings.findings.push(pr_finding("pr/check", &subject, result, problem));
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
            result,
            format!("check {:?} {state}", check.name),
        ));
    }
    if result.passes() {
        findings.passed.push(subject);
    }
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
    GateReport { findings, document }
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

/// `plumb audit changes`: each merge without an independent approval of its head commit is a
/// blocking finding (evidence for CFG-01).
pub fn changes(
    repo: &Repo,
    since: jiff::Timestamp,
    until: jiff::Timestamp,
    result: &ChangesResult,
) -> GateReport {
    let mut findings = Findings::new("plumb audit changes");
    findings.rule(Rule::new(
        "audit/unreviewed-merge",
        "A pull request was merged without an independent approval of its head commit.",
    ));
    for change in &result.changes {
        let subject = format!("{repo}#{} {}", change.number, change.title);
        match &change.flag {
            None => findings.passed.push(subject),
            Some(flag) => {
                let mut properties = Map::new();
                properties.insert("author".into(), json!(change.author));
                properties.insert("merged_at".into(), json!(change.merged_at));
                properties.insert("head_sha".into(), json!(change.head_sha));
                findings.findings.push(Finding {
                    rule_id: "audit/unreviewed-merge".to_owned(),
                    level: Level::Error,
                    message: format!("#{} {}", change.number, flag),
                    subject,
                    location: Some(Location { uri: change.url.clone(), line: None }),
                    suppressed: None,
                    kind: Kind::Fail,
                    properties,
                });
            }
        }
    }
    let flagged = findings.findings.len();
    let document = json!({
        "audit": "changes",
        "control": "CFG-01",
        "repo": repo.to_string(),
        "branch": result.branch,
        "since": since.to_string(),
        "until": until.to_string(),
        "outcome": if flagged > 0 { "flagged" } else { "passed" },
        "pull_requests": result.changes,
        "run_id": result.run_id,
    });
    GateReport { findings, document }
}
