//! The exceptions register (policy §9): a documented, time-boxed departure from a check, with
//! compensating controls, approved by the Information Security Manager and, where it touches
//! production, with its risk accepted by the Head of Product (§3).
//!
//! What an exception covers is a check pattern (`cis-aws-1.5/2.1.*`, `drift/unmanaged`,
//! `image/CVE-2024-2961`) and a [`Selector`] of assets. Whether it applies now is
//! [`Exception::active`]: approved, not past its expiry, and risk-accepted when it touches
//! production. Everything here is pure; the store keeps the records and their events.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::glob::wildcard;
use crate::model::{Finding, FindingStatus};
use crate::time::Timestamp;

/// An exception's number, shown as `EX-12`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub struct ExceptionId(pub u64);

impl fmt::Display for ExceptionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EX-{}", self.0)
    }
}

impl FromStr for ExceptionId {
    type Err = ExceptionError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let digits =
            s.trim().strip_prefix("EX-").or_else(|| s.trim().strip_prefix("ex-")).unwrap_or(s.trim());
        digits.parse().map(ExceptionId).map_err(|_| ExceptionError::Id(s.to_owned()))
    }
}

impl From<ExceptionId> for String {
    fn from(id: ExceptionId) -> String {
        id.to_string()
    }
}

impl TryFrom<String> for ExceptionId {
    type Error = ExceptionError;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

/// What was decided about an exception. Expiry is not a decision: it is read off the clock
/// ([`Exception::state`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// Asked for, not yet reviewed.
    Requested,
    /// Approved by the Information Security Manager.
    Approved,
    /// Turned down.
    Rejected,
    /// Withdrawn after approval.
    Revoked,
}

/// Where an exception stands now.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// Waiting for the Information Security Manager.
    Requested,
    /// Approved, waiting for the Head of Product to accept the production risk.
    AwaitingRiskAcceptance,
    /// In force: results it covers are `excepted`.
    Active,
    /// Past its expiry date (approved or not).
    Expired,
    /// Turned down.
    Rejected,
    /// Withdrawn.
    Revoked,
}

impl State {
    /// Its word in output and filters.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Requested => "requested",
            State::AwaitingRiskAcceptance => "awaiting_risk_acceptance",
            State::Active => "active",
            State::Expired => "expired",
            State::Rejected => "rejected",
            State::Revoked => "revoked",
        }
    }
}

impl FromStr for State {
    type Err = ExceptionError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [
            State::Requested,
            State::AwaitingRiskAcceptance,
            State::Active,
            State::Expired,
            State::Rejected,
            State::Revoked,
        ]
        .into_iter()
        .find(|state| state.as_str() == s)
        .ok_or_else(|| ExceptionError::State(s.to_owned()))
    }
}

/// Everything wrong with an exception request or decision, naming the field.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ExceptionError {
    /// Not an exception id.
    #[error("{0:?} is not an exception id: expected EX-N")]
    Id(String),
    /// Not a state.
    #[error(
        "{0:?} is not an exception state: expected requested, awaiting_risk_acceptance, active, expired, rejected or revoked"
    )]
    State(String),
    /// A selector term that cannot be read.
    #[error(
        "--select: {term:?} {problem}; expected KEY_GLOB, key=GLOB, type=TYPE, environment=ENV, account=ID or tag:KEY=VALUE, joined by commas"
    )]
    Selector {
        /// The term as written.
        term: String,
        /// What is wrong with it.
        problem: &'static str,
    },
    /// The expiry is not acceptable.
    #[error("--expires: {0}")]
    Expiry(String),
    /// A required text is empty.
    #[error("--{0}: must not be empty")]
    Empty(&'static str),
    /// The decision does not fit where the exception stands.
    #[error("{id} is {state}: {problem}")]
    Transition {
        /// The exception.
        id: ExceptionId,
        /// Where it stands.
        state: &'static str,
        /// Why the decision cannot be made.
        problem: &'static str,
    },
}

