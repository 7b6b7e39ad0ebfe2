//! A channel's signed report that one of Payrail's trades was paid (Alipay's
//! `trade_status_sync`, WeChat Pay's `TRADE.SUCCESS`), applied the same way whichever
//! channel sent it, once the channel's own module has checked its signature and merchant.
//!
//! Invariant: a report is applied once. Its notification id is claimed in
//! `inbound_notifications` in the write unit that applies it; a replay is acknowledged and
//! changes nothing.
//!
//! Invariant: a report moves only an attempt of its own channel and mode, charged through
//! the very account notified (the platform's, or a merchant's channel account); any other
//! reference is answered `notification_order_unknown` and changes nothing.
//!
//! Invariant: a report whose amount (or currency) differs from the attempt's is
//! acknowledged (the payer did pay; refusing would only make the channel resend it), keeps
//! the payment out of `succeeded`, and records a `payment.discrepancy` event for the
//! merchant and an error log line for the operator. So does a second attempt reported paid
//! for a payment that already succeeded. A payment reported paid after Payrail gave it up
//! succeeds late (`late_success.rs`): refunded in full under the default policy.

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

use crate::late_success::{apply_late_success, would_be_late};
use crate::objects::payment_object;
use crate::outcome::{AttemptResult, apply_attempt_result};
use crate::payments::{Subject, record_object_event};
use crate::{Payrail, ServiceError};

/// The mode a notification path's platform account names (`test`, `live`). Anything else
/// that is not a channel account id is answered like an unconfigured account.
pub(crate) fn notified_mode(account: &str) -> Result<Mode, ServiceError> {
    match account {
        "test" => Ok(Mode::Test),
        "live" => Ok(Mode::Live),
        _ => Err(account_unknown()),
    }
}

/// 404 `notification_account_unknown`: nothing receives notifications at this path.
pub(crate) fn account_unknown() -> ServiceError {
    let message = "no account with this channel receives notifications at this path";
    Problem::invalid_request("notification_account_unknown", message).with_status(404).into()
}

/// Which account a notification was posted for.
#[derive(Debug, Clone)]
pub(crate) struct Notified {
    pub(crate) mode: Mode,
    /// The merchant's channel account; `None` for the platform's account of the mode.
    pub(crate) account_id: Option<ChannelAccountId>,
}

impl Notified {
    pub(crate) fn platform(mode: Mode) -> Notified {
        Notified { mode, account_id: None }
    }

    pub(crate) fn merchant(mode: Mode, account_id: ChannelAccountId) -> Notified {
        Notified { mode, account_id: Some(account_id) }
    }

    /// The path's account, as claimed notifications record it.
    pub(crate) fn name(&self) -> &str {
        self.account_id.as_ref().map_or(self.mode.as_str(), ChannelAccountId::as_str)
    }
}

/// What a verified notification says of a trade, in Payrail's terms.
#[derive(Debug, Clone)]
pub(crate) struct PaidReport {
    pub(crate) channel: &'static str,
    /// The channel's id for the notification, the same on every redelivery.
    pub(crate) notification_id: String,
    /// The channel's name for what it reports (`TRADE_SUCCESS`, `TRANSACTION.SUCCESS`).
    pub(crate) notification_type: String,
    /// The channel's `out_trade_no`, if it is an attempt id at all.
    pub(crate) attempt_id: Option<AttemptId>,
    /// Whether the trade is paid; other states are claimed and otherwise ignored.
    pub(crate) paid: bool,
    pub(crate) amount_minor: i64,
    /// ISO 4217 code of the reported amount.
    pub(crate) currency: String,
    /// The channel's own id of the trade (`trade_no`, `transaction_id`).
    pub(crate) channel_reference: String,
    /// What the payer paid from their own funds, if the channel says (`buyer_pay_amount`,
    /// `payer_total`).
    pub(crate) payer_paid_minor: Option<i64>,
}

