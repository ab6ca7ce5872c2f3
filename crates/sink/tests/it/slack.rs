//! The Slack incoming-webhook sink.

use plumb_sink::{Alert, Outcome};
use serde_json::json;

use crate::receiver::Receiver;
use crate::{alert, assert_agent, deliver_one, failed, item, sink};

fn slack(url: &str) -> Box<dyn plumb_sink::Sink> {
    sink(
        json!({"type": "slack", "url_env": "SLACK_URL"}),
        &[("SLACK_URL", &format!("{url}/services/T0/B0/xyz"))],
    )
}

#[tokio::test]
async fn posts_a_summary_of_what_opened_and_resolved() {
    let hook = Receiver::ok();
    let opened = vec![
        item("unmanaged", "arn:aws:s3:::stray-bucket", "aws.s3.bucket"),
        item("unmanaged", "arn:aws:s3:::other", "aws.s3.bucket"),
    ];
    let resolved = vec![item("missing", "aws_s3_bucket.logs", "aws_s3_bucket")];
    let delivery = deliver_one(slack(&hook.url), &alert(opened, resolved, 4), None).await;
    assert!(delivery.ok, "{delivery:?}");
    assert_eq!((delivery.sink.as_str(), delivery.state), ("slack", None));

    let requests = hook.requests();
    assert_eq!(requests.len(), 1);
    let post = &requests[0];
    assert_eq!((post.method.as_str(), post.path.as_str()), ("POST", "/services/T0/B0/xyz"));
    assert_eq!(post.header("content-type"), Some("application/json"));
    assert_agent(post);
    let body = post.json();
    assert_eq!(body["text"], "plumb drift: 2 new unmanaged, 1 resolved (4 unmanaged open)");
    let blocks = body["blocks"].as_array().unwrap();
    assert_eq!(blocks.len(), 3, "{blocks:?}");
    assert_eq!(blocks[0]["type"], "section");
    let new = blocks[1]["text"]["text"].as_str().unwrap();
    assert!(new.starts_with("*New*\n• unmanaged `arn:aws:s3:::stray-bucket` (aws.s3.bucket)"), "{new}");
    let gone = blocks[2]["text"]["text"].as_str().unwrap();
    assert!(gone.starts_with("*Resolved*\n• missing `aws_s3_bucket.logs`"), "{gone}");
}

#[tokio::test]
async fn sends_nothing_when_a_complete_scan_changed_nothing() {
    let hook = Receiver::ok();
    let delivery = deliver_one(slack(&hook.url), &alert(vec![], vec![], 3), None).await;
    assert!(delivery.ok && delivery.attempts == 1, "{delivery:?}");
    assert!(hook.requests().is_empty(), "{:?}", hook.requests());
}

/// A scan that failed, or could not compare everything, is news until it is fixed: nothing
/// else says that the drift report is not the whole truth.
#[tokio::test]
async fn tells_of_failed_and_incomplete_scans() {
    let hook = Receiver::ok();
    let incomplete = Alert {
        outcome: Outcome::Incomplete,
        error: Some("3 resources not compared".to_owned()),
        ..alert(vec![], vec![], 1)
    };
    for scan in [failed(), incomplete] {
        let delivery = deliver_one(slack(&hook.url), &scan, None).await;
        assert!(delivery.ok, "{delivery:?}");
    }
    let headlines: Vec<String> = hook
        .requests()
        .iter()
        .map(|r| {
            serde_json::from_slice::<serde_json::Value>(&r.body).unwrap()["text"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(
        headlines,
        [
            "plumb drift failed: AccessDenied; nothing new (0 unmanaged open)",
            "plumb drift incomplete: 3 resources not compared; nothing new (1 unmanaged open)",
        ]
    );
}

#[tokio::test]
async fn errors_do_not_show_the_secret_webhook_url() {
    // A port nobody listens on: bind one, then free it.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let url = format!("http://127.0.0.1:{port}");
    let delivery = deliver_one(slack(&url), &alert(vec![item("unmanaged", "k", "t")], vec![], 1), None).await;
    assert!(!delivery.ok);
    assert_eq!(delivery.attempts, 3, "connection errors are retried");
    let error = delivery.error.unwrap();
    assert!(!error.contains("xyz") && !error.contains("services"), "{error}");
}
