//! A control's status (INV-01, CFG-01, CFG-02): the verdict an auditor reads first, so it
//! follows the first rule strictly. A control passes only when every kind of run that is its
//! evidence ran recently and completely and no finding for it is open; evidence that is
//! missing, failed, partial or stale makes it `error`, never `pass`.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::Timestamp;
use crate::enums::word_enum;
use crate::model::{FindingStatus, Run, RunKind, RunOutcome, Severity};

word_enum! {
    /// What a control's evidence says now.
    pub enum ControlVerdict {
        /// Its evidence is recent and complete, and nothing for it is open.
        Pass = "pass",
        /// A finding for it is open (a failure no exception covers, or one for a person).
        Fail = "fail",
        /// Its evidence is missing, failed, partial or stale, or a finding for it could not be
        /// evaluated: nothing can be said, so it is not a pass.
        Error = "error",
    }
}

/// The kinds of run whose results are a control's evidence, as plumb.toml's `[controls]`
/// describe them: the inventory's syncs and checks for INV-01 (asset inventory); checks (the
/// baselines, CIS AWS v1.5) and reviewed-change audits (`plumb audit changes`) for CFG-01
/// (baselines and change control); drift scans for CFG-02 (drift detection); a control of the
/// user's own rests on checks.
pub fn evidence_kinds(control: &str) -> &'static [RunKind] {
    match control {
        "INV-01" => &[RunKind::Sync, RunKind::Check],
        "CFG-01" => &[RunKind::Check, RunKind::Audit],
        "CFG-02" => &[RunKind::Drift],
        _ => &[RunKind::Check],
    }
}

/// Whether `run` is evidence for `control`: a check run is only when it evaluated a check that
/// carries the control (its `details.summary[].controls`), so `plumb check --pack inventory`
/// is no evidence for CFG-01's baselines; a run of another kind covers every control that
/// rests on its kind.
pub fn covers(run: &Run, control: &str) -> bool {
    if run.kind == RunKind::Audit {
        // An audit names the control it reviews (`details.control`): a register reconciliation
        // is INV-01's, and says nothing of CFG-01's change review.
        return run.details.get("control").and_then(|c| c.as_str()).is_none_or(|c| c == control);
    }
    if run.kind != RunKind::Check {
        return true;
    }
    let summary = run.details.get("summary").and_then(|s| s.as_array());
    summary.into_iter().flatten().any(|check| {
        let controls = check.get("controls").and_then(|c| c.as_array());
        controls.into_iter().flatten().any(|c| c.as_str() == Some(control))
    })
}

/// The latest run of one evidence kind that covers the control, as the verdict needs it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Evidence {
    /// The kind of run.
    pub kind: RunKind,
    /// The latest run of that kind, if any ran.
    pub run_id: Option<String>,
    /// How it ended.
    pub outcome: Option<RunOutcome>,
    /// When it ended.
    pub finished_at: Option<Timestamp>,
}

/// A control's status with what it rests on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ControlStatus {
    /// The control's id.
    pub control: String,
    /// Its title from `[controls]`.
    pub title: String,
    /// The verdict.
    pub status: ControlVerdict,
    /// Why, in words.
    pub reasons: Vec<String>,
    /// Open findings for it by status (`fail`, `manual`, `error`, `excepted`).
    pub open: BTreeMap<FindingStatus, u64>,
    /// Open failures by severity.
    pub failing: BTreeMap<Severity, u64>,
    /// The latest run of each evidence kind.
    pub evidence: Vec<Evidence>,
}

