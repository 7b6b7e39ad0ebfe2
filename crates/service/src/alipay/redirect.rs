//! Alipay's cashier in the payer's browser: `alipay_page` (`alipay.trade.page.pay`,
//! desktop) and `alipay_wap` (`alipay.trade.wap.pay`, mobile). The payment answers
//! `requires_action` with a `redirect_to_url`: a signed `GET` to Alipay's gateway, made
//! here without calling Alipay. The payer pays at Alipay and is sent back to Payrail's
//! `/v1/payments/{id}/return`, which asks Alipay (the parameters Alipay appends are a hint,
//! not proof) and then sends the payer on to the merchant's `return_url`. The
//! notification, the sweep's queries and the expiry's close work as for a QR code, under
//! the same `out_trade_no`.

use payrail_channels::alipay::RedirectPayRequest;
use payrail_domain::payment_record::{NextAction, Payment, PaymentMethodType};
use payrail_domain::{AttemptId, Problem};

use super::{AlipayAccount, alipay_problem, subject};
use crate::confirm::Attach;
use crate::outcome::AttemptResult;
use crate::payments::ChargeTarget;
use crate::random::id_random;
use crate::{Caller, Payrail, ServiceError};

/// A cashier payment sends the payer back: it needs somewhere to send them on to.
pub(crate) fn alipay_redirect_accepts(payment: &Payment) -> Result<(), Problem> {
    if payment.return_url.is_none() {
        let message = "alipay_page and alipay_wap payments need a return_url, where the payer is sent after paying";
        return Err(Problem::invalid_request("parameter_missing", message).with_param("return_url"));
    }
    Ok(())
}

impl Payrail {
    /// Confirms a payment with Alipay's cashier (`method` is `alipay_page` or `alipay_wap`).
    pub(crate) async fn charge_alipay_redirect(
        &self,
        caller: &Caller,
        target: ChargeTarget,
        method: PaymentMethodType,
    ) -> Result<Payment, ServiceError> {
        let account = self.alipay_for_payment(caller, &target, method).await?;
        let now = self.clock.now();
        let attempt_id = AttemptId::generate(now, id_random(now));
        let (attach, account_id) = (Attach::AlipayRedirect(method), account.account_id.clone());
        let payment = self.start_attempt_through(caller, target, attach, &attempt_id, account_id).await?;
        let result = self.cashier_url(&account, &payment, &attempt_id, method);
        self.finish_attempt(Some(caller), &payment.id, &attempt_id, result).await
    }

    fn cashier_url(
        &self,
        account: &AlipayAccount,
        payment: &Payment,
        attempt_id: &AttemptId,
        method: PaymentMethodType,
    ) -> AttemptResult {
        let request = RedirectPayRequest {
            out_trade_no: attempt_id.to_string(),
            amount: payment.amounts_money(),
            subject: subject(payment),
            return_url: Some(format!("{}/v1/payments/{}/return", self.public_base_url(), payment.id)),
            notify_url: Some(account.notify_url.clone()),
            time_expire: Some(payment.expires_at),
        };
        let url = match method {
            PaymentMethodType::AlipayWap => account.client.wap_pay_url(&request),
            _ => account.client.page_pay_url(&request),
        };
        match url {
            Ok(url) => AttemptResult::RequiresAction(NextAction::RedirectToUrl { url }),
            Err(error) => {
                tracing::warn!(payment_id = %payment.id, attempt_id = %attempt_id, %error, "no alipay cashier url");
                AttemptResult::Failed { problem: alipay_problem(), decline_code: error.code().map(str::to_owned) }
            }
        }
    }
}
