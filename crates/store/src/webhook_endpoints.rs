//! Webhook endpoints and the per-merchant notification secrets. Deleted endpoints stay as
//! rows (their deliveries' history points at them) and are never listed.

use payrail_domain::webhook::{
    DisabledReason, EnabledEvents, EndpointStatus, RetiringSecret, SealedSecret, WebhookEndpoint,
};
use payrail_domain::{MerchantId, Timestamp, WebhookEndpointId};

use crate::conn::Columns;
use crate::error::corrupt;
use crate::query::{query, query_built};
use crate::{Conn, StoreError};

const COLUMNS: &str = "id, merchant_id, livemode, url, description, enabled_events, status, disabled_reason,
    secret_ciphertext, secret_hint, previous_secret_ciphertext, previous_secret_expires_at_ms, created_at_ms,
    updated_at_ms";

pub async fn insert(conn: Conn<'_>, endpoint: &WebhookEndpoint) -> Result<(), StoreError> {
    query(
        "INSERT INTO webhook_endpoints (id, merchant_id, livemode, url, description, enabled_events, status,
                 disabled_reason, secret_ciphertext, secret_hint, previous_secret_ciphertext,
                 previous_secret_expires_at_ms, created_at_ms, updated_at_ms)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
    )
    .bind(endpoint.id.as_str())
    .bind(endpoint.merchant_id.as_str())
    .bind(endpoint.livemode)
    .bind(&endpoint.url)
    .bind(endpoint.description.as_deref())
    .bind(endpoint.enabled_events.to_stored())
    .bind(endpoint.status.as_str())
    .bind(endpoint.disabled_reason.map(DisabledReason::as_str))
    .bind(&endpoint.secret.ciphertext)
    .bind(&endpoint.secret.hint)
    .bind(endpoint.retiring.as_ref().map(|r| r.ciphertext.as_str()))
    .bind(endpoint.retiring.as_ref().map(|r| r.expires_at.unix_ms()))
    .bind(endpoint.created.unix_ms())
    .bind(endpoint.updated.unix_ms())
    .execute(conn)
    .await?;
    Ok(())
}

/// Writes back everything that may change: URL, description, events, state and secrets.
pub async fn update(conn: Conn<'_>, endpoint: &WebhookEndpoint) -> Result<(), StoreError> {
    query(
        "UPDATE webhook_endpoints SET url = $1, description = $2, enabled_events = $3, status = $4,
                 disabled_reason = $5, secret_ciphertext = $6, secret_hint = $7, previous_secret_ciphertext = $8,
                 previous_secret_expires_at_ms = $9, updated_at_ms = $10
             WHERE id = $11",
    )
    .bind(&endpoint.url)
    .bind(endpoint.description.as_deref())
    .bind(endpoint.enabled_events.to_stored())
    .bind(endpoint.status.as_str())
    .bind(endpoint.disabled_reason.map(DisabledReason::as_str))
    .bind(&endpoint.secret.ciphertext)
    .bind(&endpoint.secret.hint)
    .bind(endpoint.retiring.as_ref().map(|r| r.ciphertext.as_str()))
    .bind(endpoint.retiring.as_ref().map(|r| r.expires_at.unix_ms()))
    .bind(endpoint.updated.unix_ms())
    .bind(endpoint.id.as_str())
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn get(conn: Conn<'_>, id: &WebhookEndpointId) -> Result<Option<WebhookEndpoint>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM webhook_endpoints WHERE id = $1");
    let row = query_built(sql).bind(id.as_str()).fetch_optional(conn).await?;
    row.map(|row| endpoint_from_row(&row)).transpose()
}

/// A merchant's endpoints in one mode, oldest first, after `starting_after`; deleted
/// ones left out.
pub async fn list(
    conn: Conn<'_>,
    merchant_id: &MerchantId,
    livemode: bool,
    starting_after: Option<&WebhookEndpointId>,
    limit: u32,
) -> Result<Vec<WebhookEndpoint>, StoreError> {
    let after = starting_after.map_or("", WebhookEndpointId::as_str);
    let sql = format!(
        "SELECT {COLUMNS} FROM webhook_endpoints
         WHERE merchant_id = $1 AND livemode = $2 AND status <> 'deleted' AND id > $3 ORDER BY id LIMIT $4"
    );
    let rows = query_built(sql)
        .bind(merchant_id.as_str())
        .bind(livemode)
        .bind(after)
        .bind(i64::from(limit))
        .fetch_all(conn)
        .await?;
    rows.iter().map(endpoint_from_row).collect()
}

/// How many endpoints, not deleted, a merchant has in one mode.
pub async fn count(conn: Conn<'_>, merchant_id: &MerchantId, livemode: bool) -> Result<u64, StoreError> {
    let count: i64 = query(
        "SELECT COUNT(*) FROM webhook_endpoints WHERE merchant_id = $1 AND livemode = $2 AND status <> 'deleted'",
    )
    .bind(merchant_id.as_str())
    .bind(livemode)
    .fetch_one_as(conn)
    .await?;
    Ok(u64::try_from(count).unwrap_or(0))
}

fn endpoint_from_row(row: &impl Columns) -> Result<WebhookEndpoint, StoreError> {
    let bad = |column| move || corrupt("webhook_endpoints", column);
    let time = |column: &'static str| Timestamp::from_unix_ms(row.int(column)?).ok_or_else(bad(column));
    let retiring = match (row.text_opt("previous_secret_ciphertext")?, row.int_opt("previous_secret_expires_at_ms")?) {
        (Some(ciphertext), Some(ms)) => {
            let expires_at = Timestamp::from_unix_ms(ms).ok_or_else(bad("previous_secret_expires_at_ms"))?;
            Some(RetiringSecret { ciphertext, expires_at })
        }
        _ => None,
    };
    let disabled_reason = match row.text_opt("disabled_reason")? {
        Some(text) => Some(DisabledReason::parse(&text).ok_or_else(bad("disabled_reason"))?),
        None => None,
    };
    Ok(WebhookEndpoint {
        id: WebhookEndpointId::parse(&row.text("id")?).map_err(|_| bad("id")())?,
        merchant_id: MerchantId::parse(&row.text("merchant_id")?).map_err(|_| bad("merchant_id")())?,
        livemode: row.flag("livemode")?,
        url: row.text("url")?,
        description: row.text_opt("description")?,
        enabled_events: EnabledEvents::from_stored(&row.text("enabled_events")?).ok_or_else(bad("enabled_events"))?,
        status: EndpointStatus::parse(&row.text("status")?).ok_or_else(bad("status"))?,
        disabled_reason,
        secret: SealedSecret { ciphertext: row.text("secret_ciphertext")?, hint: row.text("secret_hint")? },
        retiring,
        created: time("created_at_ms")?,
        updated: time("updated_at_ms")?,
    })
}

/// A merchant's notification secret in one mode, with the one it replaced while that
/// still signs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotificationSecret {
    pub secret: SealedSecret,
    pub retiring: Option<RetiringSecret>,
    /// Whether the merchant has read it in full; it is shown once.
    pub revealed: bool,
    pub created: Timestamp,
}

