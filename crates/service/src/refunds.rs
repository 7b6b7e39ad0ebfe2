//! Refunds: reserve the amount, ask the channel, apply its answer.
//!
//! Invariant: succeeded plus pending refunds never exceed what was captured, also under
//! concurrent requests. The check and the reservation (a `pending` refund row) happen in
//! one write unit holding the payment's row (PostgreSQL) or the single writer (SQLite).

use payrail_channels::ChannelError;
use payrail_channels::card_network::{RefundRequest, RefundStatus as NetworkRefundStatus};
use payrail_domain::fees::fee_returned_by_refund;
use payrail_domain::ledger::refund_entry;
use payrail_domain::payment::PaymentStatus;
use payrail_domain::payment_record::Payment;
use payrail_domain::refund::{Refund, RefundReason, RefundStatus};
use payrail_domain::{JournalEntryId, Mode, Money, PaymentId, Problem, RefundId, Timestamp};
use payrail_store::attempts::StoredAttempt;
use payrail_store::deliveries::NotifyTarget;
use payrail_store::idempotency::Recording;
use payrail_store::ledger::EntryLinks;
use payrail_store::payments::FIRST_QUERY_AFTER_MS;
use payrail_store::{Tx, attempts, ledger, payments, refunds};

use crate::alipay::ALIPAY_CHANNEL;
use crate::idempotency::{Answer, mark_answered, record_answer};
use crate::objects::refund_object;
use crate::payments::{Subject, record_event, record_object_event, visible};
use crate::random::id_random;
use crate::sweeps::QUERY_INTERVAL_MS_MAX;
use crate::wechatpay::WECHATPAY_CHANNEL;
use crate::{Caller, Payrail, ServiceError};

/// The most refunds one list call returns.
pub const REFUND_LIST_LIMIT_MAX: u32 = 100;

impl Payrail {
    /// Refunds `amount` (default: all that remains) of a captured payment.
    pub async fn create_refund(
        &self,
        caller: &Caller,
        payment_id: &PaymentId,
        amount: Option<i64>,
        reason: Option<&str>,
    ) -> Result<Refund, ServiceError> {
        let reason = reason.map(RefundReason::parse_requested).transpose()?;
        let refund = self.reserve_refund(caller, payment_id, amount, reason).await?;
        let answer = self.send_refund(&refund).await?;
        self.apply_refund_answer(Some(caller), &refund.id, answer).await
    }

    /// Sends a reserved refund to the channel its payment was charged through and applies
    /// the answer; for refunds Payrail makes itself.
    pub(crate) async fn send_reserved_refund(&self, refund: &Refund) -> Result<Refund, ServiceError> {
        let answer = self.send_refund(refund).await?;
        self.apply_refund_answer(None, &refund.id, answer).await
    }

    /// Asks the channel to refund `refund`, under the refund's own id.
    async fn send_refund(&self, refund: &Refund) -> Result<Result<NetworkRefundStatus, ChannelError>, ServiceError> {
        let attempt = self.refunded_attempt(&refund.payment_id).await?;
        Ok(match attempt.channel.as_str() {
            ALIPAY_CHANNEL => self.refund_through_alipay(refund, &attempt.id).await,
            WECHATPAY_CHANNEL => self.refund_through_wechatpay(refund, &attempt).await,
            _ => {
                let request = RefundRequest {
                    reference: refund.id.clone(),
                    authorization_reference: attempt.id,
                    amount_minor: refund.amount_minor,
                };
                let mode = if refund.livemode { Mode::Live } else { Mode::Test };
                match self.card_network(mode) {
                    Ok(client) => client.refund(&request).await.map(|refund| refund.status),
                    Err(_) => Err(channel_unavailable()),
                }
            }
        })
    }

