//! CycloneDX JSON (1.4 and later) with `vulnerabilities[]`: each names the components it
//! affects by `bom-ref`. The severity is the rating from the vulnerability's own source when
//! it has one (that is the one Trivy prints), else the highest rating: a gate must not pick
//! the mildest opinion.

use std::collections::HashMap;
use std::path::Path;

use serde::Deserialize;

use crate::GateError;
use crate::scan::{Parser, ScanFormat, ScanReport, Severity, TopLevel, Vulnerability, from_json};

pub(super) const PARSER: Parser = Parser { format: ScanFormat::Cyclonedx, detect, parse };

fn detect(top: &TopLevel) -> bool {
    top.text("bomFormat").is_some_and(|f| f.eq_ignore_ascii_case("CycloneDX"))
}

#[derive(Deserialize)]
pub(crate) struct Bom {
    metadata: Option<Metadata>,
    #[serde(default)]
    components: Vec<Component>,
    #[serde(default)]
    pub(crate) vulnerabilities: Vec<Vuln>,
}

#[derive(Deserialize)]
struct Metadata {
    component: Option<Component>,
}

#[derive(Deserialize)]
struct Component {
    #[serde(rename = "bom-ref")]
    bom_ref: Option<String>,
    name: String,
    version: Option<String>,
    purl: Option<String>,
    #[serde(default)]
    properties: Vec<Property>,
    #[serde(default)]
    components: Vec<Component>,
}

#[derive(Deserialize)]
struct Property {
    name: String,
    value: Option<String>,
}

#[derive(Deserialize)]
pub(crate) struct Vuln {
    pub(crate) id: String,
    source: Option<Source>,
    #[serde(default)]
    ratings: Vec<Rating>,
    description: Option<String>,
    recommendation: Option<String>,
    #[serde(default)]
    pub(crate) affects: Vec<Affects>,
    pub(crate) analysis: Option<Analysis>,
}

#[derive(Deserialize)]
struct Source {
    name: Option<String>,
    url: Option<String>,
}

#[derive(Deserialize)]
struct Rating {
    source: Option<Source>,
    score: Option<f64>,
    severity: Option<String>,
}

#[derive(Deserialize)]
pub(crate) struct Affects {
    #[serde(rename = "ref")]
    pub(crate) reference: String,
    #[serde(default)]
    versions: Vec<AffectedVersion>,
}

#[derive(Deserialize)]
struct AffectedVersion {
    version: Option<String>,
    range: Option<String>,
    status: Option<String>,
}

/// CycloneDX's VEX fields (read by `vex`).
#[derive(Deserialize)]
pub(crate) struct Analysis {
    pub(crate) state: Option<String>,
    pub(crate) justification: Option<String>,
    pub(crate) detail: Option<String>,
}

/// Reads a CycloneDX document (also used for CycloneDX VEX files).
pub(crate) fn read_bom(file: &Path, text: &str) -> Result<Bom, GateError> {
    from_json(file, text)
}

impl Bom {
    /// Components by `bom-ref`, nested ones included.
    fn components_by_ref(&self) -> HashMap<&str, &Component> {
        let mut by_ref = HashMap::new();
        let mut stack: Vec<&Component> = self.components.iter().collect();
        while let Some(component) = stack.pop() {
            if let Some(reference) = &component.bom_ref {
                by_ref.insert(reference.as_str(), component);
            }
            stack.extend(&component.components);
        }
        by_ref
    }

    /// The package URL a vulnerability's `affects[].ref` stands for: the component's purl,
    /// else the reference itself (VEX documents often reference purls directly).
    pub(crate) fn purls_of_refs<'a>(&'a self, refs: impl Iterator<Item = &'a str>) -> Vec<String> {
        let by_ref = self.components_by_ref();
        refs.map(|r| by_ref.get(r).and_then(|c| c.purl.clone()).unwrap_or_else(|| r.to_owned())).collect()
    }
}

fn parse(file: &Path, text: &str) -> Result<ScanReport, GateError> {
    let bom = read_bom(file, text)?;
    let by_ref = bom.components_by_ref();
    let artifact = bom.metadata.as_ref().and_then(|m| m.component.as_ref()).map(|c| c.name.clone());
    let scanned = artifact.clone().unwrap_or_else(|| "(bom)".to_owned());
    let mut vulnerabilities = Vec::new();
    for vuln in &bom.vulnerabilities {
        let severity = severity(vuln);
        for affects in &vuln.affects {
            let component = by_ref.get(affects.reference.as_str()).copied();
            let (package, version, purl) = match component {
                Some(c) => (c.name.clone(), c.version.clone().unwrap_or_default(), c.purl.clone()),
                None => package_of_ref(&affects.reference),
            };
            vulnerabilities.push(Vulnerability {
                id: vuln.id.clone(),
                package,
                version,
                purl,
                severity: severity.0,
                severity_text: severity.1.clone(),
                fixed_versions: fixed_versions(vuln, affects),
                title: vuln.description.as_deref().and_then(|d| d.lines().next()).map(str::to_owned),
                url: vuln.source.as_ref().and_then(|s| s.url.clone()),
                target: scanned.clone(),
                path: component.and_then(|c| property(c, "aquasecurity:trivy:FilePath")),
                layer: component.and_then(|c| property(c, "aquasecurity:trivy:LayerDiffID")),
            });
        }
    }
    Ok(ScanReport { format: ScanFormat::Cyclonedx, artifact, vulnerabilities })
}

