-- When the sweep next asks the channel about a payment stuck in processing (its attempt's
-- outcome unknown). NULL: a minute after it last changed. Each unanswered query pushes it
-- further out, so a channel that stays down is asked less and less often.
ALTER TABLE payments ADD COLUMN next_query_at_ms BIGINT;