/// One condition on the assets an exception covers.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Term {
    Key(String),
    Type(String),
    Environment(String),
    Account(String),
    Tag(String, String),
}

/// Which assets an exception covers: every term must hold (an empty selector covers every
/// asset the check judges). Written `type=aws.s3.bucket,environment=production,tag:team=web`;
/// a bare term is a key glob.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Selector {
    terms: Vec<Term>,
}

/// An asset as a selector sees it.
#[derive(Clone, Copy, Debug, Default)]
pub struct AssetFacts<'a> {
    /// Its key (a finding's key).
    pub key: &'a str,
    /// Its type.
    pub asset_type: Option<&'a str>,
    /// Its environment.
    pub environment: Option<&'a str>,
    /// The account it is in.
    pub account: Option<&'a str>,
    /// Its tags (a JSON object of strings, as assets are read by the checks).
    pub tags: Option<&'a serde_json::Map<String, serde_json::Value>>,
}

impl Selector {
    /// Reads a selector; an empty text selects everything.
    pub fn parse(text: &str) -> Result<Selector, ExceptionError> {
        let mut terms = Vec::new();
        for term in text.split(',').map(str::trim).filter(|t| !t.is_empty()) {
            let bad = |problem| ExceptionError::Selector { term: term.to_owned(), problem };
            let parsed = if let Some(tag) = term.strip_prefix("tag:") {
                let (key, value) = tag.split_once('=').ok_or_else(|| bad("has no =VALUE"))?;
                if key.is_empty() {
                    return Err(bad("names no tag"));
                }
                Term::Tag(key.to_owned(), value.to_owned())
            } else if let Some((field, value)) = term.split_once('=') {
                if value.is_empty() {
                    return Err(bad("has an empty value"));
                }
                let value = value.to_owned();
                match field {
                    "key" => Term::Key(value),
                    "type" => Term::Type(value),
                    "environment" => Term::Environment(value),
                    "account" => Term::Account(value),
                    _ => return Err(bad("names an unknown field")),
                }
            } else {
                Term::Key(term.to_owned())
            };
            terms.push(parsed);
        }
        Ok(Selector { terms })
    }

    /// Whether it covers `asset`.
    pub fn matches(&self, asset: &AssetFacts<'_>) -> bool {
        self.terms.iter().all(|term| match term {
            Term::Key(glob) => wildcard(glob, asset.key),
            Term::Type(glob) => asset.asset_type.is_some_and(|t| wildcard(glob, t)),
            Term::Environment(environment) => asset.environment == Some(environment.as_str()),
            Term::Account(account) => asset.account == Some(account.as_str()),
            Term::Tag(key, value) => asset
                .tags
                .and_then(|tags| tags.get(key))
                .and_then(|v| v.as_str())
                .is_some_and(|v| wildcard(value, v)),
        })
    }

    /// The environment it is restricted to, if a term says.
    pub fn environment(&self) -> Option<&str> {
        self.terms.iter().find_map(|term| match term {
            Term::Environment(environment) => Some(environment.as_str()),
            _ => None,
        })
    }
}

impl Serialize for Selector {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Selector {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Selector::parse(&text).map_err(serde::de::Error::custom)
    }
}

impl fmt::Display for Selector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let terms: Vec<String> = self
            .terms
            .iter()
            .map(|term| match term {
                Term::Key(glob) => format!("key={glob}"),
                Term::Type(glob) => format!("type={glob}"),
                Term::Environment(environment) => format!("environment={environment}"),
                Term::Account(account) => format!("account={account}"),
                Term::Tag(key, value) => format!("tag:{key}={value}"),
            })
            .collect();
        f.write_str(&terms.join(","))
    }
}

