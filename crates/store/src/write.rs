//! The one way to change the database: a [`WriteTx`] appends a hash-chained event for every
//! change inside the same transaction, and advances the chain head on commit.

use std::time::{Duration, Instant};

use plumb_core::event_chain::ChainHead;
use plumb_core::model::{Entity, Relationship, Run};
use plumb_core::{Asset, Event, EventDraft, NewAsset, Timestamp};
use serde_json::{Value, json};
use sqlx::any::Any;
use sqlx::{Row, Transaction};

use crate::assets::{
    AssetFilter, AssetPage, COLUMNS, Page, SELECT_ASSETS, asset_by_ref, asset_from_row, list_page,
};
use crate::error::is_busy;
use crate::sql::Sql;
use crate::{Backend, Store, StoreError};

/// SQLite allows 32,766 bound values per statement and PostgreSQL 65,535; batches stay well
/// under both.
const MAX_VALUES: usize = 16_000;
const EVENT_COLUMNS: usize = 11;
const EVENT_BATCH: usize = MAX_VALUES / EVENT_COLUMNS;

/// The secondary indexes of `assets`, exactly as the migrations create them (a test checks).
pub(crate) const SECONDARY_INDEXES: &[(&str, &str)] = &[
    ("assets_type", "assets (type, key)"),
    ("assets_owner", "assets (owner, key)"),
    ("assets_environment", "assets (environment, key)"),
    ("assets_status", "assets (status, key)"),
    ("asset_tags_value", "asset_tags (key, value, asset_key)"),
    ("asset_tags_asset", "asset_tags (asset_key, key)"),
];

/// An open writing transaction. Dropping it without [`WriteTx::commit`] rolls everything back.
pub struct WriteTx {
    pub(crate) tx: Transaction<'static, Any>,
    pub(crate) backend: Backend,
    pub(crate) head: ChainHead,
    actor: String,
    now: Timestamp,
    pending: Vec<Event>,
    written: i64,
    indexes_deferred: bool,
}

impl std::fmt::Debug for WriteTx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WriteTx")
            .field("actor", &self.actor)
            .field("head", &self.head)
            .finish_non_exhaustive()
    }
}

impl Store {
    /// Starts a writing transaction on behalf of `actor`. Writers are serialised: on SQLite by
    /// an immediate (write-locking) transaction, on PostgreSQL by locking the chain head row.
    /// A writer that finds the database locked waits up to the store's lock timeout.
    pub async fn begin_write(&self, actor: &str) -> Result<WriteTx, StoreError> {
        let mut tx = self.begin_locked().await?;
        let lock = match self.backend {
            Backend::Sqlite => "",
            Backend::Postgres => " FOR UPDATE",
        };
        let row = Sql::new(&format!("SELECT seq, hash FROM event_head WHERE id = 1{lock}"))
            .query(self.backend)
            .fetch_one(&mut *tx)
            .await?;
        let head = ChainHead { seq: row.try_get("seq")?, hash: row.try_get("hash")? };
        Ok(WriteTx {
            tx,
            backend: self.backend,
            head,
            actor: actor.to_owned(),
            now: crate::clock::now(),
            pending: Vec::new(),
            written: 0,
            indexes_deferred: false,
        })
    }

    async fn begin_locked(&self) -> Result<Transaction<'static, Any>, StoreError> {
        if self.backend == Backend::Postgres {
            return Ok(self.pool.begin().await?);
        }
        let started = Instant::now();
        let mut pause = Duration::from_millis(10);
        loop {
            match self.pool.begin_with("BEGIN IMMEDIATE").await {
                Ok(tx) => return Ok(tx),
                Err(err) if is_busy(&err) && started.elapsed() < self.lock_timeout => {
                    tracing::debug!(message = "Database locked by another writer; waiting.", ?pause);
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_secs(1));
                }
                Err(err) if is_busy(&err) => return Err(StoreError::Busy(started.elapsed())),
                Err(err) => return Err(err.into()),
            }
        }
    }
}

impl WriteTx {
    /// The transaction's time, used for every event it writes.
    pub fn now(&self) -> Timestamp {
        self.now
    }

    /// The asset with this id, or else this key, as this transaction sees it.
    pub async fn asset(&mut self, reference: &str) -> Result<Asset, StoreError> {
        asset_by_ref(&mut *self.tx, self.backend, reference).await
    }

    /// A page of assets as this transaction sees them.
    pub async fn list_assets(&mut self, filter: &AssetFilter, page: &Page) -> Result<AssetPage, StoreError> {
        list_page(&mut self.tx, self.backend, filter, page).await
    }

