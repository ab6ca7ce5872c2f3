//! `plumb sync`: resources from a source into the inventory.
//!
//! The source streams what it finds; sync writes it in batches, each batch one transaction, so
//! a long collection never holds the database for long and a killed sync leaves every batch
//! either written or not (a re-run completes the work). A resource is looked up by key and
//! content hash: new → a `discovered` asset; changed → the changed fields, as one event;
//! unchanged → nothing at all. When the source reports a scope complete, assets of that scope
//! it did not report are marked absent (an event, never a deletion), and the scope's sync time
//! becomes the last_seen of everything else in it. Every scope the sync finished or failed gets
//! its status (with an event); a sync that fails before it reaches its scopes marks every
//! scope its collection covered before as failed, so nothing judges their old documents as
//! current. Every sync is recorded as a run.

use std::collections::HashMap;

use plumb_collect::{CollectError, Collected, Emitter, PartError, Source};
use plumb_core::authz::Action;
use plumb_core::coverage::{Freshness, ScopeStatus};
use plumb_core::model::{RelationKind, Relationship, Run, RunKind, RunOutcome};
use plumb_core::scope::ScopeId;
use plumb_core::sync::{Resource, TagMapping, discovered, refreshed};
use plumb_core::{Asset, AssetId, InventoryRules, NewAsset, Timestamp};
use plumb_store::{PreparedAsset, SyncState, WriteTx};
use serde_json::json;

use crate::app::Context;
use crate::app::progress::Shared;
use crate::error::{BadInput, Environment};

const BATCH: usize = 1_000;
const MEMBERS_PAGE: usize = 20_000;

/// What a sync did.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct SyncSummary {
    /// The recorded run.
    pub run_id: String,
    /// What was synced.
    pub source: String,
    /// Resources received.
    pub resources: u64,
    /// New assets (status `discovered`).
    pub new: u64,
    /// Assets whose resource changed.
    pub changed: u64,
    /// Assets whose resource did not change.
    pub unchanged: u64,
    /// Assets no longer reported, now marked absent.
    pub absent: u64,
    /// Absent assets reported again.
    pub returned: u64,
    /// Live assets newly linked to the state resource that manages them.
    pub linked: u64,
    /// Parts that could not be collected.
    pub errors: Vec<PartError>,
    /// Scopes collected completely.
    pub scopes: Vec<String>,
    /// Scopes covered before that a collection failing as a whole left failed.
    pub failed_scopes: u64,
    /// How long it took.
    pub seconds: f64,
}

/// The sources of `[[source]]` in plumb.toml, built: what `plumb sync` and the nightly
/// scheduled sync run.
pub fn configured(ctx: &Context) -> anyhow::Result<Vec<Box<dyn Source>>> {
    let configured = ctx.config.source_settings()?;
    if configured.is_empty() {
        return Err(BadInput(
            "no [[source]] in plumb.toml; name one: `plumb sync file FILE` (see `plumb sync --help`)"
                .to_owned(),
        )
        .into());
    }
    configured
        .into_iter()
        .enumerate()
        .map(|(index, settings)| {
            plumb_collect::build(settings)
                .map_err(|err| BadInput(format!("[[source]] #{}: {err}", index + 1)).into())
        })
        .collect()
}

/// Runs one source into the inventory and records the run.
pub async fn sync(ctx: &Context, source: &dyn Source, progress: &Shared) -> anyhow::Result<SyncSummary> {
    ctx.permit(Action::RecordRun)?;
    let started = plumb_store::now();
    let clock = std::time::Instant::now();
    let rules = ctx.config.rules();
    let mapping = ctx.config.tag_mapping();
    // Messages, not resources: a file or state reader sends up to 256 resources per message.
    let (emitter, received) =
        Emitter::channel(16, mapping.fingerprint(&rules), crate::app::seal::sealer(&ctx.config)?);
    let mut writer = Writer {
        ctx,
        rules,
        mapping,
        source: source.source(),
        origin: source.describe(),
        summary: SyncSummary {
            run_id: ulid::Ulid::generate().to_string(),
            source: source.describe(),
            ..SyncSummary::default()
        },
        unseen: HashMap::new(),
        batch: Vec::with_capacity(BATCH),
        progress: progress.clone(),
    };
    let (collected, mut written) = tokio::join!(source.collect(emitter), writer.receive(received));
    if written.is_ok() {
        written = writer.link_managed().await;
    }
    if let Err(err) = &collected {
        // Even when the writer failed too: the failure must reach the scopes' status.
        writer.fail_unreported(&err.to_string()).await?;
    }
    writer.summary.seconds = clock.elapsed().as_secs_f64();
    let outcome = match (&collected, &written) {
        (Ok(()), Ok(())) if writer.summary.errors.is_empty() => RunOutcome::Succeeded,
        (Ok(()), Ok(())) => RunOutcome::Partial,
        _ => RunOutcome::Failed,
    };
    let error = collected.as_ref().err().map(ToString::to_string);
    writer.record(started, outcome, error.as_deref()).await?;
    written?;
    collected.map_err(collect_error)?;
    Ok(writer.summary)
}

