-- The exceptions register (policy §9). Each row is one exception as a JSON document (the shape
-- `-o json` prints and its events record); `decision` and `expires_at` are kept beside it for
-- listing. Every change of a row is also an event, so `log verify` holds the row to its history.
CREATE TABLE exceptions (
    id         BIGINT PRIMARY KEY,
    decision   TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    document   TEXT NOT NULL
);
CREATE INDEX exceptions_expires_at ON exceptions (expires_at);