    /// Whether the inventory has no assets, as this transaction sees it. Bulk loads into an
    /// empty inventory need not look for existing keys: the write lock keeps it theirs.
    pub async fn inventory_is_empty(&mut self) -> Result<bool, StoreError> {
        let row = Sql::new("SELECT COUNT(*) AS n FROM (SELECT 1 FROM assets LIMIT 1) AS one")
            .query(self.backend)
            .fetch_one(&mut *self.tx)
            .await?;
        Ok(row.try_get::<i64, _>("n")? == 0)
    }

    /// Drops the secondary asset indexes until commit, which rebuilds them. For bulk loads:
    /// building an index once from sorted rows is much cheaper than growing it row by row
    /// (a million assets: 4 s less). On PostgreSQL this blocks readers of `assets` until
    /// commit, so it is meant for loading an empty inventory.
    pub async fn defer_indexes(&mut self) -> Result<(), StoreError> {
        for (name, _) in SECONDARY_INDEXES {
            Sql::new(&format!("DROP INDEX {name}")).query(self.backend).execute(&mut *self.tx).await?;
        }
        self.indexes_deferred = true;
        Ok(())
    }

    /// The stored assets whose key or id is among the given ones.
    pub async fn assets_matching(&mut self, keys: &[&str], ids: &[String]) -> Result<Vec<Asset>, StoreError> {
        let mut found = Vec::new();
        for chunk in keys.chunks(MAX_VALUES) {
            found.extend(self.fetch_in("key", chunk.iter().map(|k| (*k).to_owned())).await?);
        }
        for chunk in ids.chunks(MAX_VALUES) {
            found.extend(self.fetch_in("id", chunk.iter().cloned()).await?);
        }
        Ok(found)
    }

    async fn fetch_in(
        &mut self,
        column: &str,
        values: impl ExactSizeIterator<Item = String>,
    ) -> Result<Vec<Asset>, StoreError> {
        if values.len() == 0 {
            return Ok(Vec::new());
        }
        let mut sql = Sql::new(&format!("{SELECT_ASSETS} WHERE assets.{column} IN "));
        sql.row(|row| {
            for value in values {
                row.value(value);
            }
        });
        let rows = sql.query(self.backend).fetch_all(&mut *self.tx).await?;
        rows.iter().map(asset_from_row).collect()
    }

    /// Inserts new assets, each with its `created` event.
    ///
    /// The database works on its own thread, so each statement is built (and the events of
    /// the one before sealed) while the previous one executes: built one after the other, the
    /// database thread sat idle for a third of an import. An error leaves the transaction fit
    /// only to be rolled back, which dropping it does.
    pub async fn create_assets(&mut self, assets: Vec<PreparedAsset>) -> Result<(), StoreError> {
        let backend = self.backend;
        let mut assets = assets.into_iter();
        let mut next = assets_statement(backend, &mut assets);
        while let Some((sql, events)) = next.take() {
            let insert = sql.query(backend).execute(&mut *self.tx);
            let (head, pending) = (&mut self.head, &mut self.pending);
            let (actor, now) = (&self.actor, self.now);
            let prepare = async {
                for event in &events {
                    pending.push(head.seal(event, ulid::Ulid::generate().to_string(), now, actor));
                }
                let full = pending.len() >= EVENT_BATCH;
                let events = full.then(|| events_statement(backend, pending.drain(..)));
                (assets_statement(backend, &mut assets), events)
            };
            let (inserted, (following, events_sql)) = tokio::join!(insert, prepare);
            inserted.map_err(conflict_on_unique)?;
            self.written += events.len() as i64;
            if let Some(events_sql) = events_sql {
                events_sql.query(backend).execute(&mut *self.tx).await?;
            }
            next = following;
        }
        Ok(())
    }

