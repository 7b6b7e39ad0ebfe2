//! The webhook outbox: one row per event and destination, written with the event, claimed
//! by dispatchers on any instance with a lease, and a log of every attempt.

use payrail_domain::payment_record::Event;
use payrail_domain::{EventId, PaymentId, Timestamp, WebhookEndpointId};

use crate::conn::Columns;
use crate::error::corrupt;
use crate::query::{query, query_built};
use crate::{Conn, StoreError};

/// Where a delivery goes when it has no endpoint: the payment's own `notify_url`.
pub const NOTIFY_URL_TARGET: &str = "notify_url";
/// Longest error text kept per attempt.
pub const ERROR_CHARS_MAX: usize = 500;

/// A delivery as claimed: which event, where to, and which claim this is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claimed {
    pub event_id: EventId,
    pub target: String,
    /// This claim's number: 1 for the first attempt.
    pub attempt: i64,
    pub endpoint_id: Option<WebhookEndpointId>,
    /// The notify_url, for a delivery without an endpoint.
    pub url: Option<String>,
    pub window_started: Timestamp,
}

/// What one attempt did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptLog {
    pub attempted_at: Timestamp,
    pub status_code: Option<u16>,
    pub latency_ms: i64,
    pub response_snippet: Option<String>,
    pub error: Option<String>,
}

/// A delivery and its attempts, for the delivery log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryView {
    pub target: String,
    pub endpoint_id: Option<String>,
    pub status: String,
    pub attempts: i64,
    pub next_attempt_at: Option<Timestamp>,
    pub log: Vec<AttemptLog>,
}

/// Which `notify_url`, if any, hears of an event.
#[derive(Debug, Clone, Copy)]
pub enum NotifyTarget<'a> {
    None,
    /// The URL itself, when the caller holds the payment.
    Url(&'a str),
    /// Whatever URL this payment has, looked up in the same statement.
    OfPayment(&'a PaymentId),
}

/// Writes the deliveries of a new event: one per enabled endpoint of its merchant and mode
/// that takes its type, and one to the notify_url, if there is one.
pub async fn fan_out(
    mut conn: Conn<'_>,
    event: &Event,
    notify: NotifyTarget<'_>,
    now: Timestamp,
) -> Result<(), StoreError> {
    query(
        "INSERT INTO webhook_deliveries (event_id, target, merchant_id, livemode, endpoint_id, url, status,
                 attempts, next_attempt_at_ms, window_started_at_ms, created_at_ms, updated_at_ms)
             SELECT $1, id, merchant_id, livemode, id, NULL, 'pending', 0, $4, $4, $4, $4 FROM webhook_endpoints
             WHERE merchant_id = $2 AND livemode = $3 AND status = 'enabled'
               AND (enabled_events = '*' OR enabled_events LIKE $5)",
    )
    .bind(event.id.as_str())
    .bind(event.merchant_id.as_str())
    .bind(event.livemode)
    .bind(now.unix_ms())
    .bind(format!("%,{},%", event.event_type))
    .execute(conn.reborrow())
    .await?;
    let source = match notify {
        NotifyTarget::None => return Ok(()),
        NotifyTarget::Url(url) => ("SELECT $3 AS url", url),
        NotifyTarget::OfPayment(id) => {
            ("SELECT notify_url AS url FROM payments WHERE id = $3 AND notify_url IS NOT NULL", id.as_str())
        }
    };
    let sql = format!(
        "INSERT INTO webhook_deliveries (event_id, target, merchant_id, livemode, endpoint_id, url, status,
             attempts, next_attempt_at_ms, window_started_at_ms, created_at_ms, updated_at_ms)
         SELECT $1, $2, $5, $6, NULL, n.url, 'pending', 0, $4, $4, $4, $4 FROM ({}) n",
        source.0
    );
    query_built(sql)
        .bind(event.id.as_str())
        .bind(NOTIFY_URL_TARGET)
        .bind(source.1)
        .bind(now.unix_ms())
        .bind(event.merchant_id.as_str())
        .bind(event.livemode)
        .execute(conn)
        .await?;
    Ok(())
}

