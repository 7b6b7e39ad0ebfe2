//! The ledger: immutable journal entries and their postings, with a cached balance per
//! account kept in the same transaction.

use payrail_domain::ledger::{AccountOwner, JournalEntry};
use payrail_domain::{JournalEntryId, MerchantId, PaymentId, RefundId, Timestamp};

use crate::conn::{execute, on_engine};
use crate::{Conn, StoreError};

/// What an entry is about, for finding it again.
pub struct EntryLinks<'a> {
    pub merchant_id: Option<&'a MerchantId>,
    pub payment_id: Option<&'a PaymentId>,
    pub refund_id: Option<&'a RefundId>,
}

/// Writes a balanced entry, its postings and the balances they change.
pub async fn post(
    mut conn: Conn<'_>,
    id: &JournalEntryId,
    entry: &JournalEntry,
    links: &EntryLinks<'_>,
    now: Timestamp,
) -> Result<(), StoreError> {
    // Asserted before writing; `verify` asserts it again after reading.
    entry.assert_balanced();
    let livemode = entry.postings()[0].account.livemode();
    execute!(
        conn.reborrow(),
        sqlx::query(
            "INSERT INTO journal_entries (id, kind, livemode, merchant_id, payment_id, refund_id, created_at_ms)
             VALUES ($1, $2, $3, $4, $5, $6, $7)"
        )
        .bind(id.as_str())
        .bind(entry.kind().as_str())
        .bind(livemode)
        .bind(links.merchant_id.map(MerchantId::as_str))
        .bind(links.payment_id.map(PaymentId::as_str))
        .bind(links.refund_id.map(RefundId::as_str))
        .bind(now.unix_ms())
    )?;
    for posting in entry.postings() {
        let account = &posting.account;
        let merchant = match account.owner() {
            AccountOwner::Merchant(id) => Some(id.as_str()),
            AccountOwner::Platform => None,
        };
        // One statement opens the account on its first posting and moves its cached balance.
        execute!(
            conn.reborrow(),
            sqlx::query(
                "INSERT INTO ledger_accounts (code, livemode, currency, purpose, merchant_id, balance_minor,
                     created_at_ms, updated_at_ms)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $7)
                 ON CONFLICT (code) DO UPDATE SET balance_minor = ledger_accounts.balance_minor + excluded.balance_minor,
                     updated_at_ms = excluded.updated_at_ms"
            )
            .bind(account.code())
            .bind(account.livemode())
            .bind(account.currency().code())
            .bind(account.purpose().as_str())
            .bind(merchant)
            .bind(posting.amount_minor)
            .bind(now.unix_ms())
        )?;
    }
    insert_postings(conn, id, entry).await?;
    Ok(())
}

/// Every posting of an entry in one statement: an entry holds at most `POSTINGS_MAX`.
async fn insert_postings(conn: Conn<'_>, id: &JournalEntryId, entry: &JournalEntry) -> Result<(), StoreError> {
    let rows: Vec<String> = (0..entry.postings().len())
        .map(|row| {
            let first = row * 5 + 1;
            format!("(${}, ${}, ${}, ${}, ${})", first, first + 1, first + 2, first + 3, first + 4)
        })
        .collect();
    let sql = format!(
        "INSERT INTO postings (entry_id, position, account_code, currency, amount_minor) VALUES {}",
        rows.join(", ")
    );
    let sql = sqlx::AssertSqlSafe(sql);
    on_engine!(conn, c => {
        let mut query = sqlx::query(sql);
        for (position, posting) in entry.postings().iter().enumerate() {
            query = query
                .bind(id.as_str())
                .bind(i64::try_from(position).unwrap_or(i64::MAX))
                .bind(posting.account.code())
                .bind(posting.account.currency().code())
                .bind(posting.amount_minor);
        }
        query.execute(&mut *c).await.map(drop)
    })?;
    Ok(())
}

/// A merchant's cached balances in one mode: (currency, purpose, balance).
pub async fn merchant_balances(
    conn: Conn<'_>,
    merchant_id: &MerchantId,
    livemode: bool,
) -> Result<Vec<(String, String, i64)>, StoreError> {
    Ok(on_engine!(conn, c => sqlx::query_as(
        "SELECT currency, purpose, balance_minor FROM ledger_accounts
         WHERE merchant_id = $1 AND livemode = $2 ORDER BY currency, purpose")
        .bind(merchant_id.as_str()).bind(livemode).fetch_all(&mut *c).await)?)
}

/// The fee charged on a payment's captures: what they credited to platform fee revenue.
pub async fn fee_charged(conn: Conn<'_>, payment_id: &PaymentId) -> Result<i64, StoreError> {
    let credited: Option<i64> = on_engine!(conn, c => sqlx::query_scalar(
        "SELECT CAST(SUM(p.amount_minor) AS BIGINT) FROM postings p JOIN journal_entries e ON e.id = p.entry_id
         WHERE e.payment_id = $1 AND e.kind = 'payment_captured' AND p.account_code LIKE '%:platform_fee_revenue'")
        .bind(payment_id.as_str()).fetch_one(&mut *c).await)?;
    credited.unwrap_or(0).checked_neg().ok_or_else(|| crate::error::corrupt("postings", "amount_minor"))
}