/// One entry of the register, as stored, recorded in its events and exported (`-o json`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Exception {
    /// Its number.
    pub id: ExceptionId,
    /// The checks it covers: an id or a `*` pattern.
    pub checks: String,
    /// The assets it covers.
    pub selector: Selector,
    /// Why the departure is acceptable.
    pub justification: String,
    /// The compensating controls in place meanwhile.
    pub controls: Vec<String>,
    /// A ticket or URL (Linear's SECURITY queue).
    pub reference: Option<String>,
    /// Whether it touches production (then the Head of Product must accept the risk).
    pub production: bool,
    /// Who asked, and when.
    pub requested_by: String,
    /// When it was asked for.
    pub requested_at: Timestamp,
    /// The first instant it no longer applies (the day after its last day, 00:00 UTC).
    pub expires_at: Timestamp,
    /// What was decided.
    pub decision: Decision,
    /// Who decided (approved, rejected or revoked), and when.
    pub decided_by: Option<String>,
    /// When it was decided.
    pub decided_at: Option<Timestamp>,
    /// Why it was rejected or revoked.
    pub reason: Option<String>,
    /// Who accepted the production risk, and when.
    pub risk_accepted_by: Option<String>,
    /// When the risk was accepted.
    pub risk_accepted_at: Option<Timestamp>,
    /// The exception this one renews.
    pub renews: Option<ExceptionId>,
}

/// An exception as listed: the record, where it stands and its last day.
#[derive(Clone, Debug, Serialize)]
pub struct Listed<'a> {
    /// The record.
    #[serde(flatten)]
    pub exception: &'a Exception,
    /// Where it stands now.
    pub state: State,
    /// The last day it applies.
    pub last_day: String,
}

impl Exception {
    /// It as listed at `now`.
    pub fn listed(&self, now: Timestamp) -> Listed<'_> {
        Listed { exception: self, state: self.state(now), last_day: self.last_day() }
    }

    /// Where it stands at `now`.
    pub fn state(&self, now: Timestamp) -> State {
        match self.decision {
            Decision::Rejected => State::Rejected,
            Decision::Revoked => State::Revoked,
            _ if now >= self.expires_at => State::Expired,
            Decision::Requested => State::Requested,
            Decision::Approved if self.production && self.risk_accepted_by.is_none() => {
                State::AwaitingRiskAcceptance
            }
            Decision::Approved => State::Active,
        }
    }

    /// Whether it was in force (approved, not revoked) and has ended by `now`.
    pub fn lapsed(&self, now: Timestamp) -> bool {
        self.decision == Decision::Approved && self.state(now) == State::Expired
    }

    /// Whether it applies to `check` on `asset` at `now`. A production asset is covered only by
    /// an exception whose production risk was accepted, whatever its selector says.
    pub fn covers(&self, check: &str, asset: &AssetFacts<'_>, production: bool, now: Timestamp) -> bool {
        self.state(now) == State::Active
            && (self.production || !production)
            && wildcard(&self.checks, check)
            && self.selector.matches(asset)
    }

    /// Whether its check pattern could cover `check`, whatever the assets.
    pub fn names_check(&self, check: &str) -> bool {
        wildcard(&self.checks, check)
    }

    /// The last day it applies, as written on the request.
    pub fn last_day(&self) -> String {
        self.expires_at
            .plus_days(-1)
            .map_or_else(|| self.expires_at.to_string(), |t| t.to_string()[..10].to_owned())
    }

    /// Approves it (the Information Security Manager; the role table decides who).
    pub fn approve(&mut self, by: &str, now: Timestamp) -> Result<(), ExceptionError> {
        self.must_be(State::Requested, now, "only a requested exception can be approved or rejected")?;
        self.decision = Decision::Approved;
        self.decided_by = Some(by.to_owned());
        self.decided_at = Some(now);
        Ok(())
    }

    /// Rejects it, saying why.
    pub fn reject(&mut self, by: &str, reason: &str, now: Timestamp) -> Result<(), ExceptionError> {
        let reason = non_empty(reason, "reason")?;
        self.must_be(State::Requested, now, "only a requested exception can be approved or rejected")?;
        self.decision = Decision::Rejected;
        self.decided_by = Some(by.to_owned());
        self.decided_at = Some(now);
        self.reason = Some(reason);
        Ok(())
    }

    /// Records the Head of Product's acceptance of the production risk.
    pub fn accept_risk(&mut self, by: &str, now: Timestamp) -> Result<(), ExceptionError> {
        if !self.production {
            return Err(
                self.refused(now, "it touches no production asset: there is no production risk to accept")
            );
        }
        let state = self.state(now);
        if !matches!(state, State::Requested | State::AwaitingRiskAcceptance)
            || self.risk_accepted_by.is_some()
        {
            return Err(self.refused(now, "risk is accepted once, before the exception is in force"));
        }
        self.risk_accepted_by = Some(by.to_owned());
        self.risk_accepted_at = Some(now);
        Ok(())
    }

    /// Revokes it, saying why.
    pub fn revoke(&mut self, by: &str, reason: &str, now: Timestamp) -> Result<(), ExceptionError> {
        let reason = non_empty(reason, "reason")?;
        if !matches!(self.state(now), State::Active | State::AwaitingRiskAcceptance | State::Requested) {
            return Err(self.refused(now, "only an exception not yet ended can be revoked"));
        }
        self.decision = Decision::Revoked;
        self.decided_by = Some(by.to_owned());
        self.decided_at = Some(now);
        self.reason = Some(reason);
        Ok(())
    }

    fn must_be(&self, expected: State, now: Timestamp, problem: &'static str) -> Result<(), ExceptionError> {
        if self.state(now) == expected { Ok(()) } else { Err(self.refused(now, problem)) }
    }

    fn refused(&self, now: Timestamp, problem: &'static str) -> ExceptionError {
        ExceptionError::Transition { id: self.id, state: self.state(now).as_str(), problem }
    }
}

