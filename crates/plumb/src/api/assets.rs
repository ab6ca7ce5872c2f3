//! `/api/v1/assets`: a page of a filter, one asset by id or key (with its `ETag`), and a change
//! of its fields that only lands on the asset as it was read (`If-Match`).

use axum::Json;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use plumb_core::Asset;
use plumb_core::record::{Cell, Fields};
use plumb_store::{AssetFilter, TagFilter, encode_cursor};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::api::auth::Caller;
use crate::api::problem::{Problem, word};
use crate::app;

/// The query of a list: every filter of `plumb asset list`, `q=` text, a cursor and a limit.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    kind: Option<String>,
    #[serde(rename = "type")]
    asset_type: Option<String>,
    environment: Option<String>,
    status: Option<String>,
    owner: Option<String>,
    manager: Option<String>,
    classification: Option<String>,
    source: Option<String>,
    /// `KEY` or `KEY=VALUE`.
    tag: Option<String>,
    q: Option<String>,
    cursor: Option<String>,
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

/// `GET /api/v1/assets`: `{"items": [...], "next_cursor": "…" | null}`.
pub async fn list(
    Caller(ctx): Caller,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Json<Value>, Problem> {
    let Query(query) = query?;
    let filter = query.filter()?;
    let limit = query.limit.unwrap_or(DEFAULT_LIMIT).min(MAX_LIMIT);
    let page = app::assets::page(&ctx, &filter, limit, query.cursor.as_deref()).await?;
    let next = page.next.as_deref().map(encode_cursor);
    Ok(Json(json!({"items": page.items, "next_cursor": next})))
}

/// `GET /api/v1/assets/{id or key}` (a key may hold slashes, as ARNs do), with its `ETag`.
pub async fn get(Caller(ctx): Caller, Path(reference): Path<String>) -> Result<Response, Problem> {
    let asset = app::assets::get(&ctx, &reference).await?;
    Ok(tagged(&asset))
}

/// `PATCH /api/v1/assets/{id or key}`: a JSON object of the fields to change (as `plumb asset
/// set` takes them; `null` clears one), only with `If-Match` naming the asset as it was read:
/// 428 without it, 412 when it changed since (and nothing is written).
pub async fn update(
    Caller(ctx): Caller,
    Path(reference): Path<String>,
    headers: HeaderMap,
    body: Result<Json<Map<String, Value>>, JsonRejection>,
) -> Result<Response, Problem> {
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

/// `POST /api/v1/assets`: registers an asset from a JSON object of its fields (`key`, `kind`
/// and `type` required, as `plumb asset add` takes them); 201 with the asset, its `ETag` and
/// its `Location`.
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

/// The asset as JSON with its `ETag`.
fn tagged(asset: &Asset) -> Response {
    let etag = format!("\"{}\"", asset.etag());
    let mut response = Json(asset.to_json()).into_response();
    if let Ok(value) = HeaderValue::from_str(&etag) {
        response.headers_mut().insert(header::ETAG, value);
    }
    response
}
