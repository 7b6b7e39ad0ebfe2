//! A merchant's journal entries with their postings, a page at a time: what
//! `GET /v1/balance_transactions` shows. Entries without a merchant (the platform's own)
//! are never read here.

use payrail_domain::ledger::{AccountKey, EntryKind, Posting};
use payrail_domain::{JournalEntryId, MerchantId, PaymentId, RefundId, Timestamp};

use crate::conn::Columns;
use crate::error::corrupt;
use crate::query::query_built;
use crate::{Conn, StoreError};

/// Which page: entry ids sort by posting time, so the cursor is an id (as for payments).
#[derive(Debug, Clone)]
pub enum EntryCursor {
    /// The newest entries.
    First,
    /// Older than this one.
    After(JournalEntryId),
    /// Newer than this one.
    Before(JournalEntryId),
}

/// The object an entry records, as the `source` filter names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntrySource {
    /// The capture of this payment; its refunds are their own sources.
    Payment(PaymentId),
    Refund(RefundId),
}

/// Filters for listing one merchant's entries in one mode.
#[derive(Debug, Clone, Default)]
pub struct EntryFilter {
    pub kind: Option<EntryKind>,
    pub source: Option<EntrySource>,
}

/// One journal entry as stored, postings in their written order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEntry {
    pub id: JournalEntryId,
    pub kind: EntryKind,
    pub livemode: bool,
    pub payment_id: Option<PaymentId>,
    pub refund_id: Option<RefundId>,
    pub created: Timestamp,
    pub postings: Vec<Posting>,
}

/// Newest first, at most `limit` + 1 entries so the caller can tell whether there are more.
/// With [`EntryCursor::Before`] the extra entry is the newest one, as for payments.
pub async fn list(
    conn: Conn<'_>,
    merchant_id: &MerchantId,
    livemode: bool,
    filter: &EntryFilter,
    cursor: &EntryCursor,
    limit: u32,
) -> Result<Vec<StoredEntry>, StoreError> {
    let (cursor_clause, order, cursor_id) = match cursor {
        // Every id sorts after the empty string.
        EntryCursor::First => ("id > $6", "DESC", ""),
        EntryCursor::After(id) => ("id < $6", "DESC", id.as_str()),
        // The page just newer than the cursor is the `limit` + 1 nearest to it.
        EntryCursor::Before(id) => ("id > $6", "ASC", id.as_str()),
    };
    // A payment's source filter leaves out its refunds' entries, which name the payment
    // too: `source` filters on what each entry shows as its source.
    let (payment_id, refund_id) = match &filter.source {
        None => (None, None),
        Some(EntrySource::Payment(id)) => (Some(id.as_str()), None),
        Some(EntrySource::Refund(id)) => (None, Some(id.as_str())),
    };
    let kind = filter.kind.map(EntryKind::as_str);
    // The subquery picks the page of entries (index journal_entries_by_merchant); the join
    // brings their postings in the same round trip. LEFT JOIN so that an entry without
    // postings is read, and refused, rather than silently left out.
    let rows = {
        let sql = format!(
            "SELECT e.id, e.kind, e.livemode, e.payment_id, e.refund_id, e.created_at_ms,
                 p.account_code, p.currency, p.amount_minor
             FROM (SELECT id, kind, livemode, payment_id, refund_id, created_at_ms FROM journal_entries
                   WHERE merchant_id = $1 AND livemode = $2 AND ($3 IS NULL OR kind = $3)
                     AND ($4 IS NULL OR (payment_id = $4 AND refund_id IS NULL))
                     AND ($5 IS NULL OR refund_id = $5) AND {cursor_clause}
                   ORDER BY id {order} LIMIT $7) e
             LEFT JOIN postings p ON p.entry_id = e.id
             ORDER BY e.id DESC, p.position"
        );
        let rows = query_built(sql)
            .bind(merchant_id.as_str())
            .bind(livemode)
            .bind(kind)
            .bind(payment_id)
            .bind(refund_id)
            .bind(cursor_id)
            .bind(i64::from(limit) + 1)
            .fetch_all(conn)
            .await?;
        rows.iter().map(row_parts).collect::<Result<Vec<_>, StoreError>>()
    }?;
    let mut entries: Vec<StoredEntry> = Vec::new();
    for (entry, posting) in rows {
        match entries.last_mut() {
            Some(last) if last.id == entry.id => {}
            _ => entries.push(entry),
        }
        if let (Some(last), Some(posting)) = (entries.last_mut(), posting) {
            last.postings.push(posting);
        }
    }
    Ok(entries)
}

/// One row: its entry (without postings) and the posting it carries, if any.
fn row_parts(row: &impl Columns) -> Result<(StoredEntry, Option<Posting>), StoreError> {
    let bad = |column: &str| corrupt("journal_entries", column);
    let entry = StoredEntry {
        id: JournalEntryId::parse(&row.text("id")?).map_err(|_| bad("id"))?,
        kind: EntryKind::parse(&row.text("kind")?).ok_or_else(|| bad("kind"))?,
        livemode: row.flag("livemode")?,
        payment_id: row
            .text_opt("payment_id")?
            .map(|id| PaymentId::parse(&id))
            .transpose()
            .map_err(|_| bad("payment_id"))?,
        refund_id: row
            .text_opt("refund_id")?
            .map(|id| RefundId::parse(&id))
            .transpose()
            .map_err(|_| bad("refund_id"))?,
        created: Timestamp::from_unix_ms(row.int("created_at_ms")?).ok_or_else(|| bad("created_at_ms"))?,
        postings: Vec::new(),
    };
    let Some(code) = row.text_opt("account_code")? else { return Ok((entry, None)) };
    let account = AccountKey::parse_code(&code).ok_or_else(|| corrupt("postings", "account_code"))?;
    // The account code names the currency too; a row where the two disagree was edited.
    if row.text("currency")? != account.currency().code() {
        return Err(corrupt("postings", "currency"));
    }
    Ok((entry, Some(Posting { account, amount_minor: row.int("amount_minor")? })))
}
