//! The double-entry ledger: accounts, postings and journal entries that always balance.
//!
//! **Sign convention.** A posting's `amount_minor` is positive for a debit, negative for a
//! credit; an account's balance is Σ its postings. Only `channel_receivable` (owed to the
//! platform) grows with debits; merchant balances and fee revenue grow with credits, so a
//! merchant reads [`merchant_facing`] (credits − debits), never a hand-written `-balance`.
//!
//! **Invariant:** an entry is written in the same transaction as the state change that caused
//! it and never edited (a correction is a new entry). A negative merchant balance is shown.

use crate::{Currency, MerchantId, Mode, Money};
use AccountPurpose::{ChannelReceivable, MerchantAvailable, MerchantPending, PlatformFeeRevenue};

/// Most postings one entry may hold; the payment flow needs at most three.
pub const POSTINGS_MAX: usize = 16;

/// Why a ledger value could not be built. [`JournalEntry::new`] checks the first five in order.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LedgerError {
    #[error("a journal entry needs at least 2 postings")]
    TooFewPostings,
    #[error("a journal entry holds at most 16 postings")]
    TooManyPostings,
    #[error("a posting must not be zero")]
    ZeroPosting,
    #[error("live and test postings cannot share a journal entry")]
    MixedModes,
    #[error("postings in {currency} do not sum to zero")]
    Unbalanced { currency: Currency },
    #[error("amount must be positive")]
    AmountNotPositive,
    #[error("fee must be between zero and the amount")]
    FeeOutOfRange,
    #[error("amount is out of range")]
    Overflow,
}

/// A merchant balance (Σ postings) as the merchant reads it; negative after refunds exceed it.
pub fn merchant_facing(balance_minor: i64) -> Result<i64, LedgerError> {
    balance_minor.checked_neg().ok_or(LedgerError::Overflow)
}

/// A closed set of values stored by name, with `ALL`, `as_str` and `parse`.
macro_rules! named_enum {
    ($(#[$doc:meta])* $name:ident { $($variant:ident = $text:literal,)+ }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name { $($variant,)+ }
        impl $name {
            pub const ALL: &[$name] = &[$($name::$variant,)+];
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text,)+ }
            }
            pub fn parse(text: &str) -> Option<$name> {
                $name::ALL.iter().copied().find(|value| value.as_str() == text)
            }
        }
    };
}

named_enum!(
    /// What an account is for: the first two belong to a merchant, the others to the platform.
    AccountPurpose {
        MerchantPending = "merchant_pending", MerchantAvailable = "merchant_available",
        ChannelReceivable = "channel_receivable", PlatformFeeRevenue = "platform_fee_revenue",
    }
);

named_enum!(
    /// Why money moved. A `settlement` moves merchant pending to merchant available.
    EntryKind {
        PaymentCaptured = "payment_captured", RefundSucceeded = "refund_succeeded",
        FeeCorrection = "fee_correction", Settlement = "settlement",
    }
);

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum AccountOwner {
    Merchant(MerchantId),
    Platform,
}

/// One ledger account. Invariant: merchant purposes have a merchant owner, the others the platform.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AccountKey {
    owner: AccountOwner,
    livemode: bool,
    currency: Currency,
    purpose: AccountPurpose,
}

impl AccountKey {
    pub fn merchant_pending(merchant: &MerchantId, livemode: bool, currency: Currency) -> AccountKey {
        AccountKey { owner: AccountOwner::Merchant(merchant.clone()), livemode, currency, purpose: MerchantPending }
    }
    pub fn merchant_available(merchant: &MerchantId, livemode: bool, currency: Currency) -> AccountKey {
        AccountKey { owner: AccountOwner::Merchant(merchant.clone()), livemode, currency, purpose: MerchantAvailable }
    }
    pub fn channel_receivable(livemode: bool, currency: Currency) -> AccountKey {
        AccountKey { owner: AccountOwner::Platform, livemode, currency, purpose: ChannelReceivable }
    }
    pub fn platform_fee_revenue(livemode: bool, currency: Currency) -> AccountKey {
        AccountKey { owner: AccountOwner::Platform, livemode, currency, purpose: PlatformFeeRevenue }
    }

    pub fn owner(&self) -> &AccountOwner {
        &self.owner
    }
    pub fn livemode(&self) -> bool {
        self.livemode
    }
    pub fn currency(&self) -> Currency {
        self.currency
    }
    pub fn purpose(&self) -> AccountPurpose {
        self.purpose
    }

    /// The stable storage code `owner:mode:CURRENCY:purpose`, as in
    /// `mer_…:test:USD:merchant_pending` or `platform:live:CNY:channel_receivable`.
    pub fn code(&self) -> String {
        let owner = if let AccountOwner::Merchant(merchant) = &self.owner { merchant.as_str() } else { "platform" };
        let mode = if self.livemode { Mode::Live } else { Mode::Test };
        format!("{owner}:{}:{}:{}", mode.as_str(), self.currency.code(), self.purpose.as_str())
    }

