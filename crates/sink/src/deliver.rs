//! Sending one alert to every sink at once, each with its own retries, so a slow or broken
//! destination delays only its own report and never stops the others.

use std::time::Duration;

use futures_util::future::join_all;
use serde::Serialize;

use crate::http;
use crate::{Alert, Sink, SinkError, SinkState};

/// How hard `deliver` tries each sink.
#[derive(Clone, Debug)]
pub struct Retry {
    /// Attempts per sink, the first included; 0 is taken as 1.
    pub attempts: u32,
    /// The wait after the first failed attempt; doubled after each further one.
    pub first_backoff: Duration,
    /// How long one attempt may take, connecting included.
    pub timeout: Duration,
}

impl Default for Retry {
    fn default() -> Self {
        Retry { attempts: 4, first_backoff: Duration::from_secs(1), timeout: Duration::from_secs(10) }
    }
}

impl Retry {
    /// The wait after failed attempt `attempt` (1-based): `first_backoff * 2^(attempt-1)`.
    fn backoff(&self, attempt: u32) -> Duration {
        let factor = 1u32 << attempt.saturating_sub(1).min(16);
        self.first_backoff.saturating_mul(factor)
    }
}

/// What happened to one sink.
#[derive(Clone, Debug, Serialize)]
pub struct Delivery {
    /// The sink's name.
    pub sink: String,
    /// The sink's type.
    pub sink_type: &'static str,
    /// Whether the sink took the alert (or decided there was nothing to send).
    pub ok: bool,
    /// Attempts made.
    pub attempts: u32,
    /// Why the last attempt failed, when it did.
    pub error: Option<String>,
    /// The state to remember: the new one when `ok`, the old one otherwise.
    #[serde(skip)]
    pub state: SinkState,
}

/// Sends `alert` to every sink that hears its scan, concurrently, each with retries and
/// backoff; never fails. A sink that keeps failing is reported in its `Delivery` (the error
/// has the HTTP status or "timed out after …"); the others are unaffected. `states[i]` is sink
/// `i`'s remembered state (a missing entry is `None`). The result has one `Delivery` per sink
/// that hears the scan, in order; the others are not told and keep their state.
pub async fn deliver(
    sinks: &[Box<dyn Sink>],
    alert: &Alert,
    states: &[SinkState],
    retry: &Retry,
) -> Vec<Delivery> {
    let state = |i: usize| states.get(i).cloned().flatten();
    let hearing = || sinks.iter().map(Box::as_ref).enumerate().filter(|(_, sink)| sink.hears(alert.scan));
    let client = match http::client(retry.timeout) {
        Ok(client) => client,
        Err(err) => {
            let message = err.to_string();
            return hearing().map(|(i, sink)| failure(sink, 0, message.clone(), state(i))).collect();
        }
    };
    join_all(hearing().map(|(i, sink)| deliver_one(&client, sink, alert, state(i), retry))).await
}

/// One sink: attempts until one succeeds, a failure is not worth retrying, or attempts run
/// out.
async fn deliver_one(
    client: &reqwest::Client,
    sink: &dyn Sink,
    alert: &Alert,
    state: SinkState,
    retry: &Retry,
) -> Delivery {
    let attempts = retry.attempts.max(1);
    let mut attempt = 0;
    loop {
        attempt += 1;
        match attempt_once(client, sink, alert, &state, retry.timeout).await {
            Ok(new_state) => {
                return Delivery {
                    sink: sink.name().to_owned(),
                    sink_type: sink.sink_type(),
                    ok: true,
                    attempts: attempt,
                    error: None,
                    state: new_state,
                };
            }
            Err(error) if attempt < attempts && error.is_retryable() => {
                let wait = retry.backoff(attempt);
                tracing::debug!(message = "Sink failed; retrying.", sink = sink.name(), attempt, %error, wait = %http::human(wait));
                tokio::time::sleep(wait).await;
            }
            Err(error) => {
                tracing::warn!(message = "Sink failed.", sink = sink.name(), sink_type = sink.sink_type(), attempts = attempt, %error);
                return failure(sink, attempt, error.to_string(), state);
            }
        }
    }
}

/// One attempt, cut off after `timeout`. The timeout is applied here rather than on the
/// client so that it covers the whole of `send` and the message can say how long it waited.
async fn attempt_once(
    client: &reqwest::Client,
    sink: &dyn Sink,
    alert: &Alert,
    state: &SinkState,
    timeout: Duration,
) -> Result<SinkState, SinkError> {
    match tokio::time::timeout(timeout, sink.send(client, alert, state)).await {
        Ok(result) => result,
        Err(_elapsed) => Err(SinkError::Transport(format!("timed out after {}", http::human(timeout)))),
    }
}

fn failure(sink: &dyn Sink, attempts: u32, error: String, state: SinkState) -> Delivery {
    Delivery {
        sink: sink.name().to_owned(),
        sink_type: sink.sink_type(),
        ok: false,
        attempts,
        error: Some(error),
        state,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_the_first() {
        let retry = Retry { first_backoff: Duration::from_millis(10), ..Retry::default() };
        let waits: Vec<u128> = (1..=4).map(|attempt| retry.backoff(attempt).as_millis()).collect();
        assert_eq!(waits, [10, 20, 40, 80]);
        // Large attempt counts saturate instead of overflowing.
        assert!(retry.backoff(u32::MAX) >= retry.backoff(17));
    }

    #[test]
    fn defaults() {
        let retry = Retry::default();
        assert_eq!(
            (retry.attempts, retry.first_backoff, retry.timeout),
            (4, Duration::from_secs(1), Duration::from_secs(10))
        );
    }
}
