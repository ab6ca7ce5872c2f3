-- One-off data maintenance that needs more than SQL (such as sealing secrets stored by older
-- versions, which needs the seal key): a row per task done, so it runs once per database.
CREATE TABLE maintenance (
    name    TEXT PRIMARY KEY,
    done_at TEXT NOT NULL,
    detail  TEXT NOT NULL
);
