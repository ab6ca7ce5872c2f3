//! The Better Stack incident sink against a stand-in Uptime API.

use serde_json::json;

use crate::receiver::{Receiver, Reply};
use crate::{alert, assert_agent, deliver_one, failed, item, sink};

const TOKEN: &str = "bs-token-123";

fn betterstack(url: &str) -> Box<dyn plumb_sink::Sink> {
    sink(
        json!({"type": "betterstack", "name": "oncall", "api_url": url, "token_env": "BS_TOKEN",
               "requester_email": "ops@example.com"}),
        &[("BS_TOKEN", TOKEN)],
    )
}

/// Answers a create with incident 42 and a resolve with 200.
fn uptime_api() -> Receiver {
    Receiver::start(|request, _| match request.path.as_str() {
        "/api/v2/incidents" => {
            Reply::json(201, json!({"data": {"id": "42", "type": "incident", "attributes": {}}}))
        }
        "/api/v2/incidents/42/resolve" => Reply::json(200, json!({"data": {"id": "42", "type": "incident"}})),
        _ => Reply::json(404, json!({"errors": "not found"})),
    })
}

#[tokio::test]
async fn creates_an_incident_then_resolves_it_on_a_later_scan() {
    let api = uptime_api();
    let opened = vec![
        item("unmanaged", "arn:aws:s3:::stray-bucket", "aws.s3.bucket"),
        item("unmanaged", "arn:aws:ec2:eu-west-1:1:instance/i-0abc", "aws.ec2.instance"),
        item("changed", "aws_s3_bucket.logs", "aws_s3_bucket"),
    ];
    let first = deliver_one(betterstack(&api.url), &alert(opened, vec![], 2), None).await;
    assert!(first.ok, "{first:?}");
    assert_eq!((first.sink.as_str(), first.sink_type, first.attempts), ("oncall", "betterstack", 1));
    assert_eq!(first.state, Some(json!({"incident_id": "42"})));

    let requests = api.requests();
    assert_eq!(requests.len(), 1);
    let create = &requests[0];
    assert_eq!((create.method.as_str(), create.path.as_str()), ("POST", "/api/v2/incidents"));
    assert_eq!(create.header("authorization"), Some("Bearer bs-token-123"));
    assert_eq!(create.header("content-type"), Some("application/json"));
    assert_agent(create);
    let body = create.json();
    assert_eq!(body["requester_email"], "ops@example.com");
    assert_eq!(body["summary"], "plumb drift: 2 unmanaged resources found");
    assert_eq!(body["email"], true);
    let description = body["description"].as_str().unwrap();
    assert!(description.contains("- arn:aws:s3:::stray-bucket (aws.s3.bucket)"), "{description}");
    assert!(
        description.contains("- arn:aws:ec2:eu-west-1:1:instance/i-0abc (aws.ec2.instance)"),
        "{description}"
    );
    assert!(!description.contains("aws_s3_bucket.logs"), "changed items do not page: {description}");

    // The next scan finds them gone: the remembered incident is resolved and forgotten.
    let resolved = vec![item("unmanaged", "arn:aws:s3:::stray-bucket", "aws.s3.bucket")];
    let second = deliver_one(betterstack(&api.url), &alert(vec![], resolved, 0), first.state).await;
    assert!(second.ok, "{second:?}");
    assert_eq!(second.state, None);
    let requests = api.requests();
    assert_eq!(requests.len(), 2);
    let resolve = &requests[1];
    assert_eq!((resolve.method.as_str(), resolve.path.as_str()), ("POST", "/api/v2/incidents/42/resolve"));
    assert_eq!(resolve.header("authorization"), Some("Bearer bs-token-123"));
    assert_eq!(resolve.json(), json!({"resolved_by": "ops@example.com"}));
}

#[tokio::test]
async fn stays_quiet_while_an_incident_is_open_and_after_a_failed_scan() {
    let api = uptime_api();
    let open = Some(json!({"incident_id": "42"}));
    let more = vec![item("unmanaged", "arn:aws:s3:::another", "aws.s3.bucket")];
    let delivery = deliver_one(betterstack(&api.url), &alert(more, vec![], 3), open.clone()).await;
    assert!(delivery.ok, "{delivery:?}");
    assert_eq!(delivery.state, open);
    // A failed scan reports zero open, but that is not evidence that they are gone.
    let delivery = deliver_one(betterstack(&api.url), &failed(), open.clone()).await;
    assert!(delivery.ok, "{delivery:?}");
    assert_eq!(delivery.state, open);
    // Nothing unmanaged and nothing remembered: nothing to do.
    let changed = vec![item("changed", "aws_s3_bucket.logs", "aws_s3_bucket")];
    let delivery = deliver_one(betterstack(&api.url), &alert(changed, vec![], 0), None).await;
    assert_eq!((delivery.ok, delivery.state), (true, None));
    assert!(api.requests().is_empty(), "{:?}", api.requests());
}

#[tokio::test]
async fn an_incident_resolved_by_someone_else_is_forgotten() {
    let api = Receiver::start(|_, _| Reply::json(409, json!({"errors": "Incident was already resolved"})));
    let delivery =
        deliver_one(betterstack(&api.url), &alert(vec![], vec![], 0), Some(json!({"incident_id": "9"})))
            .await;
    assert!(delivery.ok, "{delivery:?}");
    assert_eq!(delivery.state, None);
    assert_eq!(api.requests().len(), 1);
}

#[tokio::test]
async fn a_refused_token_fails_once_and_keeps_the_old_state() {
    let api = Receiver::start(|_, _| Reply::json(401, json!({"errors": "Invalid Team API token"})));
    let state = Some(json!({"incident_id": "9"}));
    let delivery = deliver_one(betterstack(&api.url), &alert(vec![], vec![], 0), state.clone()).await;
    assert!(!delivery.ok);
    assert_eq!(delivery.attempts, 1, "a 401 is not retried");
    assert_eq!(delivery.error.as_deref(), Some(r#"HTTP 401: {"errors":"Invalid Team API token"}"#));
    assert_eq!(delivery.state, state);
}

#[tokio::test]
async fn a_created_incident_without_an_id_is_an_error_not_retried() {
    let api = Receiver::start(|_, _| Reply::json(201, json!({"data": {}})));
    let opened = vec![item("unmanaged", "arn:aws:s3:::stray-bucket", "aws.s3.bucket")];
    let delivery = deliver_one(betterstack(&api.url), &alert(opened, vec![], 1), None).await;
    assert!(!delivery.ok);
    assert_eq!(delivery.attempts, 1, "retrying would open a second incident");
    assert!(delivery.error.as_deref().unwrap().contains("no data.id"), "{delivery:?}");
}
