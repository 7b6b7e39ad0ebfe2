//! Fees: what Payrail charges a merchant on a capture, and what a refund gives back.
//!
//! Computed in integers only: a rate in basis points, rounded half up to the minor unit.

use crate::ledger::LedgerError;

pub const BASIS_POINTS_MAX: u32 = 10_000;

/// A merchant's fee: a rate in basis points plus a fixed part in minor units of the payment's
/// currency (so a schedule belongs to one currency: 30 is 0.30 USD but 30 JPY).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeeSchedule {
    rate_basis_points: u32,
    fixed_minor: i64,
}

impl FeeSchedule {
    /// A rate above 100 % or a negative fixed part is refused.
    pub fn parse(rate_basis_points: u32, fixed_minor: i64) -> Option<FeeSchedule> {
        let valid = rate_basis_points <= BASIS_POINTS_MAX && fixed_minor >= 0;
        valid.then_some(FeeSchedule { rate_basis_points, fixed_minor })
    }

    pub fn rate_basis_points(self) -> u32 {
        self.rate_basis_points
    }

    pub fn fixed_minor(self) -> i64 {
        self.fixed_minor
    }

    /// round_half_up(amount × rate / 10 000) + fixed, capped at the amount: a larger fee would
    /// leave the merchant owing money for being paid, so at most the whole payment is taken.
    pub fn fee_for(self, amount_minor: i64) -> Result<i64, LedgerError> {
        if amount_minor <= 0 {
            return Err(LedgerError::AmountNotPositive);
        }
        // i64::MAX × 10 000 is below 2^78: no step here overflows an i128.
        let (amount, basis) = (i128::from(amount_minor), i128::from(BASIS_POINTS_MAX));
        let rate_part = (amount * i128::from(self.rate_basis_points) + basis / 2) / basis;
        Ok(i64::try_from((rate_part + i128::from(self.fixed_minor)).min(amount)).expect("capped at an i64 amount"))
    }
}

/// The share of a capture's fee that a refund returns, when refunds return fees: the fee
/// in proportion to what has been refunded so far, rounded half up, less what earlier
/// refunds returned. Computed on the running total, so however a capture is split into
/// refunds, a full refund returns exactly the whole fee and never a unit more.
pub fn fee_returned_by_refund(
    fee_charged_minor: i64,
    captured_minor: i64,
    refunded_before_minor: i64,
    refund_minor: i64,
) -> Result<i64, LedgerError> {
    let refunded_after = refunded_before_minor.checked_add(refund_minor).ok_or(LedgerError::Overflow)?;
    if captured_minor <= 0 || refund_minor <= 0 || refunded_before_minor < 0 {
        return Err(LedgerError::AmountNotPositive);
    }
    if refunded_after > captured_minor || !(0..=captured_minor).contains(&fee_charged_minor) {
        return Err(LedgerError::FeeOutOfRange);
    }
    // fee ≤ captured ≤ i64::MAX, so each product stays below 2^126: no overflow in i128.
    let share = |refunded: i64| {
        let (fee, captured) = (i128::from(fee_charged_minor), i128::from(captured_minor));
        (fee * i128::from(refunded) * 2 + captured) / (captured * 2)
    };
    i64::try_from(share(refunded_after) - share(refunded_before_minor)).map_err(|_| LedgerError::Overflow)
}

#[cfg(test)]
mod tests {
    use super::*;
    use LedgerError::*;

    /// xorshift64, so that a failing seed replays exactly: a number in `0..bound`.
    fn below(state: &mut u64, bound: i64) -> i64 {
        *state ^= *state << 13;
        *state ^= *state >> 7;
        *state ^= *state << 17;
        (*state % bound.cast_unsigned()).cast_signed()
    }

    #[test]
    fn fees_are_the_rate_rounded_half_up_plus_the_fixed_part_capped_at_the_amount() {
        let fee = |rate, fixed, amount| FeeSchedule::parse(rate, fixed).expect("valid schedule").fee_for(amount);
        assert_eq!((fee(290, 30, 1_000), fee(290, 30, 1_050)), (Ok(29 + 30), Ok(30 + 30)));
        assert_eq!((fee(250, 0, 20), fee(250, 0, 19)), (Ok(1), Ok(0)), "0.5 rounds up, 0.475 down");
        assert_eq!((fee(0, 0, 1_000), fee(290, 30, 1)), (Ok(0), Ok(1)), "never more than the amount");
        assert_eq!((fee(10_000, 0, 1_000_000_000_000), fee(10_000, 30, i64::MAX)), (Ok(10_i64.pow(12)), Ok(i64::MAX)));
        assert_eq!((FeeSchedule::parse(10_001, 0), FeeSchedule::parse(0, -1)), (None, None));
        assert_eq!((fee(290, 30, 0), fee(290, 30, -1)), (Err(AmountNotPositive), Err(AmountNotPositive)));
    }

    #[test]
    fn refunds_return_the_fee_in_proportion_and_a_full_refund_returns_all_of_it() {
        assert_eq!(fee_returned_by_refund(59, 1_000, 0, 500), Ok(30), "29.5 rounds up");
        assert_eq!(fee_returned_by_refund(59, 1_000, 500, 500), Ok(29), "the rest, exactly");
        assert_eq!(fee_returned_by_refund(0, 1_000, 0, 1_000), Ok(0));
        let rng = &mut 0x5eed_u64;
        for _ in 0..2_000 {
            let captured = 1 + below(rng, 1_000_000);
            let fee = below(rng, captured + 1);
            let (mut refunded, mut returned) = (0, 0);
            while refunded < captured {
                let refund = 1 + below(rng, captured - refunded);
                returned += fee_returned_by_refund(fee, captured, refunded, refund).expect("in range");
                refunded += refund;
                assert!(returned <= fee, "returned {returned} of a {fee} fee");
            }
            assert_eq!(returned, fee, "a full refund returns the whole fee");
        }
        assert_eq!(fee_returned_by_refund(59, 1_000, 600, 500), Err(FeeOutOfRange), "more than captured");
        assert_eq!(fee_returned_by_refund(1_001, 1_000, 0, 5), Err(FeeOutOfRange));
        assert_eq!(fee_returned_by_refund(59, 1_000, 0, 0), Err(AmountNotPositive));
        assert_eq!(fee_returned_by_refund(59, 1_000, i64::MAX, 1), Err(Overflow));
    }
}
