//! Trivy's ignore files, read as Trivy reads them, so teams keep the files they have.
//!
//! - `.trivyignore`: one id per line; `#` starts a comment line; an optional
//!   `exp:YYYY-MM-DD` field after the id sets an expiry date.
//! - `.trivyignore.yaml` (chosen by the `.yaml`/`.yml` extension): `vulnerabilities:` entries
//!   with `id`, and optionally `paths` (globs over the package's file or target), `purls`,
//!   `expired_at` and `statement`. Other sections (`misconfigurations`, `secrets`, `licenses`)
//!   are accepted and do not apply to vulnerabilities.
//!
//! As in Trivy, an entry stops applying at the start (00:00 UTC) of its expiry date. Unlike
//! Trivy, an expired entry is not silently dropped: it is kept and reported as expired.

use std::path::Path;

use jiff::Timestamp;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use crate::GateError;
use crate::scan::Vulnerability;

/// One ignore entry.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct IgnoreRule {
    /// The vulnerability id it ignores.
    pub id: String,
    /// Globs over the package's path (or its target); empty means anywhere.
    pub paths: Vec<String>,
    /// Package URLs it is limited to; empty means any package.
    pub purls: Vec<String>,
    /// When it stops applying.
    pub expires: Option<Expiry>,
    /// Why it was accepted.
    pub statement: Option<String>,
    /// Where it is written: `file:line` or `file: vulnerabilities[i]`.
    pub source: String,
}

/// An expiry as written (a date, or a full timestamp in YAML) and the instant it takes effect.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Expiry {
    /// As written in the file.
    pub text: String,
    /// The instant the entry stops applying.
    #[serde(skip)]
    pub at: Timestamp,
}

impl IgnoreRule {
    /// Whether the entry has stopped applying at `now`.
    pub fn is_expired(&self, now: Timestamp) -> bool {
        self.expires.as_ref().is_some_and(|e| e.at <= now)
    }

    /// Whether the entry is about this vulnerability (expiry aside).
    pub fn matches(&self, vuln: &Vulnerability) -> bool {
        if self.id != vuln.id {
            return false;
        }
        let path_ok = self.paths.is_empty()
            || self.paths.iter().any(|glob| {
                vuln.path.as_deref().is_some_and(|p| glob_match(glob, p)) || glob_match(glob, &vuln.target)
            });
        let purl_ok = self.purls.is_empty()
            || vuln.purl.as_deref().is_some_and(|purl| self.purls.iter().any(|p| purl_matches(p, purl)));
        path_ok && purl_ok
    }
}

/// Reads an ignore file; the format follows the extension, as in Trivy.
pub fn parse(file: &Path, text: &str) -> Result<Vec<IgnoreRule>, GateError> {
    let yaml =
        file.extension().is_some_and(|e| e.eq_ignore_ascii_case("yaml") || e.eq_ignore_ascii_case("yml"));
    if yaml { parse_yaml(file, text) } else { parse_plain(file, text) }
}

fn parse_plain(file: &Path, text: &str) -> Result<Vec<IgnoreRule>, GateError> {
    let mut rules = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let line_no = index + 1;
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut fields = line.split_whitespace();
        let id = fields.next().unwrap_or_default().to_owned();
        let mut expires = None;
        for field in fields {
            if let Some(date) = field.strip_prefix("exp:") {
                expires = Some(expiry(date).ok_or_else(|| GateError::Field {
                    file: file.to_path_buf(),
                    field: format!("line {line_no}"),
                    message: format!("exp:{date} is not a date of the form exp:2025-12-31"),
                })?);
            }
        }
        let source = format!("{}:{line_no}", file.display());
        rules.push(IgnoreRule { id, paths: Vec::new(), purls: Vec::new(), expires, statement: None, source });
    }
    Ok(rules)
}

#[derive(Deserialize)]
struct YamlFile {
    #[serde(default)]
    vulnerabilities: Vec<YamlEntry>,
    #[serde(default, rename = "misconfigurations")]
    _misconfigurations: Option<yaml_serde::Value>,
    #[serde(default, rename = "secrets")]
    _secrets: Option<yaml_serde::Value>,
    #[serde(default, rename = "licenses")]
    _licenses: Option<yaml_serde::Value>,
}

