//! VEX: statements that a product is `not_affected` by a vulnerability, or that it is `fixed`,
//! which stop the vulnerability from blocking. Two formats, detected by content:
//!
//! - OpenVEX (`statements[]` with `vulnerability`, `products`, `subcomponents`, `status`),
//!   v0.2 and the older v0.0 shape (plain strings).
//! - CycloneDX VEX (`vulnerabilities[]` with `analysis.state` and `affects[].ref`): states
//!   `not_affected` and `false_positive` count as not affected, `resolved` and
//!   `resolved_with_pedigree` as fixed.
//!
//! A statement applies to a vulnerability with its id (or an alias); when it lists
//! subcomponents, only to packages with one of those package URLs (qualifiers ignored, and
//! the version too when the statement's URL has none). Products are not matched against the
//! image: the VEX file given is taken to be about the image being gated. When several
//! statements apply, the newest wins (by timestamp, then by order in the file), as OpenVEX
//! prescribes.

use std::path::Path;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::GateError;
use crate::scan::Vulnerability;
use crate::scan::cyclonedx;

/// What a statement says.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum VexStatus {
    /// The product is not affected: the vulnerability does not block.
    NotAffected,
    /// The product contains a fix: the vulnerability does not block.
    Fixed,
    /// The product is affected.
    Affected,
    /// Not known yet.
    UnderInvestigation,
}

impl VexStatus {
    /// Whether the statement stops the vulnerability from blocking.
    pub fn suppresses(self) -> bool {
        matches!(self, VexStatus::NotAffected | VexStatus::Fixed)
    }

    /// The OpenVEX word.
    pub fn as_str(self) -> &'static str {
        match self {
            VexStatus::NotAffected => "not_affected",
            VexStatus::Fixed => "fixed",
            VexStatus::Affected => "affected",
            VexStatus::UnderInvestigation => "under_investigation",
        }
    }
}

/// One statement, normalized.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct VexStatement {
    /// Vulnerability ids it is about (the name and its aliases).
    pub ids: Vec<String>,
    /// Package URLs it is limited to; empty means every package.
    pub subcomponents: Vec<String>,
    /// What it says.
    pub status: VexStatus,
    /// Why (justification, impact statement or analysis detail).
    pub justification: Option<String>,
    /// Where it is written: `file: statements[i]`.
    pub source: String,
    #[serde(skip)]
    timestamp: Option<Timestamp>,
}

/// The statements of one or more VEX documents.
#[derive(Clone, Debug, Default)]
pub struct Vex {
    statements: Vec<VexStatement>,
}

impl Vex {
    /// Reads a VEX document (OpenVEX or CycloneDX), adding its statements.
    pub fn read(&mut self, file: &Path, text: &str) -> Result<(), GateError> {
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|err| GateError::json(file, &err))?;
        if value.get("bomFormat").is_some() {
            self.read_cyclonedx(file, text)
        } else if value.get("statements").is_some() {
            self.read_openvex(file, text)
        } else {
            Err(GateError::Field {
                file: file.to_path_buf(),
                field: "(document)".to_owned(),
                message: "not an OpenVEX document (statements) or CycloneDX VEX (bomFormat)".to_owned(),
            })
        }
    }

    /// The statement that decides this vulnerability's VEX status, if any applies.
    pub fn decide(&self, vuln: &Vulnerability) -> Option<&VexStatement> {
        let mut applicable: Vec<(usize, &VexStatement)> =
            self.statements.iter().enumerate().filter(|(_, s)| applies(s, vuln)).collect();
        applicable.sort_by_key(|(order, s)| (s.timestamp, *order));
        applicable.last().map(|(_, s)| *s)
    }

    /// How many statements were read.
    pub fn len(&self) -> usize {
        self.statements.len()
    }

    /// Whether no statement was read.
    pub fn is_empty(&self) -> bool {
        self.statements.is_empty()
    }

    fn read_openvex(&mut self, file: &Path, text: &str) -> Result<(), GateError> {
        let doc: OpenVex = crate::scan::from_json(file, text)?;
        for (i, statement) in doc.statements.into_iter().enumerate() {
            let field = || format!("statements[{i}].status");
            let status = match statement.status.as_str() {
                "not_affected" => VexStatus::NotAffected,
                "fixed" => VexStatus::Fixed,
                "affected" => VexStatus::Affected,
                "under_investigation" => VexStatus::UnderInvestigation,
                other => {
                    return Err(GateError::Field {
                        file: file.to_path_buf(),
                        field: field(),
                        message: format!(
                            "expected not_affected, fixed, affected or under_investigation, found {other:?}"
                        ),
                    });
                }
            };
            let ids = match statement.vulnerability {
                OneVulnerability::Name(name) => vec![name],
                OneVulnerability::Object { name, aliases } => std::iter::once(name).chain(aliases).collect(),
            };
            let mut subcomponents: Vec<String> =
                statement.subcomponents.into_iter().map(Reference::id).collect();
            for product in statement.products {
                if let Reference::Object { subcomponents: nested, .. } = product {
                    subcomponents.extend(nested.into_iter().map(Reference::id));
                }
            }
            let justification = statement.justification.or(statement.impact_statement);
            let timestamp =
                statement.timestamp.as_ref().or(doc.timestamp.as_ref()).and_then(|t| t.parse().ok());
            let source = format!("{}: statements[{i}]", file.display());
            self.statements.push(VexStatement {
                ids,
                subcomponents,
                status,
                justification,
                source,
                timestamp,
            });
        }
        Ok(())
    }

    fn read_cyclonedx(&mut self, file: &Path, text: &str) -> Result<(), GateError> {
        let bom = cyclonedx::read_bom(file, text)?;
        for (i, vuln) in bom.vulnerabilities.iter().enumerate() {
            let Some(analysis) = &vuln.analysis else { continue };
            let status = match analysis.state.as_deref() {
                Some("not_affected" | "false_positive") => VexStatus::NotAffected,
                Some("resolved" | "resolved_with_pedigree") => VexStatus::Fixed,
                Some("exploitable") => VexStatus::Affected,
                _ => VexStatus::UnderInvestigation,
            };
            let subcomponents = bom.purls_of_refs(vuln.affects.iter().map(|a| a.reference.as_str()));
            self.statements.push(VexStatement {
                ids: vec![vuln.id.clone()],
                subcomponents,
                status,
                justification: analysis.justification.clone().or_else(|| analysis.detail.clone()),
                source: format!("{}: vulnerabilities[{i}]", file.display()),
                timestamp: None,
            });
        }
        Ok(())
    }
}

