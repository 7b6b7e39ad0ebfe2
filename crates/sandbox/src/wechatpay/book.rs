//! The simulator's memory: trades by (mchid, out_trade_no), refunds by (mchid,
//! out_refund_no), buyer-page tokens, and the rules that move trades between WeChat's
//! states. No HTTP here; a handler parses, calls one rule under the lock, answers.
//!
//! Invariant: for every trade, the refunds made never exceed its total.
//!
//! Invariant: at most `objects_max` trades and as many refunds are kept; beyond that a new
//! one is refused (503 `SYSTEM_ERROR`) and nothing is stored.

use std::collections::HashMap;

use axum::http::StatusCode;
use payrail_domain::Timestamp;

use super::error::ApiError;
use super::random::digits;

/// A trade's state, with WeChat's names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TradeState {
    NotPay,
    UserPaying,
    Success,
    Refund,
    Closed,
    Revoked,
    PayError,
}

impl TradeState {
    pub(crate) fn as_str(self) -> &'static str {
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

    fn is_paid(self) -> bool {
        matches!(self, TradeState::Success | TradeState::Refund)
    }
}

/// One trade.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Trade {
    pub(crate) mchid: String,
    pub(crate) appid: String,
    pub(crate) out_trade_no: String,
    /// `NATIVE`, `JSAPI`, `MWEB` (H5) or `MICROPAY`.
    pub(crate) trade_type: &'static str,
    pub(crate) description: String,
    pub(crate) total_fen: i64,
    pub(crate) notify_url: Option<String>,
    pub(crate) attach: Option<String>,
    pub(crate) payer_openid: Option<String>,
    pub(crate) state: TradeState,
    pub(crate) transaction_id: Option<String>,
    pub(crate) success_time: Option<Timestamp>,
    /// The buyer page's token (`pr=` of the code_url, or the prepay id).
    pub(crate) token: String,
    pub(crate) refunded_fen: i64,
    /// Payment-code queries answered so far (some test codes change on a later query).
    pub(crate) queries: u32,
    /// The payment code a payment-code trade was paid with; it decides the outcome.
    pub(crate) auth_code: Option<String>,
    /// `time_expire`: after it the order can no longer be paid (it stays `NOTPAY` until the
    /// merchant closes it).
    pub(crate) expires_at: Option<Timestamp>,
    /// What a WeChat-funded coupon paid of it (the buyer page's coupon button); the payer
    /// paid the rest (`payer_total`).
    pub(crate) coupon_fen: i64,
}

/// The sandbox coupon the buyer page offers: ¥1.00, funded by WeChat Pay.
pub const COUPON_FEN: i64 = 100;

impl Trade {
    /// Whether a repeated order request asks for the same thing (WeChat answers it with the
    /// stored result rather than refusing it).
    fn same_order(&self, other: &Trade) -> bool {
        self.appid == other.appid
            && self.trade_type == other.trade_type
            && self.description == other.description
            && self.total_fen == other.total_fen
            && self.notify_url == other.notify_url
    }
}

/// One refund.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RefundRecord {
    pub(crate) mchid: String,
    pub(crate) out_refund_no: String,
    pub(crate) refund_id: String,
    pub(crate) out_trade_no: String,
    pub(crate) transaction_id: Option<String>,
    pub(crate) refund_fen: i64,
    pub(crate) total_fen: i64,
    /// `PROCESSING` in the answer to the request, `SUCCESS` once settled (at once here).
    pub(crate) status: &'static str,
    pub(crate) created: Timestamp,
    pub(crate) success_time: Option<Timestamp>,
    pub(crate) notify_url: Option<String>,
}

/// What a refund request asks for.
pub(crate) struct RefundAsk {
    pub(crate) mchid: String,
    pub(crate) out_trade_no: String,
    pub(crate) out_refund_no: String,
    pub(crate) refund_fen: i64,
    pub(crate) total_fen: i64,
    pub(crate) notify_url: Option<String>,
}

type Key = (String, String);

pub(crate) struct Book {
    trades: HashMap<Key, Trade>,
    refunds: HashMap<Key, RefundRecord>,
    tokens: HashMap<String, Key>,
    /// (mchid, transaction_id) → out_trade_no, for the calls that name a paid trade by
    /// WeChat's number.
    transactions: HashMap<Key, String>,
    objects_max: usize,
}

