-- The scheduler of `plumb serve`: one row per slot a job claimed. The primary key is the
-- claim: however many servers share the database, only one insert of (job, scheduled_for)
-- succeeds, so each slot runs once (no advisory locks, which fail silently through poolers).
-- The holder keeps its claim alive by moving `lease_until` forward while the job runs; a
-- claim whose lease ran out unfinished is taken over by another server, which raises `epoch`
-- so the first holder's late writes are refused. The job's evidence is its run (`run_id`,
-- chosen at the claim so a job started through the API can be pointed at while it runs);
-- this table is the scheduler's bookkeeping, not on the chain.
CREATE TABLE schedule_slots (
    job           TEXT NOT NULL,
    scheduled_for TEXT NOT NULL,
    holder        TEXT NOT NULL,
    epoch         BIGINT NOT NULL,
    claimed_at    TEXT NOT NULL,
    lease_until   TEXT NOT NULL,
    finished_at   TEXT,
    outcome       TEXT,
    error         TEXT,
    run_id        TEXT NOT NULL,
    PRIMARY KEY (job, scheduled_for)
);

CREATE INDEX schedule_slots_run ON schedule_slots (run_id);