fn applies(statement: &VexStatement, vuln: &Vulnerability) -> bool {
    statement.ids.iter().any(|id| id == &vuln.id)
        && (statement.subcomponents.is_empty()
            || statement.subcomponents.iter().any(|purl| same_package(purl, vuln)))
}

/// Compares package URLs without qualifiers or subpath; without a version in the statement,
/// any version of the package matches. A vulnerability without a purl is compared by name.
fn same_package(statement_purl: &str, vuln: &Vulnerability) -> bool {
    let base = |purl: &str| purl.split(['?', '#']).next().unwrap_or_default().to_owned();
    let wanted = base(statement_purl);
    let versioned = wanted.rsplit('/').next().is_some_and(|last| last.contains('@'));
    match &vuln.purl {
        Some(purl) => {
            let have = base(purl);
            if versioned { have == wanted } else { have.split('@').next() == Some(wanted.as_str()) }
        }
        None => {
            let last = wanted.rsplit('/').next().unwrap_or_default();
            let (name, version) = last.split_once('@').unwrap_or((last, ""));
            name == vuln.package && (version.is_empty() || version == vuln.version)
        }
    }
}

#[derive(Deserialize)]
struct OpenVex {
    timestamp: Option<String>,
    statements: Vec<Statement>,
}

#[derive(Deserialize)]
struct Statement {
    vulnerability: OneVulnerability,
    #[serde(default)]
    products: Vec<Reference>,
    #[serde(default)]
    subcomponents: Vec<Reference>,
    status: String,
    justification: Option<String>,
    impact_statement: Option<String>,
    timestamp: Option<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum OneVulnerability {
    Name(String),
    Object {
        name: String,
        #[serde(default)]
        aliases: Vec<String>,
    },
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Reference {
    Id(String),
    Object {
        #[serde(rename = "@id")]
        id: String,
        #[serde(default)]
        subcomponents: Vec<Reference>,
    },
}

impl Reference {
    fn id(self) -> String {
        match self {
            Reference::Id(id) | Reference::Object { id, .. } => id,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vuln(id: &str, package: &str, version: &str, purl: Option<&str>) -> Vulnerability {
        let (version, purl) = (version.to_owned(), purl.map(str::to_owned));
        Vulnerability { version, purl, ..Vulnerability::sample(id, package) }
    }

    fn check(vex: &Vex, v: &Vulnerability, expect: Option<VexStatus>) {
        assert_eq!(vex.decide(v).map(|s| s.status), expect, "{} {}", v.id, v.package);
    }

    #[test]
    fn openvex_statements_and_precedence() {
        let text = r#"{
          "@context": "https://openvex.dev/ns/v0.2.0", "@id": "x", "author": "a", "version": 1,
          "timestamp": "2024-01-01T00:00:00Z",
          "statements": [
            {"vulnerability": {"name": "CVE-1", "aliases": ["GHSA-1"]},
             "products": [{"@id": "pkg:oci/app", "subcomponents": [{"@id": "pkg:deb/debian/openssl@3.0.11?arch=amd64"}]}],
             "status": "not_affected", "justification": "vulnerable_code_not_in_execute_path"},
            {"vulnerability": {"name": "CVE-2"}, "products": [{"@id": "pkg:oci/app"}], "status": "fixed"},
            {"vulnerability": {"name": "CVE-2"}, "products": [{"@id": "pkg:oci/app"}], "status": "affected",
             "timestamp": "2023-01-01T00:00:00Z"},
            {"vulnerability": {"name": "CVE-3"}, "products": [{"@id": "pkg:oci/app"}], "status": "fixed"},
            {"vulnerability": {"name": "CVE-3"}, "products": [{"@id": "pkg:oci/app"}], "status": "under_investigation"}
          ]
        }"#;
        let mut vex = Vex::default();
        vex.read(Path::new("v.json"), text).unwrap();
        let openssl = Some("pkg:deb/debian/openssl@3.0.11?distro=debian-12");
        check(&vex, &vuln("CVE-1", "openssl", "3.0.11", openssl), Some(VexStatus::NotAffected));
        check(&vex, &vuln("GHSA-1", "openssl", "3.0.11", openssl), Some(VexStatus::NotAffected));
        check(&vex, &vuln("CVE-1", "openssl", "3.0.12", Some("pkg:deb/debian/openssl@3.0.12")), None);
        check(&vex, &vuln("CVE-1", "openssl", "3.0.11", None), Some(VexStatus::NotAffected));
        check(&vex, &vuln("CVE-2", "zlib", "1", None), Some(VexStatus::Fixed));
        check(&vex, &vuln("CVE-3", "zlib", "1", None), Some(VexStatus::UnderInvestigation));
        check(&vex, &vuln("CVE-4", "zlib", "1", None), None);
        let justification =
            vex.decide(&vuln("CVE-1", "openssl", "3.0.11", None)).unwrap().justification.clone();
        assert_eq!(justification.as_deref(), Some("vulnerable_code_not_in_execute_path"));
    }

    #[test]
    fn openvex_v0_0_and_cyclonedx_vex() {
        let old = r#"{"statements": [{"vulnerability": "CVE-9", "products": ["pkg:oci/app"],
            "subcomponents": ["pkg:npm/lodash"], "status": "not_affected"}]}"#;
        let cdx = r#"{"bomFormat": "CycloneDX", "specVersion": "1.5",
          "components": [{"bom-ref": "c1", "name": "zlib", "purl": "pkg:deb/debian/zlib@1.2"}],
          "vulnerabilities": [
            {"id": "CVE-5", "analysis": {"state": "false_positive", "detail": "not zlib"}, "affects": [{"ref": "c1"}]},
            {"id": "CVE-6", "analysis": {"state": "resolved"}, "affects": [{"ref": "pkg:deb/debian/zlib@1.2"}]},
            {"id": "CVE-7", "analysis": {"state": "exploitable"}, "affects": [{"ref": "c1"}]},
            {"id": "CVE-8", "affects": [{"ref": "c1"}]}
          ]}"#;
        let mut vex = Vex::default();
        vex.read(Path::new("old.json"), old).unwrap();
        vex.read(Path::new("cdx.json"), cdx).unwrap();
        assert_eq!(vex.len(), 4);
        check(
            &vex,
            &vuln("CVE-9", "lodash", "4.17.20", Some("pkg:npm/lodash@4.17.20")),
            Some(VexStatus::NotAffected),
        );
        let zlib = Some("pkg:deb/debian/zlib@1.2");
        check(&vex, &vuln("CVE-5", "zlib", "1.2", zlib), Some(VexStatus::NotAffected));
        check(&vex, &vuln("CVE-6", "zlib", "1.2", zlib), Some(VexStatus::Fixed));
        check(&vex, &vuln("CVE-7", "zlib", "1.2", zlib), Some(VexStatus::Affected));
        check(&vex, &vuln("CVE-8", "zlib", "1.2", zlib), None);
    }

    #[test]
    fn bad_documents_say_what_and_where() {
        let mut vex = Vex::default();
        let err = vex
            .read(Path::new("v.json"), r#"{"statements": [{"vulnerability": "CVE-1", "status": "maybe"}]}"#);
        assert_eq!(
            err.unwrap_err().to_string(),
            "v.json: statements[0].status: expected not_affected, fixed, affected or under_investigation, found \"maybe\""
        );
        let err = vex.read(Path::new("v.json"), "{\"a\": 1}").unwrap_err();
        assert!(err.to_string().contains("not an OpenVEX document"), "{err}");
        let err = vex.read(Path::new("v.json"), "{").unwrap_err();
        assert!(err.to_string().starts_with("v.json:1:1: not valid JSON"), "{err}");
    }
}
