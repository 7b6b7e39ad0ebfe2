//! The ledger's invariants as plain functions of the rows the store read back: no IO, so
//! each rule is tested here on hand-made rows, and a database is only needed to show the
//! rows are read right.
//!
//! Responsibility is split so one fault is reported once where possible: a payment or
//! refund that moved money must have its one entry (checked from the movement's side); an
//! entry must have a movement that happened (checked from the entry's side).

use payrail_domain::ledger::EntryKind;
use payrail_domain::payment::{PaymentAmount, PaymentStatus};
use payrail_domain::refund::RefundStatus;
use payrail_store::verify::{AccountTotal, EntryLink, EntryTotal, PaymentMovement, RefundMovement};

use super::Violation;

/// One entry's totals, all rows of one entry id.
pub(super) fn entry_totals(totals: &[EntryTotal], found: &mut Vec<Violation>) {
    let Some(first) = totals.first() else { return };
    let postings: i64 = totals.iter().map(|total| total.postings).sum();
    if postings < 2 {
        found.push(Violation::EntryTooFewPostings { entry_id: first.entry_id.clone(), postings });
    }
    for total in totals.iter().filter(|total| total.total_minor != 0) {
        found.push(Violation::EntryUnbalanced {
            entry_id: total.entry_id.clone(),
            currency: total.currency.clone().unwrap_or_else(|| "no currency".to_owned()),
            total_minor: total.total_minor,
        });
    }
}

pub(super) fn account(account: &AccountTotal, found: &mut Vec<Violation>) {
    if account.balance_minor != account.postings_minor {
        found.push(Violation::AccountBalanceMismatch {
            account_code: account.code.clone(),
            cached_minor: account.balance_minor,
            postings_minor: account.postings_minor,
        });
    }
}

/// The first rule of `PaymentAmounts` the amounts break, checked again here because a
/// database altered with its CHECKs off holds whatever was written into it.
pub(super) fn broken_amount_rule(amount: i64, capturable: i64, captured: i64, refunded: i64) -> Option<&'static str> {
    let rules = [
        ((1..=PaymentAmount::AMOUNT_MINOR_MAX).contains(&amount), "the amount is outside 1 to 10^12"),
        (capturable >= 0 && captured >= 0 && refunded >= 0, "an amount is negative"),
        (refunded <= captured, "refunded exceeds captured"),
        (captured <= amount, "captured exceeds the amount"),
        (capturable <= amount, "capturable exceeds the amount"),
        (capturable == 0 || captured == 0, "capturable is left after a capture"),
    ];
    rules.into_iter().find(|(holds, _)| !holds).map(|(_, rule)| rule)
}

pub(super) fn payment(payment: &PaymentMovement, found: &mut Vec<Violation>) {
    let PaymentMovement { amount_minor, capturable_minor, captured_minor, refunded_minor, .. } = *payment;
    let payment_id = || payment.payment_id.clone();
    if let Some(rule) = broken_amount_rule(amount_minor, capturable_minor, captured_minor, refunded_minor) {
        let payment_id = payment_id();
        found.push(Violation::PaymentAmountsInvalid {
            payment_id,
            rule,
            amount_minor,
            capturable_minor,
            captured_minor,
            refunded_minor,
        });
    }
    // Only a capture makes a payment succeeded, and nothing else moves captured money.
    let succeeded = PaymentStatus::parse(&payment.status) == Some(PaymentStatus::Succeeded);
    if succeeded != (captured_minor > 0) {
        let status = payment.status.clone();
        found.push(Violation::PaymentStatusMismatch { payment_id: payment_id(), status, captured_minor });
    }
    if payment.refunds_succeeded_minor != refunded_minor {
        let refunds_succeeded_minor = payment.refunds_succeeded_minor;
        found.push(Violation::RefundedAmountMismatch {
            payment_id: payment_id(),
            refunded_minor,
            refunds_succeeded_minor,
        });
    }
    // Summed as i128: two tampered i64 sums could overflow an i64.
    let refunds_minor = i128::from(payment.refunds_succeeded_minor) + i128::from(payment.refunds_pending_minor);
    if refunds_minor > i128::from(captured_minor) {
        let refunds_minor = i64::try_from(refunds_minor).unwrap_or(i64::MAX);
        found.push(Violation::RefundsExceedCapture { payment_id: payment_id(), captured_minor, refunds_minor });
    }
    capture_entry(payment, found);
}

/// A payment that captured money has exactly one `payment_captured` entry, debiting the
/// receivable by the amount captured. Entries of a payment that captured nothing are
/// reported from the entry's side, by [`entry_link`].
fn capture_entry(payment: &PaymentMovement, found: &mut Vec<Violation>) {
    let (payment_id, captured_minor) = (payment.payment_id.clone(), payment.captured_minor);
    match payment.capture_entries {
        _ if captured_minor <= 0 => {}
        0 => found.push(Violation::CaptureEntryMissing { payment_id, captured_minor }),
        1 if payment.capture_receivable_minor != captured_minor => {
            let receivable_minor = payment.capture_receivable_minor;
            found.push(Violation::CaptureEntryAmountMismatch { payment_id, captured_minor, receivable_minor });
        }
        1 => {}
        entries => found.push(Violation::CaptureEntryDuplicated { payment_id, entries }),
    }
}

