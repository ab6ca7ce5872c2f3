//! `/api/v1/findings`, `/api/v1/drift` and `/api/v1/runs`: what checks, drift scans, gates and
//! audits recorded, and starting a sync, check or drift run.

use std::sync::Arc;

use axum::Json;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use plumb_core::schedule::Job;
use serde::Deserialize;
use serde_json::Value;

use crate::api::auth::Caller;
use crate::api::problem::{Problem, ProblemDocument, Problems, word};
use crate::api::{Api, Page, json_of};
use crate::app::findings::{self, FindingFilter, RunState};

/// Which findings to list; every condition given must hold.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct FindingQuery {
    /// A check id or `*` pattern (`cis-aws-1.5/2.1.*`).
    check: Option<String>,
    /// The key of the asset (or resource, or exception) it is about.
    key: Option<String>,
    /// fail, manual, error or excepted.
    status: Option<String>,
    /// At least this severity.
    severity: Option<String>,
    /// One of its controls (`CFG-01`).
    control: Option<String>,
    /// Resolved findings too.
    #[serde(default)]
    resolved: bool,
}

impl FindingQuery {
    fn filter(self) -> Result<FindingFilter, Problem> {
        Ok(FindingFilter {
            check: self.check,
            key: self.key,
            status: word("status", self.status.as_deref())?,
            severity: word("severity", self.severity.as_deref())?,
            control: self.control,
            include_resolved: self.resolved,
        })
    }
}

/// Stored findings: open ones, or with `resolved=true` the resolved too.
#[utoipa::path(get, path = "/api/v1/findings", tag = "findings", params(FindingQuery),
    responses((status = 200, description = "The findings", body = Page), Problems))]
pub async fn list(
    Caller(ctx): Caller,
    query: Result<Query<FindingQuery>, QueryRejection>,
) -> Result<Json<Page>, Problem> {
    let Query(query) = query?;
    let items = findings::list(&ctx, &query.filter()?).await?;
    Ok(Json(Page::all(json_of(&items)?)))
}

/// The open drift items (unmanaged, missing, changed attribute by attribute) and the latest
/// drift run, whose details hold the coverage per environment.
#[utoipa::path(get, path = "/api/v1/drift", tag = "findings",
    responses((status = 200, description = "Open drift items and the latest scan", body = Object), Problems))]
pub async fn drift(Caller(ctx): Caller) -> Result<Json<Value>, Problem> {
    let view = findings::drift(&ctx).await?;
    Ok(Json(serde_json::to_value(view).map_err(anyhow::Error::from)?))
}

/// Which runs to list.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RunQuery {
    /// sync, drift, check, gate, audit, reminder or job.
    kind: Option<String>,
    /// How many, newest first: at most 1,000, 50 when not given.
    limit: Option<usize>,
}

/// The runs listed when no limit is asked for, and the most ever listed.
const RUNS: (usize, usize) = (50, 1_000);

/// Recorded runs, newest first: the evidence.
#[utoipa::path(get, path = "/api/v1/runs", tag = "runs", params(RunQuery),
    responses((status = 200, description = "The runs", body = Page), Problems))]
pub async fn runs(
    Caller(ctx): Caller,
    query: Result<Query<RunQuery>, QueryRejection>,
) -> Result<Json<Page>, Problem> {
    let Query(query) = query?;
    let kind = word("kind", query.kind.as_deref())?;
    let items = findings::runs(&ctx, kind, query.limit.unwrap_or(RUNS.0).clamp(1, RUNS.1)).await?;
    Ok(Json(Page::all(json_of(&items)?)))
}

/// The path of one run.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
pub struct RunPath {
    /// The run's id (a ULID).
    id: String,
}

/// One run with everything it recorded; 202 with the job's slot while a job started through
/// `POST /api/v1/runs` (or the scheduler) is still running.
#[utoipa::path(get, path = "/api/v1/runs/{id}", tag = "runs", params(RunPath),
    responses((status = 200, description = "The run", body = Object),
        (status = 202, description = "The job is still running", body = Object), Problems))]
pub async fn run(
    Caller(ctx): Caller,
    path: Result<Path<RunPath>, PathRejection>,
) -> Result<Response, Problem> {
    let id = path?.0.id;
    Ok(match findings::run_or_running(&ctx, &id).await? {
        RunState::Recorded(run) => Json(run).into_response(),
        RunState::Running(slot) => {
            (StatusCode::ACCEPTED, Json(serde_json::json!({"status": "running", "slot": slot})))
                .into_response()
        }
    })
}

/// What to start.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StartBody {
    /// sync (every `[[source]]`), check (every built-in pack), drift, audit_reminder or
    /// exception_reminder: the same jobs as `[schedule]`.
    job: String,
}

/// Starts a job now, as the caller, under the same claim as a scheduled slot: 202 with the
/// URL its run will have; 409 while the same job runs anywhere.
#[utoipa::path(post, path = "/api/v1/runs", tag = "runs",
    request_body(content = StartBody, example = json!({"job": "check"})),
    responses((status = 202, description = "Started: its run's URL is in Location", body = Object,
            headers(("Location" = String, description = "The run's URL"))),
        (status = 409, description = "The job is running already", body = ProblemDocument, content_type = "application/problem+json"),
        Problems))]
pub async fn start(
    State(api): State<Arc<Api>>,
    Caller(ctx): Caller,
    body: Result<Json<StartBody>, JsonRejection>,
) -> Result<Response, Problem> {
    let Json(body) = body?;
    let Some(job) = word::<Job>("job", Some(&body.job))? else {
        return Err(Problem::new(StatusCode::BAD_REQUEST, "job is required"));
    };
    let started = crate::app::schedule::start(ctx, job, &api.holder, api.stopping.clone()).await?;
    let location = format!("/api/v1/runs/{}", started.run_id);
    let mut response = (StatusCode::ACCEPTED, Json(started)).into_response();
    if let Ok(value) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    Ok(response)
}
