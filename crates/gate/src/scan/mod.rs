//! Scanner reports in, one normalized list of vulnerabilities out.
//!
//! Each format is one file with one [`Parser`] (how to recognise it, how to read it) and one
//! line in [`PARSERS`]. Reports are read leniently, as scanners write them: unknown fields are
//! ignored and optional fields may be absent, but a field that is present must hold what the
//! format documents, and the error says which one.

pub(crate) mod cyclonedx;
mod grype;
mod sarif;
mod trivy;

use std::collections::HashMap;
use std::fmt;
use std::path::Path;

use serde::Serialize;
use serde::de::IgnoredAny;

use crate::GateError;

/// Severity as scanners report it, ordered from least to most severe.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Severity {
    /// No severity given, or one no scanner documents: never silently treated as low.
    Unknown,
    /// Grype's "Negligible", CycloneDX's "info" and "none".
    Negligible,
    /// Low.
    Low,
    /// Medium (GitHub's "moderate").
    Medium,
    /// High.
    High,
    /// Critical.
    Critical,
}

impl Severity {
    /// Every severity, most severe first.
    pub const ALL: [Severity; 6] = [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
        Severity::Negligible,
        Severity::Unknown,
    ];

    /// Reads a scanner's severity word, case-insensitively; `None` for a word no scanner
    /// documents, which callers turn into [`Severity::Unknown`] and count.
    pub fn parse(word: &str) -> Option<Severity> {
        match word.trim().to_ascii_lowercase().as_str() {
            "critical" => Some(Severity::Critical),
            "high" => Some(Severity::High),
            "medium" | "moderate" => Some(Severity::Medium),
            "low" => Some(Severity::Low),
            "negligible" | "info" | "informational" | "none" => Some(Severity::Negligible),
            "unknown" => Some(Severity::Unknown),
            _ => None,
        }
    }

    /// The severity of a CVSS base score, with the bands of CVSS v3 (and GitHub's
    /// `security-severity`).
    pub fn from_score(score: f64) -> Severity {
        match score {
            s if s >= 9.0 => Severity::Critical,
            s if s >= 7.0 => Severity::High,
            s if s >= 4.0 => Severity::Medium,
            s if s > 0.0 => Severity::Low,
            _ => Severity::Negligible,
        }
    }

    /// The upper-case word, as Trivy prints it.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Critical => "CRITICAL",
            Severity::High => "HIGH",
            Severity::Medium => "MEDIUM",
            Severity::Low => "LOW",
            Severity::Negligible => "NEGLIGIBLE",
            Severity::Unknown => "UNKNOWN",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One vulnerability in one package, as one scanner reported it at one place.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Vulnerability {
    /// CVE, GHSA or the scanner's own id.
    pub id: String,
    /// The affected package's name.
    pub package: String,
    /// The installed version.
    pub version: String,
    /// The package URL, when the scanner gives one.
    pub purl: Option<String>,
    /// The severity the scanner chose.
    pub severity: Severity,
    /// The scanner's word when it was not one we know (kept to say why it is unknown).
    pub severity_text: Option<String>,
    /// Versions that fix it; empty when none is known.
    pub fixed_versions: Vec<String>,
    /// A one-line title.
    pub title: Option<String>,
    /// A link to the advisory.
    pub url: Option<String>,
    /// What was scanned where it was found: an OS, a lock file, an image, a file.
    #[serde(skip)]
    pub target: String,
    /// The file inside the target that holds the package (a JAR, a gemspec), if known.
    #[serde(skip)]
    pub path: Option<String>,
    /// The image layer (diff id) that added it, if known.
    #[serde(skip)]
    pub layer: Option<String>,
}

impl Vulnerability {
    /// Where it was found, for people: `target: path (layer …)`.
    pub fn location(&self) -> String {
        let mut location = match &self.path {
            Some(path) => format!("{}: {path}", self.target),
            None => self.target.clone(),
        };
        if let Some(layer) = &self.layer {
            location.push_str(&format!(" (layer {layer})"));
        }
        location
    }
}

#[cfg(test)]
impl Vulnerability {
    /// A HIGH vulnerability of `package` 1.0 in target `t`, for tests to adjust.
    pub(crate) fn sample(id: &str, package: &str) -> Vulnerability {
        Vulnerability {
            id: id.to_owned(),
            package: package.to_owned(),
            version: "1.0".to_owned(),
            purl: None,
            severity: Severity::High,
            severity_text: None,
            fixed_versions: Vec::new(),
            title: None,
            url: None,
            target: "t".to_owned(),
            path: None,
            layer: None,
        }
    }
}

/// A parsed report.
#[derive(Clone, Debug, PartialEq)]
pub struct ScanReport {
    /// The format it was read as.
    pub format: ScanFormat,
    /// The scanned artifact's name as the report gives it (an image reference), if any.
    pub artifact: Option<String>,
    /// Every vulnerability as reported, duplicates included.
    pub vulnerabilities: Vec<Vulnerability>,
}

/// The report formats plumb reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ScanFormat {
    /// Trivy JSON, schema version 2.
    Trivy,
    /// Grype JSON.
    Grype,
    /// SARIF 2.1.0 from any scanner.
    Sarif,
    /// CycloneDX JSON with `vulnerabilities`.
    Cyclonedx,
}

