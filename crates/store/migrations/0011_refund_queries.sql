-- When the sweep next asks the channel about a pending refund. NULL: a minute after it
-- last changed. Each query that finds it still pending pushes it further out.
ALTER TABLE refunds ADD COLUMN next_query_at_ms BIGINT;
