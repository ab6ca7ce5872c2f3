//! The status of each control (`[controls]` of plumb.toml): its open findings and the latest
//! run of each kind that is its evidence, judged by `plumb_core::controls::judge`.

use std::collections::BTreeMap;

use plumb_core::authz::Action;
use plumb_core::controls::{self, ControlStatus, Evidence};
use plumb_core::model::FindingStatus;

use crate::app::Context;

/// The controls evidence is kept for when plumb.toml names none: the policy's own.
const POLICY_CONTROLS: &[&str] = &["CFG-01", "CFG-02", "INV-01"];

/// Every control's status, in id order.
pub async fn status(ctx: &Context) -> anyhow::Result<Vec<ControlStatus>> {
    ctx.permit(Action::Read)?;
    let mut titles: BTreeMap<String, String> =
        ctx.config.controls.iter().map(|(id, control)| (id.clone(), control.title.clone())).collect();
    if titles.is_empty() {
        titles = POLICY_CONTROLS.iter().map(|id| ((*id).to_owned(), String::new())).collect();
    }
    let open = ctx.store.findings(None, false).await?;
    let now = plumb_store::now();
    let mut statuses = Vec::new();
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
            let latest = ctx.store.runs(Some(kind), 1).await?.into_iter().next();
            evidence.push(Evidence {
                kind,
                run_id: latest.as_ref().map(|r| r.id.clone()),
                outcome: latest.as_ref().map(|r| r.outcome),
                finished_at: latest.map(|r| r.finished_at),
            });
        }
        let max_age = ctx.config.checks.max_data_age_hours;
        statuses.push(controls::judge(control, title, by_status, failing, evidence, now, max_age));
    }
    Ok(statuses)
}
