//! Platform operators: the people who run a Payrail installation.

use payrail_domain::{OperatorId, Timestamp};

use crate::query::query;
use crate::{Conn, StoreError};

/// Stores an operator with an already-hashed password (a PHC string).
pub async fn insert(
    conn: Conn<'_>,
    id: &OperatorId,
    email: &str,
    password_hash: &str,
    now: Timestamp,
) -> Result<(), StoreError> {
    query("INSERT INTO operators (id, email, password_hash, created_at_ms) VALUES ($1, $2, $3, $4)")
        .bind(id.as_str())
        .bind(email)
        .bind(password_hash)
        .bind(now.unix_ms())
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn count(conn: Conn<'_>) -> Result<i64, StoreError> {
    query("SELECT COUNT(*) FROM operators").fetch_one_as(conn).await
}
