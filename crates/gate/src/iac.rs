//! The IaC gate: Terraform module sources and provider requirements must be pinned to exact
//! semver versions (policy §4: modules semver-tagged, production pinned to exact tags).
//!
//! Every `.tf` file under a folder is parsed with hcl-rs (`.terraform/` holds downloaded
//! copies and is skipped). What is checked, by the kind of module source Terraform accepts:
//!
//! - local paths (`./`, `../`): allowed, they are versioned with the calling code;
//! - registry addresses (`[host/]namespace/name/provider[//subdir]`): `version` must be one
//!   exact version (`1.2.3` or `= 1.2.3`), not missing, not `~>`, `>=`, `!=` or a range;
//! - git and Mercurial (`git::…`, `hg::…`, `github.com/…`, `bitbucket.org/…`,
//!   `git@host:…`): `?ref=` must be a semver tag (`v1.2.3` or `1.2.3`); a missing ref, a
//!   commit id, and a ref that is not semver (a branch, `v1.2`, `stable`) are each their
//!   own finding;
//! - archives (`https://…`, `s3::…`, `gcs::…`, S3 and GCS hosts): their content can change
//!   behind the same URL, so they pass only with go-getter's `?checksum=`, which makes
//!   Terraform verify the content;
//! - anything else (an absolute path, an unknown getter) is a finding: it cannot be checked.
//!
//! `required_providers` entries (and the legacy `version` in `provider` blocks) must be
//! exact versions too. `required_version` (Terraform itself) is not a pin and is not checked.

use std::path::{Path, PathBuf};

use hcl::edit::Span;
use hcl::edit::expr::{Expression, ObjectKey};
use hcl::edit::structure::{Attribute, Block, Body};
use serde::Serialize;

use crate::GateError;

/// What is wrong with a module or provider pin.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Rule {
    /// A registry module without `version`.
    VersionMissing,
    /// A `version` that is a constraint, not one exact version.
    VersionNotExact,
    /// A git/hg source without `?ref=`.
    RefMissing,
    /// A ref that is a commit id: exact, but not a semver tag.
    RefCommit,
    /// A ref that is not a semver tag (a branch, or a tag such as `v1.2`).
    RefNotSemver,
    /// An archive without `?checksum=`.
    ArchiveUnpinned,
    /// A source no rule can check.
    SourceUnknown,
    /// A provider requirement without a version.
    ProviderVersionMissing,
    /// A provider requirement that is not one exact version.
    ProviderVersionNotExact,
    /// `source` or `version` is not a literal string (Terraform requires literals).
    NotLiteral,
}

impl Rule {
    /// The rule id used in reports.
    pub fn id(self) -> &'static str {
        match self {
            Rule::VersionMissing => "iac/module-version-missing",
            Rule::VersionNotExact => "iac/module-version-not-exact",
            Rule::RefMissing => "iac/git-ref-missing",
            Rule::RefCommit => "iac/git-ref-commit",
            Rule::RefNotSemver => "iac/git-ref-not-semver",
            Rule::ArchiveUnpinned => "iac/archive-not-pinned",
            Rule::SourceUnknown => "iac/source-unknown",
            Rule::ProviderVersionMissing => "iac/provider-version-missing",
            Rule::ProviderVersionNotExact => "iac/provider-version-not-exact",
            Rule::NotLiteral => "iac/not-literal",
        }
    }
}

/// One finding.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Finding {
    /// The `.tf` file.
    pub file: PathBuf,
    /// 1-based line of the offending attribute (or block, when the attribute is missing).
    pub line: usize,
    /// `module "vpc"` or `provider "aws"`.
    pub subject: String,
    /// Which rule.
    pub rule: Rule,
    /// The offending source, ref or constraint, as written.
    pub constraint: Option<String>,
    /// What is wrong, for people.
    pub message: String,
}

/// What a scan of a folder found.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Scan {
    /// The `.tf` files read, in order.
    pub files: Vec<PathBuf>,
    /// How many module blocks they have.
    pub modules: usize,
    /// How many provider requirements they have.
    pub providers: usize,
    /// Every finding, by file and line.
    pub findings: Vec<Finding>,
}

