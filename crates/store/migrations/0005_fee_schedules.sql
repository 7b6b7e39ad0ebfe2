-- A merchant's own fees, for one currency or ('*') for every currency it has no row for.
-- A merchant without a row pays the operator's default.
CREATE TABLE merchant_fee_schedules (
    merchant_id TEXT NOT NULL REFERENCES merchants (id),
    currency TEXT NOT NULL,
    rate_basis_points BIGINT NOT NULL CHECK (rate_basis_points BETWEEN 0 AND 10000),
    fixed_minor BIGINT NOT NULL CHECK (fixed_minor >= 0),
    updated_at_ms BIGINT NOT NULL,
    PRIMARY KEY (merchant_id, currency)
);
