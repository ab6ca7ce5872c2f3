//! What sync needs from the store: the hash each asset was last derived from, the members of
//! a scope (to find what is no longer seen), and each scope's status (when it was last tried,
//! last collected completely, and why its last attempt failed).

use plumb_core::coverage::ScopeStatus;
use plumb_core::model::Entity;
use plumb_core::scope::ScopeId;
use plumb_core::{AssetId, EventDraft};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::assets::parse;
use crate::sql::{Sql, json_page, read_json_page};
use crate::{Store, StoreError, WriteTx};

const STATUS_COLUMNS: &str = "scope_name, scope_source, origin, attempted_at, attempt_run_id, succeeded_at, \
    success_run_id, error";

impl Store {
    /// What sync last knew of every scope, by name.
    pub async fn scope_statuses(&self) -> Result<Vec<ScopeStatus>, StoreError> {
        let sql = Sql::new(&format!("SELECT {STATUS_COLUMNS} FROM scope_status ORDER BY scope_name"));
        let rows = sql.query(self.backend).fetch_all(&self.pool).await?;
        rows.iter().map(status_from_row).collect()
    }
}

/// An asset as sync sees it: enough to tell new, unchanged, changed and returning apart
/// without reading the whole record. The store hands it out with the asset's key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyncState {
    /// The hash of the resource it was last derived from.
    pub content_hash: Option<String>,
    /// Whether it is marked absent.
    pub absent: bool,
}

const STATE: &str = "SELECT key, content_hash, absent_since FROM assets";

impl WriteTx {
    /// The sync state of the assets with these keys, with their keys.
    pub async fn sync_states(&mut self, keys: &[&str]) -> Result<Vec<(String, SyncState)>, StoreError> {
        let mut states = Vec::with_capacity(keys.len());
        for chunk in keys.chunks(10_000) {
            let mut sql = Sql::new(&format!("{STATE} WHERE key IN "));
            sql.row(|row| {
                for key in chunk {
                    row.value((*key).to_owned());
                }
            });
            let rows = sql.query(self.backend).fetch_all(&mut *self.tx).await?;
            for row in &rows {
                states.push(state_from_row(row)?);
            }
        }
        Ok(states)
    }

    /// How many assets a scope holds, absent ones included: sync sizes its table of a scope's
    /// members with it (growing a table of a million by doubling was a fifth of a re-sync).
    pub async fn scope_size(&mut self, scope: &str) -> Result<u64, StoreError> {
        let mut sql = Sql::new("SELECT count(*) AS members FROM assets WHERE scope = ");
        sql.bind(scope.to_owned());
        let row = sql.query(self.backend).fetch_one(&mut *self.tx).await?;
        let members: i64 = row.try_get("members")?;
        Ok(u64::try_from(members).unwrap_or(0))
    }

    /// A page of the assets of a scope, in key order after `after`, and the cursor of the next
    /// page (`None` after the last).
    ///
    /// The page comes back as one JSON array built by the database: a sync reads every member
    /// of a scope, and one value per page costs a fraction of one row per member.
    pub async fn scope_members(
        &mut self,
        scope: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<(String, SyncState)>, Option<String>), StoreError> {
        let columns = ("key, content_hash, absent_since", "key, content_hash, absent_since IS NOT NULL");
        let filter = |sql: &mut Sql| {
            sql.push("scope = ").bind(scope.to_owned());
        };
        let sql = json_page(self.backend, columns, "assets", filter, after, limit);
        let row = sql.query(self.backend).fetch_one(&mut *self.tx).await?;
        let (members, last): (Vec<(String, Option<String>, serde_json::Value)>, _) =
            read_json_page(&row, "scope members", limit)?;
        let states = members
            .into_iter()
            .map(|(key, content_hash, absent)| {
                let absent = absent == serde_json::Value::Bool(true) || absent == 1;
                (key, SyncState { content_hash, absent })
            })
            .collect();
        Ok((states, last))
    }

    /// Records the hash of the resource an asset was just derived from.
    pub async fn set_content_hash(&mut self, id: AssetId, hash: &str) -> Result<(), StoreError> {
        let mut sql = Sql::new("UPDATE assets SET content_hash = ");
        sql.bind(hash.to_owned()).push(" WHERE id = ").bind(id.to_string());
        sql.query(self.backend).execute(&mut *self.tx).await?;
        Ok(())
    }

    /// The scope statuses no event speaks for (carried over by a migration).
    pub(crate) async fn unrecorded_scopes(&mut self) -> Result<Vec<ScopeStatus>, StoreError> {
        let sql = Sql::new(&format!(
            "SELECT {STATUS_COLUMNS} FROM scope_status WHERE NOT EXISTS (SELECT 1 FROM events \
             WHERE events.entity = 'scope' AND events.entity_id = scope_status.scope_name) ORDER BY scope_name"
        ));
        let rows = sql.query(self.backend).fetch_all(&mut *self.tx).await?;
        rows.iter().map(status_from_row).collect()
    }

