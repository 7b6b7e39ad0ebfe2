-- Payments, their channel attempts, the card vault, refunds, the ledger and events.
-- Amounts are BIGINT minor units; the CHECKs restate the domain's invariants so that no
-- code path, however wrong, can store an impossible amount.

CREATE TABLE card_vault (
    token TEXT PRIMARY KEY,
    merchant_id TEXT NOT NULL REFERENCES merchants (id),
    livemode BOOLEAN NOT NULL,
    -- AES-256-GCM under the server's data key, bound to the token; base64.
    number_ciphertext TEXT NOT NULL,
    -- HMAC-SHA256 of the number under a server key: the same card gives the same value,
    -- and it cannot be reversed without the key.
    fingerprint TEXT NOT NULL,
    brand TEXT NOT NULL,
    last4 TEXT NOT NULL,
    exp_month BIGINT NOT NULL,
    exp_year BIGINT NOT NULL,
    created_at_ms BIGINT NOT NULL
);

CREATE TABLE payments (
    id TEXT PRIMARY KEY,
    merchant_id TEXT NOT NULL REFERENCES merchants (id),
    livemode BOOLEAN NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('requires_payment_method', 'requires_confirmation', 'requires_action',
        'processing', 'requires_capture', 'succeeded', 'canceled')),
    amount_minor BIGINT NOT NULL CHECK (amount_minor BETWEEN 1 AND 1000000000000),
    currency TEXT NOT NULL,
    amount_capturable_minor BIGINT NOT NULL,
    amount_captured_minor BIGINT NOT NULL,
    amount_refunded_minor BIGINT NOT NULL,
    merchant_order_no TEXT NOT NULL,
    description TEXT,
    metadata TEXT NOT NULL,
    capture_method TEXT NOT NULL CHECK (capture_method IN ('automatic', 'manual')),
    expires_at_ms BIGINT NOT NULL,
    return_url TEXT,
    notify_url TEXT,
    card_token TEXT REFERENCES card_vault (token),
    next_action_url TEXT,
    last_error_code TEXT,
    last_decline_code TEXT,
    last_error_message TEXT,
    cancellation_reason TEXT,
    created_at_ms BIGINT NOT NULL,
    updated_at_ms BIGINT NOT NULL,
    CHECK (amount_capturable_minor >= 0 AND amount_capturable_minor <= amount_minor),
    CHECK (amount_captured_minor >= 0 AND amount_captured_minor <= amount_minor),
    CHECK (amount_refunded_minor >= 0 AND amount_refunded_minor <= amount_captured_minor),
    UNIQUE (merchant_id, livemode, merchant_order_no)
);

CREATE INDEX payments_by_merchant ON payments (merchant_id, livemode, id);
CREATE INDEX payments_by_expiry ON payments (status, expires_at_ms);

-- One row per attempt to charge a payment through a channel. The id is the reference the
-- channel receives; the row is committed before the channel is called.
CREATE TABLE payment_attempts (
    id TEXT PRIMARY KEY,
    payment_id TEXT NOT NULL REFERENCES payments (id),
    channel TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('sending', 'unknown', 'requires_challenge', 'authorized', 'captured',
        'declined', 'failed', 'voided')),
    amount_minor BIGINT NOT NULL,
    decline_code TEXT,
    network_transaction_id TEXT,
    created_at_ms BIGINT NOT NULL,
    updated_at_ms BIGINT NOT NULL
);

CREATE INDEX payment_attempts_by_payment ON payment_attempts (payment_id, id);
CREATE INDEX payment_attempts_unresolved ON payment_attempts (status, updated_at_ms);

CREATE TABLE refunds (
    id TEXT PRIMARY KEY,
    payment_id TEXT NOT NULL REFERENCES payments (id),
    merchant_id TEXT NOT NULL REFERENCES merchants (id),
    livemode BOOLEAN NOT NULL,
    amount_minor BIGINT NOT NULL CHECK (amount_minor > 0),
    currency TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed')),
    reason TEXT,
    failure_code TEXT,
    created_at_ms BIGINT NOT NULL,
    updated_at_ms BIGINT NOT NULL
);

CREATE INDEX refunds_by_payment ON refunds (payment_id, id);
CREATE INDEX refunds_by_merchant ON refunds (merchant_id, livemode, id);

-- The ledger: cached balances per account, immutable entries and their postings.
CREATE TABLE ledger_accounts (
    code TEXT PRIMARY KEY,
    livemode BOOLEAN NOT NULL,
    currency TEXT NOT NULL,
    purpose TEXT NOT NULL,
    merchant_id TEXT REFERENCES merchants (id),
    balance_minor BIGINT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    updated_at_ms BIGINT NOT NULL
);

CREATE TABLE journal_entries (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    livemode BOOLEAN NOT NULL,
    merchant_id TEXT REFERENCES merchants (id),
    payment_id TEXT REFERENCES payments (id),
    refund_id TEXT REFERENCES refunds (id),
    created_at_ms BIGINT NOT NULL
);

CREATE INDEX journal_entries_by_payment ON journal_entries (payment_id);
CREATE INDEX journal_entries_by_merchant ON journal_entries (merchant_id, livemode, id);

CREATE TABLE postings (
    entry_id TEXT NOT NULL REFERENCES journal_entries (id),
    position BIGINT NOT NULL,
    account_code TEXT NOT NULL REFERENCES ledger_accounts (code),
    currency TEXT NOT NULL,
    amount_minor BIGINT NOT NULL CHECK (amount_minor <> 0),
    PRIMARY KEY (entry_id, position)
);

CREATE INDEX postings_by_account ON postings (account_code);

-- Immutable records of every state change, in the order they happened.
CREATE TABLE events (
    id TEXT PRIMARY KEY,
    merchant_id TEXT NOT NULL REFERENCES merchants (id),
    livemode BOOLEAN NOT NULL,
    type TEXT NOT NULL,
    object_id TEXT NOT NULL,
    data TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL
);

CREATE INDEX events_by_merchant ON events (merchant_id, livemode, id);
