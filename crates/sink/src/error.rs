//! `SinkError`: the ways building a sink or delivering to it fails.

/// Why a sink could not be built or an alert not delivered.
#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    /// A `[[sink]]` table or the environment it names is wrong; the message names the sink,
    /// the key and what was expected.
    #[error("{0}")]
    Config(String),
    /// The destination answered with a status other than 2xx.
    #[error("HTTP {status}{}", if body.is_empty() { String::new() } else { format!(": {body}") })]
    Http {
        /// The HTTP status code.
        status: u16,
        /// The start of the answer's body.
        body: String,
    },
    /// The request did not get an answer: it could not connect, or it timed out.
    #[error("{0}")]
    Transport(String),
    /// The destination accepted the request (2xx) but its answer was not what the API
    /// documents, so what it did cannot be remembered. Not retried: the request took effect.
    #[error("unexpected answer: {0}")]
    Response(String),
}

impl SinkError {
    /// Whether trying again may help: transport failures, 429 and 5xx. Other 4xx answers
    /// will not change, and a 2xx with a bad body already took effect.
    pub fn is_retryable(&self) -> bool {
        match self {
            SinkError::Transport(_) => true,
            SinkError::Http { status, .. } => *status == 429 || *status >= 500,
            SinkError::Config(_) | SinkError::Response(_) => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::SinkError;

    #[test]
    fn retryable_errors() {
        let http = |status| SinkError::Http { status, body: String::new() };
        let cases = [
            (SinkError::Transport("connection refused".to_owned()), true),
            (http(429), true),
            (http(500), true),
            (http(503), true),
            (http(400), false),
            (http(401), false),
            (http(404), false),
            (SinkError::Config("x".to_owned()), false),
            (SinkError::Response("x".to_owned()), false),
        ];
        for (error, retryable) in cases {
            assert_eq!(error.is_retryable(), retryable, "{error:?}");
        }
    }

    #[test]
    fn http_display_has_status_and_body_when_any() {
        assert_eq!(SinkError::Http { status: 502, body: String::new() }.to_string(), "HTTP 502");
        assert_eq!(SinkError::Http { status: 403, body: "no".to_owned() }.to_string(), "HTTP 403: no");
    }
}
