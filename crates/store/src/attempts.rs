//! Attempts to charge a payment through a channel.

use payrail_domain::payment_record::{AttemptStatus, PaymentAttempt};
use payrail_domain::{AttemptId, ChannelAccountId, Timestamp};

use crate::query::query;
use crate::{Conn, StoreError};

pub async fn insert(conn: Conn<'_>, attempt: &PaymentAttempt) -> Result<(), StoreError> {
    query(
        "INSERT INTO payment_attempts (id, payment_id, channel, status, amount_minor, decline_code,
                 network_transaction_id, created_at_ms, updated_at_ms, channel_account_id)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $9)",
    )
    .bind(attempt.id.as_str())
    .bind(attempt.payment_id.as_str())
    .bind(attempt.channel)
    .bind(attempt.status.as_str())
    .bind(attempt.amount_minor)
    .bind(attempt.decline_code.as_deref())
    .bind(attempt.network_transaction_id.as_deref())
    .bind(attempt.created.unix_ms())
    .bind(attempt.channel_account_id.as_ref().map(ChannelAccountId::as_str))
    .execute(conn)
    .await?;
    Ok(())
}

/// Records what the channel said about an attempt.
pub async fn set_outcome(
    conn: Conn<'_>,
    id: &AttemptId,
    status: AttemptStatus,
    decline_code: Option<&str>,
    network_transaction_id: Option<&str>,
    now: Timestamp,
) -> Result<(), StoreError> {
    query(
        "UPDATE payment_attempts SET status = $1, decline_code = COALESCE($2, decline_code),
                 network_transaction_id = COALESCE($3, network_transaction_id), updated_at_ms = $4
             WHERE id = $5",
    )
    .bind(status.as_str())
    .bind(decline_code)
    .bind(network_transaction_id)
    .bind(now.unix_ms())
    .bind(id.as_str())
    .execute(conn)
    .await?;
    Ok(())
}

/// The latest attempt of a payment, whatever its status: (id, status).
/// The payment's latest attempt that captured money: what its refunds go against (for a
/// payment that succeeded late, not necessarily its latest attempt).
pub async fn latest_captured(
    conn: Conn<'_>,
    payment_id: &payrail_domain::PaymentId,
) -> Result<Option<AttemptId>, StoreError> {
    let row: Option<String> =
        query("SELECT id FROM payment_attempts WHERE payment_id = $1 AND status = 'captured' ORDER BY id DESC LIMIT 1")
            .bind(payment_id.as_str())
            .fetch_optional_as(conn)
            .await?;
    row.map(|id| AttemptId::parse(&id).map_err(|_| crate::error::corrupt("payment_attempts", "id"))).transpose()
}

pub async fn latest(
    conn: Conn<'_>,
    payment_id: &payrail_domain::PaymentId,
) -> Result<Option<(AttemptId, AttemptStatus)>, StoreError> {
    let row: Option<(String, String)> =
        query("SELECT id, status FROM payment_attempts WHERE payment_id = $1 ORDER BY id DESC LIMIT 1")
            .bind(payment_id.as_str())
            .fetch_optional_as(conn)
            .await?;
    row.map(|(id, status)| {
        let id = AttemptId::parse(&id).map_err(|_| crate::error::corrupt("payment_attempts", "id"))?;
        let status =
            AttemptStatus::parse(&status).ok_or_else(|| crate::error::corrupt("payment_attempts", "status"))?;
        Ok((id, status))
    })
    .transpose()
}

/// An attempt as a channel's answer is checked against it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredAttempt {
    pub id: AttemptId,
    pub payment_id: payrail_domain::PaymentId,
    pub channel: String,
    pub status: AttemptStatus,
    pub amount_minor: i64,
    /// `None`: the platform's account of the payment's mode.
    pub channel_account_id: Option<ChannelAccountId>,
}

pub async fn get(conn: Conn<'_>, id: &AttemptId) -> Result<Option<StoredAttempt>, StoreError> {
    let row: Option<(String, String, String, i64, Option<String>)> = query(
        "SELECT payment_id, channel, status, amount_minor, channel_account_id FROM payment_attempts WHERE id = $1",
    )
    .bind(id.as_str())
    .fetch_optional_as(conn)
    .await?;
    row.map(|(payment_id, channel, status, amount_minor, account)| {
        let bad = |column| crate::error::corrupt("payment_attempts", column);
        Ok(StoredAttempt {
            id: id.clone(),
            payment_id: payrail_domain::PaymentId::parse(&payment_id).map_err(|_| bad("payment_id"))?,
            channel,
            status: AttemptStatus::parse(&status).ok_or_else(|| bad("status"))?,
            amount_minor,
            channel_account_id: account
                .map(|account| ChannelAccountId::parse(&account).map_err(|_| bad("channel_account_id")))
                .transpose()?,
        })
    })
    .transpose()
}

/// Keeps the QR content the channel gave the attempt.
pub async fn set_qr_code(conn: Conn<'_>, id: &AttemptId, qr_code: &str) -> Result<(), StoreError> {
    query("UPDATE payment_attempts SET qr_code = $1 WHERE id = $2")
        .bind(qr_code)
        .bind(id.as_str())
        .execute(conn)
        .await?;
    Ok(())
}

/// The QR content of an attempt still waiting for its payer to scan it.
pub async fn waiting_qr_code(conn: Conn<'_>, id: &AttemptId) -> Result<Option<String>, StoreError> {
    let row: Option<Option<String>> =
        query("SELECT qr_code FROM payment_attempts WHERE id = $1 AND status = 'requires_challenge'")
            .bind(id.as_str())
            .fetch_optional_as(conn)
            .await?;
    Ok(row.flatten())
}
