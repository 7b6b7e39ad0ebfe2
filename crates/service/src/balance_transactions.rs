//! Balance transactions: each journal entry of a merchant, read as the merchant sees it
//! (`amount` − `fee` = `net`, positive when Payrail owes the merchant more).
//!
//! Nothing is stored for them: every figure is derived from the entry's postings on each
//! read, so a balance transaction can never disagree with the ledger it describes.

use payrail_domain::ledger::{AccountOwner, AccountPurpose, EntryKind, Posting, merchant_facing};
use payrail_domain::{Currency, MerchantId, PaymentId, Problem, RefundId};
use payrail_store::balance_transactions::{self, EntryCursor, EntryFilter, EntrySource, StoredEntry};
use serde_json::{Value, json};

use crate::{Caller, Payrail, ServiceError};

/// The most balance transactions one list call returns.
pub const BALANCE_TRANSACTION_LIST_LIMIT_MAX: u32 = 100;

/// The merchant balance an entry changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MerchantBalance {
    Pending,
    Available,
}

impl MerchantBalance {
    pub fn as_str(self) -> &'static str {
        match self {
            MerchantBalance::Pending => "pending",
            MerchantBalance::Available => "available",
        }
    }
}

/// What one entry did to the merchant, in the merchant's view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EntryAmounts {
    /// Gross: + captured, − refunded, or the amount a settlement made available.
    pub amount_minor: i64,
    /// Charged (+) or returned (−) by the platform.
    pub fee_minor: i64,
    /// `amount_minor` − `fee_minor`: what the merchant's balance moved by.
    pub net_minor: i64,
    pub currency: Currency,
    pub balance: MerchantBalance,
}

/// Why a stored entry cannot be shown: it breaks a rule every entry Payrail writes keeps, so
/// the database was edited or a bug wrote it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum EntryUnreadable {
    #[error("it has no postings")]
    NoPostings,
    #[error("its postings are in more than one currency")]
    MixedCurrencies,
    #[error("a posting is in the other mode")]
    MixedModes,
    #[error("it moves another merchant's balance")]
    OtherMerchant,
    #[error("it moves a merchant balance that its kind does not")]
    UnexpectedBalance,
    #[error("its amount less its fee is not its net")]
    NetMismatch,
    #[error("an amount is out of range")]
    Overflow,
}

/// Derives amount, fee and net from one entry's postings, for `merchant` in one mode.
///
/// `net` is what the changed merchant balance moved by (a settlement: what it made
/// available); `fee` negates the fee revenue postings. A payment's or refund's `amount` is
/// the receivable it moved, signed by its kind, and must then equal `net` + `fee`; any other
/// kind's `amount` is `net` + `fee` by definition.
pub fn entry_amounts(
    kind: EntryKind,
    merchant: &MerchantId,
    livemode: bool,
    postings: &[Posting],
) -> Result<EntryAmounts, EntryUnreadable> {
    use AccountPurpose::{ChannelReceivable, MerchantAvailable, MerchantPending, PlatformFeeRevenue};
    use EntryUnreadable::{MixedCurrencies, MixedModes, NetMismatch, NoPostings, OtherMerchant, Overflow};
    let currency = postings.first().ok_or(NoPostings)?.account.currency();
    for account in postings.iter().map(|posting| &posting.account) {
        if account.currency() != currency {
            return Err(MixedCurrencies);
        }
        if account.livemode() != livemode {
            return Err(MixedModes);
        }
        if let AccountOwner::Merchant(owner) = account.owner()
            && owner != merchant
        {
            return Err(OtherMerchant);
        }
    }
    // The sum of the postings on one purpose's account, None when the entry has none.
    let total = |purpose: AccountPurpose| -> Result<Option<i64>, EntryUnreadable> {
        let mut lines = postings.iter().filter(|posting| posting.account.purpose() == purpose).peekable();
        if lines.peek().is_none() {
            return Ok(None);
        }
        lines.try_fold(0_i64, |sum, posting| sum.checked_add(posting.amount_minor)).map(Some).ok_or(Overflow)
    };
    let (pending, available) = (total(MerchantPending)?, total(MerchantAvailable)?);
    let (balance, moved) = match (kind, pending, available) {
        (EntryKind::Settlement, _, Some(moved)) | (EntryKind::FeeCorrection, None, Some(moved)) => {
            (MerchantBalance::Available, moved)
        }
        // A capture whose fee took it all credits the merchant nothing, so has no pending line.
        (EntryKind::PaymentCaptured | EntryKind::RefundSucceeded | EntryKind::FeeCorrection, moved, None) => {
            (MerchantBalance::Pending, moved.unwrap_or(0))
        }
        _ => return Err(EntryUnreadable::UnexpectedBalance),
    };
    let net = merchant_facing(moved).map_err(|_| Overflow)?;
    let fee = total(PlatformFeeRevenue)?.unwrap_or(0).checked_neg().ok_or(Overflow)?;
    let receivable = total(ChannelReceivable)?.unwrap_or(0);
    let amount = match kind {
        EntryKind::PaymentCaptured => receivable.checked_abs(),
        EntryKind::RefundSucceeded => receivable.checked_abs().and_then(i64::checked_neg),
        EntryKind::FeeCorrection | EntryKind::Settlement => net.checked_add(fee),
    }
    .ok_or(Overflow)?;
    if amount.checked_sub(fee).ok_or(Overflow)? != net {
        return Err(NetMismatch);
    }
    Ok(EntryAmounts { amount_minor: amount, fee_minor: fee, net_minor: net, currency, balance })
}

