//! WeChat Pay's v3 notifications, posted to `/notify/wechatpay/{account}`: the platform's
//! merchant of a mode (`test`, `live`) or a merchant's channel account (`ca_…`).
//!
//! Checks, in this order; a refusal changes nothing and is answered 4xx, so WeChat Pay
//! sends again:
//!
//! 1. the `Wechatpay-*` signature headers over the raw body with the account's platform
//!    public key and the time window, then the AES-256-GCM resource opened with the APIv3
//!    key, before anything of the body is read (`notification_signature_invalid`,
//!    `notification_malformed`);
//! 2. the decrypted `mchid` and `appid` are the account's (`notification_merchant_mismatch`);
//! 3. the `out_trade_no` is a WeChat Pay attempt charged through this very account, in its
//!    mode (or, for a refund, the `out_refund_no` a refund of one)
//!    (`notification_order_unknown`).
//!
//! A `TRANSACTION.*` notification is then applied once as `paid_notifications.rs`
//! describes (shared with Alipay): a replay changes nothing, and a paid order whose amount
//! differs from the attempt's is acknowledged and recorded as a `payment.discrepancy`.
//! A `REFUND.*` notification settles its refund once, under the same claim, while the
//! refund is still `pending`.

use payrail_channels::card_network::{HeaderMap, RefundStatus as ChannelRefundStatus};
use payrail_channels::wechatpay::{NotificationRefused, RefundNotification, TradeState, WechatPayNotificationEvent};
use payrail_domain::channel_account::ChannelKind;
use payrail_domain::refund::RefundStatus;
use payrail_domain::{AttemptId, Problem, RefundId};
use payrail_store::inbound_notifications::{self, InboundNotification};
use payrail_store::{attempts, refunds};

use super::WECHATPAY_CHANNEL;
use super::refunds::refund_status;
use crate::paid_notifications::{Notified, PaidReport, account_unknown};
use crate::refunds::{Settled, settle_refund};
use crate::{Payrail, ServiceError};

/// What a `REFUND.*` notification changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RefundApplied {
    Settled,
    Duplicate,
    /// Already final, still processing at WeChat, or with another amount: nothing moved.
    Unchanged,
    UnknownRefund,
}

impl Payrail {
    /// Accepts a WeChat Pay notification for `account` (`test`, `live` or `ca_…`): `Ok`
    /// means it is taken, and WeChat Pay must be answered 204 with no body.
    pub async fn accept_wechatpay_notification(
        &self,
        account: &str,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<(), ServiceError> {
        let notified = self.notified_account(account, ChannelKind::Wechatpay).await?;
        let wechatpay = self.wechatpay_for_attempt(notified.mode, notified.account_id.as_ref()).await;
        let client = wechatpay.map_err(|_| account_unknown())?.client;
        let notification = client.verify_notification(headers, body).map_err(|refused| {
            tracing::info!(channel = WECHATPAY_CHANNEL, account, %refused, "notification refused");
            refusal(&refused)
        })?;
        match notification.event {
            WechatPayNotificationEvent::Transaction(transaction) => {
                let report = PaidReport {
                    channel: WECHATPAY_CHANNEL,
                    notification_id: notification.id,
                    notification_type: notification.event_type,
                    attempt_id: AttemptId::parse(&transaction.out_trade_no).ok(),
                    paid: transaction.trade_state == TradeState::Success,
                    // An order without an amount cannot match any attempt: a discrepancy.
                    amount_minor: transaction.amount_total_minor.unwrap_or(0),
                    currency: "CNY".to_owned(),
                    channel_reference: transaction.transaction_id.unwrap_or_default(),
                    payer_paid_minor: transaction.payer_total_minor,
                };
                self.accept_paid_report(notified, report).await
            }
            WechatPayNotificationEvent::Refund(refund) => {
                let claim = (notification.id, notification.event_type);
                let applied = self.apply_wechatpay_refund_notification(notified, claim, refund).await?;
                tracing::info!(channel = WECHATPAY_CHANNEL, account, outcome = ?applied, "refund notification");
                if applied == RefundApplied::UnknownRefund {
                    let message = "the notification is about no refund of this account";
                    return Err(Problem::invalid_request("notification_order_unknown", message).into());
                }
                Ok(())
            }
        }
    }

    /// Claims the notification and settles the refund it reports, in one write unit.
    async fn apply_wechatpay_refund_notification(
        &self,
        notified: Notified,
        (notification_id, notification_type): (String, String),
        reported: RefundNotification,
    ) -> Result<RefundApplied, ServiceError> {
        let Ok(refund_id) = RefundId::parse(&reported.out_refund_no) else { return Ok(RefundApplied::UnknownRefund) };
        let (now, returns_fee) = (self.clock.now(), self.policy.refund_returns_fee());
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    let refund = refunds::get(tx.conn(), &refund_id).await?;
                    let Some(refund) = refund.filter(|refund| refund.livemode == notified.mode.is_live()) else {
                        return Ok(RefundApplied::UnknownRefund);
                    };
                    let attempt = match AttemptId::parse(&reported.out_trade_no) {
                        Ok(attempt_id) => attempts::get(tx.conn(), &attempt_id).await?,
                        Err(_) => None,
                    };
                    let of_this_payment = attempt.is_some_and(|attempt| {
                        attempt.channel == WECHATPAY_CHANNEL
                            && attempt.payment_id == refund.payment_id
                            && attempt.channel_account_id == notified.account_id
                    });
                    if !of_this_payment {
                        return Ok(RefundApplied::UnknownRefund);
                    }
                    let inbound = InboundNotification {
                        channel: WECHATPAY_CHANNEL,
                        account: notified.name(),
                        notification_id: &notification_id,
                        notification_type: &notification_type,
                        reference: refund_id.as_str(),
                    };
                    if !inbound_notifications::claim(tx.conn(), &inbound, now).await? {
                        return Ok(RefundApplied::Duplicate);
                    }
                    if reported.refund_minor != refund.amount_minor {
                        tracing::error!(refund_id = %refund_id, "wechat pay reports a refund of another amount; nothing was changed");
                        return Ok(RefundApplied::Unchanged);
                    }
                    let (status, failure_code) = match refund_status(&refund, reported.refund_status) {
                        ChannelRefundStatus::Succeeded => (RefundStatus::Succeeded, None),
                        ChannelRefundStatus::Failed { failure_code } => (RefundStatus::Failed, Some(failure_code)),
                        ChannelRefundStatus::Pending => return Ok(RefundApplied::Unchanged),
                    };
                    if refund.status != RefundStatus::Pending {
                        return Ok(RefundApplied::Unchanged);
                    }
                    let settled = Settled { status, failure_code: failure_code.as_deref(), returns_fee };
                    settle_refund(tx, &refund_id, settled, now).await?;
                    Ok::<_, ServiceError>(RefundApplied::Settled)
                })
            })
            .await
    }
}

/// 400 with a short reason; never anything of the body.
fn refusal(refused: &NotificationRefused) -> ServiceError {
    let code = match refused {
        NotificationRefused::Signature(_) => "notification_signature_invalid",
        NotificationRefused::Malformed(_) | NotificationRefused::Decrypt => "notification_malformed",
        NotificationRefused::WrongMerchant => "notification_merchant_mismatch",
    };
    Problem::invalid_request(code, refused.to_string()).into()
}
