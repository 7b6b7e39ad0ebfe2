//! Charging through WeChat Pay: QR-code payments (`wechat_native`, v3
//! `/v3/pay/transactions/native`), resolving an attempt by query, and closing an order
//! before its payment is canceled here. Payment codes are in `barcode.rs`, notifications in
//! `notify.rs`, refunds in `refunds.rs`.
//!
//! Invariant: the attempt's id is the `out_trade_no` WeChat Pay receives, committed before
//! the first call and reused on every later one (WeChat answers a repeated order under the
//! same `out_trade_no` with the same order). A lost answer is resolved under that
//! reference, never by a new one.
//!
//! WeChat Pay takes CNY only, in fen (Payrail's minor units, sent unchanged), and has no
//! separate capture: a paid order is a captured payment.

mod barcode;
mod browser;
mod notify;
mod refunds;

pub(crate) use barcode::is_wechat_payment_code;

use payrail_channels::ChannelError;
use payrail_channels::wechatpay::{Fen, OrderRequest, TradeState, Transaction, WechatPayClient};
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

/// WeChat Pay's name in attempts and notification paths.
pub const WECHATPAY_CHANNEL: &str = "wechatpay";
/// WeChat's refusal to close an order that was paid.
const ORDER_PAID: &str = "ORDERPAID";
/// WeChat's answer for an order it never placed.
const ORDER_NOT_EXIST: &str = "ORDER_NOT_EXIST";
/// The longest order description Payrail sends (WeChat takes 127 characters).
const DESCRIPTION_CHARS_MAX: usize = 127;

/// A WeChat Pay merchant (the platform's of a mode, or a merchant's channel account), and
/// where WeChat Pay sends its notifications.
#[derive(Clone)]
pub(crate) struct WechatPayAccount {
    pub(crate) client: WechatPayClient,
    pub(crate) notify_url: String,
    /// `None`: the platform's merchant of the mode.
    pub(crate) account_id: Option<ChannelAccountId>,
}

/// Whether WeChat Pay can take `payment`: a positive CNY amount (its fen), captured at once.
pub(crate) fn wechatpay_accepts(payment: &Payment) -> Result<Fen, Problem> {
    let fen = Fen::parse(payment.amounts_money()).map_err(|_| {
        Problem::invalid_request("currency_unsupported", "wechat pay payments must be in cny").with_param("currency")
    })?;
    if payment.capture_method == CaptureMethod::Manual {
        let message = "wechat pay payments are captured automatically; capture_method must be automatic";
        return Err(Problem::invalid_request("parameter_invalid", message).with_param("capture_method"));
    }
    Ok(fen)
}

impl Payrail {
    /// The platform's WeChat Pay merchant of `mode`.
    pub(crate) fn wechatpay_account(&self, mode: Mode) -> Result<&WechatPayAccount, ServiceError> {
        let account = match mode {
            Mode::Test => self.channels.wechatpay_test.as_ref(),
            Mode::Live => self.channels.wechatpay_live.as_ref(),
        };
        account.ok_or_else(|| {
            let message = format!("wechat pay payments are not configured for {} mode", mode.as_str());
            Problem::invalid_request("payment_method_unavailable", message).with_param("payment_method").into()
        })
    }

    /// The account and amount for charging `target` with `method`, checked before anything
    /// is written: the merchant's account chosen on the payment or routed to, else the
    /// platform's merchant of the caller's mode.
    pub(crate) async fn wechatpay_charge_of(
        &self,
        caller: &Caller,
        target: &ChargeTarget,
        method: PaymentMethodType,
    ) -> Result<(WechatPayAccount, Fen), ServiceError> {
        let payment = self.payment_to_charge(caller, target).await?;
        let fen = wechatpay_accepts(&payment)?;
        let account = match self.account_for_payment(caller, &payment, method).await? {
            None => self.wechatpay_account(caller.mode)?.clone(),
            Some((id, ChannelClient::Wechatpay(client))) => self.merchant_wechatpay(id, client),
            Some((id, _)) => return Err(anyhow::anyhow!("channel account {id} is not wechat pay").into()),
        };
        Ok((account, fen))
    }

    /// The merchant an attempt was charged through.
    pub(crate) async fn wechatpay_for_attempt(
        &self,
        mode: Mode,
        account_id: Option<&ChannelAccountId>,
    ) -> Result<WechatPayAccount, ServiceError> {
        match account_id {
            None => Ok(self.wechatpay_account(mode)?.clone()),
            Some(id) => match self.client_of_account(id).await? {
                ChannelClient::Wechatpay(client) => Ok(self.merchant_wechatpay(id.clone(), client)),
                _ => Err(anyhow::anyhow!("channel account {id} is not wechat pay").into()),
            },
        }
    }

