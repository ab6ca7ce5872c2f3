//! The image gate's verdict: which vulnerabilities block, which are excepted (by an unexpired
//! ignore entry) or declared harmless by VEX, and which are below the failing severities.
//!
//! The same vulnerability in the same package version is often reported several times (one
//! per layer, target or file); it is decided once, with all its locations. It is excepted or
//! VEX-suppressed only when every location is covered, and takes the highest severity any
//! report of it gives.

use std::collections::HashMap;

use jiff::Timestamp;
use serde::Serialize;

use crate::ignore::IgnoreRule;
use crate::scan::{ScanReport, Severity, Vulnerability};
use crate::vex::{Vex, VexStatus};

/// One vulnerability of one package version, with every place it was found.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Finding {
    /// The vulnerability as first reported, with the highest severity any report of it gives
    /// and every fixed version any names.
    #[serde(flatten)]
    pub vulnerability: Vulnerability,
    /// Every place it was found.
    pub locations: Vec<String>,
    /// What the gate decided.
    pub decision: Decision,
    /// Ignore entries that would have covered it but have expired.
    pub expired_exceptions: Vec<String>,
}

/// What the gate decided about one finding.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "decision", rename_all = "snake_case")]
pub enum Decision {
    /// At a failing severity and not covered: blocks.
    Blocked,
    /// Covered by an unexpired exception.
    Excepted {
        /// Where the exception is written.
        source: String,
        /// When it expires, as written.
        until: Option<String>,
        /// Why it was accepted.
        statement: Option<String>,
    },
    /// A VEX statement says not affected, or fixed.
    Vex {
        /// `not_affected` or `fixed`.
        status: VexStatus,
        /// Why.
        justification: Option<String>,
        /// Where the statement is written.
        source: String,
    },
    /// Below the failing severities.
    Allowed,
}

/// The failing severities.
#[derive(Clone, Debug)]
pub struct ImagePolicy {
    /// A finding at one of these severities blocks.
    pub fail_on: Vec<Severity>,
}

impl Default for ImagePolicy {
    fn default() -> Self {
        ImagePolicy { fail_on: vec![Severity::High, Severity::Critical] }
    }
}

/// The verdict on one report.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Verdict {
    /// Every finding, most severe first.
    pub findings: Vec<Finding>,
    /// Ignore entries that have expired (they suppress nothing).
    pub expired: Vec<IgnoreRule>,
    /// How many vulnerabilities the report listed, duplicates included.
    pub reported: usize,
}

impl Verdict {
    /// Whether any finding blocks.
    pub fn is_blocking(&self) -> bool {
        self.findings.iter().any(|f| f.decision == Decision::Blocked)
    }

    /// How many findings have each severity, most severe first (zeros left out).
    pub fn by_severity(&self) -> Vec<(Severity, usize)> {
        Severity::ALL
            .iter()
            .map(|s| (*s, self.findings.iter().filter(|f| f.vulnerability.severity == *s).count()))
            .filter(|(_, n)| *n > 0)
            .collect()
    }

