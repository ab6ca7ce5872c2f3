-- Sync: which collector scope an asset came from, since when it is absent, and the hash of
-- the resource it was last derived from (an unchanged resource is recognised by hash alone).
ALTER TABLE assets ADD COLUMN scope TEXT;
ALTER TABLE assets ADD COLUMN absent_since TEXT;
ALTER TABLE assets ADD COLUMN content_hash TEXT;
CREATE INDEX assets_scope ON assets (scope, key) WHERE scope IS NOT NULL;

-- The last complete sync of each scope. An asset present in a scope was seen at that sync, so
-- an unchanged resource needs no write: its last_seen is read as the later of its own and its
-- scope's.
CREATE TABLE sync_scopes (
    scope_name      TEXT PRIMARY KEY,
    scope_source    TEXT NOT NULL,
    scope_synced_at TEXT NOT NULL,
    scope_run_id    TEXT NOT NULL
);