impl Book {
    pub(crate) fn new(objects_max: usize) -> Book {
        let (trades, refunds, tokens, transactions) = (HashMap::new(), HashMap::new(), HashMap::new(), HashMap::new());
        Book { trades, refunds, tokens, transactions, objects_max }
    }

    /// The `out_trade_no` of the merchant's trade WeChat numbered `transaction_id`.
    pub(crate) fn out_trade_no_of(&self, mchid: &str, transaction_id: &str) -> Option<String> {
        self.transactions.get(&(mchid.to_owned(), transaction_id.to_owned())).cloned()
    }

    /// Places an order, or answers a repeat of it with the stored trade.
    pub(crate) fn place(&mut self, trade: Trade) -> Result<Trade, ApiError> {
        let key = (trade.mchid.clone(), trade.out_trade_no.clone());
        if let Some(existing) = self.trades.get(&key) {
            return match existing.state {
                state if state.is_paid() => Err(ApiError::order_paid()),
                TradeState::Closed | TradeState::Revoked => Err(ApiError::order_closed()),
                _ if existing.same_order(&trade) => Ok(existing.clone()),
                _ => Err(ApiError::new(StatusCode::FORBIDDEN, "OUT_TRADE_NO_USED", "商户订单号重复")),
            };
        }
        if self.trades.len() >= self.objects_max {
            return Err(ApiError::capacity());
        }
        self.tokens.insert(trade.token.clone(), key.clone());
        self.trades.insert(key, trade.clone());
        Ok(trade)
    }

    pub(crate) fn trade(&self, mchid: &str, out_trade_no: &str) -> Option<&Trade> {
        self.trades.get(&(mchid.to_owned(), out_trade_no.to_owned()))
    }

    pub(crate) fn trade_by_token(&self, token: &str) -> Option<&Trade> {
        self.tokens.get(token).and_then(|key| self.trades.get(key))
    }

    fn trade_mut(&mut self, mchid: &str, out_trade_no: &str) -> Result<&mut Trade, ApiError> {
        self.trades.get_mut(&(mchid.to_owned(), out_trade_no.to_owned())).ok_or_else(ApiError::order_not_exist)
    }

    /// Closes an unpaid trade; closing a closed trade again is answered the same way.
    pub(crate) fn close(&mut self, mchid: &str, out_trade_no: &str) -> Result<(), ApiError> {
        let trade = self.trade_mut(mchid, out_trade_no)?;
        if trade.state.is_paid() {
            return Err(ApiError::order_paid());
        }
        if trade.state != TradeState::Revoked {
            trade.state = TradeState::Closed;
        }
        Ok(())
    }

    /// Marks a trade paid now; only `NOTPAY` and `USERPAYING` trades not past their
    /// `time_expire` can be paid.
    pub(crate) fn pay(&mut self, mchid: &str, out_trade_no: &str, now: Timestamp) -> Result<Trade, ApiError> {
        self.pay_with(mchid, out_trade_no, 0, now)
    }

    /// As [`Book::pay`], a coupon of `coupon_fen` paying part (none if it is not less
    /// than the total).
    pub(crate) fn pay_with(
        &mut self,
        mchid: &str,
        out_trade_no: &str,
        coupon_fen: i64,
        now: Timestamp,
    ) -> Result<Trade, ApiError> {
        let trade = self.trade_mut(mchid, out_trade_no)?;
        if trade.expires_at.is_some_and(|expires_at| now > expires_at) {
            return Err(ApiError::new(StatusCode::BAD_REQUEST, "ORDER_CLOSED", "订单已过期，不能支付"));
        }
        match trade.state {
            TradeState::NotPay | TradeState::UserPaying => {
                let transaction_id = format!("4200{}", digits(24));
                trade.state = TradeState::Success;
                trade.coupon_fen = if coupon_fen < trade.total_fen { coupon_fen } else { 0 };
                trade.transaction_id = Some(transaction_id.clone());
                trade.success_time = Some(now);
                trade.payer_openid.get_or_insert_with(|| format!("oUpF8uMuAJO_M2pxb1Q9zNjWeS6o{}", digits(2)));
                let paid = trade.clone();
                self.transactions.insert((paid.mchid.clone(), transaction_id), paid.out_trade_no.clone());
                Ok(paid)
            }
            state if state.is_paid() => Err(ApiError::order_paid()),
            _ => Err(ApiError::order_closed()),
        }
    }

