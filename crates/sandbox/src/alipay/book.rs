//! The simulated Alipay's memory: trades by `trade_no` and by (app, `out_trade_no`), and the
//! rules of precreate, pay, query, close and cancel (refunds are in `refunds.rs`). No HTTP
//! here; the gateway parses, calls one rule under the lock, signs the answer.
//!
//! Invariant: refunds of a trade never add up to more than its `total_amount`; a trade is
//! `TRADE_CLOSED` once they equal it.

use std::collections::HashMap;

use payrail_domain::Timestamp;
use serde_json::{Map, Value, json};

use super::answer::{Refusal, success, with_code};
use super::codes::{self, CodeOutcome};
use super::notify::Notice;
use super::params::{Biz, yuan};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Status {
    WaitBuyerPay,
    Success,
    Closed,
    /// Paid and no longer refundable.
    Finished,
}

impl Status {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Status::WaitBuyerPay => "WAIT_BUYER_PAY",
            Status::Success => "TRADE_SUCCESS",
            Status::Closed => "TRADE_CLOSED",
            Status::Finished => "TRADE_FINISHED",
        }
    }
}

pub(crate) struct Refund {
    pub(crate) out_request_no: String,
    pub(crate) amount_minor: i64,
    pub(crate) at: Timestamp,
}

pub(crate) struct Trade {
    pub(crate) app_id: String,
    pub(crate) out_trade_no: String,
    pub(crate) trade_no: String,
    pub(crate) subject: String,
    pub(crate) total_minor: i64,
    pub(crate) status: Status,
    /// Whether Alipay knows the trade yet: a precreated one only once the buyer scanned
    /// its QR code, as in production (queries before that answer `ACQ.TRADE_NOT_EXIST`).
    pub(crate) scanned: bool,
    /// For a payment code that pays after some queries: how many are still to come.
    pub(crate) queries_until_paid: Option<u32>,
    pub(crate) notify_url: Option<String>,
    pub(crate) return_url: Option<String>,
    pub(crate) created_at: Timestamp,
    pub(crate) paid_at: Option<Timestamp>,
    pub(crate) refunds: Vec<Refund>,
    /// What an Alipay-funded voucher paid of it (the buyer page's coupon button); the
    /// payer paid the rest, and the merchant still receives the whole amount.
    pub(crate) coupon_minor: i64,
}

/// The sandbox voucher the buyer page offers: ¥1.00, funded by Alipay.
pub const COUPON_MINOR: i64 = 100;

impl Trade {
    /// What the payer paid of their own: the total less any voucher.
    pub(crate) fn payer_paid_minor(&self) -> i64 {
        self.total_minor - self.coupon_minor
    }

    /// Where the money came from, as `fund_bill_list` names the channels: the payer's
    /// balance, and the voucher (`DISCOUNT`) if one paid a part.
    pub(crate) fn fund_bills(&self) -> Vec<(&'static str, String)> {
        let mut bills = vec![("ALIPAYACCOUNT", format_yuan(self.payer_paid_minor()))];
        if self.coupon_minor > 0 {
            bills.push(("DISCOUNT", format_yuan(self.coupon_minor)));
        }
        bills
    }

    pub(crate) fn refunded_minor(&self) -> i64 {
        self.refunds.iter().map(|refund| refund.amount_minor).sum()
    }
}

/// What a rule answers: the success fields, and a notification to send, if any.
pub(crate) struct Outcome {
    pub(crate) fields: Map<String, Value>,
    pub(crate) notice: Option<Notice>,
}

impl Outcome {
    fn quiet(fields: Map<String, Value>) -> Outcome {
        Outcome { fields, notice: None }
    }
}

pub(crate) type Ruled = Result<Outcome, Refusal>;

pub(crate) struct Book {
    pub(crate) trades: HashMap<String, Trade>,
    by_reference: HashMap<(String, String), String>,
    trades_issued: u64,
    /// Trades plus refunds kept before new ones are refused.
    objects_max: usize,
    pub(crate) objects: usize,
}

impl Book {
    pub(crate) fn new(objects_max: usize) -> Book {
        Book { trades: HashMap::new(), by_reference: HashMap::new(), trades_issued: 0, objects_max, objects: 0 }
    }

