-- A job never overlaps itself: at most one unfinished slot per job. The primary key only
-- stopped two claims of the same slot; a job started through the API (its slot is "now") and
-- a scheduled slot, or two requests a microsecond apart, could both insert and run at once,
-- since each read "nothing running" before inserting. With this index the database refuses
-- the second insert whichever slot it names (`ON CONFLICT DO NOTHING` covers both keys).
CREATE UNIQUE INDEX schedule_slots_running ON schedule_slots (job) WHERE finished_at IS NULL;