    /// Stores `after` over `before` (the same asset) with an event holding the changed fields;
    /// `note` adds context to the event (such as transition evidence). Returns whether anything
    /// changed; nothing is written when nothing did.
    pub async fn update_asset(
        &mut self,
        before: &Asset,
        after: &Asset,
        action: &'static str,
        note: Option<(&str, Value)>,
    ) -> Result<bool, StoreError> {
        let Some((old, mut new)) = before.diff(after) else {
            return Ok(false);
        };
        // Only the changed columns: `before` may carry a derived value (the effective
        // last_seen of a synced asset), which must not be written back without an event.
        let mut sql = Sql::new("UPDATE assets SET ");
        let changed = COLUMNS
            .split(", ")
            .zip(column_values(after))
            .skip(1)
            .filter(|(column, _)| new.get(*column).is_some());
        for (i, (column, value)) in changed.enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            sql.push(&format!("{column} = ")).bind_text(value);
        }
        sql.push(" WHERE id = ").bind(before.id.to_string());
        sql.query(self.backend).execute(&mut *self.tx).await.map_err(conflict_on_unique)?;
        if let (Some((name, value)), Value::Object(map)) = (note, &mut new) {
            map.insert(name.to_owned(), value);
        }
        self.append(EventDraft::new(Entity::Asset, after.id.to_string(), action, Some(&old), Some(&new)))
            .await?;
        Ok(true)
    }

    /// Records a relationship; returns false (and writes nothing) when it already exists.
    pub async fn link(&mut self, relationship: &Relationship) -> Result<bool, StoreError> {
        let mut sql = Sql::new("INSERT INTO relationships (from_id, kind, to_id, created_at) VALUES ");
        sql.row(|row| {
            row.value(relationship.from.to_string())
                .value(relationship.kind.as_str())
                .value(relationship.to.to_string())
                .value(relationship.created_at.to_string());
        });
        sql.push(" ON CONFLICT DO NOTHING");
        let inserted = sql.query(self.backend).execute(&mut *self.tx).await?.rows_affected() > 0;
        if inserted {
            let after = json!({
                "from": relationship.from.to_string(),
                "kind": relationship.kind.as_str(),
                "to": relationship.to.to_string(),
            });
            self.append(EventDraft::new(
                Entity::Relationship,
                relationship.id(),
                "linked",
                None,
                Some(&after),
            ))
            .await?;
        }
        Ok(inserted)
    }

    /// Records a finished run, with an event.
    pub async fn record_run(&mut self, run: &Run) -> Result<(), StoreError> {
        let marked;
        let run = match crate::clock::overridden() {
            None => run,
            Some(at) => {
                let mut copy = run.clone();
                if !copy.inputs.is_object() {
                    copy.inputs = json!({});
                }
                copy.inputs["test_clock"] = json!(at);
                marked = copy;
                &marked
            }
        };
        let mut sql = Sql::new(&format!("INSERT INTO runs ({}) VALUES ", crate::runs::COLUMNS));
        sql.row(|row| {
            row.value(run.id.clone())
                .value(run.kind.as_str())
                .value(run.name.clone())
                .value(run.started_at.to_string())
                .value(run.finished_at.to_string())
                .value(run.actor.clone())
                .value(run.outcome.as_str())
                .value(run.inputs.to_string())
                .value(run.counts.to_string())
                .value(run.details.to_string());
        });
        sql.query(self.backend).execute(&mut *self.tx).await?;
        let summary = json!({
            "kind": run.kind.as_str(),
            "name": run.name,
            "outcome": run.outcome.as_str(),
            "counts": run.counts,
            "digest": run.digest(),
        });
        self.append(EventDraft::new(Entity::Run, run.id.clone(), "recorded", None, Some(&summary))).await
    }

    /// Makes every change of this transaction durable, with its events; returns how many events
    /// the transaction wrote.
    pub async fn commit(mut self) -> Result<i64, StoreError> {
        self.flush_events().await?;
        if self.indexes_deferred {
            for (name, definition) in SECONDARY_INDEXES {
                let sql = Sql::new(&format!("CREATE INDEX {name} ON {definition}"));
                sql.query(self.backend).execute(&mut *self.tx).await?;
            }
            if self.backend == Backend::Postgres {
                // A bulk load leaves the planner without statistics until autovacuum comes by:
                // measured after importing 1,000,000 assets, a search for a word most assets
                // hold sorted a bitmap of every row (1.7 s) instead of walking `seq` (0.4 ms).
                Sql::new("ANALYZE assets, asset_tags").query(self.backend).execute(&mut *self.tx).await?;
            }
        }
        let mut head = Sql::new("UPDATE event_head SET seq = ");
        head.bind(self.head.seq).push(", hash = ").bind(self.head.hash.clone()).push(" WHERE id = 1");
        head.query(self.backend).execute(&mut *self.tx).await?;
        self.tx.commit().await?;
        Ok(self.written)
    }

    pub(crate) async fn append(&mut self, draft: EventDraft) -> Result<(), StoreError> {
        let event = self.head.seal(&draft, ulid::Ulid::generate().to_string(), self.now, &self.actor);
        self.pending.push(event);
        self.written += 1;
        if self.pending.len() >= EVENT_BATCH {
            self.flush_events().await?;
        }
        Ok(())
    }

    async fn flush_events(&mut self) -> Result<(), StoreError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        events_statement(self.backend, self.pending.drain(..))
            .query(self.backend)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }
}