    /// `alipay.trade.precreate` (and the page flows, `scanned` set): a new unpaid trade.
    pub(crate) fn create(&mut self, app_id: &str, biz: &Biz, now: Timestamp, scanned: bool) -> Result<&Trade, Refusal> {
        let out_trade_no = biz.required("out_trade_no")?;
        if let Some(status) = self.find(app_id, out_trade_no).map(|trade| trade.status) {
            return match status {
                Status::Success | Status::Finished => Err(Refusal::business("ACQ.TRADE_HAS_SUCCESS", "交易已被支付")),
                Status::Closed => Err(Refusal::business("ACQ.TRADE_HAS_CLOSE", "交易已经关闭")),
                // A repeat of the request that created it: the same trade again.
                Status::WaitBuyerPay => self.find(app_id, out_trade_no).ok_or_else(Refusal::trade_not_exist),
            };
        }
        let total_minor = yuan(biz.required("total_amount")?).ok_or_else(|| Refusal::parameter("total_amount"))?;
        let subject = biz.required("subject")?.to_owned();
        let trade = self.insert(app_id, out_trade_no, subject, total_minor, now)?;
        trade.scanned = scanned;
        trade.notify_url = biz.notify_url.clone();
        trade.return_url = biz.return_url.clone();
        Ok(trade)
    }

    /// `alipay.trade.pay`: charges a payment code; the code decides the outcome.
    pub(crate) fn pay(&mut self, app_id: &str, biz: &Biz, now: Timestamp) -> Ruled {
        let auth_code = biz.required("auth_code")?;
        let outcome = codes::outcome(auth_code);
        match outcome {
            CodeOutcome::Invalid => {
                return Err(Refusal::business("ACQ.PAYMENT_AUTH_CODE_INVALID", "支付失败，获取顾客账户信息失败"));
            }
            CodeOutcome::BalanceNotEnough => {
                return Err(Refusal::business("ACQ.BUYER_BALANCE_NOT_ENOUGH", "买家余额不足"));
            }
            CodeOutcome::Paid | CodeOutcome::Paying(_) => {}
        }
        let trade_no = self.create(app_id, biz, now, true)?.trade_no.clone();
        let trade = self.trade_mut(&trade_no)?;
        if let CodeOutcome::Paying(queries) = outcome {
            trade.queries_until_paid = queries;
            let fields = json!({"trade_no": trade.trade_no, "out_trade_no": trade.out_trade_no});
            return Ok(Outcome::quiet(with_code("10003", " order success pay inprocess", object(fields))));
        }
        let notice = mark_paid(trade, now);
        Ok(Outcome { fields: success(paid_fields(trade)), notice })
    }

    /// `alipay.trade.query`. Counts down a paying-then-paid payment code.
    pub(crate) fn query(&mut self, app_id: &str, biz: &Biz, now: Timestamp) -> Ruled {
        let trade_no = self.referenced(app_id, biz)?;
        let trade = self.trade_mut(&trade_no)?;
        let mut notice = None;
        if trade.status == Status::WaitBuyerPay
            && let Some(left) = trade.queries_until_paid
        {
            trade.queries_until_paid = Some(left.saturating_sub(1));
            if left <= 1 {
                notice = mark_paid(trade, now);
            }
        }
        let mut fields = object(json!({
            "trade_no": trade.trade_no,
            "out_trade_no": trade.out_trade_no,
            "buyer_logon_id": "sandbox***@payrail.test",
            "trade_status": trade.status.as_str(),
            "total_amount": format_yuan(trade.total_minor),
        }));
        if let Some(paid_at) = trade.paid_at {
            fields.extend(object(json!({
                "buyer_pay_amount": format_yuan(trade.payer_paid_minor()),
                "receipt_amount": format_yuan(trade.total_minor),
                "invoice_amount": format_yuan(trade.payer_paid_minor()),
                "fund_bill_list": fund_bill_objects(trade),
                "send_pay_date": payrail_domain::decimal::format_beijing(paid_at),
                "buyer_user_id": BUYER_USER_ID,
            })));
        }
        Ok(Outcome { fields: success(fields), notice })
    }

