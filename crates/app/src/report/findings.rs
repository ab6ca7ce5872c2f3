//! A generic list of findings, the input of the SARIF and JUnit renderers. Gates build one
//! from their verdicts (later, policy checks and drift will too), so every report format is
//! written once for all of them.

use std::collections::HashMap;

use plumb_core::model::FindingStatus;
use serde::Serialize;
use serde_json::{Map, Value, json};

/// How serious a finding is (SARIF's levels).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// Blocks, unless suppressed.
    Error,
    /// Reported; does not block.
    Warning,
    /// For information.
    Note,
}

impl Level {
    /// SARIF's word.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Error => "error",
            Level::Warning => "warning",
            Level::Note => "note",
        }
    }
}

/// What a finding says of its subject (SARIF's `kind`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// The rule was judged and not met.
    #[default]
    Fail,
    /// The rule could not be judged (its data was not collected): never a pass.
    Open,
    /// A person must judge it.
    Review,
}

impl Kind {
    /// SARIF's word.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Fail => "fail",
            Kind::Open => "open",
            Kind::Review => "review",
        }
    }
}

/// A rule findings refer to.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Rule {
    /// Stable id, such as `dockerfile/not-pinned` or `CVE-2024-1234`.
    pub id: String,
    /// One line saying what the rule is about.
    pub description: String,
    /// A page with more.
    pub help_uri: Option<String>,
    /// A CVSS-like score for code scanning's severity (`security-severity`), for
    /// vulnerabilities.
    pub security_severity: Option<f64>,
}

impl Rule {
    /// A rule with an id and a description only.
    pub fn new(id: &str, description: &str) -> Rule {
        Rule {
            id: id.to_owned(),
            description: description.to_owned(),
            help_uri: None,
            security_severity: None,
        }
    }
}

/// Where a finding is.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Location {
    /// A file path (relative, as given) or another URI-like name.
    pub uri: String,
    /// 1-based line, when known.
    pub line: Option<usize>,
}

/// One finding.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Finding {
    /// The rule's id.
    pub rule_id: String,
    /// How serious.
    pub level: Level,
    /// Judged and not met, not judged, or for a person to judge.
    pub kind: Kind,
    /// What is wrong, for people.
    pub message: String,
    /// What it is about, such as `Dockerfile:3` or `openssl 1.1.1c` (a JUnit test name).
    pub subject: String,
    /// Where.
    pub location: Option<Location>,
    /// Why it does not block although it would (an exception, a VEX statement).
    pub suppressed: Option<String>,
    /// Anything else worth keeping (package, versions, fixed versions).
    pub properties: Map<String, Value>,
}

impl Finding {
    /// Whether this finding blocks.
    pub fn blocks(&self) -> bool {
        self.level == Level::Error && self.suppressed.is_none()
    }
}

/// The findings of one command run.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Findings {
    /// The command, such as `plumb gate iac` (JUnit's suite name).
    pub command: String,
    /// The rules findings refer to, each once (added with [`Findings::rule`]).
    rules: Vec<Rule>,
    /// The findings.
    pub findings: Vec<Finding>,
    /// What was checked and has no finding (files, images, pull requests), so passing
    /// checks show up as passing tests.
    pub passed: Vec<String>,
    /// Rule id → position in `rules`: an image report has tens of thousands of rules, and
    /// looking each up in the list made rendering quadratic.
    #[serde(skip)]
    rule_positions: HashMap<String, usize>,
}

impl Findings {
    /// An empty list for a command.
    pub fn new(command: &str) -> Findings {
        Findings {
            command: command.to_owned(),
            rules: Vec::new(),
            findings: Vec::new(),
            passed: Vec::new(),
            rule_positions: HashMap::new(),
        }
    }

    /// Adds a rule unless one with its id is there.
    pub fn rule(&mut self, rule: Rule) {
        if !self.rule_positions.contains_key(&rule.id) {
            self.rule_positions.insert(rule.id.clone(), self.rules.len());
            self.rules.push(rule);
        }
    }

    /// The rules, in the order they were added.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// The position of a rule in `rules`.
    pub fn rule_position(&self, id: &str) -> Option<usize> {
        self.rule_positions.get(id).copied()
    }
}

impl Findings {
    /// Stored results (checks, drift) as a findings list: results that `blocks` are errors,
    /// other failures and results that could not be evaluated warnings, results that need a
    /// person notes, passing and excepted results left out (excepted ones as suppressed);
    /// `rules` pairs each rule with whether it passed throughout (a passing test in JUnit).
    pub fn from_results(
        command: &str,
        rules: impl IntoIterator<Item = (Rule, bool)>,
        results: &[plumb_core::model::Finding],
        blocks: impl Fn(&plumb_core::model::Finding) -> bool,
    ) -> Findings {
        let mut findings = Findings::new(command);
        for (rule, passed) in rules {
            if passed {
                findings.passed.push(rule.id.clone());
            }
            findings.rule(rule);
        }
        for result in results.iter().filter(|f| f.status != FindingStatus::Pass) {
            let level = match result.status {
                _ if blocks(result) => Level::Error,
                FindingStatus::Fail | FindingStatus::Error | FindingStatus::Excepted => Level::Warning,
                FindingStatus::Manual | FindingStatus::Pass => Level::Note,
            };
            let kind = match result.status {
                FindingStatus::Error => Kind::Open,
                FindingStatus::Manual => Kind::Review,
                _ => Kind::Fail,
            };
            let mut properties = Map::new();
            properties.insert("status".to_owned(), json!(result.status.as_str()));
            properties.insert("severity".to_owned(), json!(result.severity.as_str()));
            properties.insert("controls".to_owned(), json!(result.controls));
            properties.insert("evidence".to_owned(), result.evidence.clone());
            properties.insert("remediation".to_owned(), json!(result.remediation));
            findings.findings.push(Finding {
                rule_id: result.check.clone(),
                level,
                kind,
                message: result.message.clone(),
                subject: result.key.clone(),
                location: Some(Location { uri: result.key.clone(), line: None }),
                suppressed: (result.status == FindingStatus::Excepted).then(|| excepted_by(result)),
                properties,
            });
        }
        findings
    }
}

/// Why an excepted result does not count: the exception that covers it (its message says
/// until when).
fn excepted_by(result: &plumb_core::model::Finding) -> String {
    match result.evidence.get(plumb_core::exception::EXCEPTED_BY).and_then(|id| id.as_str()) {
        Some(id) => format!("exception {id} (plumb exception show {id})"),
        None => "an unexpired exception covers it".to_owned(),
    }
}
