//! A Better Stack heartbeat: a request after every scan, so a scan that stops running (or
//! keeps failing) raises an incident even though nothing else would say so.
//!
//! ```toml
//! [[sink]]
//! type = "heartbeat"
//! url_env = "BETTERSTACK_HEARTBEAT_URL"   # the variable holding the heartbeat URL (a secret)
//! ```
//!
//! Better Stack's "Cron and heartbeat monitor" page: a GET or POST to the heartbeat URL
//! reports success, and appending `/fail` reports a failure. This sends `GET {url}` after a
//! completed scan and `GET {url}/fail` after a failed or incomplete one, whether or not anything changed.

use futures_util::future::BoxFuture;
use serde::Deserialize;
use serde_json::Value;

use crate::config::{self, Secret};
use crate::http;
use crate::{Alert, Outcome, Scan, Sink, SinkError, SinkState, SinkType};

/// The registry entry. A heartbeat watches one job: the daily drift scan unless its table's
/// `scans` names another (a reminder must not tell it the drift scan ran).
pub(crate) const TYPE: SinkType =
    SinkType { name: "heartbeat", build, hears: &[Scan::Drift], can_hear: Scan::ALL };

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Keys {
    url_env: String,
}

#[derive(Debug)]
struct Heartbeat {
    name: String,
    /// The heartbeat URL; its token makes it a secret.
    url: Secret,
}

fn build(settings: &Value, env: &dyn Fn(&str) -> Option<String>) -> Result<Box<dyn Sink>, SinkError> {
    let parsed = config::parse::<Keys>(settings, TYPE.name, "url_env, name (optional)")?;
    let url = config::secret(&parsed.label, "url_env", &parsed.keys.url_env, env)?;
    config::url(&parsed.label, &format!("the value of {}", parsed.keys.url_env), url.expose())?;
    Ok(Box::new(Heartbeat { name: parsed.name, url }))
}

/// The URL to request for a scan's outcome: the heartbeat URL, or it with `/fail` appended
/// to the path (a query, if any, is kept).
fn target(url: &str, outcome: Outcome) -> Result<reqwest::Url, SinkError> {
    // Parsed at build time already; the message never repeats the secret URL.
    let invalid = || SinkError::Config("the heartbeat URL is not a URL".to_owned());
    let mut url = reqwest::Url::parse(url).map_err(|_| invalid())?;
    if outcome != Outcome::Completed {
        url.path_segments_mut().map_err(|()| invalid())?.pop_if_empty().push("fail");
    }
    Ok(url)
}

impl Sink for Heartbeat {
    fn name(&self) -> &str {
        &self.name
    }

    fn sink_type(&self) -> &'static str {
        TYPE.name
    }

    fn send<'a>(
        &'a self,
        client: &'a reqwest::Client,
        alert: &'a Alert,
        state: &'a SinkState,
    ) -> BoxFuture<'a, Result<SinkState, SinkError>> {
        Box::pin(async move {
            http::send(client.get(target(self.url.expose(), alert.outcome)?)).await?;
            Ok(state.clone())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets() {
        let rows = [
            (
                "https://uptime.betterstack.com/api/v1/heartbeat/T1",
                Outcome::Completed,
                "https://uptime.betterstack.com/api/v1/heartbeat/T1",
            ),
            (
                "https://uptime.betterstack.com/api/v1/heartbeat/T1",
                Outcome::Failed,
                "https://uptime.betterstack.com/api/v1/heartbeat/T1/fail",
            ),
            (
                "https://uptime.betterstack.com/api/v1/heartbeat/T1/",
                Outcome::Failed,
                "https://uptime.betterstack.com/api/v1/heartbeat/T1/fail",
            ),
            ("http://127.0.0.1:8/hb?x=1", Outcome::Failed, "http://127.0.0.1:8/hb/fail?x=1"),
            // A scan that could not compare everything did not do its job either.
            ("http://127.0.0.1:8/hb", Outcome::Incomplete, "http://127.0.0.1:8/hb/fail"),
        ];
        for (url, outcome, expect) in rows {
            assert_eq!(target(url, outcome).unwrap().as_str(), expect);
        }
    }
}