    fn merchant_wechatpay(&self, id: ChannelAccountId, client: WechatPayClient) -> WechatPayAccount {
        let notify_url = format!("{}/notify/{WECHATPAY_CHANNEL}/{id}", self.public_base_url());
        WechatPayAccount { client, notify_url, account_id: Some(id) }
    }

    /// Confirms a payment with a WeChat Pay QR code: the attempt is committed, WeChat Pay
    /// is asked for the order's `code_url`, and the payment waits for the payer in
    /// `requires_action`.
    pub(crate) async fn charge_wechat_native(
        &self,
        caller: &Caller,
        target: ChargeTarget,
    ) -> Result<Payment, ServiceError> {
        let (account, fen) = self.wechatpay_charge_of(caller, &target, PaymentMethodType::WechatNative).await?;
        let now = self.clock.now();
        let attempt_id = AttemptId::generate(now, id_random(now));
        let (attach, account_id) = (Attach::WechatNative, account.account_id.clone());
        let payment = self.start_attempt_through(caller, target, attach, &attempt_id, account_id).await?;
        let result = self.place_native_order(&account, &payment, fen, &attempt_id).await;
        self.finish_attempt(Some(caller), &payment.id, &attempt_id, result).await
    }

    /// Places the native order; a lost answer is asked for once more under the same
    /// `out_trade_no`, which WeChat answers with the same order.
    async fn place_native_order(
        &self,
        account: &WechatPayAccount,
        payment: &Payment,
        fen: Fen,
        attempt_id: &AttemptId,
    ) -> AttemptResult {
        let order = order_request(account, payment, fen, attempt_id);
        let place = || retrying_transient(|| account.client.native(&order));
        let answer = match place().await {
            Err(error) if error.outcome_is_unknown() => place().await,
            other => other,
        };
        self.native_result(payment, attempt_id, answer)
    }

    fn native_result(
        &self,
        payment: &Payment,
        attempt_id: &AttemptId,
        answer: Result<String, ChannelError>,
    ) -> AttemptResult {
        let image_url_svg = format!("{}/qr/{attempt_id}.svg", self.public_base_url());
        let action = answer.map(|code_url| NextAction::WechatDisplayQrCode { data: code_url, image_url_svg });
        order_result(payment, attempt_id, action)
    }

    /// What WeChat Pay says of an attempt: paid, closed or failed, or (for an attempt whose
    /// order answer was lost) the order placed again under the same reference.
    pub(crate) async fn query_wechatpay_attempt(
        &self,
        mode: Mode,
        payment: &Payment,
        attempt: &StoredAttempt,
    ) -> Result<AttemptResult, ServiceError> {
        let account = self.wechatpay_for_attempt(mode, attempt.channel_account_id.as_ref()).await?;
        if payment.payment_method_type == Some(PaymentMethodType::WechatBarcode) {
            return Ok(self.resolve_wechat_barcode_attempt(&account, payment, attempt).await);
        }
        let transaction = match account.client.query(attempt.id.as_str()).await {
            Ok(transaction) => transaction,
            // Still unknown for an attempt whose order was lost; a waiting QR code stays.
            Err(_) if payment.status == PaymentStatus::Processing => return Ok(AttemptResult::Unknown),
            Err(_) => return Ok(AttemptResult::Unchanged),
        };
        Ok(match transaction.as_ref().map(|transaction| ended_result(transaction, attempt.amount_minor)) {
            Some(Some(ended)) => ended,
            // Waiting for the payer, or never placed: only a lost order needs placing again.
            _ if payment.status == PaymentStatus::Processing
                && payment.payment_method_type == Some(PaymentMethodType::WechatNative) =>
            {
                let fen = wechatpay_accepts(payment)?;
                self.place_native_order(&account, payment, fen, &attempt.id).await
            }
            // A JSAPI or H5 order whose answer was lost: the payer never got it, and the
            // payer's details are not kept to place it again.
            None if payment.status == PaymentStatus::Processing => {
                AttemptResult::Failed { problem: wechatpay_problem(), decline_code: Some(ORDER_NOT_EXIST.to_owned()) }
            }
            _ => AttemptResult::Unchanged,
        })
    }

