//! The Dockerfile gate: every `FROM` of every stage must be an approved baseline image pinned
//! by digest. References to earlier stages and `scratch` are allowed.
//!
//! The parser reads just enough of the Dockerfile syntax to find every `FROM` correctly:
//! parser directives (`# escape=` changes the line-continuation character), comments,
//! line continuations (comment lines inside them are dropped, as Docker does), instructions
//! in any case, heredocs of `RUN`/`COPY`/`ADD` (whose bodies may contain anything, even a
//! line starting with `FROM`), and `ARG`s declared before the first `FROM`, the only ones a
//! `FROM` can use. `$VAR`, `${VAR}`, `${VAR:-default}`, `${VAR-default}`, `${VAR:+alt}` and
//! `${VAR+alt}` are substituted as BuildKit does.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::GateError;

/// The approved base image repositories, normalized (`python` → `docker.io/library/python`).
#[derive(Clone, Debug, Default)]
pub struct Baseline {
    repositories: Vec<String>,
}

impl Baseline {
    /// A baseline from repositories as written in `plumb.toml`.
    pub fn new<'a>(repositories: impl IntoIterator<Item = &'a str>) -> Baseline {
        Baseline { repositories: repositories.into_iter().map(normalize_repository).collect() }
    }

    /// Whether no image is approved.
    pub fn is_empty(&self) -> bool {
        self.repositories.is_empty()
    }

    fn approves(&self, repository: &str) -> bool {
        self.repositories.iter().any(|r| r == repository)
    }
}

/// One `FROM` instruction.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct From {
    /// 1-based line of the instruction.
    pub line: usize,
    /// The image as written.
    pub written: String,
    /// The image after ARG substitution.
    pub image: String,
    /// The `AS` name.
    pub stage: Option<String>,
    /// The `--platform` flag.
    pub platform: Option<String>,
    /// ARGs the image uses that have no value.
    pub unset: Vec<String>,
}

/// What is wrong with a `FROM`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Rule {
    /// The repository is not in the baseline.
    NotApproved,
    /// No `@sha256:` digest, or a malformed one.
    NotPinned,
    /// The image uses an ARG without a value (or a substitution plumb does not evaluate).
    Unresolved,
}

impl Rule {
    /// The rule id used in reports.
    pub fn id(self) -> &'static str {
        match self {
            Rule::NotApproved => "dockerfile/not-approved",
            Rule::NotPinned => "dockerfile/not-pinned",
            Rule::Unresolved => "dockerfile/unresolved",
        }
    }
}

/// One violation.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Violation {
    /// The Dockerfile.
    pub file: PathBuf,
    /// The line of the `FROM`.
    pub line: usize,
    /// The image after substitution.
    pub image: String,
    /// Which rule.
    pub rule: Rule,
    /// What is wrong, for people.
    pub message: String,
}

/// Reads the `FROM` instructions of a Dockerfile.
pub fn parse(file: &Path, text: &str, build_args: &HashMap<String, String>) -> Result<Vec<From>, GateError> {
    let err = |line: usize, message: String| GateError::Syntax {
        file: file.to_path_buf(),
        line,
        column: 0,
        message,
    };
    let lines: Vec<&str> = text.lines().collect();
    let (escape, start) = directives(&lines);
    let mut globals: HashMap<String, Option<String>> = HashMap::new();
    let mut froms = Vec::new();
    let mut i = start;
    while i < lines.len() {
        let (instruction, first_line, next) = logical_line(&lines, i, escape);
        i = next;
        let Some(instruction) = instruction else { continue };
        let (keyword, rest) = split_word(&instruction);
        match keyword.to_ascii_uppercase().as_str() {
            "FROM" => {
                let mut from = parse_from(rest).map_err(|m| err(first_line, m))?;
                from.line = first_line;
                let (image, unset) = substitute(&from.written, &globals, escape);
                from.image = image;
                from.unset = unset;
                froms.push(from);
            }
            "ARG" if froms.is_empty() => {
                for (name, default) in parse_arg(rest).map_err(|m| err(first_line, m))? {
                    let value = match build_args.get(&name) {
                        Some(given) => Some(given.clone()),
                        None => default.map(|d| substitute(&d, &globals, escape).0),
                    };
                    globals.insert(name, value);
                }
            }
            "ARG" => {}
            _ if froms.is_empty() => {
                return Err(err(
                    first_line,
                    format!("{keyword} before the first FROM (only ARG may come before it)"),
                ));
            }
            "RUN" | "COPY" | "ADD" => {
                i = skip_heredocs(&lines, &instruction, i).map_err(|m| err(first_line, m))?;
            }
            _ => {}
        }
    }
    if froms.is_empty() {
        return Err(err(lines.len().max(1), "no FROM instruction".to_owned()));
    }
    Ok(froms)
}