/// Claims up to `limit` due deliveries (pending, due, not leased or lease run out, and
/// their endpoint enabled), each with a lease until `lease_until`. On PostgreSQL, rows
/// another instance is claiming are skipped, so no two instances claim one delivery.
pub async fn claim(
    conn: Conn<'_>,
    now: Timestamp,
    lease_until: Timestamp,
    limit: u32,
) -> Result<Vec<Claimed>, StoreError> {
    let engine = conn.engine();
    let sql = format!(
        "UPDATE webhook_deliveries SET attempts = attempts + 1, lease_until_ms = $1, updated_at_ms = $2
         WHERE (event_id, target) IN (
             SELECT d.event_id, d.target FROM webhook_deliveries d
             WHERE d.status = 'pending' AND d.next_attempt_at_ms <= $2
               AND (d.lease_until_ms IS NULL OR d.lease_until_ms <= $2)
               AND (d.endpoint_id IS NULL OR EXISTS (
                   SELECT 1 FROM webhook_endpoints w WHERE w.id = d.endpoint_id AND w.status = 'enabled'))
             ORDER BY d.next_attempt_at_ms
             LIMIT $3
             {}
         )
         RETURNING event_id, target, attempts, endpoint_id, url, window_started_at_ms",
        engine.skip_locked()
    );
    let rows =
        query_built(sql).bind(lease_until.unix_ms()).bind(now.unix_ms()).bind(i64::from(limit)).fetch_all(conn).await?;
    rows.iter().map(claimed_from_row).collect()
}

/// Logs one attempt of a claim.
pub async fn log_attempt(conn: Conn<'_>, claim: &Claimed, log: &AttemptLog) -> Result<(), StoreError> {
    let error = log.error.as_deref().map(|e| e.char_indices().nth(ERROR_CHARS_MAX).map_or(e, |(end, _)| &e[..end]));
    query(
        "INSERT INTO webhook_delivery_attempts (event_id, target, attempt, attempted_at_ms, status_code,
                 latency_ms, response_snippet, error)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(claim.event_id.as_str())
    .bind(&claim.target)
    .bind(claim.attempt)
    .bind(log.attempted_at.unix_ms())
    .bind(log.status_code.map(i64::from))
    .bind(log.latency_ms)
    .bind(log.response_snippet.as_deref())
    .bind(error)
    .execute(conn)
    .await?;
    Ok(())
}

/// What a claim ends in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    Succeeded,
    Dead,
    RetryAt(Timestamp),
}

/// Ends a claim. `false` (nothing written) if the claim is no longer current: its lease
/// ran out and another dispatcher claimed the delivery, or it was canceled meanwhile.
pub async fn finish(conn: Conn<'_>, claim: &Claimed, next: Next, now: Timestamp) -> Result<bool, StoreError> {
    let (status, next_at) = match next {
        Next::Succeeded => ("succeeded", now),
        Next::Dead => ("dead", now),
        Next::RetryAt(at) => ("pending", at),
    };
    let updated = query(
        "UPDATE webhook_deliveries SET status = $1, next_attempt_at_ms = $2, lease_until_ms = NULL,
                 updated_at_ms = $3
             WHERE event_id = $4 AND target = $5 AND attempts = $6 AND status = 'pending'",
    )
    .bind(status)
    .bind(next_at.unix_ms())
    .bind(now.unix_ms())
    .bind(claim.event_id.as_str())
    .bind(&claim.target)
    .bind(claim.attempt)
    .execute(conn)
    .await?;
    Ok(updated == 1)
}

/// Cancels a deleted endpoint's pending deliveries; returns how many.
pub async fn cancel_for_endpoint(
    conn: Conn<'_>,
    endpoint_id: &WebhookEndpointId,
    now: Timestamp,
) -> Result<u64, StoreError> {
    query(
        "UPDATE webhook_deliveries SET status = 'canceled', lease_until_ms = NULL, updated_at_ms = $1
             WHERE endpoint_id = $2 AND status = 'pending'",
    )
    .bind(now.unix_ms())
    .bind(endpoint_id.as_str())
    .execute(conn)
    .await
}