/// The insert of the next statement's worth of `assets`, with their events; `None` when there
/// are none left.
fn assets_statement(
    backend: Backend,
    assets: &mut impl Iterator<Item = PreparedAsset>,
) -> Option<(Sql, Vec<EventDraft>)> {
    let mut sql = Sql::new(&format!("{} assets ({COLUMNS}, content_hash) VALUES ", backend.bulk_insert()));
    let mut events = Vec::new();
    for (i, prepared) in assets.take(MAX_VALUES / COLUMN_COUNT).enumerate() {
        if i > 0 {
            sql.push(",");
        }
        sql.row(|row| {
            for value in prepared.values {
                row.text(value);
            }
            row.text(prepared.content_hash);
        });
        events.push(prepared.event);
    }
    (!events.is_empty()).then_some((sql, events))
}

/// The insert of sealed events.
fn events_statement(backend: Backend, events: impl Iterator<Item = Event>) -> Sql {
    let mut sql = Sql::new(&format!(
        "{} events (seq, id, at, actor, entity, entity_id, action, before, after, prev_hash, hash) VALUES ",
        backend.bulk_insert()
    ));
    for (i, event) in events.enumerate() {
        if i > 0 {
            sql.push(",");
        }
        sql.row(|row| {
            row.value(event.seq)
                .value(event.id)
                .value(event.at.to_string())
                .value(event.actor)
                .value(event.entity)
                .value(event.entity_id)
                .value(event.action)
                .text(event.before)
                .text(event.after)
                .value(event.prev_hash)
                .value(event.hash);
        });
    }
    sql
}

/// A new asset ready to insert: its column values and its `created` event, both computed
/// wherever is convenient (an import prepares them on its reading thread, so the writing
/// transaction only moves them into statements).
#[derive(Debug)]
pub struct PreparedAsset {
    values: Vec<Option<String>>,
    event: EventDraft,
    content_hash: Option<String>,
}

impl From<NewAsset> for PreparedAsset {
    fn from(new: NewAsset) -> Self {
        PreparedAsset { values: column_values(new.asset()), event: new.event().clone(), content_hash: None }
    }
}

impl PreparedAsset {
    /// A collected asset, with the hash of the resource it was derived from.
    pub fn collected(new: NewAsset, content_hash: String) -> Self {
        PreparedAsset { content_hash: Some(content_hash), ..new.into() }
    }
}

const COLUMN_COUNT: usize = 21;

/// The asset's values in the order of `COLUMNS`.
fn column_values(asset: &Asset) -> Vec<Option<String>> {
    vec![
        Some(asset.id.to_string()),
        Some(asset.key.clone()),
        Some(asset.name.clone()),
        Some(asset.kind.as_str().to_owned()),
        Some(asset.asset_type.clone()),
        asset.environment.clone(),
        asset.owner.clone(),
        asset.manager.clone(),
        asset.classification.clone(),
        asset.location.clone(),
        Some(asset.status.as_str().to_owned()),
        Some(asset.source.clone()),
        asset.financial_ref.clone(),
        serde_json::to_string(&asset.tags).ok(),
        Some(asset.attributes.to_string()),
        Some(asset.first_seen.to_string()),
        Some(asset.last_seen.to_string()),
        asset.scope.clone(),
        asset.absent_since.map(|t| t.to_string()),
        (!asset.provenance.is_empty()).then(|| serde_json::to_string(&asset.provenance).unwrap_or_default()),
    ]
}

fn conflict_on_unique(err: sqlx::Error) -> StoreError {
    match &err {
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict(format!(
            "an asset with the same key or id already exists ({})",
            db.message()
        )),
        _ => err.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_follow_the_column_order() {
        assert_eq!(COLUMNS.split(", ").count() + 1, COLUMN_COUNT);
        let asset = Asset {
            id: plumb_core::AssetId(ulid::Ulid::nil()),
            key: "k".into(),
            name: "n".into(),
            kind: plumb_core::Kind::Data,
            asset_type: "t".into(),
            environment: Some("e".into()),
            owner: Some("o".into()),
            manager: Some("m".into()),
            classification: Some("c".into()),
            location: Some("l".into()),
            status: plumb_core::Status::Registered,
            source: "s".into(),
            financial_ref: Some("f".into()),
            tags: Default::default(),
            attributes: json!({}),
            first_seen: Timestamp::UNIX_EPOCH,
            last_seen: Timestamp::UNIX_EPOCH,
            scope: Some("s".into()),
            absent_since: Some(Timestamp::UNIX_EPOCH),
            provenance: [(
                "owner".to_owned(),
                plumb_core::provenance::FieldSource { set_by: "person".to_owned(), conflicting_tag: None },
            )]
            .into(),
        };
        let json = asset.to_json();
        for (column, value) in COLUMNS.split(", ").zip(column_values(&asset)) {
            let expected = match &json[column] {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            assert_eq!(value.as_deref(), Some(expected.as_str()), "{column}");
        }
    }
}
