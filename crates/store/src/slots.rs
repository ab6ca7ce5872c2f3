//! The scheduler's slot claims (`schedule_slots`): the unique key on (job, slot) decides which
//! server runs a slot, a lease that the holder moves forward keeps its claim, and `epoch`
//! fences a holder that lost its claim. Bookkeeping, not evidence: the job's run is the
//! evidence, so these statements run outside `WriteTx` and leave no event.

use plumb_core::Timestamp;
use plumb_core::schedule::Job;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::sql::Sql;
use crate::{Store, StoreError};

/// One claimed slot.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Slot {
    /// The job.
    pub job: Job,
    /// The slot: when the job was due.
    pub scheduled_for: Timestamp,
    /// The server running (or that ran) it.
    pub holder: String,
    /// Raised by every takeover; a holder's writes must name the epoch it claimed.
    pub epoch: i64,
    /// When it was claimed (or last taken over).
    pub claimed_at: Timestamp,
    /// Until when the claim holds without being renewed.
    pub lease_until: Timestamp,
    /// When the job ended, if it has.
    pub finished_at: Option<Timestamp>,
    /// How it ended (a run outcome), if it has.
    pub outcome: Option<String>,
    /// Why it failed, if it did.
    pub error: Option<String>,
    /// The id of the run recording the job (recorded once the job ends).
    pub run_id: String,
}

/// A claim a server holds: what it must name to renew or finish it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Claim {
    /// The job.
    pub job: Job,
    /// The slot.
    pub scheduled_for: Timestamp,
    /// This server.
    pub holder: String,
    /// The epoch it claimed.
    pub epoch: i64,
    /// The id the job's run is recorded under.
    pub run_id: String,
}

/// How a claimed job ended.
#[derive(Clone, Debug)]
pub struct Finish<'a> {
    /// A run outcome word.
    pub outcome: &'a str,
    /// Why it failed.
    pub error: Option<&'a str>,
}

const COLUMNS: &str =
    "job, scheduled_for, holder, epoch, claimed_at, lease_until, finished_at, outcome, error, run_id";

impl Store {
    /// The latest slot `job` claimed, finished or not.
    pub async fn last_slot(&self, job: Job) -> Result<Option<Slot>, StoreError> {
        let mut sql = Sql::new(&format!("SELECT {COLUMNS} FROM schedule_slots WHERE job = "));
        sql.bind(job.as_str().to_owned()).push(" ORDER BY scheduled_for DESC LIMIT 1");
        sql.query(self.backend).fetch_optional(&self.pool).await?.as_ref().map(from_row).transpose()
    }

    /// The last `limit` slots of every job, newest first.
    pub async fn slots(&self, limit: i64) -> Result<Vec<Slot>, StoreError> {
        let mut sql = Sql::new(&format!(
            "SELECT {COLUMNS} FROM schedule_slots ORDER BY scheduled_for DESC, job LIMIT "
        ));
        sql.bind(limit);
        let rows = sql.query(self.backend).fetch_all(&self.pool).await?;
        rows.iter().map(from_row).collect()
    }

    /// The slot whose job's run is (or will be) recorded as `run_id`.
    pub async fn slot_of_run(&self, run_id: &str) -> Result<Option<Slot>, StoreError> {
        let mut sql = Sql::new(&format!("SELECT {COLUMNS} FROM schedule_slots WHERE run_id = "));
        sql.bind(run_id.to_owned());
        sql.query(self.backend).fetch_optional(&self.pool).await?.as_ref().map(from_row).transpose()
    }

    /// Claims `job`'s slot `scheduled_for` for `holder` until `lease_until`, its run to be
    /// recorded as `run_id`: `None` when another server claimed it first or any slot of the
    /// job is unfinished (one of the two unique keys refused the insert).
    pub async fn claim_slot(
        &self,
        job: Job,
        scheduled_for: Timestamp,
        holder: &str,
        (now, lease_until): (Timestamp, Timestamp),
        run_id: &str,
    ) -> Result<Option<Claim>, StoreError> {
        let mut sql = Sql::new(
            "INSERT INTO schedule_slots (job, scheduled_for, holder, epoch, claimed_at, lease_until, run_id) VALUES ",
        );
        sql.row(|row| {
            row.value(job.as_str().to_owned())
                .value(scheduled_for.to_string())
                .value(holder.to_owned())
                .value(1_i64)
                .value(now.to_string())
                .value(lease_until.to_string())
                .value(run_id.to_owned());
        })
        .push(" ON CONFLICT DO NOTHING");
        let inserted = sql.query(self.backend).execute(&self.pool).await?.rows_affected() == 1;
        let claim =
            Claim { job, scheduled_for, holder: holder.to_owned(), epoch: 1, run_id: run_id.to_owned() };
        Ok(inserted.then_some(claim))
    }

