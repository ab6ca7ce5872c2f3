//! The exceptions register (policy §9): request, approve, reject, accept the production risk,
//! revoke, renew, list. Each decision goes through the role table and leaves an event.

use plumb_core::authz::Action;
use plumb_core::exception::{EXCEPTED_BY, Exception, ExceptionId, Request, State};
use plumb_core::glob::wildcard;
use serde::Serialize;
use serde_json::{Value, json};

use crate::app::Context;
use crate::app::check::{CheckRequest, policies};
use crate::error::BadInput;

/// Checks whose ids come from what a gate found rather than from a pack: any id under these.
const GATE_CHECKS: &[&str] = &["image/", "dockerfile/", "iac/", "base-image/"];

/// The checks drift reports.
const DRIFT_CHECKS: &[&str] = &["drift/unmanaged", "drift/missing", "drift/changed"];

/// A new request, or what was said about it.
#[derive(Debug)]
pub struct Requested {
    /// The exception, as stored.
    pub exception: Exception,
    /// Open findings it would cover today; none is worth a warning, not a refusal.
    pub covers_now: usize,
}

/// Requests an exception. A check pattern that names no check is refused (a typo must not
/// except nothing silently). Unless restricted to another environment, it may touch
/// production, so it needs the Head of Product's risk acceptance too.
pub async fn request(ctx: &Context, request: Request) -> anyhow::Result<Requested> {
    ctx.permit(Action::RequestException)?;
    known_check(ctx, &request.checks).await?;
    let production = request.selector.environment().is_none_or(|e| e == ctx.config.inventory.production);
    let mut tx = ctx.begin_write().await?;
    let id = tx.next_exception_id().await?;
    let exception = request
        .into_exception(id, &ctx.principal.who, production, tx.now(), ctx.config.exceptions.max_days)
        .map_err(|err| BadInput(err.to_string()))?;
    tx.save_exception(None, &exception, "requested").await?;
    tx.commit().await?;
    let covers_now = ctx
        .store
        .findings(None, false)
        .await?
        .iter()
        .filter(|f| {
            exception.names_check(&f.finding.check)
                && exception.selector.matches(&facts_of_key(&f.finding.key))
        })
        .count();
    Ok(Requested { exception, covers_now })
}

/// A renewal: a new request with the same scope, justification and controls, and a new last
/// day; it needs approval again.
pub async fn renew(ctx: &Context, id: ExceptionId, last_day: &str) -> anyhow::Result<Requested> {
    let old = find(ctx, id).await?;
    let renewal = Request {
        checks: old.checks,
        selector: old.selector,
        justification: old.justification,
        controls: old.controls,
        reference: old.reference,
        last_day: last_day.to_owned(),
        renews: Some(id),
    };
    request(ctx, renewal).await
}

