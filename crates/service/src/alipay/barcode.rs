//! Payment-code payments (`alipay_barcode`): the cashier scans the payer's payment code and
//! Payrail calls `alipay.trade.pay` (`scene=bar_code`) with the attempt as `out_trade_no`.
//!
//! `10003` (the payer must confirm on their phone) is waited for inside the request: the
//! trade is queried under the same `out_trade_no` as `payment_codes.rs` describes (shared
//! with WeChat Pay); a payer who has not confirmed within [`PAYER_WAIT_MS_MAX`] of the
//! confirmation has the trade cancelled at Alipay (`alipay.trade.cancel`) and the payment
//! fails.

use payrail_channels::alipay::{BarcodePayRequest, CancelOutcome, PayOutcome, TradeStatus};
use payrail_domain::payment_record::{Payment, PaymentMethodType};
use payrail_domain::{AttemptId, Problem, Secret};
use payrail_store::attempts::StoredAttempt;

use super::{AlipayAccount, TRADE_HAS_SUCCESS, alipay_problem, paid_result, subject};
use crate::confirm::Attach;
use crate::outcome::AttemptResult;
use crate::payment_codes::{CodeRefusal, PAYER_WAIT_MS_MAX, code_problem, payer_timed_out, wait_for_payer};
use crate::payments::ChargeTarget;
use crate::random::id_random;
use crate::{Caller, Payrail, ServiceError};

impl Payrail {
    /// Confirms a payment with the payer's Alipay payment code.
    pub(crate) async fn charge_alipay_barcode(
        &self,
        caller: &Caller,
        target: ChargeTarget,
        auth_code: Secret<String>,
    ) -> Result<Payment, ServiceError> {
        check_auth_code(auth_code.expose())?;
        let account = self.alipay_for_payment(caller, &target, PaymentMethodType::AlipayBarcode).await?;
        let now = self.clock.now();
        let attempt_id = AttemptId::generate(now, id_random(now));
        let (method, account_id) = (Attach::AlipayBarcode, account.account_id.clone());
        let payment = self.start_attempt_through(caller, target, method, &attempt_id, account_id).await?;
        let request = BarcodePayRequest {
            out_trade_no: attempt_id.to_string(),
            amount: payment.amounts_money(),
            subject: subject(&payment),
            auth_code: auth_code.expose().clone(),
            notify_url: Some(account.notify_url.clone()),
            time_expire: Some(payment.expires_at),
        };
        let amount_minor = payment.amounts.amount_minor();
        let result = match account.client.pay(&request).await {
            Ok(PayOutcome::Paid(trade)) => paid_result(&attempt_id, amount_minor, &trade),
            Ok(PayOutcome::UserPaying { .. }) => {
                wait_for_payer(self.payer_wait_ms, || query_paid(&account, &attempt_id, amount_minor)).await
            }
            // An earlier request under this reference was paid: ask what it was.
            Ok(PayOutcome::Failed { sub_code, .. }) if sub_code == TRADE_HAS_SUCCESS => {
                query_paid(&account, &attempt_id, amount_minor).await
            }
            Ok(PayOutcome::Failed { sub_code, .. }) => {
                AttemptResult::Failed { problem: code_problem(refusal(&sub_code)), decline_code: Some(sub_code) }
            }
            Err(error) if error.outcome_is_unknown() => query_paid(&account, &attempt_id, amount_minor).await,
            Err(error) => {
                AttemptResult::Failed { problem: alipay_problem(), decline_code: error.code().map(str::to_owned) }
            }
        };
        self.finish_attempt(Some(caller), &payment.id, &attempt_id, result).await
    }

    /// The sweep's step for a payment-code attempt still unresolved: paid, closed, still
    /// waiting, or waited for too long and cancelled at Alipay.
    pub(crate) async fn resolve_barcode_attempt(
        &self,
        account: &AlipayAccount,
        payment: &Payment,
        attempt: &StoredAttempt,
    ) -> AttemptResult {
        match query_paid(account, &attempt.id, attempt.amount_minor).await {
            AttemptResult::Unknown if self.clock.now().ms_since(payment.updated) >= PAYER_WAIT_MS_MAX => {
                match account.client.cancel(attempt.id.as_str()).await {
                    Ok(CancelOutcome::Closed | CancelOutcome::NotFound | CancelOutcome::Refunded) => payer_timed_out(),
                    Err(_) => AttemptResult::Unknown,
                }
            }
            other => other,
        }
    }
}

/// Paid, closed (failed), or `Unknown` for anything else (waiting, never seen, no answer).
async fn query_paid(account: &AlipayAccount, attempt_id: &AttemptId, amount_minor: i64) -> AttemptResult {
    match account.client.query(attempt_id.as_str()).await {
        Ok(Some(trade)) if trade.status.is_paid() => paid_result(attempt_id, amount_minor, &trade),
        Ok(Some(trade)) if trade.status == TradeStatus::Closed => {
            AttemptResult::Failed { problem: alipay_problem(), decline_code: Some("TRADE_CLOSED".to_owned()) }
        }
        _ => AttemptResult::Unknown,
    }
}

/// A payment code is 16 to 24 digits; anything else is refused before Alipay is asked.
fn check_auth_code(code: &str) -> Result<(), Problem> {
    if (16..=24).contains(&code.len()) && code.bytes().all(|byte| byte.is_ascii_digit()) {
        return Ok(());
    }
    let message = "auth_code must be the 16 to 24 digits of an Alipay payment code";
    Err(Problem::invalid_request("parameter_invalid", message).with_param("payment_method[alipay_barcode][auth_code]"))
}

/// What Alipay's `sub_code` for a refused payment code means.
fn refusal(sub_code: &str) -> CodeRefusal {
    match sub_code {
        "ACQ.PAYMENT_AUTH_CODE_INVALID" => CodeRefusal::Invalid,
        "ACQ.BUYER_BALANCE_NOT_ENOUGH" => CodeRefusal::InsufficientFunds,
        _ => CodeRefusal::Declined("alipay"),
    }
}
