//! Recorded runs.

use plumb_core::Timestamp;
use plumb_core::model::{Run, RunKind};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::assets::parse;
use crate::sql::Sql;
use crate::{Store, StoreError};

pub(crate) const COLUMNS: &str =
    "id, kind, name, started_at, finished_at, actor, outcome, inputs, counts, details";

impl Store {
    /// The most recent runs, newest first, optionally of one kind.
    pub async fn runs(&self, kind: Option<RunKind>, limit: usize) -> Result<Vec<Run>, StoreError> {
        let mut sql = Sql::new(&format!("SELECT {COLUMNS} FROM runs"));
        if let Some(kind) = kind {
            sql.push(" WHERE kind = ").bind(kind.as_str());
        }
        sql.push(" ORDER BY started_at DESC, id DESC LIMIT ").bind(i64::try_from(limit).unwrap_or(i64::MAX));
        let rows = sql.query(self.backend).fetch_all(&self.pool).await?;
        rows.iter().map(run_from_row).collect()
    }

    /// Every run started in `[from, to)`, oldest first.
    pub async fn runs_between(&self, from: Timestamp, to: Timestamp) -> Result<Vec<Run>, StoreError> {
        let mut sql = Sql::new(&format!("SELECT {COLUMNS} FROM runs WHERE started_at >= "));
        sql.bind(from.to_string()).push(" AND started_at < ").bind(to.to_string());
        sql.push(" ORDER BY started_at, id");
        sql.query(self.backend).fetch_all(&self.pool).await?.iter().map(run_from_row).collect()
    }

    /// The latest run of this kind and name, if any ran (the last register audit).
    pub async fn last_run_named(&self, kind: RunKind, name: &str) -> Result<Option<Run>, StoreError> {
        let mut sql = Sql::new(&format!("SELECT {COLUMNS} FROM runs WHERE kind = "));
        sql.bind(kind.as_str()).push(" AND name = ").bind(name.to_owned());
        sql.push(" ORDER BY started_at DESC, id DESC LIMIT 1");
        sql.query(self.backend).fetch_optional(&self.pool).await?.as_ref().map(run_from_row).transpose()
    }

    /// One run by id.
    pub async fn run(&self, id: &str) -> Result<Run, StoreError> {
        let mut sql = Sql::new(&format!("SELECT {COLUMNS} FROM runs WHERE id = "));
        sql.bind(id.to_owned());
        match sql.query(self.backend).fetch_optional(&self.pool).await? {
            Some(row) => run_from_row(&row),
            None => Err(StoreError::NotFound { what: "run", reference: id.to_owned() }),
        }
    }
}

pub(crate) fn run_from_row(row: &AnyRow) -> Result<Run, StoreError> {
    let text = |column: &'static str| row.try_get::<String, _>(column);
    let json = |column: &'static str| -> Result<serde_json::Value, StoreError> {
        let value = text(column)?;
        serde_json::from_str(&value).map_err(|err| StoreError::Corrupt {
            field: column,
            reason: err.to_string(),
            value,
        })
    };
    Ok(Run {
        id: text("id")?,
        kind: parse("kind", text("kind")?)?,
        name: text("name")?,
        started_at: parse("started_at", text("started_at")?)?,
        finished_at: parse("finished_at", text("finished_at")?)?,
        actor: text("actor")?,
        outcome: parse("outcome", text("outcome")?)?,
        inputs: json("inputs")?,
        counts: json("counts")?,
        details: json("details")?,
    })
}
