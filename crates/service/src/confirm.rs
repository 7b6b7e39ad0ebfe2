//! Charging a payment through the card channel: confirm, capture, and resolving an
//! attempt whose outcome is not yet known.
//!
//! Invariant: the attempt (whose id is the reference the network receives) is committed
//! before the network is called, and no transaction is open across the call. A timeout
//! is "unknown": it is resolved by querying the network with the same reference, never by
//! sending again under a new one.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use payrail_channels::ChannelError;
use payrail_channels::card_network::{AuthorizeRequest, CardData, CardNetworkClient};
use payrail_domain::card::{CardDetails, CardSummary};
use payrail_domain::payment::{CaptureMethod, PaymentStatus, PaymentTransition};
use payrail_domain::payment_record::{AttemptStatus, Payment, PaymentAttempt, PaymentMethodType, StoredCard};
use payrail_domain::{AttemptId, ChannelAccountId, Mode, PaymentId, Problem, Timestamp};
use payrail_store::idempotency::Recording;
use payrail_store::{Tx, attempts, payments, vault};

use crate::alipay::ALIPAY_CHANNEL;
use crate::idempotency::{Answer, mark_answered, record_answer};
use crate::outcome::{AttemptResult, apply_attempt_result, apply_capture};
use crate::payments::{CardInput, ChargeTarget, PaymentMethodInput, insert_row, record_event, visible};
use crate::random::{hex, id_random, random_bytes};
use crate::wechatpay::WECHATPAY_CHANNEL;
use crate::{Caller, Payrail, ServiceError};

impl Payrail {
    /// Confirms a payment with a payment method: given now, or attached when it was
    /// created (an Alipay or WeChat Pay QR code; a card is never kept for later, see
    /// `create_payment`).
    pub async fn confirm_payment(
        &self,
        caller: &Caller,
        id: &PaymentId,
        method: Option<PaymentMethodInput>,
    ) -> Result<Payment, ServiceError> {
        let target = ChargeTarget::Existing(id.clone());
        match method {
            Some(PaymentMethodInput::Card(card)) => self.charge(caller, target, card).await,
            Some(PaymentMethodInput::AlipayQr) => self.charge_alipay_qr(caller, target).await,
            Some(PaymentMethodInput::AlipayBarcode { auth_code }) => {
                self.charge_alipay_barcode(caller, target, auth_code).await
            }
            Some(method @ (PaymentMethodInput::AlipayPage | PaymentMethodInput::AlipayWap)) => {
                self.charge_alipay_redirect(caller, target, method.method_type()).await
            }
            Some(PaymentMethodInput::WechatNative) => self.charge_wechat_native(caller, target).await,
            Some(PaymentMethodInput::WechatBarcode { auth_code }) => {
                self.charge_wechat_barcode(caller, target, auth_code).await
            }
            Some(method @ (PaymentMethodInput::WechatJsapi { .. } | PaymentMethodInput::WechatH5 { .. })) => {
                self.charge_wechat_in_browser(caller, target, method).await
            }
            None => match self.get_payment(caller, id).await?.payment_method_type {
                Some(PaymentMethodType::AlipayQr) => self.charge_alipay_qr(caller, target).await,
                Some(method @ (PaymentMethodType::AlipayPage | PaymentMethodType::AlipayWap)) => {
                    self.charge_alipay_redirect(caller, target, method).await
                }
                Some(PaymentMethodType::WechatNative) => self.charge_wechat_native(caller, target).await,
                _ => Err(Problem::invalid_request("payment_method_missing", "confirming needs a payment_method")
                    .with_param("payment_method")
                    .into()),
            },
        }
    }

