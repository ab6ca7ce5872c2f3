//! The Slack incoming-webhook sink.

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
async fn sends_nothing_when_nothing_changed() {
    let hook = Receiver::ok();
    for scan in [alert(vec![], vec![], 3), failed()] {
        let delivery = deliver_one(slack(&hook.url), &scan, None).await;
        assert!(delivery.ok && delivery.attempts == 1, "{delivery:?}");
    }
    assert!(hook.requests().is_empty(), "{:?}", hook.requests());
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
