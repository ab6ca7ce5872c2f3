//! SARIF 2.1.0 (OASIS), as GitHub code scanning reads it: one run whose driver is plumb with
//! every rule referenced, and one result per finding with its level, message, location and,
//! for findings that do not block because of an exception or VEX, an external suppression
//! (code scanning shows those as dismissed, not as open alerts). A test validates the output
//! against the official schema.

use std::io::{self, Write};

use serde_json::{Map, Value, json};

use crate::report::findings::{Finding, Findings, Kind};

/// The schema URI of SARIF 2.1.0 (errata 01).
pub const SCHEMA: &str =
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json";

/// Writes the findings as a SARIF log.
pub fn write(out: &mut dyn Write, findings: &Findings) -> io::Result<()> {
    crate::report::write_json(out, &log(findings))
}

/// The SARIF log of the findings.
pub fn log(findings: &Findings) -> Value {
    let rules: Vec<Value> = findings
        .rules()
        .iter()
        .map(|rule| {
            let mut value = json!({
                "id": rule.id,
                "shortDescription": {"text": rule.description},
            });
            if let Some(uri) = &rule.help_uri {
                value["helpUri"] = json!(uri);
            }
            if let Some(score) = rule.security_severity {
                value["properties"] =
                    json!({"security-severity": format!("{score:.1}"), "tags": ["security"]});
            }
            value
        })
        .collect();
    let results: Vec<Value> = findings.findings.iter().map(|f| result(findings, f)).collect();
    json!({
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "plumb",
                "semanticVersion": env!("CARGO_PKG_VERSION"),
                "rules": rules,
            }},
            "automationDetails": {"id": format!("{}/", findings.command)},
            "results": results,
        }],
    })
}

fn result(findings: &Findings, finding: &Finding) -> Value {
    let mut value = Map::new();
    value.insert("ruleId".into(), json!(finding.rule_id));
    if let Some(index) = findings.rule_position(&finding.rule_id) {
        value.insert("ruleIndex".into(), json!(index));
    }
    value.insert("level".into(), json!(finding.level.as_str()));
    if finding.kind != Kind::Fail {
        // `open`: the rule could not be judged; SARIF's own word for "neither pass nor fail".
        value.insert("kind".into(), json!(finding.kind.as_str()));
    }
    value.insert("message".into(), json!({"text": finding.message}));
    if let Some(location) = &finding.location {
        let mut physical = json!({"artifactLocation": {"uri": uri_reference(&location.uri)}});
        if let Some(line) = location.line {
            physical["region"] = json!({"startLine": line.max(1)});
        }
        value.insert("locations".into(), json!([{"physicalLocation": physical}]));
    }
    if let Some(justification) = &finding.suppressed {
        value.insert("suppressions".into(), json!([{"kind": "external", "justification": justification}]));
    }
    if !finding.properties.is_empty() {
        value.insert("properties".into(), Value::Object(finding.properties.clone()));
    }
    Value::Object(value)
}

/// Percent-encodes what may not appear in a URI reference (spaces, parentheses of Trivy
/// targets stay legal; spaces and non-ASCII do not), keeping `/` so paths stay readable.
fn uri_reference(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.replace('\\', "/").bytes() {
        let keep = byte.is_ascii_alphanumeric() || b"-._~/:@!$&'()*+,;=?#".contains(&byte);
        if keep {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uri_references() {
        assert_eq!(uri_reference("infra/main.tf"), "infra/main.tf");
        assert_eq!(uri_reference("app (debian 12.4)"), "app%20(debian%2012.4)");
        assert_eq!(uri_reference("dir\\Dockerfile"), "dir/Dockerfile");
        assert_eq!(uri_reference("100%é"), "100%25%C3%A9");
    }
}
