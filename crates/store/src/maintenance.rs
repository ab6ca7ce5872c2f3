//! One-off data maintenance, and the one operation that rewrites history: re-sealing the chain
//! after stored documents had to lose something they must never have held (secrets stored by
//! an older plumb).
//!
//! A re-seal rewrites the documents (asset rows and the before/after of their events),
//! recomputes every hash from the first rewritten event on, and appends a `chain`/`resealed`
//! event that says why and records what the chain was: the previous head and the old hash of
//! every rewritten event. `plumb log verify` then verifies the new chain; whoever kept the old
//! head hash finds it in that event. On SQLite the freed bytes are zeroed and the file
//! compacted, so the removed values are gone from the disk too.

use plumb_core::event_chain::{ChainHead, event_hash};
use plumb_core::model::Entity;
use plumb_core::{Event, EventDraft};
use serde_json::{Map, Value, json};
use sqlx::{Executor, Row};

use crate::sql::Sql;
use crate::{Backend, Store, StoreError, WriteTx};

const BATCH: i64 = 2_000;

/// Who the events of a migration are recorded for.
const MIGRATION_ACTOR: &str = "plumb (migration)";

/// What a re-seal did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Reseal {
    /// Events whose documents were rewritten: (seq, old hash).
    pub events: Vec<(i64, String)>,
    /// Events whose hashes were recomputed (every one from the first rewritten on).
    pub rehashed: u64,
    /// Asset rows rewritten.
    pub assets: u64,
    /// The head before.
    pub previous_head: ChainHead,
}

/// Rewrites an asset document (a JSON object of asset fields, as rows and asset events hold
/// them) in place; returns whether it changed.
pub type Rewrite<'a> = &'a (dyn Fn(&mut Map<String, Value>) -> bool + Sync);

impl Store {
    /// Whether a maintenance task was done on this database.
    pub async fn maintenance_done(&self, name: &str) -> Result<bool, StoreError> {
        let mut sql = Sql::new("SELECT COUNT(*) AS n FROM maintenance WHERE name = ");
        sql.bind(name.to_owned());
        let row = sql.query(self.backend).fetch_one(&self.pool).await?;
        Ok(row.try_get::<i64, _>("n")? > 0)
    }

    /// Whether any asset came from `source`.
    pub async fn has_source(&self, source: &str) -> Result<bool, StoreError> {
        let mut sql = Sql::new("SELECT COUNT(*) AS n FROM (SELECT 1 FROM assets WHERE source = ");
        sql.bind(source.to_owned()).push(" LIMIT 1) AS one");
        let row = sql.query(self.backend).fetch_one(&self.pool).await?;
        Ok(row.try_get::<i64, _>("n")? > 0)
    }

    /// Runs maintenance task `name` unless it was done: rewrites the documents of `source`'s
    /// assets and of their events with `rewrite`, and when anything changed re-seals the chain
    /// with a `resealed` event giving `reason`. Records the task as done either way, in the same
    /// transaction. Then compacts the database so the old bytes are gone.
    pub async fn reseal(
        &self,
        actor: &str,
        name: &str,
        source: &str,
        reason: &str,
        rewrite: Rewrite<'_>,
    ) -> Result<Option<Reseal>, StoreError> {
        let mut tx = self.begin_write(actor).await?;
        if self.backend == Backend::Sqlite {
            // Overwrite freed and rewritten cells with zeros rather than leaving them in the file.
            Sql::new("PRAGMA secure_delete = ON").query(self.backend).execute(&mut *tx.tx).await?;
        }
        if tx.task_done(name).await? {
            return Ok(None);
        }
        let mut report = Reseal { previous_head: tx.head().clone(), ..Reseal::default() };
        report.assets = tx.rewrite_assets(source, rewrite).await?;
        tx.rewrite_events(rewrite, &mut report).await?;
        let detail = json!({"reason": reason, "events": report.events.len(), "assets": report.assets});
        tx.mark_done(name, &detail).await?;
        let changed = !report.events.is_empty() || report.assets > 0;
        if changed {
            let events: Vec<Value> =
                report.events.iter().map(|(seq, hash)| json!({"seq": seq, "old_hash": hash})).collect();
            let after = json!({
                "task": name,
                "reason": reason,
                "previous_head": {"seq": report.previous_head.seq, "hash": report.previous_head.hash},
                "rewritten_events": events,
                "rehashed_events": report.rehashed,
                "rewritten_assets": report.assets,
            });
            tx.append(EventDraft::new(Entity::Chain, "events".to_owned(), "resealed", None, Some(&after)))
                .await?;
        }
        tx.commit().await?;
        if changed {
            self.compact().await?;
        }
        Ok(changed.then_some(report))
    }

