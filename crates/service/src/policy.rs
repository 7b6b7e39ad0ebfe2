//! What the operator decides for every merchant: the default fee, whether a refund gives
//! the fee back, and tighter amount limits per currency. A merchant's own fee schedule
//! (`payrail merchant set-fees`) overrides the default fee.

use payrail_domain::fees::FeeSchedule;
use payrail_domain::payment::PaymentAmount;
use payrail_domain::{Currency, Problem};

/// The fee charged when a merchant has no schedule of its own: 2.9% + 30 minor units.
pub const DEFAULT_FEE_BASIS_POINTS: u32 = 290;
pub const DEFAULT_FEE_FIXED_MINOR: i64 = 30;

/// What becomes of a payment the payer paid after Payrail had given it up (closed it,
/// or failed its attempt).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LateSuccessPolicy {
    /// Refund it in full at once, fee included: the merchant no longer expects the money.
    #[default]
    Refund,
    /// Keep it: the merchant is told and decides.
    Keep,
}

impl LateSuccessPolicy {
    pub fn parse(text: &str) -> Option<LateSuccessPolicy> {
        match text {
            "refund" => Some(LateSuccessPolicy::Refund),
            "keep" => Some(LateSuccessPolicy::Keep),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            LateSuccessPolicy::Refund => "refund",
            LateSuccessPolicy::Keep => "keep",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    default_fees: FeeSchedule,
    refund_returns_fee: bool,
    late_success: LateSuccessPolicy,
    /// One entry per currency, in the order configured; a handful at most.
    amount_max: Vec<(Currency, i64)>,
}

impl Default for Policy {
    fn default() -> Policy {
        let default_fees = FeeSchedule::parse(DEFAULT_FEE_BASIS_POINTS, DEFAULT_FEE_FIXED_MINOR)
            .unwrap_or_else(|| unreachable!("the default fee schedule is valid"));
        Policy {
            default_fees,
            refund_returns_fee: false,
            late_success: LateSuccessPolicy::default(),
            amount_max: Vec::new(),
        }
    }
}

impl Policy {
    pub fn with_default_fees(self, default_fees: FeeSchedule) -> Policy {
        Policy { default_fees, ..self }
    }

    /// Whether a refund returns its share of the capture's fee (by default it does not: the
    /// merchant bears the fee, as card networks charge it).
    pub fn with_refund_returns_fee(self, refund_returns_fee: bool) -> Policy {
        Policy { refund_returns_fee, ..self }
    }

    /// Caps payments in `currency` at `amount_minor_max`, which must lie in 1 to 10^12.
    pub fn with_amount_max(mut self, currency: Currency, amount_minor_max: i64) -> Result<Policy, String> {
        if !(1..=PaymentAmount::AMOUNT_MINOR_MAX).contains(&amount_minor_max) {
            let limit = PaymentAmount::AMOUNT_MINOR_MAX;
            return Err(format!("the {} amount limit must be between 1 and {limit}", currency.code()));
        }
        self.amount_max.retain(|(configured, _)| *configured != currency);
        self.amount_max.push((currency, amount_minor_max));
        Ok(self)
    }

    /// What is done with a payment paid after Payrail gave it up.
    pub fn with_late_success(self, late_success: LateSuccessPolicy) -> Policy {
        Policy { late_success, ..self }
    }

    pub fn late_success(&self) -> LateSuccessPolicy {
        self.late_success
    }

    pub fn default_fees(&self) -> FeeSchedule {
        self.default_fees
    }

    pub fn refund_returns_fee(&self) -> bool {
        self.refund_returns_fee
    }

    /// Every currency with a limit tighter than the global one.
    pub fn amount_limits(&self) -> impl Iterator<Item = (Currency, i64)> + '_ {
        self.amount_max.iter().copied()
    }

    /// A payment amount, checked against the currency's limit.
    pub fn payment_amount(&self, amount_minor: i64, currency: Currency) -> Result<PaymentAmount, Problem> {
        let configured = self.amount_max.iter().find(|(configured, _)| *configured == currency);
        let max = configured.map_or(PaymentAmount::AMOUNT_MINOR_MAX, |(_, max)| *max);
        PaymentAmount::parse_with_max(amount_minor, currency, max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_currency_limit_applies_to_that_currency_only_and_must_be_in_range() {
        let (usd, jpy) = (Currency::parse("USD").expect("known"), Currency::parse("JPY").expect("known"));
        let policy = Policy::default().with_amount_max(jpy, 1_000_000).expect("in range");
        assert!(policy.payment_amount(1_000_000, jpy).is_ok());
        let refused = policy.payment_amount(1_000_001, jpy).expect_err("over the JPY limit");
        assert_eq!((refused.code, refused.param.as_deref()), ("amount_invalid", Some("amount")));
        assert!(policy.payment_amount(1_000_001, usd).is_ok(), "USD keeps the global limit");
        assert!(policy.payment_amount(PaymentAmount::AMOUNT_MINOR_MAX + 1, usd).is_err());
        assert!(Policy::default().with_amount_max(usd, 0).is_err());
        assert!(Policy::default().with_amount_max(usd, PaymentAmount::AMOUNT_MINOR_MAX + 1).is_err());
        assert_eq!(policy.amount_limits().collect::<Vec<_>>(), [(jpy, 1_000_000)]);
    }
}
