//! Notifications received from channels, kept so that each one is applied once however
//! often the channel delivers it.
//!
//! Invariant: [`claim`] runs in the write unit that applies the notification. Two
//! deliveries of one notification racing on PostgreSQL meet at the primary key: the second
//! waits for the first to commit and then claims nothing; on SQLite the single writer runs
//! them one after the other.

use payrail_domain::Timestamp;

use crate::query::query;
use crate::{Conn, StoreError};

/// A notification as received, once its signature was checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboundNotification<'a> {
    /// The channel, as in the path it was posted to (`card_network`).
    pub channel: &'a str,
    /// Payrail's account with the channel it was posted to (`test`).
    pub account: &'a str,
    /// The channel's id for it, the same on every redelivery.
    pub notification_id: &'a str,
    pub notification_type: &'a str,
    /// What it is about, as the channel names it.
    pub reference: &'a str,
}

/// Records `notification` as received at `now` unless it was already. Returns whether
/// this call recorded it, that is whether the caller is the one to apply it.
pub async fn claim(conn: Conn<'_>, notification: &InboundNotification<'_>, now: Timestamp) -> Result<bool, StoreError> {
    let inserted = query(
        "INSERT INTO inbound_notifications
                 (channel, account, notification_id, notification_type, reference, received_at_ms)
             VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (channel, account, notification_id) DO NOTHING",
    )
    .bind(notification.channel)
    .bind(notification.account)
    .bind(notification.notification_id)
    .bind(notification.notification_type)
    .bind(notification.reference)
    .bind(now.unix_ms())
    .execute(conn)
    .await?;
    Ok(inserted == 1)
}

/// How many notifications were recorded about `reference`, for tests and audits.
pub async fn count_for_reference(conn: Conn<'_>, reference: &str) -> Result<i64, StoreError> {
    query("SELECT CAST(COUNT(*) AS BIGINT) FROM inbound_notifications WHERE reference = $1")
        .bind(reference)
        .fetch_one_as(conn)
        .await
}
