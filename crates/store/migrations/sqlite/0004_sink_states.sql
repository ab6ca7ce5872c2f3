-- What each alert sink remembers between scans (the open Better Stack incident), so an alert
-- is raised once when drift appears and resolved once when it is gone. Keyed by the sink's
-- configured name.
CREATE TABLE sink_states (
    sink       TEXT PRIMARY KEY,
    state      TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
