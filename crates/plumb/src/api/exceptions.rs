//! `/api/v1/exceptions`: the register, and the same requests and decisions as `plumb
//! exception …`, decided by the same role table.

use axum::Json;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use plumb_core::exception::{ExceptionId, Request, Selector, State};
use serde::Deserialize;
use serde_json::Value;

use crate::api::auth::Caller;
use crate::api::problem::{Problem, Problems};
use crate::api::{Page, json_of};
use crate::app::exceptions::{self, Decide};

/// Which exceptions to list.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// requested, active, rejected, revoked or expired.
    status: Option<String>,
    /// Only those ending within this many days.
    expiring_within_days: Option<u32>,
}

/// The exceptions register.
#[utoipa::path(get, path = "/api/v1/exceptions", tag = "exceptions", params(ListQuery),
    responses((status = 200, description = "The register", body = Page), Problems))]
pub async fn list(
    Caller(ctx): Caller,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Json<Page>, Problem> {
    let Query(query) = query?;
    let status = match query.status.as_deref() {
        None => None,
        Some(text) => Some(
            text.parse::<State>()
                .map_err(|err| Problem::new(StatusCode::BAD_REQUEST, format!("status: {err}")))?,
        ),
    };
    let now = plumb_store::now();
    let listed = exceptions::list(&ctx, status, query.expiring_within_days).await?;
    let items: Vec<_> = listed.iter().map(|e| e.listed(now)).collect();
    Ok(Json(Page::all(json_of(&items)?)))
}

/// The path of one exception.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
pub struct ExceptionPath {
    /// `EX-N`.
    id: String,
}

/// One exception: the record, its history and what it covers now.
#[utoipa::path(get, path = "/api/v1/exceptions/{id}", tag = "exceptions", params(ExceptionPath),
    responses((status = 200, description = "The exception", body = Object), Problems))]
pub async fn show(
    Caller(ctx): Caller,
    path: Result<Path<ExceptionPath>, PathRejection>,
) -> Result<Json<Value>, Problem> {
    let shown = exceptions::show(&ctx, id_of(&path?.0.id)?).await?;
    Ok(Json(serde_json::to_value(shown).map_err(anyhow::Error::from)?))
}

/// The body of a request: the fields of `plumb exception request`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RequestBody {
    /// The check or `*` pattern it departs from.
    check: String,
    /// Which assets (`environment=staging,type=laptop`); empty: all.
    #[serde(default)]
    select: String,
    /// Why.
    justification: String,
    /// The compensating controls.
    controls: Vec<String>,
    /// Its last day (YYYY-MM-DD).
    expires: String,
    /// A ticket in the SECURITY queue.
    #[serde(rename = "ref")]
    #[schema(rename = "ref")]
    reference: Option<String>,
}

/// Requests an exception: 201 with it, awaiting the Information Security Manager.
#[utoipa::path(post, path = "/api/v1/exceptions", tag = "exceptions",
    request_body(content = RequestBody, example = json!({"check": "inventory/*", "select": "environment=staging",
        "justification": "lab hardware", "controls": ["weekly review"], "expires": "2099-12-31"})),
    responses((status = 201, description = "The requested exception", body = Object), Problems))]
pub async fn request(
    Caller(ctx): Caller,
    body: Result<Json<RequestBody>, JsonRejection>,
) -> Result<(StatusCode, Json<Value>), Problem> {
    let Json(body) = body?;
    let selector = Selector::parse(&body.select)
        .map_err(|err| Problem::new(StatusCode::BAD_REQUEST, err.to_string()))?;
    let request = Request {
        checks: body.check,
        selector,
        justification: body.justification,
        controls: body.controls,
        reference: body.reference,
        last_day: body.expires,
        renews: None,
    };
    let requested = exceptions::request(&ctx, request).await?;
    let listed =
        serde_json::to_value(requested.exception.listed(plumb_store::now())).map_err(anyhow::Error::from)?;
    Ok((StatusCode::CREATED, Json(listed)))
}

/// The body of a rejection or revocation.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Reason {
    /// Why, in words (needed to reject or revoke).
    reason: String,
}

/// The path of a decision.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
pub struct DecisionPath {
    /// `EX-N`.
    id: String,
    /// approve, reject, accept-risk or revoke.
    decision: String,
}

/// Decides an exception by the role table: approve and reject (the Information Security
/// Manager, never the requester), accept-risk (the Head of Product, for production), revoke.
#[utoipa::path(post, path = "/api/v1/exceptions/{id}/{decision}", tag = "exceptions", params(DecisionPath),
    request_body(content = Option<Reason>, description = "A reason, needed to reject or revoke",
        example = json!({"reason": "the lab moved"})),
    responses((status = 200, description = "The exception as decided", body = Object), Problems))]
pub async fn decide(
    Caller(ctx): Caller,
    path: Result<Path<DecisionPath>, PathRejection>,
    body: Result<Option<Json<Reason>>, JsonRejection>,
) -> Result<Json<Value>, Problem> {
    let DecisionPath { id, decision } = path?.0;
    let reason = body?.map(|Json(body)| body.reason);
    let needs_reason =
        || Problem::new(StatusCode::BAD_REQUEST, format!("{decision}: the body needs a \"reason\""));
    let decision = match decision.as_str() {
        "approve" => Decide::Approve,
        "accept-risk" => Decide::AcceptRisk,
        "reject" => Decide::Reject(reason.as_deref().ok_or_else(needs_reason)?),
        "revoke" => Decide::Revoke(reason.as_deref().ok_or_else(needs_reason)?),
        other => {
            return Err(Problem::new(
                StatusCode::NOT_FOUND,
                format!("no decision {other:?}: approve, reject, accept-risk or revoke"),
            ));
        }
    };
    let decided = exceptions::decide(&ctx, id_of(&id)?, decision).await?;
    Ok(Json(serde_json::to_value(decided.listed(plumb_store::now())).map_err(anyhow::Error::from)?))
}

fn id_of(text: &str) -> Result<ExceptionId, Problem> {
    text.parse().map_err(|err: plumb_core::exception::ExceptionError| {
        Problem::new(StatusCode::BAD_REQUEST, err.to_string())
    })
}
