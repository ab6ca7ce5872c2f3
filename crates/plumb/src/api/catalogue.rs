//! `/api/v1/checks`, `/api/v1/packs`, `/api/v1/controls` and `/api/v1/schedule`: what plumb
//! judges by, what each control's evidence says now, and when the jobs run.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use plumb_policy::PACKS;
use serde::Serialize;

use crate::api::auth::Caller;
use crate::api::problem::{Problem, Problems};
use crate::api::{Api, Page, json_of};
use crate::app;

/// Every built-in check: its pack, severity, controls and remediation.
#[utoipa::path(get, path = "/api/v1/checks", tag = "checks",
    responses((status = 200, description = "The checks", body = Page), Problems))]
pub async fn checks(State(api): State<Arc<Api>>, Caller(ctx): Caller) -> Result<Json<Page>, Problem> {
    ctx.permit(plumb_core::authz::Action::Read)?;
    Ok(Json(Page::all(json_of(api.checks()?)?)))
}

/// A built-in pack.
#[derive(Serialize)]
struct PackInfo {
    name: &'static str,
    description: &'static str,
    files: Vec<&'static str>,
}

/// The built-in packs and their files (`plumb policy show PACK` prints their Rego).
#[utoipa::path(get, path = "/api/v1/packs", tag = "checks",
    responses((status = 200, description = "The packs", body = Page), Problems))]
pub async fn packs(Caller(ctx): Caller) -> Result<Json<Page>, Problem> {
    ctx.permit(plumb_core::authz::Action::Read)?;
    let packs: Vec<PackInfo> = PACKS
        .iter()
        .map(|p| PackInfo {
            name: p.name,
            description: p.description,
            files: p.files.iter().map(|f| f.0).collect(),
        })
        .collect();
    Ok(Json(Page::all(json_of(&packs)?)))
}

/// Each control's status: `pass` only on recent, complete evidence with nothing open;
/// missing, failed, partial or stale evidence is `error`.
#[utoipa::path(get, path = "/api/v1/controls", tag = "controls",
    responses((status = 200, description = "The controls", body = Page), Problems))]
pub async fn controls(Caller(ctx): Caller) -> Result<Json<Page>, Problem> {
    let statuses = app::controls::status(&ctx).await?;
    Ok(Json(Page::all(json_of(&statuses)?)))
}

/// The `[schedule]`: each job's cron expression, next slots, last slot and how it ended.
#[utoipa::path(get, path = "/api/v1/schedule", tag = "runs",
    responses((status = 200, description = "The scheduled jobs", body = Page), Problems))]
pub async fn schedule(Caller(ctx): Caller) -> Result<Json<Page>, Problem> {
    let planned = app::schedule::plan(&ctx, 3).await?;
    Ok(Json(Page::all(json_of(&planned)?)))
}
