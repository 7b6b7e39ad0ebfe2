//! Idempotency keys and their stored responses.

use payrail_domain::Timestamp;
use payrail_domain::idempotency::{IdempotencyKey, IdempotencyRecord, KeyScope, StoredResponse};

use crate::conn::Columns;
use crate::error::corrupt;
use crate::query::query;
use crate::{Conn, StoreError};

/// Claims `key` for a request with `fingerprint`, unless the key exists. Returns the
/// existing record when there is one (the caller decides what it means), `None` when this
/// call claimed the key. Of two racing claims, exactly one gets `None`.
pub async fn claim(
    mut conn: Conn<'_>,
    scope: &KeyScope,
    key: &IdempotencyKey,
    fingerprint: &str,
    locked_until: Timestamp,
    now: Timestamp,
) -> Result<Option<IdempotencyRecord>, StoreError> {
    let inserted = query(
        "INSERT INTO idempotency_keys
                 (merchant_id, livemode, idempotency_key, fingerprint, locked_until_ms, created_at_ms)
             VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (merchant_id, livemode, idempotency_key) DO NOTHING",
    )
    .bind(scope.merchant_id.as_str())
    .bind(scope.livemode)
    .bind(key.as_str())
    .bind(fingerprint)
    .bind(locked_until.unix_ms())
    .bind(now.unix_ms())
    .execute(conn.reborrow())
    .await?;
    if inserted == 1 {
        return Ok(None);
    }
    let row = query(
        "SELECT fingerprint, response_status, response_body, response_provisional, locked_until_ms
         FROM idempotency_keys
         WHERE merchant_id = $1 AND livemode = $2 AND idempotency_key = $3",
    )
    .bind(scope.merchant_id.as_str())
    .bind(scope.livemode)
    .bind(key.as_str())
    .fetch_optional(conn)
    .await?;
    row.map(|row| record_from_row(&row)).transpose()
}

/// Takes over a key whose running request lapsed (its process died). Returns whether this
/// call took it; a racing caller that lost gets `false`.
pub async fn reclaim(
    conn: Conn<'_>,
    scope: &KeyScope,
    key: &IdempotencyKey,
    locked_until: Timestamp,
    now: Timestamp,
) -> Result<bool, StoreError> {
    let updated = query(
        "UPDATE idempotency_keys SET locked_until_ms = $1
             WHERE merchant_id = $2 AND livemode = $3 AND idempotency_key = $4
               AND response_status IS NULL AND locked_until_ms <= $5",
    )
    .bind(locked_until.unix_ms())
    .bind(scope.merchant_id.as_str())
    .bind(scope.livemode)
    .bind(key.as_str())
    .bind(now.unix_ms())
    .execute(conn)
    .await?;
    Ok(updated == 1)
}

/// How a response is recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recording {
    /// Part-way, with the request's first effects; the final response replaces it.
    Provisional,
    /// The request's answer, in the unit that committed its last effects.
    Final,
    /// The answer of a request that recorded nothing on its way: kept only if nothing was.
    IfNoneRecorded,
}

/// Records the response of the request that holds the key.
pub async fn complete(
    conn: Conn<'_>,
    scope: &KeyScope,
    key: &IdempotencyKey,
    response: &StoredResponse,
    recording: Recording,
) -> Result<(), StoreError> {
    let only_if_none = recording == Recording::IfNoneRecorded;
    query(
        "UPDATE idempotency_keys SET response_status = $1, response_body = $2, response_provisional = $3
             WHERE merchant_id = $4 AND livemode = $5 AND idempotency_key = $6
               AND (NOT $7 OR response_status IS NULL)",
    )
    .bind(i64::from(response.status))
    .bind(&response.body)
    .bind(recording == Recording::Provisional)
    .bind(scope.merchant_id.as_str())
    .bind(scope.livemode)
    .bind(key.as_str())
    .bind(only_if_none)
    .execute(conn)
    .await?;
    Ok(())
}

/// Deletes keys created before `created_before`; returns how many.
pub async fn prune(conn: Conn<'_>, created_before: Timestamp) -> Result<u64, StoreError> {
    query("DELETE FROM idempotency_keys WHERE created_at_ms < $1").bind(created_before.unix_ms()).execute(conn).await
}

fn record_from_row(row: &impl Columns) -> Result<IdempotencyRecord, StoreError> {
    let status = row.int_opt("response_status")?;
    let response = match status {
        None => None,
        Some(status) => Some(StoredResponse {
            status: u16::try_from(status).map_err(|_| corrupt("idempotency_keys", "response_status"))?,
            body: row.text("response_body")?,
        }),
    };
    Ok(IdempotencyRecord {
        fingerprint: row.text("fingerprint")?,
        response,
        provisional: row.flag("response_provisional")?,
        locked_until: Timestamp::from_unix_ms(row.int("locked_until_ms")?)
            .ok_or_else(|| corrupt("idempotency_keys", "locked_until_ms"))?,
    })
}
