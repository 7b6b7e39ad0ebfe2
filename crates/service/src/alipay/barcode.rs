//! Payment-code payments (`alipay_barcode`): the cashier scans the payer's payment code and
//! Payrail calls `alipay.trade.pay` (`scene=bar_code`) with the attempt as `out_trade_no`.
//!
//! `10003` (the payer must confirm on their phone) is waited for inside the request: the
//! trade is queried under the same `out_trade_no` with growing pauses for at most the
//! configured wait (`with_alipay_payer_wait_ms`). Past it the request answers `processing`
//! and the sweep goes on asking; a payer who has not confirmed within
//! [`PAYER_WAIT_MS_MAX`] of the confirmation has the trade cancelled at Alipay
//! (`alipay.trade.cancel`) and the payment fails.

use std::time::Duration;

use payrail_channels::alipay::{BarcodePayRequest, CancelOutcome, PayOutcome, TradeStatus};
use payrail_domain::payment_record::{Payment, PaymentMethodType};
use payrail_domain::{AttemptId, ErrorType, Problem, Secret};
use payrail_store::attempts::StoredAttempt;

use super::{AlipayAccount, TRADE_HAS_SUCCESS, alipay_problem, paid_result, subject};
use crate::confirm::Attach;
use crate::outcome::AttemptResult;
use crate::payments::ChargeTarget;
use crate::random::id_random;
use crate::{Caller, Payrail, ServiceError};

/// How long a request waits for the payer by default. Less than the default request
/// timeout (30 s), so that the request can still answer `processing` itself.
pub const DEFAULT_PAYER_WAIT_MS: u64 = 20_000;
/// How long after confirming the payer may still confirm on their phone, counting the
/// background queries; then the trade is cancelled.
pub const PAYER_WAIT_MS_MAX: i64 = 5 * 60 * 1000;
/// The first pause before asking Alipay again; each pause doubles up to the longest.
const QUERY_PAUSE_MS_FIRST: u64 = 250;
const QUERY_PAUSE_MS_MAX: u64 = 4_000;

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
            Ok(PayOutcome::UserPaying { .. }) => self.wait_for_payer(&account, &attempt_id, amount_minor).await,
            // An earlier request under this reference was paid: ask what it was.
            Ok(PayOutcome::Failed { sub_code, .. }) if sub_code == TRADE_HAS_SUCCESS => {
                query_paid(&account, &attempt_id, amount_minor).await
            }
            Ok(PayOutcome::Failed { sub_code, .. }) => {
                AttemptResult::Failed { problem: code_problem(&sub_code), decline_code: Some(sub_code) }
            }
            Err(error) if error.outcome_is_unknown() => query_paid(&account, &attempt_id, amount_minor).await,
            Err(error) => {
                AttemptResult::Failed { problem: alipay_problem(), decline_code: error.code().map(str::to_owned) }
            }
        };
        self.finish_attempt(Some(caller), &payment.id, &attempt_id, result).await
    }

    /// Queries the trade with growing pauses until it ends or the request's wait is over;
    /// then it is left `processing` for the sweep.
    async fn wait_for_payer(
        &self,
        account: &AlipayAccount,
        attempt_id: &AttemptId,
        amount_minor: i64,
    ) -> AttemptResult {
        let deadline = tokio::time::Instant::now() + Duration::from_millis(self.alipay_payer_wait_ms);
        let mut pause_ms = QUERY_PAUSE_MS_FIRST;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            if left.is_zero() {
                return AttemptResult::Unknown;
            }
            tokio::time::sleep(left.min(Duration::from_millis(pause_ms))).await;
            match query_paid(account, attempt_id, amount_minor).await {
                AttemptResult::Unknown => pause_ms = (pause_ms * 2).min(QUERY_PAUSE_MS_MAX),
                ended => return ended,
            }
        }
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
                    Ok(CancelOutcome::Closed | CancelOutcome::NotFound | CancelOutcome::Refunded) => {
                        let problem = code_problem("payer_did_not_confirm");
                        AttemptResult::Failed { problem, decline_code: Some("payer_did_not_confirm".to_owned()) }
                    }
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

/// The 402 for a payment code Alipay refused, by its `sub_code`.
fn code_problem(sub_code: &str) -> Problem {
    let (code, message) = match sub_code {
        "ACQ.PAYMENT_AUTH_CODE_INVALID" => ("payment_code_invalid", "the payment code is invalid or expired"),
        "ACQ.BUYER_BALANCE_NOT_ENOUGH" => ("insufficient_funds", "the payer's balance is not enough"),
        "payer_did_not_confirm" => ("payment_code_timeout", "the payer did not confirm the payment in time"),
        _ => ("payment_declined", "alipay declined the payment"),
    };
    Problem { error_type: ErrorType::Card, ..Problem::invalid_request(code, message).with_status(402) }
}
