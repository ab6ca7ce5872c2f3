//! Findings: the result of one check for one resource (or account, or region).

use serde::Serialize;
use serde_json::Value;

use crate::enums::word_enum;
use crate::time::Timestamp;

word_enum! {
    /// How much a failing check matters.
    pub enum Severity {
        Info = "info",
        Low = "low",
        Medium = "medium",
        High = "high",
        Critical = "critical",
    }
}

word_enum! {
    /// The result of a check for one key.
    pub enum FindingStatus {
        /// The check failed.
        Fail = "fail",
        /// The check passed.
        Pass = "pass",
        /// A person must decide; the finding says what to look at.
        Manual = "manual",
        /// The check could not be evaluated (its data was not collected); never a pass.
        Error = "error",
        /// It failed, and an unexpired exception covers it.
        Excepted = "excepted",
    }
}

impl FindingStatus {
    /// Whether the finding stays open until a later run passes it.
    pub fn is_open(self) -> bool {
        !matches!(self, FindingStatus::Pass)
    }
}

/// One check's result for one key, as reported and stored.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Finding {
    /// `pack/rule`, such as `cis-aws-1.5/2.1.1`.
    pub check: String,
    /// The check's title.
    pub title: String,
    /// The controls it is evidence for, such as `CIS 2.1.1` and `CFG-01`.
    pub controls: Vec<String>,
    /// The asset's key (an ARN for AWS resources), or the account or region for account-level
    /// controls.
    pub key: String,
    /// The result.
    pub status: FindingStatus,
    /// How much it matters.
    pub severity: Severity,
    /// What was found, in a sentence.
    pub message: String,
    /// The attribute values that decided it.
    pub evidence: Value,
    /// How to fix it.
    pub remediation: String,
    /// When this result was first seen (for open findings, when it opened).
    pub first_seen: Timestamp,
    /// When it was last seen.
    pub last_seen: Timestamp,
}
