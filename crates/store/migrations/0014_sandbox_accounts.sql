-- Accounts the server makes for a merchant's test mode at its own sandbox simulators: a
-- sandbox Alipay app and a sandbox WeChat Pay merchant of the merchant's own, so that no two
-- merchants share sandbox credentials (nor can reach each other's sandbox trades).
ALTER TABLE channel_accounts ADD COLUMN sandbox BOOLEAN NOT NULL DEFAULT FALSE;

-- At most one active sandbox account per merchant and channel; a deleted one is replaced by
-- a new one (with new credentials) when next needed.
CREATE UNIQUE INDEX channel_accounts_one_sandbox ON channel_accounts (merchant_id, channel)
    WHERE sandbox AND status = 'active';

-- A running server registers, with its simulators, sandbox accounts another process made.
CREATE INDEX channel_accounts_sandbox_by_creation ON channel_accounts (created_at_ms, id) WHERE sandbox;
