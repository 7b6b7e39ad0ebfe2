//! API keys, stored as a keyed hash of the secret and a short hint.

use payrail_domain::api_key::LAST_USED_RESOLUTION_MS;
use payrail_domain::{ApiKey, ApiKeyId, Merchant, MerchantId, Mode, Timestamp};

use crate::conn::Columns;
use crate::error::corrupt;
use crate::merchants::merchant_from_row;
use crate::query::{query, query_built};
use crate::{Conn, StoreError};

const COLUMNS: &str =
    "k.id, k.merchant_id, k.livemode, k.secret_hint, k.created_at_ms, k.revoked_at_ms, k.last_used_at_ms";

pub async fn insert(conn: Conn<'_>, key: &ApiKey, secret_hash: &str) -> Result<(), StoreError> {
    query(
        "INSERT INTO api_keys (id, merchant_id, livemode, secret_hash, secret_hint, created_at_ms)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(key.id.as_str())
    .bind(key.merchant_id.as_str())
    .bind(key.mode.is_live())
    .bind(secret_hash)
    .bind(&key.secret_hint)
    .bind(key.created.unix_ms())
    .execute(conn)
    .await?;
    Ok(())
}

/// The key whose secret hashes to `secret_hash`, with its merchant, revoked or not.
pub async fn find_by_secret_hash(conn: Conn<'_>, secret_hash: &str) -> Result<Option<(ApiKey, Merchant)>, StoreError> {
    let sql = format!(
        "SELECT {COLUMNS}, m.id AS m_id, m.name AS m_name, m.status AS m_status, m.created_at_ms AS m_created_at_ms
         FROM api_keys k JOIN merchants m ON m.id = k.merchant_id WHERE k.secret_hash = $1"
    );
    let row = query_built(sql).bind(secret_hash).fetch_optional(conn).await?;
    row.map(|row| Ok((key_from_row(&row)?, merchant_from_row(&row, "m_")?))).transpose()
}

/// One merchant's keys, oldest first; only those of `mode` when given.
pub async fn list(
    conn: Conn<'_>,
    merchant_id: &MerchantId,
    mode: Option<Mode>,
    limit: u32,
) -> Result<Vec<ApiKey>, StoreError> {
    let (test, live) = match mode {
        None => (true, true),
        Some(mode) => (mode == Mode::Test, mode == Mode::Live),
    };
    let sql = format!(
        "SELECT {COLUMNS} FROM api_keys k WHERE k.merchant_id = $1 AND (k.livemode = $2 OR k.livemode <> $3)
         ORDER BY k.id LIMIT $4"
    );
    let rows = query_built(sql)
        .bind(merchant_id.as_str())
        .bind(live)
        .bind(test)
        .bind(i64::from(limit))
        .fetch_all(conn)
        .await?;
    rows.iter().map(key_from_row).collect()
}

/// A key by id, whoever owns it; callers that act for a merchant check the owner.
pub async fn get(conn: Conn<'_>, id: &ApiKeyId) -> Result<Option<ApiKey>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM api_keys k WHERE k.id = $1");
    let row = query_built(sql).bind(id.as_str()).fetch_optional(conn).await?;
    row.map(|row| key_from_row(&row)).transpose()
}

/// Revokes a key that is not yet revoked. Returns whether this call revoked it.
pub async fn revoke(conn: Conn<'_>, id: &ApiKeyId, now: Timestamp) -> Result<bool, StoreError> {
    let updated = query("UPDATE api_keys SET revoked_at_ms = $1 WHERE id = $2 AND revoked_at_ms IS NULL")
        .bind(now.unix_ms())
        .bind(id.as_str())
        .execute(conn)
        .await?;
    Ok(updated == 1)
}

/// Records a use of the key, unless one was recorded less than a minute ago (another
/// request or instance may have done so since the caller read the key).
pub async fn touch_last_used(conn: Conn<'_>, id: &ApiKeyId, now: Timestamp) -> Result<(), StoreError> {
    let stale_before = now.unix_ms() - LAST_USED_RESOLUTION_MS;
    query(
        "UPDATE api_keys SET last_used_at_ms = $1
         WHERE id = $2 AND (last_used_at_ms IS NULL OR last_used_at_ms <= $3)",
    )
    .bind(now.unix_ms())
    .bind(id.as_str())
    .bind(stale_before)
    .execute(conn)
    .await?;
    Ok(())
}

fn key_from_row(row: &impl Columns) -> Result<ApiKey, StoreError> {
    let time = |column: &str| Timestamp::from_unix_ms(row.int(column)?).ok_or_else(|| corrupt("api_keys", column));
    let optional_time = |column: &str| -> Result<Option<Timestamp>, StoreError> {
        row.int_opt(column)?
            .map(|ms| Timestamp::from_unix_ms(ms).ok_or_else(|| corrupt("api_keys", column)))
            .transpose()
    };
    Ok(ApiKey {
        id: ApiKeyId::parse(&row.text("id")?).map_err(|_| corrupt("api_keys", "id"))?,
        merchant_id: MerchantId::parse(&row.text("merchant_id")?).map_err(|_| corrupt("api_keys", "merchant_id"))?,
        mode: if row.flag("livemode")? { Mode::Live } else { Mode::Test },
        secret_hint: row.text("secret_hint")?,
        created: time("created_at_ms")?,
        revoked: optional_time("revoked_at_ms")?,
        last_used: optional_time("last_used_at_ms")?,
    })
}