/// Parses every `.tf` file under `dir` (sorted, `.terraform/` skipped) and checks the pins.
pub fn scan_dir(dir: &Path) -> Result<Scan, GateError> {
    let mut scan = Scan::default();
    let walker = walkdir::WalkDir::new(dir)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| !(e.file_type().is_dir() && e.file_name() == ".terraform"));
    for entry in walker {
        let entry = entry.map_err(|err| GateError::Read {
            path: err.path().map_or_else(|| dir.to_path_buf(), Path::to_path_buf),
            source: err.into(),
        })?;
        if !entry.file_type().is_file() || entry.path().extension().is_none_or(|e| e != "tf") {
            continue;
        }
        let text = crate::error::read(entry.path())?;
        check_file(entry.path(), &text, &mut scan)?;
        scan.files.push(entry.path().to_path_buf());
    }
    Ok(scan)
}

/// Checks one file's module blocks and provider requirements, adding to `scan`.
pub fn check_file(file: &Path, text: &str, scan: &mut Scan) -> Result<(), GateError> {
    let body = hcl::edit::parser::parse_body(text).map_err(|err| GateError::Syntax {
        file: file.to_path_buf(),
        line: err.location().line(),
        column: err.location().column(),
        message: err.message().to_owned(),
    })?;
    let lines = LineIndex::new(text);
    let mut check = Checker { file, lines: &lines, findings: &mut scan.findings };
    for block in blocks(&body) {
        match (block.ident.as_str(), block.labels.first()) {
            ("module", Some(name)) => {
                scan.modules += 1;
                check.module(name.as_str(), block);
            }
            ("terraform", _) => {
                for required in blocks(&block.body).filter(|b| b.ident.as_str() == "required_providers") {
                    for attribute in attributes(&required.body) {
                        scan.providers += 1;
                        check.required_provider(attribute);
                    }
                }
            }
            ("provider", Some(name)) => {
                if let Some(version) = block.body.get_attribute("version") {
                    scan.providers += 1;
                    let subject = format!("provider {:?}", name.as_str());
                    check.provider_version(&subject, Some(&version.value), block.span());
                }
            }
            _ => {}
        }
    }
    Ok(())
}

fn blocks(body: &Body) -> impl Iterator<Item = &Block> {
    body.iter().filter_map(|s| s.as_block())
}

fn attributes(body: &Body) -> impl Iterator<Item = &Attribute> {
    body.iter().filter_map(|s| s.as_attribute())
}

struct Checker<'a> {
    file: &'a Path,
    lines: &'a LineIndex,
    findings: &'a mut Vec<Finding>,
}

