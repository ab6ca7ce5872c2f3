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

/// The evidence field of an `error` that keeps an earlier result open: that result's status.
pub const PREVIOUS_STATUS: &str = "previous_status";

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

impl Finding {
    /// Whether this is an `error` keeping a failure open: its data could not be judged again,
    /// so the failure still stands (and blocks as one).
    pub fn keeps_a_failure(&self) -> bool {
        self.status == FindingStatus::Error
            && self.evidence.get(PREVIOUS_STATUS).and_then(Value::as_str)
                == Some(FindingStatus::Fail.as_str())
    }

    /// A digest of what the finding says (not when it was seen), so a store can tell a result
    /// that says the same again from one that changed without reading the stored text back.
    pub fn digest(&self) -> String {
        use sha2::{Digest, Sha256};
        let said = (
            &self.check,
            &self.key,
            self.status.as_str(),
            self.severity.as_str(),
            &self.title,
            &self.controls,
            &self.message,
            &self.evidence,
            &self.remediation,
        );
        let encoded = serde_json::to_vec(&said).unwrap_or_default();
        hex::encode(Sha256::digest(&encoded))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A failing result of `pack/rule` for key `k`.
    pub(crate) fn finding() -> Finding {
        let now: Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
        Finding {
            check: "pack/rule".into(),
            title: "Title".into(),
            controls: vec!["INV-01".into()],
            key: "k".into(),
            status: FindingStatus::Fail,
            severity: Severity::High,
            message: "m".into(),
            evidence: serde_json::json!({"a": 1}),
            remediation: "r".into(),
            first_seen: now,
            last_seen: now,
        }
    }

    #[test]
    fn digest_covers_what_is_said_not_when() {
        let base = finding();
        let later = Finding { last_seen: "2026-02-01T00:00:00Z".parse().unwrap(), ..finding() };
        assert_eq!(base.digest(), later.digest());
        for changed in [
            Finding { message: "other".into(), ..finding() },
            Finding { evidence: serde_json::json!({"a": 2}), ..finding() },
            Finding { severity: Severity::Low, ..finding() },
            Finding { status: FindingStatus::Error, ..finding() },
        ] {
            assert_ne!(base.digest(), changed.digest());
        }
    }
}