    /// Closes the order of a payment waiting on its WeChat Pay QR code before the payment
    /// is canceled here. Returns whether the payment may be canceled now: an order WeChat
    /// refuses to close because it was paid (`ORDERPAID`) makes the payment succeed by
    /// query instead; any other failure is logged and answered `false`.
    pub(crate) async fn closed_at_wechatpay_first(&self, payment: &Payment) -> Result<bool, ServiceError> {
        let id = &payment.id;
        let mode = if payment.livemode { Mode::Live } else { Mode::Test };
        let attempt = self.latest_attempt_record(id).await?;
        let Ok(account) = self.wechatpay_for_attempt(mode, attempt.channel_account_id.as_ref()).await else {
            // WeChat Pay is no longer configured: nothing can be closed, nor paid through Payrail.
            return Ok(true);
        };
        match account.client.close(attempt.id.as_str()).await {
            Ok(()) => Ok(true),
            // Never placed: nothing to pay, and WeChat was told the same expiry anyway.
            Err(error) if error.code() == Some(ORDER_NOT_EXIST) => Ok(true),
            Err(error) if error.code() == Some(ORDER_PAID) => {
                let resolved = self.resolve_latest_attempt(id).await?;
                tracing::info!(payment_id = %id, status = resolved.status.as_str(), "an order being closed was paid at wechat pay");
                Ok(false)
            }
            Err(error) => {
                tracing::warn!(payment_id = %id, %error, "could not close an order at wechat pay");
                Ok(false)
            }
        }
    }
}

/// The order an attempt places: the attempt's id as `out_trade_no`, the payment's expiry
/// as `time_expire`, the account's notification path.
fn order_request(account: &WechatPayAccount, payment: &Payment, fen: Fen, attempt_id: &AttemptId) -> OrderRequest {
    OrderRequest {
        out_trade_no: attempt_id.to_string(),
        description: description(payment),
        amount: fen,
        notify_url: account.notify_url.clone(),
        time_expire: Some(payment.expires_at),
        attach: None,
    }
}

/// A placed order's next action, or why it could not be placed.
fn order_result(payment: &Payment, attempt_id: &AttemptId, answer: Result<NextAction, ChannelError>) -> AttemptResult {
    match answer {
        Ok(action) => AttemptResult::RequiresAction(action),
        Err(error) if error.outcome_is_unknown() => AttemptResult::Unknown,
        Err(error) => {
            tracing::warn!(payment_id = %payment.id, attempt_id = %attempt_id, %error, "wechat pay refused an order");
            AttemptResult::Failed { problem: wechatpay_problem(), decline_code: error.code().map(str::to_owned) }
        }
    }
}

/// How an order that has ended ended, or `None` while it may still be paid.
fn ended_result(transaction: &Transaction, amount_minor: i64) -> Option<AttemptResult> {
    match transaction.trade_state {
        TradeState::Success | TradeState::Refund => Some(paid_result(transaction, amount_minor)),
        TradeState::Closed | TradeState::Revoked | TradeState::PayError => Some(AttemptResult::Failed {
            problem: wechatpay_problem(),
            decline_code: Some(transaction.trade_state.as_str().to_owned()),
        }),
        TradeState::NotPay | TradeState::UserPaying => None,
    }
}

/// A paid order found by query: the payment succeeds, unless the amount differs from the
/// attempt's, which a person must look at.
fn paid_result(transaction: &Transaction, amount_minor: i64) -> AttemptResult {
    if transaction.amount_total_minor != Some(amount_minor) {
        tracing::error!(
            out_trade_no = transaction.out_trade_no,
            transaction_id = transaction.transaction_id,
            "wechat pay reports a paid order whose amount differs from the attempt; nothing was changed"
        );
        return AttemptResult::Unchanged;
    }
    let reference = transaction.transaction_id.clone().unwrap_or_default();
    AttemptResult::wallet_paid(reference, transaction.payer_total_minor)
}

/// The order's description as WeChat shows it to the payer.
fn description(payment: &Payment) -> String {
    let text = payment.description.as_ref().map_or(payment.merchant_order_no.as_str(), |d| d.as_str());
    text.chars().take(DESCRIPTION_CHARS_MAX).collect()
}

fn wechatpay_problem() -> Problem {
    let message = "wechat pay could not process the payment; try again";
    Problem { error_type: ErrorType::Card, ..Problem::invalid_request("processing_error", message).with_status(402) }
}
