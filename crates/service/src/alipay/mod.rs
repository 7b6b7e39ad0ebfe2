//! Charging through Alipay: QR-code payments (`alipay.trade.precreate`), resolving an
//! attempt by `alipay.trade.query`, and refunds. Payment codes are in `barcode.rs`,
//! notifications in `notify.rs`.
//!
//! Invariant: the attempt's id is the `out_trade_no` Alipay receives, committed before the
//! first call and reused on every later one (a repeated precreate under the same
//! `out_trade_no` gives back the same trade). A lost answer is resolved under that
//! reference, never by a new one.
//!
//! Alipay takes CNY only and has no separate capture: a paid trade is a captured payment.

mod barcode;
mod notify;
mod redirect;
mod refunds;

pub(crate) use redirect::alipay_redirect_accepts;

use payrail_channels::ChannelError;
use payrail_channels::alipay::{AlipayClient, PrecreateRequest, Precreated, Trade, TradeStatus};
use payrail_domain::payment::{CaptureMethod, PaymentStatus};
use payrail_domain::payment_record::{NextAction, Payment, PaymentMethodType};
use payrail_domain::{AttemptId, ChannelAccountId, ErrorType, Mode, Problem};
use payrail_store::attempts::StoredAttempt;

use crate::channel_accounts::credentials::ChannelClient;
use crate::channel_retry::retrying_transient;
use crate::confirm::Attach;
use crate::outcome::AttemptResult;
use crate::payments::ChargeTarget;
use crate::random::id_random;
use crate::{Caller, Payrail, ServiceError};

/// Alipay's name in attempts and notification paths.
pub const ALIPAY_CHANNEL: &str = "alipay";
/// Alipay's refusals to close a trade that was paid.
const TRADE_STATUS_ERROR: &str = "ACQ.TRADE_STATUS_ERROR";
pub(crate) const TRADE_HAS_SUCCESS: &str = "ACQ.TRADE_HAS_SUCCESS";
/// The longest order subject Payrail sends (Alipay takes 256).
const SUBJECT_CHARS_MAX: usize = 128;

/// An Alipay app (the platform's of a mode, or a merchant's channel account), and where
/// Alipay sends its notifications.
#[derive(Clone)]
pub(crate) struct AlipayAccount {
    pub(crate) client: AlipayClient,
    pub(crate) notify_url: String,
    /// `None`: the platform's app of the mode.
    pub(crate) account_id: Option<ChannelAccountId>,
}

/// Whether Alipay can take `payment`: CNY, captured at once.
pub(crate) fn alipay_accepts(payment: &Payment) -> Result<(), Problem> {
    if payment.currency.code() != "CNY" {
        return Err(
            Problem::invalid_request("currency_unsupported", "alipay payments must be in cny").with_param("currency")
        );
    }
    if payment.capture_method == CaptureMethod::Manual {
        let message = "alipay payments are captured automatically; capture_method must be automatic";
        return Err(Problem::invalid_request("parameter_invalid", message).with_param("capture_method"));
    }
    Ok(())
}

impl Payrail {
    pub(crate) fn alipay_account(&self, mode: Mode) -> Result<&AlipayAccount, ServiceError> {
        let account = match mode {
            Mode::Test => self.channels.alipay_test.as_ref(),
            Mode::Live => self.channels.alipay_live.as_ref(),
        };
        account.ok_or_else(|| {
            let message = format!("alipay payments are not configured for {} mode", mode.as_str());
            Problem::invalid_request("payment_method_unavailable", message).with_param("payment_method").into()
        })
    }

    /// The app a new attempt of `target` with `method` is charged through, after checking
    /// that Alipay can take the payment (and, for a cashier, that the payer can come back): the merchant's account chosen on the payment or
    /// routed to, else the platform's app of the caller's mode.
    pub(crate) async fn alipay_for_payment(
        &self,
        caller: &Caller,
        target: &ChargeTarget,
        method: PaymentMethodType,
    ) -> Result<AlipayAccount, ServiceError> {
        let payment = self.payment_to_charge(caller, target).await?;
        alipay_accepts(&payment)?;
        if matches!(method, PaymentMethodType::AlipayPage | PaymentMethodType::AlipayWap) {
            alipay_redirect_accepts(&payment)?;
        }
        match self.account_for_payment(caller, &payment, method).await? {
            None => Ok(self.alipay_account(caller.mode)?.clone()),
            Some((id, ChannelClient::Alipay(client))) => Ok(self.merchant_alipay(id, client)),
            Some((id, _)) => Err(ServiceError::Unexpected(anyhow::anyhow!("channel account {id} is not alipay"))),
        }
    }

