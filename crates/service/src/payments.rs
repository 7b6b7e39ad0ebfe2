//! Payment orders: create, retrieve, list and cancel. Confirmation against a channel is
//! in `confirm.rs`.

use std::collections::BTreeMap;

use payrail_domain::channel_account::ChannelKind;
use payrail_domain::payment::{
    CancellationReason, CaptureMethod, Description, MerchantOrderNo, Metadata, PaymentStatus, PaymentTransition,
};
use payrail_domain::payment_amounts::PaymentAmounts;
use payrail_domain::payment_record::{DEFAULT_EXPIRY_MS, EXPIRY_MS_MAX, Event, Payment, PaymentMethodType, WebUrl};
use payrail_domain::{ChannelAccountId, Currency, EventId, MerchantId, PaymentId, Problem, Timestamp};
use payrail_store::deliveries::NotifyTarget;
use payrail_store::idempotency::Recording;
use payrail_store::payments::{Cursor, PaymentFilter};
use payrail_store::{Conn, Tx, deliveries, events, payments};

use crate::alipay::{alipay_accepts, alipay_redirect_accepts};
use crate::idempotency::{Answer, mark_answered, record_answer};
use crate::objects::payment_object;
use crate::random::id_random;
use crate::wechatpay::wechatpay_accepts;
use crate::{Caller, Payrail, ServiceError};

/// The most payments one list call returns.
pub const PAYMENT_LIST_LIMIT_MAX: u32 = 100;

pub use crate::payment_methods::{CardInput, PaymentMethodInput};

/// `POST /v1/payments`, as parsed from the request.
#[derive(Debug, Default)]
pub struct NewPayment {
    pub amount_minor: i64,
    pub currency: String,
    pub merchant_order_no: String,
    pub description: Option<String>,
    pub metadata: BTreeMap<String, String>,
    pub capture_method: Option<String>,
    /// Unix seconds.
    pub expires_at: Option<i64>,
    pub return_url: Option<String>,
    pub notify_url: Option<String>,
    pub payment_method: Option<PaymentMethodInput>,
    pub confirm: bool,
    /// One of the merchant's channel accounts (`ca_…`), instead of its routes.
    pub channel_account: Option<String>,
}

/// A page of payments, newest first.
pub struct PaymentPage {
    pub payments: Vec<Payment>,
    pub has_more: bool,
}

impl Payrail {
    /// Creates a payment; with `confirm` and a card, charges it at once.
    pub async fn create_payment(&self, caller: &Caller, request: NewPayment) -> Result<Payment, ServiceError> {
        let now = self.clock.now();
        let payment = self.parse_new_payment(caller, &request, now)?;
        if let Some(url) = &payment.notify_url {
            self.check_delivery_url(url, caller.mode, "notify_url").await?;
        }
        let method_type = request.payment_method.as_ref().map(PaymentMethodInput::method_type);
        if method_type.and_then(ChannelKind::for_method) == Some(ChannelKind::Alipay) {
            alipay_accepts(&payment)?;
        }
        if matches!(method_type, Some(PaymentMethodType::AlipayPage | PaymentMethodType::AlipayWap)) {
            alipay_redirect_accepts(&payment)?;
        }
        if method_type.and_then(ChannelKind::for_method) == Some(ChannelKind::Wechatpay) {
            wechatpay_accepts(&payment)?;
        }
        if let Some(account_id) = &payment.channel_account_id {
            self.usable_account(caller, account_id, method_type).await?;
        }
        match (request.confirm, request.payment_method) {
            (true, Some(PaymentMethodInput::Card(card))) => {
                self.charge(caller, ChargeTarget::New(Box::new(payment)), card).await
            }
            (true, Some(PaymentMethodInput::AlipayQr)) => {
                self.charge_alipay_qr(caller, ChargeTarget::New(Box::new(payment))).await
            }
            (true, Some(PaymentMethodInput::AlipayBarcode { auth_code })) => {
                self.charge_alipay_barcode(caller, ChargeTarget::New(Box::new(payment)), auth_code).await
            }
            (true, Some(method @ (PaymentMethodInput::AlipayPage | PaymentMethodInput::AlipayWap))) => {
                self.charge_alipay_redirect(caller, ChargeTarget::New(Box::new(payment)), method.method_type()).await
            }
            (true, Some(PaymentMethodInput::WechatNative)) => {
                self.charge_wechat_native(caller, ChargeTarget::New(Box::new(payment))).await
            }
            (true, Some(PaymentMethodInput::WechatBarcode { auth_code })) => {
                self.charge_wechat_barcode(caller, ChargeTarget::New(Box::new(payment)), auth_code).await
            }
            (true, None) => {
                let message = "confirm: true needs a payment_method";
                Err(Problem::invalid_request("payment_method_missing", message).with_param("payment_method").into())
            }
            (true, Some(method @ (PaymentMethodInput::WechatJsapi { .. } | PaymentMethodInput::WechatH5 { .. }))) => {
                self.charge_wechat_in_browser(caller, ChargeTarget::New(Box::new(payment)), method).await
            }
            (false, Some(method)) if method.attachable().is_none() => {
                let message = "a card, a payment code or a payer's wechat details can only be given together \
                               with confirm: true";
                Err(Problem::invalid_request("payment_method_requires_confirm", message).with_param("confirm").into())
            }
            (false, method) => {
                let mut payment = payment;
                if let Some(kind) = method.as_ref().and_then(PaymentMethodInput::attachable) {
                    payment.status = payment.status.apply(PaymentTransition::AttachPaymentMethod)?;
                    payment.payment_method_type = Some(kind);
                }
                let (created, answering) = (payment.clone(), caller.clone());
                self.store
                    .write(move |tx| {
                        Box::pin(async move {
                            insert_new(tx, &created, now).await?;
                            record_answer(tx, &answering, Answer::Payment(&created), Recording::Final).await
                        })
                    })
                    .await?;
                mark_answered(caller);
                Ok(payment)
            }
        }
    }

