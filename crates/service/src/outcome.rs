//! Applying what the network answered to a payment, its attempt, the ledger and the
//! events, inside one write unit.

use payrail_channels::card_network::{AuthorizationOutcome, DeclineCode};
use payrail_domain::fees::FeeSchedule;
use payrail_domain::ledger::capture_entry;
use payrail_domain::payment::{CaptureMethod, PaymentStatus, PaymentTransition};
use payrail_domain::payment_record::{AttemptStatus, NextAction, Payment, PaymentError};
use payrail_domain::{AttemptId, ErrorType, JournalEntryId, Money, Problem, Timestamp};
use payrail_store::ledger::EntryLinks;
use payrail_store::payments::FIRST_QUERY_AFTER_MS;
use payrail_store::{Tx, attempts, fee_schedules, ledger, payments};

use crate::ServiceError;
use crate::payments::record_event;
use crate::random::id_random;
use crate::sweeps::QUERY_INTERVAL_MS_MAX;

/// What became of an attempt, as far as Payrail can tell.
#[derive(Debug)]
pub(crate) enum AttemptResult {
    /// The network answered.
    Answered(AuthorizationOutcome),
    /// Certainly nothing charged (the network said so, or was never reached).
    NotCharged(String),
    /// The network refused the request itself: a bug on one side or the other.
    Refused(String),
    /// The answer was lost; a later query must tell.
    Unknown,
    /// The payer must act first (an Alipay or WeChat Pay QR code to scan).
    RequiresAction(NextAction),
    /// The channel refused the attempt; nothing was charged. `decline_code` is the
    /// channel's reason, kept for support.
    Failed { problem: Problem, decline_code: Option<String> },
    /// Nothing new: the channel still waits for the payer, or a person must look.
    Unchanged,
    /// A wallet (Alipay, WeChat Pay) reports the trade paid, which is a capture; with what
    /// the payer paid from their own funds, when it says.
    WalletPaid { channel_reference: String, payer_paid_minor: Option<i64> },
}

impl AttemptResult {
    /// A wallet's paid trade: the attempt is captured under the wallet's reference.
    pub(crate) fn wallet_paid(channel_reference: String, payer_paid_minor: Option<i64>) -> AttemptResult {
        AttemptResult::WalletPaid { channel_reference, payer_paid_minor }
    }
}

