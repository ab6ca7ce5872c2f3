//! The exceptions register (policy §9): request, approve, reject, accept the production risk,
//! revoke, renew, list, remind. Each decision goes through the role table and leaves an event.

use std::collections::BTreeMap;

use plumb_core::authz::Action;
use plumb_core::exception::{EXCEPTED_BY, Exception, ExceptionId, Reminder, Request, State, reminders_due};
use plumb_core::glob::wildcard;
use plumb_core::model::{Run, RunKind, RunOutcome};
use plumb_sink::{Alert, AlertItem, Delivery, Retry, Scan, Sink};
use serde::Serialize;
use serde_json::{Value, json};

use crate::app::check::{CheckRequest, policies};
use crate::app::{Context, alerts};
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
    /// Open findings it would cover today; none is worth a warning, not a refusal. `None` for
    /// a gate's checks (`image/…`, `dockerfile/…`, `iac/…`): gates judge when they run and
    /// store no findings to count.
    pub covers_now: Option<usize>,
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
    if is_gate_check(&exception.checks) {
        return Ok(Requested { exception, covers_now: None });
    }
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
    Ok(Requested { exception, covers_now: Some(covers_now) })
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
    if is_gate_check(pattern) {
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

/// Whether a check pattern is a gate's (its ids come from what the gate found).
fn is_gate_check(pattern: &str) -> bool {
    GATE_CHECKS.iter().any(|prefix| pattern.starts_with(prefix))
}

/// What a finding's key alone says about its asset (enough for key selectors).
fn facts_of_key(key: &str) -> plumb_core::exception::AssetFacts<'_> {
    plumb_core::exception::AssetFacts { key, ..Default::default() }
}

/// One reminder that was due: about which exception, and which sinks have had it.
#[derive(Debug, Serialize)]
pub struct Due {
    /// The exception.
    pub exception: ExceptionId,
    /// Ending soon, or ended.
    pub reminder: Reminder,
    /// Its last day.
    pub last_day: String,
    /// What the alert says.
    pub message: String,
    /// The sinks that took it in this run.
    pub sent_to: Vec<String>,
    /// The sinks that had taken it before (not told again).
    pub sent_before: Vec<String>,
}

/// What `remind` did.
#[derive(Debug, Serialize)]
pub struct Reminded {
    /// The run recorded; `None` when no sink had anything new to hear.
    pub run_id: Option<String>,
    /// Every reminder due now.
    pub due: Vec<Due>,
    /// Each sink's delivery in this run.
    pub deliveries: Vec<Delivery>,
}

impl Reminded {
    /// Why the run did not do its job: a sink that never took its reminders (they stay due and
    /// are sent by the next run).
    pub fn failure(&self) -> Option<String> {
        let failed: Vec<String> = self
            .deliveries
            .iter()
            .filter(|d| !d.ok)
            .map(|d| format!("sink {} ({}): {}", d.sink, d.sink_type, d.error.as_deref().unwrap_or("failed")))
            .collect();
        (!failed.is_empty()).then(|| format!("reminders not delivered, they stay due: {}", failed.join("; ")))
    }
}

/// Tells the sinks that hear `exception-reminder` of every exception ending within
/// `notice_days` and of every one that lapsed, each sink once per reminder: what a sink has
/// taken is on the chain, so a run that was missed or failed loses nothing and a second run
/// sends nothing twice.
pub async fn remind(ctx: &Context, notice_days: u32, retry: &Retry) -> anyhow::Result<Reminded> {
    ctx.permit(Action::RecordRun)?;
    let sinks: Vec<Box<dyn Sink>> =
        alerts::sinks(ctx)?.into_iter().filter(|s| s.hears(Scan::ExceptionReminder)).collect();
    if sinks.is_empty() {
        return Err(BadInput(
            "no [[sink]] in plumb.toml takes exception reminders: a slack or webhook sink does by default, \
             others when their `scans` names \"exception-reminder\""
                .to_owned(),
        )
        .into());
    }
    let started = plumb_store::now();
    let register = ctx.store.exceptions().await?;
    let sent = ctx.store.reminders_sent().await?;
    let mut due: Vec<Due> = reminders_due(&register, started, notice_days)
        .into_iter()
        .map(|(exception, reminder)| Due {
            exception: exception.id,
            reminder,
            last_day: exception.last_day(),
            message: reminder_message(exception, reminder),
            sent_to: Vec::new(),
            sent_before: Vec::new(),
        })
        .collect();
    // Sinks that have the same reminders to hear hear them in one alert.
    let mut groups: BTreeMap<Vec<usize>, Vec<Box<dyn Sink>>> = BTreeMap::new();
    for sink in sinks {
        let mut unsent = Vec::new();
        for (index, item) in due.iter_mut().enumerate() {
            if sent.contains(&plumb_store::reminder_id(item.exception, item.reminder.as_str(), sink.name())) {
                item.sent_before.push(sink.name().to_owned());
            } else {
                unsent.push(index);
            }
        }
        if !unsent.is_empty() {
            groups.entry(unsent).or_default().push(sink);
        }
    }
    if groups.is_empty() {
        return Ok(Reminded { run_id: None, due, deliveries: Vec::new() });
    }
    let run_id = ulid::Ulid::generate().to_string();
    let mut deliveries = Vec::new();
    for (items, sinks) in &groups {
        let alert = reminder_alert(&run_id, started, items.iter().map(|&i| &due[i]));
        for delivery in alerts::tell(ctx, sinks, retry, &alert, None).await? {
            if delivery.ok {
                items.iter().for_each(|&i| due[i].sent_to.push(delivery.sink.clone()));
            }
            deliveries.push(delivery);
        }
    }
    let reminded = Reminded { run_id: Some(run_id), due, deliveries };
    record_reminders(ctx, &reminded, notice_days, started).await?;
    Ok(reminded)
}

