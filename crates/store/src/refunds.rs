//! Refunds. The amount a payment can still refund is computed from these rows inside the
//! same locked transaction that inserts a new one.

use payrail_domain::refund::{Refund, RefundReason, RefundStatus};
use payrail_domain::{Currency, MerchantId, PaymentId, RefundId, Timestamp};

use crate::conn::Columns;
use crate::error::corrupt;
use crate::query::{query, query_built};
use crate::{Conn, StoreError};

const COLUMNS: &str = "id, payment_id, merchant_id, livemode, amount_minor, currency, status, reason, failure_code,
    created_at_ms, updated_at_ms";

pub async fn insert(conn: Conn<'_>, refund: &Refund) -> Result<(), StoreError> {
    query(
        "INSERT INTO refunds (id, payment_id, merchant_id, livemode, amount_minor, currency, status, reason,
                 failure_code, created_at_ms, updated_at_ms)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)",
    )
    .bind(refund.id.as_str())
    .bind(refund.payment_id.as_str())
    .bind(refund.merchant_id.as_str())
    .bind(refund.livemode)
    .bind(refund.amount_minor)
    .bind(refund.currency.code())
    .bind(refund.status.as_str())
    .bind(refund.reason.map(RefundReason::as_str))
    .bind(refund.failure_code.as_deref())
    .bind(refund.created.unix_ms())
    .execute(conn)
    .await?;
    Ok(())
}

/// Moves a pending refund to its final status. Returns whether it was still pending (a
/// refund is settled once, however often the channel reports it).
pub async fn settle(
    conn: Conn<'_>,
    id: &RefundId,
    status: RefundStatus,
    failure_code: Option<&str>,
    now: Timestamp,
) -> Result<bool, StoreError> {
    let updated = query(
        "UPDATE refunds SET status = $1, failure_code = $2, updated_at_ms = $3 WHERE id = $4 AND status = 'pending'",
    )
    .bind(status.as_str())
    .bind(failure_code)
    .bind(now.unix_ms())
    .bind(id.as_str())
    .execute(conn)
    .await?;
    Ok(updated == 1)
}

/// The amount held by a payment's pending refunds.
pub async fn pending_minor(conn: Conn<'_>, payment_id: &PaymentId) -> Result<i64, StoreError> {
    let sum: Option<i64> =
        query("SELECT CAST(SUM(amount_minor) AS BIGINT) FROM refunds WHERE payment_id = $1 AND status = 'pending'")
            .bind(payment_id.as_str())
            .fetch_one_as(conn)
            .await?;
    Ok(sum.unwrap_or(0))
}

pub async fn get(conn: Conn<'_>, id: &RefundId) -> Result<Option<Refund>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM refunds WHERE id = $1");
    let row = query_built(sql).bind(id.as_str()).fetch_optional(conn).await?;
    row.map(|row| refund_from_row(&row)).transpose()
}

/// One merchant's refunds in one mode, newest first, optionally of one payment.
pub async fn list(
    conn: Conn<'_>,
    merchant_id: &MerchantId,
    livemode: bool,
    payment_id: Option<&PaymentId>,
    starting_after: Option<&RefundId>,
    limit: u32,
) -> Result<Vec<Refund>, StoreError> {
    let before = starting_after.map_or("~", RefundId::as_str);
    let sql = format!(
        "SELECT {COLUMNS} FROM refunds WHERE merchant_id = $1 AND livemode = $2
           AND ($3 IS NULL OR payment_id = $3) AND id < $4 ORDER BY id DESC LIMIT $5"
    );
    let rows = query_built(sql)
        .bind(merchant_id.as_str())
        .bind(livemode)
        .bind(payment_id.map(PaymentId::as_str))
        .bind(before)
        .bind(i64::from(limit))
        .fetch_all(conn)
        .await?;
    rows.iter().map(refund_from_row).collect()
}

/// Sets when the sweep next asks the channel about a pending refund.
pub async fn set_next_query(conn: Conn<'_>, id: &RefundId, at: Timestamp) -> Result<(), StoreError> {
    query("UPDATE refunds SET next_query_at_ms = $1 WHERE id = $2 AND status = 'pending'")
        .bind(at.unix_ms())
        .bind(id.as_str())
        .execute(conn)
        .await?;
    Ok(())
}

fn refund_from_row(row: &impl Columns) -> Result<Refund, StoreError> {
    let bad = |column: &str| corrupt("refunds", column);
    let time = |column: &str| Timestamp::from_unix_ms(row.int(column)?).ok_or_else(|| bad(column));
    Ok(Refund {
        id: RefundId::parse(&row.text("id")?).map_err(|_| bad("id"))?,
        payment_id: PaymentId::parse(&row.text("payment_id")?).map_err(|_| bad("payment_id"))?,
        merchant_id: MerchantId::parse(&row.text("merchant_id")?).map_err(|_| bad("merchant_id"))?,
        livemode: row.flag("livemode")?,
        amount_minor: row.int("amount_minor")?,
        currency: Currency::parse(&row.text("currency")?).map_err(|_| bad("currency"))?,
        status: RefundStatus::parse(&row.text("status")?).ok_or_else(|| bad("status"))?,
        reason: row.text_opt("reason")?.map(|r| RefundReason::parse(&r).ok_or_else(|| bad("reason"))).transpose()?,
        failure_code: row.text_opt("failure_code")?,
        created: time("created_at_ms")?,
        updated: time("updated_at_ms")?,
    })
}

/// Refunds still pending whose next query is due at `now` (a minute after their last
/// change until a query was made), oldest first: the work list of the sweep that asks the
/// channel how they ended.
pub async fn pending_due(conn: Conn<'_>, now: Timestamp, limit: u32) -> Result<Vec<Refund>, StoreError> {
    let due = "COALESCE(next_query_at_ms, updated_at_ms + 60000)";
    let sql = format!("SELECT {COLUMNS} FROM refunds WHERE status = 'pending' AND {due} <= $1 ORDER BY {due} LIMIT $2");
    let rows = query_built(sql).bind(now.unix_ms()).bind(i64::from(limit)).fetch_all(conn).await?;
    rows.iter().map(refund_from_row).collect()
}