    async fn reserve_refund(
        &self,
        caller: &Caller,
        payment_id: &PaymentId,
        amount: Option<i64>,
        reason: Option<RefundReason>,
    ) -> Result<Refund, ServiceError> {
        let (caller, payment_id, now) = (caller.clone(), payment_id.clone(), self.clock.now());
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    let payment = visible(&caller, payments::get_for_update(tx.conn(), &payment_id).await?)
                        .map_err(|_| ServiceError::Rejected(Problem::resource_missing("payment", "payment")))?;
                    if payment.status != PaymentStatus::Succeeded {
                        let message = format!("a payment in status {} cannot be refunded", payment.status.as_str());
                        return Err(Problem::invalid_request("payment_unexpected_state", message)
                            .with_param("payment")
                            .into());
                    }
                    let refund = reserve_refund_in(tx, &payment, amount, reason, now).await?;
                    // Should this request die from here on, a retry answers with the refund
                    // as reserved, pending; the sweep asks the channel how it ended.
                    record_answer(tx, &caller, Answer::Refund(&refund), Recording::Provisional).await?;
                    Ok(refund)
                })
            })
            .await
    }

    /// Asks the channel how a pending refund ended and applies the answer. A refund the
    /// channel never received failed: its reservation is released and the merchant may
    /// refund again.
    pub(crate) async fn resolve_pending_refund(&self, refund: &Refund) -> Result<RefundStatus, ServiceError> {
        let attempt = self.refunded_attempt(&refund.payment_id).await?;
        let answer = match attempt.channel.as_str() {
            ALIPAY_CHANNEL => self.query_alipay_refund(refund, &attempt.id).await,
            WECHATPAY_CHANNEL => self.query_wechatpay_refund(refund, &attempt).await,
            _ => {
                let mode = if refund.livemode { Mode::Live } else { Mode::Test };
                match self.card_network(mode)?.get_refund(&refund.id).await {
                    Ok(Some(found)) => Ok(found.status),
                    Ok(None) => Ok(NetworkRefundStatus::Failed { failure_code: "not_received".to_owned() }),
                    Err(error) => Err(error),
                }
            }
        };
        let answer = match answer {
            // A refund Payrail owes the payer is sent, not given up: the channel takes it
            // once under its id.
            Ok(NetworkRefundStatus::Failed { failure_code })
                if failure_code == "not_received" && refund.reason == Some(RefundReason::LateSuccess) =>
            {
                self.send_refund(refund).await?
            }
            other => other,
        };
        Ok(self.apply_refund_answer(None, &refund.id, answer).await?.status)
    }

    /// Applies what the channel said of a refund: succeeded, failed, or not yet known.
    /// With a `caller`, its answer is recorded with the outcome.
    async fn apply_refund_answer(
        &self,
        caller: Option<&Caller>,
        id: &RefundId,
        answer: Result<NetworkRefundStatus, ChannelError>,
    ) -> Result<Refund, ServiceError> {
        let outcome = match answer {
            Ok(NetworkRefundStatus::Succeeded) => Some((RefundStatus::Succeeded, None)),
            Ok(NetworkRefundStatus::Failed { failure_code }) => Some((RefundStatus::Failed, Some(failure_code))),
            // The channel answers later (a notification, or a query).
            Ok(NetworkRefundStatus::Pending) => None,
            Err(error) if error.outcome_is_unknown() => None,
            Err(error) => {
                tracing::warn!(refund_id = %id, error = %error, "the channel did not take a refund");
                Some((RefundStatus::Failed, Some(error.code().unwrap_or("channel_error").to_owned())))
            }
        };
        let (id, now, returns_fee) = (id.clone(), self.clock.now(), self.policy.refund_returns_fee());
        let answering = caller.cloned();
        let refund = self
            .store
            .write(move |tx| {
                Box::pin(async move {
                    if let Some((status, failure_code)) = outcome {
                        let settled = Settled { status, failure_code: failure_code.as_deref(), returns_fee };
                        settle_refund(tx, &id, settled, now).await?;
                    }
                    let refund =
                        refunds::get(tx.conn(), &id).await?.ok_or_else(|| anyhow::anyhow!("refund {id} vanished"))?;
                    if refund.status == RefundStatus::Pending {
                        // Ask again after as long as it has been pending (a minute at least,
                        // an hour at most): the waits double while the answer stays "later".
                        let waited = now.ms_since(refund.created).clamp(FIRST_QUERY_AFTER_MS, QUERY_INTERVAL_MS_MAX);
                        refunds::set_next_query(tx.conn(), &id, now.plus_ms(waited)).await?;
                    }
                    if let Some(caller) = &answering {
                        record_answer(tx, caller, Answer::Refund(&refund), Recording::Final).await?;
                    }
                    Ok::<_, ServiceError>(refund)
                })
            })
            .await?;
        if let Some(caller) = caller {
            mark_answered(caller);
        }
        Ok(refund)
    }

    /// The attempt a payment's refunds go against: the one that captured, else the latest.
    async fn refunded_attempt(&self, payment_id: &PaymentId) -> Result<StoredAttempt, ServiceError> {
        let captured = {
            let mut reader = self.store.reader().await?;
            attempts::latest_captured(reader.conn(), payment_id).await?
        };
        let Some(attempt_id) = captured else { return self.latest_attempt_record(payment_id).await };
        let mut reader = self.store.reader().await?;
        let attempt = attempts::get(reader.conn(), &attempt_id).await?;
        attempt.ok_or_else(|| ServiceError::Unexpected(anyhow::anyhow!("attempt {attempt_id} vanished")))
    }

    pub async fn get_refund(&self, caller: &Caller, id: &RefundId) -> Result<Refund, ServiceError> {
        let mut reader = self.store.reader().await?;
        let refund = refunds::get(reader.conn(), id).await?;
        refund
            .filter(|r| r.merchant_id == caller.merchant.id && r.livemode == caller.mode.is_live())
            .ok_or_else(|| Problem::resource_missing("refund", "id").into())
    }

    pub async fn list_refunds(
        &self,
        caller: &Caller,
        payment_id: Option<&PaymentId>,
        starting_after: Option<&RefundId>,
        limit: u32,
    ) -> Result<Vec<Refund>, ServiceError> {
        let limit = limit.clamp(1, REFUND_LIST_LIMIT_MAX + 1);
        let mut reader = self.store.reader().await?;
        let livemode = caller.mode == Mode::Live;
        Ok(refunds::list(reader.conn(), &caller.merchant.id, livemode, payment_id, starting_after, limit).await?)
    }
}

