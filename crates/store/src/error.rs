//! The store's one error type. Callers branch on the variants: the binary maps environment
//! failures (unreachable, busy, schema) to exit code 3 and input problems to exit code 2.

use std::time::Duration;

/// What can go wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The URL names no supported database.
    #[error("unsupported database URL {url:?}: expected sqlite://PATH or postgres://USER@HOST/DB")]
    BadUrl {
        /// The URL, without password.
        url: String,
    },
    /// The database could not be opened or reached.
    #[error("cannot open the database at {url}: {source}")]
    Unavailable {
        /// The URL, without password.
        url: String,
        /// The driver's reason.
        #[source]
        source: sqlx::Error,
    },
    /// Another writer held the database for longer than the lock timeout.
    #[error("the database stayed locked by another writer for {0:?}; try again when it is done")]
    Busy(Duration),
    /// The database has migrations this binary does not know: it was written by a newer plumb.
    #[error("the database schema is at migration {0}, newer than this plumb knows; upgrade plumb")]
    SchemaTooNew(i64),
    /// A migration failed or the applied migrations do not match the embedded ones.
    #[error("database migration failed: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    /// A statement failed.
    #[error("database error: {0}")]
    Query(#[from] sqlx::Error),
    /// No record with that id or key.
    #[error("no {what} with id or key {reference:?}")]
    NotFound {
        /// The kind of record.
        what: &'static str,
        /// What was asked for.
        reference: String,
    },
    /// A search page's cursor names a key no asset has (a search resumes after its asset).
    #[error("the cursor is after asset {0:?}, which no asset is keyed by now; start the search again")]
    UnknownCursor(String),
    /// The write conflicts with what is stored.
    #[error("{0}")]
    Conflict(String),
    /// A stored value cannot be read back: the database was edited outside plumb.
    #[error("stored {field} {value:?} cannot be read ({reason}); was the database edited by hand?")]
    Corrupt {
        /// The column.
        field: &'static str,
        /// The stored value.
        value: String,
        /// Why it cannot be read.
        reason: String,
    },
}

impl StoreError {
    /// Whether the failure lies in the environment (database unreachable, locked, wrong schema,
    /// failing statements) rather than in what the caller asked for.
    pub fn is_environment(&self) -> bool {
        matches!(
            self,
            StoreError::Unavailable { .. }
                | StoreError::Busy(_)
                | StoreError::SchemaTooNew(_)
                | StoreError::Migration(_)
                | StoreError::Query(_)
                | StoreError::Corrupt { .. }
        )
    }
}

/// Whether a driver error means "another connection holds the lock" (SQLite BUSY or LOCKED).
pub(crate) fn is_busy(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::Database(db) => db
            .code()
            .and_then(|code| code.parse::<i32>().ok())
            .is_some_and(|code| matches!(code & 0xff, 5 | 6)),
        _ => false,
    }
}
