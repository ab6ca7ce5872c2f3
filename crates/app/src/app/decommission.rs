//! `plumb asset decommission` and `plumb asset certificate` (policy §8): an asset leaves service
//! with a sanitization record (`core::decommission`), its evidence files stored by SHA-256, and
//! reaches `decommissioned` only when the record is complete for its kind. A cloud crypto-erase
//! is confirmed by what sync saw: the KMS key pending deletion or gone, the resource absent.

use std::path::PathBuf;

use plumb_core::authz::Action;
use plumb_core::coverage::{Coverage, Freshness};
use plumb_core::decommission::{Attachment, CloudFacts, RecordState, SanitizationRecord, Start};
use plumb_core::lifecycle::check_transition;
use plumb_core::{Asset, Status};
use plumb_store::StoreError;
use serde::Serialize;
use serde_json::json;
use sha2::Digest;

use crate::app::Context;
use crate::error::BadInput;

/// `plumb asset decommission KEY --method …`.
#[derive(Clone, Debug)]
pub struct StartRequest {
    /// The asset, by id or key.
    pub reference: String,
    /// Method, ticket, tool, verification, KMS key.
    pub start: Start,
    /// Evidence files.
    pub attach: Vec<PathBuf>,
}

/// `plumb asset decommission KEY --complete …`.
#[derive(Clone, Debug, Default)]
pub struct CompleteRequest {
    /// The asset, by id or key.
    pub reference: String,
    /// Who an end-user device was returned to.
    pub returned_to: Option<String>,
    /// The second person.
    pub validated_by: Option<String>,
    /// Where the media goes afterwards.
    pub destination: Option<plumb_core::decommission::Destination>,
    /// More evidence files.
    pub attach: Vec<PathBuf>,
}

/// A sanitization record as the certificate shows it: with the asset, what is still missing
/// and, for a cloud crypto-erase, what sync saw (`-o json`'s document).
#[derive(Clone, Debug, Serialize)]
pub struct Certificate {
    /// The record.
    pub record: SanitizationRecord,
    /// The asset as it is now.
    pub asset: Asset,
    /// What the record still lacks (empty once complete).
    pub missing: Vec<String>,
    /// What sync saw, for a cloud crypto-erase.
    pub cloud: Option<CloudFacts>,
}

/// Starts decommissioning: the record, its attachments, and the asset `decommissioning`.
pub async fn start(ctx: &Context, request: StartRequest) -> anyhow::Result<Certificate> {
    let files = read_attachments(&request.attach).await?;
    let mut tx = ctx.begin_write().await?;
    let before = tx.asset(&request.reference).await?;
    ctx.permit(Action::Decommission(ctx.asset_ref(&before)))?;
    if let Some(existing) = tx.sanitization(&before.key).await? {
        return Err(BadInput(format!(
            "{} has a sanitization record already ({}, started by {} at {}); add to it with --complete",
            before.key, existing.state, existing.started_by, existing.started_at
        ))
        .into());
    }
    let endpoint = ctx.config.checks.endpoint_types.contains(&before.asset_type);
    let attachments = store_attachments(&mut tx, files).await?;
    let record = SanitizationRecord::start(
        &before,
        endpoint,
        request.start,
        &ctx.principal.who,
        tx.now(),
        attachments,
    )
    .map_err(BadInput)?;
    if before.status != Status::Decommissioning {
        check_transition(&before, Status::Decommissioning, None).map_err(|err| BadInput(err.to_string()))?;
        let after = Asset { status: Status::Decommissioning, ..before.clone() };
        let note = ("sanitization", json!({"method": record.method, "ticket": record.ticket}));
        tx.update_asset(&before, &after, "transitioned", Some(note)).await?;
    }
    tx.save_sanitization(None, &record, "started").await?;
    tx.commit().await?;
    certificate(ctx, &record.asset_key).await
}