/// The `type` a client sees for an entry kind.
fn transaction_type(kind: EntryKind) -> &'static str {
    match kind {
        EntryKind::PaymentCaptured => "payment",
        EntryKind::RefundSucceeded => "refund",
        EntryKind::FeeCorrection => "fee_correction",
        EntryKind::Settlement => "settlement",
    }
}

/// The list filters from the `type` and `source` query parameters.
pub fn balance_transaction_filter(type_text: Option<&str>, source: Option<&str>) -> Result<EntryFilter, Problem> {
    let kind = type_text
        .map(|text| {
            EntryKind::ALL.iter().copied().find(|kind| transaction_type(*kind) == text).ok_or_else(|| {
                let message = "type must be payment, refund, fee_correction or settlement";
                Problem::invalid_request("parameter_invalid", message).with_param("type")
            })
        })
        .transpose()?;
    let source = source
        .map(|text| {
            // Only a payment or a refund can be a source; other text names nothing.
            PaymentId::parse(text)
                .map(EntrySource::Payment)
                .or_else(|_| RefundId::parse(text).map(EntrySource::Refund))
                .map_err(|_| {
                    let message = "source must be a payment (pay_…) or refund (re_…) id";
                    Problem::invalid_request("parameter_invalid", message).with_param("source")
                })
        })
        .transpose()?;
    Ok(EntryFilter { kind, source })
}

/// One journal entry and what it did to the merchant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BalanceTransaction {
    pub entry: StoredEntry,
    pub amounts: EntryAmounts,
}

/// A page of balance transactions, newest first.
pub struct BalanceTransactionPage {
    pub transactions: Vec<BalanceTransaction>,
    pub has_more: bool,
}

impl Payrail {
    /// The caller's entries in the caller's mode; the platform's own entries never appear.
    pub async fn list_balance_transactions(
        &self,
        caller: &Caller,
        filter: &EntryFilter,
        cursor: &EntryCursor,
        limit: u32,
    ) -> Result<BalanceTransactionPage, ServiceError> {
        let (merchant, livemode) = (&caller.merchant.id, caller.mode.is_live());
        let limit = limit.clamp(1, BALANCE_TRANSACTION_LIST_LIMIT_MAX);
        let mut entries = {
            let mut reader = self.store.reader().await?;
            balance_transactions::list(reader.conn(), merchant, livemode, filter, cursor, limit).await?
        };
        // One entry more than the page was read to learn whether more exist. It is the one
        // farthest from the cursor: the newest when paging backwards, else the oldest.
        let has_more = entries.len() > limit as usize;
        if has_more && matches!(cursor, EntryCursor::Before(_)) {
            entries.remove(0);
        }
        entries.truncate(limit as usize);
        let transactions = entries
            .into_iter()
            .map(|entry| {
                let amounts = entry_amounts(entry.kind, merchant, livemode, &entry.postings)
                    .map_err(|reason| anyhow::anyhow!("journal entry {} cannot be shown: {reason}", entry.id))?;
                Ok(BalanceTransaction { entry, amounts })
            })
            .collect::<Result<_, ServiceError>>()?;
        Ok(BalanceTransactionPage { transactions, has_more })
    }
}

