//! What plumb knows about a check: from its METADATA (native checks) or its rules (conftest).

use plumb_core::model::{FindingStatus, Severity};
use serde_json::Value;

/// How a check is fed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Batches of resources of its types; each resource is judged on its own (with the
    /// account's context documents, when the check asks for them).
    Resource,
    /// Every resource of its types in one account at once (checks that follow references
    /// between resources, or judge the account as a whole).
    Account,
}

/// The kind of policy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Style {
    /// A plumb check: `findings` over `input.resources`.
    Native,
    /// A conftest policy: `deny` / `violation` / `warn` over one document as `input`.
    Conftest,
}

/// One check.
#[derive(Clone, Debug, PartialEq)]
pub struct Check {
    /// `pack/rule`, such as `cis-aws-1.5/2.1.1`.
    pub id: String,
    /// The pack (or policy folder) it belongs to.
    pub pack: String,
    /// The Rego package.
    pub package: String,
    /// Short title.
    pub title: String,
    /// Severity of a failure.
    pub severity: Severity,
    /// Controls it is evidence for.
    pub controls: Vec<String>,
    /// How to fix a failure.
    pub remediation: String,
    /// How it is fed.
    pub scope: Scope,
    /// Resource types it reads (empty: all).
    pub types: Vec<String>,
    /// Types of the account's documents it needs as context (resource scope).
    pub context: Vec<String>,
    /// Services whose collection it needs; when one was not collected, the check reports
    /// `error` rather than judging on missing data.
    pub requires: Vec<String>,
    /// The kind of policy.
    pub style: Style,
    /// The file that defines it.
    pub path: String,
}

impl Check {
    /// Whether the check reads resources of this type.
    pub fn reads(&self, resource_type: &str) -> bool {
        self.types.is_empty() || self.types.iter().any(|t| t == resource_type)
    }
}

/// What a check said about one key.
#[derive(Clone, Debug, PartialEq)]
pub struct Outcome {
    /// The key judged (for conftest policies, set by the caller: the document's resource).
    pub key: Option<String>,
    /// The result.
    pub status: FindingStatus,
    /// For conftest `warn` rules, a lower severity than the check's.
    pub severity: Option<Severity>,
    /// What was found.
    pub message: String,
    /// The values that decided it.
    pub evidence: Value,
}
