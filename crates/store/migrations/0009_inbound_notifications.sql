-- Notifications received from channels (a card network's "refund settled"), one row per
-- notification the channel sent to one of Payrail's accounts with it. The row is written
-- in the same transaction as the change the notification caused, so the primary key makes
-- a redelivery (or two deliveries racing) change nothing a second time.
--
-- The account is part of the key: a notification id is the channel's, unique within the
-- account it was sent to, and a notification posted to another account's path must not
-- claim the id for the right one.
CREATE TABLE inbound_notifications (
    channel TEXT NOT NULL,
    account TEXT NOT NULL,
    notification_id TEXT NOT NULL,
    notification_type TEXT NOT NULL,
    -- The object it is about, as the channel names it (a refund id).
    reference TEXT NOT NULL,
    received_at_ms BIGINT NOT NULL,
    PRIMARY KEY (channel, account, notification_id)
);
