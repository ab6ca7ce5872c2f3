//! plumb's alert sinks: where a drift scan's and an exception reminder's news goes (Better
//! Stack incidents and heartbeats, Slack, signed webhooks).
//!
//! The crate knows only the [`Alert`] shape below, not plumb's domain types, so the binary
//! decides what a scan opened and resolved and this crate decides how each destination hears
//! of it. Each destination is one file implementing [`Sink`] and one line in [`SINKS`]; it
//! owns its configuration (one `[[sink]]` table, unknown keys refused) and reads secrets only
//! from environment variables named in that table. [`deliver`] sends one alert to every sink
//! at once, with retries, and never fails: a failing sink is reported in its [`Delivery`].

mod betterstack;
mod config;
mod deliver;
mod error;
mod heartbeat;
mod http;
mod slack;
mod webhook;

use futures_util::future::BoxFuture;
use serde::Serialize;

pub use deliver::{Delivery, Retry, deliver};
pub use error::SinkError;

/// What tells the sinks: each `[[sink]]` hears the scans its `scans` key names (by default
/// those its type is made for: a Better Stack incident or heartbeat is about drift).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Scan {
    /// A drift scan: unmanaged, missing and changed resources.
    Drift,
    /// `plumb exception remind`: exceptions ending soon, and those that ended.
    ExceptionReminder,
    /// A scheduled inventory sync (its outcome only).
    Sync,
    /// A scheduled check run (its outcome only).
    Check,
    /// The scheduled reminder that the fixed-asset register reconciliation is due.
    AuditReminder,
}

impl Scan {
    /// Every scan, in the order messages list them.
    pub const ALL: &'static [Scan] =
        &[Scan::Drift, Scan::ExceptionReminder, Scan::Sync, Scan::Check, Scan::AuditReminder];

    /// Its name in `scans = [...]`, alerts and headers.
    pub fn as_str(self) -> &'static str {
        match self {
            Scan::Drift => "drift",
            Scan::ExceptionReminder => "exception-reminder",
            Scan::Sync => "sync",
            Scan::Check => "check",
            Scan::AuditReminder => "audit-reminder",
        }
    }
}

impl std::fmt::Display for Scan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What one scan tells the sinks.
#[derive(Clone, Debug, Serialize)]
pub struct Alert {
    /// The kind of scan.
    pub scan: Scan,
    /// The stored run's id (ULID text).
    pub run_id: String,
    /// When the scan ran, RFC 3339 in UTC.
    pub at: String,
    /// Whether the scan completed.
    pub outcome: Outcome,
    /// Why the scan failed, when it failed.
    pub error: Option<String>,
    /// Items that appeared in this scan; each is alerted once.
    pub opened: Vec<AlertItem>,
    /// Items that went away in this scan; each is alerted once.
    pub resolved: Vec<AlertItem>,
    /// Unmanaged items still open after this scan, those in `opened` included; drift only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub open_unmanaged: Option<u64>,
    /// Counts; drift: `{"unmanaged":N,"missing":N,"changed":N,"managed":N,"live":N}`,
    /// reminders: `{"expiring":N,"expired":N}`.
    pub summary: serde_json::Value,
    /// A link to the scan's report, when there is one.
    pub report_url: Option<String>,
}

impl Alert {
    /// Whether this scan opened or resolved anything.
    pub fn has_changes(&self) -> bool {
        !self.opened.is_empty() || !self.resolved.is_empty()
    }

    /// Whether a person should hear of this scan: it changed something, or it did not see
    /// everything (an incomplete or failed scan is news until it is fixed).
    pub fn is_news(&self) -> bool {
        self.has_changes() || self.outcome != Outcome::Completed
    }
}

/// Whether a scan completed; serialized in lower case.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// The scan ran to the end; its counts are complete.
    Completed,
    /// The scan ran to the end, but could not compare everything (its data was not collected
    /// completely); see [`Alert::error`]. What it found is real; what it did not find proves
    /// nothing, so nothing is resolved on its word.
    Incomplete,
    /// The scan stopped early; see [`Alert::error`].
    Failed,
}

