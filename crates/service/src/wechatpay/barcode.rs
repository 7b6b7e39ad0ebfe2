//! Payment-code payments (`wechat_barcode`): the cashier scans the payer's WeChat payment
//! code and Payrail calls v2 `/pay/micropay` with the attempt as `out_trade_no`.
//!
//! `USERPAYING` (the payer must enter a password), and `SYSTEMERROR` / `BANKERROR` (WeChat
//! cannot tell yet), are waited for inside the request by v2 `/pay/orderquery` under the
//! same `out_trade_no`, as `payment_codes.rs` describes (shared with Alipay). A payer who
//! has not confirmed within [`PAYER_WAIT_MS_MAX`] has the order reversed
//! (`/secapi/pay/reverse`, mutual TLS with the merchant's API certificate) and the payment
//! fails with `payment_code_timeout`.

use payrail_channels::wechatpay::{MicropayOutcome, MicropayRequest};
use payrail_domain::payment_record::{Payment, PaymentMethodType};
use payrail_domain::{AttemptId, Problem, Secret};
use payrail_store::attempts::StoredAttempt;

use super::{ORDER_PAID, WechatPayAccount, description, ended_result, paid_result, wechatpay_problem};
use crate::confirm::Attach;
use crate::outcome::AttemptResult;
use crate::payment_codes::{CodeRefusal, PAYER_WAIT_MS_MAX, code_problem, payer_timed_out, wait_for_payer};
use crate::payments::ChargeTarget;
use crate::random::id_random;
use crate::{Caller, Payrail, ServiceError};

/// `spbill_create_ip`, which v2 requires: the till's address. Payrail's API is called by
/// the merchant's server, not the till, so it sends its own loopback address rather than
/// an address it cannot know.
const DEVICE_IP: &str = "127.0.0.1";
/// WeChat's v2 answer for an order it never received.
const ORDER_NOT_EXIST_V2: &str = "ORDERNOTEXIST";

impl Payrail {
    /// Confirms a payment with the payer's WeChat payment code.
    pub(crate) async fn charge_wechat_barcode(
        &self,
        caller: &Caller,
        target: ChargeTarget,
        auth_code: Secret<String>,
    ) -> Result<Payment, ServiceError> {
        check_auth_code(auth_code.expose())?;
        let (account, fen) = self.wechatpay_charge_of(caller, &target, PaymentMethodType::WechatBarcode).await?;
        let now = self.clock.now();
        let attempt_id = AttemptId::generate(now, id_random(now));
        let (attach, account_id) = (Attach::WechatBarcode, account.account_id.clone());
        let payment = self.start_attempt_through(caller, target, attach, &attempt_id, account_id).await?;
        let request = MicropayRequest {
            out_trade_no: attempt_id.to_string(),
            description: description(&payment),
            amount: fen,
            auth_code: auth_code.expose().clone(),
            device_ip: DEVICE_IP.to_owned(),
        };
        let amount_minor = payment.amounts.amount_minor();
        let result = match account.client.micropay(&request).await {
            Ok(MicropayOutcome::Paid(transaction)) => paid_result(&transaction, amount_minor),
            Ok(MicropayOutcome::Waiting { .. }) => {
                wait_for_payer(self.payer_wait_ms, || query_paid(&account, &attempt_id, amount_minor)).await
            }
            // An earlier request under this reference was paid: ask what it was.
            Ok(MicropayOutcome::Failed(failure)) if failure.code == ORDER_PAID => {
                query_paid(&account, &attempt_id, amount_minor).await
            }
            Ok(MicropayOutcome::Failed(failure)) => AttemptResult::Failed {
                problem: code_problem(refusal(&failure.code)),
                decline_code: Some(failure.code),
            },
            Err(error) if error.outcome_is_unknown() => query_paid(&account, &attempt_id, amount_minor).await,
            Err(error) => {
                AttemptResult::Failed { problem: wechatpay_problem(), decline_code: error.code().map(str::to_owned) }
            }
        };
        self.finish_attempt(Some(caller), &payment.id, &attempt_id, result).await
    }

    /// The sweep's step for a payment-code attempt still unresolved: paid, ended, still
    /// waiting, or waited for too long and reversed at WeChat Pay.
    pub(crate) async fn resolve_wechat_barcode_attempt(
        &self,
        account: &WechatPayAccount,
        payment: &Payment,
        attempt: &StoredAttempt,
    ) -> AttemptResult {
        match query_paid(account, &attempt.id, attempt.amount_minor).await {
            AttemptResult::Unknown if self.clock.now().ms_since(payment.updated) >= PAYER_WAIT_MS_MAX => {
                reverse(account, &attempt.id).await
            }
            other => other,
        }
    }
}

/// Reverses an order the payer never confirmed. WeChat may ask for the call to be repeated
/// (`recall=Y`); it is, once, and otherwise left to the next sweep.
async fn reverse(account: &WechatPayAccount, attempt_id: &AttemptId) -> AttemptResult {
    for _ in 0..2 {
        match account.client.reverse(attempt_id.as_str()).await {
            Ok(false) => return payer_timed_out(),
            Ok(true) => continue,
            Err(error) if error.code() == Some(ORDER_NOT_EXIST_V2) => return payer_timed_out(),
            Err(error) => {
                tracing::warn!(attempt_id = %attempt_id, %error, "could not reverse a payment-code order at wechat pay");
                return AttemptResult::Unknown;
            }
        }
    }
    AttemptResult::Unknown
}

/// Paid, ended (failed), or `Unknown` for anything else (waiting, never seen, no answer).
async fn query_paid(account: &WechatPayAccount, attempt_id: &AttemptId, amount_minor: i64) -> AttemptResult {
    match account.client.order_query(attempt_id.as_str()).await {
        Ok(Some(transaction)) => ended_result(&transaction, amount_minor).unwrap_or(AttemptResult::Unknown),
        _ => AttemptResult::Unknown,
    }
}

/// A WeChat payment code is 18 digits starting 10 to 15; anything else is refused before
/// WeChat Pay is asked.
pub(crate) fn is_wechat_payment_code(code: &str) -> bool {
    code.len() == 18 && code.bytes().all(|byte| byte.is_ascii_digit()) && ("10".."16").contains(&&code[..2])
}

fn check_auth_code(code: &str) -> Result<(), Problem> {
    if is_wechat_payment_code(code) {
        return Ok(());
    }
    let message = "auth_code must be the 18 digits of a WeChat payment code, starting 10 to 15";
    Err(Problem::invalid_request("parameter_invalid", message).with_param("payment_method[wechat_barcode][auth_code]"))
}

/// What WeChat's `err_code` for a refused payment code means.
fn refusal(code: &str) -> CodeRefusal {
    match code {
        "AUTHCODEEXPIRE" | "AUTH_CODE_INVALID" | "AUTH_CODE_ERROR" => CodeRefusal::Invalid,
        "NOTENOUGH" => CodeRefusal::InsufficientFunds,
        _ => CodeRefusal::Declined("wechat pay"),
    }
}

#[cfg(test)]
mod tests {
    use super::is_wechat_payment_code;

    #[test]
    fn payment_codes_are_eighteen_digits_starting_ten_to_fifteen() {
        for good in ["100000000000000000", "134610000000000001", "159999999999999999"] {
            assert!(is_wechat_payment_code(good), "{good}");
        }
        for bad in [
            "160000000000000000",
            "090000000000000000",
            "13461000000000000",
            "1346100000000000012",
            "13461000000000000a",
            "",
        ] {
            assert!(!is_wechat_payment_code(bad), "{bad}");
        }
    }
}
