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
//! Invariant: a notification is applied once. Its `notify_id` is claimed in
//! `inbound_notifications` in the write unit that applies it; a replay is acknowledged and
//! changes nothing.
//!
//! Invariant: a signed notification whose `total_amount` differs from the attempt's is
//! acknowledged (the payer did pay; refusing would only make Alipay resend it), keeps the
//! payment out of `succeeded`, and records a `payment.discrepancy` event for the merchant
//! and an error log line for the operator. So does a second attempt of a payment that
//! already succeeded. A payment reported paid after Payrail gave it up succeeds late (see
//! `late_success.rs`): refunded in full by default.

use payrail_channels::alipay::{AlipayClient, AlipayNotification, NotificationRefused, TradeStatus};
use payrail_channels::card_network::AuthorizationOutcome;
use payrail_domain::channel_account::ChannelKind;
use payrail_domain::payment::PaymentStatus;
use payrail_domain::payment_record::{AttemptStatus, Payment};
use payrail_domain::refund::Refund;
use payrail_domain::{AttemptId, ChannelAccountId, Mode, Problem, Timestamp};
use payrail_store::attempts::StoredAttempt;
use payrail_store::deliveries::NotifyTarget;
use payrail_store::inbound_notifications::{self, InboundNotification};
use payrail_store::{Tx, attempts, channel_accounts, payments};
use serde_json::json;

use super::ALIPAY_CHANNEL;
use crate::channel_accounts::credentials::ChannelClient;
use crate::late_success::{apply_late_success, would_be_late};
use crate::objects::payment_object;
use crate::outcome::{AttemptResult, apply_attempt_result};
use crate::payments::{Subject, record_object_event};
use crate::{Payrail, ServiceError};

/// What became of a verified notification.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Applied {
    Succeeded,
    Duplicate,
    AlreadySucceeded,
    /// Recorded as a discrepancy: an amount that differs, or a second attempt paid.
    Discrepancy(&'static str),
    /// Paid after Payrail gave the payment up; under the policy, the refund to send.
    LateSuccess(Option<Refund>),
    /// Not a payment (waiting, closed after a refund): nothing to do.
    Ignored,
    UnknownOrder,
}

impl Payrail {
    /// Accepts an Alipay notification for `account` (`test`, `live` or `ca_…`): `Ok` means it is
    /// taken, and Alipay must be answered `success`.
    pub async fn accept_alipay_notification(&self, account: &str, body: &[u8]) -> Result<(), ServiceError> {
        let Some((mode, account_id, client)) = self.alipay_notified_account(account).await? else {
            let message = "no account with this channel receives notifications at this path";
            return Err(Problem::invalid_request("notification_account_unknown", message).with_status(404).into());
        };
        let notification = client.verify_notification(body).map_err(|refused| {
            tracing::info!(channel = ALIPAY_CHANNEL, account, %refused, "notification refused");
            refusal(&refused)
        })?;
        if notification.app_id != client.app_id() {
            tracing::warn!(channel = ALIPAY_CHANNEL, account, "a signed notification names another app; refused");
            let message = "the notification is for another app";
            return Err(Problem::invalid_request("notification_app_id_mismatch", message).into());
        }
        let applied = match AttemptId::parse(&notification.out_trade_no) {
            Ok(attempt_id) => {
                let notified = Notified { mode, account, account_id };
                self.apply_alipay_notification(notified, attempt_id, notification.clone()).await?
            }
            Err(_) => Applied::UnknownOrder,
        };
        let (notify_id, trade_no) = (notification.notify_id.as_str(), notification.trade_no.as_str());
        match applied {
            Applied::UnknownOrder => {
                tracing::warn!(
                    channel = ALIPAY_CHANNEL,
                    account,
                    notify_id,
                    trade_no,
                    "notification for no order of ours"
                );
                let message = "the notification is about no order of this account";
                Err(Problem::invalid_request("notification_order_unknown", message).into())
            }
            Applied::Discrepancy(reason) => {
                tracing::error!(
                    channel = ALIPAY_CHANNEL,
                    account,
                    notify_id,
                    trade_no,
                    reason,
                    "alipay reports a payment that does not match the order; recorded as a discrepancy, not applied"
                );
                Ok(())
            }
            Applied::LateSuccess(refund) => {
                tracing::warn!(
                    channel = ALIPAY_CHANNEL,
                    account,
                    notify_id,
                    trade_no,
                    "a payment given up on was paid"
                );
                if let Some(refund) = refund {
                    // Acknowledged either way: a refund not sent now is sent by the sweep.
                    if let Err(error) = self.send_reserved_refund(&refund).await {
                        tracing::warn!(refund_id = %refund.id, %error, "the late success's refund waits for the sweep");
                    }
                }
                Ok(())
            }
            other => {
                tracing::info!(channel = ALIPAY_CHANNEL, account, notify_id, trade_no, outcome = ?other, "notification accepted");
                Ok(())
            }
        }
    }