/// One item an alert reports: a drift item or an exception.
#[derive(Clone, Debug, Serialize)]
pub struct AlertItem {
    /// Drift: `unmanaged`, `missing` or `changed`; reminders: `expiring` or `expired`.
    pub kind: String,
    /// The resource key (an ARN for AWS) or the Terraform address key; the exception's id.
    pub key: String,
    /// The resource type, such as `aws_s3_bucket` or `aws.s3.bucket`; `exception`.
    pub resource_type: String,
    /// One readable sentence.
    pub message: String,
}

/// The drift kind that Better Stack incidents are about.
pub(crate) const UNMANAGED: &str = "unmanaged";

/// A sink's remembered state between scans (such as the open Better Stack incident's id),
/// stored by the caller and passed back on the next scan; `None` the first time.
pub type SinkState = Option<serde_json::Value>;

/// One configured destination for alerts.
pub trait Sink: Send + Sync + std::fmt::Debug {
    /// The configured `name`; the type when none was given.
    fn name(&self) -> &str;

    /// `betterstack`, `slack`, `webhook` or `heartbeat`.
    fn sink_type(&self) -> &'static str;

    /// Delivers one scan's alert (deciding itself whether there is anything to send) and
    /// returns the state to remember. One attempt; [`deliver`] does the retries.
    fn send<'a>(
        &'a self,
        client: &'a reqwest::Client,
        alert: &'a Alert,
        state: &'a SinkState,
    ) -> BoxFuture<'a, Result<SinkState, SinkError>>;

    /// Whether this sink is told of `scan`. [`build`] wraps every sink in the `scans` its
    /// table names (or its type's default), so a sink type need not say.
    fn hears(&self, scan: Scan) -> bool {
        let _ = scan;
        true
    }
}

/// A built sink and the scans its table lets it hear.
#[derive(Debug)]
struct Scoped {
    sink: Box<dyn Sink>,
    scans: Vec<Scan>,
}

impl Sink for Scoped {
    fn name(&self) -> &str {
        self.sink.name()
    }

    fn sink_type(&self) -> &'static str {
        self.sink.sink_type()
    }

    fn send<'a>(
        &'a self,
        client: &'a reqwest::Client,
        alert: &'a Alert,
        state: &'a SinkState,
    ) -> BoxFuture<'a, Result<SinkState, SinkError>> {
        self.sink.send(client, alert, state)
    }

    fn hears(&self, scan: Scan) -> bool {
        self.scans.contains(&scan)
    }
}

/// Builds a sink from its whole `[[sink]]` table (as JSON) and an environment lookup.
pub type BuildFn =
    fn(&serde_json::Value, &dyn Fn(&str) -> Option<String>) -> Result<Box<dyn Sink>, SinkError>;

/// A sink type: its name in `type = "…"`, how to build one from its table, and the scans it
/// hears.
pub struct SinkType {
    /// The value of the table's `type` key.
    pub name: &'static str,
    /// Builds the sink; [`build`] picks the type and calls this.
    pub build: BuildFn,
    /// The scans it hears when its table has no `scans` key.
    pub hears: &'static [Scan],
    /// The scans a `scans` key may name: those the type has something to say about.
    pub can_hear: &'static [Scan],
}

/// Every sink type plumb knows.
pub const SINKS: &[SinkType] = &[betterstack::TYPE, slack::TYPE, webhook::TYPE, heartbeat::TYPE];

