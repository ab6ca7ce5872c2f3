//! The HTTP plumbing every sink shares: the client `deliver` builds, the `User-Agent`, and
//! turning answers into `SinkError`s without leaking secret URLs into messages.

use std::time::Duration;

use reqwest::header::USER_AGENT;

use crate::SinkError;

/// Sent with every request, so receivers can tell plumb's traffic apart.
pub(crate) const AGENT: &str = concat!("plumb/", env!("CARGO_PKG_VERSION"));

/// How much of an error answer's body is kept for the message.
const EXCERPT_CHARS: usize = 200;

/// The client `deliver` uses: plumb's `User-Agent`, a connect timeout, and no redirects.
/// Redirects are refused because a sink's request carries a token or a signature meant for
/// the configured URL only, and a redirected POST turns into a GET; a 3xx is reported instead.
/// The whole-request timeout is applied per attempt by `deliver`, so it can say how long it
/// waited.
pub(crate) fn client(connect_timeout: Duration) -> Result<reqwest::Client, SinkError> {
    // reqwest is built without a bundled crypto provider (one TLS stack, no C build);
    // installing ring's is idempotent, and a provider installed earlier wins.
    let _already_installed = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .user_agent(AGENT)
        .connect_timeout(connect_timeout)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|err| SinkError::Transport(format!("cannot build the HTTP client: {}", chain(&err))))
}

/// Sends a request and accepts only a 2xx answer. The `User-Agent` is set here too, so a
/// sink driven with a caller's own client still identifies itself.
pub(crate) async fn send(request: reqwest::RequestBuilder) -> Result<reqwest::Response, SinkError> {
    let response = request.header(USER_AGENT, AGENT).send().await.map_err(transport)?;
    let status = response.status();
    if status.is_success() {
        return Ok(response);
    }
    // The body only explains the status; failing to read it must not hide the status.
    let body = response.text().await.unwrap_or_default();
    Err(SinkError::Http { status: status.as_u16(), body: excerpt(&body) })
}

/// A transport error without its URL (a Slack or heartbeat URL is a secret), with its
/// causes, which say what actually went wrong ("connection refused").
pub(crate) fn transport(err: reqwest::Error) -> SinkError {
    SinkError::Transport(chain(&err.without_url()))
}

/// An error and its sources, joined with ": ".
fn chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        // Some errors repeat their source's text in their own; say it once.
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// The start of a body on one line, cut at a character boundary.
pub(crate) fn excerpt(body: &str) -> String {
    let line = body.split_whitespace().collect::<Vec<_>>().join(" ");
    match line.char_indices().nth(EXCERPT_CHARS) {
        Some((cut, _)) => format!("{}…", &line[..cut]),
        None => line,
    }
}

/// A duration as people write it: `10s`, `1.5s`, `200ms`.
pub(crate) fn human(duration: Duration) -> String {
    let millis = duration.as_millis();
    if millis < 1000 {
        format!("{millis}ms")
    } else if millis.is_multiple_of(1000) {
        format!("{}s", millis / 1000)
    } else {
        format!("{}s", duration.as_secs_f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excerpts() {
        assert_eq!(excerpt(""), "");
        assert_eq!(excerpt("  {\"error\":\n  \"bad\"}\n"), "{\"error\": \"bad\"}");
        let long = "é".repeat(300);
        let cut = excerpt(&long);
        assert_eq!(cut.chars().count(), EXCERPT_CHARS + 1);
        assert!(cut.ends_with('…'));
    }

    #[test]
    fn durations() {
        let cases = [(200, "200ms"), (0, "0ms"), (1000, "1s"), (10_000, "10s"), (1500, "1.5s")];
        for (millis, expect) in cases {
            assert_eq!(human(Duration::from_millis(millis)), expect);
        }
    }

    #[test]
    fn agent_names_plumb_and_its_version() {
        assert_eq!(AGENT, format!("plumb/{}", env!("CARGO_PKG_VERSION")));
    }
}
