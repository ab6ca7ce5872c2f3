//! `/api/v1/findings` and `/api/v1/runs`: what checks, drift scans, gates and audits recorded.

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::api::auth::Caller;
use crate::api::problem::{Problem, word};
use crate::app::findings::{self, FindingFilter};

/// `GET /api/v1/findings?check=&key=&status=&severity=&control=&resolved=true`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FindingQuery {
    check: Option<String>,
    key: Option<String>,
    status: Option<String>,
    severity: Option<String>,
    control: Option<String>,
    #[serde(default)]
    resolved: bool,
}

pub async fn list(
    Caller(ctx): Caller,
    query: Result<Query<FindingQuery>, QueryRejection>,
) -> Result<Json<Value>, Problem> {
    let Query(query) = query?;
    let filter = FindingFilter {
        check: query.check,
        key: query.key,
        status: word("status", query.status.as_deref())?,
        severity: word("severity", query.severity.as_deref())?,
        control: query.control,
        include_resolved: query.resolved,
    };
    let items = findings::list(&ctx, &filter).await?;
    Ok(Json(json!({"items": items, "next_cursor": null})))
}

/// `GET /api/v1/runs?kind=&limit=`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunQuery {
    kind: Option<String>,
    limit: Option<usize>,
}

/// The runs listed when no limit is asked for, and the most ever listed.
const RUNS: (usize, usize) = (50, 1_000);

pub async fn runs(
    Caller(ctx): Caller,
    query: Result<Query<RunQuery>, QueryRejection>,
) -> Result<Json<Value>, Problem> {
    let Query(query) = query?;
    let kind = word("kind", query.kind.as_deref())?;
    let items = findings::runs(&ctx, kind, query.limit.unwrap_or(RUNS.0).min(RUNS.1)).await?;
    Ok(Json(json!({"items": items, "next_cursor": null})))
}

/// `GET /api/v1/runs/{id}`.
pub async fn run(Caller(ctx): Caller, Path(id): Path<String>) -> Result<Json<Value>, Problem> {
    let run = findings::run(&ctx, &id).await?;
    Ok(Json(serde_json::to_value(run).map_err(anyhow::Error::from)?))
}
