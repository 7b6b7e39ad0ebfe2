//! A payment the payer paid after Payrail had given it up: closed (expired, canceled) or
//! with its attempt failed, while the channel still took the money (a QR code scanned
//! after Alipay was told to close an order it did not know yet, a notification that
//! outran a timeout). Such a success is never dropped.
//!
//! Invariant: in the one write unit that believes the channel, the payment succeeds late
//! (`late_succeeded_at`), its capture is booked like any other, a `payment.late_success`
//! event tells the merchant, and under the default policy ([`LateSuccessPolicy::Refund`])
//! a full refund is reserved (reason `late_success`, fee returned). The refund is sent
//! after the commit; should that not happen, the refund sweep sends it (the channel takes
//! it once under the refund's id) rather than giving it up.

use payrail_domain::fees::FeeSchedule;
use payrail_domain::payment::{PaymentStatus, PaymentTransition};
use payrail_domain::payment_record::{AttemptStatus, Payment};
use payrail_domain::refund::{Refund, RefundReason};
use payrail_domain::{AttemptId, Timestamp};
use payrail_store::{Tx, attempts, payments};

use crate::ServiceError;
use crate::outcome::{payer_paid, post_capture};
use crate::payments::record_event;
use crate::policy::LateSuccessPolicy;
use crate::refunds::reserve_refund_in;

/// Whether a success reported for `payment` now would be late.
pub(crate) fn would_be_late(payment: &Payment) -> bool {
    payment.status.apply(PaymentTransition::LateSuccess).is_ok()
}

/// Applies a late success to `payment` (locked by the caller); returns the payment and
/// the refund reserved under the policy, which the caller sends once committed.
pub(crate) async fn apply_late_success(
    tx: &mut Tx,
    mut payment: Payment,
    attempt_id: &AttemptId,
    (channel_reference, payer_paid_minor): (&str, Option<i64>),
    (policy, fees): (LateSuccessPolicy, FeeSchedule),
    now: Timestamp,
) -> Result<(Payment, Option<Refund>), ServiceError> {
    payment.status = payment.status.apply(PaymentTransition::LateSuccess)?;
    payment.amounts = payment.amounts.capture_automatically();
    payment.next_action = None;
    payment.late_succeeded_at = Some(now);
    payment.amount_paid_by_payer = payer_paid(&payment, payer_paid_minor);
    payment.updated = now;
    post_capture(tx, &payment, fees, now).await?;
    attempts::set_outcome(tx.conn(), attempt_id, AttemptStatus::Captured, None, Some(channel_reference), now).await?;
    payments::update(tx.conn(), &payment).await?;
    record_event(tx.conn(), &payment, "payment.late_success", now).await?;
    tracing::warn!(payment_id = %payment.id, policy = policy.as_str(), "a payment given up on was paid; it succeeded late");
    let refund = match policy {
        LateSuccessPolicy::Refund => {
            Some(reserve_refund_in(tx, &payment, None, Some(RefundReason::LateSuccess), now).await?)
        }
        LateSuccessPolicy::Keep => None,
    };
    debug_assert_eq!(payment.status, PaymentStatus::Succeeded);
    Ok((payment, refund))
}
