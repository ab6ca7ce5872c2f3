//! Loading policies into one compiled engine, and evaluating checks with it.

use std::collections::BTreeMap;
use std::num::NonZeroU32;
use std::time::Duration;

use plumb_core::model::{FindingStatus, Severity};
use regorus::utils::limits::ExecutionTimerConfig;
use serde::Deserialize;
use serde_json::Value;

use crate::check::{Check, Outcome, Scope, Style};
use crate::metadata::{annotations, package};
use crate::{Document, PolicyError, Source};

const CONFTEST_RULES: &[&str] = &["deny", "violation", "warn"];

/// The files of one package: the index of the group that defines it, and (group, file) pairs.
type PackageFiles<'a> = (usize, Vec<(&'a str, &'a Source)>);

/// How far one evaluation (one check over one batch or account) may go before it is stopped:
/// a policy that loops or allocates without bound must not hang a nightly run or exhaust the
/// machine.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Wall-clock time per evaluation.
    pub time: Duration,
    /// Bytes evaluations may hold on top of what the process held when they began (the
    /// allocator counts every live byte).
    pub memory: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { time: Duration::from_secs(60), memory: 2 << 30 }
    }
}

/// What loading may do besides compiling.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LoadOptions {
    /// Packages a later group may replace (`--override`); replacing any other is refused.
    pub overrides: Vec<String>,
    /// The evaluation limits.
    pub limits: Limits,
}

/// Bytes the process holds now, as the allocator counts them.
pub fn memory_in_use() -> u64 {
    regorus_mimalloc::global_allocation_stats_snapshot().allocated
}

/// Policies compiled once; cheap evaluators are cloned from it (one per thread).
#[derive(Clone)]
pub struct PolicySet {
    checks: Vec<Check>,
    engine: regorus::Engine,
    /// For conftest checks: the rules each package defines.
    conftest_rules: BTreeMap<String, Vec<&'static str>>,
    /// Packages a later group replaced, as `--override` allowed: (package, replacing file).
    replaced: Vec<(String, String)>,
    limits: Limits,
}

impl std::fmt::Debug for PolicySet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PolicySet").field("checks", &self.checks.len()).finish_non_exhaustive()
    }
}

impl PolicySet {
    /// Compiles groups of policy files (a pack's, or a folder's), in order. A later group may
    /// replace a package an earlier one declared only when `options.overrides` names it (that
    /// is how a user overrides a built-in check, on purpose and on the record); otherwise the
    /// load is refused. Files named `*_test.rego` (OPA tests) are left out.
    pub fn load(groups: &[(String, Vec<Source>)], options: &LoadOptions) -> Result<PolicySet, PolicyError> {
        let mut by_package: BTreeMap<String, PackageFiles<'_>> = BTreeMap::new();
        let mut replaced = Vec::new();
        for (index, (group, sources)) in groups.iter().enumerate() {
            for source in sources.iter().filter(|s| !s.path.ends_with("_test.rego")) {
                let Some(name) = package(&source.text) else {
                    return Err(PolicyError::Syntax(format!("{}: no package declaration", source.path)));
                };
                let entry = by_package.entry(name.clone()).or_insert((index, Vec::new()));
                if entry.0 != index {
                    let first = groups[entry.0].0.clone();
                    if !options.overrides.contains(&name) {
                        return Err(PolicyError::Shadowed {
                            package: name,
                            path: source.path.clone(),
                            group: first,
                        });
                    }
                    replaced.push((name, source.path.clone()));
                    *entry = (index, Vec::new());
                }
                entry.1.push((group.as_str(), source));
            }
        }
        let mut engine = regorus::Engine::new();
        // A built-in that errs is an error, never "undefined": undefined would make a deny rule
        // silent and so pass.
        engine.set_strict_builtin_errors(true);
        engine.set_execution_timer_config(ExecutionTimerConfig {
            limit: options.limits.time,
            check_interval: NonZeroU32::new(64).unwrap_or(NonZeroU32::MIN),
        });
        for (_, files) in by_package.values() {
            for (_, source) in files {
                engine
                    .add_policy(source.path.clone(), source.text.clone())
                    .map_err(|err| PolicyError::Syntax(syntax(&err.to_string())))?;
            }
        }
        let mut set = PolicySet {
            checks: Vec::new(),
            engine,
            conftest_rules: BTreeMap::new(),
            replaced,
            limits: options.limits,
        };
        for (name, (_, files)) in &by_package {
            set.describe(name, files)?;
        }
        set.checks.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(set)
    }

