-- Foundation: server settings, operators, merchants and API keys.
-- Written once in the SQL that SQLite and PostgreSQL both accept. Times are UTC
-- milliseconds since the epoch, written by the application's clock, never by SQL now().

CREATE TABLE server_settings (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL
);

CREATE TABLE operators (
    id TEXT PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL
);

CREATE TABLE merchants (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'active', 'suspended')),
    created_at_ms BIGINT NOT NULL,
    updated_at_ms BIGINT NOT NULL
);

CREATE TABLE api_keys (
    id TEXT PRIMARY KEY,
    merchant_id TEXT NOT NULL REFERENCES merchants (id),
    livemode BOOLEAN NOT NULL,
    -- Keyed hash (HMAC-SHA256 under a server key) of the whole secret; the secret itself
    -- is never stored.
    secret_hash TEXT NOT NULL UNIQUE,
    secret_hint TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    revoked_at_ms BIGINT,
    last_used_at_ms BIGINT
);

CREATE INDEX api_keys_by_merchant ON api_keys (merchant_id, livemode, id);
