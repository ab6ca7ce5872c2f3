//! The one way to change the database: a [`WriteTx`] appends a hash-chained event for every
//! change inside the same transaction, and advances the chain head on commit.

use std::time::{Duration, Instant};

use plumb_core::event_chain::ChainHead;
use plumb_core::model::{Entity, Relationship};
use plumb_core::{Asset, Event, EventDraft, Timestamp};
use serde_json::{Value, json};
use sqlx::any::Any;
use sqlx::{Row, Transaction};

use crate::assets::{AssetFilter, AssetPage, COLUMNS, Page, asset_by_ref, asset_from_row, list_page};
use crate::error::is_busy;
use crate::sql::Sql;
use crate::{Backend, Store, StoreError};

/// SQLite allows 32,766 bound values per statement and PostgreSQL 65,535; batches stay well
/// under both.
const MAX_VALUES: usize = 16_000;
const EVENT_COLUMNS: usize = 11;
const EVENT_BATCH: usize = MAX_VALUES / EVENT_COLUMNS;

/// An open writing transaction. Dropping it without [`WriteTx::commit`] rolls everything back.
pub struct WriteTx {
    tx: Transaction<'static, Any>,
    head: ChainHead,
    actor: String,
    now: Timestamp,
    pending: Vec<Event>,
    written: i64,
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
            .query()
            .fetch_one(&mut *tx)
            .await?;
        let head = ChainHead { seq: row.try_get("seq")?, hash: row.try_get("hash")? };
        Ok(WriteTx {
            tx,
            head,
            actor: actor.to_owned(),
            now: Timestamp::from_jiff(jiff::Timestamp::now()),
            pending: Vec::new(),
            written: 0,
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
        asset_by_ref(&mut *self.tx, reference).await
    }

    /// A page of assets as this transaction sees them.
    pub async fn list_assets(&mut self, filter: &AssetFilter, page: &Page) -> Result<AssetPage, StoreError> {
        list_page(&mut *self.tx, filter, page).await
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
        let mut sql = Sql::new(&format!("SELECT {COLUMNS} FROM assets WHERE {column} IN "));
        sql.row(|row| {
            for value in values {
                row.value(value);
            }
        });
        let rows = sql.query().fetch_all(&mut *self.tx).await?;
        rows.iter().map(asset_from_row).collect()
    }

    /// Inserts new assets, each with a `created` event.
    pub async fn create_assets(&mut self, assets: &[Asset]) -> Result<(), StoreError> {
        for chunk in assets.chunks(MAX_VALUES / 17) {
            let mut sql = Sql::new(&format!("INSERT INTO assets ({COLUMNS}) VALUES "));
            for (i, asset) in chunk.iter().enumerate() {
                if i > 0 {
                    sql.push(",");
                }
                bind_asset(&mut sql, asset);
            }
            sql.query().execute(&mut *self.tx).await.map_err(conflict_on_unique)?;
        }
        self.insert_tags(assets).await?;
        for asset in assets {
            self.append(EventDraft {
                entity: Entity::Asset,
                entity_id: asset.id.to_string(),
                action: "created",
                before: None,
                after: Some(asset.to_json()),
            })
            .await?;
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
        let mut sql = Sql::new("UPDATE assets SET ");
        for (i, column) in COLUMNS.split(", ").enumerate().skip(1) {
            if i > 1 {
                sql.push(", ");
            }
            sql.push(&format!("{column} = "));
            bind_column(&mut sql, after, column);
        }
        sql.push(" WHERE id = ").bind(before.id.to_string());
        sql.query().execute(&mut *self.tx).await.map_err(conflict_on_unique)?;
        if before.tags != after.tags {
            let mut delete = Sql::new("DELETE FROM asset_tags WHERE asset_id = ");
            delete.bind(after.id.to_string());
            delete.query().execute(&mut *self.tx).await?;
            self.insert_tags(std::slice::from_ref(after)).await?;
        }
        if let (Some((name, value)), Value::Object(map)) = (note, &mut new) {
            map.insert(name.to_owned(), value);
        }
        self.append(EventDraft {
            entity: Entity::Asset,
            entity_id: after.id.to_string(),
            action,
            before: Some(old),
            after: Some(new),
        })
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
        let inserted = sql.query().execute(&mut *self.tx).await?.rows_affected() > 0;
        if inserted {
            self.append(EventDraft {
                entity: Entity::Relationship,
                entity_id: relationship.id(),
                action: "linked",
                before: None,
                after: Some(json!({
                    "from": relationship.from.to_string(),
                    "kind": relationship.kind.as_str(),
                    "to": relationship.to.to_string(),
                })),
            })
            .await?;
        }
        Ok(inserted)
    }

    /// Makes every change of this transaction durable, with its events; returns how many events
    /// the transaction wrote.
    pub async fn commit(mut self) -> Result<i64, StoreError> {
        self.flush_events().await?;
        let mut head = Sql::new("UPDATE event_head SET seq = ");
        head.bind(self.head.seq).push(", hash = ").bind(self.head.hash.clone()).push(" WHERE id = 1");
        head.query().execute(&mut *self.tx).await?;
        self.tx.commit().await?;
        Ok(self.written)
    }

    async fn append(&mut self, draft: EventDraft) -> Result<(), StoreError> {
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
        let mut sql = Sql::new(
            "INSERT INTO events (seq, id, at, actor, entity, entity_id, action, before, after, prev_hash, hash) VALUES ",
        );
        for (i, event) in self.pending.drain(..).enumerate() {
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
                    .value(event.before)
                    .value(event.after)
                    .value(event.prev_hash)
                    .value(event.hash);
            });
        }
        sql.query().execute(&mut *self.tx).await?;
        Ok(())
    }