/// Builds a sink from one `[[sink]]` table (as JSON). `env` looks up environment variables,
/// so tests need not change the process environment.
///
/// The table's optional `scans = ["drift", "exception-reminder"]` says which scans it hears;
/// without it, those its type is made for ([`SinkType::hears`]).
///
/// An unknown type, a missing or unknown key, a value of the wrong type, a scan the type
/// cannot hear and an environment variable that is not set (or is empty) are
/// [`SinkError::Config`], with a message naming the sink (its name, else its type), the key
/// and what was expected.
pub fn build(
    settings: &serde_json::Value,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Box<dyn Sink>, SinkError> {
    let head = config::Head::read(settings)?;
    let Some(sink_type) = SINKS.iter().find(|t| t.name == head.sink_type) else {
        let known: Vec<&str> = SINKS.iter().map(|t| t.name).collect();
        return Err(SinkError::Config(format!(
            "{}: unknown type `{}`, expected one of {}",
            head.label(),
            head.sink_type,
            known.join(", ")
        )));
    };
    let scans = head.scans.clone().unwrap_or_else(|| sink_type.hears.to_vec());
    if let Some(scan) = scans.iter().find(|scan| !sink_type.can_hear.contains(scan)) {
        let can: Vec<&str> = sink_type.can_hear.iter().map(|s| s.as_str()).collect();
        return Err(SinkError::Config(format!(
            "{}: key `scans`: a {} sink cannot take {scan} alerts (it takes {})",
            head.label(),
            sink_type.name,
            can.join(", ")
        )));
    }
    let sink = (sink_type.build)(settings, env)?;
    Ok(Box::new(Scoped { sink, scans }))
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use serde_json::json;

    use super::*;

    /// Every table that builds one sink of each type, with the environment they need.
    fn examples() -> Vec<serde_json::Value> {
        vec![
            json!({"type": "betterstack", "token_env": "T", "requester_email": "ops@example.com"}),
            json!({"type": "slack", "url_env": "U"}),
            json!({"type": "webhook", "url": "https://example.com/hook", "secret_env": "S"}),
            json!({"type": "heartbeat", "url_env": "U"}),
        ]
    }

    fn env(name: &str) -> Option<String> {
        match name {
            "T" | "S" => Some("s3kr1t-value".to_owned()),
            "U" => Some("https://hooks.example.com/T0S3KR1T".to_owned()),
            _ => None,
        }
    }

    #[test]
    fn registry_names_are_unique_and_each_builds_its_own_type() {
        let names: HashSet<&str> = SINKS.iter().map(|t| t.name).collect();
        assert_eq!(names.len(), SINKS.len());
        let examples = examples();
        assert_eq!(examples.len(), SINKS.len(), "one example per registered type");
        for (settings, sink_type) in examples.iter().zip(SINKS) {
            let sink = build(settings, &env).unwrap();
            assert_eq!(sink.sink_type(), sink_type.name);
            // Without a `name`, the sink is called by its type.
            assert_eq!(sink.name(), sink_type.name);
        }
    }

    #[test]
    fn debug_output_never_shows_secrets() {
        for settings in examples() {
            let sink = build(&settings, &env).unwrap();
            let debug = format!("{sink:?}");
            assert!(!debug.contains("s3kr1t") && !debug.contains("S3KR1T"), "{debug}");
        }
    }

    #[test]
    fn has_changes_is_about_opened_and_resolved_only() {
        let item = AlertItem {
            kind: "changed".to_owned(),
            key: "k".to_owned(),
            resource_type: "t".to_owned(),
            message: "m".to_owned(),
        };
        let mut alert = Alert {
            scan: Scan::Drift,
            run_id: "r".to_owned(),
            at: "2026-01-01T00:00:00Z".to_owned(),
            outcome: Outcome::Completed,
            error: None,
            opened: Vec::new(),
            resolved: Vec::new(),
            open_unmanaged: Some(3),
            summary: json!({}),
            report_url: None,
        };
        assert!(!alert.has_changes());
        alert.resolved.push(item.clone());
        assert!(alert.has_changes());
        alert.resolved.clear();
        alert.opened.push(item);
        assert!(alert.has_changes());
    }
}