    /// Charges a card for a payment, new or existing. The card is checked before anything
    /// is written, so a bad card changes nothing.
    pub(crate) async fn charge(
        &self,
        caller: &Caller,
        target: ChargeTarget,
        card: CardInput,
    ) -> Result<Payment, ServiceError> {
        let now = self.clock.now();
        let details = CardDetails::parse(card.number.expose(), card.exp_month, card.exp_year, card.cvc.expose(), now)?;
        let client = self.card_network(caller.mode)?.clone();
        let attempt_id = AttemptId::generate(now, id_random(now));
        let method = Attach::Card(Box::new(self.vault_entry(&details)));
        let payment = self.start_attempt(caller, target, method, &attempt_id).await?;
        let request = AuthorizeRequest {
            reference: attempt_id.clone(),
            amount: payment.amounts_money(),
            capture: payment.capture_method == CaptureMethod::Automatic,
            card: CardData {
                number: card.number,
                exp_month: details.expiry().month(),
                exp_year: details.expiry().year(),
                cvc: card.cvc,
            },
            return_url: format!("{}/v1/payments/{}/return", self.public_base_url(), payment.id),
        };
        let result = match client.authorize(&request).await {
            Err(error) if error.outcome_is_unknown() => query_once(&client, &attempt_id).await,
            other => AttemptResult::from(other),
        };
        self.finish_attempt(Some(caller), &payment.id, &attempt_id, result).await
    }

    /// The card as the vault keeps it: the number sealed under the server key, bound to a
    /// fresh token.
    fn vault_entry(&self, details: &CardDetails) -> VaultEntry {
        let token = format!("card_{}", hex(&random_bytes::<16>()));
        let number = details.number().expose();
        VaultEntry {
            ciphertext: STANDARD.encode(self.keys.encrypt(number.as_bytes(), &token)),
            fingerprint: self.keys.card_fingerprint(number),
            summary: details.summary(),
            token,
        }
    }

    /// Unit one: the payment (created here if new) moves to `processing` with its payment
    /// method attached (a card vaulted), and the attempt is committed as `sending`, all
    /// before the channel hears of it.
    pub(crate) async fn start_attempt(
        &self,
        caller: &Caller,
        target: ChargeTarget,
        method: Attach,
        attempt_id: &AttemptId,
    ) -> Result<Payment, ServiceError> {
        self.start_attempt_through(caller, target, method, attempt_id, None).await
    }

