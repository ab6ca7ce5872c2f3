//! `/api/v1/assets`: a page of a filter, and one asset by id or key.

use axum::Json;
use axum::extract::{Path, Query};
use plumb_store::{AssetFilter, TagFilter, encode_cursor};
use serde::Deserialize;
use serde_json::{Value, json};

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
pub async fn list(Caller(ctx): Caller, Query(query): Query<ListQuery>) -> Result<Json<Value>, Problem> {
    let filter = query.filter()?;
    let limit = query.limit.unwrap_or(DEFAULT_LIMIT).min(MAX_LIMIT);
    let page = app::assets::page(&ctx, &filter, limit, query.cursor.as_deref()).await?;
    let next = page.next.as_deref().map(encode_cursor);
    Ok(Json(json!({"items": page.items, "next_cursor": next})))
}

/// `GET /api/v1/assets/{id or key}` (a key may hold slashes, as ARNs do).
pub async fn get(Caller(ctx): Caller, Path(reference): Path<String>) -> Result<Json<Value>, Problem> {
    let asset = app::assets::get(&ctx, &reference).await?;
    Ok(Json(serde_json::to_value(asset).map_err(anyhow::Error::from)?))
}
