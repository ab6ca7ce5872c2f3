//! Timestamps with one fixed textual form.
//!
//! Every timestamp plumb stores or prints is UTC with exactly six fractional digits
//! (`2026-11-28T13:42:33.000000Z`). A fixed width means the stored text sorts in time order on
//! both SQLite and PostgreSQL, and an exported file imports back to the identical text.

use std::fmt;
use std::str::FromStr;

use jiff::fmt::temporal::DateTimePrinter;

/// A point in time, UTC, microsecond precision.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct Timestamp(jiff::Timestamp);

/// The text could not be read as an RFC 3339 timestamp.
#[derive(Debug, thiserror::Error)]
#[error("expected an RFC 3339 timestamp such as 2026-01-31T12:00:00Z, found {0:?}")]
pub struct TimestampError(pub String);

impl Timestamp {
    /// The earliest time plumb can write, used as a neutral value in tests and defaults.
    pub const UNIX_EPOCH: Timestamp = Timestamp(jiff::Timestamp::UNIX_EPOCH);

    /// Wraps a `jiff` timestamp, truncating it to microseconds.
    pub fn from_jiff(ts: jiff::Timestamp) -> Self {
        let micros = ts.as_microsecond();
        // Truncation cannot leave the supported range: it only drops nanoseconds.
        Timestamp(jiff::Timestamp::from_microsecond(micros).unwrap_or(ts))
    }

    /// Microseconds since the Unix epoch.
    pub fn as_micros(self) -> i64 {
        self.0.as_microsecond()
    }

    /// Builds a timestamp from microseconds since the Unix epoch.
    pub fn from_micros(micros: i64) -> Option<Self> {
        jiff::Timestamp::from_microsecond(micros).ok().map(Timestamp)
    }

    /// The same instant `days` days later (or earlier, for negative values).
    pub fn plus_days(self, days: i64) -> Option<Self> {
        let micros = days.checked_mul(86_400_000_000)?;
        Self::from_micros(self.as_micros().checked_add(micros)?)
    }

    /// The first instant after the day `last_day` (`YYYY-MM-DD`, UTC) ends: when something
    /// that applies "until" that day stops applying.
    pub fn after_day(last_day: &str) -> Result<Self, String> {
        let date: jiff::civil::Date = last_day
            .trim()
            .parse()
            .map_err(|_| format!("{last_day:?} is not a date: expected YYYY-MM-DD"))?;
        let out_of_range = || format!("{last_day} is out of range");
        let midnight = jiff::tz::TimeZone::UTC
            .to_timestamp(date.to_datetime(jiff::civil::Time::midnight()))
            .map_err(|_| out_of_range())?;
        Self::from_jiff(midnight).plus_days(1).ok_or_else(out_of_range)
    }

    /// The underlying `jiff` value, for callers that need calendar arithmetic.
    pub fn to_jiff(self) -> jiff::Timestamp {
        self.0
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut buf = String::with_capacity(27);
        DateTimePrinter::new()
            .precision(Some(6))
            .print_timestamp(&self.0, &mut buf)
            .map_err(|_| fmt::Error)?;
        f.write_str(&buf)
    }
}

impl FromStr for Timestamp {
    type Err = TimestampError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if let Ok(ts) = s.parse::<jiff::Timestamp>() {
            return Ok(Timestamp::from_jiff(ts));
        }
        // A bare date is common in spreadsheets; read it as midnight UTC.
        if let Ok(date) = s.parse::<jiff::civil::Date>()
            && let Ok(ts) =
                jiff::tz::TimeZone::UTC.to_timestamp(date.to_datetime(jiff::civil::Time::midnight()))
        {
            return Ok(Timestamp::from_jiff(ts));
        }
        Err(TimestampError(s.to_owned()))
    }
}

impl serde::Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Timestamp {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, expect: &str) {
        let ts: Timestamp = input.parse().unwrap();
        assert_eq!(ts.to_string(), expect);
    }

    #[test]
    fn fixed_width_utc_text() {
        check("2026-01-31T12:00:00Z", "2026-01-31T12:00:00.000000Z");
        check("2026-01-31T13:00:00+01:00", "2026-01-31T12:00:00.000000Z");
        check("2026-01-31T12:00:00.123456789Z", "2026-01-31T12:00:00.123456Z");
        check("2026-01-31", "2026-01-31T00:00:00.000000Z");
    }

    #[test]
    fn round_trips_through_text() {
        let ts: Timestamp = "2024-02-29T23:59:59.999999Z".parse().unwrap();
        assert_eq!(ts.to_string().parse::<Timestamp>().unwrap(), ts);
    }

    #[test]
    fn rejects_non_dates() {
        for bad in ["", "yesterday", "2026-13-01", "2026-02-30T00:00:00Z", "31/01/2026"] {
            assert!(bad.parse::<Timestamp>().is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn day_arithmetic() {
        let ts: Timestamp = "2026-01-31T00:00:00Z".parse().unwrap();
        assert_eq!(ts.plus_days(1).unwrap().to_string(), "2026-02-01T00:00:00.000000Z");
    }
}
