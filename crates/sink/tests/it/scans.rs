//! Which sinks hear which scans: a reminder never resolves a drift incident or tells a drift
//! heartbeat that the daily scan ran; `scans` widens or narrows what a sink hears.

use serde_json::json;

use crate::receiver::Receiver;
use crate::{alert, deliver_one, quick, reminder, sink};

#[tokio::test]
async fn reminders_pass_drift_only_sinks_by() {
    let api = Receiver::ok();
    let betterstack = sink(
        json!({"type": "betterstack", "token_env": "T", "requester_email": "ops@example.com", "api_url": api.url}),
        &[("T", "token")],
    );
    let heartbeat =
        sink(json!({"type": "heartbeat", "url_env": "HB"}), &[("HB", &format!("{}/hb", api.url))]);
    let incident = Some(json!({"incident_id": "42"}));
    let sinks = [betterstack, heartbeat];
    // A reminder has no unmanaged resources open: told to Better Stack, it would resolve the
    // drift scan's incident.
    let deliveries = plumb_sink::deliver(&sinks, &reminder(), &[incident.clone(), None], &quick()).await;
    assert!(deliveries.is_empty(), "{deliveries:?}");
    assert!(api.requests().is_empty());
    // Drift still reaches both.
    let deliveries =
        plumb_sink::deliver(&sinks, &alert(vec![], vec![], 0), &[incident, None], &quick()).await;
    let told: Vec<&str> = deliveries.iter().map(|d| d.sink.as_str()).collect();
    assert_eq!(told, ["betterstack", "heartbeat"]);
}

#[tokio::test]
async fn scans_names_what_a_sink_hears() {
    let monitor = Receiver::ok();
    let url = format!("{}/hb", monitor.url);
    let weekly =
        sink(json!({"type": "heartbeat", "url_env": "HB", "scans": ["exception-reminder"]}), &[("HB", &url)]);
    assert!(deliver_one(weekly, &reminder(), None).await.ok);
    let weekly =
        sink(json!({"type": "heartbeat", "url_env": "HB", "scans": ["exception-reminder"]}), &[("HB", &url)]);
    let deliveries = plumb_sink::deliver(&[weekly], &alert(vec![], vec![], 0), &[None], &quick()).await;
    assert!(deliveries.is_empty(), "a reminder heartbeat is not told of drift scans");
    assert_eq!(monitor.requests().len(), 1);
}

#[test]
fn a_scan_a_type_cannot_hear_is_refused() {
    let env = |_: &str| Some("token".to_owned());
    let err = plumb_sink::build(
        &json!({"type": "betterstack", "name": "pager", "token_env": "T", "requester_email": "o@example.com", "scans": ["exception-reminder"]}),
        &env,
    )
    .unwrap_err()
    .to_string();
    assert_eq!(
        err,
        "sink \"pager\" (betterstack): key `scans`: a betterstack sink cannot take exception-reminder alerts (it takes drift)"
    );
}
