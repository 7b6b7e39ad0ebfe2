-- Webhook endpoints. Signing secrets are stored encrypted (AES-256-GCM under the server
-- key, bound to the endpoint id): Payrail must sign with them, so they cannot be hashed.
-- While a rotation overlaps, the replaced secret signs too, until it expires.
CREATE TABLE webhook_endpoints (
    id TEXT PRIMARY KEY,
    merchant_id TEXT NOT NULL REFERENCES merchants (id),
    livemode BOOLEAN NOT NULL,
    url TEXT NOT NULL,
    description TEXT,
    enabled_events TEXT NOT NULL,
    status TEXT NOT NULL,
    disabled_reason TEXT,
    secret_ciphertext TEXT NOT NULL,
    secret_hint TEXT NOT NULL,
    previous_secret_ciphertext TEXT,
    previous_secret_expires_at_ms BIGINT,
    created_at_ms BIGINT NOT NULL,
    updated_at_ms BIGINT NOT NULL
);

CREATE INDEX webhook_endpoints_by_merchant ON webhook_endpoints (merchant_id, livemode, id);

-- The secret that signs deliveries to payments' own notify_url: one per merchant and mode.
-- `revealed` records that the merchant has read it in full, which happens once.
CREATE TABLE notification_secrets (
    merchant_id TEXT NOT NULL REFERENCES merchants (id),
    livemode BOOLEAN NOT NULL,
    secret_ciphertext TEXT NOT NULL,
    secret_hint TEXT NOT NULL,
    previous_secret_ciphertext TEXT,
    previous_secret_expires_at_ms BIGINT,
    revealed BOOLEAN NOT NULL,
    created_at_ms BIGINT NOT NULL,
    updated_at_ms BIGINT NOT NULL,
    PRIMARY KEY (merchant_id, livemode)
);

-- One event on its way to one destination: an endpoint (`target` is its id) or the
-- payment's own notify_url (`target` is 'notify_url', the URL kept here). Written with the
-- event, in the same transaction: this table is the outbox. A dispatcher on any instance
-- claims due rows with a lease; a disabled endpoint's rows wait, a deleted one's are
-- canceled. `attempts` counts claims, so (event_id, target, attempts) names one claim.
CREATE TABLE webhook_deliveries (
    event_id TEXT NOT NULL REFERENCES events (id),
    target TEXT NOT NULL,
    merchant_id TEXT NOT NULL REFERENCES merchants (id),
    livemode BOOLEAN NOT NULL,
    endpoint_id TEXT REFERENCES webhook_endpoints (id),
    url TEXT,
    status TEXT NOT NULL CHECK (status IN ('pending', 'succeeded', 'dead', 'canceled')),
    attempts BIGINT NOT NULL DEFAULT 0,
    next_attempt_at_ms BIGINT NOT NULL,
    -- Retries stop once the schedule has run from here: the first attempt, or a resend.
    window_started_at_ms BIGINT NOT NULL,
    lease_until_ms BIGINT,
    created_at_ms BIGINT NOT NULL,
    updated_at_ms BIGINT NOT NULL,
    PRIMARY KEY (event_id, target),
    CHECK ((endpoint_id IS NULL) = (url IS NOT NULL))
);

CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at_ms) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_by_endpoint ON webhook_deliveries (endpoint_id, status);

-- Every attempt, for the delivery log: when, what came back (a bounded snippet), how long.
CREATE TABLE webhook_delivery_attempts (
    event_id TEXT NOT NULL,
    target TEXT NOT NULL,
    attempt BIGINT NOT NULL,
    attempted_at_ms BIGINT NOT NULL,
    status_code BIGINT,
    latency_ms BIGINT NOT NULL,
    response_snippet TEXT,
    error TEXT,
    PRIMARY KEY (event_id, target, attempt),
    FOREIGN KEY (event_id, target) REFERENCES webhook_deliveries (event_id, target)
);