/// A `bom-ref` that is not a component of the document is usually a package URL.
fn package_of_ref(reference: &str) -> (String, String, Option<String>) {
    let Some(rest) = reference.strip_prefix("pkg:") else {
        return (reference.to_owned(), String::new(), None);
    };
    let path = rest.split(['?', '#']).next().unwrap_or(rest);
    let (path, version) = path.rsplit_once('@').unwrap_or((path, ""));
    let name = path.rsplit('/').next().unwrap_or(path);
    (name.to_owned(), version.to_owned(), Some(reference.to_owned()))
}

/// Trivy records where a package was found in component properties.
fn property(component: &Component, name: &str) -> Option<String> {
    component.properties.iter().find(|p| p.name == name).and_then(|p| p.value.clone())
}

fn severity(vuln: &Vuln) -> (Severity, Option<String>) {
    let source = vuln.source.as_ref().and_then(|s| s.name.as_deref());
    let rated = |rating: &Rating| -> Option<Severity> {
        match rating.severity.as_deref().map(Severity::parse) {
            Some(Some(Severity::Unknown)) | None => rating.score.map(Severity::from_score),
            Some(parsed) => parsed,
        }
    };
    let own = vuln
        .ratings
        .iter()
        .filter(|r| source.is_some() && r.source.as_ref().and_then(|s| s.name.as_deref()) == source)
        .filter_map(rated)
        .max();
    if let Some(severity) = own.or_else(|| vuln.ratings.iter().filter_map(rated).max()) {
        return (severity, None);
    }
    let words = vuln.ratings.iter().filter_map(|r| r.severity.clone()).collect::<Vec<_>>().join(", ");
    (Severity::Unknown, (!words.is_empty()).then_some(words))
}

/// `unaffected` versions of the affected component, else Trivy's "Upgrade P to version V".
fn fixed_versions(vuln: &Vuln, affects: &Affects) -> Vec<String> {
    let unaffected: Vec<String> = affects
        .versions
        .iter()
        .filter(|v| v.status.as_deref() == Some("unaffected"))
        .filter_map(|v| v.version.clone().or_else(|| v.range.clone()))
        .collect();
    if !unaffected.is_empty() {
        return unaffected;
    }
    vuln.recommendation
        .as_deref()
        .and_then(|r| r.split_once(" to version "))
        .map(|(_, versions)| crate::scan::split_versions(versions))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn components_ratings_and_fixes() {
        let text = r#"{
          "bomFormat": "CycloneDX", "specVersion": "1.5",
          "metadata": {"component": {"bom-ref": "root", "type": "container", "name": "app:1"}},
          "components": [
            {"bom-ref": "os", "type": "operating-system", "name": "debian", "components": [
              {"bom-ref": "pkg:deb/debian/zlib@1.2", "name": "zlib", "version": "1.2",
               "purl": "pkg:deb/debian/zlib@1.2",
               "properties": [{"name": "aquasecurity:trivy:LayerDiffID", "value": "sha256:9"}]}]}
          ],
          "vulnerabilities": [
            {"id": "CVE-1", "source": {"name": "debian"},
             "ratings": [{"source": {"name": "amazon"}, "severity": "medium"},
                         {"source": {"name": "nvd"}, "score": 9.8, "severity": "critical"}],
             "recommendation": "Upgrade zlib to version 1.3, 1.4",
             "affects": [{"ref": "pkg:deb/debian/zlib@1.2"}, {"ref": "pkg:npm/left-pad@1.0.0"}]},
            {"id": "CVE-2", "source": {"name": "ubuntu"},
             "ratings": [{"source": {"name": "nvd"}, "severity": "high"}, {"source": {"name": "ubuntu"}, "severity": "low"}],
             "affects": [{"ref": "pkg:deb/debian/zlib@1.2", "versions": [{"version": "1.5", "status": "unaffected"}]}]},
            {"id": "CVE-3", "ratings": [{"severity": "important"}], "affects": [{"ref": "other"}]}
          ]
        }"#;
        let report = parse(Path::new("c.json"), text).unwrap();
        assert_eq!(report.artifact.as_deref(), Some("app:1"));
        let v = &report.vulnerabilities;
        assert_eq!(
            (v[0].severity, v[0].package.as_str(), v[0].version.as_str()),
            (Severity::Critical, "zlib", "1.2")
        );
        assert_eq!(v[0].location(), "app:1 (layer sha256:9)");
        assert_eq!(v[0].fixed_versions, ["1.3", "1.4"]);
        assert_eq!(
            (v[1].package.as_str(), v[1].version.as_str(), v[1].location().as_str()),
            ("left-pad", "1.0.0", "app:1")
        );
        assert_eq!((v[2].severity, v[2].fixed_versions.clone()), (Severity::Low, vec!["1.5".to_owned()]));
        assert_eq!((v[3].severity, v[3].severity_text.as_deref()), (Severity::Unknown, Some("important")));
    }
}