/// Applies `result` to `payment` (locked by the caller). Returns the payment and, for a
/// failed attempt, the problem to answer with once the failure is committed.
pub(crate) async fn apply_attempt_result(
    tx: &mut Tx,
    mut payment: Payment,
    attempt_id: &AttemptId,
    result: AttemptResult,
    fees: FeeSchedule,
    now: Timestamp,
) -> Result<(Payment, Option<Problem>), ServiceError> {
    if !matches!(payment.status, PaymentStatus::Processing | PaymentStatus::RequiresAction) {
        // Another request already applied this attempt's outcome.
        return Ok((payment, None));
    }
    if matches!(result, AttemptResult::Unknown | AttemptResult::Unchanged) {
        if matches!(result, AttemptResult::Unknown) {
            attempts::set_outcome(tx.conn(), attempt_id, AttemptStatus::Unknown, None, None, now).await?;
        }
        query_again_later(tx, &payment, now).await?;
        return Ok((payment, None));
    }
    payment.updated = now;
    let result = match result {
        AttemptResult::WalletPaid { channel_reference, payer_paid_minor } => {
            payment.amount_paid_by_payer = payer_paid(&payment, payer_paid_minor);
            let approved = AuthorizationOutcome::Approved { captured: true, network_transaction_id: channel_reference };
            AttemptResult::Answered(approved)
        }
        other => other,
    };
    let (attempt_status, event, problem) = match result {
        AttemptResult::WalletPaid { .. } => unreachable!("a wallet's payment is applied as a capture"),
        AttemptResult::Unknown | AttemptResult::Unchanged => unreachable!("handled before the payment changes"),
        AttemptResult::Answered(AuthorizationOutcome::Approved { captured, network_transaction_id }) => {
            let transition = PaymentTransition::ChannelAuthorized { capture_method: payment.capture_method };
            payment.status = payment.status.apply(transition)?;
            payment.next_action = None;
            let ntx = Some(network_transaction_id.as_str());
            if captured && payment.capture_method == CaptureMethod::Automatic {
                payment.amounts = payment.amounts.capture_automatically();
                post_capture(tx, &payment, fees, now).await?;
                attempts::set_outcome(tx.conn(), attempt_id, AttemptStatus::Captured, None, ntx, now).await?;
                (AttemptStatus::Captured, "payment.succeeded", None)
            } else {
                payment.amounts = payment.amounts.authorize();
                attempts::set_outcome(tx.conn(), attempt_id, AttemptStatus::Authorized, None, ntx, now).await?;
                (AttemptStatus::Authorized, "payment.requires_capture", None)
            }
        }
        AttemptResult::Answered(AuthorizationOutcome::RequiresChallenge { challenge_url }) => {
            payment.status = payment.status.apply(PaymentTransition::ChannelRequiresAction)?;
            payment.next_action = Some(NextAction::RedirectToUrl { url: challenge_url });
            (AttemptStatus::RequiresChallenge, "payment.requires_action", None)
        }
        AttemptResult::RequiresAction(action) => {
            payment.status = payment.status.apply(PaymentTransition::ChannelRequiresAction)?;
            if let Some(data) = action.qr_code() {
                attempts::set_qr_code(tx.conn(), attempt_id, data).await?;
            }
            payment.next_action = Some(action);
            (AttemptStatus::RequiresChallenge, "payment.requires_action", None)
        }
        AttemptResult::Failed { problem, decline_code } => {
            fail(&mut payment, &problem, decline_code.as_deref())?;
            (AttemptStatus::Failed, "payment.failed", Some(problem))
        }
        AttemptResult::Answered(AuthorizationOutcome::Declined { decline_code }) => {
            let problem = decline_problem(&decline_code);
            fail(&mut payment, &problem, Some(decline_code.as_str()))?;
            (AttemptStatus::Declined, "payment.failed", Some(problem))
        }
        AttemptResult::NotCharged(code) => {
            tracing::warn!(payment_id = %payment.id, code, "the card network did not take the attempt");
            let problem = card_problem("processing_error", "the card network could not process the payment; try again");
            fail(&mut payment, &problem, None)?;
            (AttemptStatus::Failed, "payment.failed", Some(problem))
        }
        AttemptResult::Answered(AuthorizationOutcome::Voided) => {
            let problem = card_problem("processing_error", "the card network could not process the payment; try again");
            fail(&mut payment, &problem, None)?;
            (AttemptStatus::Failed, "payment.failed", Some(problem))
        }
        AttemptResult::Refused(detail) => {
            tracing::error!(payment_id = %payment.id, detail, "the card network refused an authorization request");
            let problem = card_problem("processing_error", "the card network could not process the payment; try again");
            fail(&mut payment, &problem, None)?;
            (AttemptStatus::Failed, "payment.failed", Some(problem))
        }
    };
    if matches!(attempt_status, AttemptStatus::RequiresChallenge | AttemptStatus::Declined | AttemptStatus::Failed) {
        let decline = payment.last_error.as_ref().and_then(|e| e.decline_code.clone());
        attempts::set_outcome(tx.conn(), attempt_id, attempt_status, decline.as_deref(), None, now).await?;
    }
    payments::update(tx.conn(), &payment).await?;
    record_event(tx.conn(), &payment, event, now).await?;
    Ok((payment, problem))
}

/// What the payer paid, if the wallet said and it is a share of the amount (anything else
/// is logged and left out: the ledger does not depend on it).
pub(crate) fn payer_paid(payment: &Payment, reported_minor: Option<i64>) -> Option<i64> {
    let reported = reported_minor?;
    if (0..=payment.amounts.amount_minor()).contains(&reported) {
        return Some(reported);
    }
    tracing::warn!(payment_id = %payment.id, reported, "a wallet reports the payer paid more than the amount; not recorded");
    None
}

