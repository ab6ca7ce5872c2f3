//! The exceptions register: one row per exception (its document), every change an event; and
//! the reminders sent about them, which are events only (the chain is their ledger).

use std::collections::HashSet;

use plumb_core::EventDraft;
use plumb_core::exception::{Exception, ExceptionId};
use plumb_core::model::Entity;
use serde_json::{Value, json};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::sql::Sql;
use crate::{Store, StoreError, WriteTx};

impl Store {
    /// Every exception, by number.
    pub async fn exceptions(&self) -> Result<Vec<Exception>, StoreError> {
        let sql = Sql::new("SELECT document FROM exceptions ORDER BY id");
        let rows = sql.query(self.backend).fetch_all(&self.pool).await?;
        rows.iter().map(from_row).collect()
    }

    /// The reminders sent, each as [`reminder_id`]: a reminder is sent once per exception,
    /// kind and sink.
    pub async fn reminders_sent(&self) -> Result<HashSet<String>, StoreError> {
        let mut sql = Sql::new("SELECT entity_id FROM events WHERE entity = ");
        sql.bind(Entity::Reminder.as_str());
        let rows = sql.query(self.backend).fetch_all(&self.pool).await?;
        rows.iter().map(|row| row.try_get("entity_id").map_err(StoreError::from)).collect()
    }
}

/// How a sent reminder is named on the chain: `EX-3|expiring|slack`.
pub fn reminder_id(exception: ExceptionId, kind: &str, sink: &str) -> String {
    format!("{exception}|{kind}|{sink}")
}

impl WriteTx {
    /// Records that `sink` took the `kind` reminder (`expiring`, `expired`) about `exception`
    /// in run `run_id`.
    pub async fn record_reminder(
        &mut self,
        exception: ExceptionId,
        kind: &str,
        sink: &str,
        run_id: &str,
    ) -> Result<(), StoreError> {
        let after = json!({"exception": exception.to_string(), "kind": kind, "sink": sink, "run_id": run_id});
        let id = reminder_id(exception, kind, sink);
        self.append(EventDraft::new(Entity::Reminder, id, "sent", None, Some(&after))).await
    }

    /// The exception numbered `id`, as this transaction sees it.
    pub async fn exception(&mut self, id: ExceptionId) -> Result<Exception, StoreError> {
        let mut sql = Sql::new("SELECT document FROM exceptions WHERE id = ");
        sql.bind(number(id)?);
        match sql.query(self.backend).fetch_optional(&mut *self.tx).await? {
            Some(row) => from_row(&row),
            None => Err(StoreError::NotFound { what: "exception", reference: id.to_string() }),
        }
    }

    /// The number the next exception gets. Writers are serialised, so it is never taken twice.
    pub async fn next_exception_id(&mut self) -> Result<ExceptionId, StoreError> {
        let sql = Sql::new("SELECT COALESCE(MAX(id), 0) AS n FROM exceptions");
        let row = sql.query(self.backend).fetch_one(&mut *self.tx).await?;
        let last: i64 = row.try_get("n")?;
        Ok(ExceptionId(u64::try_from(last).unwrap_or(0) + 1))
    }

    /// Stores `after` (new when `before` is `None`) and records `action` with both documents.
    pub async fn save_exception(
        &mut self,
        before: Option<&Exception>,
        after: &Exception,
        action: &'static str,
    ) -> Result<(), StoreError> {
        let document = to_document(after)?;
        let decision = document["decision"].as_str().unwrap_or_default().to_owned();
        let mut sql = Sql::new("INSERT INTO exceptions (id, decision, expires_at, document) VALUES ");
        let id = number(after.id)?;
        sql.row(|row| {
            row.value(id).value(decision).value(after.expires_at.to_string()).value(document.to_string());
        });
        sql.push(
            " ON CONFLICT (id) DO UPDATE SET decision = excluded.decision, expires_at = excluded.expires_at, \
             document = excluded.document",
        );
        sql.query(self.backend).execute(&mut *self.tx).await?;
        let before = before.map(to_document).transpose()?;
        let draft = EventDraft::new(
            Entity::Exception,
            after.id.to_string(),
            action,
            before.as_ref(),
            Some(&document),
        );
        self.append(draft).await
    }
}

fn number(id: ExceptionId) -> Result<i64, StoreError> {
    i64::try_from(id.0).map_err(|_| StoreError::NotFound { what: "exception", reference: id.to_string() })
}

fn to_document(exception: &Exception) -> Result<Value, StoreError> {
    serde_json::to_value(exception)
        .map_err(|err| StoreError::Conflict(format!("exception {}: {err}", exception.id)))
}

fn from_row(row: &AnyRow) -> Result<Exception, StoreError> {
    let text: String = row.try_get("document")?;
    serde_json::from_str(&text).map_err(|err| StoreError::Corrupt {
        field: "exceptions.document",
        value: text.chars().take(80).collect(),
        reason: err.to_string(),
    })
}