impl Checker<'_> {
    fn push(
        &mut self,
        span: Option<std::ops::Range<usize>>,
        subject: &str,
        rule: Rule,
        constraint: Option<&str>,
        message: String,
    ) {
        self.findings.push(Finding {
            file: self.file.to_path_buf(),
            line: self.lines.line(span.map_or(0, |s| s.start)),
            subject: subject.to_owned(),
            rule,
            constraint: constraint.map(str::to_owned),
            message,
        });
    }

    fn module(&mut self, name: &str, block: &Block) {
        let subject = format!("module {name:?}");
        let Some(source) = block.body.get_attribute("source") else { return };
        let Some(text) = literal(&source.value) else {
            let message = "source is not a literal string; Terraform requires one".to_owned();
            return self.push(source.span(), &subject, Rule::NotLiteral, None, message);
        };
        match classify(text) {
            Source::Local => {}
            Source::Registry => {
                let version = block.body.get_attribute("version");
                match version.map(|v| (v, literal(&v.value))) {
                    None => self.push(
                        block.span(),
                        &subject,
                        Rule::VersionMissing,
                        Some(text),
                        format!("registry module {text} has no version; pin one exact version"),
                    ),
                    Some((v, None)) => self.push(
                        v.span(),
                        &subject,
                        Rule::NotLiteral,
                        None,
                        "version is not a literal string".to_owned(),
                    ),
                    Some((v, Some(constraint))) => {
                        if let Err(why) = exact_version(constraint) {
                            let message = format!(
                                "version {constraint:?} {why}; pin one exact version such as \"1.2.3\""
                            );
                            self.push(v.span(), &subject, Rule::VersionNotExact, Some(constraint), message);
                        }
                    }
                }
            }
            Source::Vcs => self.vcs_ref(source, &subject, text),
            Source::Archive => {
                if query(text, "checksum").is_none() {
                    let message = format!(
                        "archive source {text} can change behind its URL; add ?checksum=sha256:… or use a registry or git tag"
                    );
                    self.push(source.span(), &subject, Rule::ArchiveUnpinned, Some(text), message);
                }
            }
            Source::Unknown => {
                let message = format!(
                    "source {text} is not a local path, registry, git or archive source plumb can check"
                );
                self.push(source.span(), &subject, Rule::SourceUnknown, Some(text), message);
            }
        }
    }

    fn vcs_ref(&mut self, source: &Attribute, subject: &str, text: &str) {
        let span = source.span();
        match query(text, "ref") {
            None => self.push(span, subject, Rule::RefMissing, Some(text), format!("{text} has no ?ref=; pin a semver tag such as ?ref=v1.2.3")),
            Some(reference) if reference.len() == 40 && reference.bytes().all(|b| b.is_ascii_hexdigit()) => self.push(
                span,
                subject,
                Rule::RefCommit,
                Some(reference),
                format!("ref {reference} is a commit, not a semver tag; tag the module and pin the tag"),
            ),
            Some(reference) if semver::Version::parse(reference.strip_prefix('v').unwrap_or(reference)).is_err() => self.push(
                span,
                subject,
                Rule::RefNotSemver,
                Some(reference),
                format!("ref {reference:?} is not a semver tag (a branch, or a tag such as v1.2 or stable); pin a tag such as v1.2.3"),
            ),
            Some(_) => {}
        }
    }

    /// `name = { source = …, version = … }` or the legacy `name = "constraint"`.
    fn required_provider(&mut self, attribute: &Attribute) {
        let subject = format!("provider {:?}", attribute.key.as_str());
        let version = match &attribute.value {
            Expression::Object(object) => object
                .iter()
                .find(|(key, _)| matches!(key, ObjectKey::Ident(ident) if ident.as_str() == "version"))
                .map(|(_, value)| value.expr()),
            other => Some(other),
        };
        self.provider_version(&subject, version, attribute.span());
    }

    fn provider_version(
        &mut self,
        subject: &str,
        version: Option<&Expression>,
        at: Option<std::ops::Range<usize>>,
    ) {
        let Some(expression) = version else {
            let message = "has no version; pin one exact version in required_providers".to_owned();
            return self.push(at, subject, Rule::ProviderVersionMissing, None, message);
        };
        let span = expression.span().or(at);
        match literal(expression) {
            None => {
                self.push(span, subject, Rule::NotLiteral, None, "version is not a literal string".to_owned())
            }
            Some(constraint) => {
                if let Err(why) = exact_version(constraint) {
                    let message =
                        format!("version {constraint:?} {why}; pin one exact version such as \"1.2.3\"");
                    self.push(span, subject, Rule::ProviderVersionNotExact, Some(constraint), message);
                }
            }
        }
    }
}

/// A plain string literal (not a template with interpolations).
fn literal(expression: &Expression) -> Option<&str> {
    match expression {
        Expression::String(text) => Some(text.as_str()),
        _ => None,
    }
}

/// The kinds of module source (see the module documentation).
#[derive(Debug, PartialEq, Eq)]
enum Source {
    Local,
    Registry,
    Vcs,
    Archive,
    Unknown,
}