    /// Works out what the files of one package are: a plumb check, a conftest policy, or
    /// helpers used by others.
    fn describe(&mut self, name: &str, files: &[(&str, &Source)]) -> Result<(), PolicyError> {
        for (group, source) in files {
            let found = annotations(&source.text)
                .map_err(|message| PolicyError::Metadata { path: source.path.clone(), message })?;
            if let Some(found) = found.filter(|a| a.custom.id.is_some()) {
                if !self.declares(&source.path, "findings") {
                    return Err(PolicyError::Metadata {
                        path: source.path.clone(),
                        message: "a check with custom.id must define a `findings` rule".to_owned(),
                    });
                }
                self.checks.push(native(group, name, source, found)?);
                return Ok(());
            }
        }
        let rules: Vec<&'static str> = CONFTEST_RULES
            .iter()
            .copied()
            .filter(|rule| files.iter().any(|(_, s)| self.declares(&s.path, rule)))
            .collect();
        if rules.is_empty() {
            return Ok(());
        }
        let (group, first) = files[0];
        self.conftest_rules.insert(name.to_owned(), rules);
        self.checks.push(Check {
            id: format!("{group}/{name}"),
            pack: group.to_owned(),
            package: name.to_owned(),
            title: format!("{name} ({group})"),
            severity: Severity::High,
            controls: Vec::new(),
            remediation: String::new(),
            scope: Scope::Resource,
            types: Vec::new(),
            context: Vec::new(),
            requires: Vec::new(),
            style: Style::Conftest,
            path: first.path.clone(),
        });
        Ok(())
    }

    fn declares(&self, path: &str, rule: &str) -> bool {
        self.engine.has_declared_rule_rooted_at(path, rule).unwrap_or(false)
    }

    /// Every check, sorted by id.
    pub fn checks(&self) -> &[Check] {
        &self.checks
    }

    /// The packages replaced as `--override` allowed: (package, the file that replaced it).
    pub fn replaced(&self) -> &[(String, String)] {
        &self.replaced
    }

    /// Runs `evaluate` with the memory limit in force: what the process holds now plus the
    /// configured budget. The limit is the allocator's, for the whole process, so it is set
    /// around all evaluations at once and lifted after.
    pub fn within_memory_limit<T>(&self, evaluate: impl FnOnce() -> T) -> T {
        let limit = memory_in_use().saturating_add(self.limits.memory);
        regorus::set_global_memory_limit(Some(limit));
        let result = evaluate();
        regorus::set_global_memory_limit(None);
        result
    }

    /// The limits evaluations run under.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// An evaluator with its own copy of the compiled policies.
    pub fn evaluator(&self) -> Evaluator {
        Evaluator { engine: self.engine.clone(), conftest_rules: self.conftest_rules.clone() }
    }
}

fn native(
    group: &str,
    name: &str,
    source: &Source,
    found: crate::metadata::Annotations,
) -> Result<Check, PolicyError> {
    let custom = found.custom;
    let bad = |message: String| PolicyError::Metadata { path: source.path.clone(), message };
    let severity = match custom.severity.as_deref() {
        None => Severity::Medium,
        Some(word) => word.parse().map_err(|err| bad(format!("severity: {err}")))?,
    };
    let scope = match custom.scope.as_deref() {
        None | Some("resource") => Scope::Resource,
        Some("account") => Scope::Account,
        Some(other) => return Err(bad(format!("scope: expected resource or account, found {other:?}"))),
    };
    let _ = found.scope;
    Ok(Check {
        id: format!("{group}/{}", custom.id.unwrap_or_default()),
        pack: group.to_owned(),
        package: name.to_owned(),
        title: found.title.or(found.description).unwrap_or_else(|| name.to_owned()),
        severity,
        controls: custom.controls,
        remediation: custom.remediation.unwrap_or_default().trim().to_owned(),
        scope,
        types: custom.types,
        context: custom.context,
        requires: custom.requires,
        style: Style::Native,
        path: source.path.clone(),
    })
}

