//! plumb's policy engine: checks written in Rego (the language of OPA), evaluated with the
//! `regorus` crate over resource documents. Built-in packs and users' policies share one
//! mechanism. Pure: callers read the files and pass their text in; nothing here does I/O.
//!
//! Two kinds of policy are understood:
//! - **plumb checks**: a package per check, described by an OPA `# METADATA` block (`custom:`
//!   id, severity, controls, scope, types, remediation), whose `findings` rule yields objects
//!   `{key, status, message, evidence}` from `input.resources` (and `input.context`);
//! - **conftest policies**: `deny`, `violation` and `warn` rules yielding messages, evaluated
//!   with each resource's configuration document as `input`, so existing OPA/conftest
//!   policies run unchanged.

mod check;
mod engine;
mod metadata;
mod packs;

pub use check::{Check, Outcome, Scope, Style};
pub use engine::{Evaluator, Limits, LoadOptions, PolicySet, memory_in_use};
pub use packs::{PACKS, Pack};

/// A policy file's path and text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Source {
    /// Where it came from (`cis-aws-1.5/2_1_1.rego`, or a user's file path), for messages.
    pub path: String,
    /// The Rego text.
    pub text: String,
}

/// What can go wrong loading or evaluating policies.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    /// The policy does not parse or compile; the message names the file, line and column.
    #[error("{0}")]
    Syntax(String),
    /// The METADATA block is wrong.
    #[error("{path}: METADATA: {message}")]
    Metadata {
        /// The file.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// Evaluation failed (a built-in erred, a rule produced conflicting values).
    #[error("evaluating {check}: {message}")]
    Evaluation {
        /// The check.
        check: String,
        /// The engine's message.
        message: String,
    },
    /// An evaluation went past its time or memory limit and was stopped.
    #[error("{check} ({path}) was stopped: {limit}")]
    Limit {
        /// The check.
        check: String,
        /// Its file.
        path: String,
        /// Which limit, and how far it went.
        limit: String,
    },
    /// A policy declares a package an earlier group (a built-in pack) declares, which would
    /// replace it silently.
    #[error(
        "{path} declares package {package}, which {group} already declares: it would replace it (and every check \
         that imports it); pass --override {package} to replace it on purpose, or rename the package"
    )]
    Shadowed {
        /// The package.
        package: String,
        /// The file that declares it again.
        path: String,
        /// The group (pack or folder) that declared it first.
        group: String,
    },
    /// A document the engine cannot represent.
    #[error("a document the policy engine cannot read: {0}")]
    Document(String),
    /// A check produced a result plumb cannot read.
    #[error("{check} produced a result that is not a finding: {message}")]
    Result {
        /// The check.
        check: String,
        /// What is wrong.
        message: String,
    },
}

/// A JSON document converted once into the engine's representation. Clones share it, so a
/// resource read by many checks is converted once, not once per check.
#[derive(Clone, Debug, PartialEq)]
pub struct Document(regorus::Value);

impl Document {
    /// Converts a JSON document.
    pub fn from_json(value: &serde_json::Value) -> Result<Document, PolicyError> {
        use serde::Deserialize as _;
        regorus::Value::deserialize(value).map(Document).map_err(|err| PolicyError::Document(err.to_string()))
    }

    /// An array of documents.
    pub fn array(items: Vec<Document>) -> Document {
        Document(regorus::Value::from(items.into_iter().map(|d| d.0).collect::<Vec<_>>()))
    }

    /// This object with `key` set to `value`; its other members stay shared. A document that
    /// is not an object is returned as it is.
    #[must_use]
    pub fn with(&self, key: &str, value: Document) -> Document {
        let mut copy = self.0.clone();
        if let Ok(object) = copy.as_object_mut() {
            object.insert(regorus::Value::from(key), value.0);
        }
        Document(copy)
    }

    fn object(members: Vec<(&str, Document)>) -> Document {
        let map: std::collections::BTreeMap<regorus::Value, regorus::Value> =
            members.into_iter().map(|(key, value)| (regorus::Value::from(key), value.0)).collect();
        Document(regorus::Value::from(map))
    }
}

/// The input of a plumb check of account scope: one account's documents of the check's types.
pub fn account_input(
    account: &str,
    regions: &[String],
    resources: Vec<Document>,
    context: &Document,
) -> Document {
    let regions = regions.iter().map(|r| Document(regorus::Value::from(r.as_str()))).collect();
    Document::object(vec![
        ("account", Document(regorus::Value::from(account))),
        ("regions", Document::array(regions)),
        ("resources", Document::array(resources)),
        ("context", context.clone()),
    ])
}

/// The input of a plumb check of resource scope: a batch of documents, and the context
/// (with the account's context documents under `documents`, when the check asks for them).
pub fn resource_input(resources: Vec<Document>, context: &Document) -> Document {
    Document::object(vec![("resources", Document::array(resources)), ("context", context.clone())])
}