    /// Parses exactly what [`AccountKey::code`] writes: one code per account, no lower-case currency.
    pub fn parse_code(code: &str) -> Option<AccountKey> {
        let [owner, mode, currency_code, purpose] = code.split(':').collect::<Vec<_>>()[..] else { return None };
        let merchant = if owner == "platform" { None } else { Some(MerchantId::parse(owner).ok()?) };
        let currency = Currency::parse(currency_code).ok().filter(|parsed| parsed.code() == currency_code)?;
        let (livemode, purpose) = (Mode::parse(mode)?.is_live(), AccountPurpose::parse(purpose)?);
        let owner_allowed = merchant.is_some() == matches!(purpose, MerchantPending | MerchantAvailable);
        let owner = merchant.map_or(AccountOwner::Platform, AccountOwner::Merchant);
        owner_allowed.then_some(AccountKey { owner, livemode, currency, purpose })
    }
}

/// One line of an entry: positive `amount_minor` debits, negative credits; checked by its entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Posting {
    pub account: AccountKey,
    pub amount_minor: i64,
}

/// Invariant: 2 to [`POSTINGS_MAX`] non-zero postings, all live or all test, summing to zero in
/// each currency. The store calls [`JournalEntry::assert_balanced`] before writing, after reading.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalEntry {
    kind: EntryKind,
    postings: Vec<Posting>,
}

impl JournalEntry {
    pub fn new(kind: EntryKind, postings: Vec<Posting>) -> Result<JournalEntry, LedgerError> {
        let livemode = postings.first().map(|posting| posting.account.livemode);
        // Quadratic over at most 16 postings, whose i64 amounts cannot overflow an i128 sum.
        let sum = |currency: Currency| -> i128 {
            postings.iter().filter(|p| p.account.currency == currency).map(|p| i128::from(p.amount_minor)).sum()
        };
        if postings.len() < 2 {
            Err(LedgerError::TooFewPostings)
        } else if postings.len() > POSTINGS_MAX {
            Err(LedgerError::TooManyPostings)
        } else if postings.iter().any(|posting| posting.amount_minor == 0) {
            Err(LedgerError::ZeroPosting)
        } else if postings.iter().any(|posting| Some(posting.account.livemode) != livemode) {
            Err(LedgerError::MixedModes)
        } else if let Some(posting) = postings.iter().find(|posting| sum(posting.account.currency) != 0) {
            Err(LedgerError::Unbalanced { currency: posting.account.currency })
        } else {
            Ok(JournalEntry { kind, postings })
        }
    }

    pub fn kind(&self) -> EntryKind {
        self.kind
    }
    pub fn postings(&self) -> &[Posting] {
        &self.postings
    }

    /// Panics unless every rule of [`JournalEntry::new`] holds: a bug or a corrupted row.
    pub fn assert_balanced(&self) {
        if let Err(error) = JournalEntry::new(self.kind, self.postings.clone()) {
            panic!("{} journal entry breaks the ledger invariant: {error}", self.kind.as_str());
        }
    }
}

pub type EntryResult = Result<JournalEntry, LedgerError>;

/// Debit the receivable by the amount, credit merchant pending by amount − fee and fee revenue
/// by the fee. Zero lines are left out, here and in every builder.
pub fn capture_entry(merchant: &MerchantId, livemode: bool, money: Money, fee_minor: i64) -> EntryResult {
    payment_flow_entry(EntryKind::PaymentCaptured, merchant, livemode, money, fee_minor)
}

/// The capture mirrored, with the fee returned in place of the fee; pending may go negative.
pub fn refund_entry(merchant: &MerchantId, livemode: bool, money: Money, fee_returned_minor: i64) -> EntryResult {
    payment_flow_entry(EntryKind::RefundSucceeded, merchant, livemode, money, fee_returned_minor)
}

/// Move the amount from the merchant's pending balance to its available balance.
pub fn settlement_entry(merchant: &MerchantId, livemode: bool, money: Money) -> EntryResult {
    let (amount, currency) = (checked_amount(money, 0)?, money.currency());
    let pending = AccountKey::merchant_pending(merchant, livemode, currency);
    let available = AccountKey::merchant_available(merchant, livemode, currency);
    entry_without_zeros(EntryKind::Settlement, [(pending, amount), (available, -amount)])
}