/// The API's JSON shape of a balance transaction.
pub fn balance_transaction_object(transaction: &BalanceTransaction) -> Value {
    let (entry, amounts) = (&transaction.entry, &transaction.amounts);
    // A refund's entry names its payment too; the refund is what caused it.
    let source = match (&entry.refund_id, &entry.payment_id) {
        (Some(refund), _) => Some(refund.as_str()),
        (None, payment) => payment.as_ref().map(PaymentId::as_str),
    };
    json!({
        "id": entry.id.as_str(),
        "object": "balance_transaction",
        "type": transaction_type(entry.kind),
        "amount": amounts.amount_minor,
        "fee": amounts.fee_minor,
        "net": amounts.net_minor,
        "currency": amounts.currency.code(),
        "source": source,
        "balance": amounts.balance.as_str(),
        "created": entry.created.unix_seconds(),
        "livemode": entry.livemode,
    })
}

#[cfg(test)]
mod tests {
    use payrail_domain::ledger::{AccountKey, EntryResult, capture_entry, refund_entry, settlement_entry};
    use payrail_domain::{Money, Timestamp};

    use super::EntryUnreadable::*;
    use super::MerchantBalance::{Available, Pending};
    use super::*;

    fn merchant(seed: u8) -> MerchantId {
        MerchantId::generate(Timestamp::from_unix_ms(1_700_000_000_000).expect("after 1970"), [seed; 10])
    }

    fn usd(amount_minor: i64) -> Money {
        Money::new(amount_minor, Currency::parse("USD").expect("known currency"))
    }

    /// Reads `postings` as merchant 1's test-mode entry of `kind`; `expect` is
    /// (amount, fee, net, balance) or why it cannot be read.
    fn check(kind: EntryKind, postings: &[Posting], expect: Result<(i64, i64, i64, MerchantBalance), EntryUnreadable>) {
        let found = entry_amounts(kind, &merchant(1), false, postings);
        assert!(found.as_ref().is_err() || found.as_ref().is_ok_and(|a| a.currency.code() == "USD"), "{found:?}");
        let found = found.map(|a| (a.amount_minor, a.fee_minor, a.net_minor, a.balance));
        assert_eq!(found, expect, "{kind:?} {postings:?}");
    }

    fn lines(entry: EntryResult) -> Vec<Posting> {
        entry.expect("a valid entry").postings().to_vec()
    }

    fn line(account: AccountKey, amount_minor: i64) -> Posting {
        Posting { account, amount_minor }
    }

    #[test]
    fn payments_refunds_and_settlements_read_as_the_merchant_sees_them() {
        let mer = merchant(1);
        let (capture, refund) = (EntryKind::PaymentCaptured, EntryKind::RefundSucceeded);
        check(capture, &lines(capture_entry(&mer, false, usd(1_000), 59)), Ok((1_000, 59, 941, Pending)));
        check(capture, &lines(capture_entry(&mer, false, usd(1), 1)), Ok((1, 1, 0, Pending)));
        check(refund, &lines(refund_entry(&mer, false, usd(300), 0)), Ok((-300, 0, -300, Pending)));
        check(refund, &lines(refund_entry(&mer, false, usd(1_000), 59)), Ok((-1_000, -59, -941, Pending)));
        check(EntryKind::Settlement, &lines(settlement_entry(&mer, false, usd(700))), Ok((700, 0, 700, Available)));
    }