/// A decision about one exception.
#[derive(Clone, Copy, Debug)]
pub enum Decide<'a> {
    /// The Information Security Manager approves.
    Approve,
    /// The Information Security Manager rejects, saying why.
    Reject(&'a str),
    /// The Head of Product accepts the production risk.
    AcceptRisk,
    /// Withdrawn, saying why.
    Revoke(&'a str),
}

/// Records a decision: the role table first, then whether it fits where the exception stands.
pub async fn decide(ctx: &Context, id: ExceptionId, decision: Decide<'_>) -> anyhow::Result<Exception> {
    let mut tx = ctx.begin_write().await?;
    let before = tx.exception(id).await?;
    let requester = before.requested_by.as_str();
    let (action, event) = match decision {
        Decide::Approve => (Action::ReviewException { requester }, "approved"),
        Decide::Reject(_) => (Action::ReviewException { requester }, "rejected"),
        Decide::AcceptRisk => (Action::AcceptRisk { requester }, "risk_accepted"),
        Decide::Revoke(_) => (Action::RevokeException, "revoked"),
    };
    ctx.permit(action)?;
    let (now, who) = (tx.now(), ctx.principal.who.as_str());
    let mut after = before.clone();
    match decision {
        Decide::Approve => after.approve(who, now),
        Decide::Reject(reason) => after.reject(who, reason, now),
        Decide::AcceptRisk => after.accept_risk(who, now),
        Decide::Revoke(reason) => after.revoke(who, reason, now),
    }
    .map_err(|err| BadInput(err.to_string()))?;
    tx.save_exception(Some(&before), &after, event).await?;
    tx.commit().await?;
    Ok(after)
}

/// One exception.
pub async fn find(ctx: &Context, id: ExceptionId) -> anyhow::Result<Exception> {
    ctx.permit(Action::Read)?;
    let all = ctx.store.exceptions().await?;
    all.into_iter().find(|e| e.id == id).ok_or_else(|| BadInput(format!("no exception {id}")).into())
}

/// One exception as `show` prints it: the record, its history, and the open findings it
/// excepts now.
#[derive(Debug, Serialize)]
pub struct Shown {
    /// The record, where it stands and its last day.
    #[serde(flatten)]
    pub exception: Value,
    /// Every change, oldest first: (at, actor, action).
    pub history: Vec<Value>,
    /// `CHECK|KEY` of the open findings it excepts.
    pub covers: Vec<String>,
}

/// One exception with its history and what it covers.
pub async fn show(ctx: &Context, id: ExceptionId) -> anyhow::Result<Shown> {
    let exception = find(ctx, id).await?;
    let history = ctx
        .store
        .exception_history(&id.to_string())
        .await?
        .into_iter()
        .map(|e| json!({"at": e.at, "actor": e.actor, "action": e.action}))
        .collect();
    let name = id.to_string();
    let covers = ctx
        .store
        .findings(None, false)
        .await?
        .into_iter()
        .filter(|f| f.finding.evidence.get(EXCEPTED_BY).and_then(Value::as_str) == Some(name.as_str()))
        .map(|f| format!("{}|{}", f.finding.check, f.finding.key))
        .collect();
    let exception = serde_json::to_value(exception.listed(plumb_store::now()))?;
    Ok(Shown { exception, history, covers })
}

/// The register, optionally only in one state or ending within `days`.
pub async fn list(
    ctx: &Context,
    state: Option<State>,
    ending_within_days: Option<u32>,
) -> anyhow::Result<Vec<Exception>> {
    ctx.permit(Action::Read)?;
    let now = plumb_store::now();
    let horizon = ending_within_days.and_then(|days| now.plus_days(i64::from(days)));
    Ok(ctx
        .store
        .exceptions()
        .await?
        .into_iter()
        .filter(|e| state.is_none_or(|s| e.state(now) == s))
        .filter(|e| horizon.is_none_or(|h| e.expires_at <= h && e.state(now) != State::Expired))
        .collect())
}

/// Refuses a check pattern that names no check plumb knows: no built-in check, drift kind,
/// gate namespace or check with a stored finding.
async fn known_check(ctx: &Context, pattern: &str) -> anyhow::Result<()> {
    if GATE_CHECKS.iter().any(|prefix| pattern.starts_with(prefix)) {
        return Ok(());
    }
    let everything =
        CheckRequest { packs: Vec::new(), policy_dirs: Vec::new(), environment: None, overrides: Vec::new() };
    let built_in = policies(&everything, plumb_policy::Limits::default())?.set;
    let mut known = built_in.checks().iter().map(|c| c.id.clone()).collect::<Vec<_>>();
    known.extend(DRIFT_CHECKS.iter().map(|c| (*c).to_owned()));
    known.extend(ctx.store.findings(None, true).await?.into_iter().map(|f| f.finding.check));
    if known.iter().any(|id| wildcard(pattern, id)) {
        Ok(())
    } else {
        Err(BadInput(format!(
            "--check: {pattern:?} names no check plumb knows (see `plumb policy list`, drift/unmanaged|missing|changed, \
             image/ID, dockerfile/RULE, iac/RULE)"
        ))
        .into())
    }
}

/// What a finding's key alone says about its asset (enough for key selectors).
fn facts_of_key(key: &str) -> plumb_core::exception::AssetFacts<'_> {
    plumb_core::exception::AssetFacts { key, ..Default::default() }
}
