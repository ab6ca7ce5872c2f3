//! The scheduler of `plumb serve`: runs each `[schedule]` job at its slots, once per slot
//! however many servers share the database, and records every job as a run.
//!
//! How a slot runs once (`plumb_store` `schedule_slots`): the server that inserts (job, slot)
//! first runs it; the others' inserts are refused by the unique key. The holder renews its
//! lease while the job runs; when a holder dies, its unfinished claim is taken over once the
//! lease has run out, under a new epoch that fences off the old holder. A job never overlaps
//! itself: while its latest claim is unfinished and leased, no newer slot is claimed; that
//! slot runs when the claim ends. Which slot is due is `plumb_core::schedule::due` (a missed
//! slot runs once after downtime).
//!
//! Every job is a run of kind `job` (its slot, the runs it made, how it ended). Drift scans and
//! exception reminders tell their sinks themselves; the other jobs tell the sinks that hear
//! them (`scans = ["sync"]` on a heartbeat), so a heartbeat hears of every run and a failed job
//! reaches Slack and webhooks.

use std::sync::Arc;
use std::time::Duration;

use plumb_core::Timestamp;
use plumb_core::authz::{Identified, Principal};
use plumb_core::model::{Run, RunKind, RunOutcome};
use plumb_core::schedule::{self, Cron, Job};
use plumb_sink::{Alert, AlertItem, Outcome, Retry, Scan};
use plumb_store::{Claim, Finish, Slot, Store};
use serde::Serialize;
use serde_json::{Value, json};
use tokio::sync::watch;

use crate::app::progress::{Shared, Silent};
use crate::app::{Context, alerts, check, drift, exceptions, sync};
use crate::config::Config;
use crate::error::Busy;

/// Who the scheduler acts as: an agent of the policy, recorded on every run it makes.
pub const SCHEDULER: &str = "scheduler";

/// How often the scheduler looks for due slots, and how long a claim lasts unrenewed.
#[derive(Clone, Copy, Debug)]
pub struct Timing {
    /// Between two looks for due slots.
    pub tick: Duration,
    /// How long a claim holds without renewal; another server takes it over after that.
    pub lease: Duration,
    /// Between two renewals of a running job's claim.
    pub renew: Duration,
}

impl Timing {
    /// Production: slots are minutes apart; a dead server's job is taken over within two
    /// minutes, and a renewal may fail three times before the claim is lost.
    pub const STANDARD: Timing = Timing {
        tick: Duration::from_secs(10),
        lease: Duration::from_secs(120),
        renew: Duration::from_secs(30),
    };

    /// `STANDARD`, or with `PLUMB_TEST_SCHEDULE_SECONDS=N` (tests only) a lease of N seconds
    /// and quick ticks, so a test sees slots seconds apart and a takeover within N seconds.
    pub fn from_env() -> Timing {
        let lease =
            std::env::var(crate::config::TEST_SCHEDULE_SECONDS).ok().and_then(|v| v.parse::<u64>().ok());
        match lease {
            Some(seconds) => {
                let lease = Duration::from_secs(seconds.max(1));
                Timing { tick: Duration::from_millis(200), lease, renew: lease / 4 }
            }
            None => Timing::STANDARD,
        }
    }
}

/// One scheduled job as `plumb schedule` shows it.
#[derive(Clone, Debug, Serialize)]
pub struct Planned {
    /// The job.
    pub job: Job,
    /// Its cron expression.
    pub cron: String,
    /// Its next slots, soonest first (what "bi-monthly" was taken to mean).
    pub next: Vec<Timestamp>,
    /// The latest slot it claimed.
    pub last_slot: Option<Timestamp>,
    /// Who claimed it.
    pub last_holder: Option<String>,
    /// How it ended: a run outcome, or `running`.
    pub last_outcome: Option<String>,
    /// Why it failed, if it did.
    pub last_error: Option<String>,
    /// The run recording it.
    pub last_run: Option<String>,
    /// The latest slot that came and was not claimed (no scheduler was running): it runs once
    /// when one starts.
    pub missed: Option<Timestamp>,
}

