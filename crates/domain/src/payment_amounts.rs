//! A payment's amounts: authorized, capturable, captured and refunded, and the rules that
//! move them. Split from `payment` so each stays small enough to read whole.

use crate::Problem;
use crate::payment::PaymentAmount;

/// A payment's amount and how much of it is authorized but not captured (`capturable`),
/// captured and refunded, in minor units. Pending refunds live in their own rows; callers
/// sum them and pass them in.
///
/// Invariant: `1 <= amount <= 10^12`, `0 <= refunded <= captured <= amount`, `0 <= capturable
/// <= amount`, and `capturable` is 0 once anything is captured (a capture releases the rest).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PaymentAmounts {
    amount_minor: i64,
    capturable_minor: i64,
    captured_minor: i64,
    refunded_minor: i64,
}

impl PaymentAmounts {
    /// A new payment: nothing authorized, captured or refunded.
    pub fn new(amount: PaymentAmount) -> PaymentAmounts {
        let amount_minor = amount.amount_minor();
        PaymentAmounts { amount_minor, capturable_minor: 0, captured_minor: 0, refunded_minor: 0 }.check_invariants()
    }

    /// Amounts read back from storage; `None` (a corrupt row) if they break the invariants.
    pub fn restore(amount_minor: i64, capturable_minor: i64, captured_minor: i64, refunded_minor: i64) -> Option<Self> {
        let amounts = PaymentAmounts { amount_minor, capturable_minor, captured_minor, refunded_minor };
        amounts.invariants_hold().then_some(amounts)
    }

    fn invariants_hold(self) -> bool {
        let PaymentAmounts { amount_minor, capturable_minor, captured_minor, refunded_minor } = self;
        (1..=PaymentAmount::AMOUNT_MINOR_MAX).contains(&amount_minor)
            && (0..=captured_minor).contains(&refunded_minor)
            && (captured_minor <= amount_minor && (0..=amount_minor).contains(&capturable_minor))
            && (capturable_minor == 0 || captured_minor == 0)
    }

    /// Asserts the invariants on every new value, then returns it.
    fn check_invariants(self) -> PaymentAmounts {
        assert!(self.invariants_hold(), "payment amounts broke their invariants: {self:?}");
        self
    }

    pub fn amount_minor(self) -> i64 {
        self.amount_minor
    }

    pub fn capturable_minor(self) -> i64 {
        self.capturable_minor
    }

    pub fn captured_minor(self) -> i64 {
        self.captured_minor
    }

    pub fn refunded_minor(self) -> i64 {
        self.refunded_minor
    }

    /// The channel authorized the whole amount; all of it becomes capturable. Infallible: the
    /// status machine has already allowed the move, so a wrong start is a programmer error.
    pub fn authorize(self) -> PaymentAmounts {
        assert_eq!((self.capturable_minor, self.captured_minor), (0, 0), "authorized twice: {self:?}");
        PaymentAmounts { capturable_minor: self.amount_minor, ..self }.check_invariants()
    }

    /// A cancellation or an expired authorization: nothing stays capturable.
    pub fn release_authorization(self) -> PaymentAmounts {
        PaymentAmounts { capturable_minor: 0, ..self }.check_invariants()
    }

    /// An automatic capture: the whole amount, at authorization.
    pub fn capture_automatically(self) -> PaymentAmounts {
        assert_eq!((self.capturable_minor, self.captured_minor), (0, 0), "captured twice: {self:?}");
        PaymentAmounts { captured_minor: self.amount_minor, ..self }.check_invariants()
    }

    /// A manual capture of `amount_to_capture_minor` (default: all capturable), releasing the
    /// rest. Outside `1..=capturable`: `amount_to_capture_invalid` (400, `amount_to_capture`).
    pub fn capture(self, amount_to_capture_minor: Option<i64>) -> Result<PaymentAmounts, Problem> {
        assert!(self.capturable_minor > 0 && self.captured_minor == 0, "nothing to capture: {self:?}");
        let captured_minor = amount_to_capture_minor.unwrap_or(self.capturable_minor);
        if !(1..=self.capturable_minor).contains(&captured_minor) {
            let message = format!("amount_to_capture must be between 1 and {} minor units", self.capturable_minor);
            return Err(Problem::invalid_request("amount_to_capture_invalid", message).with_param("amount_to_capture"));
        }
        Ok(PaymentAmounts { capturable_minor: 0, captured_minor, ..self }.check_invariants())
    }

    /// Captured, less refunded, less `pending_refunds_minor` (reserved, not yet settled).
    pub fn refundable_minor(self, pending_refunds_minor: i64) -> i64 {
        assert!(pending_refunds_minor >= 0, "pending refunds of {pending_refunds_minor}");
        let unrefunded_minor = self.captured_minor.checked_sub(self.refunded_minor).expect("within the invariants");
        let refundable_minor = unrefunded_minor.checked_sub(pending_refunds_minor).expect("both non-negative");
        assert!(refundable_minor >= 0, "pending refunds of {pending_refunds_minor} exceed what is left: {self:?}");
        refundable_minor
    }

