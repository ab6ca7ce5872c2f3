-- Decommissioning evidence (policy §8). Each asset that leaves service with a sanitization
-- record has one row: the record as a JSON document (the shape `-o json` prints and its
-- `sanitization` events record), its state beside it. `log verify` holds the row to its latest
-- event.
CREATE TABLE sanitization_records (
    asset_key TEXT PRIMARY KEY,
    state     TEXT NOT NULL,
    document  TEXT NOT NULL
);
-- The evidence files records name (archived tickets, wipe reports), each stored once under its
-- SHA-256; the records (and so the chain) carry the hash, and `log verify` recomputes it.
CREATE TABLE attachments (
    sha256  TEXT PRIMARY KEY,
    size    BIGINT NOT NULL,
    content BYTEA NOT NULL
);
