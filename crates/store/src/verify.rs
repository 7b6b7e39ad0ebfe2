//! Read-only queries for `payrail ledger verify`: the ledger and the money movements it
//! records, read back as plain rows. Deciding what is wrong is the service's job; these
//! queries only gather, so that a tampered database is reported rather than trusted.
//!
//! Every scan is keyset-paged (`after`, `rows_max`) and runs inside one [`Snapshot`], so a
//! server writing meanwhile cannot make two pages, or two scans, disagree.
//!
//! Sums are cast to BIGINT because PostgreSQL sums BIGINTs into NUMERIC; a sum beyond the
//! i64 range makes the query fail, which is an error, never a wrong answer.

use sqlx::{Connection, PgConnection, Postgres, Sqlite, SqliteConnection};

use crate::conn::Columns;
use crate::query::query;
use crate::{Conn, StoreError};

/// A read transaction that sees one consistent state of the database until it ends.
/// Dropping it rolls it back, which for a reader is the same as ending it.
pub struct Snapshot<'c>(SnapshotInner<'c>);

enum SnapshotInner<'c> {
    Sqlite(sqlx::Transaction<'c, Sqlite>),
    Postgres(sqlx::Transaction<'c, Postgres>),
}

impl<'c> Snapshot<'c> {
    /// Begins the snapshot on a connection that is in no transaction (a [`crate::Reader`]'s).
    pub async fn begin(conn: Conn<'c>) -> Result<Snapshot<'c>, StoreError> {
        Ok(Snapshot(match conn {
            Conn::Direct(_) => {
                return Err(StoreError::Configuration("a snapshot is taken on a reader, not the committer".into()));
            }
            // A deferred BEGIN takes no lock; the snapshot starts at the first read (WAL).
            Conn::Sqlite(c) => SnapshotInner::Sqlite(SqliteConnection::begin(c).await?),
            // Statements in READ COMMITTED each see their own snapshot; these must share one.
            Conn::Postgres(c) => SnapshotInner::Postgres(
                PgConnection::begin_with(c, "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY").await?,
            ),
        }))
    }

    pub fn conn(&mut self) -> Conn<'_> {
        match &mut self.0 {
            SnapshotInner::Sqlite(tx) => Conn::Sqlite(tx),
            SnapshotInner::Postgres(tx) => Conn::Postgres(tx),
        }
    }

    /// Ends the snapshot. Nothing was written, so rolling back loses nothing.
    pub async fn end(self) -> Result<(), StoreError> {
        match self.0 {
            SnapshotInner::Sqlite(tx) => tx.rollback().await?,
            SnapshotInner::Postgres(tx) => tx.rollback().await?,
        }
        Ok(())
    }
}

/// One journal entry's postings in one currency. An entry without any posting appears once,
/// with no currency and zero postings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryTotal {
    pub entry_id: String,
    pub currency: Option<String>,
    pub postings: i64,
    pub total_minor: i64,
}

/// The totals of up to `entries_max` whole entries after `after`, by entry id then currency.
/// The limit counts entries, not rows, so no entry is split across two pages.
pub async fn entry_totals(conn: Conn<'_>, after: &str, entries_max: u32) -> Result<Vec<EntryTotal>, StoreError> {
    let rows = query(
        "SELECT e.id AS entry_id, p.currency, COUNT(p.entry_id) AS postings,
             CAST(COALESCE(SUM(p.amount_minor), 0) AS BIGINT) AS total_minor
         FROM (SELECT id FROM journal_entries WHERE id > $1 ORDER BY id LIMIT $2) e
         LEFT JOIN postings p ON p.entry_id = e.id
         GROUP BY e.id, p.currency ORDER BY e.id, p.currency",
    )
    .bind(after)
    .bind(i64::from(entries_max))
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(EntryTotal {
                entry_id: row.text("entry_id")?,
                currency: row.text_opt("currency")?,
                postings: row.int("postings")?,
                total_minor: row.int("total_minor")?,
            })
        })
        .collect()
}

/// What an entry says it records, and the state of the payment and refund it names as
/// found (`None` status: the row it names does not exist).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryLink {
    pub entry_id: String,
    pub kind: String,
    pub payment_id: Option<String>,
    pub payment_status: Option<String>,
    pub payment_captured_minor: Option<i64>,
    pub refund_id: Option<String>,
    pub refund_status: Option<String>,
}

pub async fn entry_links(conn: Conn<'_>, after: &str, rows_max: u32) -> Result<Vec<EntryLink>, StoreError> {
    let rows = query(
        "SELECT e.id AS entry_id, e.kind, e.payment_id, p.status AS payment_status,
             p.amount_captured_minor AS payment_captured_minor, e.refund_id, r.status AS refund_status
         FROM journal_entries e
         LEFT JOIN payments p ON p.id = e.payment_id
         LEFT JOIN refunds r ON r.id = e.refund_id
         WHERE e.id > $1 ORDER BY e.id LIMIT $2",
    )
    .bind(after)
    .bind(i64::from(rows_max))
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(EntryLink {
                entry_id: row.text("entry_id")?,
                kind: row.text("kind")?,
                payment_id: row.text_opt("payment_id")?,
                payment_status: row.text_opt("payment_status")?,
                payment_captured_minor: row.int_opt("payment_captured_minor")?,
                refund_id: row.text_opt("refund_id")?,
                refund_status: row.text_opt("refund_status")?,
            })
        })
        .collect()
}