/// Checks every `FROM` against the baseline.
pub fn check(file: &Path, froms: &[From], baseline: &Baseline) -> Vec<Violation> {
    let mut stages: Vec<String> = Vec::new();
    let mut violations = Vec::new();
    for from in froms {
        let violation = |rule: Rule, message: String| Violation {
            file: file.to_path_buf(),
            line: from.line,
            image: from.image.clone(),
            rule,
            message,
        };
        let image = from.image.trim();
        if !from.unset.is_empty() {
            let names = from.unset.join(", ");
            violations.push(violation(
                Rule::Unresolved,
                format!("FROM {} uses {names} without a value: give the ARG a default before the first FROM, or pass --build-arg", from.written),
            ));
        } else if image.eq_ignore_ascii_case("scratch") || stages.contains(&image.to_ascii_lowercase()) {
            // An earlier stage, or the empty image: nothing is pulled.
        } else {
            let reference = Reference::parse(image);
            if !baseline.approves(&reference.repository) {
                violations.push(violation(
                    Rule::NotApproved,
                    format!(
                        "{} is not an approved baseline image ([[baseline.image]] in plumb.toml)",
                        reference.repository
                    ),
                ));
            }
            match reference.digest {
                None => violations
                    .push(violation(Rule::NotPinned, format!("{image} is not pinned by digest (@sha256:…)"))),
                Some(digest) if !is_sha256(digest) => violations.push(violation(
                    Rule::NotPinned,
                    format!("{image}: digest {digest:?} is not sha256: followed by 64 hex digits"),
                )),
                Some(_) => {}
            }
        }
        if let Some(stage) = &from.stage {
            stages.push(stage.to_ascii_lowercase());
        }
    }
    violations
}

/// Parser directives at the top of the file: the escape character and the first line after
/// them.
fn directives(lines: &[&str]) -> (char, usize) {
    let mut escape = '\\';
    for (i, line) in lines.iter().enumerate() {
        let Some(body) = line.trim().strip_prefix('#') else { return (escape, i) };
        let Some((key, value)) = body.split_once('=') else { return (escape, i) };
        let key = key.trim().to_ascii_lowercase();
        if !key.chars().all(|c| c.is_ascii_alphanumeric()) || key.is_empty() {
            return (escape, i);
        }
        if key == "escape" && value.trim() == "`" {
            escape = '`';
        }
    }
    (escape, lines.len())
}

/// Joins continued lines into one instruction. Returns the instruction (`None` for blank and
/// comment lines), its first line number, and the index of the next line.
fn logical_line(lines: &[&str], start: usize, escape: char) -> (Option<String>, usize, usize) {
    let mut text = String::new();
    let mut i = start;
    while i < lines.len() {
        let line = lines[i];
        i += 1;
        let trimmed = line.trim_start();
        if trimmed.starts_with('#') || (trimmed.is_empty() && !text.is_empty()) {
            if text.is_empty() {
                return (None, start + 1, i);
            }
            continue;
        }
        let end = line.trim_end();
        match end.strip_suffix(escape) {
            Some(body) => {
                text.push_str(body);
                text.push(' ');
            }
            None => {
                text.push_str(line);
                break;
            }
        }
    }
    let text = text.trim().to_owned();
    ((!text.is_empty()).then_some(text), start + 1, i)
}

fn split_word(text: &str) -> (&str, &str) {
    let text = text.trim_start();
    match text.find(char::is_whitespace) {
        Some(at) => (&text[..at], text[at..].trim_start()),
        None => (text, ""),
    }
}

fn parse_from(rest: &str) -> Result<From, String> {
    let usage = "FROM expects [--platform=PLATFORM] IMAGE [AS NAME]";
    let mut platform = None;
    let mut words = rest.split_whitespace().peekable();
    while let Some(flag) = words.next_if(|w| w.starts_with("--")) {
        match flag.split_once('=') {
            Some(("--platform", value)) => platform = Some(value.to_owned()),
            _ => return Err(format!("unknown flag {flag}: {usage}")),
        }
    }
    let words: Vec<&str> = words.collect();
    let (written, stage) = match words.as_slice() {
        [image] => (*image, None),
        [image, as_word, name] if as_word.eq_ignore_ascii_case("as") => (*image, Some((*name).to_owned())),
        _ => return Err(usage.to_owned()),
    };
    Ok(From {
        line: 0,
        written: written.to_owned(),
        image: String::new(),
        stage,
        platform,
        unset: Vec::new(),
    })
}

