//! Schema migrations, embedded in the binary and applied in order, once.
//!
//! Invariant: several processes may migrate one database at once; exactly one applies
//! each migration. SQLite serializes them with `BEGIN IMMEDIATE`, PostgreSQL with a
//! transaction-scoped advisory lock (DDL is transactional there, so a failed migration
//! leaves nothing behind on either engine).

use payrail_domain::Timestamp;

use crate::query::query;
use crate::{Conn, Store, StoreError};

/// One schema change, written in the SQL both engines accept.
pub struct Migration {
    pub version: i64,
    pub name: &'static str,
    pub sql: &'static str,
}

pub const MIGRATIONS: &[Migration] = &[
    Migration { version: 1, name: "foundation", sql: include_str!("../migrations/0001_foundation.sql") },
    Migration { version: 2, name: "idempotency", sql: include_str!("../migrations/0002_idempotency.sql") },
    Migration { version: 3, name: "payments", sql: include_str!("../migrations/0003_payments.sql") },
    Migration {
        version: 4,
        name: "journal_entries_by_refund",
        sql: include_str!("../migrations/0004_journal_by_refund.sql"),
    },
    Migration { version: 5, name: "fee_schedules", sql: include_str!("../migrations/0005_fee_schedules.sql") },
    Migration {
        version: 6,
        name: "idempotency_progress",
        sql: include_str!("../migrations/0006_idempotency_progress.sql"),
    },
    Migration { version: 7, name: "jobs", sql: include_str!("../migrations/0007_jobs.sql") },
    Migration { version: 8, name: "webhooks", sql: include_str!("../migrations/0008_webhooks.sql") },
    Migration {
        version: 9,
        name: "inbound_notifications",
        sql: include_str!("../migrations/0009_inbound_notifications.sql"),
    },
    Migration { version: 10, name: "payment_queries", sql: include_str!("../migrations/0010_payment_queries.sql") },
    Migration { version: 11, name: "refund_queries", sql: include_str!("../migrations/0011_refund_queries.sql") },
    Migration { version: 12, name: "alipay_payments", sql: include_str!("../migrations/0012_alipay_payments.sql") },
    Migration {
        version: 13,
        name: "channel_accounts_late_success",
        sql: include_str!("../migrations/0013_channel_accounts_late_success.sql"),
    },
    Migration { version: 14, name: "sandbox_accounts", sql: include_str!("../migrations/0014_sandbox_accounts.sql") },
];

/// An arbitrary constant naming Payrail's migration lock among PostgreSQL advisory locks.
const POSTGRES_MIGRATION_LOCK: i64 = 0x7061_7972_6169_6c00;

const CREATE_LEDGER: &str = "CREATE TABLE IF NOT EXISTS payrail_migrations (
    version BIGINT PRIMARY KEY,
    name TEXT NOT NULL,
    applied_at_ms BIGINT NOT NULL
)";

impl Store {
    /// Applies every migration the database lacks; returns the versions applied.
    pub async fn migrate(&self, now: Timestamp) -> Result<Vec<i64>, StoreError> {
        let mut tx = self.begin().await?;
        if let Conn::Postgres(c) = tx.conn() {
            sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(POSTGRES_MIGRATION_LOCK).execute(&mut *c).await?;
        }
        query(CREATE_LEDGER).execute(tx.conn()).await?;
        let applied: Vec<i64> =
            query("SELECT version FROM payrail_migrations ORDER BY version").fetch_all_as(tx.conn()).await?;
        let binary = MIGRATIONS.last().map_or(0, |m| m.version);
        if let Some(&database) = applied.last().filter(|&&v| v > binary) {
            return Err(StoreError::SchemaTooNew { database, binary });
        }
        let mut newly_applied = Vec::new();
        for migration in MIGRATIONS.iter().filter(|m| !applied.contains(&m.version)) {
            run_script(tx.conn(), migration.sql).await?;
            query("INSERT INTO payrail_migrations (version, name, applied_at_ms) VALUES ($1, $2, $3)")
                .bind(migration.version)
                .bind(migration.name)
                .bind(now.unix_ms())
                .execute(tx.conn())
                .await?;
            newly_applied.push(migration.version);
        }
        tx.commit().await?;
        Ok(newly_applied)
    }
}

/// Runs a migration's statements, several to a script and without parameters.
async fn run_script(conn: Conn<'_>, sql: &'static str) -> Result<(), StoreError> {
    match conn {
        Conn::Direct(c) => c.execute_batch(sql).map_err(crate::direct::from_sqlite)?,
        Conn::Sqlite(c) => {
            sqlx::raw_sql(sql).execute(&mut *c).await?;
        }
        Conn::Postgres(c) => {
            sqlx::raw_sql(sql).execute(&mut *c).await?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::MIGRATIONS;

    #[test]
    fn migration_versions_are_dense_and_ascending() {
        for (index, migration) in MIGRATIONS.iter().enumerate() {
            assert_eq!(migration.version, i64::try_from(index).expect("few") + 1, "{}", migration.name);
        }
    }
}
