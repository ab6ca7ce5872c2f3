//! The policy's clock: the recurring jobs `plumb serve` runs (`[schedule]` in plumb.toml) and
//! which of their slots is due.
//!
//! A slot is one time a cron expression names. The rule, kept here and nowhere else: a job
//! runs the latest slot that has come and that it has not run yet, so after downtime the
//! missed slots run once between them, not once each (NetBox replayed them, #14983); a job that
//! never ran waits for its first slot after the scheduler started, rather than running at once
//! on a new install.

use std::fmt;
use std::str::FromStr;

use crate::Timestamp;
use crate::enums::word_enum;

word_enum! {
    /// A recurring job of `plumb serve`, named as its key in `[schedule]`.
    pub enum Job {
        /// Sync every `[[source]]` (policy §3: nightly).
        Sync = "sync",
        /// A drift scan of the synced Terraform state (policy §4: daily).
        Drift = "drift",
        /// Every built-in check pack (policy §5 and §6: continuously).
        Check = "check",
        /// Reminds the sinks that the fixed-asset register reconciliation is due (policy §6:
        /// bi-monthly).
        AuditReminder = "audit_reminder",
        /// Tells the sinks of exceptions ending soon and of those that ended (policy §9).
        ExceptionReminder = "exception_reminder",
    }
}

/// A cron expression, evaluated in UTC: five fields (minute hour day-of-month month
/// day-of-week, with names, ranges, steps and lists), or six with seconds first where the
/// caller allows them (tests that cannot wait minutes).
#[derive(Clone, Debug)]
pub struct Cron {
    text: String,
    parsed: croner::Cron,
}

/// A cron expression that could not be read.
#[derive(Debug, thiserror::Error)]
#[error("{text:?} is not a cron expression (minute hour day-of-month month day-of-week, UTC): {reason}")]
pub struct CronError {
    /// What was given.
    pub text: String,
    /// Why it was refused.
    pub reason: String,
}

impl Cron {
    /// Reads `text`; a seconds field is accepted only when `seconds` is true.
    pub fn parse(text: &str, seconds: bool) -> Result<Cron, CronError> {
        let refuse = |reason: String| CronError { text: text.to_owned(), reason };
        let fields = text.split_whitespace().count();
        let allowed = if seconds { 5..=6 } else { 5..=5 };
        if !allowed.contains(&fields) {
            return Err(refuse(format!("expected {} fields, found {fields}", allowed.end())));
        }
        let parser = croner::parser::CronParser::builder()
            .seconds(if seconds {
                croner::parser::Seconds::Optional
            } else {
                croner::parser::Seconds::Disallowed
            })
            .year(croner::parser::Year::Disallowed)
            .build();
        let parsed = parser.parse(text).map_err(|err| refuse(err.to_string()))?;
        Ok(Cron { text: text.trim().to_owned(), parsed })
    }

    /// The latest slot at or before `at`, if one exists within the search range.
    pub fn latest(&self, at: Timestamp) -> Option<Timestamp> {
        let found = self.parsed.find_previous_occurrence(&to_chrono(at)?, true).ok()?;
        from_chrono(found)
    }

    /// The first slot strictly after `at`.
    pub fn next_after(&self, at: Timestamp) -> Option<Timestamp> {
        let found = self.parsed.find_next_occurrence(&to_chrono(at)?, false).ok()?;
        from_chrono(found)
    }

    /// The next `count` slots after `at`, to show what a schedule means ("bi-monthly" is
    /// read two ways).
    pub fn upcoming(&self, at: Timestamp, count: usize) -> Vec<Timestamp> {
        std::iter::successors(self.next_after(at), |slot| self.next_after(*slot)).take(count).collect()
    }
}

impl fmt::Display for Cron {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl FromStr for Cron {
    type Err = CronError;

    /// Five fields, no seconds: what users write.
    fn from_str(text: &str) -> Result<Cron, CronError> {
        Cron::parse(text, false)
    }
}

/// The slot a job should run now, if any: the latest slot at or before `now` that is later
/// than the last slot it claimed, or, for a job that never claimed one, no earlier than
/// `since` (when this scheduler started).
pub fn due(
    cron: &Cron,
    last_claimed: Option<Timestamp>,
    since: Timestamp,
    now: Timestamp,
) -> Option<Timestamp> {
    let slot = cron.latest(now)?;
    let fresh = match last_claimed {
        Some(last) => slot > last,
        None => slot >= since,
    };
    fresh.then_some(slot)
}

fn to_chrono(at: Timestamp) -> Option<chrono::DateTime<chrono::Utc>> {
    chrono::DateTime::from_timestamp_micros(at.as_micros())
}

fn from_chrono(at: chrono::DateTime<chrono::Utc>) -> Option<Timestamp> {
    Timestamp::from_micros(at.timestamp_micros())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    #[test]
    fn five_fields_in_utc() {
        let nightly: Cron = "0 1 * * *".parse().unwrap();
        assert_eq!(nightly.latest(at("2026-12-07T00:38:00Z")), Some(at("2026-12-06T01:00:00Z")));
        assert_eq!(nightly.latest(at("2026-12-07T01:00:00Z")), Some(at("2026-12-07T01:00:00Z")));
        assert_eq!(nightly.next_after(at("2026-12-07T01:00:00Z")), Some(at("2026-12-08T01:00:00Z")));
        let weekly: Cron = "0 9 * * mon".parse().unwrap();
        assert_eq!(weekly.next_after(at("2026-12-07T09:00:00Z")), Some(at("2026-12-14T09:00:00Z")));
    }

    #[test]
    fn bimonthly_is_every_second_month() {
        let cron: Cron = "0 9 1 */2 *".parse().unwrap();
        let shown = cron.upcoming(at("2026-12-07T00:00:00Z"), 3);
        let expected = ["2027-01-01T09:00:00Z", "2027-03-01T09:00:00Z", "2027-05-01T09:00:00Z"];
        assert_eq!(shown, expected.map(at));
    }

    #[test]
    fn seconds_only_where_allowed_and_field_counts_are_named() {
        let err = "*/2 * * * * *".parse::<Cron>().unwrap_err().to_string();
        assert!(err.contains("expected 5 fields, found 6"), "{err}");
        assert!(Cron::parse("*/2 * * * * *", true).is_ok());
        let err = "0 25 * * *".parse::<Cron>().unwrap_err().to_string();
        assert!(err.contains("\"0 25 * * *\""), "{err}");
        assert!("nightly".parse::<Cron>().is_err());
    }

    #[test]
    fn a_missed_slot_runs_once_and_a_new_job_waits_for_its_first() {
        let nightly: Cron = "0 1 * * *".parse().unwrap();
        let started = at("2026-12-07T09:00:00Z");
        // Never ran: yesterday's and today's slots came before the scheduler did.
        assert_eq!(due(&nightly, None, started, at("2026-12-07T09:00:05Z")), None);
        assert_eq!(
            due(&nightly, None, started, at("2026-12-08T01:00:00Z")),
            Some(at("2026-12-08T01:00:00Z"))
        );
        // Down for three nights: one run, for the latest slot.
        let last = Some(at("2026-12-03T01:00:00Z"));
        assert_eq!(
            due(&nightly, last, started, at("2026-12-07T09:00:05Z")),
            Some(at("2026-12-07T01:00:00Z"))
        );
        // Once claimed, nothing more is due until the next slot.
        let last = Some(at("2026-12-07T01:00:00Z"));
        assert_eq!(due(&nightly, last, started, at("2026-12-07T23:59:59Z")), None);
    }
}
