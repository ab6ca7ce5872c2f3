//! `/api/v1/assets`: a page of a filter, one asset by id or key (with its `ETag`), a change of
//! its fields that only lands on the asset as it was read (`If-Match`), a lifecycle
//! transition, its history, relationships and findings.
//!
//! `{reference}` is the asset's id, or its key percent-encoded as one path segment (an ARN's
//! `/` as `%2F`), so a sub-resource such as `/history` is never read as part of a key.

use axum::Json;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{Path, Query};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use plumb_core::record::{Cell, Fields};
use plumb_core::{Asset, Status};
use plumb_store::{AssetFilter, TagFilter, encode_cursor};
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::api::auth::Caller;
use crate::api::problem::{Problem, Problems, word};
use crate::api::{Page, json_of};
use crate::app;
use crate::app::findings::FindingFilter;

/// The query of a list: every filter of `plumb asset list`, `q=` text, a cursor and a limit.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// hardware, software, data or cloud.
    kind: Option<String>,
    /// The asset type, such as `laptop` or `aws.s3.bucket`.
    #[serde(rename = "type")]
    #[param(rename = "type")]
    asset_type: Option<String>,
    /// An environment of `[inventory]`.
    environment: Option<String>,
    /// A lifecycle status (`in_service`, …).
    status: Option<String>,
    /// The owner's email.
    owner: Option<String>,
    /// The manager's email.
    manager: Option<String>,
    /// A classification of `[inventory]`.
    classification: Option<String>,
    /// The source that reported it (`aws`, `terraform`, `file`, `manual`).
    source: Option<String>,
    /// `KEY` or `KEY=VALUE`.
    tag: Option<String>,
    /// Text that key, name, owner, location or a tag (key or value) contains, in any case.
    /// A search lists its matches in the order the assets were first recorded.
    q: Option<String>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
    /// Assets per page: at most 1,000, 100 when not given.
    limit: Option<usize>,
}

/// The page size when none is asked for.
const DEFAULT_LIMIT: usize = 100;

/// The most assets one response holds, whatever is asked.
pub const MAX_LIMIT: usize = 1_000;

impl ListQuery {
    fn filter(&self) -> Result<AssetFilter, Problem> {
        Ok(AssetFilter {
            kind: word("kind", self.kind.as_deref())?,
            asset_type: self.asset_type.clone(),
            environment: self.environment.clone(),
            status: word("status", self.status.as_deref())?,
            owner: self.owner.clone(),
            manager: self.manager.clone(),
            classification: self.classification.clone(),
            source: self.source.clone(),
            tags: self
                .tag
                .iter()
                .map(|t| match t.split_once('=') {
                    Some((key, value)) => TagFilter { key: key.to_owned(), value: Some(value.to_owned()) },
                    None => TagFilter { key: t.clone(), value: None },
                })
                .collect(),
            query: self.q.clone(),
        })
    }
}

/// The path of one asset.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
pub struct AssetPath {
    /// The asset's id, or its key percent-encoded as one path segment.
    reference: String,
}

type AssetRef = Result<Path<AssetPath>, PathRejection>;

fn reference(path: AssetRef) -> Result<String, Problem> {
    Ok(path?.0.reference)
}

/// A page of the assets the filter selects, in key order (a search `q=`: as recorded).
#[utoipa::path(get, path = "/api/v1/assets", tag = "assets", params(ListQuery),
    responses((status = 200, description = "A page of assets", body = Page), Problems))]
pub async fn list(
    Caller(ctx): Caller,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Json<Page>, Problem> {
    let Query(query) = query?;
    let filter = query.filter()?;
    let limit = query.limit.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT);
    let page = app::assets::page(&ctx, &filter, limit, query.cursor.as_deref()).await?;
    let next = page.next.as_deref().map(encode_cursor);
    Ok(Json(Page::of(page.items.iter().map(Asset::to_json).collect(), next)))
}

/// One asset, with its `ETag`.
#[utoipa::path(get, path = "/api/v1/assets/{reference}", tag = "assets", params(AssetPath),
    responses((status = 200, description = "The asset", body = Object,
        headers(("ETag" = String, description = "Send it back as If-Match to change the asset"))), Problems))]
pub async fn get(Caller(ctx): Caller, path: AssetRef) -> Result<Response, Problem> {
    let asset = app::assets::get(&ctx, &reference(path)?).await?;
    Ok(tagged(&asset))
}

/// Changes fields of an asset: a JSON object of the fields (as `plumb asset set` takes them;
/// `null` clears one), only with `If-Match` naming the asset as it was read: 428 without it,
/// 412 when it changed since (and nothing is written).
#[utoipa::path(patch, path = "/api/v1/assets/{reference}", tag = "assets", params(AssetPath,
        ("If-Match" = String, Header, description = "The ETag of the asset as you read it")),
    request_body(content = Object, description = "The fields to change", example = json!({"location": "HQ, floor 2"})),
    responses((status = 200, description = "The changed asset", body = Object),
        (status = 412, description = "The asset changed since it was read", body = crate::api::problem::ProblemDocument, content_type = "application/problem+json"),
        (status = 428, description = "If-Match is missing", body = crate::api::problem::ProblemDocument, content_type = "application/problem+json"),
        Problems))]