/// The verdict for `control` from its open findings and its evidence runs, judged at `now`:
/// runs that ended more than `max_age_hours` ago are stale.
pub fn judge(
    control: &str,
    title: &str,
    open: BTreeMap<FindingStatus, u64>,
    failing: BTreeMap<Severity, u64>,
    evidence: Vec<Evidence>,
    now: Timestamp,
    max_age_hours: u32,
) -> ControlStatus {
    let oldest = Timestamp::from_micros(now.as_micros() - i64::from(max_age_hours) * 3_600_000_000);
    let mut reasons = Vec::new();
    let mut error = false;
    for item in &evidence {
        let problem = match (item.outcome, item.finished_at) {
            (None, _) | (_, None) => {
                Some(format!("no recent {} run covering {control} has been recorded", item.kind))
            }
            (Some(RunOutcome::Failed), _) => Some(format!("the latest {} run failed", item.kind)),
            (Some(RunOutcome::Partial), _) => {
                Some(format!("the latest {} run did not see everything", item.kind))
            }
            (_, Some(at)) if oldest.is_some_and(|oldest| at < oldest) => Some(format!(
                "the latest {} run ended at {at}, more than {max_age_hours} hours ago",
                item.kind
            )),
            _ => None,
        };
        if let Some(problem) = problem {
            error = true;
            reasons.push(problem);
        }
    }
    let count = |status| open.get(&status).copied().unwrap_or(0);
    if count(FindingStatus::Error) > 0 {
        error = true;
        reasons.push(format!("{} result(s) could not be evaluated", count(FindingStatus::Error)));
    }
    let failed = count(FindingStatus::Fail) + count(FindingStatus::Manual);
    if failed > 0 {
        reasons.push(format!("{failed} finding(s) open"));
    }
    let status = if error {
        ControlVerdict::Error
    } else if failed > 0 {
        ControlVerdict::Fail
    } else {
        reasons.push("recent, complete evidence and nothing open".to_owned());
        ControlVerdict::Pass
    };
    ControlStatus {
        control: control.to_owned(),
        title: title.to_owned(),
        status,
        reasons,
        open,
        failing,
        evidence,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    fn ran(kind: RunKind, outcome: RunOutcome, finished: &str) -> Evidence {
        Evidence { kind, run_id: Some("R".into()), outcome: Some(outcome), finished_at: Some(at(finished)) }
    }

    fn verdict(evidence: Vec<Evidence>, open: &[(FindingStatus, u64)]) -> ControlStatus {
        let open = open.iter().copied().collect();
        judge(
            "X-01",
            "a control resting on checks and drift",
            open,
            BTreeMap::new(),
            evidence,
            at("2026-12-07T12:00:00Z"),
            36,
        )
    }

    #[test]
    fn a_pass_needs_every_kind_of_evidence_recent_and_complete() {
        let fresh = || {
            vec![
                ran(RunKind::Check, RunOutcome::Blocked, "2026-12-07T03:00:00Z"),
                ran(RunKind::Drift, RunOutcome::Succeeded, "2026-12-07T02:00:00Z"),
            ]
        };
        assert_eq!(verdict(fresh(), &[]).status, ControlVerdict::Pass);
        assert_eq!(verdict(fresh(), &[(FindingStatus::Excepted, 3)]).status, ControlVerdict::Pass);
        assert_eq!(verdict(fresh(), &[(FindingStatus::Fail, 1)]).status, ControlVerdict::Fail);
        assert_eq!(
            verdict(fresh(), &[(FindingStatus::Fail, 1), (FindingStatus::Error, 1)]).status,
            ControlVerdict::Error
        );

        let never = Evidence { kind: RunKind::Drift, run_id: None, outcome: None, finished_at: None };
        let unseen = verdict(vec![fresh().remove(0), never], &[]);
        assert_eq!(unseen.status, ControlVerdict::Error);
        assert!(unseen.reasons.iter().any(|r| r.contains("no recent drift run covering X-01")), "{unseen:?}");
        for (outcome, finished, why) in [
            (RunOutcome::Partial, "2026-12-07T02:00:00Z", "did not see everything"),
            (RunOutcome::Failed, "2026-12-07T02:00:00Z", "failed"),
            (RunOutcome::Succeeded, "2026-12-05T02:00:00Z", "more than 36 hours ago"),
        ] {
            let judged = verdict(vec![fresh().remove(0), ran(RunKind::Drift, outcome, finished)], &[]);
            assert_eq!(judged.status, ControlVerdict::Error, "{why}");
            assert!(judged.reasons.iter().any(|r| r.contains(why)), "{judged:?}");
        }
    }

    #[test]
    fn a_check_run_is_evidence_only_for_the_controls_of_the_checks_it_evaluated() {
        let run = |kind, details| Run {
            id: "R".into(),
            kind,
            name: String::new(),
            started_at: at("2026-12-07T02:00:00Z"),
            finished_at: at("2026-12-07T02:00:00Z"),
            actor: "cli".into(),
            outcome: RunOutcome::Succeeded,
            inputs: serde_json::json!({}),
            counts: serde_json::json!({}),
            details,
        };
        let inventory_only =
            serde_json::json!({"summary": [{"check": "inventory.owner", "controls": ["INV-01"]}]});
        assert!(covers(&run(RunKind::Check, inventory_only.clone()), "INV-01"));
        assert!(!covers(&run(RunKind::Check, inventory_only), "CFG-01"));
        assert!(!covers(&run(RunKind::Check, serde_json::json!({})), "INV-01"));
        assert!(covers(&run(RunKind::Drift, serde_json::json!({})), "CFG-02"));
        let register = run(RunKind::Audit, serde_json::json!({"control": "INV-01"}));
        assert!(!covers(&register, "CFG-01"), "a register audit is no change review");
        assert!(covers(&run(RunKind::Audit, serde_json::json!({"control": "CFG-01"})), "CFG-01"));
    }
}