/// `ARG A`, `ARG A=1`, `ARG A="x y" B=2`.
fn parse_arg(rest: &str) -> Result<Vec<(String, Option<String>)>, String> {
    let mut args = Vec::new();
    let mut chars = rest.trim().chars().peekable();
    while chars.peek().is_some() {
        let mut name = String::new();
        while let Some(c) = chars.next_if(|c| !c.is_whitespace() && *c != '=') {
            name.push(c);
        }
        let value = match chars.next_if_eq(&'=') {
            Some(_) => Some(read_value(&mut chars)?),
            None => None,
        };
        if name.is_empty() {
            return Err("ARG expects NAME[=DEFAULT]".to_owned());
        }
        args.push((name, value));
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
    }
    Ok(args)
}

fn read_value(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) -> Result<String, String> {
    let mut value = String::new();
    let mut quote = None;
    while let Some(&c) = chars.peek() {
        match (quote, c) {
            (None, c) if c.is_whitespace() => break,
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (_, c) => value.push(c),
        }
        chars.next();
    }
    match quote {
        Some(q) => Err(format!("unterminated {q} quote in ARG")),
        None => Ok(value),
    }
}

/// Skips the bodies of the heredocs an instruction opens; returns the next line index.
fn skip_heredocs(lines: &[&str], instruction: &str, mut next: usize) -> Result<usize, String> {
    for (strip_tabs, word) in heredoc_words(instruction) {
        loop {
            let Some(line) = lines.get(next) else {
                return Err(format!("heredoc <<{word} is not terminated"));
            };
            next += 1;
            let line = if strip_tabs { line.trim_start_matches('\t') } else { line };
            if line == word {
                break;
            }
        }
    }
    Ok(next)
}

/// `<<EOF`, `<<-EOF`, `<<"EOF"`, `<<'EOF'`, in order of appearance.
fn heredoc_words(instruction: &str) -> Vec<(bool, String)> {
    let mut words = Vec::new();
    let mut rest = instruction;
    while let Some(at) = rest.find("<<") {
        rest = &rest[at + 2..];
        let strip_tabs = rest.starts_with('-');
        let body = rest.trim_start_matches('-').trim_start_matches(['"', '\'']);
        let word: String = body.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
        if word.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_') {
            words.push((strip_tabs, word));
        }
    }
    words
}

/// Substitutes ARG values; returns the text and the names used without a value.
fn substitute(text: &str, vars: &HashMap<String, Option<String>>, escape: char) -> (String, Vec<String>) {
    let mut out = String::new();
    let mut unset = Vec::new();
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == escape && chars.get(i + 1) == Some(&'$') {
            out.push('$');
            i += 2;
            continue;
        }
        if c != '$' {
            out.push(c);
            i += 1;
            continue;
        }
        if chars.get(i + 1) == Some(&'{') {
            let Some(close) = matching_brace(&chars, i + 1) else {
                out.extend(&chars[i..]);
                unset.push(chars[i..].iter().collect());
                break;
            };
            let inner: String = chars[i + 2..close].iter().collect();
            out.push_str(&expand(&inner, vars, escape, &mut unset));
            i = close + 1;
        } else {
            let name: String =
                chars[i + 1..].iter().take_while(|c| c.is_ascii_alphanumeric() || **c == '_').collect();
            if name.is_empty() {
                out.push('$');
                i += 1;
                continue;
            }
            i += 1 + name.chars().count();
            match vars.get(&name).cloned().flatten() {
                Some(value) => out.push_str(&value),
                None => unset.push(name),
            }
        }
    }
    (out, unset)
}