    async fn insert_tags(&mut self, assets: &[Asset]) -> Result<(), StoreError> {
        let pairs: Vec<(String, &String, &String)> =
            assets.iter().flat_map(|a| a.tags.iter().map(move |(k, v)| (a.id.to_string(), k, v))).collect();
        for chunk in pairs.chunks(MAX_VALUES / 3) {
            let mut sql = Sql::new("INSERT INTO asset_tags (asset_id, key, value) VALUES ");
            for (i, (id, key, value)) in chunk.iter().enumerate() {
                if i > 0 {
                    sql.push(",");
                }
                sql.row(|row| {
                    row.value(id.clone()).value((*key).clone()).value((*value).clone());
                });
            }
            sql.query().execute(&mut *self.tx).await?;
        }
        Ok(())
    }
}

fn bind_asset(sql: &mut Sql, asset: &Asset) {
    sql.push("(");
    for (i, column) in COLUMNS.split(", ").enumerate() {
        if i > 0 {
            sql.push(",");
        }
        bind_column(sql, asset, column);
    }
    sql.push(")");
}

fn bind_column(sql: &mut Sql, asset: &Asset, column: &str) {
    let text = |value: &str| Some(value.to_owned());
    let value: Option<String> = match column {
        "id" => Some(asset.id.to_string()),
        "key" => text(&asset.key),
        "name" => text(&asset.name),
        "kind" => text(asset.kind.as_str()),
        "type" => text(&asset.asset_type),
        "environment" => asset.environment.clone(),
        "owner" => asset.owner.clone(),
        "manager" => asset.manager.clone(),
        "classification" => asset.classification.clone(),
        "location" => asset.location.clone(),
        "status" => text(asset.status.as_str()),
        "source" => text(&asset.source),
        "financial_ref" => asset.financial_ref.clone(),
        "tags" => serde_json::to_string(&asset.tags).ok(),
        "attributes" => Some(asset.attributes.to_string()),
        "first_seen" => Some(asset.first_seen.to_string()),
        "last_seen" => Some(asset.last_seen.to_string()),
        _ => None,
    };
    sql.bind(value);
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
