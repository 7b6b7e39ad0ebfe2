//! Alipay's asynchronous notifications (`trade_status_sync`), posted to
//! `/notify/alipay/{account}`: the platform's app of a mode (`test`, `live`) or a
//! merchant's channel account (`ca_…`).
//!
//! Checks, in this order; a refusal changes nothing and is not acknowledged, so Alipay
//! sends again:
//!
//! 1. the signature, with the account's Alipay public key, before anything is read
//!    (`notification_signature_invalid`, `notification_malformed`);
//! 2. the `app_id` is the account's (`notification_app_id_mismatch`);
//! 3. the `out_trade_no` is an Alipay attempt charged through this very account, in its
//!    mode (`notification_order_unknown`).
//!
//! Then it is applied once, as `paid_notifications.rs` describes (shared with WeChat Pay):
//! a replay changes nothing, a paid trade whose `total_amount` differs from the attempt's
//! is acknowledged and recorded as a `payment.discrepancy`, and one paid after Payrail gave
//! the payment up succeeds late.

use payrail_channels::alipay::{NotificationRefused, TradeStatus};
use payrail_domain::channel_account::ChannelKind;
use payrail_domain::{AttemptId, Problem};

use super::ALIPAY_CHANNEL;
use crate::paid_notifications::{PaidReport, account_unknown};
use crate::{Payrail, ServiceError};

impl Payrail {
    /// Accepts an Alipay notification for `account` (`test`, `live` or `ca_…`): `Ok` means
    /// it is taken, and Alipay must be answered `success`.
    pub async fn accept_alipay_notification(&self, account: &str, body: &[u8]) -> Result<(), ServiceError> {
        let notified = self.notified_account(account, ChannelKind::Alipay).await?;
        let alipay = self.alipay_for_attempt(notified.mode, notified.account_id.as_ref()).await;
        let client = alipay.map_err(|_| account_unknown())?.client;
        let notification = client.verify_notification(body).map_err(|refused| {
            tracing::info!(channel = ALIPAY_CHANNEL, account, %refused, "notification refused");
            refusal(&refused)
        })?;
        if notification.app_id != client.app_id() {
            tracing::warn!(channel = ALIPAY_CHANNEL, account, "a signed notification names another app; refused");
            let message = "the notification is for another app";
            return Err(Problem::invalid_request("notification_app_id_mismatch", message).into());
        }
        let report = PaidReport {
            channel: ALIPAY_CHANNEL,
            notification_id: notification.notify_id,
            notification_type: notification.trade_status.as_str().to_owned(),
            attempt_id: AttemptId::parse(&notification.out_trade_no).ok(),
            paid: matches!(notification.trade_status, TradeStatus::Success | TradeStatus::Finished),
            amount_minor: notification.total_amount.amount_minor(),
            currency: notification.total_amount.currency().code().to_owned(),
            channel_reference: notification.trade_no,
            payer_paid_minor: notification.buyer_pay_amount.map(|paid| paid.amount_minor()),
        };
        self.accept_paid_report(notified, report).await
    }
}

/// 400 with a short reason; never anything of the body.
fn refusal(refused: &NotificationRefused) -> ServiceError {
    let code = match refused {
        NotificationRefused::Unsigned | NotificationRefused::BadSignature => "notification_signature_invalid",
        NotificationRefused::Malformed | NotificationRefused::Field(_) => "notification_malformed",
    };
    Problem::invalid_request(code, refused.to_string()).into()
}
