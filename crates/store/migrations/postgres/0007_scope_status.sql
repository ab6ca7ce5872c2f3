-- What sync last knew of each scope, for complete, partial and wholly failed runs alike, so
-- check and drift can tell fresh, failed, stale and never-collected data apart (a verdict may
-- rest only on scopes collected completely within the freshness limit). It replaces
-- sync_scopes, which only ever learned of successes. `origin` is the configured collection
-- that covers the scope (`aws`, `aws (profile prod)`): a run of it that fails before it
-- reaches its scopes marks them all failed. Every change of a row is also an event.
CREATE TABLE scope_status (
    scope_name     TEXT PRIMARY KEY,
    scope_source   TEXT NOT NULL,
    origin         TEXT NOT NULL,
    attempted_at   TEXT NOT NULL,
    attempt_run_id TEXT NOT NULL,
    succeeded_at   TEXT,
    success_run_id TEXT,
    error          TEXT
);
CREATE INDEX scope_status_origin ON scope_status (origin);

INSERT INTO scope_status (scope_name, scope_source, origin, attempted_at, attempt_run_id, succeeded_at,
                          success_run_id, error)
SELECT scope_name, scope_source, scope_source, scope_synced_at, scope_run_id, scope_synced_at, scope_run_id, NULL
FROM sync_scopes;

DROP TABLE sync_scopes;