/// The schedule: every configured job, its next `count` slots, its last slot and any missed.
pub async fn plan(ctx: &Context, count: usize) -> anyhow::Result<Vec<Planned>> {
    ctx.permit(plumb_core::authz::Action::Read)?;
    let now = plumb_store::now();
    let mut planned = Vec::new();
    for (job, cron) in ctx.config.schedule.jobs() {
        let last: Option<Slot> = ctx.store.last_slot(job).await?;
        let missed = last.as_ref().and_then(|last| schedule::due(cron, Some(last.scheduled_for), now, now));
        let outcome = last.as_ref().map(|s| s.outcome.clone().unwrap_or_else(|| "running".to_owned()));
        planned.push(Planned {
            job,
            cron: cron.to_string(),
            next: cron.upcoming(now, count),
            last_slot: last.as_ref().map(|s| s.scheduled_for),
            last_holder: last.as_ref().map(|s| s.holder.clone()),
            last_outcome: outcome,
            last_error: last.as_ref().and_then(|s| s.error.clone()),
            last_run: last.map(|s| s.run_id),
            missed,
        });
    }
    Ok(planned)
}

/// Runs the scheduled jobs until `stop` turns true; jobs in flight then are abandoned and
/// their claims released, so another server takes them over at once.
pub async fn run(
    config: Arc<Config>,
    store: Store,
    holder: String,
    timing: Timing,
    stop: watch::Receiver<bool>,
) {
    let principal = Principal::new(SCHEDULER, [], Identified::Agent);
    let ctx = Arc::new(Context { config, store, principal });
    let started = plumb_store::now();
    let jobs: Vec<(Job, Cron)> =
        ctx.config.schedule.jobs().into_iter().map(|(j, c)| (j, c.clone())).collect();
    if jobs.is_empty() {
        tracing::info!(message = "no [schedule] in plumb.toml: no job runs on a schedule");
        return;
    }
    let mut running = tokio::task::JoinSet::new();
    let mut busy: Vec<Job> = Vec::new();
    let mut stopping = stop.clone();
    loop {
        tokio::select! {
            _ = stopping.changed() => break,
            Some(done) = running.join_next() => {
                if let Ok(job) = done {
                    busy.retain(|j| *j != job);
                }
            }
            () = tokio::time::sleep(until_next_look(&jobs, timing.tick)) => {
                for (job, cron) in &jobs {
                    if busy.contains(job) {
                        continue;
                    }
                    match claim_due(&ctx.store, *job, cron, &holder, started, timing).await {
                        Ok(Some(claim)) => {
                            busy.push(*job);
                            let (ctx, cron, stop) = (ctx.clone(), cron.clone(), stop.clone());
                            running.spawn(async move { hold(&ctx, claim, Some(&cron), timing, stop).await });
                        }
                        Ok(None) => {}
                        Err(err) => tracing::warn!(message = "cannot claim a slot", job = %job, error = %err),
                    }
                }
            }
        }
    }
    // Each job sees `stop` itself and releases its claim; wait for them to do so.
    while running.join_next().await.is_some() {}
}

/// How long to wait before looking again: until the next slot of any job, so every server
/// sharing the database looks at the same instant (and the claim decides), but no longer than
/// `tick`, so a takeover or a slot held back by a running job is not left waiting.
fn until_next_look(jobs: &[(Job, Cron)], tick: Duration) -> Duration {
    let now = plumb_store::now();
    let next = jobs.iter().filter_map(|(_, cron)| cron.next_after(now)).min();
    let until = next.map_or(tick, |slot| {
        Duration::from_micros(u64::try_from(slot.as_micros() - now.as_micros()).unwrap_or(0))
    });
    until.min(tick)
}

/// Claims `job`'s due slot, or takes over its unfinished slot whose holder's lease ran out.
async fn claim_due(
    store: &Store,
    job: Job,
    cron: &Cron,
    holder: &str,
    started: Timestamp,
    timing: Timing,
) -> anyhow::Result<Option<Claim>> {
    let now = plumb_store::now();
    let lease_until = later(now, timing.lease);
    let last = store.last_slot(job).await?;
    if let Some(last) = last.as_ref().filter(|slot| slot.finished_at.is_none()) {
        // Unfinished: still running somewhere (no overlap), or its holder died.
        if last.lease_until >= now {
            return Ok(None);
        }
        tracing::warn!(message = "taking over a slot whose holder stopped renewing", job = %job, slot = %last.scheduled_for, holder = %last.holder);
        return Ok(store.take_over_slot(last, holder, now, lease_until).await?);
    }
    let Some(slot) = schedule::due(cron, last.map(|s| s.scheduled_for), started, now) else {
        return Ok(None);
    };
    let run_id = ulid::Ulid::generate().to_string();
    Ok(store.claim_slot(job, slot, holder, (now, lease_until), &run_id).await?)
}

/// A job started on request: the run it will be recorded as, and its slot.
#[derive(Clone, Debug, Serialize)]
pub struct Started {
    /// The id its run will have (`GET /api/v1/runs/{id}` answers "running" until then).
    pub run_id: String,
    /// The job.
    pub job: Job,
    /// Its slot: now.
    pub slot: Timestamp,
}