    /// Takes over `slot`, unfinished and with its lease run out at `now`, for `holder`: `None`
    /// when another server renewed, finished or took it first.
    pub async fn take_over_slot(
        &self,
        slot: &Slot,
        holder: &str,
        now: Timestamp,
        lease_until: Timestamp,
    ) -> Result<Option<Claim>, StoreError> {
        let epoch = slot.epoch + 1;
        let mut sql = Sql::new("UPDATE schedule_slots SET holder = ");
        sql.bind(holder.to_owned())
            .push(", epoch = ")
            .bind(epoch)
            .push(", claimed_at = ")
            .bind(now.to_string())
            .push(", lease_until = ")
            .bind(lease_until.to_string());
        where_held(&mut sql, slot.job, slot.scheduled_for, slot.epoch);
        sql.push(" AND lease_until < ").bind(now.to_string());
        let taken = sql.query(self.backend).execute(&self.pool).await?.rows_affected() == 1;
        let claim = Claim {
            job: slot.job,
            scheduled_for: slot.scheduled_for,
            holder: holder.to_owned(),
            epoch,
            run_id: slot.run_id.clone(),
        };
        Ok(taken.then_some(claim))
    }

    /// Moves a held claim's lease to `lease_until`; false when the claim was lost (taken over
    /// after the lease ran out), in which case the holder must stop.
    pub async fn renew_slot(&self, claim: &Claim, lease_until: Timestamp) -> Result<bool, StoreError> {
        let mut sql = Sql::new("UPDATE schedule_slots SET lease_until = ");
        sql.bind(lease_until.to_string());
        where_held(&mut sql, claim.job, claim.scheduled_for, claim.epoch);
        Ok(sql.query(self.backend).execute(&self.pool).await?.rows_affected() == 1)
    }

    /// Records how a held claim's job ended; false when the claim had been lost.
    pub async fn finish_slot(
        &self,
        claim: &Claim,
        at: Timestamp,
        finish: &Finish<'_>,
    ) -> Result<bool, StoreError> {
        let mut sql = Sql::new("UPDATE schedule_slots SET finished_at = ");
        sql.bind(at.to_string())
            .push(", outcome = ")
            .bind(finish.outcome.to_owned())
            .push(", error = ")
            .bind_text(finish.error.map(str::to_owned));
        where_held(&mut sql, claim.job, claim.scheduled_for, claim.epoch);
        Ok(sql.query(self.backend).execute(&self.pool).await?.rows_affected() == 1)
    }

    /// Closes `slot`, unfinished and with its lease run out at `now`, as failed with `why`,
    /// without running it again (a job started on request in its place): false when another
    /// server renewed, finished or took it first.
    pub async fn abandon_slot(&self, slot: &Slot, now: Timestamp, why: &str) -> Result<bool, StoreError> {
        let mut sql = Sql::new("UPDATE schedule_slots SET finished_at = ");
        sql.bind(now.to_string())
            .push(", outcome = ")
            .bind("failed".to_owned())
            .push(", error = ")
            .bind(why.to_owned());
        where_held(&mut sql, slot.job, slot.scheduled_for, slot.epoch);
        sql.push(" AND lease_until < ").bind(now.to_string());
        Ok(sql.query(self.backend).execute(&self.pool).await?.rows_affected() == 1)
    }

    /// Gives up a held, unfinished claim at once (a server shutting down), so another server
    /// takes it over without waiting for the lease.
    pub async fn release_slot(&self, claim: &Claim, now: Timestamp) -> Result<(), StoreError> {
        let released = Timestamp::from_micros(now.as_micros() - 1).unwrap_or(now);
        let mut sql = Sql::new("UPDATE schedule_slots SET lease_until = ");
        sql.bind(released.to_string());
        where_held(&mut sql, claim.job, claim.scheduled_for, claim.epoch);
        sql.query(self.backend).execute(&self.pool).await?;
        Ok(())
    }
}

/// `WHERE` the claim is still the one held at `epoch` and unfinished.
fn where_held(sql: &mut Sql, job: Job, scheduled_for: Timestamp, epoch: i64) {
    sql.push(" WHERE job = ")
        .bind(job.as_str().to_owned())
        .push(" AND scheduled_for = ")
        .bind(scheduled_for.to_string())
        .push(" AND epoch = ")
        .bind(epoch)
        .push(" AND finished_at IS NULL");
}

fn timestamp(row: &AnyRow, field: &'static str) -> Result<Timestamp, StoreError> {
    let text: String = row.try_get(field)?;
    text.parse().map_err(|_| StoreError::Corrupt { field, reason: "not a timestamp".to_owned(), value: text })
}

fn from_row(row: &AnyRow) -> Result<Slot, StoreError> {
    let finished: Option<String> = row.try_get("finished_at")?;
    Ok(Slot {
        job: {
            let text: String = row.try_get("job")?;
            text.parse().map_err(|_| StoreError::Corrupt {
                field: "job",
                reason: "not a job".to_owned(),
                value: text,
            })?
        },
        scheduled_for: timestamp(row, "scheduled_for")?,
        holder: row.try_get("holder")?,
        epoch: row.try_get("epoch")?,
        claimed_at: timestamp(row, "claimed_at")?,
        lease_until: timestamp(row, "lease_until")?,
        finished_at: match finished {
            Some(_) => Some(timestamp(row, "finished_at")?),
            None => None,
        },
        outcome: row.try_get("outcome")?,
        error: row.try_get("error")?,
        run_id: row.try_get("run_id")?,
    })
}