    /// The app an attempt was charged through.
    pub(crate) async fn alipay_for_attempt(
        &self,
        mode: Mode,
        account_id: Option<&ChannelAccountId>,
    ) -> Result<AlipayAccount, ServiceError> {
        match account_id {
            None => Ok(self.alipay_account(mode)?.clone()),
            Some(id) => match self.client_of_account(id).await? {
                ChannelClient::Alipay(client) => Ok(self.merchant_alipay(id.clone(), client)),
                _ => Err(ServiceError::Unexpected(anyhow::anyhow!("channel account {id} is not alipay"))),
            },
        }
    }

    fn merchant_alipay(&self, id: ChannelAccountId, client: AlipayClient) -> AlipayAccount {
        let notify_url = format!("{}/notify/{ALIPAY_CHANNEL}/{id}", self.public_base_url());
        AlipayAccount { client, notify_url, account_id: Some(id) }
    }

    /// Confirms a payment with an Alipay QR code: the attempt is committed, Alipay is asked
    /// for the code, and the payment waits for the payer in `requires_action`.
    pub(crate) async fn charge_alipay_qr(
        &self,
        caller: &Caller,
        target: ChargeTarget,
    ) -> Result<Payment, ServiceError> {
        let account = self.alipay_for_payment(caller, &target, PaymentMethodType::AlipayQr).await?;
        let now = self.clock.now();
        let attempt_id = AttemptId::generate(now, id_random(now));
        let account_id = account.account_id.clone();
        let payment = self.start_attempt_through(caller, target, Attach::AlipayQr, &attempt_id, account_id).await?;
        let result = self.precreate(&account, &payment, &attempt_id).await;
        self.finish_attempt(Some(caller), &payment.id, &attempt_id, result).await
    }

    /// Asks Alipay for the attempt's QR code; a lost answer is asked for once more under
    /// the same `out_trade_no`, which Alipay answers with the same trade.
    async fn precreate(&self, account: &AlipayAccount, payment: &Payment, attempt_id: &AttemptId) -> AttemptResult {
        let request = PrecreateRequest {
            out_trade_no: attempt_id.to_string(),
            amount: payment.amounts_money(),
            subject: subject(payment),
            notify_url: Some(account.notify_url.clone()),
            time_expire: Some(payment.expires_at),
        };
        let precreate = || retrying_transient(|| account.client.precreate(&request));
        let answer = match precreate().await {
            Err(error) if error.outcome_is_unknown() => precreate().await,
            other => other,
        };
        self.precreate_result(payment, attempt_id, answer)
    }

    fn precreate_result(
        &self,
        payment: &Payment,
        attempt_id: &AttemptId,
        answer: Result<Precreated, ChannelError>,
    ) -> AttemptResult {
        match answer {
            Ok(precreated) => AttemptResult::RequiresAction(NextAction::AlipayDisplayQrCode {
                data: precreated.qr_code,
                image_url_svg: format!("{}/qr/{attempt_id}.svg", self.public_base_url()),
            }),
            Err(error) if error.outcome_is_unknown() => AttemptResult::Unknown,
            Err(error) => {
                tracing::warn!(payment_id = %payment.id, attempt_id = %attempt_id, %error, "alipay refused a precreate");
                AttemptResult::Failed { problem: alipay_problem(), decline_code: error.code().map(str::to_owned) }
            }
        }
    }