    /// Gives every scope status that no event speaks for a `scope`/`migrated` event with what
    /// the row says, so `log verify` holds the row to it from then on. Only `migrate` calls it,
    /// right after migration 0007 carried `sync_scopes` (which kept no history) over: a row
    /// added behind plumb's back later is never blessed. Returns how many were recorded.
    pub(crate) async fn record_migrated_scopes(&self) -> Result<u64, StoreError> {
        let mut tx = self.begin_write(MIGRATION_ACTOR).await?;
        let unrecorded = tx.unrecorded_scopes().await?;
        for status in &unrecorded {
            let after = status.record();
            let draft =
                EventDraft::new(Entity::Scope, status.scope.to_string(), "migrated", None, Some(&after));
            tx.append(draft).await?;
        }
        tx.commit().await?;
        Ok(u64::try_from(unrecorded.len()).unwrap_or(u64::MAX))
    }

    /// Rebuilds the database files without the space rewritten rows left behind: VACUUM and a
    /// truncating WAL checkpoint on SQLite, VACUUM FULL of the rewritten tables on PostgreSQL.
    async fn compact(&self) -> Result<(), StoreError> {
        let mut conn = self.pool.acquire().await?;
        match self.backend {
            Backend::Sqlite => {
                conn.execute("PRAGMA secure_delete = ON").await?;
                conn.execute("VACUUM").await?;
                // VACUUM may renumber the assets' rowids, which the search index is keyed by.
                conn.execute(
                    "BEGIN; INSERT INTO assets_search (assets_search) VALUES ('delete-all'); \
                     INSERT INTO assets_search (rowid, key, name, owner, location, tags) \
                     SELECT rowid, key, name, owner, location, tags FROM assets; COMMIT",
                )
                .await?;
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").await?;
            }
            Backend::Postgres => {
                conn.execute("VACUUM (FULL) assets, events").await?;
            }
        }
        Ok(())
    }
}

impl WriteTx {
    fn head(&self) -> &ChainHead {
        &self.head
    }

    /// Whether maintenance task `name` was done, as this transaction sees it.
    async fn task_done(&mut self, name: &str) -> Result<bool, StoreError> {
        let mut done = Sql::new("SELECT COUNT(*) AS n FROM maintenance WHERE name = ");
        done.bind(name.to_owned());
        Ok(done.query(self.backend).fetch_one(&mut *self.tx).await?.try_get::<i64, _>("n")? > 0)
    }

    /// Records maintenance task `name` as done, with what it did.
    async fn mark_done(&mut self, name: &str, detail: &Value) -> Result<(), StoreError> {
        let mut mark = Sql::new("INSERT INTO maintenance (name, done_at, detail) VALUES ");
        let now = self.now().to_string();
        mark.row(|row| {
            row.value(name.to_owned()).value(now).value(detail.to_string());
        });
        mark.query(self.backend).execute(&mut *self.tx).await?;
        Ok(())
    }

    /// Rewrites the attributes of every asset of `source`; returns how many changed.
    async fn rewrite_assets(&mut self, source: &str, rewrite: Rewrite<'_>) -> Result<u64, StoreError> {
        let mut after = String::new();
        let mut changed = 0;
        loop {
            let mut sql = Sql::new("SELECT id, attributes FROM assets WHERE source = ");
            sql.bind(source.to_owned()).push(" AND id > ").bind(after.clone());
            sql.push(" ORDER BY id LIMIT ").bind(BATCH);
            let rows = sql.query(self.backend).fetch_all(&mut *self.tx).await?;
            for row in &rows {
                let id: String = row.try_get("id")?;
                let text: String = row.try_get("attributes")?;
                let mut document = Map::new();
                document.insert("attributes".to_owned(), parse_json("attributes", &text)?);
                if rewrite(&mut document) {
                    let attributes = document.remove("attributes").unwrap_or(Value::Null).to_string();
                    let mut update = Sql::new("UPDATE assets SET attributes = ");
                    update.bind(attributes).push(" WHERE id = ").bind(id.clone());
                    update.query(self.backend).execute(&mut *self.tx).await?;
                    changed += 1;
                }
                after = id;
            }
            if i64::try_from(rows.len()).unwrap_or(0) < BATCH {
                return Ok(changed);
            }
        }
    }

