//! Assets one at a time: reading (a page of a filter, one asset) and changing (add, set,
//! transition, link, and moving production assets to new role holders).

use plumb_core::authz::Action;
use plumb_core::lifecycle::check_transition;
use plumb_core::model::{RelationKind, Relationship};
use plumb_core::record::{self, Defaults, FieldError, Fields};
use plumb_core::{Asset, AssetId, NewAsset, Status};
use plumb_store::{AssetFilter, Page, StoreError};
use serde_json::json;

use crate::app::Context;
use crate::error::{BadInput, Stale};

/// Registers a new asset from its fields.
pub async fn add(ctx: &Context, fields: &Fields) -> anyhow::Result<Asset> {
    ctx.permit(Action::RegisterAsset)?;
    let mut tx = ctx.begin_write().await?;
    let defaults = Defaults {
        id: AssetId(ulid::Ulid::generate()),
        now: tx.now(),
        status: Status::Registered,
        source: "manual".to_owned(),
    };
    let asset = record::read_asset(fields, &ctx.config.rules(), &defaults).map_err(field_problems)?;
    match tx.asset(&asset.key).await {
        Ok(existing) => {
            return Err(BadInput(format!(
                "an asset with key {:?} already exists ({}); change it with `plumb asset set`",
                asset.key, existing.id
            ))
            .into());
        }
        Err(StoreError::NotFound { .. }) => {}
        Err(err) => return Err(err.into()),
    }
    tx.create_assets(vec![NewAsset::new(asset.clone()).into()]).await?;
    tx.commit().await?;
    Ok(asset)
}

/// Changes the given fields of an asset. With `expected` (an `Asset::etag` read earlier), the
/// change is made only if the asset is still as read, checked in the writing transaction.
pub async fn set(
    ctx: &Context,
    reference: &str,
    fields: &Fields,
    expected: Option<&str>,
) -> anyhow::Result<Asset> {
    let mut tx = ctx.begin_write().await?;
    let before = tx.asset(reference).await?;
    ctx.permit(Action::EditAsset(ctx.asset_ref(&before)))?;
    if let Some(expected) = expected
        && expected != before.etag()
    {
        return Err(Stale(format!(
            "{reference} changed since it was read (its ETag is now {})",
            before.etag()
        ))
        .into());
    }
    let after = record::apply_changes(&before, fields, &ctx.config.rules()).map_err(field_problems)?;
    tx.update_asset(&before, &after, "updated", None).await?;
    tx.commit().await?;
    Ok(after)
}

/// Moves an asset to another lifecycle status.
pub async fn transition(
    ctx: &Context,
    reference: &str,
    to: Status,
    evidence: Option<&str>,
) -> anyhow::Result<Asset> {
    let mut tx = ctx.begin_write().await?;
    let before = tx.asset(reference).await?;
    let asset = ctx.asset_ref(&before);
    if to == Status::Decommissioned {
        return Err(BadInput(format!(
            "{}: decommissioned is reached through its sanitization evidence (policy §8): plumb asset \
             decommission {} --complete",
            before.key, before.key
        ))
        .into());
    }
    let leaving = matches!(to, Status::Decommissioning | Status::Decommissioned);
    ctx.permit(if leaving { Action::Decommission(asset) } else { Action::EditAsset(asset) })?;
    check_transition(&before, to, evidence).map_err(|err| BadInput(err.to_string()))?;
    let after = Asset { status: to, ..before.clone() };
    let note = evidence.map(|e| ("evidence", json!(e)));
    tx.update_asset(&before, &after, "transitioned", note).await?;
    tx.commit().await?;
    Ok(after)
}

/// Records a typed relationship between two assets; returns it and whether it was new.
pub async fn link(
    ctx: &Context,
    from: &str,
    kind: RelationKind,
    to: &str,
) -> anyhow::Result<(Relationship, bool)> {
    let mut tx = ctx.begin_write().await?;
    let (from, to) = (tx.asset(from).await?, tx.asset(to).await?);
    ctx.permit(Action::EditAsset(ctx.asset_ref(&from)))?;
    if from.id == to.id {
        return Err(BadInput(format!("{} cannot be linked to itself", from.key)).into());
    }
    let relationship = Relationship { from: from.id, kind, to: to.id, created_at: tx.now() };
    let new = tx.link(&relationship).await?;
    tx.commit().await?;
    Ok((relationship, new))
}