/// A succeeded refund has exactly one `refund_succeeded` entry, crediting the receivable by
/// the refund's amount. Entries of other refunds are reported by [`entry_link`].
pub(super) fn refund(refund: &RefundMovement, found: &mut Vec<Violation>) {
    if RefundStatus::parse(&refund.status) != Some(RefundStatus::Succeeded) {
        return;
    }
    let (refund_id, amount_minor) = (refund.refund_id.clone(), refund.amount_minor);
    match refund.refund_entries {
        0 => found.push(Violation::RefundEntryMissing { refund_id, amount_minor }),
        1 if Some(refund.refund_receivable_minor) != amount_minor.checked_neg() => {
            let receivable_minor = refund.refund_receivable_minor;
            found.push(Violation::RefundEntryAmountMismatch { refund_id, amount_minor, receivable_minor });
        }
        1 => {}
        entries => found.push(Violation::RefundEntryDuplicated { refund_id, entries }),
    }
}

/// An entry that records a capture or a refund names one that happened.
pub(super) fn entry_link(link: &EntryLink, found: &mut Vec<Violation>) {
    let reason = match EntryKind::parse(&link.kind) {
        None => {
            found.push(Violation::EntryKindUnknown { entry_id: link.entry_id.clone(), kind: link.kind.clone() });
            return;
        }
        Some(EntryKind::PaymentCaptured) => match (&link.payment_id, &link.payment_status, link.payment_captured_minor)
        {
            (None, _, _) => "it names no payment".to_owned(),
            (Some(id), None, _) | (Some(id), _, None) => format!("payment {id} does not exist"),
            (Some(_), Some(_), Some(captured_minor)) if captured_minor > 0 => return,
            (Some(id), Some(status), Some(_)) => format!("payment {id} is {status} with nothing captured"),
        },
        Some(EntryKind::RefundSucceeded) => match (&link.refund_id, &link.refund_status) {
            (None, _) => "it names no refund".to_owned(),
            (Some(id), None) => format!("refund {id} does not exist"),
            (Some(_), Some(status)) if RefundStatus::parse(status) == Some(RefundStatus::Succeeded) => return,
            (Some(id), Some(status)) => format!("refund {id} is {status}"),
        },
        // Settlements and corrections move money between Payrail's own accounts; no
        // payment or refund stands behind them.
        Some(EntryKind::Settlement | EntryKind::FeeCorrection) => return,
    };
    found.push(Violation::EntryWithoutMovement { entry_id: link.entry_id.clone(), kind: link.kind.clone(), reason });
}

#[cfg(test)]
mod tests {
    use payrail_domain::payment_amounts::PaymentAmounts;

    use super::*;

    fn payment_row(captured_minor: i64, capture_entries: i64, capture_receivable_minor: i64) -> PaymentMovement {
        PaymentMovement {
            payment_id: "pay_1".into(),
            status: if captured_minor > 0 { "succeeded" } else { "requires_capture" }.into(),
            amount_minor: 1000,
            capturable_minor: if captured_minor > 0 { 0 } else { 1000 },
            captured_minor,
            refunded_minor: 0,
            refunds_succeeded_minor: 0,
            refunds_pending_minor: 0,
            capture_entries,
            capture_receivable_minor,
        }
    }

    fn link(kind: &str, payment: Option<(&str, i64)>, refund_status: Option<&str>) -> EntryLink {
        EntryLink {
            entry_id: "jrn_1".into(),
            kind: kind.into(),
            payment_id: Some("pay_1".into()),
            payment_status: payment.map(|(status, _)| status.into()),
            payment_captured_minor: payment.map(|(_, captured)| captured),
            refund_id: Some("re_1".into()),
            refund_status: refund_status.map(str::to_owned),
        }
    }

    /// Runs `rule` on `row` and compares the codes of what it found.
    fn check<Row>(rule: fn(&Row, &mut Vec<Violation>), row: Row, expect: &[&str]) {
        let mut found = Vec::new();
        rule(&row, &mut found);
        assert_eq!(found.iter().map(Violation::code).collect::<Vec<_>>(), expect, "{found:?}");
    }

