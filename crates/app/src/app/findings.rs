//! Reading what runs recorded: stored findings (open, or with the resolved ones) with filters,
//! and the runs themselves. Every front end reads through here, under the role table.

use plumb_core::Timestamp;
use plumb_core::authz::Action;
use plumb_core::glob::wildcard;
use plumb_core::model::{Finding, FindingStatus, Run, RunKind, Severity};
use serde::Serialize;

use crate::app::Context;

/// Which findings to list; every condition given must hold.
#[derive(Clone, Debug, Default)]
pub struct FindingFilter {
    /// A check id or `*` pattern (`cis-aws-1.5/2.1.*`).
    pub check: Option<String>,
    /// The key of the asset (or resource, or exception) it is about.
    pub key: Option<String>,
    /// Its status.
    pub status: Option<FindingStatus>,
    /// At least this severity.
    pub severity: Option<Severity>,
    /// One of its controls (`CFG-01`).
    pub control: Option<String>,
    /// Resolved findings too.
    pub include_resolved: bool,
}

/// A stored finding as listed: the finding, the run that last reported it, when it resolved.
#[derive(Clone, Debug, Serialize)]
pub struct Listed {
    /// The finding.
    #[serde(flatten)]
    pub finding: Finding,
    /// The run that last reported it.
    pub run_id: String,
    /// When it was resolved; open when absent.
    pub resolved_at: Option<Timestamp>,
}

/// The stored findings the filter selects, by check and key.
pub async fn list(ctx: &Context, filter: &FindingFilter) -> anyhow::Result<Vec<Listed>> {
    ctx.permit(Action::Read)?;
    let stored = ctx.store.findings(None, filter.include_resolved).await?;
    Ok(stored
        .into_iter()
        .filter(|s| {
            let f = &s.finding;
            filter.check.as_deref().is_none_or(|pattern| wildcard(pattern, &f.check))
                && filter.key.as_deref().is_none_or(|key| f.key == key)
                && filter.status.is_none_or(|status| f.status == status)
                && filter.severity.is_none_or(|lowest| f.severity >= lowest)
                && filter.control.as_deref().is_none_or(|control| f.controls.iter().any(|c| c == control))
        })
        .map(|s| Listed { finding: s.finding, run_id: s.run_id, resolved_at: s.resolved_at })
        .collect())
}

/// The most recent runs, newest first, optionally of one kind.
pub async fn runs(ctx: &Context, kind: Option<RunKind>, limit: usize) -> anyhow::Result<Vec<Run>> {
    ctx.permit(Action::Read)?;
    Ok(ctx.store.runs(kind, limit.max(1)).await?)
}

/// One run with everything it recorded.
pub async fn run(ctx: &Context, id: &str) -> anyhow::Result<Run> {
    ctx.permit(Action::Read)?;
    Ok(ctx.store.run(id).await?)
}

/// A run recorded, or the slot of a job whose run is not recorded yet.
#[derive(Clone, Debug)]
pub enum RunState {
    /// The run.
    Recorded(Run),
    /// Still running: its slot (holder, since when).
    Running(plumb_store::Slot),
}

/// The run `id`, or, for a job still running, its slot: a job's run id is known from its
/// claim on.
pub async fn run_or_running(ctx: &Context, id: &str) -> anyhow::Result<RunState> {
    ctx.permit(Action::Read)?;
    match ctx.store.run(id).await {
        Ok(run) => Ok(RunState::Recorded(run)),
        Err(plumb_store::StoreError::NotFound { .. }) => match ctx.store.slot_of_run(id).await? {
            Some(slot) if slot.finished_at.is_none() => Ok(RunState::Running(slot)),
            // It finished between the two reads: its run is recorded before its slot closes.
            Some(_) => Ok(RunState::Recorded(ctx.store.run(id).await?)),
            None => Err(plumb_store::StoreError::NotFound { what: "run", reference: id.to_owned() }.into()),
        },
        Err(err) => Err(err.into()),
    }
}

/// Drift as it stands: the open drift items and the latest drift run.
#[derive(Clone, Debug, Serialize)]
pub struct DriftView {
    /// Open unmanaged, missing and changed items.
    pub items: Vec<Listed>,
    /// The latest drift run (its details hold the coverage), if one ran.
    pub run: Option<Run>,
}

/// The open drift items and the latest drift run.
pub async fn drift(ctx: &Context) -> anyhow::Result<DriftView> {
    let filter = FindingFilter { check: Some("drift/*".to_owned()), ..FindingFilter::default() };
    let items = list(ctx, &filter).await?;
    let run = ctx.store.runs(Some(RunKind::Drift), 1).await?.into_iter().next();
    Ok(DriftView { items, run })
}