/// Moves every production asset to the current role holders; returns the assets changed.
pub async fn reassign_production(ctx: &Context) -> anyhow::Result<Vec<Asset>> {
    ctx.permit(Action::ReassignProduction)?;
    let rules = ctx.config.rules();
    let mut tx = ctx.begin_write().await?;
    let filter = AssetFilter { environment: Some(rules.production.clone()), ..AssetFilter::default() };
    let mut changed = Vec::new();
    let mut after = None;
    loop {
        let page = tx.list_assets(&filter, &Page { limit: 1_000, after }).await?;
        for before in &page.items {
            let mut asset = before.clone();
            if rules.reassign_production(&mut asset).map_err(|err| BadInput(err.to_string()))? {
                tx.update_asset(before, &asset, "reassigned", None).await?;
                changed.push(asset);
            }
        }
        after = page.next;
        if after.is_none() {
            break;
        }
    }
    tx.commit().await?;
    Ok(changed)
}

/// Field problems as one bad-input error, one problem per line.
fn field_problems(problems: Vec<FieldError>) -> anyhow::Error {
    let lines: Vec<String> = problems.iter().map(ToString::to_string).collect();
    BadInput(lines.join("\n")).into()
}

/// One page of at most `limit` (at least 1) of the assets a filter selects, after `cursor` (as
/// printed with the previous page). Front ends cap `limit` as their medium allows (the API at
/// a page a client can hold).
pub async fn page(
    ctx: &Context,
    filter: &AssetFilter,
    limit: usize,
    cursor: Option<&str>,
) -> anyhow::Result<plumb_store::AssetPage> {
    ctx.permit(Action::Read)?;
    let after = match cursor {
        None => None,
        Some(cursor) => Some(
            plumb_store::decode_cursor(cursor)
                .ok_or_else(|| BadInput(format!("cursor {cursor:?} is not a cursor printed by plumb")))?,
        ),
    };
    let page = Page { limit: limit.max(1), after };
    Ok(ctx.store.list_assets(filter, &page).await?)
}

/// How many assets are in each lifecycle status, every status listed.
pub async fn count_by_status(ctx: &Context) -> anyhow::Result<Vec<(Status, i64)>> {
    ctx.permit(Action::Read)?;
    let mut counts = Vec::new();
    for status in Status::ALL {
        let filter = AssetFilter { status: Some(*status), ..AssetFilter::default() };
        counts.push((*status, ctx.store.count_assets(&filter).await?));
    }
    Ok(counts)
}

/// One asset, by id or key.
pub async fn get(ctx: &Context, reference: &str) -> anyhow::Result<Asset> {
    ctx.permit(Action::Read)?;
    Ok(ctx.store.asset(reference).await?)
}

/// An asset's history: every event about it, oldest first.
pub async fn history(ctx: &Context, reference: &str) -> anyhow::Result<Vec<plumb_core::Event>> {
    ctx.permit(Action::Read)?;
    let asset = ctx.store.asset(reference).await?;
    Ok(ctx.store.asset_history(asset.id).await?)
}

/// One relationship of an asset, seen from it.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Related {
    /// `out` (this asset is the subject) or `in`.
    pub direction: &'static str,
    /// The kind of relationship.
    pub kind: RelationKind,
    /// The other asset's id.
    pub id: String,
    /// The other asset's key.
    pub key: String,
}

/// An asset's relationships, both ways.
pub async fn relationships(ctx: &Context, asset: &Asset) -> anyhow::Result<Vec<Related>> {
    ctx.permit(Action::Read)?;
    let mut related = Vec::new();
    for edge in ctx.store.relationships_of(asset.id).await? {
        let (direction, other) = if edge.from == asset.id { ("out", edge.to) } else { ("in", edge.from) };
        let other = ctx.store.asset(&other.to_string()).await?;
        related.push(Related { direction, kind: edge.kind, id: other.id.to_string(), key: other.key });
    }
    Ok(related)
}