/// Reserves a refund of `amount` (default: all that remains) of `payment`, locked by the
/// caller, as pending, with its `refund.created` event.
pub(crate) async fn reserve_refund_in(
    tx: &mut Tx,
    payment: &Payment,
    amount: Option<i64>,
    reason: Option<RefundReason>,
    now: Timestamp,
) -> Result<Refund, ServiceError> {
    let pending = refunds::pending_minor(tx.conn(), &payment.id).await?;
    let amount_minor = payment.amounts.reserve_refund(amount, pending)?;
    let refund = Refund {
        id: RefundId::generate(now, id_random(now)),
        payment_id: payment.id.clone(),
        merchant_id: payment.merchant_id.clone(),
        livemode: payment.livemode,
        amount_minor,
        currency: payment.currency,
        status: RefundStatus::Pending,
        reason,
        failure_code: None,
        created: now,
        updated: now,
    };
    refunds::insert(tx.conn(), &refund).await?;
    record_refund_event(tx, &refund, "refund.created", now).await?;
    Ok(refund)
}

/// A refund's channel is not configured (any more): nothing can be sent, so it fails.
pub(crate) fn channel_unavailable() -> ChannelError {
    let message = "the channel is not configured for this mode".to_owned();
    ChannelError::Rejected { status: 400, code: "channel_unavailable".to_owned(), message }
}

/// How a pending refund ended, and whether a success gives back a share of the fee.
pub(crate) struct Settled<'a> {
    pub(crate) status: RefundStatus,
    pub(crate) failure_code: Option<&'a str>,
    pub(crate) returns_fee: bool,
}

/// Settles a pending refund once: a success moves the payment's refunded amount and the
/// ledger; a failure releases the reserved amount.
pub(crate) async fn settle_refund(
    tx: &mut Tx,
    id: &RefundId,
    settled: Settled<'_>,
    now: Timestamp,
) -> Result<(), ServiceError> {
    let Settled { status, failure_code, returns_fee } = settled;
    if !refunds::settle(tx.conn(), id, status, failure_code, now).await? {
        return Ok(());
    }
    let refund = refunds::get(tx.conn(), id).await?.ok_or_else(|| anyhow::anyhow!("refund {id} vanished"))?;
    // The payer paid what the merchant no longer expected: the fee goes back too.
    let returns_fee = returns_fee || refund.reason == Some(RefundReason::LateSuccess);
    if status == RefundStatus::Succeeded {
        let mut payment = payments::get_for_update(tx.conn(), &refund.payment_id)
            .await?
            .ok_or_else(|| anyhow::anyhow!("payment {} vanished", refund.payment_id))?;
        let fee_returned = if returns_fee { fee_share(tx, &payment, &refund).await? } else { 0 };
        payment.amounts = payment.amounts.record_refund_succeeded(refund.amount_minor);
        payment.updated = now;
        payments::update(tx.conn(), &payment).await?;
        let money = Money::new(refund.amount_minor, refund.currency);
        let entry = refund_entry(&refund.merchant_id, refund.livemode, money, fee_returned)
            .map_err(|e| anyhow::anyhow!("refund entry for {id}: {e}"))?;
        let links = EntryLinks {
            merchant_id: Some(&refund.merchant_id),
            payment_id: Some(&refund.payment_id),
            refund_id: Some(id),
        };
        ledger::post(tx.conn(), &JournalEntryId::generate(now, id_random(now)), &entry, &links, now).await?;
        record_refund_event(tx, &refund, "refund.succeeded", now).await?;
        record_event(tx.conn(), &payment, "payment.refunded", now).await?;
    } else {
        record_refund_event(tx, &refund, "refund.failed", now).await?;
    }
    Ok(())
}

/// The refund's share of the fee its payment's capture was charged; read before the
/// payment records the refund.
async fn fee_share(tx: &mut Tx, payment: &Payment, refund: &Refund) -> Result<i64, ServiceError> {
    let charged = ledger::fee_charged(tx.conn(), &payment.id).await?;
    let (captured, refunded_before) = (payment.amounts.captured_minor(), payment.amounts.refunded_minor());
    fee_returned_by_refund(charged, captured, refunded_before, refund.amount_minor)
        .map_err(|e| anyhow::anyhow!("fee returned by refund {}: {e}", refund.id).into())
}

async fn record_refund_event(
    tx: &mut Tx,
    refund: &Refund,
    event_type: &'static str,
    now: Timestamp,
) -> Result<(), ServiceError> {
    let subject = Subject {
        merchant_id: &refund.merchant_id,
        livemode: refund.livemode,
        object_id: refund.id.as_str(),
        notify: NotifyTarget::OfPayment(&refund.payment_id),
    };
    record_object_event(tx.conn(), subject, refund_object(refund), event_type, now).await
}