    /// What Alipay says of an attempt: paid, closed, or (for an attempt whose precreate
    /// answer was lost) the QR code asked for again under the same reference.
    pub(crate) async fn query_alipay_attempt(
        &self,
        mode: Mode,
        payment: &Payment,
        attempt: &StoredAttempt,
    ) -> Result<AttemptResult, ServiceError> {
        let account = self.alipay_for_attempt(mode, attempt.channel_account_id.as_ref()).await?;
        let trade = match account.client.query(attempt.id.as_str()).await {
            Ok(trade) => trade,
            // Still unknown for an attempt whose precreate was lost; a waiting QR code stays.
            Err(_) if payment.status == PaymentStatus::Processing => return Ok(AttemptResult::Unknown),
            Err(_) => return Ok(AttemptResult::Unchanged),
        };
        Ok(match trade {
            Some(trade) if trade.status.is_paid() => paid_result(&attempt.id, attempt.amount_minor, &trade),
            Some(trade) if trade.status == TradeStatus::Closed => {
                AttemptResult::Failed { problem: alipay_problem(), decline_code: Some("TRADE_CLOSED".to_owned()) }
            }
            _ if payment.payment_method_type == Some(PaymentMethodType::AlipayBarcode) => {
                self.resolve_barcode_attempt(&account, payment, attempt).await
            }
            // A cashier URL is made here, never lost: nothing to ask for again.
            _ if payment.payment_method_type != Some(PaymentMethodType::AlipayQr) => AttemptResult::Unchanged,
            // Waiting for the payer, or never scanned: only a lost QR code needs asking for.
            _ if payment.status == PaymentStatus::Processing => self.precreate(&account, payment, &attempt.id).await,
            _ => AttemptResult::Unchanged,
        })
    }

    /// Before a payment waiting on an Alipay QR code is canceled here (expired, or by the
    /// merchant), its trade is closed at Alipay, so the payer cannot pay what Payrail gave
    /// up on. Returns whether the payment may be canceled now. A trade Alipay refuses to
    /// close because it was paid makes the payment succeed instead (by query); any other
    /// failure is logged and answered `false`.
    pub(crate) async fn closed_at_alipay_first(&self, payment: &Payment) -> Result<bool, ServiceError> {
        let id = &payment.id;
        let mode = if payment.livemode { Mode::Live } else { Mode::Test };
        let attempt = self.latest_attempt_record(id).await?;
        let Ok(account) = self.alipay_for_attempt(mode, attempt.channel_account_id.as_ref()).await else {
            // Alipay is no longer configured: nothing can be closed, nor paid through Payrail.
            return Ok(true);
        };
        // A trade never scanned is unknown to close (`NotFound`); Alipay was told the same
        // expiry (`time_expire`), so nobody can pay it any more either.
        match account.client.close(attempt.id.as_str()).await {
            Ok(_) => Ok(true),
            Err(error) if matches!(error.code(), Some(TRADE_STATUS_ERROR | TRADE_HAS_SUCCESS)) => {
                let resolved = self.resolve_latest_attempt(id).await?;
                tracing::info!(payment_id = %id, status = resolved.status.as_str(), "a trade being closed was paid at alipay");
                Ok(false)
            }
            Err(error) => {
                tracing::warn!(payment_id = %id, %error, "could not close a trade at alipay");
                Ok(false)
            }
        }
    }

    /// The QR content of an attempt still waiting to be scanned, for its image.
    pub async fn waiting_qr_code(&self, attempt_id: &AttemptId) -> Result<Option<String>, ServiceError> {
        let mut reader = self.store.reader().await?;
        Ok(payrail_store::attempts::waiting_qr_code(reader.conn(), attempt_id).await?)
    }
}

/// A paid trade found by query: the payment succeeds, unless the amount differs from the
/// attempt's, which a person must look at.
fn paid_result(attempt_id: &AttemptId, amount_minor: i64, trade: &Trade) -> AttemptResult {
    if trade.total_amount.amount_minor() != amount_minor || trade.total_amount.currency().code() != "CNY" {
        tracing::error!(
            attempt_id = %attempt_id, trade_no = trade.trade_no,
            "alipay reports a paid trade whose amount differs from the attempt; nothing was changed"
        );
        return AttemptResult::Unchanged;
    }
    let payer_paid = trade.buyer_pay_amount.map(|paid| paid.amount_minor());
    AttemptResult::wallet_paid(trade.trade_no.clone(), payer_paid)
}

/// The order's subject as Alipay shows it to the payer.
pub(crate) fn subject(payment: &Payment) -> String {
    let text = payment.description.as_ref().map_or(payment.merchant_order_no.as_str(), |d| d.as_str());
    text.chars().take(SUBJECT_CHARS_MAX).collect()
}

pub(crate) fn alipay_problem() -> Problem {
    let message = "alipay could not process the payment; try again";
    Problem { error_type: ErrorType::Card, ..Problem::invalid_request("processing_error", message).with_status(402) }
}
