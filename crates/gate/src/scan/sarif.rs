//! SARIF 2.1.0 from any scanner. SARIF has no fields for packages or severities, so they are
//! read from the conventions scanners follow, in this order:
//!
//! - severity: a severity word in the rule's (or result's) `properties.tags` (Trivy), or a
//!   `[HIGH] CVE-…` rule id (Trivy before 2022); else the CVSS score in `security-severity`
//!   (GitHub code scanning's property); else the result's `level`, or the rule's default
//!   level, or SARIF's default `warning`: error → HIGH, warning → MEDIUM, note → LOW,
//!   none → NEGLIGIBLE.
//! - package, installed and fixed version: `Package:`, `Installed Version:` and
//!   `Fixed Version:` lines in the result message or the rule's help (Trivy, Grype); without
//!   them the package is the location's URI.

use std::collections::HashMap;
use std::path::Path;

use serde::Deserialize;
use serde_json::Value;

use crate::GateError;
use crate::scan::{
    Parser, ScanFormat, ScanReport, Severity, TopLevel, Vulnerability, from_json, split_versions,
};

pub(super) const PARSER: Parser = Parser { format: ScanFormat::Sarif, detect, parse };

fn detect(top: &TopLevel) -> bool {
    top.has("runs") && (top.text("version").is_some_and(|v| v.starts_with("2.")) || top.has("$schema"))
}

#[derive(Deserialize)]
struct Log {
    #[serde(default)]
    runs: Vec<Run>,
}

#[derive(Deserialize)]
struct Run {
    tool: Tool,
    #[serde(default)]
    results: Vec<SarifResult>,
    properties: Option<HashMap<String, Value>>,
}

#[derive(Deserialize)]
struct Tool {
    driver: Component,
    #[serde(default)]
    extensions: Vec<Component>,
}

#[derive(Deserialize)]
struct Component {
    #[serde(default)]
    rules: Vec<Rule>,
}

#[derive(Deserialize)]
struct Rule {
    id: String,
    #[serde(rename = "shortDescription")]
    short_description: Option<Text>,
    help: Option<Text>,
    #[serde(rename = "helpUri")]
    help_uri: Option<String>,
    #[serde(rename = "defaultConfiguration")]
    default_configuration: Option<Configuration>,
    properties: Option<HashMap<String, Value>>,
}

#[derive(Deserialize)]
struct Configuration {
    level: Option<String>,
}

#[derive(Deserialize)]
struct Text {
    text: Option<String>,
}

#[derive(Deserialize)]
struct SarifResult {
    #[serde(rename = "ruleId")]
    rule_id: Option<String>,
    #[serde(rename = "ruleIndex")]
    rule_index: Option<usize>,
    level: Option<String>,
    message: Option<Text>,
    #[serde(default)]
    locations: Vec<Location>,
    properties: Option<HashMap<String, Value>>,
}

#[derive(Deserialize)]
struct Location {
    #[serde(rename = "physicalLocation")]
    physical_location: Option<PhysicalLocation>,
}

#[derive(Deserialize)]
struct PhysicalLocation {
    #[serde(rename = "artifactLocation")]
    artifact_location: Option<ArtifactLocation>,
}

#[derive(Deserialize)]
struct ArtifactLocation {
    uri: Option<String>,
}