fn matching_brace(chars: &[char], open: usize) -> Option<usize> {
    let mut depth = 0;
    for (i, c) in chars.iter().enumerate().skip(open) {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

/// `NAME`, `NAME:-word`, `NAME-word`, `NAME:+word`, `NAME+word`.
fn expand(
    inner: &str,
    vars: &HashMap<String, Option<String>>,
    escape: char,
    unset: &mut Vec<String>,
) -> String {
    let name: String = inner.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
    let operator = &inner[name.len()..];
    let value = vars.get(&name).cloned().flatten();
    let mut word = |w: &str| {
        let (text, more) = substitute(w, vars, escape);
        unset.extend(more);
        text
    };
    if let Some(default) = operator.strip_prefix(":-") {
        return value.filter(|v| !v.is_empty()).unwrap_or_else(|| word(default));
    }
    if let Some(alternative) = operator.strip_prefix(":+") {
        return if value.is_some_and(|v| !v.is_empty()) { word(alternative) } else { String::new() };
    }
    if let Some(default) = operator.strip_prefix('-') {
        return value.unwrap_or_else(|| word(default));
    }
    if let Some(alternative) = operator.strip_prefix('+') {
        return if value.is_some() { word(alternative) } else { String::new() };
    }
    if operator.is_empty() && !name.is_empty() {
        return value.unwrap_or_else(|| {
            unset.push(name.clone());
            String::new()
        });
    }
    unset.push(format!("${{{inner}}}"));
    String::new()
}

/// An image reference split into its normalized repository and digest.
struct Reference<'a> {
    repository: String,
    digest: Option<&'a str>,
}

impl<'a> Reference<'a> {
    fn parse(image: &'a str) -> Reference<'a> {
        let (name, digest) = match image.split_once('@') {
            Some((name, digest)) => (name, Some(digest)),
            None => (image, None),
        };
        let last_slash = name.rfind('/').map_or(0, |i| i + 1);
        let name = match name[last_slash..].rfind(':') {
            Some(colon) => &name[..last_slash + colon],
            None => name,
        };
        Reference { repository: normalize_repository(name), digest }
    }
}

/// `python` → `docker.io/library/python`; `index.docker.io/x/y` → `docker.io/x/y`.
fn normalize_repository(name: &str) -> String {
    let name = name.trim().trim_end_matches('/');
    let (registry, path) = match name.split_once('/') {
        Some((first, rest)) if first.contains(['.', ':']) || first == "localhost" => (first, rest),
        _ => ("docker.io", name),
    };
    let registry = if registry == "index.docker.io" || registry == "registry-1.docker.io" {
        "docker.io"
    } else {
        registry
    };
    if registry == "docker.io" && !path.contains('/') {
        format!("docker.io/library/{path}")
    } else {
        format!("{registry}/{path}")
    }
}

fn is_sha256(digest: &str) -> bool {
    digest.strip_prefix("sha256:").is_some_and(|hex| {
        hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIGEST: &str = "sha256:b165067c5afc37fa5608a3c05609cc3d51aafd808a30fbfd822ee594fef55ad4";

    fn froms(text: &str) -> Vec<(usize, String, Option<String>)> {
        parse(Path::new("Dockerfile"), text, &HashMap::new())
            .unwrap()
            .into_iter()
            .map(|f| (f.line, f.image, f.stage))
            .collect()
    }

    fn violations(text: &str, baseline: &[&str]) -> Vec<(usize, Rule)> {
        let file = Path::new("Dockerfile");
        let parsed = parse(file, text, &HashMap::new()).unwrap();
        check(file, &parsed, &Baseline::new(baseline.iter().copied()))
            .into_iter()
            .map(|v| (v.line, v.rule))
            .collect()
    }

    fn parse_error(text: &str) -> String {
        parse(Path::new("Dockerfile"), text, &HashMap::new()).unwrap_err().to_string()
    }

    #[test]
    fn args_stages_and_syntax() {
        let text = format!(
            "# syntax=docker/dockerfile:1\n\
             ARG REGISTRY=registry.example.com UNUSED=\"a b\"\n\
             ARG BASE=${{REGISTRY}}/python\n\
             ARG TAG\n\
             # a comment\n\
             from --platform=$BUILDPLATFORM ${{BASE}}:${{TAG:-3.12}}@{DIGEST} AS Build\n\
             RUN <<EOF\n\
             FROM not-an-instruction\n\
             EOF\n\
             FROM \\\n  # comment inside a continuation\n  $BASE@{DIGEST} \\\n  as final\n\
             ARG TAG=ignored-for-from\n\
             COPY <<-\"END\" /x\n\tFROM nope\n\tEND\n\
             FROM build\n\
             FROM scratch\n"
        );
        assert_eq!(
            froms(&text),
            [
                (6, format!("registry.example.com/python:3.12@{DIGEST}"), Some("Build".to_owned())),
                (10, format!("registry.example.com/python@{DIGEST}"), Some("final".to_owned())),
                (18, "build".to_owned(), None),
                (19, "scratch".to_owned(), None),
            ]
        );
        assert!(violations(&text, &["registry.example.com/python"]).is_empty());
    }

    #[test]
    fn substitution_forms() {
        let vars: HashMap<String, Option<String>> = [("A", Some("a")), ("E", Some("")), ("U", None)]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.map(str::to_owned)))
            .collect();
        let rows: [(&str, &str, &[&str]); 11] = [
            ("$A", "a", &[]),
            ("${A}x", "ax", &[]),
            ("${U:-d}", "d", &[]),
            ("${E:-d}", "d", &[]),
            ("${E-d}", "", &[]),
            ("${U-$A}", "a", &[]),
            ("${A:+alt}", "alt", &[]),
            ("${U+alt}", "", &[]),
            ("\\$A", "$A", &[]),
            ("$U/x", "/x", &["U"]),
            ("${A#pat}", "", &["${A#pat}"]),
        ];
        for (text, expect, unset) in rows {
            let (got, missing) = substitute(text, &vars, '\\');
            assert_eq!(
                (got.as_str(), missing.iter().map(String::as_str).collect::<Vec<_>>()),
                (expect, unset.to_vec()),
                "{text}"
            );
        }
    }

    #[test]
    fn violations_name_the_line_and_rule() {
        let text = format!(
            "ARG V\nFROM python:3.12\nFROM docker.io/library/python@{DIGEST}\nFROM ghcr.io/acme/app@sha256:abc\nFROM $V\nFROM node@{DIGEST}\n"
        );
        assert_eq!(
            violations(&text, &["python"]),
            [
                (2, Rule::NotPinned),
                (4, Rule::NotApproved),
                (4, Rule::NotPinned),
                (5, Rule::Unresolved),
                (6, Rule::NotApproved)
            ]
        );
        let file = Path::new("Dockerfile");
        let parsed = parse(file, "FROM alpine:3.19\n", &HashMap::new()).unwrap();
        let messages: Vec<String> =
            check(file, &parsed, &Baseline::default()).into_iter().map(|v| v.message).collect();
        assert_eq!(
            messages,
            [
                "docker.io/library/alpine is not an approved baseline image ([[baseline.image]] in plumb.toml)",
                "alpine:3.19 is not pinned by digest (@sha256:…)"
            ]
        );
    }

    #[test]
    fn build_args_and_escape_directive() {
        let args: HashMap<String, String> = [("V".to_owned(), "3.19".to_owned())].into();
        let parsed = parse(Path::new("D"), "# escape=`\nARG V=1\nFROM alpine:$V `\n  AS x\n", &args).unwrap();
        assert_eq!(
            (parsed[0].line, parsed[0].image.as_str(), parsed[0].stage.as_deref()),
            (3, "alpine:3.19", Some("x"))
        );
    }

    #[test]
    fn parse_problems_are_exit_2_with_the_line() {
        assert_eq!(
            parse_error("RUN echo\nFROM x\n"),
            "Dockerfile:1: RUN before the first FROM (only ARG may come before it)"
        );
        assert_eq!(
            parse_error("FROM a b c\n"),
            "Dockerfile:1: FROM expects [--platform=PLATFORM] IMAGE [AS NAME]"
        );
        assert_eq!(
            parse_error("FROM --pull=always a\n"),
            "Dockerfile:1: unknown flag --pull=always: FROM expects [--platform=PLATFORM] IMAGE [AS NAME]"
        );
        assert_eq!(parse_error("FROM a\nRUN <<EOF\necho\n"), "Dockerfile:2: heredoc <<EOF is not terminated");
        assert_eq!(parse_error("# only a comment\n"), "Dockerfile:1: no FROM instruction");
        assert_eq!(parse_error("ARG X=\"y\nFROM a\n"), "Dockerfile:1: unterminated \" quote in ARG");
        assert_eq!(parse_error("ARG =1\nFROM a\n"), "Dockerfile:1: ARG expects NAME[=DEFAULT]");
    }

    #[test]
    fn repositories_are_normalized() {
        let rows = [
            ("python", "docker.io/library/python"),
            ("library/python", "docker.io/library/python"),
            ("index.docker.io/library/python", "docker.io/library/python"),
            ("bitnami/redis", "docker.io/bitnami/redis"),
            ("localhost:5000/x", "localhost:5000/x"),
            ("ghcr.io/acme/app", "ghcr.io/acme/app"),
        ];
        for (name, expect) in rows {
            assert_eq!(normalize_repository(name), expect);
        }
        assert_eq!(Reference::parse("localhost:5000/x:1@sha256:0").repository, "localhost:5000/x");
    }
}