/// One scope's status, and what it means for verdicts now.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct ScopeReport {
    /// The scope.
    pub scope: String,
    /// The configured collection that covers it.
    pub origin: String,
    /// `complete` (judged), `failed`, `stale` or `never` (what rests on it is `error`).
    pub health: &'static str,
    /// When a sync last tried it.
    pub attempted_at: Timestamp,
    /// When a sync last collected it completely.
    pub succeeded_at: Option<Timestamp>,
    /// Why the last attempt failed.
    pub error: Option<String>,
}

/// Every scope's status under the configured freshness limit, worst first.
pub async fn scope_reports(ctx: &Context) -> anyhow::Result<Vec<ScopeReport>> {
    let now = plumb_store::now();
    let limit = Freshness { max_age_hours: ctx.config.checks.max_data_age_hours };
    let mut reports: Vec<ScopeReport> = ctx
        .store
        .scope_statuses()
        .await?
        .into_iter()
        .map(|status| ScopeReport {
            scope: status.scope.to_string(),
            health: status.health(now, limit).word(),
            origin: status.origin,
            attempted_at: status.attempted_at,
            succeeded_at: status.succeeded_at,
            error: status.error,
        })
        .collect();
    reports.sort_by_key(|r| (r.health == "complete", r.scope.clone()));
    Ok(reports)
}

/// The stored members of a scope, by key.
async fn scope_members(tx: &mut WriteTx, scope: &str) -> anyhow::Result<HashMap<String, SyncState>> {
    let size = tx.scope_size(scope).await?;
    let mut members = HashMap::with_capacity(usize::try_from(size).unwrap_or(0));
    let mut after: Option<String> = None;
    loop {
        let (page, next) = tx.scope_members(scope, after.as_deref(), MEMBERS_PAGE).await?;
        members.extend(page);
        if next.is_none() {
            return Ok(members);
        }
        after = next;
    }
}

/// A collector's error with the exit code it deserves: bad input 2, unavailable 3.
pub fn collect_error(err: CollectError) -> anyhow::Error {
    match err {
        CollectError::Input(message) => anyhow::Error::new(BadInput(message)),
        CollectError::Unavailable(message) => anyhow::Error::new(Environment(message)),
        CollectError::Stopped(stopped) => anyhow::Error::new(stopped),
    }
}

/// The writing side of a sync.
struct Writer<'a> {
    ctx: &'a Context,
    rules: InventoryRules,
    mapping: TagMapping,
    source: &'static str,
    /// The configured collection, as its scopes' status names it.
    origin: String,
    summary: SyncSummary,
    /// Per scope: its stored members not reported yet in this sync, read once when the
    /// scope's first resource arrives. What is left when the scope completes is gone.
    unseen: HashMap<String, HashMap<String, SyncState>>,
    batch: Vec<(Resource, String)>,
    progress: Shared,
}