    /// Moves an unpaid trade to `state` (`PAYERROR` when the buyer declines, `USERPAYING`).
    pub(crate) fn set_unpaid_state(
        &mut self,
        mchid: &str,
        out_trade_no: &str,
        state: TradeState,
    ) -> Result<Trade, ApiError> {
        let trade = self.trade_mut(mchid, out_trade_no)?;
        if !matches!(trade.state, TradeState::NotPay | TradeState::UserPaying) {
            return Err(ApiError::new(StatusCode::BAD_REQUEST, "INVALID_REQUEST", "订单状态不允许此操作"));
        }
        trade.state = state;
        Ok(trade.clone())
    }

    /// Counts one payment-code query and returns the trade as it now is.
    pub(crate) fn count_query(&mut self, mchid: &str, out_trade_no: &str) -> Result<Trade, ApiError> {
        let trade = self.trade_mut(mchid, out_trade_no)?;
        trade.queries += 1;
        Ok(trade.clone())
    }

    /// Reverses a payment-code trade (refunding it in full if it was paid).
    pub(crate) fn revoke(&mut self, mchid: &str, out_trade_no: &str) -> Result<Trade, ApiError> {
        let trade = self.trade_mut(mchid, out_trade_no)?;
        trade.state = TradeState::Revoked;
        Ok(trade.clone())
    }

    /// Makes a refund, or answers a repeat of one with what is stored. The refund settles
    /// at once; the answer still says `PROCESSING`, as WeChat's does.
    pub(crate) fn refund(&mut self, ask: RefundAsk, now: Timestamp) -> Result<RefundRecord, ApiError> {
        let refund_key = (ask.mchid.clone(), ask.out_refund_no.clone());
        if let Some(existing) = self.refunds.get(&refund_key) {
            if existing.out_trade_no != ask.out_trade_no || existing.refund_fen != ask.refund_fen {
                return Err(ApiError::new(StatusCode::BAD_REQUEST, "INVALID_REQUEST", "退款单号已用于另一笔退款"));
            }
            return Ok(existing.clone());
        }
        if self.refunds.len() >= self.objects_max {
            return Err(ApiError::capacity());
        }
        let trade = self
            .trades
            .get_mut(&(ask.mchid.clone(), ask.out_trade_no.clone()))
            .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "RESOURCE_NOT_EXISTS", "订单不存在"))?;
        check_refundable(trade, &ask)?;
        trade.refunded_fen += ask.refund_fen;
        trade.state = TradeState::Refund;
        let record = RefundRecord {
            mchid: ask.mchid,
            out_refund_no: ask.out_refund_no,
            refund_id: format!("5030{}", digits(25)),
            out_trade_no: ask.out_trade_no,
            transaction_id: trade.transaction_id.clone(),
            refund_fen: ask.refund_fen,
            total_fen: ask.total_fen,
            status: "SUCCESS",
            created: now,
            success_time: Some(now),
            notify_url: ask.notify_url,
        };
        self.refunds.insert(refund_key, record.clone());
        Ok(RefundRecord { status: "PROCESSING", success_time: None, ..record })
    }

    pub(crate) fn refund_record(&self, mchid: &str, out_refund_no: &str) -> Option<&RefundRecord> {
        self.refunds.get(&(mchid.to_owned(), out_refund_no.to_owned()))
    }
}

/// A refund must be of a paid trade, name its total, and fit in what is left.
fn check_refundable(trade: &Trade, ask: &RefundAsk) -> Result<(), ApiError> {
    if !trade.state.is_paid() {
        return Err(ApiError::new(StatusCode::BAD_REQUEST, "INVALID_REQUEST", "订单未支付，不能退款"));
    }
    if ask.total_fen != trade.total_fen {
        return Err(ApiError::param("订单金额与原订单不一致"));
    }
    // Unverified against WeChat: its documented NOT_ENOUGH means the merchant's balance is
    // short, so a refund larger than what remains is refused as a business-rule error.
    let remaining = trade.total_fen - trade.refunded_fen;
    if ask.refund_fen < 1 || ask.refund_fen > remaining {
        return Err(ApiError::new(StatusCode::BAD_REQUEST, "INVALID_REQUEST", "申请退款金额超过订单可退金额"));
    }
    Ok(())
}
