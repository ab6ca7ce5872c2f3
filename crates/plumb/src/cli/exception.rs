//! `plumb exception`: the exceptions register (policy §9).

use clap::Subcommand;
use plumb_core::exception::{ExceptionId, Request, Selector, State};
use plumb_store::OpenOptions;

use crate::app::Settings;
use crate::app::exceptions::{self, Decide};
use crate::cli::stdout;
use crate::error::{BadInput, Environment, Outcome};
use crate::report::{self, Format, View};

/// The exceptions register (policy §9): documented, time-boxed departures from a check, with
/// compensating controls, approved by the Information Security Manager.
///
/// A failing result an active exception covers is `excepted`: stored and shown, never counted
/// for --fail-on. An exception is active once approved and until its last day ends (UTC);
/// unless restricted to a non-production environment (`--select environment=staging`) it may
/// touch production, so the Head of Product must also accept the risk (`accept-risk`). Nobody
/// approves their own request. When it expires or is revoked, the next run reopens what it
/// covered and says why. `.plumbignore` and `.trivyignore` stay for accepted noise (ignore,
/// no review); exceptions are the governed way.
#[derive(Debug, Subcommand)]
pub enum ExceptionCommand {
    /// Ask for an exception; it applies only once approved.
    Request {
        /// The check: an id or a pattern with `*` (`cis-aws-1.5/2.1.*`, `drift/unmanaged`,
        /// `image/CVE-2024-2961`).
        #[arg(long)]
        check: String,
        /// The assets it covers, every term must hold: a key glob, `key=GLOB`, `type=TYPE`,
        /// `environment=ENV`, `account=ID`, `tag:KEY=VALUE`, joined by commas [default: every
        /// asset the check judges].
        #[arg(long, default_value = "")]
        select: String,
        /// Why the departure is acceptable.
        #[arg(long)]
        justification: String,
        /// A compensating control in place meanwhile; repeat for more.
        #[arg(long = "control", required = true)]
        controls: Vec<String>,
        /// Its last day, YYYY-MM-DD (UTC), at most [exceptions] max_days away.
        #[arg(long)]
        expires: String,
        /// A ticket or URL (the SECURITY queue issue).
        #[arg(long = "ref")]
        reference: Option<String>,
    },
    /// Approve a request (the Information Security Manager, not the requester).
    Approve {
        /// EX-N.
        id: String,
    },
    /// Reject a request, saying why.
    Reject {
        /// EX-N.
        id: String,
        /// Why.
        #[arg(long)]
        reason: String,
    },
    /// Accept the production risk of an exception (the Head of Product, policy §3).
    AcceptRisk {
        /// EX-N.
        id: String,
    },
    /// Withdraw an exception, saying why.
    Revoke {
        /// EX-N.
        id: String,
        /// Why.
        #[arg(long)]
        reason: String,
    },
    /// Ask for the same exception with a new last day; it needs approval again.
    Renew {
        /// EX-N.
        id: String,
        /// The new last day, YYYY-MM-DD.
        #[arg(long)]
        expires: String,
    },
    /// The register.
    List {
        /// Only exceptions in this state: requested, awaiting_risk_acceptance, active,
        /// expired, rejected, revoked.
        #[arg(long, value_parser = crate::cli::word::<State>)]
        status: Option<State>,
        /// Only those ending within this many days (`14` or `14d`).
        #[arg(long, value_parser = days)]
        expiring_within: Option<u32>,
    },
    /// One exception, with its history and the open findings it excepts now.
    Show {
        /// EX-N.
        id: String,
    },
    /// Tell the [[sink]]s of exceptions ending soon and of those that ended.
    ///
    /// Each sink hears each reminder once: what it took is recorded on the chain, so running
    /// this daily or weekly (or after a missed week) sends what is due and not yet sent, never
    /// twice. Slack and webhook sinks hear reminders by default; a heartbeat only when its
    /// `scans` names "exception-reminder". Exit 3 when a sink failed (its reminders stay due).
    Remind {
        /// The notice: exceptions ending within this many days (`14` or `14d`).
        #[arg(long, value_parser = days, default_value = "14", value_name = "DAYS")]
        within: u32,
    },
}

