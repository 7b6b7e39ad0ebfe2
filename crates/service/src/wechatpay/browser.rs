//! WeChat Pay in the payer's own hands: `wechat_jsapi` (inside WeChat, where the merchant's
//! page hands signed parameters to `WeixinJSBridge`) and `wechat_h5` (a mobile browser
//! outside WeChat, sent to WeChat's `h5_url`). Both place a v3 order under the attempt's
//! id like a QR code and then wait for the payer in `requires_action`; the notification,
//! the sweep's queries and the expiry's close are those of `wechat_native`.
//!
//! The payer's `openid` and IP address go to WeChat with the order and are not kept, so
//! these methods are charged only in the request that carries them (`confirm: true`), and
//! an order whose answer was lost is not placed again by the sweep: it fails.

use std::net::IpAddr;

use payrail_channels::ChannelError;
use payrail_domain::payment_record::{NextAction, Payment};
use payrail_domain::{AttemptId, Problem};

use super::{WechatPayAccount, order_request, order_result};
use crate::channel_retry::retrying_transient;
use crate::confirm::Attach;
use crate::payments::{ChargeTarget, PaymentMethodInput};
use crate::random::id_random;
use crate::{Caller, Payrail, ServiceError};

/// The longest `openid` Payrail passes on (WeChat's are 28 characters).
const OPENID_CHARS_MAX: usize = 128;

impl Payrail {
    /// Confirms a payment with `wechat_jsapi` or `wechat_h5` (`method`).
    pub(crate) async fn charge_wechat_in_browser(
        &self,
        caller: &Caller,
        target: ChargeTarget,
        method: PaymentMethodInput,
    ) -> Result<Payment, ServiceError> {
        check_payer(&method)?;
        let method_type = method.method_type();
        let (account, fen) = self.wechatpay_charge_of(caller, &target, method_type).await?;
        let now = self.clock.now();
        let attempt_id = AttemptId::generate(now, id_random(now));
        let (attach, account_id) = (Attach::WechatBrowser(method_type), account.account_id.clone());
        let payment = self.start_attempt_through(caller, target, attach, &attempt_id, account_id).await?;
        let order = order_request(&account, &payment, fen, &attempt_id);
        // A lost answer is asked for once more: WeChat answers a repeat with the same order.
        let mut answer = self.place_browser_order(&account, &payment, &order, &method).await;
        if answer.as_ref().is_err_and(ChannelError::outcome_is_unknown) {
            answer = self.place_browser_order(&account, &payment, &order, &method).await;
        }
        let result = order_result(&payment, &attempt_id, answer);
        self.finish_attempt(Some(caller), &payment.id, &attempt_id, result).await
    }

    async fn place_browser_order(
        &self,
        account: &WechatPayAccount,
        payment: &Payment,
        order: &payrail_channels::wechatpay::OrderRequest,
        method: &PaymentMethodInput,
    ) -> Result<NextAction, ChannelError> {
        match method {
            PaymentMethodInput::WechatH5 { payer_client_ip } => {
                let h5_url = retrying_transient(|| account.client.h5(order, payer_client_ip)).await?;
                Ok(NextAction::RedirectToUrl { url: self.with_way_back(h5_url, payment) })
            }
            PaymentMethodInput::WechatJsapi { openid } => {
                let placed = retrying_transient(|| account.client.jsapi(order, openid)).await?;
                Ok(NextAction::WechatJsapi(placed.bridge))
            }
            _ => unreachable!("only wechat_jsapi and wechat_h5 are placed in the payer's browser"),
        }
    }

    /// WeChat's `h5_url` with `redirect_url` set, so that the payer comes back to Payrail's
    /// return page (and from there to the merchant's `return_url`) after paying.
    fn with_way_back(&self, h5_url: String, payment: &Payment) -> String {
        if payment.return_url.is_none() {
            return h5_url;
        }
        let back = format!("{}/v1/payments/{}/return", self.public_base_url(), payment.id);
        let encoded: String = form_urlencoded::byte_serialize(back.as_bytes()).collect();
        let separator = if h5_url.contains('?') { '&' } else { '?' };
        format!("{h5_url}{separator}redirect_url={encoded}")
    }
}

/// The payer's details as WeChat takes them, refused before anything is written.
fn check_payer(method: &PaymentMethodInput) -> Result<(), Problem> {
    match method {
        PaymentMethodInput::WechatJsapi { openid } => {
            let usable = (1..=OPENID_CHARS_MAX).contains(&openid.len())
                && openid.bytes().all(|byte| byte.is_ascii_alphanumeric() || byte == b'_' || byte == b'-');
            if usable {
                return Ok(());
            }
            let message = format!("openid must be 1 to {OPENID_CHARS_MAX} letters, digits, - or _");
            Err(Problem::invalid_request("parameter_invalid", message)
                .with_param("payment_method[wechat_jsapi][openid]"))
        }
        PaymentMethodInput::WechatH5 { payer_client_ip } => match payer_client_ip.parse::<IpAddr>() {
            Ok(_) => Ok(()),
            Err(_) => {
                let message = "payer_client_ip must be the payer's IPv4 or IPv6 address";
                let param = "payment_method[wechat_h5][payer_client_ip]";
                Err(Problem::invalid_request("parameter_invalid", message).with_param(param))
            }
        },
        _ => Ok(()),
    }
}
