//! `/api/v1/exceptions`: the register, and the same requests and decisions as `plumb
//! exception …`, decided by the same role table.

use axum::Json;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use plumb_core::exception::{ExceptionId, Request, Selector, State};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::api::auth::Caller;
use crate::api::problem::Problem;
use crate::app::exceptions::{self, Decide};

/// `GET /api/v1/exceptions?status=&expiring_within_days=`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    status: Option<String>,
    expiring_within_days: Option<u32>,
}

pub async fn list(
    Caller(ctx): Caller,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Json<Value>, Problem> {
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
    Ok(Json(json!({"items": items, "next_cursor": null})))
}

/// `GET /api/v1/exceptions/{id}`: the record, its history and what it covers now.
pub async fn show(Caller(ctx): Caller, Path(id): Path<String>) -> Result<Json<Value>, Problem> {
    let shown = exceptions::show(&ctx, id_of(&id)?).await?;
    Ok(Json(serde_json::to_value(shown).map_err(anyhow::Error::from)?))
}

/// The body of a request: the fields of `plumb exception request`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestBody {
    check: String,
    #[serde(default)]
    select: String,
    justification: String,
    controls: Vec<String>,
    expires: String,
    #[serde(rename = "ref")]
    reference: Option<String>,
}

/// `POST /api/v1/exceptions`: 201 with the requested exception.
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
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reason {
    reason: String,
}

/// `POST /api/v1/exceptions/{id}/{approve|reject|accept-risk|revoke}`.
pub async fn decide(
    Caller(ctx): Caller,
    Path((id, decision)): Path<(String, String)>,
    body: Result<Option<Json<Reason>>, JsonRejection>,
) -> Result<Json<Value>, Problem> {
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
