//! Background sweeps over payments: expire unpaid ones at their deadline, release
//! authorizations never captured, resolve attempts whose outcome was lost (and Alipay and
//! WeChat Pay QR codes that may have been paid without a notification), and settle refunds the channel
//! answers later.
//!
//! Each sweep takes a bounded batch and is safe to run on many instances at once: every
//! change is re-checked under the payment's lock, so a payment is moved once.

use payrail_domain::payment::{CancellationReason, PaymentStatus, PaymentTransition};
use payrail_domain::payment_record::{Payment, PaymentMethodType};
use payrail_domain::refund::RefundStatus;
use payrail_domain::{Mode, PaymentId};
use payrail_store::payments::{self, SweepClock};
use payrail_store::refunds;

use crate::payments::record_event;
use crate::{Payrail, ServiceError};

/// Payments one sweep looks at, at most.
pub const SWEEP_BATCH_MAX: u32 = 100;
/// How long an authorization is held for capture before it is released.
pub const AUTHORIZATION_HOLD_MS: i64 = 7 * 24 * 60 * 60 * 1000;
/// The longest wait between two queries about a payment stuck in processing or a refund
/// still pending.
pub const QUERY_INTERVAL_MS_MAX: i64 = 60 * 60 * 1000;

/// What one round of sweeps did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct SweepReport {
    pub expired: usize,
    pub authorizations_released: usize,
    pub attempts_resolved: usize,
    pub refunds_settled: usize,
}

impl Payrail {
    /// Runs every sweep once.
    pub async fn sweep_payments(&self) -> Result<SweepReport, ServiceError> {
        let now = self.clock.now();
        let unpaid =
            [PaymentStatus::RequiresPaymentMethod, PaymentStatus::RequiresConfirmation, PaymentStatus::RequiresAction];
        let expired = self.due(&unpaid, SweepClock::ExpiresAt, now).await?;
        let held = self
            .due(&[PaymentStatus::RequiresCapture], SweepClock::UpdatedAt, now.plus_ms(-AUTHORIZATION_HOLD_MS))
            .await?;
        let stuck = self.due(&[PaymentStatus::Processing], SweepClock::NextQuery, now).await?;
        let mut report = SweepReport::default();
        for id in &expired {
            // Not yet closed at the channel (or found paid there): left for the next round.
            if !self.closed_at_channel_first(id).await? {
                continue;
            }
            report.expired +=
                usize::from(self.close(id, PaymentTransition::Expire, CancellationReason::Expired).await?);
        }
        for id in &held {
            let reason = CancellationReason::AuthorizationExpired;
            report.authorizations_released +=
                usize::from(self.close(id, PaymentTransition::AuthorizationExpired, reason).await?);
        }
        for id in &stuck {
            let resolved = self.resolve_latest_attempt(id).await?;
            report.attempts_resolved += usize::from(resolved.status != PaymentStatus::Processing);
        }
        // A QR code or a cashier may be paid while its notification never arrives: ask
        // its channel.
        let waits_for_payer = [
            PaymentMethodType::AlipayQr,
            PaymentMethodType::AlipayPage,
            PaymentMethodType::AlipayWap,
            PaymentMethodType::WechatNative,
            PaymentMethodType::WechatJsapi,
            PaymentMethodType::WechatH5,
        ];
        for method in waits_for_payer {
            let waiting = {
                let mut reader = self.store.reader().await?;
                payments::due_waiting_for_payer(reader.conn(), method, now, SWEEP_BATCH_MAX).await?
            };
            for id in &waiting {
                let resolved = self.resolve_latest_attempt(id).await?;
                report.attempts_resolved += usize::from(resolved.status != PaymentStatus::RequiresAction);
            }
        }
        let pending_refunds = {
            let mut reader = self.store.reader().await?;
            refunds::pending_due(reader.conn(), now, SWEEP_BATCH_MAX).await?
        };
        for refund in &pending_refunds {
            let status = self.resolve_pending_refund(refund).await?;
            report.refunds_settled += usize::from(status != RefundStatus::Pending);
        }
        Ok(report)
    }

    async fn due(
        &self,
        statuses: &[PaymentStatus],
        clock: SweepClock,
        before: payrail_domain::Timestamp,
    ) -> Result<Vec<PaymentId>, ServiceError> {
        let mut reader = self.store.reader().await?;
        Ok(payments::due(reader.conn(), statuses, clock, before, SWEEP_BATCH_MAX).await?)
    }

    /// Cancels one payment for a timer; `false` if another instance or request got there
    /// first. An authorization held at the network is voided after the commit.
    async fn close(
        &self,
        id: &PaymentId,
        transition: PaymentTransition,
        reason: CancellationReason,
    ) -> Result<bool, ServiceError> {
        let (id, now) = (id.clone(), self.clock.now());
        let closed = self
            .store
            .write(move |tx| {
                Box::pin(async move {
                    let Some(mut payment) = payments::get_for_update(tx.conn(), &id).await? else { return Ok(None) };
                    let Ok(status) = payment.status.apply(transition) else { return Ok(None) };
                    let held = payment.status == PaymentStatus::RequiresCapture;
                    payment.status = status;
                    payment.cancellation_reason = Some(reason);
                    payment.next_action = None;
                    payment.amounts = payment.amounts.release_authorization();
                    payment.updated = now;
                    payments::update(tx.conn(), &payment).await?;
                    record_event(tx.conn(), &payment, "payment.canceled", now).await?;
                    Ok::<_, ServiceError>(Some((payment, held)))
                })
            })
            .await?;
        match closed {
            None => Ok(false),
            Some((payment, held)) => {
                if held {
                    self.void_held_authorization(&payment).await;
                }
                Ok(true)
            }
        }
    }

    /// Before a payment waiting on a QR code is canceled here (expired, or by the merchant),
    /// its trade is closed at its channel (Alipay, WeChat Pay), so the payer cannot pay what
    /// Payrail gave up on. Returns whether the payment may be canceled now; a trade found
    /// paid instead makes the payment succeed.
    pub(crate) async fn closed_at_channel_first(&self, id: &PaymentId) -> Result<bool, ServiceError> {
        let payment = self.get_payment_unchecked(id).await?;
        if payment.status != PaymentStatus::RequiresAction {
            return Ok(true);
        }
        match payment.payment_method_type {
            Some(PaymentMethodType::AlipayQr | PaymentMethodType::AlipayPage | PaymentMethodType::AlipayWap) => {
                self.closed_at_alipay_first(&payment).await
            }
            Some(PaymentMethodType::WechatNative | PaymentMethodType::WechatJsapi | PaymentMethodType::WechatH5) => {
                self.closed_at_wechatpay_first(&payment).await
            }
            _ => Ok(true),
        }
    }

    /// Asks the network to release an authorization; a failure is logged, since the hold
    /// also lapses at the network on its own.
    pub(crate) async fn void_held_authorization(&self, payment: &Payment) {
        let mode = if payment.livemode { Mode::Live } else { Mode::Test };
        let (Ok(client), Ok(attempt)) = (self.card_network(mode), self.latest_attempt(&payment.id).await) else {
            return;
        };
        if let Err(error) = client.void(&attempt).await {
            tracing::warn!(payment_id = %payment.id, error = %error, "could not void an authorization");
        }
    }
}
