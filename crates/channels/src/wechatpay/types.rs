//! What the WeChat Pay client takes and gives back, free of wire details: orders in fen,
//! trades and refunds with their states as enums.

use payrail_domain::payment_record::JsapiParameters;
use payrail_domain::{Money, Timestamp};

/// A positive amount of CNY in fen, the only unit and currency WeChat Pay takes here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fen(i64);

/// Why an amount cannot be sent to WeChat Pay.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AmountRefused {
    #[error("WeChat Pay accepts CNY only, not {0}")]
    Currency(&'static str),
    #[error("the amount must be at least 1 fen")]
    NotPositive,
}

impl Fen {
    /// The amount of `money` in fen, if it is a positive CNY amount.
    pub fn parse(money: Money) -> Result<Fen, AmountRefused> {
        let code = money.currency().code();
        if code != "CNY" {
            return Err(AmountRefused::Currency(code));
        }
        if money.amount_minor() < 1 {
            return Err(AmountRefused::NotPositive);
        }
        Ok(Fen(money.amount_minor()))
    }

    pub fn amount_minor(self) -> i64 {
        self.0
    }
}

/// An order to place (native, JSAPI or H5). `out_trade_no` is Payrail's attempt id, the
/// same on every retry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderRequest {
    pub out_trade_no: String,
    pub description: String,
    pub amount: Fen,
    /// Where WeChat Pay posts the result: HTTPS, without a query string.
    pub notify_url: String,
    /// When the order stops being payable; sent as RFC 3339 in Beijing time.
    pub time_expire: Option<Timestamp>,
    pub attach: Option<String>,
}

/// A JSAPI order: its prepay id, and the parameters the page hands to the WeChat JS bridge
/// (`WeixinJSBridge.invoke('getBrandWCPayRequest', …)`), signed with the merchant key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsapiOrder {
    pub prepay_id: String,
    pub bridge: JsapiParameters,
}

/// A trade's state as WeChat Pay reports it (`trade_state`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TradeState {
    /// `NOTPAY`: placed, not paid yet.
    NotPay,
    /// `USERPAYING`: payment code only; the payer is confirming (a password, say).
    UserPaying,
    Success,
    /// `REFUND`: paid, and a refund was made.
    Refund,
    Closed,
    /// `REVOKED`: payment code only; reversed.
    Revoked,
    /// `PAYERROR`: the payment failed (a bank refused it, say).
    PayError,
}

impl TradeState {
    pub fn parse(text: &str) -> Option<TradeState> {
        Some(match text {
            "NOTPAY" => TradeState::NotPay,
            "USERPAYING" => TradeState::UserPaying,
            "SUCCESS" => TradeState::Success,
            "REFUND" => TradeState::Refund,
            "CLOSED" => TradeState::Closed,
            "REVOKED" => TradeState::Revoked,
            "PAYERROR" => TradeState::PayError,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            TradeState::NotPay => "NOTPAY",
            TradeState::UserPaying => "USERPAYING",
            TradeState::Success => "SUCCESS",
            TradeState::Refund => "REFUND",
            TradeState::Closed => "CLOSED",
            TradeState::Revoked => "REVOKED",
            TradeState::PayError => "PAYERROR",
        }
    }
}

/// A trade as WeChat Pay reports it, by query or notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transaction {
    pub appid: String,
    pub mchid: String,
    pub out_trade_no: String,
    /// WeChat's own id; absent until something was paid.
    pub transaction_id: Option<String>,
    pub trade_type: Option<String>,
    pub trade_state: TradeState,
    pub trade_state_desc: Option<String>,
    pub success_time: Option<Timestamp>,
    /// The order amount, in fen.
    pub amount_total_minor: Option<i64>,
    /// What the payer paid, in fen (less than the total when a coupon paid the rest).
    pub payer_total_minor: Option<i64>,
    pub payer_openid: Option<String>,
}

/// A refund to ask for. `out_refund_no` is Payrail's refund id, the same on every retry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundRequest {
    pub out_trade_no: String,
    pub out_refund_no: String,
    pub reason: Option<String>,
    pub refund: Fen,
    /// The original order's total, which WeChat Pay requires and checks.
    pub total: Fen,
    pub notify_url: Option<String>,
}

/// A refund's state (`status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefundStatus {
    Processing,
    Success,
    Closed,
    /// `ABNORMAL`: the money could not reach the payer (a closed card); needs a person.
    Abnormal,
}

impl RefundStatus {
    pub fn parse(text: &str) -> Option<RefundStatus> {
        Some(match text {
            "PROCESSING" => RefundStatus::Processing,
            "SUCCESS" => RefundStatus::Success,
            "CLOSED" => RefundStatus::Closed,
            "ABNORMAL" => RefundStatus::Abnormal,
            _ => return None,
        })
    }
}

/// A refund as WeChat Pay reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refund {
    pub refund_id: String,
    pub out_refund_no: String,
    pub out_trade_no: String,
    pub transaction_id: Option<String>,
    pub status: RefundStatus,
    pub refund_minor: i64,
    pub total_minor: i64,
    pub success_time: Option<Timestamp>,
}