    /// Rewrites the before/after of asset events, and re-hashes the chain from the first one
    /// rewritten; leaves `self.head` at the new end of the chain.
    async fn rewrite_events(&mut self, rewrite: Rewrite<'_>, report: &mut Reseal) -> Result<(), StoreError> {
        let mut head = ChainHead::default();
        // The chain as it was, to check each stored event against before it is rewritten.
        let mut old_hash = head.hash.clone();
        let mut after = 0_i64;
        let mut rewriting = false;
        loop {
            let mut sql = Sql::new(&format!("SELECT {} FROM events WHERE seq > ", crate::events::COLUMNS));
            sql.bind(after).push(" ORDER BY seq LIMIT ").bind(BATCH);
            let rows = sql.query(self.backend).fetch_all(&mut *self.tx).await?;
            for row in &rows {
                let mut event = crate::events::event_from_row(row)?;
                // Re-hashing a broken chain would launder whatever broke it.
                if event.prev_hash != old_hash || event_hash(&event) != event.hash {
                    return Err(StoreError::Conflict(format!(
                        "the event chain is broken at event {} (see `plumb log verify`); it is not re-sealed",
                        event.seq
                    )));
                }
                old_hash = event.hash.clone();
                after = event.seq;
                let rewritten = event.entity == Entity::Asset.as_str() && rewrite_event(&mut event, rewrite)?;
                if rewritten {
                    report.events.push((event.seq, event.hash.clone()));
                    rewriting = true;
                }
                if rewriting {
                    event.prev_hash = head.hash.clone();
                    event.hash = event_hash(&event);
                    self.store_event(&event).await?;
                    report.rehashed += 1;
                }
                head = ChainHead { seq: event.seq, hash: event.hash.clone() };
            }
            if i64::try_from(rows.len()).unwrap_or(0) < BATCH {
                break;
            }
        }
        if old_hash != self.head.hash {
            return Err(StoreError::Conflict(
                "the event chain does not end at its recorded head (see `plumb log verify`); it is not re-sealed"
                    .to_owned(),
            ));
        }
        if rewriting {
            self.head = head;
        }
        Ok(())
    }

    async fn store_event(&mut self, event: &Event) -> Result<(), StoreError> {
        let mut sql = Sql::new("UPDATE events SET before = ");
        sql.bind_text(event.before.clone()).push(", after = ").bind_text(event.after.clone());
        sql.push(", prev_hash = ").bind(event.prev_hash.clone()).push(", hash = ").bind(event.hash.clone());
        sql.push(" WHERE seq = ").bind(event.seq);
        sql.query(self.backend).execute(&mut *self.tx).await?;
        Ok(())
    }
}

/// Rewrites an event's before and after documents; returns whether either changed.
fn rewrite_event(event: &mut Event, rewrite: Rewrite<'_>) -> Result<bool, StoreError> {
    let mut changed = false;
    for side in [&mut event.before, &mut event.after] {
        let Some(text) = side.as_deref() else { continue };
        let Value::Object(mut document) = parse_json("event document", text)? else { continue };
        if rewrite(&mut document) {
            *side = Some(plumb_core::event_chain::canonical_json(&Value::Object(document)));
            changed = true;
        }
    }
    Ok(changed)
}

fn parse_json(field: &'static str, text: &str) -> Result<Value, StoreError> {
    serde_json::from_str(text).map_err(|err| StoreError::Corrupt {
        field,
        reason: err.to_string(),
        value: text.chars().take(80).collect(),
    })
}
