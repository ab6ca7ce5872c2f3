//! Grype JSON: `matches[]`, each a `vulnerability` found in an `artifact` (a package) at
//! `locations[]`, with `fix.versions` when one is known.

use std::path::Path;

use serde::Deserialize;

use crate::GateError;
use crate::scan::{Parser, ScanFormat, ScanReport, TopLevel, Vulnerability, from_json, severity_of};

pub(super) const PARSER: Parser = Parser { format: ScanFormat::Grype, detect, parse };

fn detect(top: &TopLevel) -> bool {
    top.has("matches") && (top.has("descriptor") || top.has("source"))
}

#[derive(Deserialize)]
struct Report {
    matches: Option<Vec<Match>>,
    source: Option<Source>,
}

#[derive(Deserialize)]
struct Source {
    target: Option<SourceTarget>,
}

/// An image source names the image in `userInput`; a directory source is a plain string.
#[derive(Deserialize)]
#[serde(untagged)]
enum SourceTarget {
    Image {
        #[serde(rename = "userInput")]
        user_input: Option<String>,
    },
    Path(serde::de::IgnoredAny),
}

#[derive(Deserialize)]
struct Match {
    vulnerability: Vuln,
    artifact: Artifact,
}

#[derive(Deserialize)]
struct Vuln {
    id: String,
    severity: Option<String>,
    #[serde(rename = "dataSource")]
    data_source: Option<String>,
    description: Option<String>,
    fix: Option<Fix>,
}

#[derive(Deserialize)]
struct Fix {
    #[serde(default)]
    versions: Vec<String>,
}

#[derive(Deserialize)]
struct Artifact {
    name: String,
    version: Option<String>,
    purl: Option<String>,
    #[serde(default)]
    locations: Vec<Location>,
}

#[derive(Deserialize)]
struct Location {
    path: String,
    #[serde(rename = "layerID")]
    layer_id: Option<String>,
}

fn parse(file: &Path, text: &str) -> Result<ScanReport, GateError> {
    let report: Report = from_json(file, text)?;
    let artifact = report.source.and_then(|s| s.target).and_then(|t| match t {
        SourceTarget::Image { user_input } => user_input,
        SourceTarget::Path(_) => None,
    });
    let mut vulnerabilities = Vec::new();
    for found in report.matches.unwrap_or_default() {
        vulnerabilities.extend(normalize(found));
    }
    Ok(ScanReport { format: ScanFormat::Grype, artifact, vulnerabilities })
}

/// One vulnerability per location, so duplicates across layers are merged like Trivy's.
fn normalize(found: Match) -> Vec<Vulnerability> {
    let (vuln, artifact) = (found.vulnerability, found.artifact);
    let (severity, severity_text) = severity_of(vuln.severity.as_deref());
    let base = Vulnerability {
        id: vuln.id,
        package: artifact.name,
        version: artifact.version.unwrap_or_default(),
        purl: artifact.purl.filter(|p| !p.is_empty()),
        severity,
        severity_text,
        fixed_versions: vuln.fix.map(|f| f.versions).unwrap_or_default(),
        title: vuln.description.map(|d| first_line(&d)),
        url: vuln.data_source,
        target: "(no location)".to_owned(),
        path: None,
        layer: None,
    };
    if artifact.locations.is_empty() {
        return vec![base];
    }
    artifact
        .locations
        .into_iter()
        .map(|location| Vulnerability {
            target: location.path,
            layer: location.layer_id.filter(|l| !l.is_empty()),
            ..base.clone()
        })
        .collect()
}

/// Grype has no title; the first line of the description stands in for one.
fn first_line(text: &str) -> String {
    text.lines().map(str::trim).find(|l| !l.is_empty()).unwrap_or_default().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scan::Severity;

    #[test]
    fn matches_locations_and_missing_severity() {
        let text = r#"{
          "matches": [
            {"vulnerability": {"id": "CVE-1", "severity": "High", "fix": {"versions": ["1.2"], "state": "fixed"},
                               "dataSource": "https://nvd/CVE-1", "description": "\nBad thing.\nMore."},
             "artifact": {"name": "p", "version": "1.1", "purl": "",
                          "locations": [{"path": "/a", "layerID": "sha256:1"}, {"path": "/b"}]}},
            {"vulnerability": {"id": "CVE-2", "fix": {"versions": [], "state": "not-fixed"}},
             "artifact": {"name": "q", "version": "2", "locations": []}}
          ],
          "source": {"type": "image", "target": {"userInput": "alpine:3.19"}},
          "descriptor": {"name": "grype", "version": "0.74.0"}
        }"#;
        let report = parse(Path::new("g.json"), text).unwrap();
        assert_eq!(report.artifact.as_deref(), Some("alpine:3.19"));
        let v = &report.vulnerabilities;
        assert_eq!(v.len(), 3);
        assert_eq!((v[0].location().as_str(), v[1].location().as_str()), ("/a (layer sha256:1)", "/b"));
        assert_eq!(v[0].title.as_deref(), Some("Bad thing."));
        assert_eq!(v[0].purl, None);
        assert_eq!((v[2].severity, v[2].fixed_versions.len()), (Severity::Unknown, 0));
        let directory = r#"{"matches": [], "source": {"type": "directory", "target": "."}}"#;
        assert_eq!(parse(Path::new("g.json"), directory).unwrap().artifact, None);
    }
}