impl ScanFormat {
    /// The lower-case name used on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            ScanFormat::Trivy => "trivy",
            ScanFormat::Grype => "grype",
            ScanFormat::Sarif => "sarif",
            ScanFormat::Cyclonedx => "cyclonedx",
        }
    }
}

/// How one format is recognised and read.
pub struct Parser {
    /// The format.
    pub format: ScanFormat,
    /// Whether a document with these top-level keys is in this format.
    pub detect: fn(&TopLevel) -> bool,
    /// Reads the document.
    pub parse: fn(&Path, &str) -> Result<ScanReport, GateError>,
}

/// The registry of formats, tried in order by auto-detection.
pub const PARSERS: &[Parser] = &[trivy::PARSER, grype::PARSER, sarif::PARSER, cyclonedx::PARSER];

/// The top-level keys of a JSON object and the few string values detection needs.
#[derive(Debug, Default)]
pub struct TopLevel {
    keys: HashMap<String, Option<String>>,
}

impl TopLevel {
    /// Whether the key is present.
    pub fn has(&self, key: &str) -> bool {
        self.keys.contains_key(key)
    }

    /// The key's value when it is a string.
    pub fn text(&self, key: &str) -> Option<&str> {
        self.keys.get(key).and_then(|v| v.as_deref())
    }
}

/// A top-level value: strings are kept, everything else is skipped without being built
/// (an untagged enum would buffer the whole 50 MB `Results` array first).
enum Peek {
    Text(String),
    Other,
}

impl<'de> serde::Deserialize<'de> for Peek {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Peek, D::Error> {
        deserializer.deserialize_any(PeekVisitor)
    }
}

struct PeekVisitor;

impl<'de> serde::de::Visitor<'de> for PeekVisitor {
    type Value = Peek;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Peek, E> {
        Ok(Peek::Text(text.to_owned()))
    }

    fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<Peek, E> {
        Ok(Peek::Other)
    }

    fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<Peek, E> {
        Ok(Peek::Other)
    }

    fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<Peek, E> {
        Ok(Peek::Other)
    }

    fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<Peek, E> {
        Ok(Peek::Other)
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<Peek, E> {
        Ok(Peek::Other)
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, seq: A) -> Result<Peek, A::Error> {
        IgnoredAny.visit_seq(seq).map(|_| Peek::Other)
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<Peek, A::Error> {
        IgnoredAny.visit_map(map).map(|_| Peek::Other)
    }
}

/// Reads a report in the given format, or detects it (`None`). A file that is not JSON is a
/// syntax error with its line and column; an empty file is refused, because a scanner that
/// crashed writes nothing and a gate must not pass on that.
pub fn parse(file: &Path, text: &str, format: Option<ScanFormat>) -> Result<ScanReport, GateError> {
    if text.trim().is_empty() {
        return Err(GateError::Field {
            file: file.to_path_buf(),
            field: "(file)".to_owned(),
            message: "the file is empty; a scanner writes a JSON document even when it finds nothing"
                .to_owned(),
        });
    }
    let top = top_level(file, text)?;
    let parser = match format {
        // A named format must still look like one: a Trivy report read as Grype would
        // otherwise be an empty Grype report, and pass.
        Some(format) => match PARSERS.iter().find(|p| p.format == format) {
            Some(parser) if !(parser.detect)(&top) => {
                return Err(GateError::Field {
                    file: file.to_path_buf(),
                    field: "(document)".to_owned(),
                    message: format!(
                        "not a {} report: its top-level keys are not that format's",
                        format.as_str()
                    ),
                });
            }
            found => found,
        },
        None => PARSERS.iter().find(|p| (p.detect)(&top)),
    };
    let Some(parser) = parser else {
        return Err(GateError::Field {
            file: file.to_path_buf(),
            field: "(document)".to_owned(),
            message: "not a Trivy, Grype, SARIF or CycloneDX report (no SchemaVersion+Results, \
                      matches, runs or bomFormat key); name the format with --format"
                .to_owned(),
        });
    };
    (parser.parse)(file, text)
}

/// One pass over the document that checks it is JSON and collects its top-level keys.
fn top_level(file: &Path, text: &str) -> Result<TopLevel, GateError> {
    let value: serde_json::Value = match serde_json::from_str::<HashMap<String, Peek>>(text) {
        Ok(map) => {
            let keys = map
                .into_iter()
                .map(|(k, v)| (k, if let Peek::Text(text) = v { Some(text) } else { None }))
                .collect();
            return Ok(TopLevel { keys });
        }
        Err(err) if err.is_data() => serde_json::from_str(text).map_err(|err| GateError::json(file, &err))?,
        // Skipping values is fast but words some errors poorly ("key must be a string" for a
        // trailing comma); a full parse, only now that the text is known to be broken, says it
        // plainly.
        Err(err) => {
            let plain = serde_json::from_str::<serde_json::Value>(text).err().unwrap_or(err);
            return Err(GateError::json(file, &plain));
        }
    };
    Err(GateError::Field {
        file: file.to_path_buf(),
        field: "(document)".to_owned(),
        message: format!("expected a JSON object, found {}", kind(&value)),
    })
}

fn kind(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

/// Reads a typed document. Errors name the file, the field path (`Results[0].Vulnerabilities`),
/// the line and column. The path is tracked only on a second read after a failure, so the
/// common case pays nothing for it.
pub(crate) fn from_json<'a, T: serde::Deserialize<'a>>(file: &Path, text: &'a str) -> Result<T, GateError> {
    serde_json::from_str(text).map_err(|err| {
        let mut de = serde_json::Deserializer::from_str(text);
        match serde_path_to_error::deserialize::<_, T>(&mut de) {
            Err(traced) => GateError::schema(file, &traced.path().to_string(), traced.inner()),
            Ok(_) => GateError::schema(file, "(document)", &err),
        }
    })
}

/// A severity from a scanner's word, keeping an unrecognised word.
fn severity_of(word: Option<&str>) -> (Severity, Option<String>) {
    match word {
        None => (Severity::Unknown, None),
        Some(word) => match Severity::parse(word) {
            Some(severity) => (severity, None),
            None => (Severity::Unknown, Some(word.to_owned())),
        },
    }
}

/// Fixed versions from a comma-separated list (Trivy's `FixedVersion`).
fn split_versions(text: &str) -> Vec<String> {
    text.split(',').map(str::trim).filter(|v| !v.is_empty()).map(str::to_owned).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str, expect: Result<ScanFormat, &str>) {
        let got = parse(Path::new("r.json"), text, None).map(|r| r.format).map_err(|e| e.to_string());
        match expect {
            Ok(format) => assert_eq!(got.unwrap(), format, "{text}"),
            Err(message) => {
                let err = got.unwrap_err();
                assert!(err.contains(message), "{text}: {err}");
            }
        }
    }

    #[test]
    fn detection_and_refusals() {
        check(r#"{"SchemaVersion": 2, "ArtifactName": "a", "Results": []}"#, Ok(ScanFormat::Trivy));
        check(r#"{"SchemaVersion": 2}"#, Ok(ScanFormat::Trivy));
        check(r#"{"matches": [], "descriptor": {"name": "grype"}}"#, Ok(ScanFormat::Grype));
        check(r#"{"version": "2.1.0", "runs": []}"#, Ok(ScanFormat::Sarif));
        check(r#"{"bomFormat": "CycloneDX", "specVersion": "1.5"}"#, Ok(ScanFormat::Cyclonedx));
        check("", Err("r.json: (file): the file is empty"));
        check("[]", Err("expected a JSON object, found an array"));
        check("{\"a\": 1,\n}", Err("r.json:2:1: not valid JSON: trailing comma"));
        check("{\"a\": [{\"b\": 1,}]}", Err("r.json:1:16: not valid JSON: trailing comma"));
        check(
            r#"{"Results": 1, "x": [1, {"y": null}]}"#,
            Err("not a Trivy, Grype, SARIF or CycloneDX report"),
        );
    }

    #[test]
    fn severities() {
        let rows = [
            ("CRITICAL", Some(Severity::Critical)),
            ("Moderate", Some(Severity::Medium)),
            ("Negligible", Some(Severity::Negligible)),
            ("info", Some(Severity::Negligible)),
            ("UNKNOWN", Some(Severity::Unknown)),
            ("IMPORTANT", None),
        ];
        for (word, expect) in rows {
            assert_eq!(Severity::parse(word), expect, "{word}");
        }
        assert_eq!(Severity::from_score(9.8), Severity::Critical);
        assert_eq!(Severity::from_score(7.0), Severity::High);
        assert_eq!(Severity::from_score(5.3), Severity::Medium);
        assert_eq!(Severity::from_score(0.1), Severity::Low);
        assert_eq!(Severity::from_score(0.0), Severity::Negligible);
    }
}