pub async fn update(
    Caller(ctx): Caller,
    path: AssetRef,
    headers: HeaderMap,
    body: Result<Json<Map<String, Value>>, JsonRejection>,
) -> Result<Response, Problem> {
    let reference = reference(path)?;
    let Some(expected) = headers.get(header::IF_MATCH).and_then(|v| v.to_str().ok()) else {
        return Err(Problem::new(
            StatusCode::PRECONDITION_REQUIRED,
            "If-Match is required: send the ETag of the asset as you read it",
        ));
    };
    let Json(body) = body?;
    let fields: Fields = body.into_iter().map(|(name, value)| (name, Cell::Json(value))).collect();
    let asset = app::assets::set(&ctx, &reference, &fields, Some(expected.trim_matches('"'))).await?;
    Ok(tagged(&asset))
}

/// Registers an asset from a JSON object of its fields (`key`, `kind` and `type` required, as
/// `plumb asset add` takes them); 201 with the asset, its `ETag` and its `Location`.
#[utoipa::path(post, path = "/api/v1/assets", tag = "assets",
    request_body(content = Object, description = "The asset's fields: key, kind and type at least",
        example = json!({"key": "SN-2", "kind": "hardware", "type": "laptop", "owner": "ana@example.com"})),
    responses((status = 201, description = "The registered asset", body = Object), Problems))]
pub async fn create(
    Caller(ctx): Caller,
    body: Result<Json<Map<String, Value>>, JsonRejection>,
) -> Result<Response, Problem> {
    let Json(body) = body?;
    let fields: Fields = body.into_iter().map(|(name, value)| (name, Cell::Json(value))).collect();
    let asset = app::assets::add(&ctx, &fields).await?;
    let mut response = tagged(&asset);
    *response.status_mut() = StatusCode::CREATED;
    if let Ok(location) = HeaderValue::from_str(&format!("/api/v1/assets/{}", asset.id)) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    Ok(response)
}

/// The body of a transition.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransitionBody {
    /// The lifecycle status to move to.
    status: String,
    /// Evidence the move needs (`decommissioned` needs a ticket).
    evidence: Option<String>,
}

/// Moves an asset to another lifecycle status, under the same rules as `plumb asset
/// transition` (what each status needs, who may decommission).
#[utoipa::path(post, path = "/api/v1/assets/{reference}/transition", tag = "assets", params(AssetPath),
    request_body(content = TransitionBody, example = json!({"status": "in_service"})),
    responses((status = 200, description = "The asset in its new status", body = Object), Problems))]
pub async fn transition(
    Caller(ctx): Caller,
    path: AssetRef,
    body: Result<Json<TransitionBody>, JsonRejection>,
) -> Result<Response, Problem> {
    let reference = reference(path)?;
    let Json(body) = body?;
    let Some(status) = word::<Status>("status", Some(&body.status))? else {
        return Err(Problem::new(StatusCode::BAD_REQUEST, "status is required"));
    };
    let asset = app::assets::transition(&ctx, &reference, status, body.evidence.as_deref()).await?;
    Ok(tagged(&asset))
}

/// Every change of the asset, oldest first: who, when, before and after.
#[utoipa::path(get, path = "/api/v1/assets/{reference}/history", tag = "assets", params(AssetPath),
    responses((status = 200, description = "The asset's events", body = Page), Problems))]
pub async fn history(Caller(ctx): Caller, path: AssetRef) -> Result<Json<Page>, Problem> {
    let events = app::assets::history(&ctx, &reference(path)?).await?;
    Ok(Json(Page::all(json_of(&events)?)))
}

/// The asset's relationships, both ways.
#[utoipa::path(get, path = "/api/v1/assets/{reference}/relationships", tag = "assets", params(AssetPath),
    responses((status = 200, description = "Its relationships", body = Page), Problems))]
pub async fn relationships(Caller(ctx): Caller, path: AssetRef) -> Result<Json<Page>, Problem> {
    let asset = app::assets::get(&ctx, &reference(path)?).await?;
    let related = app::assets::relationships(&ctx, &asset).await?;
    Ok(Json(Page::all(json_of(&related)?)))
}

/// The open findings about the asset.
#[utoipa::path(get, path = "/api/v1/assets/{reference}/findings", tag = "assets", params(AssetPath),
    responses((status = 200, description = "Its open findings", body = Page), Problems))]
pub async fn findings(Caller(ctx): Caller, path: AssetRef) -> Result<Json<Page>, Problem> {
    let asset = app::assets::get(&ctx, &reference(path)?).await?;
    let filter = FindingFilter { key: Some(asset.key), ..FindingFilter::default() };
    let listed = app::findings::list(&ctx, &filter).await?;
    Ok(Json(Page::all(json_of(&listed)?)))
}

/// The asset as JSON with its `ETag`.
fn tagged(asset: &Asset) -> Response {
    let etag = format!("\"{}\"", asset.etag());
    let mut response = Json(asset.to_json()).into_response();
    if let Ok(value) = HeaderValue::from_str(&etag) {
        response.headers_mut().insert(header::ETAG, value);
    }
    response
}
