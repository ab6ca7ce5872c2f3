//! API tokens: one row per token (its document and the keyed hash of its secret). Creating
//! and revoking are events; the last use is a column only.

use plumb_core::model::Entity;
use plumb_core::token::Token;
use plumb_core::{EventDraft, Timestamp};
use serde_json::Value;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::sql::Sql;
use crate::{Store, StoreError, WriteTx};

/// A token as the API sees it on a request: the record, its secret's hash, its last use.
#[derive(Clone, Debug)]
pub struct StoredToken {
    /// The record.
    pub token: Token,
    /// The keyed hash of its secret.
    pub secret_hash: String,
    /// When it was last used, if ever.
    pub last_used_at: Option<String>,
}

impl Store {
    /// Every token, newest first.
    pub async fn tokens(&self) -> Result<Vec<StoredToken>, StoreError> {
        let sql = Sql::new("SELECT document, secret_hash, last_used_at FROM api_tokens ORDER BY id DESC");
        let rows = sql.query(self.backend).fetch_all(&self.pool).await?;
        rows.iter().map(from_row).collect()
    }

    /// The token `id`, if there is one.
    pub async fn token(&self, id: &str) -> Result<Option<StoredToken>, StoreError> {
        let mut sql = Sql::new("SELECT document, secret_hash, last_used_at FROM api_tokens WHERE id = ");
        sql.bind(id.to_owned());
        sql.query(self.backend).fetch_optional(&self.pool).await?.as_ref().map(from_row).transpose()
    }

    /// Notes that token `id` was used at `at` (a cache for `token list`, not evidence).
    pub async fn touch_token(&self, id: &str, at: Timestamp) -> Result<(), StoreError> {
        let mut sql = Sql::new("UPDATE api_tokens SET last_used_at = ");
        sql.bind(at.to_string()).push(" WHERE id = ").bind(id.to_owned());
        sql.query(self.backend).execute(&self.pool).await?;
        Ok(())
    }
}

impl WriteTx {
    /// Stores a new token with its secret's hash, and the `created` event (without the hash).
    pub async fn create_token(&mut self, token: &Token, secret_hash: &str) -> Result<(), StoreError> {
        let document = to_document(token)?;
        let mut sql = Sql::new("INSERT INTO api_tokens (id, document, secret_hash) VALUES ");
        sql.row(|row| {
            row.value(token.id.clone()).value(document.to_string()).value(secret_hash.to_owned());
        });
        sql.query(self.backend).execute(&mut *self.tx).await?;
        self.append(EventDraft::new(Entity::Token, token.id.clone(), "created", None, Some(&document))).await
    }

    /// Stores a token's new document (`after`, revoked) and the event.
    pub async fn revoke_token(&mut self, before: &Token, after: &Token) -> Result<(), StoreError> {
        let (before, document) = (to_document(before)?, to_document(after)?);
        let mut sql = Sql::new("UPDATE api_tokens SET document = ");
        sql.bind(document.to_string()).push(" WHERE id = ").bind(after.id.clone());
        sql.query(self.backend).execute(&mut *self.tx).await?;
        let draft =
            EventDraft::new(Entity::Token, after.id.clone(), "revoked", Some(&before), Some(&document));
        self.append(draft).await
    }
}

fn to_document(token: &Token) -> Result<Value, StoreError> {
    serde_json::to_value(token).map_err(|err| StoreError::Conflict(format!("token {}: {err}", token.id)))
}

fn from_row(row: &AnyRow) -> Result<StoredToken, StoreError> {
    let text: String = row.try_get("document")?;
    let token = serde_json::from_str(&text).map_err(|err| StoreError::Corrupt {
        field: "api_tokens.document",
        reason: err.to_string(),
        value: text.chars().take(80).collect(),
    })?;
    Ok(StoredToken {
        token,
        secret_hash: row.try_get("secret_hash")?,
        last_used_at: row.try_get("last_used_at")?,
    })
}