    /// The app notifications posted at `/notify/alipay/{account}` are for: the platform's
    /// app of a mode (`test`, `live`), or a merchant's channel account (`ca_…`, deleted
    /// or not, as its payments may still be paid).
    async fn alipay_notified_account(
        &self,
        account: &str,
    ) -> Result<Option<(Mode, Option<ChannelAccountId>, AlipayClient)>, ServiceError> {
        let platform = match account {
            "test" => Some(Mode::Test),
            "live" => Some(Mode::Live),
            _ => None,
        };
        if let Some(mode) = platform {
            return Ok(self.alipay_account(mode).ok().map(|alipay| (mode, None, alipay.client.clone())));
        }
        let Ok(id) = ChannelAccountId::parse(account) else { return Ok(None) };
        let stored = {
            let mut reader = self.store.reader().await?;
            channel_accounts::get(reader.conn(), &id).await?
        };
        let Some(stored) = stored.filter(|stored| stored.channel == ChannelKind::Alipay) else { return Ok(None) };
        let mode = if stored.livemode { Mode::Live } else { Mode::Test };
        match self.client_of_account(&id).await? {
            ChannelClient::Alipay(client) => Ok(Some((mode, Some(id), client))),
            _ => Ok(None),
        }
    }

    /// Checks the notification against the attempt, claims it, and applies it: one unit.
    async fn apply_alipay_notification(
        &self,
        notified: Notified<'_>,
        attempt_id: AttemptId,
        notification: AlipayNotification,
    ) -> Result<Applied, ServiceError> {
        let (now, fees, late_policy) = (self.clock.now(), self.policy.default_fees(), self.policy.late_success());
        let Notified { mode, account, account_id } = notified;
        let account = account.to_owned();
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    let attempt = attempts::get(tx.conn(), &attempt_id).await?;
                    // The attempt must have been charged through the very app notifying.
                    let ours = |attempt: &StoredAttempt| {
                        attempt.channel == ALIPAY_CHANNEL && attempt.channel_account_id == account_id
                    };
                    let Some(attempt) = attempt.filter(ours) else {
                        return Ok(Applied::UnknownOrder);
                    };
                    let payment = payments::get_for_update(tx.conn(), &attempt.payment_id).await?;
                    let Some(payment) = payment.filter(|payment| payment.livemode == mode.is_live()) else {
                        return Ok(Applied::UnknownOrder);
                    };
                    let inbound = InboundNotification {
                        channel: ALIPAY_CHANNEL,
                        account: &account,
                        notification_id: &notification.notify_id,
                        notification_type: notification.trade_status.as_str(),
                        reference: attempt_id.as_str(),
                    };
                    if !inbound_notifications::claim(tx.conn(), &inbound, now).await? {
                        return Ok(Applied::Duplicate);
                    }
                    if !matches!(notification.trade_status, TradeStatus::Success | TradeStatus::Finished) {
                        return Ok(Applied::Ignored);
                    }
                    let reported = notification.total_amount;
                    if reported.amount_minor() != attempt.amount_minor || reported.currency() != payment.currency {
                        record_discrepancy(tx, &payment, &notification, "amount_mismatch", now).await?;
                        return Ok(Applied::Discrepancy("amount_mismatch"));
                    }
                    match payment.status {
                        PaymentStatus::Succeeded if attempt.status == AttemptStatus::Captured => {
                            Ok(Applied::AlreadySucceeded)
                        }
                        PaymentStatus::Processing | PaymentStatus::RequiresAction => {
                            let outcome = AuthorizationOutcome::Approved {
                                captured: true,
                                network_transaction_id: notification.trade_no.clone(),
                            };
                            let result = AttemptResult::Answered(outcome);
                            apply_attempt_result(tx, payment, &attempt_id, result, fees, now).await?;
                            Ok(Applied::Succeeded)
                        }
                        _ if would_be_late(&payment) => {
                            let trade_no = notification.trade_no.as_str();
                            let policy = (late_policy, fees);
                            let (_, refund) =
                                apply_late_success(tx, payment, &attempt_id, trade_no, policy, now).await?;
                            Ok(Applied::LateSuccess(refund))
                        }
                        _ => {
                            record_discrepancy(tx, &payment, &notification, "paid_twice", now).await?;
                            Ok(Applied::Discrepancy("paid_twice"))
                        }
                    }
                })
            })
            .await
    }
}

/// Who a notification came for: the mode, the path's account, and the merchant's channel
/// account behind it (`None`: the platform's app).
struct Notified<'a> {
    mode: Mode,
    account: &'a str,
    account_id: Option<ChannelAccountId>,
}

/// A `payment.discrepancy` event: what Alipay reported beside what Payrail holds.
async fn record_discrepancy(
    tx: &mut Tx,
    payment: &Payment,
    notification: &AlipayNotification,
    reason: &'static str,
    now: Timestamp,
) -> Result<(), ServiceError> {
    let object = json!({
        "object": "payment_discrepancy",
        "payment": payment.id.as_str(),
        "reason": reason,
        "channel": ALIPAY_CHANNEL,
        "channel_reference": notification.trade_no,
        "expected_amount": payment.amounts.amount_minor(),
        "reported_amount": notification.total_amount.amount_minor(),
        "currency": payment.currency.code(),
        "payment_object": payment_object(payment),
    });
    let subject = Subject {
        merchant_id: &payment.merchant_id,
        livemode: payment.livemode,
        object_id: payment.id.as_str(),
        notify: payment.notify_url.as_ref().map_or(NotifyTarget::None, |url| NotifyTarget::Url(url.as_str())),
    };
    record_object_event(tx.conn(), subject, object, "payment.discrepancy", now).await
}

/// 400 with a short reason; never anything of the body.
fn refusal(refused: &NotificationRefused) -> ServiceError {
    let code = match refused {
        NotificationRefused::Unsigned | NotificationRefused::BadSignature => "notification_signature_invalid",
        NotificationRefused::Malformed | NotificationRefused::Field(_) => "notification_malformed",
    };
    Problem::invalid_request(code, refused.to_string()).into()
}
