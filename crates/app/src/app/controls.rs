//! The status of each control (`[controls]` of plumb.toml): its open findings and the latest
//! run of each kind that is its evidence, judged by `plumb_core::controls::judge`.

use std::collections::BTreeMap;

use plumb_core::authz::Action;
use plumb_core::controls::{self, ControlStatus, Evidence};
use plumb_core::model::FindingStatus;

use crate::app::Context;

/// The controls evidence is kept for when plumb.toml names none: the policy's own.
const POLICY_CONTROLS: &[&str] = &["CFG-01", "CFG-02", "INV-01"];

/// How many of the latest runs of a kind are searched for one that covers a control: older
/// ones are stale by then at any sane schedule, and a control none of them covers is `error`.
const RECENT_RUNS: usize = 50;

/// The controls there are: `[controls]` of plumb.toml, or the policy's three when it names
/// none; id → title.
pub fn known(ctx: &Context) -> BTreeMap<String, String> {
    let titles: BTreeMap<String, String> =
        ctx.config.controls.iter().map(|(id, control)| (id.clone(), control.title.clone())).collect();
    if titles.is_empty() {
        return POLICY_CONTROLS.iter().map(|id| ((*id).to_owned(), String::new())).collect();
    }
    titles
}

/// Every control's status, in id order.
pub async fn status(ctx: &Context) -> anyhow::Result<Vec<ControlStatus>> {
    ctx.permit(Action::Read)?;
    let titles = known(ctx);
    let open = ctx.store.findings(None, false).await?;
    let now = plumb_store::now();
    let mut statuses = Vec::new();
    let mut recent = BTreeMap::new();
    for &kind in titles.keys().flat_map(|control| controls::evidence_kinds(control)) {
        if let std::collections::btree_map::Entry::Vacant(slot) = recent.entry(kind) {
            slot.insert(ctx.store.runs(Some(kind), RECENT_RUNS).await?);
        }
    }
    for (control, title) in &titles {
        let mut by_status = BTreeMap::new();
        let mut failing = BTreeMap::new();
        for stored in open.iter().filter(|s| s.finding.controls.iter().any(|c| c == control)) {
            *by_status.entry(stored.finding.status).or_insert(0) += 1;
            if stored.finding.status == FindingStatus::Fail {
                *failing.entry(stored.finding.severity).or_insert(0) += 1;
            }
        }
        let mut evidence = Vec::new();
        for &kind in controls::evidence_kinds(control) {
            let latest = recent[&kind].iter().find(|run| controls::covers(run, control));
            evidence.push(Evidence {
                kind,
                run_id: latest.map(|r| r.id.clone()),
                outcome: latest.map(|r| r.outcome),
                finished_at: latest.map(|r| r.finished_at),
            });
        }
        let max_age = ctx.config.checks.max_data_age_hours;
        statuses.push(controls::judge(control, title, by_status, failing, evidence, now, max_age));
    }
    Ok(statuses)
}
