-- Merchants' own accounts with payment channels (an Alipay app, a WeChat Pay merchant
-- number), per mode. `settings` is public JSON (app id, gateway, the provider's public
-- key); the secrets are one JSON object sealed under the server key, bound to the id.
-- A deleted account stays: the payments it charged are still queried and refunded with it.
CREATE TABLE channel_accounts (
    id TEXT PRIMARY KEY,
    merchant_id TEXT NOT NULL REFERENCES merchants (id),
    livemode BOOLEAN NOT NULL,
    channel TEXT NOT NULL,
    description TEXT,
    settings TEXT NOT NULL,
    credentials_ciphertext TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('active', 'deleted')),
    created_at_ms BIGINT NOT NULL,
    updated_at_ms BIGINT NOT NULL
);

CREATE INDEX channel_accounts_by_merchant ON channel_accounts (merchant_id, livemode, id);

-- Which of its accounts charges each payment method type of a merchant in one mode. A
-- type without a row goes to the platform's own account of that mode (the sandbox
-- simulators in test mode).
CREATE TABLE channel_routes (
    merchant_id TEXT NOT NULL REFERENCES merchants (id),
    livemode BOOLEAN NOT NULL,
    payment_method_type TEXT NOT NULL,
    channel_account_id TEXT NOT NULL REFERENCES channel_accounts (id),
    updated_at_ms BIGINT NOT NULL,
    PRIMARY KEY (merchant_id, livemode, payment_method_type)
);

-- The account an attempt was charged through; NULL is the platform's account of the
-- payment's mode. Queries, closes, refunds and notifications of the attempt use this one.
ALTER TABLE payment_attempts ADD COLUMN channel_account_id TEXT;

-- The account a payment was created to be charged through, overriding the routes.
ALTER TABLE payments ADD COLUMN channel_account_id TEXT;

-- When a channel reported that the payer paid an order Payrail had already given up on
-- (closed, or whose attempt failed): the payment succeeded late.
ALTER TABLE payments ADD COLUMN late_succeeded_at_ms BIGINT;

-- What the payer paid of a wallet payment from their own funds, as the channel reported it
-- (coupons, points and discounts paid the rest), kept for reconciliation; the ledger books
-- the order amount.
ALTER TABLE payments ADD COLUMN amount_paid_by_payer_minor BIGINT;