/// An account's cached balance beside the sum of its postings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountTotal {
    pub code: String,
    pub balance_minor: i64,
    pub postings: i64,
    pub postings_minor: i64,
}

pub async fn account_totals(conn: Conn<'_>, after: &str, rows_max: u32) -> Result<Vec<AccountTotal>, StoreError> {
    let rows = query(
        "SELECT a.code, a.balance_minor, COUNT(p.entry_id) AS postings,
             CAST(COALESCE(SUM(p.amount_minor), 0) AS BIGINT) AS postings_minor
         FROM (SELECT code, balance_minor FROM ledger_accounts WHERE code > $1 ORDER BY code LIMIT $2) a
         LEFT JOIN postings p ON p.account_code = a.code
         GROUP BY a.code, a.balance_minor ORDER BY a.code",
    )
    .bind(after)
    .bind(i64::from(rows_max))
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(AccountTotal {
                code: row.text("code")?,
                balance_minor: row.int("balance_minor")?,
                postings: row.int("postings")?,
                postings_minor: row.int("postings_minor")?,
            })
        })
        .collect()
}

/// A payment's amounts beside its refunds and its `payment_captured` entries. The
/// receivable total counts only postings in the payment's currency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentMovement {
    pub payment_id: String,
    pub status: String,
    pub amount_minor: i64,
    pub capturable_minor: i64,
    pub captured_minor: i64,
    pub refunded_minor: i64,
    pub refunds_succeeded_minor: i64,
    pub refunds_pending_minor: i64,
    pub capture_entries: i64,
    pub capture_receivable_minor: i64,
}

pub async fn payment_movements(conn: Conn<'_>, after: &str, rows_max: u32) -> Result<Vec<PaymentMovement>, StoreError> {
    let rows = query(
        "SELECT p.id, p.status, p.amount_minor, p.amount_capturable_minor, p.amount_captured_minor,
             p.amount_refunded_minor,
             (SELECT CAST(COALESCE(SUM(r.amount_minor), 0) AS BIGINT) FROM refunds r
               WHERE r.payment_id = p.id AND r.status = 'succeeded') AS refunds_succeeded_minor,
             (SELECT CAST(COALESCE(SUM(r.amount_minor), 0) AS BIGINT) FROM refunds r
               WHERE r.payment_id = p.id AND r.status = 'pending') AS refunds_pending_minor,
             (SELECT COUNT(*) FROM journal_entries e
               WHERE e.payment_id = p.id AND e.kind = 'payment_captured') AS capture_entries,
             (SELECT CAST(COALESCE(SUM(po.amount_minor), 0) AS BIGINT) FROM journal_entries e
               JOIN postings po ON po.entry_id = e.id JOIN ledger_accounts a ON a.code = po.account_code
               WHERE e.payment_id = p.id AND e.kind = 'payment_captured'
                 AND a.purpose = 'channel_receivable' AND po.currency = p.currency) AS capture_receivable_minor
         FROM payments p WHERE p.id > $1 ORDER BY p.id LIMIT $2",
    )
    .bind(after)
    .bind(i64::from(rows_max))
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(PaymentMovement {
                payment_id: row.text("id")?,
                status: row.text("status")?,
                amount_minor: row.int("amount_minor")?,
                capturable_minor: row.int("amount_capturable_minor")?,
                captured_minor: row.int("amount_captured_minor")?,
                refunded_minor: row.int("amount_refunded_minor")?,
                refunds_succeeded_minor: row.int("refunds_succeeded_minor")?,
                refunds_pending_minor: row.int("refunds_pending_minor")?,
                capture_entries: row.int("capture_entries")?,
                capture_receivable_minor: row.int("capture_receivable_minor")?,
            })
        })
        .collect()
}

/// A refund beside its `refund_succeeded` entries. A refund credits the receivable, so a
/// correct entry's receivable total is the refund's amount negated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundMovement {
    pub refund_id: String,
    pub payment_id: String,
    pub status: String,
    pub amount_minor: i64,
    pub refund_entries: i64,
    pub refund_receivable_minor: i64,
}

pub async fn refund_movements(conn: Conn<'_>, after: &str, rows_max: u32) -> Result<Vec<RefundMovement>, StoreError> {
    // No index covers journal_entries.refund_id, so each refund scans the entries; fine at
    // today's sizes, and the place to look first if verification grows slow.
    let rows = query(
        "SELECT r.id, r.payment_id, r.status, r.amount_minor,
             (SELECT COUNT(*) FROM journal_entries e
               WHERE e.refund_id = r.id AND e.kind = 'refund_succeeded') AS refund_entries,
             (SELECT CAST(COALESCE(SUM(po.amount_minor), 0) AS BIGINT) FROM journal_entries e
               JOIN postings po ON po.entry_id = e.id JOIN ledger_accounts a ON a.code = po.account_code
               WHERE e.refund_id = r.id AND e.kind = 'refund_succeeded'
                 AND a.purpose = 'channel_receivable' AND po.currency = r.currency) AS refund_receivable_minor
         FROM refunds r WHERE r.id > $1 ORDER BY r.id LIMIT $2",
    )
    .bind(after)
    .bind(i64::from(rows_max))
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(RefundMovement {
                refund_id: row.text("id")?,
                payment_id: row.text("payment_id")?,
                status: row.text("status")?,
                amount_minor: row.int("amount_minor")?,
                refund_entries: row.int("refund_entries")?,
                refund_receivable_minor: row.int("refund_receivable_minor")?,
            })
        })
        .collect()
}