/// The evidence field that names the exception a result is excepted by.
pub const EXCEPTED_BY: &str = "exception";

/// Marks every failing result an active exception covers as `excepted` (with the exception's
/// id in its evidence), and says on every failing result whose exception ended that it ended,
/// so the reopened finding tells why. `assets` gives each key's facts and whether it is
/// production; a key it does not know is treated as production (only an exception whose
/// production risk was accepted may cover what nobody can place).
pub fn apply(
    findings: &mut [Finding],
    exceptions: &[Exception],
    assets: &HashMap<&str, (AssetFacts<'_>, bool)>,
    now: Timestamp,
) {
    if exceptions.is_empty() {
        return;
    }
    for finding in findings.iter_mut().filter(|f| f.status == FindingStatus::Fail) {
        let (facts, production) = assets
            .get(finding.key.as_str())
            .copied()
            .unwrap_or((AssetFacts { key: &finding.key, ..AssetFacts::default() }, true));
        let scoped = |e: &&Exception| e.names_check(&finding.check) && e.selector.matches(&facts);
        if let Some(exception) =
            exceptions.iter().filter(scoped).find(|e| e.covers(&finding.check, &facts, production, now))
        {
            finding.status = FindingStatus::Excepted;
            finding.message =
                format!("excepted by {} until {}: {}", exception.id, exception.last_day(), finding.message);
            if let Some(evidence) = finding.evidence.as_object_mut() {
                evidence.insert(EXCEPTED_BY.to_owned(), serde_json::Value::String(exception.id.to_string()));
            }
        } else if let Some(ended) = exceptions
            .iter()
            .filter(scoped)
            .filter(|e| {
                matches!(e.state(now), State::Expired | State::Revoked) && e.decision != Decision::Requested
            })
            .max_by_key(|e| e.expires_at)
        {
            let (how, day) = match (ended.decision, ended.decided_at) {
                (Decision::Revoked, Some(at)) => ("was revoked", at.to_string()[..10].to_owned()),
                _ => ("expired", ended.last_day()),
            };
            finding.message = format!("{} (exception {} {how} {day})", finding.message, ended.id);
        }
    }
}

/// The check of expired exceptions whose results still fail (policy §9: an exception ends; the
/// departure it allowed must end with it).
pub const EXPIRED_CHECK: &str = "exceptions/expired";

/// One `exceptions/expired` failure per exception that expired (approved, not revoked) while
/// results it covered still fail, keyed by the exception: evidence for CFG-01 and the
/// covered checks' controls. `findings` are a run's results after [`apply`].
pub fn expired_with_failures(findings: &[Finding], exceptions: &[Exception], now: Timestamp) -> Vec<Finding> {
    let mut found = Vec::new();
    for exception in exceptions.iter().filter(|e| e.lapsed(now)) {
        // `apply` named the exception on each failing result it had covered.
        let marker = format!("(exception {} expired", exception.id);
        let failing: Vec<&Finding> = findings
            .iter()
            .filter(|f| f.status == FindingStatus::Fail && f.message.contains(&marker))
            .collect();
        let Some(worst) = failing.iter().map(|f| f.severity).max() else { continue };
        let mut controls = vec!["CFG-01".to_owned()];
        for finding in &failing {
            for control in &finding.controls {
                if !controls.contains(control) {
                    controls.push(control.clone());
                }
            }
        }
        let results: Vec<String> = failing.iter().map(|f| format!("{} {}", f.check, f.key)).collect();
        found.push(Finding {
            check: EXPIRED_CHECK.to_owned(),
            title: "Expired exceptions whose results still fail".to_owned(),
            controls,
            key: exception.id.to_string(),
            status: FindingStatus::Fail,
            severity: worst,
            message: format!(
                "{} expired {} and {} result(s) it covered still fail: {}",
                exception.id,
                exception.last_day(),
                results.len(),
                results.join(", ")
            ),
            evidence: serde_json::json!({"exception": exception.id, "expires_at": exception.expires_at, "results": results}),
            remediation: format!("fix what {} covered, or renew it: plumb exception renew {} --expires DAY", exception.id, exception.id),
            first_seen: now,
            last_seen: now,
        });
    }
    found
}

/// What a reminder is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Reminder {
    /// In force, and ends within the notice period.
    Expiring,
    /// Was in force, and has ended.
    Expired,
}

