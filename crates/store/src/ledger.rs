//! The ledger: immutable journal entries and their postings, with a cached balance per
//! account kept in the same transaction.

use payrail_domain::ledger::{AccountKey, AccountOwner, JournalEntry};
use payrail_domain::{JournalEntryId, MerchantId, PaymentId, RefundId, Timestamp};

use crate::error::corrupt;
use crate::query::{query, query_built};
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
    query(
        "INSERT INTO journal_entries (id, kind, livemode, merchant_id, payment_id, refund_id, created_at_ms)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(id.as_str())
    .bind(entry.kind().as_str())
    .bind(livemode)
    .bind(links.merchant_id.map(MerchantId::as_str))
    .bind(links.payment_id.map(PaymentId::as_str))
    .bind(links.refund_id.map(RefundId::as_str))
    .bind(now.unix_ms())
    .execute(conn.reborrow())
    .await?;
    move_balances(conn.reborrow(), entry, now).await?;
    insert_postings(conn, id, entry).await?;
    Ok(())
}

/// Opens each account the entry touches on its first posting and moves its cached balance
/// by the entry's net for it, every account in one statement. Summed per account first,
/// because one statement may not change the same row twice (PostgreSQL refuses it).
async fn move_balances(conn: Conn<'_>, entry: &JournalEntry, now: Timestamp) -> Result<(), StoreError> {
    let mut moves: Vec<(&AccountKey, i64)> = Vec::with_capacity(entry.postings().len());
    for posting in entry.postings() {
        match moves.iter_mut().find(|(account, _)| **account == posting.account) {
            Some((_, net)) => {
                *net = net.checked_add(posting.amount_minor).ok_or_else(|| corrupt("postings", "amount_minor"))?;
            }
            None => moves.push((&posting.account, posting.amount_minor)),
        }
    }
    let rows: Vec<String> = (0..moves.len())
        .map(|row| {
            let p = row * 6;
            format!("(${}, ${}, ${}, ${}, ${}, ${}, $1, $1)", p + 2, p + 3, p + 4, p + 5, p + 6, p + 7)
        })
        .collect();
    let sql = format!(
        "INSERT INTO ledger_accounts (code, livemode, currency, purpose, merchant_id, balance_minor,
             created_at_ms, updated_at_ms)
         VALUES {}
         ON CONFLICT (code) DO UPDATE SET balance_minor = ledger_accounts.balance_minor + excluded.balance_minor,
             updated_at_ms = excluded.updated_at_ms",
        rows.join(", ")
    );
    let mut query = query_built(sql).bind(now.unix_ms());
    for (account, net) in &moves {
        let merchant = match account.owner() {
            AccountOwner::Merchant(id) => Some(id.as_str()),
            AccountOwner::Platform => None,
        };
        query = query
            .bind(account.code())
            .bind(account.livemode())
            .bind(account.currency().code())
            .bind(account.purpose().as_str())
            .bind(merchant)
            .bind(*net);
    }
    query.execute(conn).await?;
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
    let mut query = query_built(sql);
    for (position, posting) in entry.postings().iter().enumerate() {
        query = query
            .bind(id.as_str())
            .bind(i64::try_from(position).unwrap_or(i64::MAX))
            .bind(posting.account.code())
            .bind(posting.account.currency().code())
            .bind(posting.amount_minor);
    }
    query.execute(conn).await?;
    Ok(())
}

/// A merchant's cached balances in one mode: (currency, purpose, balance).
pub async fn merchant_balances(
    conn: Conn<'_>,
    merchant_id: &MerchantId,
    livemode: bool,
) -> Result<Vec<(String, String, i64)>, StoreError> {
    query(
        "SELECT currency, purpose, balance_minor FROM ledger_accounts
         WHERE merchant_id = $1 AND livemode = $2 ORDER BY currency, purpose",
    )
    .bind(merchant_id.as_str())
    .bind(livemode)
    .fetch_all_as(conn)
    .await
}

/// The fee charged on a payment's captures: what they credited to platform fee revenue.
pub async fn fee_charged(conn: Conn<'_>, payment_id: &PaymentId) -> Result<i64, StoreError> {
    let credited: Option<i64> = query(
        "SELECT CAST(SUM(p.amount_minor) AS BIGINT) FROM postings p JOIN journal_entries e ON e.id = p.entry_id
         WHERE e.payment_id = $1 AND e.kind = 'payment_captured' AND p.account_code LIKE '%:platform_fee_revenue'",
    )
    .bind(payment_id.as_str())
    .fetch_one_as(conn)
    .await?;
    credited.unwrap_or(0).checked_neg().ok_or_else(|| crate::error::corrupt("postings", "amount_minor"))
}