    /// `alipay.trade.close`: only an unpaid trade.
    pub(crate) fn close(&mut self, app_id: &str, biz: &Biz) -> Ruled {
        let trade_no = self.referenced(app_id, biz)?;
        let trade = self.trade_mut(&trade_no)?;
        if matches!(trade.status, Status::Success | Status::Finished) {
            return Err(Refusal::business("ACQ.TRADE_STATUS_ERROR", "交易状态不合法"));
        }
        trade.status = Status::Closed;
        Ok(Outcome::quiet(success(object(json!({"trade_no": trade.trade_no, "out_trade_no": trade.out_trade_no})))))
    }

    /// `alipay.trade.cancel`: closes an unpaid trade, refunds a paid one in full. Unlike
    /// close, it also reaches a precreated trade nobody scanned. The trade is named by
    /// `trade_no` or `out_trade_no` (`trade_no` wins), as for every other trade method.
    /// A trade Alipay does not know is answered with success and no `action` (the
    /// documented "action: returned when the trade exists").
    pub(crate) fn cancel(&mut self, app_id: &str, biz: &Biz, now: Timestamp) -> Ruled {
        let found = match biz.optional("trade_no") {
            Some(trade_no) => self.trades.get(trade_no).filter(|trade| trade.app_id == app_id),
            None => self.find(app_id, biz.required("out_trade_no")?),
        };
        let Some(trade_no) = found.map(|trade| trade.trade_no.clone()) else {
            let unknown = match biz.optional("trade_no") {
                Some(trade_no) => json!({"trade_no": trade_no, "retry_flag": "N"}),
                None => json!({"out_trade_no": biz.optional("out_trade_no"), "retry_flag": "N"}),
            };
            return Ok(Outcome::quiet(success(object(unknown))));
        };
        let trade = self.trade_mut(&trade_no)?;
        if trade.status == Status::Finished {
            return Err(Refusal::business("ACQ.TRADE_HAS_FINISHED", "交易已完结"));
        }
        let action = if trade.status == Status::Success { "refund" } else { "close" };
        if trade.status == Status::Success {
            let amount_minor = trade.total_minor - trade.refunded_minor();
            trade.refunds.push(Refund { out_request_no: format!("cancel-{trade_no}"), amount_minor, at: now });
        }
        trade.status = Status::Closed;
        let fields = json!({"trade_no": trade.trade_no, "out_trade_no": trade.out_trade_no, "retry_flag": "N", "action": action});
        Ok(Outcome::quiet(success(object(fields))))
    }

    /// The buyer (or the control route) pays an unpaid trade.
    pub(crate) fn buyer_pays(
        &mut self,
        trade_no: &str,
        with_coupon: bool,
        now: Timestamp,
    ) -> Result<Option<Notice>, Refusal> {
        let trade = self.trade_mut(trade_no)?;
        match trade.status {
            Status::WaitBuyerPay => {
                if with_coupon && trade.total_minor > COUPON_MINOR {
                    trade.coupon_minor = COUPON_MINOR;
                }
                Ok(mark_paid(trade, now))
            }
            Status::Success | Status::Finished => Err(Refusal::business("ACQ.TRADE_HAS_SUCCESS", "交易已被支付")),
            Status::Closed => Err(Refusal::business("ACQ.TRADE_HAS_CLOSE", "交易已经关闭")),
        }
    }

    /// The refund period of a paid trade ends (in production, months after payment):
    /// `TRADE_FINISHED`, notified.
    pub(crate) fn finish(&mut self, trade_no: &str, now: Timestamp) -> Result<Option<Notice>, Refusal> {
        let trade = self.trade_mut(trade_no)?;
        if trade.status != Status::Success {
            return Err(Refusal::business("ACQ.TRADE_STATUS_ERROR", "交易状态不合法"));
        }
        trade.status = Status::Finished;
        Ok(Notice::for_trade(trade, now))
    }

    /// The buyer declines: the unpaid trade closes.
    pub(crate) fn buyer_declines(&mut self, trade_no: &str) -> Result<(), Refusal> {
        let trade = self.trade_mut(trade_no)?;
        if trade.status != Status::WaitBuyerPay {
            return Err(Refusal::business("ACQ.TRADE_STATUS_ERROR", "交易状态不合法"));
        }
        trade.status = Status::Closed;
        Ok(())
    }

