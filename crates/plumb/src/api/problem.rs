//! Errors as RFC 9457 problem details (`application/problem+json`): the status from the error's
//! class, the message for what the caller can fix, and nothing of the server's insides.

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::error::{Class, classify};

/// A failed request.
#[derive(Debug)]
pub struct Problem {
    status: StatusCode,
    detail: String,
}

impl Problem {
    /// A problem with this status and detail.
    pub fn new(status: StatusCode, detail: impl Into<String>) -> Problem {
        Problem { status, detail: detail.into() }
    }
}

impl From<anyhow::Error> for Problem {
    fn from(err: anyhow::Error) -> Problem {
        let (status, detail) = match classify(&err) {
            Class::BadInput => (StatusCode::BAD_REQUEST, format!("{err:#}")),
            Class::NotFound => (StatusCode::NOT_FOUND, format!("{err:#}")),
            Class::NotPermitted => (StatusCode::FORBIDDEN, format!("{err:#}")),
            Class::Stale => (StatusCode::PRECONDITION_FAILED, format!("{err:#}")),
            Class::Environment => {
                // The cause is for the operator's log, not the caller.
                tracing::error!(message = "A request failed in the environment.", error = %format!("{err:#}"));
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "the database or a service plumb needs is not answering".to_owned(),
                )
            }
        };
        Problem { status, detail }
    }
}

/// A query string that does not fit (an unknown parameter, `limit=abc`): 400 naming it.
impl From<QueryRejection> for Problem {
    fn from(rejection: QueryRejection) -> Problem {
        Problem::new(StatusCode::BAD_REQUEST, rejection.body_text())
    }
}

/// A body that is not the JSON asked for: 400 when it is not JSON, 415 without a JSON content
/// type, 422 when a field has the wrong shape (naming it).
impl From<JsonRejection> for Problem {
    fn from(rejection: JsonRejection) -> Problem {
        Problem::new(rejection.status(), rejection.body_text())
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let body = json!({
            "type": "about:blank",
            "title": self.status.canonical_reason().unwrap_or("Error"),
            "status": self.status.as_u16(),
            "detail": self.detail,
        });
        (self.status, [(header::CONTENT_TYPE, "application/problem+json")], body.to_string()).into_response()
    }
}

/// A closed-set word of a query, or 400 naming the field.
pub fn word<T>(field: &str, text: Option<&str>) -> Result<Option<T>, Problem>
where
    T: std::str::FromStr,
    T::Err: std::fmt::Display,
{
    text.map(|text| {
        text.parse().map_err(|err: T::Err| Problem::new(StatusCode::BAD_REQUEST, format!("{field}: {err}")))
    })
    .transpose()
}
