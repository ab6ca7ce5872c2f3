-- API tokens (`plumb token create`). A row keeps the token's document (who it acts as, its
-- role, who made it, when it ends or was revoked) and the keyed hash of its secret, never the
-- secret itself. Creation and revocation are events; `last_used_at` is a cache of the last
-- request, deliberately not on the chain.
CREATE TABLE api_tokens (
    id           TEXT PRIMARY KEY,
    document     TEXT NOT NULL,
    secret_hash  TEXT NOT NULL,
    last_used_at TEXT
);
