//! Embedded, append-only migrations, one folder per backend with the same numbers.

use sqlx::migrate::{Migrate, MigrateError, Migrator};

use crate::{Backend, Store, StoreError};

static SQLITE: Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES: Migrator = sqlx::migrate!("./migrations/postgres");

const TABLE: &str = "_sqlx_migrations";

/// What to tell the user when `search_index_missing`.
pub const NO_SEARCH_INDEX: &str = "text search (q=) has no index on this PostgreSQL database: \
    migration 0016 could not install the pg_trgm extension, so searches read the whole table. \
    Have the database's owner run `CREATE EXTENSION pg_trgm` and the CREATE INDEX of \
    migrations/postgres/0016_asset_search.sql.";

/// One embedded migration and whether the database has it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MigrationState {
    /// The migration's number.
    pub version: i64,
    /// Its file name, without number and extension.
    pub description: String,
    /// Whether it is applied.
    pub applied: bool,
}

/// The migration that makes the search index.
const SEARCH_MIGRATION: i64 = 16;

/// The migration that turns `sync_scopes` into `scope_status`.
const SCOPE_STATUS_MIGRATION: i64 = 7;

impl Store {
    fn migrator(&self) -> &'static Migrator {
        match self.backend {
            Backend::Sqlite => &SQLITE,
            Backend::Postgres => &POSTGRES,
        }
    }

    /// Applies pending migrations; returns the versions applied now. The scope statuses
    /// migration 0007 carries over are given their first event here.
    ///
    /// Two processes opening a fresh SQLite file at once may race (SQLite migrations take no
    /// lock): the loser's attempt fails, and it succeeds if the winner left every migration
    /// applied.
    pub async fn migrate(&self) -> Result<Vec<i64>, StoreError> {
        let before = self.applied_versions().await?;
        if let Some(unknown) = before.iter().find(|v| !self.migrator().version_exists(**v)) {
            return Err(StoreError::SchemaTooNew(*unknown));
        }
        let pending: Vec<i64> =
            self.migrator().iter().map(|m| m.version).filter(|v| !before.contains(v)).collect();
        if pending.is_empty() {
            return Ok(pending);
        }
        match self.migrator().run(&self.pool).await {
            Ok(()) => {
                if pending.contains(&SCOPE_STATUS_MIGRATION) {
                    self.record_migrated_scopes().await?;
                }
                Ok(pending)
            }
            Err(MigrateError::VersionMissing(version)) => Err(StoreError::SchemaTooNew(version)),
            Err(err) => {
                let after = self.applied_versions().await?;
                if self.migrator().iter().all(|m| after.contains(&m.version)) {
                    Ok(Vec::new())
                } else {
                    Err(err.into())
                }
            }
        }
    }

    /// Every embedded migration with whether it is applied.
    /// Whether `q=` search lacks its trigram index: on PostgreSQL, when migration 0016 ran but
    /// could not install `pg_trgm` (searches then scan the table: right, but slow at scale).
    pub async fn search_index_missing(&self) -> Result<bool, StoreError> {
        if self.backend == Backend::Sqlite || !self.applied_versions().await?.contains(&SEARCH_MIGRATION) {
            return Ok(false);
        }
        let sql = crate::sql::Sql::new(
            "SELECT COUNT(*) AS n FROM pg_indexes WHERE schemaname = current_schema() AND indexname = 'assets_search'",
        );
        let row = sql.query(self.backend).fetch_one(&self.pool).await?;
        Ok(sqlx::Row::try_get::<i64, _>(&row, "n")? == 0)
    }

    pub async fn migration_status(&self) -> Result<Vec<MigrationState>, StoreError> {
        let applied = self.applied_versions().await?;
        Ok(self
            .migrator()
            .iter()
            .map(|m| MigrationState {
                version: m.version,
                description: m.description.to_string(),
                applied: applied.contains(&m.version),
            })
            .collect())
    }

    async fn applied_versions(&self) -> Result<Vec<i64>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        conn.ensure_migrations_table(TABLE).await?;
        let applied = conn.list_applied_migrations(TABLE).await?;
        Ok(applied.into_iter().map(|m| m.version).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::OpenOptions;

    /// Bulk loads drop and rebuild the secondary indexes; their definitions must be the
    /// migrations' own.
    #[test]
    fn deferred_index_definitions_match_the_migrations() {
        let schema: String =
            SQLITE.iter().chain(POSTGRES.iter()).map(|m| m.sql.as_str().to_owned()).collect();
        for (name, definition) in crate::write::SECONDARY_INDEXES {
            let statement = format!("CREATE INDEX {name} ON {definition};");
            assert_eq!(schema.matches(&statement).count(), 2, "{statement}");
        }
    }

    /// A database of a plumb from before scope statuses (migration 6) upgrades to one whose
    /// carried-over statuses verify against their history, and still catches later edits.
    #[tokio::test]
    async fn statuses_carried_over_from_sync_scopes_verify() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("old.db").display());
        let old = OpenOptions { migrate: false, ..OpenOptions::default() };
        let store = Store::open(&url, &old).await.unwrap();
        SQLITE.run_to(SCOPE_STATUS_MIGRATION - 1, &store.pool).await.unwrap();
        sqlx::query(
            "INSERT INTO sync_scopes VALUES ('aws:1:global:iam', 'aws', '2026-11-01T00:00:00.000000Z', 'run-1')",
        )
        .execute(&store.pool)
        .await
        .unwrap();
        assert_eq!(store.migrate().await.unwrap().first(), Some(&SCOPE_STATUS_MIGRATION));
        let chain = store.verify_events().await.unwrap();
        assert!(matches!(chain, crate::Verification::Intact { events: 1, .. }), "{chain:?}");
        assert_eq!(store.verify_rows().await.unwrap(), None);
        // Nothing but a migration blesses a row: one added later is found.
        sqlx::query("UPDATE scope_status SET succeeded_at = '2099-01-01T00:00:00.000000Z'")
            .execute(&store.pool)
            .await
            .unwrap();
        store.migrate().await.unwrap();
        assert!(store.verify_rows().await.unwrap().is_some());
    }

    /// The two folders must hold the same migrations under the same numbers and names.
    #[test]
    fn backends_have_the_same_migrations() {
        let names =
            |m: &Migrator| m.iter().map(|m| (m.version, m.description.to_string())).collect::<Vec<_>>();
        assert_eq!(names(&SQLITE), names(&POSTGRES));
    }
}
