//! `deliver`: retries with backoff, timeouts, and one sink's failure leaving the others alone.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::receiver::{Receiver, Reply};
use crate::{alert, deliver_one, item, quick, sink};

fn webhook(url: &str) -> Box<dyn plumb_sink::Sink> {
    sink(json!({"type": "webhook", "url": url, "secret_env": "S"}), &[("S", "secret")])
}

fn news() -> plumb_sink::Alert {
    alert(vec![item("unmanaged", "arn:aws:s3:::stray-bucket", "aws.s3.bucket")], vec![], 1)
}

#[tokio::test]
async fn server_errors_are_retried_until_one_succeeds() {
    let flaky = Receiver::start(
        |_, count| if count < 2 { Reply::Status(500, "boom".to_owned()) } else { Reply::ok() },
    );
    let delivery = deliver_one(webhook(&flaky.url), &news(), None).await;
    assert!(delivery.ok, "{delivery:?}");
    assert_eq!(delivery.attempts, 3);
    assert_eq!(delivery.error, None);
    let requests = flaky.requests();
    assert_eq!(requests.len(), 3);
    // A retry sends the same delivery again, so receivers can de-duplicate.
    assert!(requests.iter().all(|r| r.body == requests[0].body
        && r.header("x-plumb-delivery") == requests[0].header("x-plumb-delivery")));
}

#[tokio::test]
async fn rate_limits_are_retried_and_the_last_status_reported() {
    let limited = Receiver::start(|_, _| Reply::Status(429, "slow down".to_owned()));
    let delivery = deliver_one(webhook(&limited.url), &news(), None).await;
    assert!(!delivery.ok);
    assert_eq!(delivery.attempts, 3);
    assert_eq!(delivery.error.as_deref(), Some("HTTP 429: slow down"));
    assert_eq!(limited.requests().len(), 3);
}

#[tokio::test]
async fn client_errors_are_not_retried() {
    let strict = Receiver::start(|_, _| Reply::Status(400, "bad signature".to_owned()));
    let delivery = deliver_one(webhook(&strict.url), &news(), None).await;
    assert!(!delivery.ok);
    assert_eq!(delivery.attempts, 1);
    assert_eq!(delivery.error.as_deref(), Some("HTTP 400: bad signature"));
    assert_eq!(strict.requests().len(), 1);
}

#[tokio::test]
async fn redirects_are_not_followed() {
    let moved = Receiver::start(|_, _| Reply::Status(302, String::new()));
    let delivery = deliver_one(webhook(&moved.url), &news(), None).await;
    assert!(!delivery.ok);
    assert_eq!((delivery.attempts, delivery.error.as_deref()), (1, Some("HTTP 302")));
}

#[tokio::test]
async fn a_receiver_that_never_answers_times_out_on_every_attempt() {
    let silent = Receiver::start(|_, _| Reply::Silence);
    let retry = quick();
    let started = Instant::now();
    let delivery = deliver_one(webhook(&silent.url), &news(), None).await;
    let took = started.elapsed();
    assert!(!delivery.ok);
    assert_eq!(delivery.attempts, 3);
    assert_eq!(delivery.error.as_deref(), Some("timed out after 200ms"));
    assert_eq!(silent.requests().len(), 3, "each attempt reached the receiver");
    // Three timeouts and two backoffs (10 ms, 20 ms); the upper bound only shows it does not
    // hang, with room for a loaded CI machine.
    let least = retry.timeout * 3 + Duration::from_millis(30);
    assert!(took >= least, "{took:?}");
    assert!(took < least + Duration::from_secs(10), "{took:?}");
}

#[tokio::test]
async fn one_failing_sink_leaves_the_others_alone() {
    let broken = Receiver::start(|_, _| Reply::Status(503, "down".to_owned()));
    let healthy = Receiver::ok();
    let sinks = vec![webhook(&broken.url), webhook(&healthy.url)];
    let old = Some(json!({"kept": true}));
    let deliveries = plumb_sink::deliver(&sinks, &news(), &[old.clone(), None], &quick()).await;
    assert_eq!(deliveries.len(), 2);
    assert!(!deliveries[0].ok);
    assert_eq!(deliveries[0].attempts, 3);
    assert_eq!(deliveries[0].error.as_deref(), Some("HTTP 503: down"));
    assert_eq!(deliveries[0].state, old, "a failed sink keeps its old state");
    assert!(deliveries[1].ok, "{:?}", deliveries[1]);
    assert_eq!(deliveries[1].attempts, 1);
    assert_eq!(healthy.requests().len(), 1);
}

#[tokio::test]
async fn sinks_are_tried_at_the_same_time() {
    let silent = Receiver::start(|_, _| Reply::Silence);
    let sinks: Vec<_> = (0..4).map(|_| webhook(&silent.url)).collect();
    let retry = plumb_sink::Retry { attempts: 1, timeout: Duration::from_secs(2), ..quick() };
    let started = Instant::now();
    let deliveries = plumb_sink::deliver(&sinks, &news(), &[], &retry).await;
    let took = started.elapsed();
    assert!(deliveries.iter().all(|d| !d.ok && d.attempts == 1), "{deliveries:?}");
    // One after another would take at least 4 × 2 s.
    assert!(took < retry.timeout * 3, "{took:?}");
}

#[tokio::test]
async fn deliveries_serialize_without_state() {
    let healthy = Receiver::ok();
    let delivery = deliver_one(webhook(&healthy.url), &news(), Some(json!({"secret": 1}))).await;
    assert_eq!(
        serde_json::to_value(&delivery).unwrap(),
        json!({"sink": "webhook", "sink_type": "webhook", "ok": true, "attempts": 1, "error": null})
    );
}