    #[test]
    fn the_amount_rules_are_exactly_those_of_payment_amounts() {
        let values = [-1, 0, 1, 500, 1000, 1001, PaymentAmount::AMOUNT_MINOR_MAX + 1];
        for amount in [0, 1, 1000, PaymentAmount::AMOUNT_MINOR_MAX + 1] {
            for (capturable, captured, refunded) in
                values.map(|a| values.map(|b| values.map(|c| (a, b, c)))).as_flattened().as_flattened()
            {
                let restored = PaymentAmounts::restore(amount, *capturable, *captured, *refunded).is_some();
                let broken = broken_amount_rule(amount, *capturable, *captured, *refunded);
                assert_eq!(restored, broken.is_none(), "{amount} {capturable} {captured} {refunded}: {broken:?}");
            }
        }
    }

    #[test]
    fn a_capture_needs_exactly_one_entry_for_exactly_its_amount() {
        check(payment, payment_row(1000, 1, 1000), &[]);
        check(payment, payment_row(0, 0, 0), &[]);
        check(payment, payment_row(1000, 0, 0), &["capture_entry_missing"]);
        check(payment, payment_row(1000, 2, 2000), &["capture_entry_duplicated"]);
        check(payment, payment_row(1000, 1, 999), &["capture_entry_amount_mismatch"]);
        // An entry for a payment that captured nothing is the entry's fault, found by entry_link.
        check(payment, payment_row(0, 1, 1000), &[]);
        let succeeded_with_nothing = PaymentMovement { status: "succeeded".into(), ..payment_row(0, 0, 0) };
        check(payment, succeeded_with_nothing, &["payment_status_mismatch"]);
    }

    #[test]
    fn refunds_must_add_up_to_the_refunded_amount_and_stay_within_the_capture() {
        let refunded =
            PaymentMovement { refunded_minor: 300, refunds_succeeded_minor: 300, ..payment_row(1000, 1, 1000) };
        check(payment, refunded.clone(), &[]);
        let pending_too_much = PaymentMovement { refunds_pending_minor: 701, ..refunded.clone() };
        check(payment, pending_too_much, &["refunds_exceed_capture"]);
        let overflowing = PaymentMovement { refunds_pending_minor: i64::MAX, ..refunded.clone() };
        check(payment, overflowing, &["refunds_exceed_capture"]);
        let unrecorded = PaymentMovement { refunds_succeeded_minor: 200, ..refunded };
        check(payment, unrecorded, &["refunded_amount_mismatch"]);
    }

    #[test]
    fn a_succeeded_refund_needs_exactly_one_entry_crediting_its_amount() {
        let refund_row = |status: &str, refund_entries: i64, refund_receivable_minor: i64| RefundMovement {
            refund_id: "re_1".into(),
            payment_id: "pay_1".into(),
            status: status.into(),
            amount_minor: 300,
            refund_entries,
            refund_receivable_minor,
        };
        check(refund, refund_row("succeeded", 1, -300), &[]);
        check(refund, refund_row("succeeded", 0, 0), &["refund_entry_missing"]);
        check(refund, refund_row("succeeded", 2, -600), &["refund_entry_duplicated"]);
        check(refund, refund_row("succeeded", 1, 300), &["refund_entry_amount_mismatch"]);
        // A pending or failed refund's entry is reported from the entry's side.
        check(refund, refund_row("pending", 1, -300), &[]);
    }

    #[test]
    fn an_entry_must_record_a_capture_or_refund_that_happened() {
        check(entry_link, link("payment_captured", Some(("succeeded", 1000)), None), &[]);
        check(entry_link, link("payment_captured", None, None), &["entry_without_movement"]);
        check(entry_link, link("payment_captured", Some(("canceled", 0)), None), &["entry_without_movement"]);
        check(entry_link, link("refund_succeeded", None, Some("succeeded")), &[]);
        check(entry_link, link("refund_succeeded", None, Some("pending")), &["entry_without_movement"]);
        check(entry_link, link("refund_succeeded", None, None), &["entry_without_movement"]);
        check(
            entry_link,
            EntryLink { refund_id: None, ..link("refund_succeeded", None, None) },
            &["entry_without_movement"],
        );
        check(entry_link, link("settlement", None, None), &[]);
        check(entry_link, link("gift", None, None), &["entry_kind_unknown"]);
    }

    #[test]
    fn an_entry_needs_two_postings_balancing_in_every_currency() {
        let total = |currency: Option<&str>, postings: i64, total_minor: i64| EntryTotal {
            entry_id: "jrn_1".into(),
            currency: currency.map(str::to_owned),
            postings,
            total_minor,
        };
        let check_entry = |totals: Vec<EntryTotal>, expect: &[&str]| {
            check(|t: &Vec<EntryTotal>, found| entry_totals(t, found), totals, expect)
        };
        check_entry(vec![total(Some("USD"), 3, 0)], &[]);
        check_entry(vec![total(None, 0, 0)], &["entry_too_few_postings"]);
        check_entry(
            vec![total(Some("EUR"), 1, 5), total(Some("USD"), 1, -5)],
            &["entry_unbalanced", "entry_unbalanced"],
        );
        check_entry(vec![total(Some("USD"), 1, 5)], &["entry_too_few_postings", "entry_unbalanced"]);
    }
}