    /// [`Payrail::start_attempt`] through one of the merchant's channel accounts (`None`:
    /// the platform's account of the mode).
    pub(crate) async fn start_attempt_through(
        &self,
        caller: &Caller,
        target: ChargeTarget,
        method: Attach,
        attempt_id: &AttemptId,
        channel_account_id: Option<ChannelAccountId>,
    ) -> Result<Payment, ServiceError> {
        let now = self.clock.now();
        let (caller, attempt_id) = (caller.clone(), attempt_id.clone());
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    // A payment created by this request is written once, already charging;
                    // its `payment.created` event still shows it as it was created.
                    let (mut payment, created) = match target {
                        ChargeTarget::New(payment) => (*payment.clone(), Some(payment)),
                        ChargeTarget::Existing(id) => {
                            (visible(&caller, payments::get_for_update(tx.conn(), &id).await?)?, None)
                        }
                    };
                    let attached = payment.status.apply(PaymentTransition::AttachPaymentMethod)?;
                    payment.status = attached.apply(PaymentTransition::Confirm)?;
                    let channel = attach(tx, &mut payment, method, now).await?;
                    payment.last_error = None;
                    payment.updated = now;
                    match &created {
                        Some(created) => {
                            insert_row(tx, &payment).await?;
                            record_event(tx.conn(), created, "payment.created", now).await?;
                        }
                        None => payments::update(tx.conn(), &payment).await?,
                    }
                    let attempt = PaymentAttempt {
                        id: attempt_id,
                        payment_id: payment.id.clone(),
                        channel,
                        status: AttemptStatus::Sending,
                        amount_minor: payment.amounts.amount_minor(),
                        decline_code: None,
                        network_transaction_id: None,
                        created: now,
                        channel_account_id,
                    };
                    attempts::insert(tx.conn(), &attempt).await?;
                    // Should this request die from here on, a retry answers with the payment
                    // as it stands, in processing; the sweep finds out how the attempt ended.
                    record_answer(tx, &caller, Answer::Payment(&payment), Recording::Provisional).await?;
                    Ok(payment)
                })
            })
            .await
    }

    /// Unit two: the network's answer, applied. A decline is committed, then reported.
    /// With a `caller`, its answer is recorded with the outcome.
    pub(crate) async fn finish_attempt(
        &self,
        caller: Option<&Caller>,
        payment_id: &PaymentId,
        attempt_id: &AttemptId,
        result: AttemptResult,
    ) -> Result<Payment, ServiceError> {
        let (payment_id, attempt_id, now) = (payment_id.clone(), attempt_id.clone(), self.clock.now());
        let (fees, answering) = (self.policy.default_fees(), caller.cloned());
        let (payment, problem) = self
            .store
            .write(move |tx| {
                Box::pin(async move {
                    let payment = payments::get_for_update(tx.conn(), &payment_id)
                        .await?
                        .ok_or_else(|| ServiceError::Unexpected(anyhow::anyhow!("payment {payment_id} vanished")))?;
                    let (payment, problem) = apply_attempt_result(tx, payment, &attempt_id, result, fees, now).await?;
                    if let Some(caller) = &answering {
                        let answer = problem.as_ref().map_or(Answer::Payment(&payment), Answer::Problem);
                        record_answer(tx, caller, answer, Recording::Final).await?;
                    }
                    Ok::<_, ServiceError>((payment, problem))
                })
            })
            .await?;
        if let Some(caller) = caller {
            mark_answered(caller);
        }
        match problem {
            Some(problem) => Err(problem.into()),
            None => Ok(payment),
        }
    }

    /// Captures an authorized payment, in full or in part; the rest is released.
    pub async fn capture_payment(
        &self,
        caller: &Caller,
        id: &PaymentId,
        amount_to_capture: Option<i64>,
    ) -> Result<Payment, ServiceError> {
        let payment = self.get_payment(caller, id).await?;
        if payment.status != PaymentStatus::RequiresCapture {
            payment.status.apply(PaymentTransition::Capture)?;
        }
        // Checked before the network is asked; checked again when applied.
        let captured = payment.amounts.capture(amount_to_capture)?;
        let attempt_id = self.latest_attempt(&payment.id).await?;
        let client = self.card_network(caller.mode)?;
        client.capture(&attempt_id, captured.captured_minor()).await.map_err(channel_failure)?;
        let (answering, id, now, fees) = (caller.clone(), id.clone(), self.clock.now(), self.policy.default_fees());
        let payment = self
            .store
            .write(move |tx| {
                Box::pin(async move {
                    let payment = visible(&answering, payments::get_for_update(tx.conn(), &id).await?)?;
                    let payment = apply_capture(tx, payment, &attempt_id, amount_to_capture, fees, now).await?;
                    record_answer(tx, &answering, Answer::Payment(&payment), Recording::Final).await?;
                    Ok::<_, ServiceError>(payment)
                })
            })
            .await?;
        mark_answered(caller);
        Ok(payment)
    }

    /// Asks the network how the payment's latest attempt ended and applies it: for the
    /// payer's return from 3-D Secure, and for attempts left unknown.
    pub async fn resolve_latest_attempt(&self, id: &PaymentId) -> Result<Payment, ServiceError> {
        let payment = {
            let mut reader = self.store.reader().await?;
            payments::get(reader.conn(), id).await?.ok_or_else(|| Problem::resource_missing("payment", "id"))?
        };
        if !matches!(payment.status, PaymentStatus::Processing | PaymentStatus::RequiresAction) {
            return Ok(payment);
        }
        let mode = if payment.livemode { Mode::Live } else { Mode::Test };
        let attempt = self.latest_attempt_record(id).await?;
        let result = match attempt.channel.as_str() {
            ALIPAY_CHANNEL => self.query_alipay_attempt(mode, &payment, &attempt).await?,
            WECHATPAY_CHANNEL => self.query_wechatpay_attempt(mode, &payment, &attempt).await?,
            _ => query_once(self.card_network(mode)?, &attempt.id).await,
        };
        let attempt_id = attempt.id;
        match self.finish_attempt(None, id, &attempt_id, result).await {
            Err(ServiceError::Rejected(_)) => self.get_payment_unchecked(id).await,
            other => other,
        }
    }

    pub(crate) fn card_network(&self, mode: Mode) -> Result<&CardNetworkClient, ServiceError> {
        self.channels.card_network(mode).ok_or_else(|| {
            let message = format!("card payments are not configured for {} mode", mode.as_str());
            Problem::invalid_request("payment_method_unavailable", message).with_param("payment_method").into()
        })
    }
}