fn classify(source: &str) -> Source {
    if source.starts_with("./") || source.starts_with("../") {
        return Source::Local;
    }
    if let Some((getter, _)) = source.split_once("::") {
        return match getter {
            "git" | "hg" => Source::Vcs,
            "s3" | "gcs" | "http" | "https" => Source::Archive,
            _ => Source::Unknown,
        };
    }
    let address = source.split(['?', '#']).next().unwrap_or_default();
    let host = address.split('/').next().unwrap_or_default();
    if host == "github.com" || host == "bitbucket.org" || address.starts_with("git@") {
        return Source::Vcs;
    }
    if address.starts_with("https://") || address.starts_with("http://") {
        return Source::Archive;
    }
    if (host.contains(".s3") && host.ends_with(".amazonaws.com")) || host == "www.googleapis.com" {
        return Source::Archive;
    }
    let package = address.split("//").next().unwrap_or_default();
    let parts: Vec<&str> = package.split('/').collect();
    let segment_ok =
        |s: &&str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "-_".contains(c));
    let registry = match parts.as_slice() {
        [_, _, _] => parts.iter().all(segment_ok),
        [host, rest @ ..] if rest.len() == 3 => host.contains('.') && rest.iter().all(segment_ok),
        _ => false,
    };
    if registry { Source::Registry } else { Source::Unknown }
}

/// The value of a query parameter of a source URL.
fn query<'a>(source: &'a str, name: &str) -> Option<&'a str> {
    let (_, query) = source.split_once('?')?;
    query.split('&').find_map(|pair| pair.strip_prefix(name)?.strip_prefix('=')).filter(|v| !v.is_empty())
}

/// Accepts one exact version in Terraform's syntax (`1.2.3`, `= 1.2.3`); otherwise says why.
fn exact_version(constraint: &str) -> Result<semver::Version, String> {
    let parts: Vec<&str> = constraint.split(',').map(str::trim).filter(|p| !p.is_empty()).collect();
    let [single] = parts.as_slice() else {
        return Err(if parts.is_empty() { "is empty".to_owned() } else { "is a range".to_owned() });
    };
    let operator_len = ["~>", ">=", "<=", "!=", ">", "<", "="]
        .iter()
        .find(|op| single.starts_with(**op))
        .map_or(0, |op| op.len());
    let (operator, version) = single.split_at(operator_len);
    match operator {
        "" | "=" => {}
        "~>" => return Err("allows newer versions (~>)".to_owned()),
        "!=" => return Err("excludes a version instead of pinning one".to_owned()),
        _ => return Err(format!("is a range ({operator})")),
    }
    semver::Version::parse(version.trim())
        .map_err(|_| format!("is not a full version (major.minor.patch): {:?}", version.trim()))
}

