//! Trivy JSON, schema version 2: `Results[]` (one per target: the OS packages, each language
//! lock file) with `Vulnerabilities[]`.

use std::path::Path;

use serde::Deserialize;

use crate::GateError;
use crate::scan::{
    Parser, ScanFormat, ScanReport, TopLevel, Vulnerability, from_json, severity_of, split_versions,
};

pub(super) const PARSER: Parser = Parser { format: ScanFormat::Trivy, detect, parse };

fn detect(top: &TopLevel) -> bool {
    top.has("SchemaVersion") || (top.has("Results") && top.has("ArtifactName"))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Report {
    schema_version: Option<u64>,
    artifact_name: Option<String>,
    results: Option<Vec<Target>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Target {
    target: String,
    vulnerabilities: Option<Vec<Vuln>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Vuln {
    #[serde(rename = "VulnerabilityID")]
    id: String,
    pkg_name: String,
    pkg_path: Option<String>,
    pkg_identifier: Option<PkgIdentifier>,
    installed_version: Option<String>,
    fixed_version: Option<String>,
    severity: Option<String>,
    title: Option<String>,
    #[serde(rename = "PrimaryURL")]
    primary_url: Option<String>,
    layer: Option<Layer>,
}

#[derive(Deserialize)]
struct PkgIdentifier {
    #[serde(rename = "PURL")]
    purl: Option<String>,
}

#[derive(Deserialize)]
struct Layer {
    #[serde(rename = "DiffID")]
    diff_id: Option<String>,
}

fn parse(file: &Path, text: &str) -> Result<ScanReport, GateError> {
    let report: Report = from_json(file, text)?;
    if let Some(version) = report.schema_version.filter(|v| *v != 2) {
        return Err(GateError::Field {
            file: file.to_path_buf(),
            field: "SchemaVersion".to_owned(),
            message: format!("plumb reads Trivy's schema version 2, found {version}"),
        });
    }
    let mut vulnerabilities = Vec::new();
    for target in report.results.unwrap_or_default() {
        for vuln in target.vulnerabilities.unwrap_or_default() {
            vulnerabilities.push(normalize(&target.target, vuln));
        }
    }
    let artifact = report.artifact_name.filter(|name| !name.trim().is_empty());
    Ok(ScanReport { format: ScanFormat::Trivy, artifact, vulnerabilities })
}

fn normalize(target: &str, vuln: Vuln) -> Vulnerability {
    let (severity, severity_text) = severity_of(vuln.severity.as_deref());
    Vulnerability {
        id: vuln.id,
        package: vuln.pkg_name,
        version: vuln.installed_version.unwrap_or_default(),
        purl: vuln.pkg_identifier.and_then(|p| p.purl),
        severity,
        severity_text,
        fixed_versions: vuln.fixed_version.as_deref().map(split_versions).unwrap_or_default(),
        title: vuln.title,
        url: vuln.primary_url,
        target: target.to_owned(),
        path: vuln.pkg_path.filter(|p| !p.is_empty()),
        layer: vuln.layer.and_then(|layer| layer.diff_id).filter(|d| !d.is_empty()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scan::Severity;

    #[test]
    fn several_targets_layers_and_missing_fixes() {
        let text = r#"{
          "SchemaVersion": 2,
          "ArtifactName": "registry.example.com/app:1.0",
          "ArtifactType": "container_image",
          "Results": [
            {"Target": "app (debian 12.4)", "Class": "os-pkgs", "Type": "debian",
             "Vulnerabilities": [
               {"VulnerabilityID": "CVE-2024-0001", "PkgName": "openssl", "InstalledVersion": "3.0.11-1",
                "FixedVersion": "3.0.13-1, 3.1.5-1", "Severity": "CRITICAL", "Title": "t",
                "PkgIdentifier": {"PURL": "pkg:deb/debian/openssl@3.0.11-1"},
                "Layer": {"DiffID": "sha256:aaa"}},
               {"VulnerabilityID": "CVE-2024-0002", "PkgName": "zlib", "InstalledVersion": "1.2.13",
                "Severity": "SEVERE"}
             ]},
            {"Target": "app/go.sum", "Class": "lang-pkgs", "Type": "gomod"},
            {"Target": "Node.js", "Class": "lang-pkgs", "Type": "node-pkg", "Vulnerabilities": null,
             "Packages": []},
            {"Target": "Java", "Vulnerabilities": [
               {"VulnerabilityID": "GHSA-x", "PkgName": "log4j", "PkgPath": "app/lib/log4j.jar",
                "InstalledVersion": "2.14.0", "Severity": "HIGH"}]}
          ]
        }"#;
        let report = parse(Path::new("t.json"), text).unwrap();
        assert_eq!(report.artifact.as_deref(), Some("registry.example.com/app:1.0"));
        let v = &report.vulnerabilities;
        assert_eq!(v.len(), 3);
        assert_eq!(v[0].fixed_versions, ["3.0.13-1", "3.1.5-1"]);
        assert_eq!(v[0].location(), "app (debian 12.4) (layer sha256:aaa)");
        assert_eq!(v[0].purl.as_deref(), Some("pkg:deb/debian/openssl@3.0.11-1"));
        assert_eq!((v[1].severity, v[1].severity_text.as_deref()), (Severity::Unknown, Some("SEVERE")));
        assert!(v[1].fixed_versions.is_empty());
        assert_eq!(v[2].location(), "Java: app/lib/log4j.jar");
    }

    #[test]
    fn schema_problems_name_the_field() {
        let err = parse(Path::new("t.json"), r#"{"SchemaVersion": 1, "Results": []}"#).unwrap_err();
        assert_eq!(err.to_string(), "t.json: SchemaVersion: plumb reads Trivy's schema version 2, found 1");
        let text = "{\"SchemaVersion\": 2, \"Results\": [{\"Target\": \"a\",\n \"Vulnerabilities\": [{\"VulnerabilityID\": 7}]}]}";
        let err = parse(Path::new("t.json"), text).unwrap_err().to_string();
        assert!(
            err.starts_with("t.json: Results[0].Vulnerabilities[0].VulnerabilityID (line 2, column"),
            "{err}"
        );
        assert!(err.contains("invalid type: integer `7`, expected a string"), "{err}");
    }
}
