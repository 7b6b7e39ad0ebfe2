//! What payment-code payments share across channels (Alipay's `alipay_barcode`, WeChat
//! Pay's `wechat_barcode`): how long a request waits for the payer to confirm on their
//! phone, how it asks meanwhile, and the 402s a refused code answers with.
//!
//! A payer who must confirm (Alipay `10003`, WeChat `USERPAYING`) is waited for inside the
//! request, asking the channel with growing pauses for at most the configured wait
//! (`Payrail::with_payer_wait_ms`). Past it the request answers `processing` and the sweep
//! goes on asking; a payer who has not confirmed within [`PAYER_WAIT_MS_MAX`] has the trade
//! cancelled at the channel and the payment fails with `payment_code_timeout`.

use std::future::Future;
use std::time::Duration;

use payrail_domain::{ErrorType, Problem, Secret};

use crate::outcome::AttemptResult;
use crate::payments::PaymentMethodInput;

/// How long a request waits for the payer by default. Less than the default request
/// timeout (45 s), so that the request can still answer `processing` itself.
pub const DEFAULT_PAYER_WAIT_MS: u64 = 30_000;
/// How long after confirming the payer may still confirm on their phone, counting the
/// background queries; then the trade is cancelled.
pub const PAYER_WAIT_MS_MAX: i64 = 5 * 60 * 1000;
/// The first pause before asking the channel again; each pause doubles up to the longest.
const QUERY_PAUSE_MS_FIRST: u64 = 250;
const QUERY_PAUSE_MS_MAX: u64 = 4_000;
/// The decline code kept for a payer who never confirmed.
pub(crate) const PAYER_DID_NOT_CONFIRM: &str = "payer_did_not_confirm";

/// Why a channel refused a payment code, as Payrail tells the merchant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CodeRefusal {
    /// Malformed, unknown or expired.
    Invalid,
    InsufficientFunds,
    /// The payer did not confirm within [`PAYER_WAIT_MS_MAX`].
    Timeout,
    /// Any other refusal, by the named channel.
    Declined(&'static str),
}

/// Calls `query` with growing pauses until it tells something other than `Unknown` or
/// `wait_ms` is over; then `Unknown`, which leaves the payment `processing` for the sweep.
pub(crate) async fn wait_for_payer<F, Fut>(wait_ms: u64, mut query: F) -> AttemptResult
where
    F: FnMut() -> Fut,
    Fut: Future<Output = AttemptResult>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_millis(wait_ms);
    let mut pause_ms = QUERY_PAUSE_MS_FIRST;
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        if left.is_zero() {
            return AttemptResult::Unknown;
        }
        tokio::time::sleep(left.min(Duration::from_millis(pause_ms))).await;
        match query().await {
            AttemptResult::Unknown => pause_ms = (pause_ms * 2).min(QUERY_PAUSE_MS_MAX),
            ended => return ended,
        }
    }
}

/// The failed attempt of a payer who never confirmed; the trade was cancelled.
pub(crate) fn payer_timed_out() -> AttemptResult {
    AttemptResult::Failed {
        problem: code_problem(CodeRefusal::Timeout),
        decline_code: Some(PAYER_DID_NOT_CONFIRM.to_owned()),
    }
}

/// The 402 for a refused payment code.
pub(crate) fn code_problem(refusal: CodeRefusal) -> Problem {
    let (code, message) = match refusal {
        CodeRefusal::Invalid => ("payment_code_invalid", "the payment code is invalid or expired".to_owned()),
        CodeRefusal::InsufficientFunds => ("insufficient_funds", "the payer's balance is not enough".to_owned()),
        CodeRefusal::Timeout => ("payment_code_timeout", "the payer did not confirm the payment in time".to_owned()),
        CodeRefusal::Declined(channel) => ("payment_declined", format!("{channel} declined the payment")),
    };
    Problem { error_type: ErrorType::Card, ..Problem::invalid_request(code, message).with_status(402) }
}

impl PaymentMethodInput {
    /// The method for an `auto_barcode`: a payment code routed to the channel it belongs
    /// to by its shape. WeChat Pay's are 18 digits starting 10 to 15, Alipay's 16 to 24
    /// digits starting 25 to 30; a code of neither shape is refused (402
    /// `payment_code_invalid`) before anything is written.
    pub fn payment_code(auth_code: Secret<String>) -> Result<PaymentMethodInput, Problem> {
        let code = auth_code.expose();
        if crate::wechatpay::is_wechat_payment_code(code) {
            Ok(PaymentMethodInput::WechatBarcode { auth_code })
        } else if is_alipay_payment_code(code) {
            Ok(PaymentMethodInput::AlipayBarcode { auth_code })
        } else {
            Err(code_problem(CodeRefusal::Invalid).with_param("payment_method[auto_barcode][auth_code]"))
        }
    }
}

/// Alipay's payment codes: 16 to 24 digits starting 25 to 30.
fn is_alipay_payment_code(code: &str) -> bool {
    (16..=24).contains(&code.len())
        && code.bytes().all(|byte| byte.is_ascii_digit())
        && ("25".."31").contains(&&code[..2])
}

#[cfg(test)]
mod tests {
    use payrail_domain::Secret;

    use crate::payments::PaymentMethodInput;

    fn routed(code: &str) -> Result<&'static str, &'static str> {
        match PaymentMethodInput::payment_code(Secret::new(code.to_owned())) {
            Ok(PaymentMethodInput::WechatBarcode { .. }) => Ok("wechat"),
            Ok(PaymentMethodInput::AlipayBarcode { .. }) => Ok("alipay"),
            Ok(_) => Ok("other"),
            Err(problem) => Err(problem.code),
        }
    }

    #[test]
    fn payment_codes_are_routed_by_their_shape() {
        assert_eq!(routed("134610000000000001"), Ok("wechat"));
        assert_eq!(routed("280000000000000001"), Ok("alipay"));
        assert_eq!(routed("3000000000000000"), Ok("alipay"));
        for unknown in ["990000000000000000", "160000000000000000", "2800000000", "28000000000000000a", ""] {
            assert_eq!(routed(unknown), Err("payment_code_invalid"), "{unknown}");
        }
    }
}
