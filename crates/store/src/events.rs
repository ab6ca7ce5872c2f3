//! Reading the event log: one record's history, and verification of the whole chain.

use plumb_core::event_chain::{ChainBreak, ChainHead, Verifier};
use plumb_core::model::Entity;
use plumb_core::{AssetId, Event};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::assets::parse;
use crate::sql::Sql;
use crate::{Store, StoreError};

pub(crate) const COLUMNS: &str =
    "seq, id, at, actor, entity, entity_id, action, before, after, prev_hash, hash";
const VERIFY_BATCH: i64 = 5_000;

/// The outcome of verifying the chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verification {
    /// Every event verified; the count and the head hash (worth recording elsewhere: it pins
    /// the whole history).
    Intact {
        /// Events verified.
        events: i64,
        /// Hash of the last event.
        head: String,
    },
    /// The chain is broken; the first break found.
    Broken(ChainBreak),
    /// The chain is intact, but a stored row no longer says what its history says: it was
    /// edited beside the chain.
    Disagrees {
        /// Events verified.
        events: i64,
        /// The first row found that disagrees.
        mismatch: crate::RowMismatch,
    },
}

impl Store {
    /// The chain as it stands: its length and head hash.
    pub async fn chain_head(&self) -> Result<ChainHead, StoreError> {
        let row = Sql::new("SELECT seq, hash FROM event_head WHERE id = 1")
            .query(self.backend)
            .fetch_one(&self.pool)
            .await?;
        Ok(ChainHead { seq: row.try_get("seq")?, hash: row.try_get("hash")? })
    }

    /// The hash of the event numbered `seq`, if the chain holds one.
    pub async fn event_hash(&self, seq: i64) -> Result<Option<String>, StoreError> {
        let mut sql = Sql::new("SELECT hash FROM events WHERE seq = ");
        sql.bind(seq);
        let row = sql.query(self.backend).fetch_optional(&self.pool).await?;
        Ok(row.map(|row| row.try_get::<String, _>("hash")).transpose()?)
    }

    /// The events about one asset (its own changes and its relationships), oldest first.
    pub async fn asset_history(&self, id: AssetId) -> Result<Vec<Event>, StoreError> {
        let id = id.to_string();
        let mut sql = Sql::new(&format!("SELECT {COLUMNS} FROM events WHERE (entity = "));
        sql.bind(Entity::Asset.as_str()).push(" AND entity_id = ").bind(id.clone());
        sql.push(") OR (entity = ").bind(Entity::Relationship.as_str());
        sql.push(" AND entity_id LIKE ").bind(format!("%{id}%")).push(") ORDER BY seq");
        let rows = sql.query(self.backend).fetch_all(&self.pool).await?;
        rows.iter().map(event_from_row).collect()
    }

    /// The events of one exception (requested, approved, …), oldest first.
    pub async fn exception_history(&self, id: &str) -> Result<Vec<Event>, StoreError> {
        let mut sql = Sql::new(&format!("SELECT {COLUMNS} FROM events WHERE entity = "));
        sql.bind(Entity::Exception.as_str()).push(" AND entity_id = ").bind(id.to_owned());
        sql.push(" ORDER BY seq");
        let rows = sql.query(self.backend).fetch_all(&self.pool).await?;
        rows.iter().map(event_from_row).collect()
    }

    /// The events of the findings of these checks for one key (opened, changed, resolved),
    /// oldest first: a resource's drift or check history.
    pub async fn finding_history(&self, checks: &[String], key: &str) -> Result<Vec<Event>, StoreError> {
        let mut sql = Sql::new(&format!("SELECT {COLUMNS} FROM events WHERE entity = "));
        sql.bind(Entity::Finding.as_str()).push(" AND entity_id IN ");
        sql.row(|row| {
            for check in checks {
                row.value(format!("{check}|{key}"));
            }
        });
        sql.push(" ORDER BY seq");
        let rows = sql.query(self.backend).fetch_all(&self.pool).await?;
        rows.iter().map(event_from_row).collect()
    }

    /// Walks the whole chain in sequence order, in batches, and checks every link and hash and
    /// the recorded head; then that every stored row says what its history says
    /// ([`Store::verify_rows`]).
    pub async fn verify_events(&self) -> Result<Verification, StoreError> {
        let mut verifier = Verifier::default();
        let mut after = 0_i64;
        loop {
            let mut sql = Sql::new(&format!("SELECT {COLUMNS} FROM events WHERE seq > "));
            sql.bind(after).push(" ORDER BY seq LIMIT ").bind(VERIFY_BATCH);
            let rows = sql.query(self.backend).fetch_all(&self.pool).await?;
            for row in &rows {
                let event = event_from_row(row)?;
                if let Err(broken) = verifier.push(&event) {
                    return Ok(Verification::Broken(broken));
                }
                after = event.seq;
            }
            if i64::try_from(rows.len()).unwrap_or(0) < VERIFY_BATCH {
                break;
            }
        }
        let row = Sql::new("SELECT seq, hash FROM event_head WHERE id = 1")
            .query(self.backend)
            .fetch_one(&self.pool)
            .await?;
        let head = ChainHead { seq: row.try_get("seq")?, hash: row.try_get("hash")? };
        let events = match verifier.finish(&head) {
            Ok(events) => events,
            Err(broken) => return Ok(Verification::Broken(broken)),
        };
        Ok(match self.verify_rows().await? {
            None => Verification::Intact { events, head: head.hash },
            Some(mismatch) => Verification::Disagrees { events, mismatch },
        })
    }
}

pub(crate) fn event_from_row(row: &AnyRow) -> Result<Event, StoreError> {
    Ok(Event {
        seq: row.try_get("seq")?,
        id: row.try_get("id")?,
        at: parse("at", row.try_get::<String, _>("at")?)?,
        actor: row.try_get("actor")?,
        entity: row.try_get("entity")?,
        entity_id: row.try_get("entity_id")?,
        action: row.try_get("action")?,
        before: row.try_get("before")?,
        after: row.try_get("after")?,
        prev_hash: row.try_get("prev_hash")?,
        hash: row.try_get("hash")?,
    })
}
