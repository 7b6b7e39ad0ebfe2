//! Test payment codes (the `auth_code` a cashier scans from the payer's phone) and what
//! each makes `alipay.trade.pay` do. Real codes are 16 to 24 digits starting with 25 to 30;
//! the sandbox's are 18 digits starting with 28.

/// Paid at once: `10000`, `TRADE_SUCCESS`.
pub const CODE_PAID: &str = "280000000000000001";
/// `10003` (the payer must confirm); the trade becomes `TRADE_SUCCESS` on the
/// [`QUERIES_UNTIL_PAID`]th `alipay.trade.query` (or when the control route says so), and
/// the notification is sent then.
pub const CODE_PAYING_THEN_PAID: &str = "280000000000000002";
/// `10003`, and the payer never confirms: the trade stays `WAIT_BUYER_PAY` until the
/// merchant cancels or closes it.
pub const CODE_PAYING_FOREVER: &str = "280000000000000003";
/// `40004` `ACQ.BUYER_BALANCE_NOT_ENOUGH`; nothing is stored.
pub const CODE_BALANCE_NOT_ENOUGH: &str = "280000000000000004";
/// `40004` `ACQ.PAYMENT_AUTH_CODE_INVALID`; nothing is stored. So is any code that does not
/// look like a payment code (not 16 to 24 digits starting with 25 to 30).
pub const CODE_INVALID: &str = "280000000000000005";

/// How many queries a [`CODE_PAYING_THEN_PAID`] trade waits for.
pub const QUERIES_UNTIL_PAID: u32 = 2;

/// What a payment code does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CodeOutcome {
    Paid,
    /// Paying, then paid after this many queries (`None`: never).
    Paying(Option<u32>),
    BalanceNotEnough,
    Invalid,
}

/// The outcome of `auth_code`. A well-formed code that is none of the above pays at once,
/// so an outside client can use any plausible code.
pub(crate) fn outcome(auth_code: &str) -> CodeOutcome {
    match auth_code {
        CODE_PAID => CodeOutcome::Paid,
        CODE_PAYING_THEN_PAID => CodeOutcome::Paying(Some(QUERIES_UNTIL_PAID)),
        CODE_PAYING_FOREVER => CodeOutcome::Paying(None),
        CODE_BALANCE_NOT_ENOUGH => CodeOutcome::BalanceNotEnough,
        CODE_INVALID => CodeOutcome::Invalid,
        _ if looks_like_alipay_code(auth_code) => CodeOutcome::Paid,
        _ => CodeOutcome::Invalid,
    }
}

fn looks_like_alipay_code(code: &str) -> bool {
    let prefix_ok = matches!(code.get(..2), Some("25" | "26" | "27" | "28" | "29" | "30"));
    prefix_ok && (16..=24).contains(&code.len()) && code.bytes().all(|byte| byte.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_code_has_its_outcome_and_others_follow_the_shape_rule() {
        assert_eq!(outcome(CODE_PAID), CodeOutcome::Paid);
        assert_eq!(outcome(CODE_PAYING_THEN_PAID), CodeOutcome::Paying(Some(QUERIES_UNTIL_PAID)));
        assert_eq!(outcome(CODE_PAYING_FOREVER), CodeOutcome::Paying(None));
        assert_eq!(outcome(CODE_BALANCE_NOT_ENOUGH), CodeOutcome::BalanceNotEnough);
        assert_eq!(outcome(CODE_INVALID), CodeOutcome::Invalid);
        assert_eq!(outcome("2512345678901234"), CodeOutcome::Paid);
        for bad in ["", "134567890123456789", "28000000000000", "28000000000000000a", "3100000000000000001"] {
            assert_eq!(outcome(bad), CodeOutcome::Invalid, "{bad}");
        }
    }
}