    /// How many findings got each kind of decision: blocked, excepted, vex, allowed.
    pub fn by_decision(&self) -> [(&'static str, usize); 4] {
        let count = |f: fn(&Decision) -> bool| self.findings.iter().filter(|x| f(&x.decision)).count();
        [
            ("blocked", count(|d| matches!(d, Decision::Blocked))),
            ("excepted", count(|d| matches!(d, Decision::Excepted { .. }))),
            ("vex", count(|d| matches!(d, Decision::Vex { .. }))),
            ("allowed", count(|d| matches!(d, Decision::Allowed))),
        ]
    }
}

/// Decides every vulnerability of the report.
pub fn evaluate(
    report: &ScanReport,
    policy: &ImagePolicy,
    ignores: &[IgnoreRule],
    vex: &Vex,
    now: Timestamp,
) -> Verdict {
    let mut findings: Vec<Finding> = group(&report.vulnerabilities)
        .into_iter()
        .map(|members| decide(&members, policy, ignores, vex, now))
        .collect();
    findings.sort_by(|a, b| {
        let (a, b) = (&a.vulnerability, &b.vulnerability);
        b.severity.cmp(&a.severity).then_with(|| a.id.cmp(&b.id)).then_with(|| a.package.cmp(&b.package))
    });
    let expired = ignores.iter().filter(|r| r.is_expired(now)).cloned().collect();
    Verdict { findings, expired, reported: report.vulnerabilities.len() }
}

/// Groups by (id, package, version), in order of first appearance.
fn group(vulnerabilities: &[Vulnerability]) -> Vec<Vec<&Vulnerability>> {
    let mut index: HashMap<(&str, &str, &str), usize> = HashMap::new();
    let mut groups: Vec<Vec<&Vulnerability>> = Vec::new();
    for vuln in vulnerabilities {
        let key = (vuln.id.as_str(), vuln.package.as_str(), vuln.version.as_str());
        match index.get(&key) {
            Some(&i) => groups[i].push(vuln),
            None => {
                index.insert(key, groups.len());
                groups.push(vec![vuln]);
            }
        }
    }
    groups
}

fn decide(
    members: &[&Vulnerability],
    policy: &ImagePolicy,
    ignores: &[IgnoreRule],
    vex: &Vex,
    now: Timestamp,
) -> Finding {
    let first = members[0];
    let severity = members.iter().map(|v| v.severity).max().unwrap_or(Severity::Unknown);
    let mut locations: Vec<String> = Vec::new();
    let mut fixed_versions: Vec<String> = Vec::new();
    for member in members {
        push_new(&mut locations, member.location());
        for version in &member.fixed_versions {
            push_new(&mut fixed_versions, version.clone());
        }
    }
    let expired_exceptions: Vec<String> = ignores
        .iter()
        .filter(|r| r.is_expired(now) && members.iter().any(|m| r.matches(m)))
        .map(|r| r.source.clone())
        .collect();
    let decision = if !policy.fail_on.contains(&severity) {
        Decision::Allowed
    } else if let Some(statement) = covering(members, |m| vex.decide(m).filter(|s| s.status.suppresses())) {
        Decision::Vex {
            status: statement.status,
            justification: statement.justification.clone(),
            source: statement.source.clone(),
        }
    } else if let Some(rule) =
        covering(members, |m| ignores.iter().find(|r| !r.is_expired(now) && r.matches(m)))
    {
        Decision::Excepted {
            source: rule.source.clone(),
            until: rule.expires.as_ref().map(|e| e.text.clone()),
            statement: rule.statement.clone(),
        }
    } else {
        Decision::Blocked
    };
    let vulnerability = Vulnerability {
        severity,
        fixed_versions,
        purl: members.iter().find_map(|m| m.purl.clone()),
        severity_text: members.iter().find_map(|m| m.severity_text.clone()),
        title: members.iter().find_map(|m| m.title.clone()),
        url: members.iter().find_map(|m| m.url.clone()),
        ..first.clone()
    };
    Finding { vulnerability, locations, decision, expired_exceptions }
}

/// The first member's cover, when every member is covered.
fn covering<'a, T>(
    members: &[&'a Vulnerability],
    cover: impl Fn(&'a Vulnerability) -> Option<T>,
) -> Option<T> {
    let covers: Option<Vec<T>> = members.iter().map(|m| cover(m)).collect();
    covers.and_then(|c| c.into_iter().next())
}

fn push_new(list: &mut Vec<String>, item: String) {
    if !list.contains(&item) {
        list.push(item);
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::ignore;
    use crate::scan::ScanFormat;

    fn vuln(id: &str, package: &str, severity: Severity, target: &str, path: Option<&str>) -> Vulnerability {
        Vulnerability {
            severity,
            fixed_versions: vec!["1.1".to_owned()],
            target: target.to_owned(),
            path: path.map(str::to_owned),
            ..Vulnerability::sample(id, package)
        }
    }

    fn report(vulnerabilities: Vec<Vulnerability>) -> ScanReport {
        ScanReport { format: ScanFormat::Trivy, artifact: None, vulnerabilities }
    }

    fn now() -> Timestamp {
        "2025-06-01T00:00:00Z".parse().unwrap()
    }

    fn decisions(verdict: &Verdict) -> Vec<(&str, &str)> {
        verdict
            .findings
            .iter()
            .map(|f| {
                let word = match f.decision {
                    Decision::Blocked => "blocked",
                    Decision::Excepted { .. } => "excepted",
                    Decision::Vex { .. } => "vex",
                    Decision::Allowed => "allowed",
                };
                (f.vulnerability.id.as_str(), word)
            })
            .collect()
    }

    #[test]
    fn duplicates_are_decided_once_with_all_locations() {
        let verdict = evaluate(
            &report(vec![
                vuln("CVE-1", "openssl", Severity::High, "os", None),
                vuln("CVE-1", "openssl", Severity::Critical, "os", Some("layer2")),
                vuln("CVE-2", "zlib", Severity::Medium, "os", None),
                vuln("CVE-3", "x", Severity::Unknown, "os", None),
            ]),
            &ImagePolicy::default(),
            &[],
            &Vex::default(),
            now(),
        );
        assert_eq!(decisions(&verdict), [("CVE-1", "blocked"), ("CVE-2", "allowed"), ("CVE-3", "allowed")]);
        assert_eq!(verdict.findings[0].vulnerability.severity, Severity::Critical);
        assert_eq!(verdict.findings[0].locations, ["os", "os: layer2"]);
        assert_eq!(verdict.findings[0].vulnerability.fixed_versions, ["1.1"]);
        assert!(verdict.is_blocking());
        assert_eq!(verdict.reported, 4);
        let strict = ImagePolicy { fail_on: vec![Severity::Unknown, Severity::High, Severity::Critical] };
        let verdict = evaluate(
            &report(vec![vuln("CVE-3", "x", Severity::Unknown, "os", None)]),
            &strict,
            &[],
            &Vex::default(),
            now(),
        );
        assert_eq!(decisions(&verdict), [("CVE-3", "blocked")]);
    }

    #[test]
    fn exceptions_expire_and_must_cover_every_location() {
        let ignores = ignore::parse(
            Path::new(".trivyignore.yaml"),
            "vulnerabilities:\n  - id: CVE-1\n    expired_at: 2025-07-01\n    statement: compensated\n  - id: CVE-2\n    expired_at: 2025-05-01\n  - id: CVE-3\n    paths: [\"lib/a.jar\"]\n",
        )
        .unwrap();
        let verdict = evaluate(
            &report(vec![
                vuln("CVE-1", "a", Severity::High, "os", None),
                vuln("CVE-2", "b", Severity::High, "os", None),
                vuln("CVE-3", "c", Severity::High, "Java", Some("lib/a.jar")),
                vuln("CVE-3", "c", Severity::High, "Java", Some("lib/b.jar")),
            ]),
            &ImagePolicy::default(),
            &ignores,
            &Vex::default(),
            now(),
        );
        assert_eq!(decisions(&verdict), [("CVE-1", "excepted"), ("CVE-2", "blocked"), ("CVE-3", "blocked")]);
        assert_eq!(
            verdict.findings[0].decision,
            Decision::Excepted {
                source: ".trivyignore.yaml: vulnerabilities[0]".to_owned(),
                until: Some("2025-07-01".to_owned()),
                statement: Some("compensated".to_owned())
            }
        );
        assert_eq!(verdict.findings[1].expired_exceptions, [".trivyignore.yaml: vulnerabilities[1]"]);
        assert_eq!(verdict.expired.len(), 1);
    }

    #[test]
    fn vex_not_affected_and_fixed_suppress() {
        let mut vex = Vex::default();
        vex.read(
            Path::new("v.json"),
            r#"{"statements": [
                {"vulnerability": {"name": "CVE-1"}, "status": "not_affected", "justification": "inline_mitigations_already_exist"},
                {"vulnerability": {"name": "CVE-2"}, "status": "fixed"},
                {"vulnerability": {"name": "CVE-3"}, "status": "affected"}]}"#,
        )
        .unwrap();
        let verdict = evaluate(
            &report(vec![
                vuln("CVE-1", "a", Severity::Critical, "os", None),
                vuln("CVE-2", "b", Severity::High, "os", None),
                vuln("CVE-3", "c", Severity::High, "os", None),
            ]),
            &ImagePolicy::default(),
            &[],
            &vex,
            now(),
        );
        assert_eq!(decisions(&verdict), [("CVE-1", "vex"), ("CVE-2", "vex"), ("CVE-3", "blocked")]);
        assert_eq!(verdict.by_decision(), [("blocked", 1), ("excepted", 0), ("vex", 2), ("allowed", 0)]);
    }

    #[test]
    fn an_empty_report_passes() {
        let verdict = evaluate(&report(Vec::new()), &ImagePolicy::default(), &[], &Vex::default(), now());
        assert!(!verdict.is_blocking());
        assert!(verdict.by_severity().is_empty());
    }
}