    /// What sync last knew of these scopes, as this transaction sees it.
    pub async fn scope_status(&mut self, scopes: &[&str]) -> Result<Vec<ScopeStatus>, StoreError> {
        let mut found = Vec::new();
        for chunk in scopes.chunks(1_000) {
            let mut sql =
                Sql::new(&format!("SELECT {STATUS_COLUMNS} FROM scope_status WHERE scope_name IN "));
            sql.row(|row| {
                for scope in chunk {
                    row.value((*scope).to_owned());
                }
            });
            for row in &sql.query(self.backend).fetch_all(&mut *self.tx).await? {
                found.push(status_from_row(row)?);
            }
        }
        Ok(found)
    }

    /// The scopes a configured collection covered, as this transaction sees them.
    pub async fn scopes_of_origin(&mut self, origin: &str) -> Result<Vec<ScopeStatus>, StoreError> {
        let mut sql = Sql::new(&format!("SELECT {STATUS_COLUMNS} FROM scope_status WHERE origin = "));
        sql.bind(origin.to_owned()).push(" ORDER BY scope_name");
        let rows = sql.query(self.backend).fetch_all(&mut *self.tx).await?;
        rows.iter().map(status_from_row).collect()
    }

    /// Stores a scope's new status, with an event (`collected` or `failed`) holding the status
    /// before and after: the record that a collection ran, and whether it was complete.
    pub async fn record_scope(
        &mut self,
        status: &ScopeStatus,
        before: Option<&ScopeStatus>,
    ) -> Result<(), StoreError> {
        let mut sql = Sql::new(&format!("INSERT INTO scope_status ({STATUS_COLUMNS}) VALUES "));
        sql.row(|row| {
            row.value(status.scope.to_string())
                .value(status.scope.source.clone())
                .value(status.origin.clone())
                .value(status.attempted_at.to_string())
                .value(status.attempt_run.clone())
                .text(status.succeeded_at.map(|t| t.to_string()))
                .text(status.success_run.clone())
                .text(status.error.clone());
        });
        sql.push(
            " ON CONFLICT (scope_name) DO UPDATE SET origin = excluded.origin, \
             attempted_at = excluded.attempted_at, attempt_run_id = excluded.attempt_run_id, \
             succeeded_at = excluded.succeeded_at, success_run_id = excluded.success_run_id, \
             error = excluded.error",
        );
        sql.query(self.backend).execute(&mut *self.tx).await?;
        let action = if status.error.is_some() { "failed" } else { "collected" };
        let before = before.map(ScopeStatus::record);
        let after = status.record();
        let draft =
            EventDraft::new(Entity::Scope, status.scope.to_string(), action, before.as_ref(), Some(&after));
        self.append(draft).await
    }
}

impl WriteTx {
    /// Live assets and the Terraform state resources that manage them (same ARN) that are not
    /// linked yet: `(live, state resource)`.
    pub async fn unlinked_managed(&mut self) -> Result<Vec<(AssetId, AssetId)>, StoreError> {
        let arn = match self.backend {
            crate::Backend::Sqlite => "json_extract(tf.attributes, '$.arn')",
            crate::Backend::Postgres => "(tf.attributes::jsonb ->> 'arn')",
        };
        let sql = Sql::new(&format!(
            "SELECT live.id AS live_id, tf.id AS tf_id FROM assets tf \
             JOIN assets live ON live.key = {arn} \
             WHERE tf.source = 'terraform' AND tf.absent_since IS NULL AND live.id <> tf.id \
             AND NOT EXISTS (SELECT 1 FROM relationships r \
                 WHERE r.from_id = live.id AND r.kind = 'managed_by' AND r.to_id = tf.id)"
        ));
        let rows = sql.query(self.backend).fetch_all(&mut *self.tx).await?;
        rows.iter()
            .map(|row| {
                Ok((
                    parse("live_id", row.try_get::<String, _>("live_id")?)?,
                    parse("tf_id", row.try_get::<String, _>("tf_id")?)?,
                ))
            })
            .collect()
    }
}

fn status_from_row(row: &AnyRow) -> Result<ScopeStatus, StoreError> {
    let time = |column: &'static str| -> Result<Option<plumb_core::Timestamp>, StoreError> {
        row.try_get::<Option<String>, _>(column)?.map(|t| parse(column, t)).transpose()
    };
    Ok(ScopeStatus {
        scope: ScopeId::parse(&row.try_get::<String, _>("scope_name")?),
        origin: row.try_get("origin")?,
        attempted_at: parse("attempted_at", row.try_get::<String, _>("attempted_at")?)?,
        attempt_run: row.try_get("attempt_run_id")?,
        succeeded_at: time("succeeded_at")?,
        success_run: row.try_get("success_run_id")?,
        error: row.try_get("error")?,
    })
}

fn state_from_row(row: &AnyRow) -> Result<(String, SyncState), StoreError> {
    let state = SyncState {
        content_hash: row.try_get("content_hash")?,
        absent: row.try_get::<Option<String>, _>("absent_since")?.is_some(),
    };
    Ok((row.try_get("key")?, state))
}
