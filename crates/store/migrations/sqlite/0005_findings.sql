-- Findings of policy checks that did not pass, one row per (check, key). A row opens when a
-- check first fails (or cannot be evaluated, or needs a person), stays open while it keeps
-- doing so, and resolves when a later run passes it or no longer reports the key. Passing
-- results are counted in the run, not stored one by one.
CREATE TABLE findings (
    check_id    TEXT NOT NULL,
    key         TEXT NOT NULL,
    status      TEXT NOT NULL,
    severity    TEXT NOT NULL,
    title       TEXT NOT NULL,
    controls    TEXT NOT NULL,
    message     TEXT NOT NULL,
    evidence    TEXT NOT NULL,
    remediation TEXT NOT NULL,
    first_seen  TEXT NOT NULL,
    last_seen   TEXT NOT NULL,
    run_id      TEXT NOT NULL,
    resolved_at TEXT,
    PRIMARY KEY (check_id, key)
);
CREATE INDEX findings_open ON findings (resolved_at, check_id);