/// Byte offset → 1-based line.
struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    fn new(text: &str) -> LineIndex {
        let starts = std::iter::once(0).chain(text.match_indices('\n').map(|(i, _)| i + 1)).collect();
        LineIndex { starts }
    }

    fn line(&self, offset: usize) -> usize {
        self.starts.partition_point(|start| *start <= offset)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn findings(text: &str) -> Vec<(usize, String, Rule, Option<String>)> {
        let mut scan = Scan::default();
        check_file(Path::new("main.tf"), text, &mut scan).unwrap();
        scan.findings.into_iter().map(|f| (f.line, f.subject, f.rule, f.constraint)).collect()
    }

    fn check(source: &str, version: Option<&str>, expect: Option<(Rule, Option<&str>)>) {
        let version = version.map(|v| format!("  version = \"{v}\"\n")).unwrap_or_default();
        let text = format!("module \"m\" {{\n  source = \"{source}\"\n{version}}}\n");
        let got = findings(&text).into_iter().map(|(_, _, rule, constraint)| (rule, constraint)).next();
        assert_eq!(got, expect.map(|(r, c)| (r, c.map(str::to_owned))), "{source} {version}");
    }

    #[test]
    fn every_source_form() {
        use Rule::*;
        check("./modules/vpc", None, None);
        check("../shared", None, None);
        check("hashicorp/consul/aws", Some("0.1.0"), None);
        check("hashicorp/consul/aws", Some("= 0.1.0"), None);
        check("app.terraform.io/acme/vpc/aws//modules/x", Some("1.0.0"), None);
        check("hashicorp/consul/aws", None, Some((VersionMissing, Some("hashicorp/consul/aws"))));
        check("hashicorp/consul/aws", Some("~> 0.1"), Some((VersionNotExact, Some("~> 0.1"))));
        check("hashicorp/consul/aws", Some(">= 1.0, < 2.0"), Some((VersionNotExact, Some(">= 1.0, < 2.0"))));
        check("hashicorp/consul/aws", Some("!= 1.0.0"), Some((VersionNotExact, Some("!= 1.0.0"))));
        check("hashicorp/consul/aws", Some("1.2"), Some((VersionNotExact, Some("1.2"))));
        check("github.com/hashicorp/example?ref=v1.2.0", None, None);
        check("github.com/hashicorp/example", None, Some((RefMissing, Some("github.com/hashicorp/example"))));
        check("github.com/hashicorp/example?ref=main", None, Some((RefNotSemver, Some("main"))));
        check("github.com/hashicorp/example?ref=v1.2", None, Some((RefNotSemver, Some("v1.2"))));
        check("bitbucket.org/hashicorp/example?ref=1.0.0", None, None);
        check("git@github.com:hashicorp/example.git?ref=v1.0.0", None, None);
        check("git::https://example.com/vpc.git//sub?depth=1&ref=v1.2.3", None, None);
        check(
            "git::ssh://git@example.com/vpc.git?ref=51d462976d84fdea54b47d80dcabbf680badcdb8",
            None,
            Some((RefCommit, Some("51d462976d84fdea54b47d80dcabbf680badcdb8"))),
        );
        check("hg::http://example.com/vpc.hg?ref=v1.0.0-rc.1", None, None);
        check(
            "https://example.com/vpc-module.zip",
            None,
            Some((ArchiveUnpinned, Some("https://example.com/vpc-module.zip"))),
        );
        check("https://example.com/vpc-module.zip?checksum=sha256:abc", None, None);
        check(
            "s3::https://s3-eu-west-1.amazonaws.com/bucket/vpc.zip",
            None,
            Some((ArchiveUnpinned, Some("s3::https://s3-eu-west-1.amazonaws.com/bucket/vpc.zip"))),
        );
        check(
            "bucket.s3-eu-west-1.amazonaws.com/vpc.zip",
            None,
            Some((ArchiveUnpinned, Some("bucket.s3-eu-west-1.amazonaws.com/vpc.zip"))),
        );
        check(
            "gcs::https://www.googleapis.com/storage/v1/modules/foomodule.zip",
            None,
            Some((ArchiveUnpinned, Some("gcs::https://www.googleapis.com/storage/v1/modules/foomodule.zip"))),
        );
        check("/opt/modules/vpc", None, Some((SourceUnknown, Some("/opt/modules/vpc"))));
        check("svn::https://example.com/x", None, Some((SourceUnknown, Some("svn::https://example.com/x"))));
    }

    #[test]
    fn providers_lines_and_literals() {
        let text = r#"terraform {
  required_version = ">= 1.5"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.31"
    }
    random = {
      source = "hashicorp/random"
    }
    tls = {
      source  = "hashicorp/tls"
      version = "4.0.5"
    }
    legacy = ">= 1.0"
  }
}

provider "google" {
  version = "= 4.0.0"
}

module "dyn" {
  source  = "hashicorp/consul/aws"
  version = var.v
}
"#;
        let got = findings(text);
        let expect: Vec<(usize, String, Rule, Option<String>)> = vec![
            (6, "provider \"aws\"".into(), Rule::ProviderVersionNotExact, Some("~> 5.31".into())),
            (8, "provider \"random\"".into(), Rule::ProviderVersionMissing, None),
            (15, "provider \"legacy\"".into(), Rule::ProviderVersionNotExact, Some(">= 1.0".into())),
            (25, "module \"dyn\"".into(), Rule::NotLiteral, None),
        ];
        assert_eq!(got, expect);
    }

    #[test]
    fn syntax_errors_have_file_and_line() {
        let mut scan = Scan::default();
        let err = check_file(Path::new("bad.tf"), "module \"a\" {\n  source = \n}\n", &mut scan).unwrap_err();
        assert_eq!(
            err.to_string(),
            "bad.tf:2:12: invalid expression; expected `\"`, `[`, `{`, `-`, `!`, `(`, `_`, `<`, letter or digit"
        );
    }

    #[test]
    fn line_index() {
        let index = LineIndex::new("a\nbc\n\nd");
        let rows = [(0, 1), (1, 1), (2, 2), (4, 2), (5, 3), (6, 4)];
        for (offset, line) in rows {
            assert_eq!(index.line(offset), line, "{offset}");
        }
    }
}