/// Unknown keys are refused: a misspelt `expired_at` would otherwise ignore forever.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct YamlEntry {
    id: String,
    #[serde(default)]
    paths: Vec<String>,
    #[serde(default)]
    purls: Vec<String>,
    expired_at: Option<yaml_serde::Value>,
    statement: Option<String>,
}

fn parse_yaml(file: &Path, text: &str) -> Result<Vec<IgnoreRule>, GateError> {
    if text.trim().is_empty() {
        return Ok(Vec::new());
    }
    let parsed: YamlFile = yaml_serde::from_str(text).map_err(|err| {
        let (line, column) = err.location().map_or((0, 0), |l| (l.line(), l.column()));
        GateError::Syntax { file: file.to_path_buf(), line, column, message: err.to_string() }
    })?;
    let mut rules = Vec::new();
    for (i, entry) in parsed.vulnerabilities.into_iter().enumerate() {
        let field = format!("vulnerabilities[{i}].expired_at");
        let expires = match &entry.expired_at {
            None => None,
            Some(value) => {
                let text = yaml_text(value);
                Some(expiry(&text).ok_or_else(|| GateError::Field {
                    file: file.to_path_buf(),
                    field,
                    message: format!("{text:?} is not a date (2025-12-31) or an RFC 3339 timestamp"),
                })?)
            }
        };
        rules.push(IgnoreRule {
            id: entry.id,
            paths: entry.paths,
            purls: entry.purls,
            expires,
            statement: entry.statement,
            source: format!("{}: vulnerabilities[{i}]", file.display()),
        });
    }
    Ok(rules)
}

fn yaml_text(value: &yaml_serde::Value) -> String {
    match value {
        yaml_serde::Value::String(s) => s.clone(),
        other => yaml_serde::to_string(other).unwrap_or_default().trim().to_owned(),
    }
}

/// A date means its first instant (UTC), as Trivy parses it; a timestamp means itself.
fn expiry(text: &str) -> Option<Expiry> {
    let at = match text.parse::<Date>() {
        Ok(date) => {
            jiff::tz::TimeZone::UTC.to_timestamp(date.to_datetime(jiff::civil::Time::midnight())).ok()?
        }
        Err(_) => text.parse::<Timestamp>().ok()?,
    };
    Some(Expiry { text: text.to_owned(), at })
}

/// A package URL in an ignore entry without qualifiers matches any qualifiers.
fn purl_matches(rule: &str, purl: &str) -> bool {
    if rule.contains('?') { rule == purl } else { purl.split('?').next() == Some(rule) }
}

