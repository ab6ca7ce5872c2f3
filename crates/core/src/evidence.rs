//! Evidence packs (controls INV-01, CFG-01, CFG-02): what a pack's manifest says of every file
//! in it, how a pack is checked against its manifest, and the days of a period on which a
//! scheduled duty did not complete (an auditor's first question: "did it run every day?").

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::Timestamp;
use crate::controls;
use crate::model::{Run, RunKind};

/// The manifest's format word.
pub const FORMAT: &str = "plumb-evidence/1";

/// `manifest.json`: the period, who made it, the chain it was read from, and every other file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// [`FORMAT`].
    pub format: String,
    /// The controls the pack is evidence for.
    pub controls: Vec<String>,
    /// Start of the period (inclusive).
    pub from: Timestamp,
    /// End of the period (exclusive).
    pub to: Timestamp,
    /// The plumb that made it.
    pub generator: String,
    /// The event chain as read: its length and head hash, so a later verification can tell
    /// whether anything was rewritten since.
    pub chain: ChainPoint,
    /// Every file but the manifest, by path.
    pub files: Vec<FileEntry>,
}

/// A point of the event chain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainPoint {
    /// How many events it held.
    pub length: i64,
    /// The hash of its last event.
    pub head: String,
}

/// One file of a pack.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEntry {
    /// Its path in the pack.
    pub path: String,
    /// Its SHA-256, in hex.
    pub sha256: String,
    /// Rows of data it holds (CSV rows without the header, JSON array items).
    pub rows: u64,
    /// What selected them, in words an auditor can reproduce.
    pub query: String,
}

/// Whether a run belongs in a control's pack: the runs its verdict rests on
/// (`controls::evidence_kinds` and `covers`), and the audits and gates that are its evidence
/// without being judged recent: the register reconciliation (policy §6) for INV-01; the CI
/// gates (policy §4, §5) for CFG-01.
pub fn in_pack(control: &str, run: &Run) -> bool {
    let register = run.kind == RunKind::Audit && run.name == REGISTER_RUN;
    match control {
        "INV-01" if register => true,
        "CFG-01" if run.kind == RunKind::Gate => true,
        _ => controls::evidence_kinds(control).contains(&run.kind) && controls::covers(run, control),
    }
}

/// The run name of a register audit (`plumb audit register`).
pub const REGISTER_RUN: &str = "register";

/// The first way the files disagree with the manifest, if any: a file missing, one not listed,
/// or one whose SHA-256 differs.
pub fn first_mismatch(manifest: &Manifest, files: &BTreeMap<String, String>) -> Option<String> {
    for entry in &manifest.files {
        match files.get(&entry.path) {
            None => return Some(format!("{} is listed in manifest.json but not in the pack", entry.path)),
            Some(sha256) if *sha256 != entry.sha256 => {
                return Some(format!(
                    "{} has SHA-256 {sha256}, the manifest says {}: it was changed",
                    entry.path, entry.sha256
                ));
            }
            Some(_) => {}
        }
    }
    let listed: BTreeSet<&str> = manifest.files.iter().map(|f| f.path.as_str()).collect();
    files
        .keys()
        .find(|path| !listed.contains(path.as_str()))
        .map(|path| format!("{path} is in the pack but not listed in manifest.json"))
}

/// The days (UTC, `YYYY-MM-DD`) that `[from, to)` touches on which none of `completed` falls:
/// the days a daily duty did not complete.
pub fn missed_days(from: Timestamp, to: Timestamp, completed: &[Timestamp]) -> Vec<String> {
    let done: BTreeSet<String> = completed.iter().map(|t| day(*t)).collect();
    let mut missed = Vec::new();
    // Whole days from the first one's midnight, so a period ending earlier in its day than it
    // started still counts its last day.
    let midnight = format!("{}T00:00:00Z", day(from)).parse::<Timestamp>().unwrap_or(from);
    let mut at = midnight;
    while at < to {
        let today = day(at);
        if !done.contains(&today) {
            missed.push(today);
        }
        match at.plus_days(1) {
            Some(next) => at = next,
            None => break,
        }
    }
    missed
}

fn day(at: Timestamp) -> String {
    at.to_string().chars().take(10).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    #[test]
    fn register_audits_are_inventory_evidence_and_gates_baseline_evidence() {
        let run = |kind: RunKind, name: &str| Run {
            id: "r".into(),
            kind,
            name: name.into(),
            started_at: at("2026-12-01T00:00:00Z"),
            finished_at: at("2026-12-01T00:00:00Z"),
            actor: "a".into(),
            outcome: crate::model::RunOutcome::Succeeded,
            inputs: serde_json::json!({}),
            counts: serde_json::json!({}),
            details: serde_json::json!({}),
        };
        let register =
            Run { details: serde_json::json!({"control": "INV-01"}), ..run(RunKind::Audit, REGISTER_RUN) };
        assert!(in_pack("INV-01", &register) && !in_pack("CFG-01", &register));
        let changes =
            Run { details: serde_json::json!({"control": "CFG-01"}), ..run(RunKind::Audit, "changes") };
        assert!(in_pack("CFG-01", &changes) && !in_pack("INV-01", &changes));
        assert!(
            in_pack("CFG-01", &run(RunKind::Gate, "image"))
                && !in_pack("INV-01", &run(RunKind::Gate, "image"))
        );
        assert!(
            in_pack("INV-01", &run(RunKind::Sync, "sync"))
                && in_pack("CFG-02", &run(RunKind::Drift, "drift"))
        );
    }

    #[test]
    fn a_day_without_a_completed_run_is_missed() {
        let runs = [at("2026-12-01T01:00:00Z"), at("2026-12-01T05:00:00Z"), at("2026-12-03T23:59:59Z")];
        let missed = missed_days(at("2026-12-01T00:00:00Z"), at("2026-12-05T00:00:00Z"), &runs);
        assert_eq!(missed, ["2026-12-02", "2026-12-04"]);
        let late_start = missed_days(at("2026-12-01T23:00:00Z"), at("2026-12-03T01:00:00Z"), &[]);
        assert_eq!(late_start, ["2026-12-01", "2026-12-02", "2026-12-03"], "every day the period touches");
    }

    #[test]
    fn a_changed_missing_or_extra_file_is_named() {
        let entry = |path: &str, sha: &str| FileEntry {
            path: path.into(),
            sha256: sha.into(),
            rows: 0,
            query: String::new(),
        };
        let manifest = Manifest {
            format: FORMAT.into(),
            controls: vec!["INV-01".into()],
            from: at("2026-12-01T00:00:00Z"),
            to: at("2026-12-05T00:00:00Z"),
            generator: "plumb test".into(),
            chain: ChainPoint { length: 1, head: "h".into() },
            files: vec![entry("a.csv", "1"), entry("b.csv", "2")],
        };
        let files = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
            pairs.iter().map(|(p, s)| ((*p).to_owned(), (*s).to_owned())).collect()
        };
        assert_eq!(first_mismatch(&manifest, &files(&[("a.csv", "1"), ("b.csv", "2")])), None);
        assert!(
            first_mismatch(&manifest, &files(&[("a.csv", "1"), ("b.csv", "3")]))
                .unwrap()
                .starts_with("b.csv has")
        );
        assert!(first_mismatch(&manifest, &files(&[("a.csv", "1")])).unwrap().contains("not in the pack"));
        let extra = files(&[("a.csv", "1"), ("b.csv", "2"), ("c.csv", "3")]);
        assert!(first_mismatch(&manifest, &extra).unwrap().starts_with("c.csv is in the pack"));
    }
}