    /// The trade a query, close or refund names (`trade_no` wins over `out_trade_no`), if
    /// Alipay knows it.
    pub(crate) fn referenced(&self, app_id: &str, biz: &Biz) -> Result<String, Refusal> {
        let trade = match biz.optional("trade_no") {
            Some(trade_no) => self.trades.get(trade_no).filter(|trade| trade.app_id == app_id),
            None => self.find(app_id, biz.required("out_trade_no")?),
        };
        match trade {
            Some(trade) if trade.scanned => Ok(trade.trade_no.clone()),
            _ => Err(Refusal::trade_not_exist()),
        }
    }

    fn find(&self, app_id: &str, out_trade_no: &str) -> Option<&Trade> {
        let key = (app_id.to_owned(), out_trade_no.to_owned());
        self.by_reference.get(&key).and_then(|trade_no| self.trades.get(trade_no))
    }

    pub(crate) fn trade_mut(&mut self, trade_no: &str) -> Result<&mut Trade, Refusal> {
        self.trades.get_mut(trade_no).ok_or_else(Refusal::trade_not_exist)
    }

    /// Takes one object's room, or refuses when the memory is full.
    pub(crate) fn reserve(&mut self) -> Result<(), Refusal> {
        if self.objects >= self.objects_max {
            return Err(Refusal::capacity());
        }
        self.objects += 1;
        Ok(())
    }

    fn insert(
        &mut self,
        app_id: &str,
        out_trade_no: &str,
        subject: String,
        total_minor: i64,
        now: Timestamp,
    ) -> Result<&mut Trade, Refusal> {
        self.reserve()?;
        self.trades_issued += 1;
        let date = payrail_domain::decimal::format_beijing(now).replace(['-', ' ', ':'], "");
        let trade_no = format!("{}2200{:014}", &date[..8], self.trades_issued);
        let trade = Trade {
            app_id: app_id.to_owned(),
            out_trade_no: out_trade_no.to_owned(),
            trade_no: trade_no.clone(),
            subject,
            total_minor,
            status: Status::WaitBuyerPay,
            scanned: false,
            queries_until_paid: None,
            notify_url: None,
            return_url: None,
            created_at: now,
            paid_at: None,
            refunds: Vec::new(),
            coupon_minor: 0,
        };
        self.by_reference.insert((app_id.to_owned(), out_trade_no.to_owned()), trade_no.clone());
        Ok(self.trades.entry(trade_no).or_insert(trade))
    }
}

/// The sandbox buyer's Alipay user id.
pub(crate) const BUYER_USER_ID: &str = "2088000000000001";

fn mark_paid(trade: &mut Trade, now: Timestamp) -> Option<Notice> {
    trade.status = Status::Success;
    trade.scanned = true;
    trade.paid_at = Some(now);
    trade.queries_until_paid = None;
    Notice::for_trade(trade, now)
}

fn paid_fields(trade: &Trade) -> Map<String, Value> {
    let paid_at = trade.paid_at.map(payrail_domain::decimal::format_beijing).unwrap_or_default();
    object(json!({
        "trade_no": trade.trade_no,
        "out_trade_no": trade.out_trade_no,
        "buyer_logon_id": "sandbox***@payrail.test",
        "total_amount": format_yuan(trade.total_minor),
        "receipt_amount": format_yuan(trade.total_minor),
        "buyer_pay_amount": format_yuan(trade.payer_paid_minor()),
        "point_amount": "0.00",
        "invoice_amount": format_yuan(trade.payer_paid_minor()),
        "gmt_payment": paid_at,
        "fund_bill_list": fund_bill_objects(trade),
        "buyer_user_id": BUYER_USER_ID,
    }))
}

/// `fund_bill_list` as an API answer carries it (snake_case objects).
fn fund_bill_objects(trade: &Trade) -> Value {
    let bills =
        trade.fund_bills().into_iter().map(|(channel, amount)| json!({"fund_channel": channel, "amount": amount}));
    Value::Array(bills.collect())
}

/// Minor units of CNY as Alipay writes yuan: `"12.30"`.
pub(crate) fn format_yuan(minor: i64) -> String {
    format!("{}.{:02}", minor / 100, minor % 100)
}

pub(crate) fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(fields) => fields,
        _ => Map::new(),
    }
}
