//! Errors as RFC 9457 problem details (`application/problem+json`): the status from the error's
//! class, the message for what the caller can fix, and nothing of the server's insides.

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

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
            Class::Busy => (StatusCode::CONFLICT, format!("{err:#}")),
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

/// A path segment that does not fit: 400 naming it.
impl From<PathRejection> for Problem {
    fn from(rejection: PathRejection) -> Problem {
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

/// An RFC 9457 problem document, as sent.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ProblemDocument {
    /// Always `about:blank`: the status says what kind of problem it is.
    #[serde(rename = "type")]
    kind: &'static str,
    /// The status's phrase.
    title: &'static str,
    /// The HTTP status.
    status: u16,
    /// What was wrong, naming the field where one was.
    detail: String,
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let body = ProblemDocument {
            kind: "about:blank",
            title: self.status.canonical_reason().unwrap_or("Error"),
            status: self.status.as_u16(),
            detail: self.detail,
        };
        let text = serde_json::to_string(&body).unwrap_or_default();
        (self.status, [(header::CONTENT_TYPE, "application/problem+json")], text).into_response()
    }
}

/// The problems any authenticated route may answer with.
#[derive(utoipa::IntoResponses)]
#[allow(dead_code, reason = "a description of responses for the OpenAPI document, never built")]
pub enum Problems {
    /// A parameter or body that does not fit, named in `detail`.
    #[response(status = 400, content_type = "application/problem+json")]
    BadRequest(ProblemDocument),
    /// No token, or one that is unknown, expired or revoked.
    #[response(status = 401, content_type = "application/problem+json")]
    Unauthorized(ProblemDocument),
    /// The role table refuses it; `detail` quotes the clause.
    #[response(status = 403, content_type = "application/problem+json")]
    Forbidden(ProblemDocument),
    /// Nothing by that id or key.
    #[response(status = 404, content_type = "application/problem+json")]
    NotFound(ProblemDocument),
    /// A body over 1 MiB.
    #[response(status = 413, content_type = "application/problem+json")]
    TooLarge(ProblemDocument),
    /// A body sent without `Content-Type: application/json`.
    #[response(status = 415, content_type = "application/problem+json")]
    NotJson(ProblemDocument),
    /// A JSON body with a field of the wrong shape, named in `detail`.
    #[response(status = 422, content_type = "application/problem+json")]
    Unprocessable(ProblemDocument),
    /// The database or a service plumb needs is not answering.
    #[response(status = 503, content_type = "application/problem+json")]
    Unavailable(ProblemDocument),
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
