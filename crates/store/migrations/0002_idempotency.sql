-- Idempotency keys: one row per key, per merchant and mode, holding the first request's
-- fingerprint and, once it completed, its response for replay.

CREATE TABLE idempotency_keys (
    merchant_id TEXT NOT NULL REFERENCES merchants (id),
    livemode BOOLEAN NOT NULL,
    idempotency_key TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    response_status BIGINT,
    response_body TEXT,
    locked_until_ms BIGINT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    PRIMARY KEY (merchant_id, livemode, idempotency_key)
);

CREATE INDEX idempotency_keys_by_age ON idempotency_keys (created_at_ms);
