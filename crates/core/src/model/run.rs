//! Runs: one execution of sync, drift, check, gate or audit, the unit of evidence.

use serde::Serialize;
use serde_json::Value;

use crate::enums::word_enum;
use crate::time::Timestamp;

word_enum! {
    /// What kind of job a run was.
    pub enum RunKind {
        /// Collecting resources into the inventory.
        Sync = "sync",
        /// Comparing IaC state with the live inventory.
        Drift = "drift",
        /// Evaluating policies.
        Check = "check",
        /// A CI gate.
        Gate = "gate",
        /// An audit (register reconciliation, change review).
        Audit = "audit",
        /// Telling the sinks of exceptions ending soon and of those that ended.
        Reminder = "reminder",
        /// A scheduled job of `plumb serve`: its slot, and the runs it made.
        Job = "job",
    }
}

word_enum! {
    /// How a run ended.
    pub enum RunOutcome {
        /// Everything ran and nothing blocks.
        Succeeded = "succeeded",
        /// It ran, but parts failed (a service unreachable); what ran is recorded.
        Partial = "partial",
        /// It ran and found something that blocks.
        Blocked = "blocked",
        /// It could not run.
        Failed = "failed",
    }
}

/// One recorded run.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Run {
    /// A ULID.
    pub id: String,
    /// The kind of job.
    pub kind: RunKind,
    /// A finer name, such as `aws`, `image` or `changes`.
    pub name: String,
    /// When it started.
    pub started_at: Timestamp,
    /// When it ended.
    pub finished_at: Timestamp,
    /// Who ran it.
    pub actor: String,
    /// How it ended.
    pub outcome: RunOutcome,
    /// What it ran on: files, accounts, regions, options.
    pub inputs: Value,
    /// Its figures: new, changed, failed, blocked, ….
    pub counts: Value,
    /// Everything else worth keeping as evidence: errors, the items found.
    pub details: Value,
}

impl Run {
    /// SHA-256 of everything the run records, in canonical form: its events carry it, so an
    /// edit of the stored run (its details, its figures) is found by `plumb log verify`.
    pub fn digest(&self) -> String {
        use sha2::{Digest, Sha256};
        let document = serde_json::to_value(self).unwrap_or(Value::Null);
        hex::encode(Sha256::digest(crate::event_chain::canonical_json(&document).as_bytes()))
    }
}