pub async fn notification_secret(
    conn: Conn<'_>,
    merchant_id: &MerchantId,
    livemode: bool,
) -> Result<Option<NotificationSecret>, StoreError> {
    type Row = (String, String, Option<String>, Option<i64>, bool, i64);
    let row: Option<Row> = query(
        "SELECT secret_ciphertext, secret_hint, previous_secret_ciphertext, previous_secret_expires_at_ms,
             revealed, created_at_ms
         FROM notification_secrets WHERE merchant_id = $1 AND livemode = $2",
    )
    .bind(merchant_id.as_str())
    .bind(livemode)
    .fetch_optional_as(conn)
    .await?;
    let bad = || corrupt("notification_secrets", "created_at_ms");
    row.map(|(ciphertext, hint, previous, expires_ms, revealed, created_ms)| {
        let retiring = match (previous, expires_ms.map(Timestamp::from_unix_ms)) {
            (Some(ciphertext), Some(Some(expires_at))) => Some(RetiringSecret { ciphertext, expires_at }),
            (None, None) => None,
            _ => return Err(bad()),
        };
        let created = Timestamp::from_unix_ms(created_ms).ok_or_else(bad)?;
        Ok(NotificationSecret { secret: SealedSecret { ciphertext, hint }, retiring, revealed, created })
    })
    .transpose()
}

/// How [`put_notification_secret`] treats a secret already there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Put {
    /// Keep it: of two first reads racing, one creates and the other must not replace it.
    IfAbsent,
    Replace,
}

/// Stores a merchant's notification secret for one mode; returns whether it was stored.
pub async fn put_notification_secret(
    conn: Conn<'_>,
    merchant_id: &MerchantId,
    livemode: bool,
    secret: &NotificationSecret,
    put: Put,
    now: Timestamp,
) -> Result<bool, StoreError> {
    let stored = query(
        "INSERT INTO notification_secrets (merchant_id, livemode, secret_ciphertext, secret_hint,
                 previous_secret_ciphertext, previous_secret_expires_at_ms, created_at_ms, updated_at_ms, revealed)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $10)
             ON CONFLICT (merchant_id, livemode) DO UPDATE SET secret_ciphertext = excluded.secret_ciphertext,
                 secret_hint = excluded.secret_hint, previous_secret_ciphertext = excluded.previous_secret_ciphertext,
                 previous_secret_expires_at_ms = excluded.previous_secret_expires_at_ms,
                 updated_at_ms = excluded.updated_at_ms, revealed = excluded.revealed
             WHERE $9",
    )
    .bind(merchant_id.as_str())
    .bind(livemode)
    .bind(&secret.secret.ciphertext)
    .bind(&secret.secret.hint)
    .bind(secret.retiring.as_ref().map(|r| r.ciphertext.as_str()))
    .bind(secret.retiring.as_ref().map(|r| r.expires_at.unix_ms()))
    .bind(secret.created.unix_ms())
    .bind(now.unix_ms())
    .bind(put == Put::Replace)
    .bind(secret.revealed)
    .execute(conn)
    .await?;
    Ok(stored == 1)
}

/// Records that the merchant has read its notification secret in full.
pub async fn mark_notification_secret_revealed(
    conn: Conn<'_>,
    merchant_id: &MerchantId,
    livemode: bool,
) -> Result<(), StoreError> {
    query("UPDATE notification_secrets SET revealed = TRUE WHERE merchant_id = $1 AND livemode = $2")
        .bind(merchant_id.as_str())
        .bind(livemode)
        .execute(conn)
        .await?;
    Ok(())
}
