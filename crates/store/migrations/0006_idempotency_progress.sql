-- A response recorded part-way through a request, in the unit that committed its first
-- effects (a payment moved to processing, a refund reserved). It is replayed only once the
-- request's claim has lapsed, that is, if the request died before it could finish; the
-- request's last unit replaces it with the final response.
ALTER TABLE idempotency_keys ADD COLUMN response_provisional BOOLEAN NOT NULL DEFAULT FALSE;