impl Reminder {
    /// Its word in alerts and on the chain.
    pub fn as_str(self) -> &'static str {
        match self {
            Reminder::Expiring => "expiring",
            Reminder::Expired => "expired",
        }
    }
}

/// The reminders due at `now` with `notice_days` of notice: one `expiring` for each active
/// exception ending within the notice, one `expired` for each that lapsed. "Due", not "due
/// today": whoever sends them remembers what was sent, so a missed day loses nothing. An
/// exception whose renewal is already in force needs no reminder.
pub fn reminders_due(
    exceptions: &[Exception],
    now: Timestamp,
    notice_days: u32,
) -> Vec<(&Exception, Reminder)> {
    let horizon = now.plus_days(i64::from(notice_days)).unwrap_or(now);
    let renewed =
        |id: ExceptionId| exceptions.iter().any(|e| e.renews == Some(id) && e.state(now) == State::Active);
    exceptions
        .iter()
        .filter(|e| !renewed(e.id))
        .filter_map(|e| match e.state(now) {
            State::Active if e.expires_at <= horizon => Some((e, Reminder::Expiring)),
            _ if e.lapsed(now) => Some((e, Reminder::Expired)),
            _ => None,
        })
        .collect()
}

/// What a request says, before it has a number.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    /// The checks it covers.
    pub checks: String,
    /// The assets it covers.
    pub selector: Selector,
    /// Why.
    pub justification: String,
    /// Compensating controls.
    pub controls: Vec<String>,
    /// A ticket or URL.
    pub reference: Option<String>,
    /// The last day it applies (`YYYY-MM-DD`).
    pub last_day: String,
    /// The exception it renews.
    pub renews: Option<ExceptionId>,
}

