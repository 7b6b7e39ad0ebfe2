//! Server-wide settings kept in the database: the server-key check value and the
//! first-start marker. Never the keys themselves.

use payrail_domain::Timestamp;

use crate::query::query;
use crate::{Conn, StoreError};

/// Records `value` under `name` unless something is already recorded there. Returns
/// whether this call recorded it. Two callers racing on one name: exactly one wins.
pub async fn insert_if_absent(conn: Conn<'_>, name: &str, value: &str, now: Timestamp) -> Result<bool, StoreError> {
    let result = query(
        "INSERT INTO server_settings (name, value, created_at_ms) VALUES ($1, $2, $3)
         ON CONFLICT (name) DO NOTHING",
    )
    .bind(name)
    .bind(value)
    .bind(now.unix_ms())
    .execute(conn)
    .await?;
    Ok(result == 1)
}

pub async fn get(conn: Conn<'_>, name: &str) -> Result<Option<String>, StoreError> {
    query("SELECT value FROM server_settings WHERE name = $1").bind(name).fetch_optional_as(conn).await
}