/// Starts `job` now for the principal of `ctx` (who must be allowed to record runs), in the
/// background of this server, under the same claim as a scheduled slot: refused while the
/// job's latest claim is running anywhere (no overlap; the database's one-unfinished-slot key
/// decides between requests racing). A claim whose holder died is closed as failed first:
/// the job started now takes its place.
pub async fn start(
    ctx: Context,
    job: Job,
    holder: &str,
    stop: watch::Receiver<bool>,
) -> anyhow::Result<Started> {
    ctx.permit(plumb_core::authz::Action::RecordRun)?;
    let timing = Timing::from_env();
    let now = plumb_store::now();
    if let Some(last) = ctx.store.last_slot(job).await?
        && last.finished_at.is_none()
    {
        if last.lease_until >= now {
            return Err(Busy(format!(
                "a {job} job is running already (run {}, started by {} for {})",
                last.run_id, last.holder, last.scheduled_for
            ))
            .into());
        }
        let why = format!(
            "its holder {} stopped renewing its claim; a {job} job started on request by {} took its place",
            last.holder, ctx.principal.who
        );
        ctx.store.abandon_slot(&last, now, &why).await?;
    }
    let run_id = ulid::Ulid::generate().to_string();
    let Some(claim) =
        ctx.store.claim_slot(job, now, holder, (now, later(now, timing.lease)), &run_id).await?
    else {
        return Err(
            Busy(format!("a {job} job was started at the same moment by another request or server")).into()
        );
    };
    let started = Started { run_id, job, slot: now };
    tokio::spawn(async move { hold(&ctx, claim, None, timing, stop).await });
    Ok(started)
}

/// Runs a claimed job while renewing its claim, then records it; stops early, releasing the
/// claim, when told to stop, and abandons the job when the claim is lost.
/// `cron` is the schedule's expression, or `None` for a job started on request.
async fn hold(
    ctx: &Context,
    claim: Claim,
    cron: Option<&Cron>,
    timing: Timing,
    mut stop: watch::Receiver<bool>,
) -> Job {
    let job = claim.job;
    tracing::info!(message = "job started", job = %job, slot = %claim.scheduled_for);
    let started = plumb_store::now();
    // Renewed from a task of its own: a job holding its thread (a check evaluating a batch)
    // must not starve its own lease.
    let renewer = tokio::spawn(renew(ctx.store.clone(), claim.clone(), timing));
    let mut renewer = AbortOnDrop(renewer);
    let done = tokio::select! {
        done = run_unless_recorded(ctx, &claim) => done,
        _ = &mut renewer.0 => {
            tracing::error!(message = "lost the claim on a running job (another server took it over); abandoning it", job = %job, slot = %claim.scheduled_for);
            return job;
        }
        _ = stop.changed() => {
            if let Err(err) = ctx.store.release_slot(&claim, plumb_store::now()).await {
                tracing::warn!(message = "cannot release a claim; it is taken over when its lease ends", job = %job, error = %err);
            }
            tracing::info!(message = "job abandoned at shutdown; its claim is released", job = %job);
            return job;
        }
    };
    if let Err(err) = finish(ctx, &claim, cron, started, done).await {
        tracing::error!(message = "cannot record a finished job", job = %job, error = format!("{err:#}"));
    }
    job
}

/// Executes the claimed job, unless a holder that died after recording its run is what this
/// claim took over: that job ran, and running it again would record its run twice.
async fn run_unless_recorded(ctx: &Context, claim: &Claim) -> Done {
    if claim.epoch > 1
        && let Ok(run) = ctx.store.run(&claim.run_id).await
    {
        tracing::info!(message = "the job of a slot taken over had been recorded; closing it", job = %claim.job, run = %run.id);
        return Done::recorded(claim.job, run);
    }
    execute(ctx, claim.job).await
}

/// Keeps `claim` leased until the task is aborted; returns when the claim was lost.
async fn renew(store: Store, claim: Claim, timing: Timing) {
    loop {
        tokio::time::sleep(timing.renew).await;
        match store.renew_slot(&claim, later(plumb_store::now(), timing.lease)).await {
            Ok(true) => {}
            Ok(false) => return,
            // The database may be back before the lease ends.
            Err(err) => tracing::warn!(message = "cannot renew a claim", job = %claim.job, error = %err),
        }
    }
}