/// Evaluates checks; one per thread.
#[derive(Clone)]
pub struct Evaluator {
    engine: regorus::Engine,
    conftest_rules: BTreeMap<String, Vec<&'static str>>,
}

impl std::fmt::Debug for Evaluator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Evaluator").finish_non_exhaustive()
    }
}

/// A plumb check's result object, as Rego writes it.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    key: String,
    status: String,
    #[serde(default)]
    message: String,
    #[serde(default)]
    evidence: Value,
}

impl Evaluator {
    /// Evaluates one check with `input`: for a plumb check `{resources, context}`, for a
    /// conftest policy one configuration document.
    pub fn evaluate(&mut self, check: &Check, input: &Document) -> Result<Vec<Outcome>, PolicyError> {
        self.engine.set_input(input.0.clone());
        match check.style {
            Style::Native => {
                let value = self.eval(check, "findings")?;
                value.into_iter().map(|item| outcome(check, item)).collect()
            }
            Style::Conftest => {
                let rules = self.conftest_rules.get(&check.package).cloned().unwrap_or_default();
                let mut outcomes = Vec::new();
                for rule in rules {
                    let severity = (rule == "warn").then_some(Severity::Low);
                    for message in self.eval(check, rule)? {
                        outcomes.push(Outcome {
                            key: None,
                            status: FindingStatus::Fail,
                            severity,
                            message: conftest_message(&message),
                            evidence: message,
                        });
                    }
                }
                Ok(outcomes)
            }
        }
    }

    /// The members of a set (or array) rule; nothing when the rule is undefined.
    fn eval(&mut self, check: &Check, rule: &str) -> Result<Vec<Value>, PolicyError> {
        let value = self.engine.eval_rule(format!("data.{}.{rule}", check.package)).map_err(|err| {
            match err.downcast_ref::<regorus::LimitError>() {
                Some(limit) => PolicyError::Limit {
                    check: check.id.clone(),
                    path: check.path.clone(),
                    limit: limit.to_string(),
                },
                None => PolicyError::Evaluation { check: check.id.clone(), message: err.to_string() },
            }
        })?;
        let json = serde_json::to_value(&value)
            .map_err(|err| PolicyError::Result { check: check.id.clone(), message: err.to_string() })?;
        Ok(match json {
            Value::Array(items) => items,
            Value::Null => Vec::new(),
            Value::String(s) if s == "<undefined>" => Vec::new(),
            other => vec![other],
        })
    }
}

fn outcome(check: &Check, item: Value) -> Result<Outcome, PolicyError> {
    let raw: Raw = serde_json::from_value(item)
        .map_err(|err| PolicyError::Result { check: check.id.clone(), message: err.to_string() })?;
    let status: FindingStatus = raw
        .status
        .parse()
        .map_err(|err| PolicyError::Result { check: check.id.clone(), message: format!("status: {err}") })?;
    Ok(Outcome { key: Some(raw.key), status, severity: None, message: raw.message, evidence: raw.evidence })
}

/// regorus reports `--> FILE:LINE:COL`, a source excerpt and `error: WHAT`; plumb leads with
/// `FILE:LINE:COL: WHAT` and keeps the excerpt below.
fn syntax(message: &str) -> String {
    let location = message.lines().find_map(|l| l.trim().strip_prefix("--> "));
    let what = message.lines().find_map(|l| l.trim().strip_prefix("error: "));
    match (location, what) {
        (Some(location), Some(what)) => format!("{location}: {what}\n{}", message.trim_matches('\n')),
        _ => message.trim().to_owned(),
    }
}

/// A conftest message is a string, or an object with `msg`.
fn conftest_message(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Object(map) => {
            map.get("msg").and_then(Value::as_str).map_or_else(|| value.to_string(), str::to_owned)
        }
        other => other.to_string(),
    }
}
