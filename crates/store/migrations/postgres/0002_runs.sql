-- Runs: every sync, drift scan, check, gate and audit, with what it ran on, its figures and
-- its outcome. The evidence packs for INV-01, CFG-01 and CFG-02 are built from these.
CREATE TABLE runs (
    id          TEXT PRIMARY KEY,
    kind        TEXT NOT NULL,
    name        TEXT NOT NULL,
    started_at  TEXT NOT NULL,
    finished_at TEXT NOT NULL,
    actor       TEXT NOT NULL,
    outcome     TEXT NOT NULL,
    inputs      TEXT NOT NULL,
    counts      TEXT NOT NULL,
    details     TEXT NOT NULL
);
CREATE INDEX runs_kind ON runs (kind, started_at);