fn payment_flow_entry(kind: EntryKind, merchant: &MerchantId, livemode: bool, money: Money, fee: i64) -> EntryResult {
    let (amount, currency) = (checked_amount(money, fee)?, money.currency());
    let sign = if kind == EntryKind::PaymentCaptured { 1 } else { -1 };
    // 0 ≤ fee ≤ amount and sign is ±1, so no product or difference here can overflow.
    let receivable = (AccountKey::channel_receivable(livemode, currency), sign * amount);
    let pending = (AccountKey::merchant_pending(merchant, livemode, currency), -sign * (amount - fee));
    let fee_revenue = (AccountKey::platform_fee_revenue(livemode, currency), -sign * fee);
    entry_without_zeros(kind, [receivable, pending, fee_revenue])
}

fn checked_amount(money: Money, fee_minor: i64) -> Result<i64, LedgerError> {
    match money.amount_minor() {
        amount if amount <= 0 => Err(LedgerError::AmountNotPositive),
        amount if !(0..=amount).contains(&fee_minor) => Err(LedgerError::FeeOutOfRange),
        amount => Ok(amount),
    }
}

fn entry_without_zeros<const N: usize>(kind: EntryKind, lines: [(AccountKey, i64); N]) -> EntryResult {
    let postings = lines.into_iter().filter(|(_, amount)| *amount != 0);
    JournalEntry::new(kind, postings.map(|(account, amount_minor)| Posting { account, amount_minor }).collect())
}

#[cfg(test)]
mod tests {
    use super::LedgerError::*;
    use super::*;
    use crate::Timestamp;
    use crate::fees::FeeSchedule;
    use std::collections::HashMap;

    fn currency(code: &str) -> Currency {
        Currency::parse(code).expect("known currency")
    }

    fn merchant(seed: u8) -> MerchantId {
        MerchantId::generate(Timestamp::from_unix_ms(1_700_000_000_000).expect("after 1970"), [seed; 10])
    }

    fn check(lines: &[(&AccountKey, i64)], expect: Result<(), LedgerError>) {
        let postings = lines.iter().map(|&(account, amount_minor)| Posting { account: account.clone(), amount_minor });
        assert_eq!(JournalEntry::new(EntryKind::FeeCorrection, postings.collect()).map(|_| ()), expect, "{lines:?}");
    }

    /// xorshift64, so that a failing seed replays exactly: a number in `0..bound`.
    fn below(state: &mut u64, bound: i64) -> i64 {
        *state ^= *state << 13;
        *state ^= *state >> 7;
        *state ^= *state << 17;
        (*state % bound.cast_unsigned()).cast_signed()
    }

    #[test]
    fn names_round_trip_codes_are_readable_and_malformed_codes_are_refused() {
        assert!(AccountPurpose::ALL.iter().all(|purpose| AccountPurpose::parse(purpose.as_str()) == Some(*purpose)));
        assert!(EntryKind::ALL.iter().all(|kind| EntryKind::parse(kind.as_str()) == Some(*kind)));
        let (mer, cny) = (merchant(1), currency("CNY"));
        assert_eq!(AccountKey::channel_receivable(true, cny).code(), "platform:live:CNY:channel_receivable");
        assert_eq!(AccountKey::merchant_pending(&mer, false, cny).code(), format!("{mer}:test:CNY:merchant_pending"));
        let refused = |code: &str| assert_eq!(AccountKey::parse_code(code), None, "{code}");
        refused("platform:live:CNY");
        refused("platform:live:CNY:channel_receivable:");
        refused("platform:prod:CNY:channel_receivable");
        refused("platform:live:cny:channel_receivable");
        refused("mer_1:live:CNY:merchant_pending");
        refused("platform:live:CNY:merchant_pending");
        refused(&format!("{mer}:live:CNY:channel_receivable"));
    }

    #[test]
    fn journal_entries_refuse_each_broken_rule_in_precedence_order() {
        let (usd, jpy) = (currency("USD"), currency("JPY"));
        let (cash, fees) = (AccountKey::channel_receivable(false, usd), AccountKey::platform_fee_revenue(false, usd));
        let (yen, live) = (AccountKey::channel_receivable(false, jpy), AccountKey::platform_fee_revenue(true, usd));
        check(&[(&cash, 5)], Err(TooFewPostings));
        check(&[(&cash, 1); 17], Err(TooManyPostings));
        check(&[(&cash, 0), (&live, 0)], Err(ZeroPosting));
        check(&[(&cash, 5), (&live, -5)], Err(MixedModes));
        check(&[(&cash, 5), (&fees, -4)], Err(Unbalanced { currency: usd }));
        check(&[(&cash, 5), (&yen, -5)], Err(Unbalanced { currency: usd }));
        check(&[(&cash, 5), (&fees, -5), (&yen, 7), (&yen, -7)], Ok(()));
        check(&[(&cash, i64::MAX), (&cash, i64::MAX), (&fees, i64::MIN), (&fees, i64::MIN), (&fees, 2)], Ok(()));
        check(&[[(&cash, 1); 8], [(&fees, -1); 8]].concat(), Ok(()));
    }

