//! Every request gets an id (the caller's `X-Request-Id` when it sends a sane one, else a new
//! ULID), returned in the response's `X-Request-Id` and logged with the method, route, status
//! and duration, so a problem a user reports can be found in the server's log, and counted in
//! `/metrics`.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;

use crate::api::Api;

/// The header a request id travels in.
pub const REQUEST_ID: &str = "x-request-id";

/// The middleware: id, log line, metrics, header.
pub async fn track(State(api): State<Arc<Api>>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let id = request
        .headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|id| is_sane(id))
        .map_or_else(|| ulid::Ulid::generate().to_string(), str::to_owned);
    let method = request.method().clone();
    // The route's pattern, not the path: keys and ids in paths are data, not log dimensions.
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let mut response = next.run(request).await;
    api.metrics.record(&route, response.status().as_u16(), started.elapsed());
    tracing::info!(
        message = "request",
        request_id = %id,
        method = %method,
        route = %route,
        status = response.status().as_u16(),
        millis = started.elapsed().as_millis() as u64,
    );
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID, value);
    }
    response
}

/// An id worth echoing: short, and only characters that cannot forge a log line.
fn is_sane(id: &str) -> bool {
    (1..=64).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::is_sane;

    #[test]
    fn only_plain_ids_are_echoed() {
        assert!(is_sane("01JDX8Z6Q4RBN1M3Y7T2KVW9CE"));
        assert!(is_sane("req-42_a"));
        assert!(!is_sane(""));
        assert!(!is_sane("a\nforged log line"));
        assert!(!is_sane(&"x".repeat(65)));
    }
}