    fn parse_new_payment(&self, caller: &Caller, request: &NewPayment, now: Timestamp) -> Result<Payment, Problem> {
        let currency = Currency::parse(&request.currency).map_err(|_| {
            Problem::invalid_request("currency_invalid", "not a supported ISO 4217 currency").with_param("currency")
        })?;
        let amount = self.policy.payment_amount(request.amount_minor, currency)?;
        let capture_method = match request.capture_method.as_deref() {
            None => CaptureMethod::Automatic,
            Some(text) => CaptureMethod::parse(text).ok_or_else(|| {
                Problem::invalid_request("parameter_invalid", "capture_method must be automatic or manual")
                    .with_param("capture_method")
            })?,
        };
        let expires_at = match request.expires_at {
            None => now.plus_ms(DEFAULT_EXPIRY_MS),
            Some(seconds) => parse_expiry(seconds, now)?,
        };
        Ok(Payment {
            id: PaymentId::generate(now, id_random(now)),
            merchant_id: caller.merchant.id.clone(),
            livemode: caller.mode.is_live(),
            status: PaymentStatus::RequiresPaymentMethod,
            amounts: PaymentAmounts::new(amount),
            currency,
            merchant_order_no: MerchantOrderNo::parse(&request.merchant_order_no)?,
            description: request.description.as_deref().map(Description::parse).transpose()?,
            metadata: Metadata::parse(request.metadata.clone())?,
            capture_method,
            expires_at,
            return_url: request.return_url.as_deref().map(|u| WebUrl::parse(u, "return_url")).transpose()?,
            notify_url: request.notify_url.as_deref().map(|u| WebUrl::parse(u, "notify_url")).transpose()?,
            payment_method_type: None,
            card: None,
            next_action: None,
            last_error: None,
            cancellation_reason: None,
            channel_account_id: request
                .channel_account
                .as_deref()
                .map(|id| {
                    ChannelAccountId::parse(id).map_err(|_| {
                        let message = "channel_account must be a channel account id (ca_…)";
                        Problem::invalid_request("parameter_invalid", message).with_param("channel_account")
                    })
                })
                .transpose()?,
            late_succeeded_at: None,
            amount_paid_by_payer: None,
            created: now,
            updated: now,
        })
    }

    /// One payment, if the caller may see it: their merchant's, in their mode.
    pub async fn get_payment(&self, caller: &Caller, id: &PaymentId) -> Result<Payment, ServiceError> {
        let mut reader = self.store.reader().await?;
        let payment = payments::get(reader.conn(), id).await?;
        visible(caller, payment)
    }

    pub async fn list_payments(
        &self,
        caller: &Caller,
        filter: &PaymentFilter,
        cursor: &Cursor,
        limit: u32,
    ) -> Result<PaymentPage, ServiceError> {
        let limit = limit.clamp(1, PAYMENT_LIST_LIMIT_MAX);
        let mut reader = self.store.reader().await?;
        let mut found =
            payments::list(reader.conn(), &caller.merchant.id, caller.mode.is_live(), filter, cursor, limit).await?;
        let has_more = found.len() > limit as usize;
        if has_more {
            match cursor {
                Cursor::Before(_) => drop(found.remove(0)),
                _ => found.truncate(limit as usize),
            }
        }
        Ok(PaymentPage { payments: found, has_more })
    }