/// A card ready for the vault: only the sealed number is kept.
pub(crate) struct VaultEntry {
    token: String,
    ciphertext: String,
    fingerprint: String,
    summary: CardSummary,
}

/// The payment method a new attempt charges.
pub(crate) enum Attach {
    Card(Box<VaultEntry>),
    AlipayQr,
    AlipayBarcode,
    /// `alipay_page` or `alipay_wap`: the payer is sent to Alipay's cashier.
    AlipayRedirect(PaymentMethodType),
    WechatNative,
    WechatBarcode,
    /// `wechat_jsapi` or `wechat_h5`: the payer pays in their own browser or in WeChat.
    WechatBrowser(PaymentMethodType),
}

/// Attaches `method` to `payment` (vaulting a card); returns the channel it is charged on.
async fn attach(
    tx: &mut Tx,
    payment: &mut Payment,
    method: Attach,
    now: Timestamp,
) -> Result<&'static str, ServiceError> {
    match method {
        Attach::Card(entry) => {
            let card = vault::VaultedCard {
                token: &entry.token,
                merchant_id: &payment.merchant_id,
                livemode: payment.livemode,
                number_ciphertext: &entry.ciphertext,
                fingerprint: &entry.fingerprint,
                summary: &entry.summary,
            };
            vault::insert(tx.conn(), &card, now).await?;
            payment.payment_method_type = Some(PaymentMethodType::Card);
            payment.card = Some(StoredCard { token: entry.token, summary: entry.summary });
            Ok("card_network")
        }
        Attach::AlipayQr => {
            payment.payment_method_type = Some(PaymentMethodType::AlipayQr);
            Ok(ALIPAY_CHANNEL)
        }
        Attach::AlipayBarcode => {
            payment.payment_method_type = Some(PaymentMethodType::AlipayBarcode);
            Ok(ALIPAY_CHANNEL)
        }
        Attach::AlipayRedirect(method) => {
            payment.payment_method_type = Some(method);
            Ok(ALIPAY_CHANNEL)
        }
        Attach::WechatNative => {
            payment.payment_method_type = Some(PaymentMethodType::WechatNative);
            Ok(WECHATPAY_CHANNEL)
        }
        Attach::WechatBarcode => {
            payment.payment_method_type = Some(PaymentMethodType::WechatBarcode);
            Ok(WECHATPAY_CHANNEL)
        }
        Attach::WechatBrowser(method) => {
            payment.payment_method_type = Some(method);
            Ok(WECHATPAY_CHANNEL)
        }
    }
}

/// Asks the network once what became of an attempt whose answer was lost.
async fn query_once(client: &CardNetworkClient, attempt_id: &AttemptId) -> AttemptResult {
    match client.get_authorization(attempt_id).await {
        Ok(Some(authorization)) => AttemptResult::Answered(authorization.outcome),
        // The network never stored it: nothing was charged.
        Ok(None) => AttemptResult::NotCharged("processing_error".into()),
        Err(_) => AttemptResult::Unknown,
    }
}

fn channel_failure(error: ChannelError) -> ServiceError {
    if error.is_transient() {
        let message = "the card network could not be reached; retry the request";
        ServiceError::Rejected(Problem::unavailable("channel_unavailable", message))
    } else {
        ServiceError::Unexpected(anyhow::anyhow!("the card network refused a capture: {error}"))
    }
}

impl From<Result<payrail_channels::card_network::Authorization, ChannelError>> for AttemptResult {
    fn from(result: Result<payrail_channels::card_network::Authorization, ChannelError>) -> AttemptResult {
        match result {
            Ok(authorization) => AttemptResult::Answered(authorization.outcome),
            Err(error) if error.outcome_is_unknown() => AttemptResult::Unknown,
            Err(ChannelError::Transient { code }) => AttemptResult::NotCharged(code),
            Err(error) => AttemptResult::Refused(error.to_string()),
        }
    }
}
