//! Embedded, append-only migrations, one folder per backend with the same numbers.

use sqlx::migrate::{Migrate, MigrateError, Migrator};

use crate::{Backend, Store, StoreError};

static SQLITE: Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES: Migrator = sqlx::migrate!("./migrations/postgres");

const TABLE: &str = "_sqlx_migrations";

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

impl Store {
    fn migrator(&self) -> &'static Migrator {
        match self.backend {
            Backend::Sqlite => &SQLITE,
            Backend::Postgres => &POSTGRES,
        }
    }

    /// Applies pending migrations; returns the versions applied now.
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
            Ok(()) => Ok(pending),
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

    /// The two folders must hold the same migrations under the same numbers and names.
    #[test]
    fn backends_have_the_same_migrations() {
        let names =
            |m: &Migrator| m.iter().map(|m| (m.version, m.description.to_string())).collect::<Vec<_>>();
        assert_eq!(names(&SQLITE), names(&POSTGRES));
    }
}
