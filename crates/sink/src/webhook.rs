//! A signed JSON webhook: the `Alert` itself, POSTed when a scan opened or resolved
//! something.
//!
//! ```toml
//! [[sink]]
//! type = "webhook"
//! url = "https://hooks.example.com/plumb"
//! secret_env = "PLUMB_WEBHOOK_SECRET"   # the variable holding the signing secret
//! ```
//!
//! The body is the exact JSON serialization of `Alert`. Headers follow GitHub's webhook
//! convention so receivers can reuse their verification code: `X-Plumb-Event` (the scan,
//! `drift` or `exception-reminder`), `X-Plumb-Delivery` (the run id, the same on every retry, for de-duplication) and
//! `X-Plumb-Signature-256: sha256=<hex HMAC-SHA256(secret, body bytes)>`.

use futures_util::future::BoxFuture;
use hmac::{Hmac, Mac};
use reqwest::header::CONTENT_TYPE;
use serde::Deserialize;
use serde_json::Value;
use sha2::Sha256;

use crate::config::{self, Secret};
use crate::http;
use crate::{Alert, Scan, Sink, SinkError, SinkState, SinkType};

/// The registry entry.
pub(crate) const TYPE: SinkType = SinkType { name: "webhook", build, hears: Scan::ALL, can_hear: Scan::ALL };

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Keys {
    url: String,
    secret_env: String,
}

#[derive(Debug)]
struct Webhook {
    name: String,
    url: reqwest::Url,
    secret: Secret,
}

fn build(settings: &Value, env: &dyn Fn(&str) -> Option<String>) -> Result<Box<dyn Sink>, SinkError> {
    let parsed = config::parse::<Keys>(settings, TYPE.name, "url, secret_env, name (optional)")?;
    let url = config::url(&parsed.label, "key `url`", &parsed.keys.url)?;
    let secret = config::secret(&parsed.label, "secret_env", &parsed.keys.secret_env, env)?;
    Ok(Box::new(Webhook { name: parsed.name, url, secret }))
}

/// `sha256=<hex HMAC-SHA256(secret, body)>`.
pub(crate) fn signature(secret: &[u8], body: &[u8]) -> Result<String, SinkError> {
    // HMAC takes keys of any length (long ones are hashed first), so this error is
    // theoretical; it is still not a reason to panic.
    let mut mac = Hmac::<Sha256>::new_from_slice(secret)
        .map_err(|_| SinkError::Config("the webhook secret cannot be used as an HMAC key".to_owned()))?;
    mac.update(body);
    Ok(format!("sha256={}", hex::encode(mac.finalize().into_bytes())))
}

impl Sink for Webhook {
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
            if !alert.is_news() {
                return Ok(state.clone());
            }
            // The signature is over these exact bytes, so they are sent as they are. Failing
            // to serialize would fail again, so it is not an error worth retrying.
            let body = serde_json::to_vec(alert)
                .map_err(|err| SinkError::Config(format!("cannot serialize the alert: {err}")))?;
            let signed = signature(self.secret.expose().as_bytes(), &body)?;
            let request = client
                .post(self.url.clone())
                .header(CONTENT_TYPE, "application/json")
                .header("X-Plumb-Event", alert.scan.as_str())
                .header("X-Plumb-Delivery", &alert.run_id)
                .header("X-Plumb-Signature-256", signed)
                .body(body);
            http::send(request).await?;
            Ok(state.clone())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::signature;

    #[test]
    fn signatures_match_the_rfc_4231_vectors() {
        // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
        assert_eq!(
            signature(b"Jefe", b"what do ya want for nothing?").unwrap(),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        // Test case 6: a key longer than the block size is hashed first.
        assert_eq!(
            signature(&[0xaa; 131], b"Test Using Larger Than Block-Size Key - Hash Key First").unwrap(),
            "sha256=60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
    }
}
