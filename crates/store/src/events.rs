//! Events: immutable records of state changes, written in the same transaction.

use payrail_domain::payment_record::Event;
use payrail_domain::{EventId, MerchantId};

use crate::query::query;
use crate::{Conn, StoreError};

pub async fn insert(conn: Conn<'_>, event: &Event) -> Result<(), StoreError> {
    query(
        "INSERT INTO events (id, merchant_id, livemode, type, object_id, data, created_at_ms)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(event.id.as_str())
    .bind(event.merchant_id.as_str())
    .bind(event.livemode)
    .bind(event.event_type)
    .bind(&event.object_id)
    .bind(&event.data)
    .bind(event.created.unix_ms())
    .execute(conn)
    .await?;
    Ok(())
}

/// One event as a delivery sends it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEvent {
    pub id: EventId,
    pub merchant_id: MerchantId,
    pub livemode: bool,
    pub event_type: String,
    pub data: String,
    pub created_ms: i64,
}

pub async fn get(conn: Conn<'_>, id: &EventId) -> Result<Option<StoredEvent>, StoreError> {
    let row: Option<(String, bool, String, String, i64)> =
        query("SELECT merchant_id, livemode, type, data, created_at_ms FROM events WHERE id = $1")
            .bind(id.as_str())
            .fetch_optional_as(conn)
            .await?;
    row.map(|(merchant_id, livemode, event_type, data, created_ms)| {
        let merchant_id =
            MerchantId::parse(&merchant_id).map_err(|_| crate::error::corrupt("events", "merchant_id"))?;
        Ok(StoredEvent { id: id.clone(), merchant_id, livemode, event_type, data, created_ms })
    })
    .transpose()
}

/// A stored event as read back: (id, type, object id, data JSON, created ms).
pub type EventRow = (String, String, String, String, i64);

/// Newest first, older than `starting_after` when given.
pub async fn list(
    conn: Conn<'_>,
    merchant_id: &MerchantId,
    livemode: bool,
    starting_after: Option<&EventId>,
    limit: u32,
) -> Result<Vec<EventRow>, StoreError> {
    // Every id sorts before "~", so with no cursor nothing is excluded.
    let before = starting_after.map_or("~", EventId::as_str);
    query(
        "SELECT id, type, object_id, data, created_at_ms FROM events
         WHERE merchant_id = $1 AND livemode = $2 AND id < $3 ORDER BY id DESC LIMIT $4",
    )
    .bind(merchant_id.as_str())
    .bind(livemode)
    .bind(before)
    .bind(i64::from(limit))
    .fetch_all_as(conn)
    .await
}