/// Adds what is given to the record and completes it when nothing is missing; otherwise keeps
/// what was given and refuses, naming every missing piece.
pub async fn complete(ctx: &Context, request: CompleteRequest) -> anyhow::Result<Certificate> {
    let files = read_attachments(&request.attach).await?;
    let asset = ctx.store.asset(&request.reference).await?;
    let cloud = cloud_facts(ctx, &asset).await?;
    let mut tx = ctx.begin_write().await?;
    let before = tx.asset(&asset.key).await?;
    ctx.permit(Action::Decommission(ctx.asset_ref(&before)))?;
    let Some(record) = tx.sanitization(&before.key).await? else {
        return Err(BadInput(format!(
            "{} has no sanitization record: start with plumb asset decommission {} --method … --ticket …",
            before.key, before.key
        ))
        .into());
    };
    if record.state == RecordState::Complete {
        return Err(
            BadInput(format!("{} was decommissioned already (its record is complete)", before.key)).into()
        );
    }
    let mut after = record.clone();
    after.returned_to = request.returned_to.or(after.returned_to);
    after.validated_by = request.validated_by.or(after.validated_by);
    after.destination = request.destination.or(after.destination);
    for attachment in store_attachments(&mut tx, files).await? {
        if !after.attachments.iter().any(|a| a.sha256 == attachment.sha256) {
            after.attachments.push(attachment);
        }
    }
    let facts = cloud.filter(|_| after.needs_cloud_confirmation(before.kind));
    let missing = after.missing(facts.as_ref());
    if missing.is_empty() {
        after.state = RecordState::Complete;
        after.completed_by = Some(ctx.principal.who.clone());
        after.completed_at = Some(tx.now());
        let evidence = format!("sanitization record: plumb asset certificate {}", before.key);
        check_transition(&before, Status::Decommissioned, Some(evidence.as_str()))
            .map_err(|err| BadInput(err.to_string()))?;
        let done = Asset { status: Status::Decommissioned, ..before.clone() };
        tx.update_asset(&before, &done, "transitioned", Some(("evidence", json!(evidence)))).await?;
    }
    if after != record {
        let action = if after.state == RecordState::Complete { "completed" } else { "updated" };
        tx.save_sanitization(Some(&record), &after, action).await?;
    }
    tx.commit().await?;
    if !missing.is_empty() {
        return Err(BadInput(format!(
            "{} stays decommissioning; what was given is kept, and it still needs:\n  - {}",
            before.key,
            missing.join("\n  - ")
        ))
        .into());
    }
    certificate(ctx, &before.key).await
}

/// The record of an asset as its certificate shows it.
pub async fn certificate(ctx: &Context, reference: &str) -> anyhow::Result<Certificate> {
    ctx.permit(Action::Read)?;
    let asset = ctx.store.asset(reference).await?;
    let Some(record) = ctx.store.sanitization(&asset.key).await? else {
        return Err(
            StoreError::NotFound { what: "sanitization record", reference: reference.to_owned() }.into()
        );
    };
    let cloud = if record.needs_cloud_confirmation(asset.kind) && record.state == RecordState::Pending {
        cloud_facts(ctx, &asset).await?
    } else {
        None
    };
    let missing =
        if record.state == RecordState::Complete { Vec::new() } else { record.missing(cloud.as_ref()) };
    Ok(Certificate { record, asset, missing, cloud })
}

/// What the latest sync saw of a cloud asset's crypto-erase: its KMS key (by ARN, as the
/// resource names it) and the resource itself, each only when its scope was collected
/// completely within the freshness limit. `None` for other assets.
async fn cloud_facts(ctx: &Context, asset: &Asset) -> anyhow::Result<Option<CloudFacts>> {
    if asset.kind != plumb_core::Kind::Cloud {
        return Ok(None);
    }
    let limit = Freshness { max_age_hours: ctx.config.checks.max_data_age_hours };
    let coverage = Coverage::new(&ctx.store.scope_statuses().await?, plumb_store::now(), limit);
    let seen = |scope: Option<&str>| scope.is_some_and(|s| coverage.gap(s).is_none());
    let resource_absent = asset.absent_since.is_some() && seen(asset.scope.as_deref());
    let kms_key = ctx.store.sanitization(&asset.key).await?.and_then(|record| record.kms_key);
    let (key_state, key_seen) = match kms_key {
        None => (None, false),
        Some(kms_key) => match ctx.store.asset(&kms_key).await {
            Ok(key) if key.absent_since.is_some() => (None, seen(key.scope.as_deref())),
            Ok(key) => (key.attributes["KeyState"].as_str().map(str::to_owned), seen(key.scope.as_deref())),
            // A key the inventory never held: its deletion cannot be seen.
            Err(StoreError::NotFound { .. }) => (None, false),
            Err(err) => return Err(err.into()),
        },
    };
    Ok(Some(CloudFacts { key_state, key_seen, resource_absent }))
}

/// The files' bytes, read off the runtime; a file that cannot be read is named.
async fn read_attachments(paths: &[PathBuf]) -> anyhow::Result<Vec<(String, Vec<u8>)>> {
    let paths = paths.to_vec();
    tokio::task::spawn_blocking(move || {
        paths
            .iter()
            .map(|path| {
                let bytes = std::fs::read(path)
                    .map_err(|err| BadInput(format!("--attach {}: cannot read it: {err}", path.display())))?;
                let name = path
                    .file_name()
                    .map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into_owned());
                Ok((name, bytes))
            })
            .collect::<anyhow::Result<Vec<_>>>()
    })
    .await?
}

async fn store_attachments(
    tx: &mut plumb_store::WriteTx,
    files: Vec<(String, Vec<u8>)>,
) -> anyhow::Result<Vec<Attachment>> {
    let mut attachments = Vec::new();
    for (name, bytes) in files {
        let sha256 = hex::encode(sha2::Sha256::digest(&bytes));
        tx.put_attachment(&sha256, &bytes).await?;
        attachments.push(Attachment { name, sha256, size: bytes.len() as u64 });
    }
    Ok(attachments)
}