/// Shell-style globs: `*` within a path segment, `**` across segments, `?` one character.
pub fn glob_match(glob: &str, text: &str) -> bool {
    fn go(g: &[u8], t: &[u8]) -> bool {
        match g {
            [] => t.is_empty(),
            [b'*', b'*', rest @ ..] => {
                let rest = rest.strip_prefix(b"/").unwrap_or(rest);
                (0..=t.len()).any(|i| go(rest, &t[i..]))
            }
            [b'*', rest @ ..] => {
                (0..=t.len()).take_while(|&i| i == 0 || t[i - 1] != b'/').any(|i| go(rest, &t[i..]))
            }
            [b'?', rest @ ..] => t.first().is_some_and(|&c| c != b'/') && go(rest, &t[1..]),
            [c, rest @ ..] => t.first() == Some(c) && go(rest, &t[1..]),
        }
    }
    go(glob.as_bytes(), text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vuln(id: &str, path: Option<&str>, purl: Option<&str>) -> Vulnerability {
        let (path, purl) = (path.map(str::to_owned), purl.map(str::to_owned));
        Vulnerability { path, purl, target: "Java".to_owned(), ..Vulnerability::sample(id, "p") }
    }

    #[test]
    fn plain_files_as_trivy_reads_them() {
        let text = "# accepted risks\n\nCVE-2023-1\n  CVE-2023-2 exp:2024-06-01  \nCVE-2023-3 exp:2999-01-01 # reason\n";
        let rules = parse(Path::new(".trivyignore"), text).unwrap();
        let ids: Vec<_> = rules.iter().map(|r| (r.id.as_str(), r.source.as_str())).collect();
        assert_eq!(
            ids,
            [
                ("CVE-2023-1", ".trivyignore:3"),
                ("CVE-2023-2", ".trivyignore:4"),
                ("CVE-2023-3", ".trivyignore:5")
            ]
        );
        let now: Timestamp = "2024-06-01T00:00:00Z".parse().unwrap();
        assert!(!rules[0].is_expired(now));
        assert!(rules[1].is_expired(now), "expires at the start of its date");
        assert!(!rules[1].is_expired("2024-05-31T23:59:59Z".parse().unwrap()));
        assert!(!rules[2].is_expired(now));
        let err = parse(Path::new(".trivyignore"), "CVE-1 exp:2024-13-01\n").unwrap_err();
        assert_eq!(
            err.to_string(),
            ".trivyignore: line 1: exp:2024-13-01 is not a date of the form exp:2025-12-31"
        );
    }

    #[test]
    fn yaml_files_with_paths_purls_and_expiry() {
        let text = r#"
vulnerabilities:
  - id: CVE-1
    paths:
      - "usr/lib/**/*.jar"
    statement: Not reachable
  - id: CVE-2
    purls:
      - "pkg:npm/loader-utils@2.2.1"
  - id: CVE-3
    expired_at: 2023-09-01
  - id: CVE-4
    expired_at: "2030-01-01T12:00:00Z"
misconfigurations:
  - id: AVD-DS-0002
"#;
        let rules = parse(Path::new("x/.trivyignore.yaml"), text).unwrap();
        assert_eq!(rules.len(), 4);
        assert!(rules[0].matches(&vuln("CVE-1", Some("usr/lib/app/x/log4j.jar"), None)));
        assert!(!rules[0].matches(&vuln("CVE-1", Some("opt/log4j.jar"), None)));
        assert!(rules[1].matches(&vuln("CVE-2", None, Some("pkg:npm/loader-utils@2.2.1?arch=x"))));
        assert!(!rules[1].matches(&vuln("CVE-2", None, Some("pkg:npm/loader-utils@2.2.2"))));
        assert!(!rules[1].matches(&vuln("CVE-2", None, None)));
        let now: Timestamp = "2024-01-01T00:00:00Z".parse().unwrap();
        assert!(rules[2].is_expired(now));
        assert_eq!(rules[2].expires.as_ref().unwrap().text, "2023-09-01");
        assert!(!rules[3].is_expired(now));
        assert_eq!(rules[3].source, "x/.trivyignore.yaml: vulnerabilities[3]");

        let err = parse(Path::new("i.yaml"), "vulnerabilities:\n  - id: CVE-1\n    expires_at: 2020-01-01\n")
            .unwrap_err();
        assert!(err.to_string().contains("unknown field `expires_at`"), "{err}");
        assert!(err.to_string().starts_with("i.yaml:3:"), "{err}");
        let err = parse(Path::new("i.yaml"), "vulnerabilities:\n  - id: CVE-1\n    expired_at: soon\n")
            .unwrap_err();
        assert!(err.to_string().contains("vulnerabilities[0].expired_at: \"soon\" is not a date"), "{err}");
    }

    #[test]
    fn globs() {
        let rows = [
            ("a/*.jar", "a/x.jar", true),
            ("a/*.jar", "a/b/x.jar", false),
            ("a/**/x.jar", "a/x.jar", true),
            ("a/**/x.jar", "a/b/c/x.jar", true),
            ("**", "anything/at/all", true),
            ("file?.txt", "file1.txt", true),
            ("file?.txt", "file/.txt", false),
            ("exact", "exact", true),
        ];
        for (glob, text, expect) in rows {
            assert_eq!(glob_match(glob, text), expect, "{glob} {text}");
        }
    }
}