/// Makes an event's deliveries (not canceled, not being attempted right now) due at once,
/// with a fresh retry window; returns how many.
pub async fn resend(conn: Conn<'_>, event_id: &EventId, now: Timestamp) -> Result<u64, StoreError> {
    query(
        "UPDATE webhook_deliveries SET status = 'pending', next_attempt_at_ms = $1, window_started_at_ms = $1,
                 updated_at_ms = $1
             WHERE event_id = $2 AND status <> 'canceled' AND (lease_until_ms IS NULL OR lease_until_ms <= $1)",
    )
    .bind(now.unix_ms())
    .bind(event_id.as_str())
    .execute(conn)
    .await
}

/// When a delivery to the endpoint last succeeded, if ever.
pub async fn last_success(conn: Conn<'_>, endpoint_id: &WebhookEndpointId) -> Result<Option<Timestamp>, StoreError> {
    let last: Option<i64> =
        query("SELECT MAX(updated_at_ms) FROM webhook_deliveries WHERE endpoint_id = $1 AND status = 'succeeded'")
            .bind(endpoint_id.as_str())
            .fetch_one_as(conn)
            .await?;
    Ok(last.and_then(Timestamp::from_unix_ms))
}

/// An event's deliveries with their attempts, in target order, attempts oldest first.
pub async fn list_for_event(mut conn: Conn<'_>, event_id: &EventId) -> Result<Vec<DeliveryView>, StoreError> {
    type Row = (String, Option<String>, String, i64, i64);
    let deliveries: Vec<Row> = query(
        "SELECT target, endpoint_id, status, attempts, next_attempt_at_ms FROM webhook_deliveries
         WHERE event_id = $1 ORDER BY target",
    )
    .bind(event_id.as_str())
    .fetch_all_as(conn.reborrow())
    .await?;
    type LogRow = (String, i64, Option<i64>, i64, Option<String>, Option<String>);
    let logs: Vec<LogRow> = query(
        "SELECT target, attempted_at_ms, status_code, latency_ms, response_snippet, error
         FROM webhook_delivery_attempts WHERE event_id = $1 ORDER BY target, attempt",
    )
    .bind(event_id.as_str())
    .fetch_all_as(conn)
    .await?;
    let time = |ms: i64| Timestamp::from_unix_ms(ms).ok_or_else(|| corrupt("webhook_deliveries", "time"));
    let mut views = Vec::with_capacity(deliveries.len());
    for (target, endpoint_id, status, attempts, next_ms) in deliveries {
        let log = logs
            .iter()
            .filter(|row| row.0 == target)
            .map(|(_, at, code, latency_ms, snippet, error)| {
                Ok(AttemptLog {
                    attempted_at: time(*at)?,
                    status_code: code.and_then(|code| u16::try_from(code).ok()),
                    latency_ms: *latency_ms,
                    response_snippet: snippet.clone(),
                    error: error.clone(),
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        let next_attempt_at = if status == "pending" { Some(time(next_ms)?) } else { None };
        views.push(DeliveryView { target, endpoint_id, status, attempts, next_attempt_at, log });
    }
    Ok(views)
}

fn claimed_from_row(row: &impl Columns) -> Result<Claimed, StoreError> {
    let bad = |column| corrupt("webhook_deliveries", column);
    let endpoint_id = match row.text_opt("endpoint_id")? {
        Some(id) => Some(WebhookEndpointId::parse(&id).map_err(|_| bad("endpoint_id"))?),
        None => None,
    };
    Ok(Claimed {
        event_id: EventId::parse(&row.text("event_id")?).map_err(|_| bad("event_id"))?,
        target: row.text("target")?,
        attempt: row.int("attempts")?,
        endpoint_id,
        url: row.text_opt("url")?,
        window_started: Timestamp::from_unix_ms(row.int("window_started_at_ms")?)
            .ok_or_else(|| bad("window_started_at_ms"))?,
    })
}