    /// Cancels a payment that is not being charged and not yet captured.
    pub async fn cancel_payment(
        &self,
        caller: &Caller,
        id: &PaymentId,
        reason: Option<&str>,
    ) -> Result<Payment, ServiceError> {
        let reason = reason.map(CancellationReason::parse_requested).transpose()?;
        // Checked first: only the caller's own payment is closed at its channel.
        self.get_payment(caller, id).await?;
        // The trade of a QR code is closed at Alipay first. If it was paid meanwhile, the
        // payment has succeeded and the cancel below is refused; if Alipay could not be
        // reached, the cancel goes ahead and a late payment is recorded as a discrepancy.
        self.closed_at_channel_first(id).await?;
        let (answering, id, now) = (caller.clone(), id.clone(), self.clock.now());
        let (payment, held) = self
            .store
            .write(move |tx| {
                Box::pin(async move {
                    let caller = answering;
                    let mut payment = visible(&caller, payments::get_for_update(tx.conn(), &id).await?)?;
                    let held = payment.status == PaymentStatus::RequiresCapture;
                    payment.status = payment.status.apply(PaymentTransition::Cancel)?;
                    payment.cancellation_reason = reason.or(Some(CancellationReason::RequestedByCustomer));
                    payment.next_action = None;
                    payment.updated = now;
                    // Nothing stays capturable; a hold at the network is voided below.
                    payment.amounts = payment.amounts.release_authorization();
                    payments::update(tx.conn(), &payment).await?;
                    record_event(tx.conn(), &payment, "payment.canceled", now).await?;
                    record_answer(tx, &caller, Answer::Payment(&payment), Recording::Final).await?;
                    Ok::<_, ServiceError>((payment, held))
                })
            })
            .await?;
        mark_answered(caller);
        if held {
            self.void_held_authorization(&payment).await;
        }
        Ok(payment)
    }
}

/// Which payment a charge is for: one created in the same request, or an existing one.
pub(crate) enum ChargeTarget {
    New(Box<Payment>),
    Existing(PaymentId),
}

impl Payrail {
    /// The payment a charge is for, as it stands before the charge: to check that a
    /// channel can take it before anything is written.
    pub(crate) async fn payment_to_charge(
        &self,
        caller: &Caller,
        target: &ChargeTarget,
    ) -> Result<Payment, ServiceError> {
        match target {
            ChargeTarget::New(payment) => Ok(payment.as_ref().clone()),
            ChargeTarget::Existing(id) => self.get_payment(caller, id).await,
        }
    }
}

/// Stores a new payment and its `payment.created` event.
pub(crate) async fn insert_new(tx: &mut Tx, payment: &Payment, now: Timestamp) -> Result<(), ServiceError> {
    insert_row(tx, payment).await?;
    record_event(tx.conn(), payment, "payment.created", now).await
}

/// Stores a new payment's row; a taken `merchant_order_no` is the client's error.
pub(crate) async fn insert_row(tx: &mut Tx, payment: &Payment) -> Result<(), ServiceError> {
    payments::insert(tx.conn(), payment).await.map_err(|error| match error {
        payrail_store::StoreError::UniqueViolation => ServiceError::Rejected(duplicate_order_no()),
        other => other.into(),
    })
}

/// The payment if `caller` may see it; otherwise the same answer as for no payment.
pub(crate) fn visible(caller: &Caller, payment: Option<Payment>) -> Result<Payment, ServiceError> {
    payment
        .filter(|p| p.merchant_id == caller.merchant.id && p.livemode == caller.mode.is_live())
        .ok_or_else(|| Problem::resource_missing("payment", "id").into())
}

/// Writes an event carrying the payment as the API shows it now.
pub(crate) async fn record_event(
    conn: Conn<'_>,
    payment: &Payment,
    event_type: &'static str,
    now: Timestamp,
) -> Result<(), ServiceError> {
    let subject = Subject {
        merchant_id: &payment.merchant_id,
        livemode: payment.livemode,
        object_id: payment.id.as_str(),
        notify: payment.notify_url.as_ref().map_or(NotifyTarget::None, |url| NotifyTarget::Url(url.as_str())),
    };
    record_object_event(conn, subject, payment_object(payment), event_type, now).await
}

/// What an event is about: whose it is, its object, and which `notify_url` hears of it.
pub(crate) struct Subject<'a> {
    pub merchant_id: &'a MerchantId,
    pub livemode: bool,
    pub object_id: &'a str,
    pub notify: NotifyTarget<'a>,
}

/// Writes an event carrying `object` (its API form) and, in the same unit, its webhook
/// deliveries: the outbox.
pub(crate) async fn record_object_event(
    mut conn: Conn<'_>,
    subject: Subject<'_>,
    object: serde_json::Value,
    event_type: &'static str,
    now: Timestamp,
) -> Result<(), ServiceError> {
    let event = Event {
        id: EventId::generate(now, id_random(now)),
        merchant_id: subject.merchant_id.clone(),
        livemode: subject.livemode,
        event_type,
        object_id: subject.object_id.to_owned(),
        data: object.to_string(),
        created: now,
    };
    events::insert(conn.reborrow(), &event).await?;
    deliveries::fan_out(conn, &event, subject.notify, now).await?;
    Ok(())
}

fn parse_expiry(unix_seconds: i64, now: Timestamp) -> Result<Timestamp, Problem> {
    let invalid = || {
        Problem::invalid_request("parameter_invalid", "expires_at must be in the future and at most 30 days ahead")
            .with_param("expires_at")
    };
    let at = unix_seconds.checked_mul(1000).and_then(Timestamp::from_unix_ms).ok_or_else(invalid)?;
    let ahead_ms = at.ms_since(now);
    if ahead_ms <= 0 || ahead_ms > EXPIRY_MS_MAX { Err(invalid()) } else { Ok(at) }
}

fn duplicate_order_no() -> Problem {
    Problem::invalid_request("merchant_order_no_duplicate", "a payment with this merchant_order_no already exists")
        .with_param("merchant_order_no")
}