    #[test]
    fn a_fee_correction_shows_the_fee_it_returns_on_the_balance_it_credits() {
        let (mer, currency) = (merchant(1), usd(0).currency());
        let fees = AccountKey::platform_fee_revenue(false, currency);
        let pending = AccountKey::merchant_pending(&mer, false, currency);
        let available = AccountKey::merchant_available(&mer, false, currency);
        let correction = EntryKind::FeeCorrection;
        check(correction, &[line(fees.clone(), 10), line(pending.clone(), -10)], Ok((0, -10, 10, Pending)));
        check(correction, &[line(fees.clone(), -4), line(available.clone(), 4)], Ok((0, 4, -4, Available)));
        check(correction, &[line(pending, -3), line(available, 3)], Err(UnexpectedBalance));
    }

    #[test]
    fn entries_no_writer_makes_are_refused_never_shown_or_panicked_on() {
        let (mer, currency) = (merchant(1), usd(0).currency());
        let receivable = AccountKey::channel_receivable(false, currency);
        let fees = AccountKey::platform_fee_revenue(false, currency);
        let pending = AccountKey::merchant_pending(&mer, false, currency);
        let available = AccountKey::merchant_available(&mer, false, currency);
        let capture = EntryKind::PaymentCaptured;
        check(capture, &[], Err(NoPostings));
        let yen = AccountKey::channel_receivable(false, Currency::parse("JPY").expect("known currency"));
        check(capture, &[line(receivable.clone(), 5), line(yen, -5)], Err(MixedCurrencies));
        let live = AccountKey::platform_fee_revenue(true, currency);
        check(capture, &[line(receivable.clone(), 5), line(live, -5)], Err(MixedModes));
        let theirs = AccountKey::merchant_pending(&merchant(2), false, currency);
        check(capture, &[line(receivable.clone(), 5), line(theirs, -5)], Err(OtherMerchant));
        check(capture, &[line(receivable.clone(), 5), line(available.clone(), -5)], Err(UnexpectedBalance));
        check(EntryKind::Settlement, &[line(pending.clone(), 5), line(fees.clone(), -5)], Err(UnexpectedBalance));
        let short = [line(receivable.clone(), 1_000), line(pending.clone(), -900), line(fees.clone(), -59)];
        check(capture, &short, Err(NetMismatch));
        check(capture, &[line(receivable.clone(), i64::MIN), line(fees.clone(), 1)], Err(Overflow));
        check(capture, &[line(fees.clone(), i64::MIN), line(receivable.clone(), 1)], Err(Overflow));
        check(capture, &[line(pending.clone(), i64::MIN), line(receivable, 1)], Err(Overflow));
        check(EntryKind::FeeCorrection, &[line(pending.clone(), -1), line(pending, i64::MIN)], Err(Overflow));
        check(EntryKind::FeeCorrection, &[line(available, i64::MIN + 1), line(fees, -2)], Err(Overflow));
    }

    #[test]
    fn the_type_and_source_filters_take_only_what_they_can_mean() {
        let filter = |type_text: Option<&str>, source: Option<&str>| {
            balance_transaction_filter(type_text, source).map_err(|problem| problem.param.map(|p| p.into_owned()))
        };
        let kinds =
            ["payment", "refund", "fee_correction", "settlement"].map(|t| filter(Some(t), None).map(|f| f.kind));
        assert_eq!(kinds, EntryKind::ALL.iter().map(|kind| Ok(Some(*kind))).collect::<Vec<_>>().as_slice());
        let payment = PaymentId::generate(Timestamp::from_unix_ms(1).expect("after 1970"), [1; 10]);
        let refund = RefundId::generate(Timestamp::from_unix_ms(1).expect("after 1970"), [1; 10]);
        let by_source = |text: &str| filter(None, Some(text)).map(|f| f.source);
        assert_eq!(by_source(payment.as_str()), Ok(Some(EntrySource::Payment(payment.clone()))));
        assert_eq!(by_source(refund.as_str()), Ok(Some(EntrySource::Refund(refund))));
        let (bad_type, bad_source) = (Err(Some("type".to_owned())), Err(Some("source".to_owned())));
        for text in ["payment_captured", "Payment", ""] {
            assert_eq!(filter(Some(text), None).map(|_| ()), bad_type, "{text}");
        }
        let shouted = payment.as_str().to_uppercase();
        for text in ["je_00000000000000000000000000", "pay_x", shouted.as_str(), ""] {
            assert_eq!(by_source(text).map(|_| ()), bad_source, "{text}");
        }
    }
}