/// A task stopped when its handle goes out of scope (the renewal of a job that ended).
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// What a job did: its outcome, why it failed, the runs it recorded, whether it told the
/// sinks itself, and its own run when that was recorded already (by a holder that died).
struct Done {
    outcome: RunOutcome,
    error: Option<String>,
    runs: Vec<String>,
    told_sinks: bool,
    recorded: Option<Run>,
}

impl Done {
    fn failed(err: &anyhow::Error) -> Done {
        Done {
            outcome: RunOutcome::Failed,
            error: Some(format!("{err:#}")),
            runs: Vec::new(),
            told_sinks: false,
            recorded: None,
        }
    }

    fn succeeded(runs: Vec<String>, told_sinks: bool) -> Done {
        Done { outcome: RunOutcome::Succeeded, error: None, runs, told_sinks, recorded: None }
    }

    /// A job whose run is recorded: its sinks are told again, since its holder may have died
    /// before telling them (an alert twice rather than none).
    fn recorded(job: Job, run: Run) -> Done {
        let error = run.details["error"].as_str().map(str::to_owned);
        let told_sinks = tells_sinks_itself(job);
        Done { outcome: run.outcome, error, runs: Vec::new(), told_sinks, recorded: Some(run) }
    }
}

/// Whether the job's use case tells the sinks itself (a drift scan alerts on what it found,
/// the exception reminder sends its notices), so the job adds no alert of its own.
fn tells_sinks_itself(job: Job) -> bool {
    matches!(job, Job::Drift | Job::ExceptionReminder)
}

async fn execute(ctx: &Context, job: Job) -> Done {
    let progress: Shared = Arc::new(Silent);
    let retry = Retry::default();
    let result: anyhow::Result<Done> = async {
        match job {
            Job::Sync => sync_all(ctx, &progress).await,
            Job::Check => {
                let report = check::check(ctx, &check::CheckRequest::default(), &progress).await?;
                from_runs(ctx, vec![report.run_id], tells_sinks_itself(job)).await
            }
            Job::Drift => {
                let request =
                    drift::DriftRequest { source: "aws".to_owned(), ..drift::DriftRequest::default() };
                let sinks = alerts::sinks(ctx)?;
                match drift::drift(ctx, &request, &sinks, &retry, &progress).await {
                    Ok(scan) => from_runs(ctx, vec![scan.run_id], tells_sinks_itself(job)).await,
                    // A drift scan that fails tells its sinks so itself.
                    Err(err) => Ok(Done { told_sinks: tells_sinks_itself(job), ..Done::failed(&err) }),
                }
            }
            Job::ExceptionReminder => {
                let reminded =
                    exceptions::remind(ctx, ctx.config.schedule.exception_notice_days, &retry).await?;
                from_runs(ctx, reminded.run_id.into_iter().collect(), tells_sinks_itself(job)).await
            }
            Job::AuditReminder => Ok(Done::succeeded(Vec::new(), false)),
        }
    }
    .await;
    result.unwrap_or_else(|err| Done::failed(&err))
}

/// Syncs every `[[source]]`; one failing source does not stop the others.
async fn sync_all(ctx: &Context, progress: &Shared) -> anyhow::Result<Done> {
    let mut runs = Vec::new();
    let mut errors = Vec::new();
    for source in sync::configured(ctx)? {
        match sync::sync(ctx, source.as_ref(), progress).await {
            Ok(summary) => runs.push(summary.run_id),
            Err(err) => errors.push(format!("{}: {err:#}", source.describe())),
        }
    }
    let mut done = from_runs(ctx, runs, false).await?;
    if !errors.is_empty() {
        done.outcome = RunOutcome::Failed;
        done.error = Some(errors.join("; "));
    }
    Ok(done)
}

/// The worst outcome of the runs a job recorded.
async fn from_runs(ctx: &Context, runs: Vec<String>, told_sinks: bool) -> anyhow::Result<Done> {
    let mut done = Done::succeeded(Vec::new(), told_sinks);
    for id in &runs {
        let run = ctx.store.run(id).await?;
        if rank(run.outcome) > rank(done.outcome) {
            done.outcome = run.outcome;
        }
    }
    done.runs = runs;
    Ok(done)
}

/// How bad an outcome is for a job: blocking findings are the job done, parts not collected
/// are not.
fn rank(outcome: RunOutcome) -> u8 {
    match outcome {
        RunOutcome::Succeeded => 0,
        RunOutcome::Blocked => 1,
        RunOutcome::Partial => 2,
        RunOutcome::Failed => 3,
    }
}