impl Request {
    /// The exception it becomes: every field checked, the expiry in the future and at most
    /// `max_days` away.
    pub fn into_exception(
        self,
        id: ExceptionId,
        by: &str,
        production: bool,
        now: Timestamp,
        max_days: u32,
    ) -> Result<Exception, ExceptionError> {
        let checks = non_empty(&self.checks, "check")?;
        let justification = non_empty(&self.justification, "justification")?;
        if self.controls.iter().all(|c| c.trim().is_empty()) {
            return Err(ExceptionError::Empty("control"));
        }
        let expires_at = expiry(&self.last_day, now, max_days)?;
        Ok(Exception {
            id,
            checks,
            selector: self.selector,
            justification,
            controls: self
                .controls
                .into_iter()
                .map(|c| c.trim().to_owned())
                .filter(|c| !c.is_empty())
                .collect(),
            reference: self.reference.filter(|r| !r.trim().is_empty()),
            production,
            requested_by: by.to_owned(),
            requested_at: now,
            expires_at,
            decision: Decision::Requested,
            decided_by: None,
            decided_at: None,
            reason: None,
            risk_accepted_by: None,
            risk_accepted_at: None,
            renews: self.renews,
        })
    }
}

/// The first instant after `last_day` (UTC), which must be today or later and at most
/// `max_days` from now.
fn expiry(last_day: &str, now: Timestamp, max_days: u32) -> Result<Timestamp, ExceptionError> {
    let expires_at = Timestamp::after_day(last_day).map_err(ExceptionError::Expiry)?;
    if expires_at <= now {
        return Err(ExceptionError::Expiry(format!(
            "{last_day} is in the past: an exception must expire later"
        )));
    }
    let limit = now.plus_days(i64::from(max_days) + 1).unwrap_or(expires_at);
    if expires_at > limit {
        return Err(ExceptionError::Expiry(format!(
            "{last_day} is more than {max_days} days away ([exceptions] max_days): renew it instead"
        )));
    }
    Ok(expires_at)
}

