//! Sanitization records (policy §8): one row per asset key holding its record (`-o json`'s
//! shape), each change a `sanitization` event with the records before and after, and the
//! evidence files they name, stored once by SHA-256 (`attachments`). `log verify` holds each
//! record to its latest event and each file to its hash.

use plumb_core::EventDraft;
use plumb_core::decommission::SanitizationRecord;
use plumb_core::model::Entity;
use serde_json::Value;
use sha2::Digest;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::sql::Sql;
use crate::{Store, StoreError, WriteTx};

impl Store {
    /// The sanitization record of an asset, if it has one.
    pub async fn sanitization(&self, asset_key: &str) -> Result<Option<SanitizationRecord>, StoreError> {
        let mut sql = Sql::new("SELECT document FROM sanitization_records WHERE asset_key = ");
        sql.bind(asset_key.to_owned());
        sql.query(self.backend).fetch_optional(&self.pool).await?.as_ref().map(from_row).transpose()
    }

    /// Every sanitization record, by asset key.
    pub async fn sanitizations(&self) -> Result<Vec<SanitizationRecord>, StoreError> {
        let sql = Sql::new("SELECT document FROM sanitization_records ORDER BY asset_key");
        sql.query(self.backend).fetch_all(&self.pool).await?.iter().map(from_row).collect()
    }

    /// An evidence file's bytes, by its SHA-256.
    pub async fn attachment(&self, sha256: &str) -> Result<Vec<u8>, StoreError> {
        let mut sql = Sql::new("SELECT content FROM attachments WHERE sha256 = ");
        sql.bind(sha256.to_owned());
        match sql.query(self.backend).fetch_optional(&self.pool).await? {
            Some(row) => Ok(row.try_get::<Vec<u8>, _>("content")?),
            None => Err(StoreError::NotFound { what: "attachment", reference: sha256.to_owned() }),
        }
    }

    /// The first stored file whose content no longer has its SHA-256, if any.
    pub(crate) async fn altered_attachment(&self) -> Result<Option<String>, StoreError> {
        let sql = Sql::new("SELECT sha256, content FROM attachments ORDER BY sha256");
        for row in sql.query(self.backend).fetch_all(&self.pool).await? {
            let sha256: String = row.try_get("sha256")?;
            let content: Vec<u8> = row.try_get("content")?;
            if hex::encode(sha2::Sha256::digest(&content)) != sha256 {
                return Ok(Some(sha256));
            }
        }
        Ok(None)
    }
}

impl WriteTx {
    /// The sanitization record of an asset, as this transaction sees it.
    pub async fn sanitization(&mut self, asset_key: &str) -> Result<Option<SanitizationRecord>, StoreError> {
        let mut sql = Sql::new("SELECT document FROM sanitization_records WHERE asset_key = ");
        sql.bind(asset_key.to_owned());
        sql.query(self.backend).fetch_optional(&mut *self.tx).await?.as_ref().map(from_row).transpose()
    }

    /// Stores `after` (new when `before` is `None`) and records `action` with both records.
    pub async fn save_sanitization(
        &mut self,
        before: Option<&SanitizationRecord>,
        after: &SanitizationRecord,
        action: &'static str,
    ) -> Result<(), StoreError> {
        let document = to_document(after)?;
        let mut sql = Sql::new("INSERT INTO sanitization_records (asset_key, state, document) VALUES ");
        sql.row(|row| {
            row.value(after.asset_key.clone()).value(after.state.as_str()).value(document.to_string());
        });
        sql.push(
            " ON CONFLICT (asset_key) DO UPDATE SET state = excluded.state, document = excluded.document",
        );
        sql.query(self.backend).execute(&mut *self.tx).await?;
        let before = before.map(to_document).transpose()?;
        let draft = EventDraft::new(
            Entity::Sanitization,
            after.asset_key.clone(),
            action,
            before.as_ref(),
            Some(&document),
        );
        self.append(draft).await
    }

    /// Stores an evidence file under its SHA-256 (once: the same bytes are one file).
    pub async fn put_attachment(&mut self, sha256: &str, content: &[u8]) -> Result<(), StoreError> {
        let mut sql = Sql::new("INSERT INTO attachments (sha256, size, content) VALUES ");
        let size = i64::try_from(content.len()).unwrap_or(i64::MAX);
        sql.row(|row| {
            row.value(sha256.to_owned()).value(size).value(content.to_vec());
        });
        sql.push(" ON CONFLICT (sha256) DO NOTHING");
        sql.query(self.backend).execute(&mut *self.tx).await?;
        Ok(())
    }
}

fn to_document(record: &SanitizationRecord) -> Result<Value, StoreError> {
    serde_json::to_value(record)
        .map_err(|err| StoreError::Conflict(format!("sanitization record of {}: {err}", record.asset_key)))
}

fn from_row(row: &AnyRow) -> Result<SanitizationRecord, StoreError> {
    let text: String = row.try_get("document")?;
    serde_json::from_str(&text).map_err(|err| StoreError::Corrupt {
        field: "sanitization_records.document",
        value: text.chars().take(80).collect(),
        reason: err.to_string(),
    })
}
