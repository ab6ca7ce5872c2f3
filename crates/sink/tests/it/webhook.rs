//! The signed webhook sink: the receiver checks the signature the way a user's would.

use hmac::{Hmac, Mac};
use serde_json::json;
use sha2::Sha256;

use crate::receiver::Receiver;
use crate::{alert, assert_agent, deliver_one, item, sink};

const SECRET: &str = "whsec-test";

fn webhook(url: &str) -> Box<dyn plumb_sink::Sink> {
    sink(
        json!({"type": "webhook", "name": "siem", "url": format!("{url}/hooks/plumb"), "secret_env": "HOOK_SECRET"}),
        &[("HOOK_SECRET", SECRET)],
    )
}

/// Verifies `sha256=<hex>` as a receiver would: recompute over the raw body, compare in
/// constant time.
fn verify(signature: &str, body: &[u8]) -> bool {
    let Some(hex_mac) = signature.strip_prefix("sha256=") else { return false };
    let Ok(bytes) = hex::decode(hex_mac) else { return false };
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(body);
    mac.verify_slice(&bytes).is_ok()
}

#[tokio::test]
async fn posts_the_alert_signed() {
    let hook = Receiver::ok();
    let scan = alert(vec![item("unmanaged", "arn:aws:s3:::stray-bucket", "aws.s3.bucket")], vec![], 1);
    let delivery = deliver_one(webhook(&hook.url), &scan, None).await;
    assert!(delivery.ok, "{delivery:?}");
    assert_eq!((delivery.sink.as_str(), delivery.sink_type), ("siem", "webhook"));

    let requests = hook.requests();
    assert_eq!(requests.len(), 1);
    let post = &requests[0];
    assert_eq!((post.method.as_str(), post.path.as_str()), ("POST", "/hooks/plumb"));
    assert_eq!(post.header("content-type"), Some("application/json"));
    assert_eq!(post.header("x-plumb-event"), Some("drift"));
    assert_eq!(post.header("x-plumb-delivery"), Some("01HZX5K3M7Q9R2T4V6W8Y0A1B2"));
    assert_agent(post);
    let signature = post.header("x-plumb-signature-256").unwrap();
    assert!(verify(signature, &post.body), "{signature}");
    // A different body (or secret) would not verify: the check above can fail.
    assert!(!verify(signature, b"{}"));
    // The body is exactly the Alert's serialization.
    assert_eq!(post.body, serde_json::to_vec(&scan).unwrap());
    let body = post.json();
    assert_eq!(body["outcome"], "completed");
    assert_eq!(body["opened"][0]["key"], "arn:aws:s3:::stray-bucket");
    assert_eq!(body["open_unmanaged"], 1);
}

#[tokio::test]
async fn sends_nothing_when_nothing_changed() {
    let hook = Receiver::ok();
    let delivery = deliver_one(webhook(&hook.url), &alert(vec![], vec![], 1), None).await;
    assert!(delivery.ok, "{delivery:?}");
    assert!(hook.requests().is_empty(), "{:?}", hook.requests());
}