fn non_empty(text: &str, field: &'static str) -> Result<String, ExceptionError> {
    let text = text.trim();
    if text.is_empty() { Err(ExceptionError::Empty(field)) } else { Ok(text.to_owned()) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    const NOW: &str = "2026-12-03T10:00:00Z";

    fn request(last_day: &str) -> Request {
        Request {
            checks: "cis-aws-1.5/2.1.*".into(),
            selector: Selector::parse("type=aws.s3.bucket,tag:team=web").unwrap(),
            justification: "legacy website bucket".into(),
            controls: vec!["CloudFront in front, bucket policy limited to OAC".into()],
            reference: Some("SECURITY-12".into()),
            last_day: last_day.into(),
            renews: None,
        }
    }

    fn exception(production: bool) -> Exception {
        request("2026-12-31")
            .into_exception(ExceptionId(1), "ana@example.com", production, at(NOW), 365)
            .unwrap()
    }

    #[test]
    fn reminders_are_due_within_the_notice_and_once_lapsed() {
        let approved = |id: u64, last_day: &str| {
            let mut e = request(last_day)
                .into_exception(ExceptionId(id), "ana@example.com", false, at(NOW), 365)
                .unwrap();
            e.approve("ism@example.com", at(NOW)).unwrap();
            e
        };
        let soon = approved(1, "2026-12-10"); // ends 2026-12-11T00:00Z: 7.6 days away
        let later = approved(2, "2027-02-01");
        let requested = request("2026-12-05")
            .into_exception(ExceptionId(3), "ana@example.com", false, at(NOW), 365)
            .unwrap();
        let renewed = approved(4, "2026-12-06");
        let mut renewal = approved(5, "2027-03-01");
        renewal.renews = Some(ExceptionId(4));
        let register = [soon, later, requested, renewed, renewal];
        let due = |now: &str, days: u32| -> Vec<String> {
            reminders_due(&register, at(now), days)
                .into_iter()
                .map(|(e, r)| format!("{} {}", e.id, r.as_str()))
                .collect()
        };
        assert_eq!(due(NOW, 14), ["EX-1 expiring"]);
        assert_eq!(due(NOW, 7), Vec::<String>::new(), "7 days' notice: EX-1 ends in 7.6");
        // A week on, EX-1 has lapsed; an unapproved request that ran out is not news; EX-4's
        // renewal is in force, so its end is not either.
        assert_eq!(due("2026-12-12T00:00:00Z", 14), ["EX-1 expired"]);
        let mut revoked = register[0].clone();
        revoked.revoke("ism@example.com", "fixed", at(NOW)).unwrap();
        assert!(reminders_due(&[revoked], at("2026-12-12T00:00:00Z"), 14).is_empty());
    }

    #[test]
    fn ids_read_and_print() {
        assert_eq!("EX-12".parse::<ExceptionId>().unwrap(), ExceptionId(12));
        assert_eq!("12".parse::<ExceptionId>().unwrap().to_string(), "EX-12");
        assert!("EX-x".parse::<ExceptionId>().is_err());
    }

    #[test]
    fn selectors_read_match_and_print() {
        let tags = serde_json::json!({"team": "web"});
        let tags = tags.as_object();
        let asset = AssetFacts {
            key: "arn:aws:s3:::site",
            asset_type: Some("aws.s3.bucket"),
            environment: Some("production"),
            account: Some("1"),
            tags,
        };
        for (text, matches) in [
            ("", true),
            ("arn:aws:s3:::*", true),
            ("type=aws.s3.*,environment=production", true),
            ("account=2", false),
            ("tag:team=web", true),
            ("tag:team=db", false),
            ("tag:owner=x", false),
        ] {
            assert_eq!(Selector::parse(text).unwrap().matches(&asset), matches, "{text}");
        }
        assert_eq!(Selector::parse(" type=x , tag:a=b ").unwrap().to_string(), "type=x,tag:a=b");
        for bad in ["colour=red", "tag:team", "type=", "tag:=x"] {
            let err = Selector::parse(bad).unwrap_err().to_string();
            assert!(err.starts_with("--select:") && err.contains(bad), "{err}");
        }
    }

    #[test]
    fn requests_are_checked_field_by_field() {
        let now = at(NOW);
        let err =
            |r: Request| r.into_exception(ExceptionId(1), "a", false, now, 365).unwrap_err().to_string();
        assert!(err(request("2026-12-02")).contains("in the past"));
        assert!(err(request("2028-01-01")).contains("more than 365 days"));
        assert!(err(request("31/12/2026")).contains("expected YYYY-MM-DD"));
        assert_eq!(
            err(Request { justification: " ".into(), ..request("2026-12-31") }),
            "--justification: must not be empty"
        );
        assert_eq!(
            err(Request { controls: vec![], ..request("2026-12-31") }),
            "--control: must not be empty"
        );
        // Today is a valid last day; it ends at midnight UTC.
        let today = request("2026-12-03").into_exception(ExceptionId(1), "a", false, now, 365).unwrap();
        assert_eq!(today.expires_at, at("2026-12-04T00:00:00Z"));
        assert_eq!(today.last_day(), "2026-12-03");
    }

    #[test]
    fn an_exception_applies_only_approved_unexpired_and_risk_accepted_for_production() {
        let now = at(NOW);
        let web = serde_json::json!({"team": "web"});
        let bucket = AssetFacts {
            key: "b",
            asset_type: Some("aws.s3.bucket"),
            tags: web.as_object(),
            ..AssetFacts::default()
        };
        let check = "cis-aws-1.5/2.1.5";

        let mut staging = exception(false);
        assert_eq!(staging.state(now), State::Requested);
        assert!(!staging.covers(check, &bucket, false, now));
        staging.approve("ism@example.com", now).unwrap();
        assert_eq!(staging.state(now), State::Active);
        assert!(staging.covers(check, &bucket, false, now));
        assert!(!staging.covers("cis-aws-1.5/3.1", &bucket, false, now));
        // Not risk-accepted for production: production assets are not covered.
        assert!(!staging.covers(check, &bucket, true, now));
        let after = at("2027-01-01T00:00:00Z");
        assert_eq!(staging.state(after), State::Expired);
        assert!(!staging.covers(check, &bucket, false, after));
        assert!(staging.approve("ism@example.com", now).is_err());

        let mut production = exception(true);
        production.approve("ism@example.com", now).unwrap();
        assert_eq!(production.state(now), State::AwaitingRiskAcceptance);
        assert!(!production.covers(check, &bucket, true, now));
        production.accept_risk("hop@example.com", now).unwrap();
        assert!(production.covers(check, &bucket, true, now));
        assert!(production.accept_risk("hop@example.com", now).is_err());
        production.revoke("ism@example.com", "bucket replaced", now).unwrap();
        assert_eq!(production.state(now), State::Revoked);
        let err = production.revoke("ism@example.com", "again", now).unwrap_err().to_string();
        assert_eq!(err, "EX-1 is revoked: only an exception not yet ended can be revoked");

        let mut rejected = exception(false);
        assert!(rejected.reject("ism@example.com", " ", now).is_err());
        rejected.reject("ism@example.com", "no compensating control", now).unwrap();
        assert_eq!(rejected.state(now), State::Rejected);
        assert!(rejected.approve("ism@example.com", now).is_err());
        assert!(exception(false).accept_risk("hop@example.com", now).is_err());
    }

    #[test]
    fn failing_results_an_exception_covers_are_excepted_and_ended_ones_say_so() {
        let now = at(NOW);
        let mut active =
            Request { checks: "pack/*".into(), selector: Selector::default(), ..request("2026-12-31") }
                .into_exception(ExceptionId(7), "ana@example.com", false, now, 365)
                .unwrap();
        active.approve("ism@example.com", now).unwrap();
        let assets: HashMap<&str, (AssetFacts<'_>, bool)> = [
            ("k", (AssetFacts { key: "k", ..AssetFacts::default() }, false)),
            ("prod", (AssetFacts { key: "prod", ..AssetFacts::default() }, true)),
        ]
        .into();
        let failing =
            |key: &str| crate::model::Finding { key: key.into(), ..crate::model::finding::tests::finding() };
        let mut findings = vec![failing("k"), failing("prod"), failing("unknown")];
        apply(&mut findings, std::slice::from_ref(&active), &assets, now);
        let statuses: Vec<FindingStatus> = findings.iter().map(|f| f.status).collect();
        assert_eq!(statuses, [FindingStatus::Excepted, FindingStatus::Fail, FindingStatus::Fail]);
        assert_eq!(findings[0].evidence[EXCEPTED_BY], "EX-7");
        assert!(
            findings[0].message.starts_with("excepted by EX-7 until 2026-12-31: "),
            "{}",
            findings[0].message
        );

        let later = at("2027-01-02T00:00:00Z");
        let mut findings = vec![failing("k")];
        apply(&mut findings, std::slice::from_ref(&active), &assets, later);
        assert_eq!(findings[0].status, FindingStatus::Fail);
        assert!(
            findings[0].message.ends_with("(exception EX-7 expired 2026-12-31)"),
            "{}",
            findings[0].message
        );
        let expired = expired_with_failures(&findings, std::slice::from_ref(&active), later);
        assert_eq!(expired.len(), 1);
        assert_eq!((expired[0].check.as_str(), expired[0].key.as_str()), (EXPIRED_CHECK, "EX-7"));
        assert!(expired[0].controls.contains(&"CFG-01".to_owned()), "{:?}", expired[0].controls);
        assert!(expired[0].message.contains("pack/rule k"), "{}", expired[0].message);
        // Before the expiry there is nothing to say.
        assert!(expired_with_failures(&findings, &[active], now).is_empty());
    }
}