/// What became of a verified report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Applied {
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
    /// The account a notification path names: the platform's of a mode (`test`, `live`), or
    /// a merchant's channel account of `channel` (`ca_…`; deleted or not, as its payments
    /// may still be paid). Anything else is `notification_account_unknown`.
    pub(crate) async fn notified_account(&self, account: &str, channel: ChannelKind) -> Result<Notified, ServiceError> {
        let Ok(id) = ChannelAccountId::parse(account) else {
            return Ok(Notified::platform(notified_mode(account)?));
        };
        let stored = {
            let mut reader = self.store.reader().await?;
            channel_accounts::get(reader.conn(), &id).await?
        };
        let stored = stored.filter(|stored| stored.channel == channel).ok_or_else(account_unknown)?;
        Ok(Notified::merchant(if stored.livemode { Mode::Live } else { Mode::Test }, id))
    }

    /// Applies `report` for the `notified` account and answers as every channel's
    /// notification path does: `Ok` to acknowledge, 400 `notification_order_unknown` for a
    /// trade that is not this account's (so that a genuine one is sent again).
    pub(crate) async fn accept_paid_report(&self, notified: Notified, report: PaidReport) -> Result<(), ServiceError> {
        let (channel, account) = (report.channel, notified.name().to_owned());
        let account = account.as_str();
        let (notification_id, reference) = (report.notification_id.clone(), report.channel_reference.clone());
        let applied = match report.attempt_id.clone() {
            Some(attempt_id) => self.apply_paid_report(notified, attempt_id, report).await?,
            None => Applied::UnknownOrder,
        };
        match applied {
            Applied::UnknownOrder => {
                tracing::warn!(channel, account, notification_id, reference, "notification for no order of ours");
                let message = "the notification is about no order of this account";
                Err(Problem::invalid_request("notification_order_unknown", message).into())
            }
            Applied::Discrepancy(reason) => {
                tracing::error!(
                    channel,
                    account,
                    notification_id,
                    reference,
                    reason,
                    "a channel reports a payment that does not match the order; recorded as a discrepancy, not applied"
                );
                Ok(())
            }
            Applied::LateSuccess(refund) => {
                tracing::warn!(channel, account, notification_id, reference, "a payment given up on was paid");
                if let Some(refund) = refund {
                    // Acknowledged either way: a refund not sent now is sent by the sweep.
                    if let Err(error) = self.send_reserved_refund(&refund).await {
                        tracing::warn!(refund_id = %refund.id, %error, "the late success's refund waits for the sweep");
                    }
                }
                Ok(())
            }
            other => {
                tracing::info!(channel, account, notification_id, reference, outcome = ?other, "notification accepted");
                Ok(())
            }
        }
    }

    /// Checks the report against the attempt, claims it, and applies it: one unit.
    async fn apply_paid_report(
        &self,
        notified: Notified,
        attempt_id: AttemptId,
        report: PaidReport,
    ) -> Result<Applied, ServiceError> {
        let (now, fees, late_policy) = (self.clock.now(), self.policy.default_fees(), self.policy.late_success());
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    let attempt = attempts::get(tx.conn(), &attempt_id).await?;
                    // The attempt must have been charged through the very account notified.
                    let ours = |attempt: &StoredAttempt| {
                        attempt.channel == report.channel && attempt.channel_account_id == notified.account_id
                    };
                    let Some(attempt) = attempt.filter(ours) else {
                        return Ok(Applied::UnknownOrder);
                    };
                    let payment = payments::get_for_update(tx.conn(), &attempt.payment_id).await?;
                    let Some(payment) = payment.filter(|payment| payment.livemode == notified.mode.is_live()) else {
                        return Ok(Applied::UnknownOrder);
                    };
                    let inbound = InboundNotification {
                        channel: report.channel,
                        account: notified.name(),
                        notification_id: &report.notification_id,
                        notification_type: &report.notification_type,
                        reference: attempt_id.as_str(),
                    };
                    if !inbound_notifications::claim(tx.conn(), &inbound, now).await? {
                        return Ok(Applied::Duplicate);
                    }
                    if !report.paid {
                        return Ok(Applied::Ignored);
                    }
                    if report.amount_minor != attempt.amount_minor || report.currency != payment.currency.code() {
                        record_discrepancy(tx, &payment, &report, "amount_mismatch", now).await?;
                        return Ok(Applied::Discrepancy("amount_mismatch"));
                    }
                    match payment.status {
                        PaymentStatus::Succeeded if attempt.status == AttemptStatus::Captured => {
                            Ok(Applied::AlreadySucceeded)
                        }
                        PaymentStatus::Processing | PaymentStatus::RequiresAction => {
                            let reference = report.channel_reference.clone();
                            let result = AttemptResult::wallet_paid(reference, report.payer_paid_minor);
                            apply_attempt_result(tx, payment, &attempt_id, result, fees, now).await?;
                            Ok(Applied::Succeeded)
                        }
                        _ if would_be_late(&payment) => {
                            let paid = (report.channel_reference.as_str(), report.payer_paid_minor);
                            let policy = (late_policy, fees);
                            let (_, refund) = apply_late_success(tx, payment, &attempt_id, paid, policy, now).await?;
                            Ok(Applied::LateSuccess(refund))
                        }
                        _ => {
                            record_discrepancy(tx, &payment, &report, "paid_twice", now).await?;
                            Ok(Applied::Discrepancy("paid_twice"))
                        }
                    }
                })
            })
            .await
    }
}

/// A `payment.discrepancy` event: what the channel reported beside what Payrail holds.
async fn record_discrepancy(
    tx: &mut Tx,
    payment: &Payment,
    report: &PaidReport,
    reason: &'static str,
    now: Timestamp,
) -> Result<(), ServiceError> {
    let object = json!({
        "object": "payment_discrepancy",
        "payment": payment.id.as_str(),
        "reason": reason,
        "channel": report.channel,
        "channel_reference": report.channel_reference,
        "expected_amount": payment.amounts.amount_minor(),
        "reported_amount": report.amount_minor,
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
