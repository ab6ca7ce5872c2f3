//! plumb's storage: one [`Store`] over SQLite (the default, zero set-up) and PostgreSQL (for
//! teams that outgrow one machine). This is the only crate that contains SQL.
//!
//! Both backends run the same statements through sqlx's `Any` driver; only the migrations and
//! the way a writing transaction takes its lock differ. Every write goes through a [`WriteTx`],
//! which appends a hash-chained event for every change in the same transaction, so no change
//! can be stored without its history.

mod assets;
mod clock;
mod error;
mod events;
mod exceptions;
mod findings;
mod maintenance;
mod migrate;
mod runs;
mod sanitization;
mod sinks;
mod slots;
mod sql;
mod sync;
mod tokens;
mod verify;
mod write;

use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Executor};

pub use assets::{AssetFilter, AssetPage, DocumentScan, Page, TagFilter, decode_cursor, encode_cursor};
pub use clock::{TEST_NOW, now};
pub use error::StoreError;
pub use events::Verification;
pub use exceptions::reminder_id;
pub use findings::{FindingChanges, Reach, StoredFinding};
pub use maintenance::{Reseal, Rewrite};
pub use migrate::{MigrationState, NO_SEARCH_INDEX};
pub use slots::{Claim, Finish, Slot};
pub use sync::SyncState;
pub use tokens::StoredToken;
pub use verify::RowMismatch;
pub use write::{PreparedAsset, WriteTx};

/// Which database is behind a store.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// A SQLite file in WAL mode.
    Sqlite,
    /// A PostgreSQL server.
    Postgres,
}

impl Backend {
    /// The start of a bulk insert whose failure fails its whole transaction. SQLite keeps a
    /// statement journal for each `INSERT` that may abort half way, to undo just that
    /// statement; `OR FAIL` keeps the rows before the failing one instead, which no caller
    /// ever sees because the transaction is rolled back (the journal was 5% of an import's
    /// database thread).
    pub(crate) fn bulk_insert(self) -> &'static str {
        match self {
            Backend::Sqlite => "INSERT OR FAIL INTO",
            Backend::Postgres => "INSERT INTO",
        }
    }
}

/// How to open a store.
#[derive(Clone, Debug)]
pub struct OpenOptions {
    /// Apply pending migrations on open.
    pub migrate: bool,
    /// How long a writer waits for another writer's transaction before giving up.
    pub lock_timeout: Duration,
}

impl Default for OpenOptions {
    fn default() -> Self {
        OpenOptions { migrate: true, lock_timeout: Duration::from_secs(600) }
    }
}

/// The inventory database.
#[derive(Clone, Debug)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    lock_timeout: Duration,
}

impl Store {
    /// Connects to `url` (`sqlite://PATH` or `postgres://…`) and, unless told otherwise, applies
    /// pending migrations. A SQLite file is created when missing; its folder must exist.
    pub async fn open(url: &str, options: &OpenOptions) -> Result<Store, StoreError> {
        sqlx::any::install_default_drivers();
        let (backend, url) = normalise_url(url)?;
        let unavailable = |source| StoreError::Unavailable { url: redact(&url), source };
        let connect: AnyConnectOptions = url.parse().map_err(unavailable)?;
        let pool = pool_options(backend).connect_with(connect).await.map_err(unavailable)?;
        let store = Store { pool, backend, lock_timeout: options.lock_timeout };
        if options.migrate {
            store.migrate().await?;
        }
        Ok(store)
    }

    /// Which database this is.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Waits for open connections to finish and closes them.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

fn pool_options(backend: Backend) -> AnyPoolOptions {
    let options = AnyPoolOptions::new().acquire_timeout(Duration::from_secs(10));
    match backend {
        Backend::Postgres => options.max_connections(8).after_connect(|conn, _| {
            Box::pin(async move {
                // sqlx prepares every statement; after five runs PostgreSQL may keep one generic
                // plan for all values, and a search's best plan depends on its text (walk
                // `seq` for a word most assets hold, the trigram index for a rare one: a generic
                // plan took 1.3 s for a rare word at 1,000,000 assets, a custom one 8 ms).
                conn.execute("SET plan_cache_mode = force_custom_plan").await?;
                Ok(())
            })
        }),
        Backend::Sqlite => options.max_connections(4).after_connect(|conn, _| {
            Box::pin(async move {
                // WAL lets readers run beside the one writer; NORMAL sync is crash-safe in WAL
                // (a killed process loses nothing committed). Waiting for locks is handled by
                // `WriteTx::begin`, which retries past this per-attempt timeout. 8 KiB pages
                // (which only a new file takes) made bulk imports 10% faster than 4 KiB.
                conn.execute(
                    "PRAGMA page_size = 8192; PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                     PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000; \
                     PRAGMA cache_size = -65536; PRAGMA temp_store = MEMORY;",
                )
                .await?;
                Ok(())
            })
        }),
    }
}

/// Accepts `sqlite:PATH`, `sqlite://PATH`, `postgres://…` and `postgresql://…`; SQLite files
/// are opened read-write and created when missing.
fn normalise_url(url: &str) -> Result<(Backend, String), StoreError> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Ok((Backend::Postgres, url.to_owned()));
    }
    let Some(rest) = url.strip_prefix("sqlite:") else {
        return Err(StoreError::BadUrl { url: redact(url) });
    };
    let path = rest.strip_prefix("//").unwrap_or(rest);
    if path.is_empty() {
        return Err(StoreError::BadUrl { url: url.to_owned() });
    }
    let url = if path.contains("mode=") {
        format!("sqlite://{path}")
    } else if path.contains('?') {
        format!("sqlite://{path}&mode=rwc")
    } else {
        format!("sqlite://{path}?mode=rwc")
    };
    Ok((Backend::Sqlite, url))
}