impl Writer<'_> {
    async fn receive(&mut self, mut received: tokio::sync::mpsc::Receiver<Collected>) -> anyhow::Result<()> {
        while let Some(item) = received.recv().await {
            match item {
                Collected::Resources(resources) => {
                    self.summary.resources += resources.len() as u64;
                    self.progress.advance(resources.len() as u64);
                    self.batch.extend(resources);
                    if self.batch.len() >= BATCH {
                        self.flush().await?;
                    }
                }
                Collected::ScopeComplete { scope, at } => {
                    self.flush().await?;
                    self.complete(&scope, at).await?;
                }
                Collected::Failed(error) => {
                    tracing::warn!(message = "Part of the collection failed.", scope = %error.scope, operation = %error.operation, error = %error.message);
                    self.fail_scope(&error).await?;
                    self.summary.errors.push(error);
                }
            }
        }
        self.flush().await
    }

    /// Writes the pending resources in one transaction.
    async fn flush(&mut self) -> anyhow::Result<()> {
        if self.batch.is_empty() {
            return Ok(());
        }
        // The last report of a key wins, should a source report one twice.
        let mut latest: HashMap<String, (Resource, String)> = HashMap::with_capacity(self.batch.len());
        for (resource, hash) in self.batch.drain(..) {
            latest.insert(resource.key(), (resource, hash));
        }
        let mut tx = self.ctx.begin_write().await?;
        let now = tx.now();
        let mut states = HashMap::with_capacity(latest.len());
        let mut elsewhere = Vec::new();
        for (key, (resource, _)) in &latest {
            if !self.unseen.contains_key(&resource.scope) {
                let members = scope_members(&mut tx, &resource.scope).await?;
                self.unseen.insert(resource.scope.clone(), members);
            }
            match self.unseen.get_mut(&resource.scope).and_then(|members| members.remove(key)) {
                Some(state) => {
                    states.insert(key.clone(), state);
                }
                None => elsewhere.push(key.as_str()),
            }
        }
        // New keys, and keys stored under another scope.
        states.extend(tx.sync_states(&elsewhere).await?);
        let mut new = Vec::new();
        let mut changed = Vec::new();
        for (key, (resource, hash)) in latest {
            match states.get(&key) {
                None => {
                    let asset = discovered(
                        &resource,
                        &self.mapping,
                        &self.rules,
                        AssetId(ulid::Ulid::generate()),
                        now,
                    );
                    new.push(PreparedAsset::collected(NewAsset::new(asset), hash));
                }
                Some(state) if state.content_hash.as_deref() == Some(hash.as_str()) && !state.absent => {
                    self.summary.unchanged += 1;
                }
                Some(_) => changed.push((key, resource, hash)),
            }
        }
        if !changed.is_empty() {
            let keys: Vec<&str> = changed.iter().map(|(key, _, _)| key.as_str()).collect();
            let stored: HashMap<String, Asset> = tx
                .assets_matching(&keys, &[])
                .await?
                .into_iter()
                .map(|asset| (asset.key.clone(), asset))
                .collect();
            for (key, resource, hash) in &changed {
                let Some(before) = stored.get(key) else { continue };
                let after = refreshed(before, resource, &self.mapping, &self.rules, now);
                let action = if before.absent_since.is_some() { "returned" } else { "synced" };
                tx.update_asset(before, &after, action, None).await?;
                tx.set_content_hash(before.id, hash).await?;
                if before.absent_since.is_some() {
                    self.summary.returned += 1;
                } else {
                    self.summary.changed += 1;
                }
            }
        }
        self.summary.new += new.len() as u64;
        tx.create_assets(new).await?;
        tx.commit().await?;
        self.progress.note(&format!(
            "{} new, {} changed, {} unchanged",
            self.summary.new, self.summary.changed, self.summary.unchanged
        ));
        Ok(())
    }

    /// Marks what a complete scope no longer has as absent, and records the scope's sync time
    /// (`at`, when the collection was recorded earlier and replayed now).
    async fn complete(&mut self, scope: &str, at: Option<Timestamp>) -> anyhow::Result<()> {
        let mut tx = self.ctx.begin_write().await?;
        let now = tx.now();
        let before = tx.scope_status(&[scope]).await?.pop();
        let last = before.as_ref().and_then(|b| b.succeeded_at);
        if let (Some(at), Some(last)) = (at, last)
            && at < last
        {
            // An older recording replayed over a newer collection: what it says is not
            // current, so nothing is marked absent and the scope is not complete.
            drop(tx);
            let message = format!("collected at {at}, before the last complete collection ({last})");
            let error = PartError { scope: scope.to_owned(), operation: "replay".to_owned(), message };
            self.fail_scope(&error).await?;
            self.summary.errors.push(error);
            return Ok(());
        }
        let unseen = match self.unseen.remove(scope) {
            Some(unseen) => unseen,
            None => scope_members(&mut tx, scope).await?,
        };
        let mut gone: Vec<String> =
            unseen.into_iter().filter(|(_, m)| !m.absent).map(|(key, _)| key).collect();
        gone.sort_unstable();
        for keys in gone.chunks(BATCH) {
            let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
            for before in tx.assets_matching(&keys, &[]).await? {
                // It may have moved to another scope during this sync.
                if before.scope.as_deref() != Some(scope) || before.absent_since.is_some() {
                    continue;
                }
                let after = Asset { absent_since: Some(now), ..before.clone() };
                tx.update_asset(&before, &after, "absent", None).await?;
                self.summary.absent += 1;
            }
        }
        let status = ScopeStatus::complete(
            ScopeId::parse(scope),
            &self.origin,
            at.unwrap_or(now),
            &self.summary.run_id,
        );
        tx.record_scope(&status, before.as_ref()).await?;
        tx.commit().await?;
        self.summary.scopes.push(scope.to_owned());
        Ok(())
    }

    /// Records that a scope could not be collected: its documents stay as they were, and are
    /// no longer current.
    async fn fail_scope(&mut self, error: &PartError) -> anyhow::Result<()> {
        let mut tx = self.ctx.begin_write().await?;
        let now = tx.now();
        let message = format!("{}: {}", error.operation, error.message);
        let before = tx.scope_status(&[error.scope.as_str()]).await?.pop();
        let status = match &before {
            Some(before) => before.failed(now, &self.summary.run_id, &message),
            None => ScopeStatus::first_failure(
                ScopeId::parse(&error.scope),
                &self.origin,
                now,
                &self.summary.run_id,
                &message,
            ),
        };
        tx.record_scope(&status, before.as_ref()).await?;
        tx.commit().await?;
        Ok(())
    }

    /// After a collection failed as a whole: every scope it covered before that this run did
    /// not finish or fail on its own is failed with the collection's error.
    async fn fail_unreported(&mut self, error: &str) -> anyhow::Result<()> {
        let mut tx = self.ctx.begin_write().await?;
        let now = tx.now();
        let reported: std::collections::HashSet<&str> = self
            .summary
            .scopes
            .iter()
            .map(String::as_str)
            .chain(self.summary.errors.iter().map(|e| e.scope.as_str()))
            .collect();
        for before in tx.scopes_of_origin(&self.origin).await? {
            if reported.contains(before.scope.to_string().as_str()) {
                continue;
            }
            let status = before.failed(now, &self.summary.run_id, error);
            tx.record_scope(&status, Some(&before)).await?;
            self.summary.failed_scopes += 1;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Links live assets to the Terraform state resources that manage them, whichever was
    /// synced first.
    async fn link_managed(&mut self) -> anyhow::Result<()> {
        let mut tx = self.ctx.begin_write().await?;
        let created_at = tx.now();
        for (live, managed) in tx.unlinked_managed().await? {
            let edge = Relationship { from: live, kind: RelationKind::ManagedBy, to: managed, created_at };
            if tx.link(&edge).await? {
                self.summary.linked += 1;
            }
        }
        tx.commit().await?;
        Ok(())
    }

    async fn record(
        &self,
        started: Timestamp,
        outcome: RunOutcome,
        error: Option<&str>,
    ) -> anyhow::Result<()> {
        let summary = &self.summary;
        let run = Run {
            id: summary.run_id.clone(),
            kind: RunKind::Sync,
            name: self.source.to_owned(),
            started_at: started,
            finished_at: plumb_store::now(),
            actor: self.ctx.principal.who.clone(),
            outcome,
            inputs: json!({"source": summary.source}),
            counts: json!({
                "resources": summary.resources,
                "new": summary.new,
                "changed": summary.changed,
                "unchanged": summary.unchanged,
                "absent": summary.absent,
                "returned": summary.returned,
                "linked": summary.linked,
                "errors": summary.errors.len(),
                "failed_scopes": summary.failed_scopes,
                "seconds": summary.seconds,
            }),
            details: json!({"errors": summary.errors, "scopes": summary.scopes, "error": error}),
        };
        let mut tx = self.ctx.begin_write().await?;
        tx.record_run(&run).await?;
        tx.commit().await?;
        Ok(())
    }
}