/// "EX-3 (cis-aws-1.5/2.1.1 on type=aws.s3.bucket) ends after 2026-12-10; renew or fix what it covers."
fn reminder_message(exception: &Exception, reminder: Reminder) -> String {
    let selector = exception.selector.to_string();
    let scope = if selector.is_empty() {
        exception.checks.clone()
    } else {
        format!("{} on {selector}", exception.checks)
    };
    match reminder {
        Reminder::Expiring => format!(
            "{} ({scope}) ends after {}: renew it (plumb exception renew {} --expires DAY) or fix what it covers",
            exception.id,
            exception.last_day(),
            exception.id
        ),
        Reminder::Expired => format!(
            "{} ({scope}) ended after {}: what it covered counts again",
            exception.id,
            exception.last_day()
        ),
    }
}

fn reminder_alert<'a>(
    run_id: &str,
    at: plumb_core::Timestamp,
    items: impl Iterator<Item = &'a Due>,
) -> Alert {
    let opened: Vec<AlertItem> = items
        .map(|due| AlertItem {
            kind: due.reminder.as_str().to_owned(),
            key: due.exception.to_string(),
            resource_type: "exception".to_owned(),
            message: due.message.clone(),
        })
        .collect();
    let count = |kind: Reminder| opened.iter().filter(|item| item.kind == kind.as_str()).count();
    let summary = json!({"expiring": count(Reminder::Expiring), "expired": count(Reminder::Expired)});
    Alert {
        scan: Scan::ExceptionReminder,
        run_id: run_id.to_owned(),
        at: at.to_string(),
        outcome: plumb_sink::Outcome::Completed,
        error: None,
        opened,
        resolved: Vec::new(),
        open_unmanaged: None,
        summary,
        report_url: None,
    }
}

/// The run and, for every sink that took a reminder, that it did: in one transaction, so a
/// reminder is on the chain exactly when its run is.
async fn record_reminders(
    ctx: &Context,
    reminded: &Reminded,
    notice_days: u32,
    started: plumb_core::Timestamp,
) -> anyhow::Result<()> {
    let Some(run_id) = &reminded.run_id else { return Ok(()) };
    let mut tx = ctx.begin_write().await?;
    for due in &reminded.due {
        for sink in &due.sent_to {
            tx.record_reminder(due.exception, due.reminder.as_str(), sink, run_id).await?;
        }
    }
    let sent: usize = reminded.due.iter().map(|d| d.sent_to.len()).sum();
    let run = Run {
        id: run_id.clone(),
        kind: RunKind::Reminder,
        name: "exceptions".to_owned(),
        started_at: started,
        finished_at: tx.now(),
        actor: ctx.principal.who.clone(),
        outcome: match reminded.deliveries.iter().filter(|d| d.ok).count() {
            _ if reminded.failure().is_none() => RunOutcome::Succeeded,
            0 => RunOutcome::Failed,
            _ => RunOutcome::Partial,
        },
        inputs: json!({"within_days": notice_days}),
        counts: json!({"due": reminded.due.len(), "sent": sent}),
        details: json!({"due": reminded.due, "alerts": reminded.deliveries}),
    };
    tx.record_run(&run).await?;
    tx.commit().await?;
    Ok(())
}