/// The URL without its secrets, for messages: the password of the user info and
/// `password`/`sslpassword` query parameters. Passwords are often pasted unencoded, so the user
/// info ends at the last `@` followed by something shaped like a host, whatever `?`, `/` or
/// `@` the password holds; what cannot be read as a URL is not shown when it names a password.
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return if url.to_ascii_lowercase().contains("password") {
            "(a connection string with a password, not shown)".to_owned()
        } else {
            url.to_owned()
        };
    };
    let (credentials, rest) = match user_info_end(rest) {
        Some(at) => (Some(&rest[..at]), &rest[at + 1..]),
        None => (None, rest),
    };
    let credentials = match credentials {
        Some(credentials) => match credentials.split_once(':') {
            Some((user, _)) => format!("{user}:***@"),
            None => format!("{credentials}@"),
        },
        None => String::new(),
    };
    let Some((location, query)) = rest.split_once('?') else {
        return format!("{scheme}://{credentials}{rest}");
    };
    let query: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((key, _)) if ["password", "sslpassword"].contains(&key.to_ascii_lowercase().as_str()) => {
                format!("{key}=***")
            }
            _ => pair.to_owned(),
        })
        .collect();
    format!("{scheme}://{credentials}{location}?{}", query.join("&"))
}

/// Where the user info of a URL's remainder (after `://`) ends: the last `@` followed by a
/// host (`name`, `name:port`, `[v6]:port`) that ends the text or is followed by `/` or `?`.
fn user_info_end(rest: &str) -> Option<usize> {
    let host_like = |tail: &str| {
        let host = tail.split(['/', '?']).next().unwrap_or_default();
        !host.is_empty()
            && host.chars().all(|c| {
                c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | ':' | '[' | ']' | '%' | ',')
            })
    };
    rest.rmatch_indices('@').map(|(at, _)| at).find(|&at| host_like(&rest[at + 1..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_normalised() {
        let check = |input: &str, expect: &str| assert_eq!(normalise_url(input).unwrap().1, expect);
        check("sqlite://plumb.db", "sqlite://plumb.db?mode=rwc");
        check("sqlite:plumb.db", "sqlite://plumb.db?mode=rwc");
        check("sqlite:///var/lib/plumb.db", "sqlite:///var/lib/plumb.db?mode=rwc");
        check("sqlite://x.db?mode=ro", "sqlite://x.db?mode=ro");
        check("postgres://u:p@h/db", "postgres://u:p@h/db");
        assert!(normalise_url("mysql://h/db").is_err());
        assert!(normalise_url("sqlite://").is_err());
    }

    #[test]
    fn passwords_are_redacted() {
        let check = |url: &str, expect: &str| assert_eq!(redact(url), expect, "{url}");
        check("postgres://plumb:secret@db:5432/x", "postgres://plumb:***@db:5432/x");
        check("postgres://plumb:p@ss@w0rd@db:5432/x", "postgres://plumb:***@db:5432/x");
        check(
            "postgres://plumb@db/x?password=hunter2&sslmode=require",
            "postgres://plumb@db/x?password=***&sslmode=require",
        );
        check(
            "postgres://db/x?sslmode=verify-full&SSLPassword=k3y",
            "postgres://db/x?sslmode=verify-full&SSLPassword=***",
        );
        check("sqlite://plumb.db", "sqlite://plumb.db");
        check("sqlite://plumb.db?mode=rwc", "sqlite://plumb.db?mode=rwc");
        // Unencoded `?`, `/` and `@` in a password never split it.
        check("postgres://plumb:pa?ss@db/x", "postgres://plumb:***@db/x");
        check(
            "postgres://plumb:a/b?c@d@db:5432/x?sslmode=require",
            "postgres://plumb:***@db:5432/x?sslmode=require",
        );
        check("postgres://plumb:s3cr3t@[::1]:5432", "postgres://plumb:***@[::1]:5432");
        check("postgres://db/x?application_name=a@b", "postgres://db/x?application_name=a@b");
        // A keyword/value string is no URL: never echoed when it holds a password.
        assert!(!redact("host=db user=plumb password=hunter2").contains("hunter2"));
        check("host=db user=plumb", "host=db user=plumb");
    }
}
