//! Building sinks from `[[sink]]` tables: the errors a user sees for a wrong table.

use serde_json::{Value, json};

fn env(name: &str) -> Option<String> {
    match name {
        "SET" => Some("value".to_owned()),
        "URL" => Some("https://example.com/hook".to_owned()),
        _ => None,
    }
}

fn check(settings: Value, expect: &str) {
    let got = match plumb_sink::build(&settings, &env) {
        Ok(sink) => format!("ok {} {}", sink.sink_type(), sink.name()),
        Err(err) => {
            assert!(matches!(err, plumb_sink::SinkError::Config(_)), "{err:?}");
            format!("err {err}")
        }
    };
    assert_eq!(got, expect);
}

#[test]
fn unknown_type() {
    check(
        json!({"type": "pagerduty", "name": "pd"}),
        r#"err sink "pd" (pagerduty): unknown type `pagerduty`, expected one of betterstack, slack, webhook, heartbeat"#,
    );
}

#[test]
fn missing_environment_variable() {
    check(
        json!({"type": "betterstack", "token_env": "UNSET_TOKEN", "requester_email": "ops@example.com"}),
        "err sink (betterstack): key `token_env` names the environment variable UNSET_TOKEN, which is not set",
    );
    check(
        json!({"type": "webhook", "name": "siem", "url": "https://example.com/h", "secret_env": "NOPE"}),
        r#"err sink "siem" (webhook): key `secret_env` names the environment variable NOPE, which is not set"#,
    );
}

#[test]
fn unknown_key() {
    check(
        json!({"type": "slack", "name": "team", "url_env": "SET", "channel": "#ops"}),
        r#"err sink "team" (slack): key `channel`: unknown field `channel`, expected `url_env` (slack takes url_env, name (optional))"#,
    );
}

#[test]
fn missing_key() {
    check(
        json!({"type": "betterstack", "token_env": "SET"}),
        "err sink (betterstack): missing field `requester_email` (betterstack takes token_env, requester_email, api_url (optional), name (optional))",
    );
}

#[test]
fn bad_values() {
    check(
        json!({"type": "webhook", "url": "ftp://example.com/h", "secret_env": "SET"}),
        "err sink (webhook): key `url` is not an http(s) URL: scheme `ftp`",
    );
    // SET holds "value", not a URL; the message names the variable, not its secret value.
    check(
        json!({"type": "heartbeat", "url_env": "SET"}),
        "err sink (heartbeat): the value of SET is not an http(s) URL: relative URL without a base",
    );
    check(
        json!({"type": "betterstack", "token_env": "SET", "requester_email": ["a"]}),
        "err sink (betterstack): key `requester_email`: invalid type: sequence, expected a string (betterstack takes token_env, requester_email, api_url (optional), name (optional))",
    );
}

#[test]
fn good_tables() {
    check(json!({"type": "slack", "name": "team", "url_env": "URL"}), "ok slack team");
    check(json!({"type": "heartbeat", "url_env": "URL"}), "ok heartbeat heartbeat");
    check(
        json!({"type": "betterstack", "token_env": "SET", "requester_email": "e", "api_url": "http://127.0.0.1:1"}),
        "ok betterstack betterstack",
    );
    check(
        json!({"type": "webhook", "url": "https://example.com/h", "secret_env": "SET"}),
        "ok webhook webhook",
    );
}
