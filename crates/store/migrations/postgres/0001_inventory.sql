-- The inventory: assets, their tags and relationships, and the hash-chained event log.
-- Timestamps are fixed-width UTC text (see plumb_core::time) so they sort on both backends.

CREATE TABLE assets (
    id             TEXT PRIMARY KEY,
    key            TEXT NOT NULL UNIQUE,
    name           TEXT NOT NULL,
    kind           TEXT NOT NULL,
    type           TEXT NOT NULL,
    environment    TEXT,
    owner          TEXT,
    manager        TEXT,
    classification TEXT,
    location       TEXT,
    status         TEXT NOT NULL,
    source         TEXT NOT NULL,
    financial_ref  TEXT,
    tags           TEXT NOT NULL,
    attributes     TEXT NOT NULL,
    first_seen     TEXT NOT NULL,
    last_seen      TEXT NOT NULL
);
-- Lists are keyset-paginated in key order. Filters that match many assets (environment,
-- status) are served by walking the key index until a page is full; selective ones (type,
-- owner) get their own index. Each index costs bulk imports about 6% (measured), so only
-- these two. Tags are filtered through the JSON column for the same reason.
CREATE INDEX assets_type ON assets (type, key);
CREATE INDEX assets_owner ON assets (owner, key);

CREATE TABLE relationships (
    from_id    TEXT NOT NULL REFERENCES assets (id),
    kind       TEXT NOT NULL,
    to_id      TEXT NOT NULL REFERENCES assets (id),
    created_at TEXT NOT NULL,
    PRIMARY KEY (from_id, kind, to_id)
);
CREATE INDEX relationships_to ON relationships (to_id);

CREATE TABLE events (
    seq       BIGINT PRIMARY KEY,
    id        TEXT NOT NULL,
    at        TEXT NOT NULL,
    actor     TEXT NOT NULL,
    entity    TEXT NOT NULL,
    entity_id TEXT NOT NULL,
    action    TEXT NOT NULL,
    before    TEXT,
    after     TEXT,
    prev_hash TEXT NOT NULL,
    hash      TEXT NOT NULL
);
CREATE INDEX events_entity ON events (entity, entity_id, seq);

-- The end of the chain. Every writing transaction locks and advances this one row, which
-- serialises event sequence numbers across processes and exposes removal of the newest events.
CREATE TABLE event_head (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    seq  BIGINT NOT NULL,
    hash TEXT NOT NULL
);
INSERT INTO event_head (id, seq, hash)
VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');