fn parse(file: &Path, text: &str) -> Result<ScanReport, GateError> {
    let log: Log = from_json(file, text)?;
    let mut artifact = None;
    let mut vulnerabilities = Vec::new();
    for (r, run) in log.runs.iter().enumerate() {
        artifact = artifact.or_else(|| image_name(run));
        let rules: Vec<&Rule> =
            run.tool.driver.rules.iter().chain(run.tool.extensions.iter().flat_map(|c| &c.rules)).collect();
        for (i, result) in run.results.iter().enumerate() {
            let rule = match (result.rule_index, &result.rule_id) {
                (Some(index), _) if run.tool.driver.rules.get(index).is_some() => {
                    run.tool.driver.rules.get(index)
                }
                (_, Some(id)) => rules.iter().copied().find(|rule| &rule.id == id),
                _ => None,
            };
            let Some(id) = result.rule_id.as_deref().or(rule.map(|r| r.id.as_str())) else {
                return Err(GateError::Field {
                    file: file.to_path_buf(),
                    field: format!("runs[{r}].results[{i}].ruleId"),
                    message: "a result needs a ruleId (or a ruleIndex into the driver's rules)".to_owned(),
                });
            };
            vulnerabilities.push(normalize(id, result, rule));
        }
    }
    Ok(ScanReport { format: ScanFormat::Sarif, artifact, vulnerabilities })
}

/// Trivy names the image in the run's properties.
fn image_name(run: &Run) -> Option<String> {
    let name = run.properties.as_ref()?.get("imageName")?.as_str()?;
    (!name.is_empty()).then(|| name.to_owned())
}

fn normalize(rule_id: &str, result: &SarifResult, rule: Option<&Rule>) -> Vulnerability {
    let (tagged, id) = split_severity_prefix(rule_id);
    let texts: Vec<&str> = [
        result.message.as_ref().and_then(|m| m.text.as_deref()),
        rule.and_then(|r| r.help.as_ref()).and_then(|h| h.text.as_deref()),
    ]
    .into_iter()
    .flatten()
    .collect();
    let field = |name: &str| texts.iter().find_map(|text| labelled(text, name));
    let target = result
        .locations
        .iter()
        .filter_map(|l| l.physical_location.as_ref()?.artifact_location.as_ref()?.uri.clone())
        .next()
        .unwrap_or_else(|| "(no location)".to_owned());
    Vulnerability {
        id: id.to_owned(),
        package: field("Package").unwrap_or_else(|| target.clone()),
        version: field("Installed Version").unwrap_or_default(),
        purl: None,
        severity: tagged.unwrap_or_else(|| severity(result, rule)),
        severity_text: None,
        fixed_versions: field("Fixed Version").map(|v| split_versions(&v)).unwrap_or_default(),
        title: rule.and_then(|r| r.short_description.as_ref()).and_then(|d| d.text.clone()),
        url: rule.and_then(|r| r.help_uri.clone()),
        target,
        path: None,
        layer: None,
    }
}

/// `[HIGH] CVE-2021-1` → (HIGH, `CVE-2021-1`).
fn split_severity_prefix(rule_id: &str) -> (Option<Severity>, &str) {
    if let Some(rest) = rule_id.strip_prefix('[')
        && let Some((word, id)) = rest.split_once(']')
        && let Some(severity) = Severity::parse(word)
    {
        return (Some(severity), id.trim());
    }
    (None, rule_id)
}

fn severity(result: &SarifResult, rule: Option<&Rule>) -> Severity {
    let bags = [result.properties.as_ref(), rule.and_then(|r| r.properties.as_ref())];
    let tagged = bags.iter().flatten().find_map(|bag| {
        bag.get("tags")?.as_array()?.iter().filter_map(Value::as_str).find_map(|tag| {
            Severity::parse(tag).filter(|s| !matches!(s, Severity::Negligible | Severity::Unknown))
        })
    });
    let scored = || {
        bags.iter().flatten().find_map(|bag| match bag.get("security-severity")? {
            Value::String(text) => text.trim().parse::<f64>().ok(),
            Value::Number(number) => number.as_f64(),
            _ => None,
        })
    };
    let level = || {
        let level = result
            .level
            .as_deref()
            .or_else(|| rule.and_then(|r| r.default_configuration.as_ref()).and_then(|c| c.level.as_deref()))
            .unwrap_or("warning");
        match level {
            "error" => Severity::High,
            "warning" => Severity::Medium,
            "note" => Severity::Low,
            "none" => Severity::Negligible,
            _ => Severity::Unknown,
        }
    };
    tagged.or_else(|| scored().map(Severity::from_score)).unwrap_or_else(level)
}