/// Asks the channel again after as long as the payment has waited since its last change
/// (a minute at least, an hour at most): the waits double while the answer stays "not
/// yet" or the channel stays silent.
async fn query_again_later(tx: &mut Tx, payment: &Payment, now: Timestamp) -> Result<(), ServiceError> {
    let waited = now.ms_since(payment.updated).clamp(FIRST_QUERY_AFTER_MS, QUERY_INTERVAL_MS_MAX);
    payments::set_next_query(tx.conn(), &payment.id, now.plus_ms(waited)).await?;
    Ok(())
}

/// Applies a capture the network confirmed.
pub(crate) async fn apply_capture(
    tx: &mut Tx,
    mut payment: Payment,
    attempt_id: &AttemptId,
    amount_to_capture: Option<i64>,
    fees: FeeSchedule,
    now: Timestamp,
) -> Result<Payment, ServiceError> {
    payment.status = payment.status.apply(PaymentTransition::Capture)?;
    payment.amounts = payment.amounts.capture(amount_to_capture)?;
    payment.updated = now;
    post_capture(tx, &payment, fees, now).await?;
    attempts::set_outcome(tx.conn(), attempt_id, AttemptStatus::Captured, None, None, now).await?;
    payments::update(tx.conn(), &payment).await?;
    record_event(tx.conn(), &payment, "payment.captured", now).await?;
    record_event(tx.conn(), &payment, "payment.succeeded", now).await?;
    Ok(payment)
}

/// The money moved by a capture: receivable from the network, owed to the merchant less
/// the fee, which is the platform's revenue. The merchant's own schedule for the currency
/// wins over `default_fees`.
pub(crate) async fn post_capture(
    tx: &mut Tx,
    payment: &Payment,
    default_fees: FeeSchedule,
    now: Timestamp,
) -> Result<(), ServiceError> {
    let captured = payment.amounts.captured_minor();
    let fees = fee_schedules::find(tx.conn(), &payment.merchant_id, payment.currency).await?.unwrap_or(default_fees);
    let fee = fees.fee_for(captured).map_err(|e| anyhow::anyhow!("fee for {}: {e}", payment.id))?;
    let money = Money::new(captured, payment.currency);
    let entry = capture_entry(&payment.merchant_id, payment.livemode, money, fee)
        .map_err(|e| anyhow::anyhow!("capture entry for {}: {e}", payment.id))?;
    let links = EntryLinks { merchant_id: Some(&payment.merchant_id), payment_id: Some(&payment.id), refund_id: None };
    let id = JournalEntryId::generate(now, id_random(now));
    ledger::post(tx.conn(), &id, &entry, &links, now).await?;
    Ok(())
}

fn fail(payment: &mut Payment, problem: &Problem, decline_code: Option<&str>) -> Result<(), ServiceError> {
    payment.status = payment.status.apply(PaymentTransition::ChannelDeclined)?;
    payment.next_action = None;
    payment.last_error = Some(PaymentError {
        code: problem.code.to_owned(),
        decline_code: decline_code.map(str::to_owned),
        message: problem.message.to_string(),
    });
    Ok(())
}

fn decline_problem(decline_code: &DeclineCode) -> Problem {
    match decline_code {
        DeclineCode::ExpiredCard => card_problem("expired_card", "the card has expired"),
        DeclineCode::IncorrectCvc => card_problem("incorrect_cvc", "the card's security code is incorrect"),
        DeclineCode::AuthenticationFailed => {
            card_problem("authentication_failed", "the cardholder did not complete 3-D Secure authentication")
        }
        _ => card_problem("card_declined", "the card was declined"),
    }
}

fn card_problem(code: &'static str, message: &'static str) -> Problem {
    Problem { error_type: ErrorType::Card, ..Problem::invalid_request(code, message).with_status(402) }
}
