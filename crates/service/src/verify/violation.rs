//! What `payrail ledger verify` can find wrong: one variant per broken invariant, each
//! carrying the ids an operator needs to look at, and printed as one line.

use std::fmt;

/// A broken ledger invariant. Amounts are minor units, as stored (debits positive).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Violation {
    /// An entry's postings in one currency do not sum to zero.
    EntryUnbalanced { entry_id: String, currency: String, total_minor: i64 },
    /// An entry has fewer than two postings.
    EntryTooFewPostings { entry_id: String, postings: i64 },
    /// An account's cached balance differs from the sum of its postings.
    AccountBalanceMismatch { account_code: String, cached_minor: i64, postings_minor: i64 },
    /// A payment's amounts break `0 <= refunded <= captured <= amount`, `capturable <=
    /// amount` or another rule of `PaymentAmounts`; `rule` names the first one broken.
    PaymentAmountsInvalid {
        payment_id: String,
        rule: &'static str,
        amount_minor: i64,
        capturable_minor: i64,
        captured_minor: i64,
        refunded_minor: i64,
    },
    /// A payment is `succeeded` with nothing captured, or captured without being `succeeded`.
    PaymentStatusMismatch { payment_id: String, status: String, captured_minor: i64 },
    /// A payment's refunded amount differs from the sum of its succeeded refunds.
    RefundedAmountMismatch { payment_id: String, refunded_minor: i64, refunds_succeeded_minor: i64 },
    /// A payment's succeeded and pending refunds exceed what it captured.
    RefundsExceedCapture { payment_id: String, captured_minor: i64, refunds_minor: i64 },
    /// A payment captured money but has no `payment_captured` entry.
    CaptureEntryMissing { payment_id: String, captured_minor: i64 },
    /// A payment has more than one `payment_captured` entry.
    CaptureEntryDuplicated { payment_id: String, entries: i64 },
    /// A payment's `payment_captured` entry debits the channel receivable by another amount.
    CaptureEntryAmountMismatch { payment_id: String, captured_minor: i64, receivable_minor: i64 },
    /// A succeeded refund has no `refund_succeeded` entry.
    RefundEntryMissing { refund_id: String, amount_minor: i64 },
    /// A refund has more than one `refund_succeeded` entry.
    RefundEntryDuplicated { refund_id: String, entries: i64 },
    /// A refund's entry credits the channel receivable by another amount than the refund's.
    RefundEntryAmountMismatch { refund_id: String, amount_minor: i64, receivable_minor: i64 },
    /// An entry records a movement that did not happen: its payment or refund is missing or
    /// in a state that moved no money. `reason` says which.
    EntryWithoutMovement { entry_id: String, kind: String, reason: String },
    /// An entry's kind is none Payrail writes.
    EntryKindUnknown { entry_id: String, kind: String },
}

impl Violation {
    /// A stable snake_case name for the kind of violation, first on its report line.
    pub fn code(&self) -> &'static str {
        match self {
            Violation::EntryUnbalanced { .. } => "entry_unbalanced",
            Violation::EntryTooFewPostings { .. } => "entry_too_few_postings",
            Violation::AccountBalanceMismatch { .. } => "account_balance_mismatch",
            Violation::PaymentAmountsInvalid { .. } => "payment_amounts_invalid",
            Violation::PaymentStatusMismatch { .. } => "payment_status_mismatch",
            Violation::RefundedAmountMismatch { .. } => "refunded_amount_mismatch",
            Violation::RefundsExceedCapture { .. } => "refunds_exceed_capture",
            Violation::CaptureEntryMissing { .. } => "capture_entry_missing",
            Violation::CaptureEntryDuplicated { .. } => "capture_entry_duplicated",
            Violation::CaptureEntryAmountMismatch { .. } => "capture_entry_amount_mismatch",
            Violation::RefundEntryMissing { .. } => "refund_entry_missing",
            Violation::RefundEntryDuplicated { .. } => "refund_entry_duplicated",
            Violation::RefundEntryAmountMismatch { .. } => "refund_entry_amount_mismatch",
            Violation::EntryWithoutMovement { .. } => "entry_without_movement",
            Violation::EntryKindUnknown { .. } => "entry_kind_unknown",
        }
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: ", self.code())?;
        match self {
            Violation::EntryUnbalanced { entry_id, currency, total_minor } => {
                write!(f, "entry {entry_id}: postings in {currency} sum to {total_minor}, not 0")
            }
            Violation::EntryTooFewPostings { entry_id, postings } => {
                write!(f, "entry {entry_id} has {postings} posting(s); an entry needs at least 2")
            }
            Violation::AccountBalanceMismatch { account_code, cached_minor, postings_minor } => {
                write!(
                    f,
                    "account {account_code} caches a balance of {cached_minor}; its postings sum to {postings_minor}"
                )
            }
            Violation::PaymentAmountsInvalid {
                payment_id,
                rule,
                amount_minor,
                capturable_minor,
                captured_minor,
                refunded_minor,
            } => write!(
                f,
                "payment {payment_id}: {rule} (amount {amount_minor}, capturable {capturable_minor}, \
                 captured {captured_minor}, refunded {refunded_minor})"
            ),
            Violation::PaymentStatusMismatch { payment_id, status, captured_minor } => {
                write!(f, "payment {payment_id} is {status} with {captured_minor} captured")
            }
            Violation::RefundedAmountMismatch { payment_id, refunded_minor, refunds_succeeded_minor } => write!(
                f,
                "payment {payment_id} records {refunded_minor} refunded; its succeeded refunds sum to \
                 {refunds_succeeded_minor}"
            ),
            Violation::RefundsExceedCapture { payment_id, captured_minor, refunds_minor } => write!(
                f,
                "payment {payment_id}: succeeded and pending refunds of {refunds_minor} exceed the {captured_minor} \
                 captured"
            ),
            Violation::CaptureEntryMissing { payment_id, captured_minor } => {
                write!(f, "payment {payment_id} captured {captured_minor} but has no payment_captured entry")
            }
            Violation::CaptureEntryDuplicated { payment_id, entries } => {
                write!(f, "payment {payment_id} has {entries} payment_captured entries; it must have exactly 1")
            }
            Violation::CaptureEntryAmountMismatch { payment_id, captured_minor, receivable_minor } => write!(
                f,
                "payment {payment_id} captured {captured_minor}; its payment_captured entry debits the channel \
                 receivable by {receivable_minor}"
            ),
            Violation::RefundEntryMissing { refund_id, amount_minor } => {
                write!(f, "refund {refund_id} of {amount_minor} succeeded but has no refund_succeeded entry")
            }
            Violation::RefundEntryDuplicated { refund_id, entries } => {
                write!(f, "refund {refund_id} has {entries} refund_succeeded entries; it must have exactly 1")
            }
            Violation::RefundEntryAmountMismatch { refund_id, amount_minor, receivable_minor } => write!(
                f,
                "refund {refund_id} of {amount_minor}: its refund_succeeded entry moves the channel receivable by \
                 {receivable_minor}, not -{amount_minor}"
            ),
            Violation::EntryWithoutMovement { entry_id, kind, reason } => {
                write!(f, "{kind} entry {entry_id} records no movement: {reason}")
            }
            Violation::EntryKindUnknown { entry_id, kind } => {
                write!(f, "entry {entry_id} has the unknown kind {kind:?}")
            }
        }
    }
}
