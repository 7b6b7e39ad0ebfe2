//! Merchants.

use payrail_domain::{Merchant, MerchantId, MerchantName, MerchantStatus, Timestamp};

use crate::conn::Columns;
use crate::error::corrupt;
use crate::query::{query, query_built};
use crate::{Conn, StoreError};

const COLUMNS: &str = "id, name, status, created_at_ms";

pub async fn insert(conn: Conn<'_>, merchant: &Merchant) -> Result<(), StoreError> {
    let created = merchant.created.unix_ms();
    query("INSERT INTO merchants (id, name, status, created_at_ms, updated_at_ms) VALUES ($1, $2, $3, $4, $4)")
        .bind(merchant.id.as_str())
        .bind(merchant.name.as_str())
        .bind(merchant.status.as_str())
        .bind(created)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn get(conn: Conn<'_>, id: &MerchantId) -> Result<Option<Merchant>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM merchants WHERE id = $1");
    let row = query_built(sql).bind(id.as_str()).fetch_optional(conn).await?;
    row.map(|row| merchant_from_row(&row, "")).transpose()
}

/// Merchants oldest first, after `starting_after` when given, at most `limit`.
pub async fn list(
    conn: Conn<'_>,
    starting_after: Option<&MerchantId>,
    limit: u32,
) -> Result<Vec<Merchant>, StoreError> {
    let after = starting_after.map_or("", MerchantId::as_str);
    let sql = format!("SELECT {COLUMNS} FROM merchants WHERE id > $1 ORDER BY id LIMIT $2");
    let rows = query_built(sql).bind(after).bind(i64::from(limit)).fetch_all(conn).await?;
    rows.iter().map(|row| merchant_from_row(row, "")).collect()
}

/// Sets a merchant's status; the caller has checked the transition. Returns whether the
/// merchant exists.
pub async fn set_status(
    conn: Conn<'_>,
    id: &MerchantId,
    status: MerchantStatus,
    now: Timestamp,
) -> Result<bool, StoreError> {
    let updated = query("UPDATE merchants SET status = $1, updated_at_ms = $2 WHERE id = $3")
        .bind(status.as_str())
        .bind(now.unix_ms())
        .bind(id.as_str())
        .execute(conn)
        .await?;
    Ok(updated == 1)
}

/// Reads a merchant from a row whose merchant columns carry `prefix` (for joins).
pub(crate) fn merchant_from_row(row: &impl Columns, prefix: &str) -> Result<Merchant, StoreError> {
    let column = |name: &str| format!("{prefix}{name}");
    Ok(Merchant {
        id: MerchantId::parse(&row.text(&column("id"))?).map_err(|_| corrupt("merchants", "id"))?,
        name: MerchantName::parse(&row.text(&column("name"))?).map_err(|_| corrupt("merchants", "name"))?,
        status: MerchantStatus::parse(&row.text(&column("status"))?).ok_or_else(|| corrupt("merchants", "status"))?,
        created: Timestamp::from_unix_ms(row.int(&column("created_at_ms"))?)
            .ok_or_else(|| corrupt("merchants", "created_at_ms"))?,
    })
}