/// Records the job's run, tells the sinks when its use case did not, and closes the claim.
/// A sink that cannot be told does not keep the claim open: the run is the evidence, and an
/// open claim would be taken over and the job run again.
async fn finish(
    ctx: &Context,
    claim: &Claim,
    cron: Option<&Cron>,
    started: Timestamp,
    mut done: Done,
) -> anyhow::Result<()> {
    let run = match done.recorded.take() {
        Some(run) => run,
        None => record(ctx, claim, cron, started, &done).await?,
    };
    if !done.told_sinks
        && let Err(err) = tell(ctx, claim.job, &run, done.error.as_deref()).await
    {
        tracing::error!(message = "cannot tell the sinks how a job ended", job = %claim.job, run = %run.id, error = format!("{err:#}"));
    }
    let finish = Finish { outcome: done.outcome.as_str(), error: done.error.as_deref() };
    if !ctx.store.finish_slot(claim, plumb_store::now(), &finish).await? {
        tracing::warn!(message = "the claim was taken over before the job ended; both runs are recorded", job = %claim.job);
    }
    let level_ok = matches!(done.outcome, RunOutcome::Succeeded | RunOutcome::Blocked);
    if level_ok {
        tracing::info!(message = "job finished", job = %claim.job, outcome = %done.outcome, run = %run.id);
    } else {
        tracing::warn!(message = "job did not complete", job = %claim.job, outcome = %done.outcome, run = %run.id, error = done.error.as_deref().unwrap_or(""));
    }
    Ok(())
}

async fn tell(ctx: &Context, job: Job, run: &Run, error: Option<&str>) -> anyhow::Result<()> {
    let sinks = alerts::sinks(ctx)?;
    alerts::tell(ctx, &sinks, &Retry::default(), &alert(job, run, error), Some(&run.id)).await?;
    Ok(())
}

/// The job's own run (kind `job`), recorded under the id chosen at its claim.
async fn record(
    ctx: &Context,
    claim: &Claim,
    cron: Option<&Cron>,
    started: Timestamp,
    done: &Done,
) -> anyhow::Result<Run> {
    let run = Run {
        id: claim.run_id.clone(),
        kind: RunKind::Job,
        name: claim.job.as_str().to_owned(),
        started_at: started,
        finished_at: plumb_store::now(),
        actor: ctx.principal.who.clone(),
        outcome: done.outcome,
        inputs: json!({
            "job": claim.job,
            "slot": claim.scheduled_for,
            "cron": cron.map(ToString::to_string),
            "on_request": cron.is_none(),
            "holder": claim.holder,
            "epoch": claim.epoch,
        }),
        counts: json!({"runs": done.runs.len()}),
        details: json!({"runs": done.runs, "error": done.error}),
    };
    let mut tx = ctx.begin_write().await?;
    tx.record_run(&run).await?;
    tx.commit().await?;
    Ok(run)
}

/// The alert a job without sinks of its own sends: its outcome, and for the register audit
/// reminder the audit that is due.
fn alert(job: Job, run: &Run, error: Option<&str>) -> Alert {
    let outcome = match run.outcome {
        RunOutcome::Succeeded | RunOutcome::Blocked => Outcome::Completed,
        RunOutcome::Partial => Outcome::Incomplete,
        RunOutcome::Failed => Outcome::Failed,
    };
    let opened = match job {
        Job::AuditReminder => vec![AlertItem {
            kind: "due".to_owned(),
            key: "register-audit".to_owned(),
            resource_type: "audit".to_owned(),
            message: "The fixed-asset register reconciliation is due (policy §6): export the register from \
                      finance and run `plumb audit register FILE`."
                .to_owned(),
        }],
        _ => Vec::new(),
    };
    Alert {
        scan: scan_of(job),
        run_id: run.id.clone(),
        at: run.started_at.to_string(),
        outcome,
        error: error.map(str::to_owned),
        opened,
        resolved: Vec::new(),
        open_unmanaged: None,
        summary: Value::Object(serde_json::Map::new()),
        report_url: None,
    }
}

/// The scan a job's alert is about.
fn scan_of(job: Job) -> Scan {
    match job {
        Job::Sync => Scan::Sync,
        Job::Drift => Scan::Drift,
        Job::Check => Scan::Check,
        Job::AuditReminder => Scan::AuditReminder,
        Job::ExceptionReminder => Scan::ExceptionReminder,
    }
}

fn later(at: Timestamp, by: Duration) -> Timestamp {
    let micros = i64::try_from(by.as_micros()).unwrap_or(i64::MAX);
    Timestamp::from_micros(at.as_micros().saturating_add(micros)).unwrap_or(at)
}