    #[test]
    #[should_panic(expected = "fee_correction journal entry breaks the ledger invariant: postings in USD do not sum")]
    fn an_unbalanced_entry_read_back_fails_the_assertion() {
        let account = AccountKey::channel_receivable(true, currency("USD"));
        JournalEntry { kind: EntryKind::FeeCorrection, postings: vec![Posting { account, amount_minor: 5 }; 2] }
            .assert_balanced();
    }

    #[test]
    fn a_capture_credits_the_merchant_net_of_the_fee_and_a_refund_mirrors_it() {
        let (mer, usd) = (merchant(2), currency("USD"));
        let capture = |amount, fee| capture_entry(&mer, false, Money::new(amount, usd), fee);
        let refund = |amount, fee| refund_entry(&mer, false, Money::new(amount, usd), fee);
        let lines = |entry: EntryResult| -> Vec<(AccountPurpose, i64)> {
            entry.expect("valid entry").postings.into_iter().map(|p| (p.account.purpose, p.amount_minor)).collect()
        };
        let full = [(ChannelReceivable, 1_000), (MerchantPending, -941), (PlatformFeeRevenue, -59)];
        assert_eq!(lines(capture(1_000, 59)), full);
        assert_eq!(lines(refund(1_000, 59)), full.map(|(purpose, amount)| (purpose, -amount)));
        assert_eq!(lines(capture(1, 1)), [(ChannelReceivable, 1), (PlatformFeeRevenue, -1)], "the fee took it all");
        assert_eq!(lines(refund(400, 0)), [(ChannelReceivable, -400), (MerchantPending, 400)], "the fee is kept");
        let settled = lines(settlement_entry(&mer, false, Money::new(700, usd)));
        assert_eq!(settled, [(MerchantPending, 700), (MerchantAvailable, -700)]);
        assert_eq!((capture(0, 0), refund(-5, 0)), (Err(AmountNotPositive), Err(AmountNotPositive)));
        assert_eq!((capture(100, 101), refund(100, -1)), (Err(FeeOutOfRange), Err(FeeOutOfRange)));
    }

    /// Also: every fee matches a second half-up computation, and every account code round-trips.
    #[test]
    fn a_random_history_conserves_money_and_merchant_balances_match_their_payments() {
        let (merchants, currencies) = ([merchant(4), merchant(5)], [currency("USD"), currency("JPY"), currency("KWD")]);
        let (mut balances, mut expected, mut totals) = (HashMap::new(), HashMap::new(), HashMap::new());
        let rng = &mut 0x0123_4567_89ab_cdef;
        for _ in 0..20_000 {
            let (mer, livemode) = (&merchants[usize::from(below(rng, 2) == 1)], below(rng, 2) == 1);
            let currency = currencies[usize::try_from(below(rng, 3)).expect("small")];
            let (rate, fixed, digits) =
                (u32::try_from(below(rng, 10_001)).expect("small"), below(rng, 1_000), below(rng, 12));
            let amount = 1 + below(rng, 10_i64.pow(u32::try_from(digits + 1).expect("small")));
            let product = i128::from(amount) * i128::from(rate);
            let rounded = product / 10_000 + i128::from(product % 10_000 >= 5_000);
            let fee = FeeSchedule::parse(rate, fixed).expect("valid").fee_for(amount).expect("positive amount");
            assert_eq!(i128::from(fee), (rounded + i128::from(fixed)).min(i128::from(amount)));
            let (money, fee_returned) = (Money::new(amount, currency), fee * below(rng, 2));
            let (entry, net) = match below(rng, 3) {
                0 => (capture_entry(mer, livemode, money, fee), amount - fee),
                1 => (refund_entry(mer, livemode, money, fee_returned), fee_returned - amount),
                _ => (settlement_entry(mer, livemode, money), 0),
            };
            for posting in entry.expect("valid entry").postings {
                *totals.entry(posting.account.currency).or_insert(0) += posting.amount_minor;
                *balances.entry(posting.account).or_insert(0) += posting.amount_minor;
            }
            *expected.entry(AccountKey::merchant_pending(mer, livemode, currency)).or_insert(0) += net;
        }
        assert!(totals.values().all(|total| *total == 0), "money was created or destroyed: {totals:?}");
        let facing = |key: &AccountKey| merchant_facing(balances.get(key).copied().unwrap_or(0)).expect("in range");
        for (pending, net) in expected {
            let available = AccountKey { purpose: MerchantAvailable, ..pending.clone() };
            assert_eq!(facing(&pending) + facing(&available), net, "{}", pending.code());
        }
        assert!(balances.keys().all(|key| AccountKey::parse_code(&key.code()).as_ref() == Some(key)));
    }
}
