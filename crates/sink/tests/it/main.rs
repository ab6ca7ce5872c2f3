//! plumb-sink's integration tests: each sink built from its table and driven through
//! `deliver` against a local HTTP receiver that records what it was sent.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly on unexpected errors")]

mod betterstack;
mod config;
mod heartbeat;
mod receiver;
mod retries;
mod scans;
mod slack;
mod webhook;

use std::time::Duration;

use plumb_sink::{Alert, AlertItem, Delivery, Outcome, Retry, Scan, Sink, SinkState};
use serde_json::{Value, json};

pub fn item(kind: &str, key: &str, resource_type: &str) -> AlertItem {
    AlertItem {
        kind: kind.to_owned(),
        key: key.to_owned(),
        resource_type: resource_type.to_owned(),
        message: format!("{key} is {kind}."),
    }
}

/// A completed drift scan's alert.
pub fn alert(opened: Vec<AlertItem>, resolved: Vec<AlertItem>, open_unmanaged: u64) -> Alert {
    Alert {
        scan: Scan::Drift,
        run_id: "01HZX5K3M7Q9R2T4V6W8Y0A1B2".to_owned(),
        at: "2026-05-01T12:00:00Z".to_owned(),
        outcome: Outcome::Completed,
        error: None,
        opened,
        resolved,
        open_unmanaged: Some(open_unmanaged),
        summary: json!({"unmanaged": open_unmanaged, "missing": 0, "changed": 0, "managed": 10, "live": 12}),
        report_url: None,
    }
}

/// An exception reminder's alert.
pub fn reminder() -> Alert {
    Alert {
        scan: Scan::ExceptionReminder,
        open_unmanaged: None,
        summary: json!({"expiring": 1, "expired": 0}),
        ..alert(vec![item("expiring", "EX-1", "exception")], vec![], 0)
    }
}

/// A failed scan's alert.
pub fn failed() -> Alert {
    Alert { outcome: Outcome::Failed, error: Some("AccessDenied".to_owned()), ..alert(vec![], vec![], 0) }
}

/// Small enough that failing tests stay fast.
pub fn quick() -> Retry {
    Retry { attempts: 3, first_backoff: Duration::from_millis(10), timeout: Duration::from_millis(200) }
}

/// Builds a sink with the given environment.
pub fn sink(settings: Value, env: &[(&str, &str)]) -> Box<dyn Sink> {
    let env: Vec<(String, String)> = env.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    let lookup = move |name: &str| env.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    plumb_sink::build(&settings, &lookup).unwrap()
}

/// Delivers to one sink.
pub async fn deliver_one(sink: Box<dyn Sink>, alert: &Alert, state: SinkState) -> Delivery {
    let mut deliveries = plumb_sink::deliver(&[sink], alert, &[state], &quick()).await;
    assert_eq!(deliveries.len(), 1);
    deliveries.remove(0)
}

/// Every request carries plumb's User-Agent.
pub fn assert_agent(request: &receiver::Request) {
    assert_eq!(request.header("user-agent"), Some(concat!("plumb/", env!("CARGO_PKG_VERSION"))));
}