    /// The amount to reserve for a refund of `requested_minor` (default: all refundable). By
    /// precedence: nothing refundable, counting pending refunds: `payment_fully_refunded` (400,
    /// no param); outside `1..=refundable`: `refund_amount_invalid` (400, param `amount`).
    pub fn reserve_refund(self, requested_minor: Option<i64>, pending_refunds_minor: i64) -> Result<i64, Problem> {
        let refundable_minor = self.refundable_minor(pending_refunds_minor);
        if refundable_minor == 0 {
            let message = "nothing is left to refund on this payment, counting refunds still pending";
            return Err(Problem::invalid_request("payment_fully_refunded", message));
        }
        let refund_minor = requested_minor.unwrap_or(refundable_minor);
        if !(1..=refundable_minor).contains(&refund_minor) {
            let message = format!("amount must be between 1 and {refundable_minor} minor units");
            return Err(Problem::invalid_request("refund_amount_invalid", message).with_param("amount"));
        }
        Ok(refund_minor)
    }

    /// The channel settled a refund reserved by [`PaymentAmounts::reserve_refund`].
    pub fn record_refund_succeeded(self, refund_minor: i64) -> PaymentAmounts {
        assert!(refund_minor >= 1, "refund of {refund_minor}");
        let refunded_minor = self.refunded_minor.checked_add(refund_minor).expect("refunds lie within 10^12");
        PaymentAmounts { refunded_minor, ..self }.check_invariants()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Currency;

    /// Asserts a 400 refusal with `code` on `param`.
    fn check<V: std::fmt::Debug>(result: Result<V, Problem>, code: &str, param: Option<&str>, _input: impl ToString) {
        let problem = result.expect_err(code);
        assert_eq!((problem.code, problem.param.as_deref(), problem.status), (code, param, 400));
    }

    fn amounts(amount_minor: i64) -> PaymentAmounts {
        PaymentAmounts::new(PaymentAmount::parse(amount_minor, Currency::parse("usd").expect("known")).expect("valid"))
    }

    fn parts(amounts: PaymentAmounts) -> [i64; 4] {
        [amounts.amount_minor(), amounts.capturable_minor(), amounts.captured_minor(), amounts.refunded_minor()]
    }

    #[test]
    fn captures_default_to_everything_authorized_and_a_partial_one_releases_the_rest() {
        let authorized = amounts(1000).authorize();
        assert_eq!((parts(amounts(1000)), parts(authorized)), ([1000, 0, 0, 0], [1000, 1000, 0, 0]));
        assert_eq!(authorized.capture(None).map(parts), Ok([1000, 0, 1000, 0]));
        assert_eq!(parts(amounts(1000).capture_automatically()), [1000, 0, 1000, 0]);
        assert_eq!(authorized.capture(Some(600)).map(parts), Ok([1000, 0, 600, 0]));
        for bad in [0, -1, 1001, i64::MAX, i64::MIN] {
            check(authorized.capture(Some(bad)), "amount_to_capture_invalid", Some("amount_to_capture"), bad);
        }
    }

    #[test]
    fn partial_refunds_may_sum_to_the_captured_amount_counting_pending_ones_and_no_further() {
        let mut paid = amounts(1000).authorize().capture(Some(900)).expect("capturable");
        for requested in [100, 300] {
            paid = paid.record_refund_succeeded(paid.reserve_refund(Some(requested), 0).expect("refundable"));
        }
        assert_eq!((paid.refundable_minor(0), paid.refundable_minor(250)), (500, 250));
        assert_eq!(paid.reserve_refund(None, 250), Ok(250));
        for bad in [251, 0, -250] {
            check(paid.reserve_refund(Some(bad), 250), "refund_amount_invalid", Some("amount"), bad);
        }
        check(paid.reserve_refund(Some(1), 500), "payment_fully_refunded", None, "");
        let paid = paid.record_refund_succeeded(500);
        assert_eq!(parts(paid), [1000, 0, 900, 900]);
        check(paid.reserve_refund(None, 0), "payment_fully_refunded", None, "");
    }

    #[test]
    fn amounts_at_the_limit_do_not_overflow_and_corrupt_stored_amounts_are_refused() {
        let max = PaymentAmount::AMOUNT_MINOR_MAX;
        let paid = amounts(max).authorize().capture(None).expect("capturable");
        assert_eq!(paid.reserve_refund(None, 0), Ok(max));
        for bad in [i64::MAX, i64::MIN] {
            check(paid.reserve_refund(Some(bad), 1), "refund_amount_invalid", Some("amount"), bad);
        }
        assert_eq!(paid.record_refund_succeeded(max - 1).record_refund_succeeded(1).refundable_minor(0), 0);
        assert_eq!(PaymentAmounts::restore(max, 0, max, 1).map(parts), Some([max, 0, max, 1]));
        let broken = [[0, 0, 0, 0], [max + 1, 0, 0, 0], [9, 10, 0, 0], [9, -1, 0, 0], [9, 0, 10, 0], [9, 0, 8, 9]];
        for [amount, capturable, captured, refunded] in broken.into_iter().chain([[9, 0, 0, -1], [9, 5, 4, 0]]) {
            assert_eq!(PaymentAmounts::restore(amount, capturable, captured, refunded), None, "a corrupt row");
        }
    }

    #[test]
    #[should_panic(expected = "invariants")]
    fn recording_a_refund_beyond_the_captured_amount_is_a_programmer_error() {
        amounts(1000).authorize().capture(Some(500)).expect("capturable").record_refund_succeeded(501);
    }
}