/// The value of a `Name: value` line; `None` when absent or empty.
fn labelled(text: &str, name: &str) -> Option<String> {
    text.lines().find_map(|line| {
        let value = line.trim().strip_prefix(name)?.strip_prefix(':')?.trim();
        (!value.is_empty()).then(|| value.to_owned())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(result: &str, rule: &str, expect: (&str, Severity, &str, &str, &[&str])) {
        let text = format!(
            r#"{{"version": "2.1.0", "runs": [{{"tool": {{"driver": {{"name": "x", "rules": [{rule}]}}}},
                "results": [{result}]}}]}}"#
        );
        let report = parse(Path::new("s.json"), &text).unwrap();
        let v = &report.vulnerabilities[0];
        let got =
            (v.id.as_str(), v.severity, v.package.as_str(), v.version.as_str(), v.fixed_versions.clone());
        let (id, severity, package, version, fixed) = expect;
        assert_eq!(
            got,
            (id, severity, package, version, fixed.iter().map(|f| f.to_string()).collect()),
            "{result}"
        );
    }

    #[test]
    fn severity_and_package_conventions() {
        let trivy_rule = r#"{"id": "CVE-1", "properties": {"tags": ["vulnerability", "security", "CRITICAL"], "security-severity": "5.0"}}"#;
        let trivy_result = r#"{"ruleId": "CVE-1", "ruleIndex": 0, "level": "error",
            "message": {"text": "Package: openssl\nInstalled Version: 1.1\nFixed Version: 1.2, 1.3"},
            "locations": [{"physicalLocation": {"artifactLocation": {"uri": "img.tar"}}}]}"#;
        check(trivy_result, trivy_rule, ("CVE-1", Severity::Critical, "openssl", "1.1", &["1.2", "1.3"]));

        let scored_rule = r#"{"id": "GHSA-1", "properties": {"security-severity": 7.5}}"#;
        let plain = r#"{"ruleId": "GHSA-1", "level": "note", "message": {"text": "m"},
            "locations": [{"physicalLocation": {"artifactLocation": {"uri": "go.sum"}}}]}"#;
        check(plain, scored_rule, ("GHSA-1", Severity::High, "go.sum", "", &[]));

        let bare_rule = r#"{"id": "R1", "defaultConfiguration": {"level": "error"}}"#;
        check(
            r#"{"ruleId": "R1", "message": {"text": "m"}}"#,
            bare_rule,
            ("R1", Severity::High, "(no location)", "", &[]),
        );
        check(
            r#"{"ruleId": "R2", "message": {"text": "m"}}"#,
            bare_rule,
            ("R2", Severity::Medium, "(no location)", "", &[]),
        );
        check(
            r#"{"ruleId": "R2", "level": "none"}"#,
            bare_rule,
            ("R2", Severity::Negligible, "(no location)", "", &[]),
        );

        let old_rule = r#"{"id": "[LOW] CVE-2011-3374", "help": {"text": "Package: apt\nInstalled Version: 1.8.2\nFixed Version: "}}"#;
        check(
            r#"{"ruleId": "[LOW] CVE-2011-3374", "ruleIndex": 0, "level": "error", "message": {"text": "d"}}"#,
            old_rule,
            ("CVE-2011-3374", Severity::Low, "apt", "1.8.2", &[]),
        );
    }

    #[test]
    fn a_result_without_a_rule_is_refused() {
        let text = r#"{"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "x"}}, "results": [{"message": {"text": "m"}}]}]}"#;
        let err = parse(Path::new("s.json"), text).unwrap_err().to_string();
        assert_eq!(
            err,
            "s.json: runs[0].results[0].ruleId: a result needs a ruleId (or a ruleIndex into the driver's rules)"
        );
    }
}