/// Every field of an exception; `show` adds its history and what it covers (empty in lists).
const FIELDS: &[&str] = &[
    "id",
    "state",
    "checks",
    "selector",
    "justification",
    "controls",
    "reference",
    "production",
    "requested_by",
    "requested_at",
    "last_day",
    "expires_at",
    "decision",
    "decided_by",
    "decided_at",
    "reason",
    "risk_accepted_by",
    "risk_accepted_at",
    "renews",
    "history",
    "covers",
];

const VIEW: View = View {
    table: &["id", "state", "checks", "selector", "last_day", "requested_by", "decided_by"],
    all: FIELDS,
};

const SHOW_VIEW: View = View { table: FIELDS, all: FIELDS };

pub async fn run(settings: &Settings, format: Format, command: ExceptionCommand) -> anyhow::Result<Outcome> {
    let ctx = settings.open(&OpenOptions::default()).await?;
    let now = plumb_store::now();
    let out = &mut stdout();
    let decided = match command {
        ExceptionCommand::Request { check, select, justification, controls, expires, reference } => {
            let selector = Selector::parse(&select).map_err(|err| BadInput(err.to_string()))?;
            let request = Request {
                checks: check,
                selector,
                justification,
                controls,
                reference,
                last_day: expires,
                renews: None,
            };
            let requested = exceptions::request(&ctx, request).await?;
            warn_if_idle(&requested);
            requested.exception
        }
        ExceptionCommand::Renew { id, expires } => {
            let requested = exceptions::renew(&ctx, id_of(&id)?, &expires).await?;
            warn_if_idle(&requested);
            requested.exception
        }
        ExceptionCommand::Approve { id } => exceptions::decide(&ctx, id_of(&id)?, Decide::Approve).await?,
        ExceptionCommand::Reject { id, reason } => {
            exceptions::decide(&ctx, id_of(&id)?, Decide::Reject(&reason)).await?
        }
        ExceptionCommand::AcceptRisk { id } => {
            exceptions::decide(&ctx, id_of(&id)?, Decide::AcceptRisk).await?
        }
        ExceptionCommand::Revoke { id, reason } => {
            exceptions::decide(&ctx, id_of(&id)?, Decide::Revoke(&reason)).await?
        }
        ExceptionCommand::Show { id } => {
            let shown = exceptions::show(&ctx, id_of(&id)?).await?;
            report::one(out, format, SHOW_VIEW, &shown)?;
            return Ok(Outcome::Clean);
        }
        ExceptionCommand::Remind { within } => return remind(&ctx, format, within).await,
        ExceptionCommand::List { status, expiring_within } => {
            let all = exceptions::list(&ctx, status, expiring_within).await?;
            let rows: Vec<_> = all.iter().map(|e| e.listed(now)).collect();
            report::list(out, format, VIEW, &rows, None)?;
            return Ok(Outcome::Clean);
        }
    };
    report::one(out, format, VIEW, &decided.listed(now))?;
    Ok(Outcome::Clean)
}

const REMIND_VIEW: View = View {
    table: &["exception", "reminder", "last_day", "sent_to", "sent_before"],
    all: &["exception", "reminder", "last_day", "message", "sent_to", "sent_before"],
};

async fn remind(ctx: &crate::app::Context, format: Format, within: u32) -> anyhow::Result<Outcome> {
    let reminded = exceptions::remind(ctx, within, &plumb_sink::Retry::default()).await?;
    report::list(&mut stdout(), format, REMIND_VIEW, &reminded.due, None)?;
    let sent: usize = reminded.due.iter().map(|d| d.sent_to.len()).sum();
    match &reminded.run_id {
        Some(run) => eprintln!("{} reminder(s) due, {sent} sent (run {run})", reminded.due.len()),
        None => eprintln!("{} reminder(s) due, every sink has had them; nothing sent", reminded.due.len()),
    }
    match reminded.failure() {
        Some(failure) => Err(Environment(failure).into()),
        None => Ok(Outcome::Clean),
    }
}

fn warn_if_idle(requested: &exceptions::Requested) {
    if requested.covers_now == Some(0) {
        eprintln!(
            "warning: {} covers no open finding today (it will cover what its scope matches once approved)",
            requested.exception.id
        );
    }
}

fn id_of(text: &str) -> anyhow::Result<ExceptionId> {
    text.parse().map_err(|err: plumb_core::exception::ExceptionError| BadInput(err.to_string()).into())
}

fn days(text: &str) -> Result<u32, String> {
    text.trim_end_matches('d')
        .parse()
        .map_err(|_| format!("{text:?} is not a number of days: expected 14 or 14d"))
}
