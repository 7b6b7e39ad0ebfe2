//! What the Alipay client takes and gives back: amounts as [`Money`] in CNY minor units,
//! times as [`Timestamp`], outcomes as enums the caller must branch on.

use payrail_domain::{Money, Timestamp};

/// `alipay.trade.precreate`: a QR code the buyer scans.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrecreateRequest {
    /// The attempt's reference, the same on every retry (at most 64 characters).
    pub out_trade_no: String,
    /// CNY only.
    pub amount: Money,
    pub subject: String,
    pub notify_url: Option<String>,
    /// When Alipay stops accepting payment; ours or earlier.
    pub time_expire: Option<Timestamp>,
}

/// The answer to a precreate: the content to render as a QR code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Precreated {
    pub out_trade_no: String,
    pub qr_code: String,
}

/// `alipay.trade.pay` with `scene=bar_code`: the cashier scanned the payer's code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BarcodePayRequest {
    pub out_trade_no: String,
    /// CNY only.
    pub amount: Money,
    pub subject: String,
    /// The payer's payment code as scanned.
    pub auth_code: String,
    pub notify_url: Option<String>,
    pub time_expire: Option<Timestamp>,
}

/// How a barcode payment went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PayOutcome {
    /// The payer paid.
    Paid(Trade),
    /// `10003`: Alipay waits for the payer (a password, a confirmation). Query with the
    /// same `out_trade_no` until it ends; cancel when waiting longer is not acceptable.
    UserPaying { out_trade_no: String, trade_no: Option<String> },
    /// `40004`: Alipay refused this request; nothing was charged by it. `sub_code` is
    /// Alipay's reason (`ACQ.PAYMENT_AUTH_CODE_INVALID`, `ACQ.BUYER_BALANCE_NOT_ENOUGH`,
    /// …), kept for support. One reason is not a failure of the payment:
    /// `ACQ.TRADE_HAS_SUCCESS` says an earlier request under the same `out_trade_no` was
    /// paid (a retry after a timeout), so the caller must query it.
    Failed { sub_code: String, sub_msg: String },
}

/// Where a trade is, as `trade_status` says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TradeStatus {
    WaitBuyerPay,
    /// Unpaid and closed (expired, cancelled), or fully refunded.
    Closed,
    /// Paid, still refundable.
    Success,
    /// Paid, no longer refundable.
    Finished,
}

impl TradeStatus {
    /// Reads Alipay's `trade_status`.
    pub fn parse(text: &str) -> Option<TradeStatus> {
        match text {
            "WAIT_BUYER_PAY" => Some(TradeStatus::WaitBuyerPay),
            "TRADE_CLOSED" => Some(TradeStatus::Closed),
            "TRADE_SUCCESS" => Some(TradeStatus::Success),
            "TRADE_FINISHED" => Some(TradeStatus::Finished),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            TradeStatus::WaitBuyerPay => "WAIT_BUYER_PAY",
            TradeStatus::Closed => "TRADE_CLOSED",
            TradeStatus::Success => "TRADE_SUCCESS",
            TradeStatus::Finished => "TRADE_FINISHED",
        }
    }

    /// Whether the payer paid (refunds may have followed).
    pub fn is_paid(self) -> bool {
        matches!(self, TradeStatus::Success | TradeStatus::Finished)
    }
}

/// A trade as Alipay reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trade {
    pub out_trade_no: String,
    pub trade_no: String,
    pub status: TradeStatus,
    pub total_amount: Money,
    /// What the payer paid from their own funds (coupons excluded), when reported.
    pub buyer_pay_amount: Option<Money>,
    pub paid_at: Option<Timestamp>,
}

/// `alipay.trade.refund`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundRequest {
    pub out_trade_no: String,
    /// The refund's reference, the same on every retry.
    pub out_request_no: String,
    /// CNY only.
    pub amount: Money,
    pub reason: Option<String>,
}

/// The answer to a refund.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refunded {
    pub out_trade_no: String,
    pub trade_no: String,
    /// Everything refunded on the trade so far, this refund included.
    pub refund_fee_total: Money,
    /// `fund_change`: whether this call moved money; `false` when it repeated a refund
    /// already made under the same `out_request_no`.
    pub fund_change: bool,
}

/// A refund as `alipay.trade.fastpay.refund.query` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundRecord {
    pub out_trade_no: String,
    pub out_request_no: String,
    pub refund_amount: Money,
}

/// What `alipay.trade.cancel` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CancelOutcome {
    /// The unpaid trade was closed.
    Closed,
    /// The paid trade was refunded in full and closed.
    Refunded,
    /// Alipay has no trade under the reference: nothing to cancel.
    NotFound,
}

/// What `alipay.trade.close` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseOutcome {
    Closed,
    /// Alipay has no trade under the reference (for a precreated trade: the buyer never
    /// scanned it).
    NotFound,
}

/// `alipay.trade.page.pay` (desktop cashier) or `alipay.trade.wap.pay` (mobile cashier):
/// a signed URL the buyer's browser is sent to. No server call is made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedirectPayRequest {
    pub out_trade_no: String,
    /// CNY only.
    pub amount: Money,
    pub subject: String,
    pub return_url: Option<String>,
    pub notify_url: Option<String>,
    pub time_expire: Option<Timestamp>,
}
