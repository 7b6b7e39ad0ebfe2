//! Refunds: `alipay.trade.refund` (idempotent by `out_request_no`) and
//! `alipay.trade.fastpay.refund.query`.
//!
//! Invariant: one `out_request_no` names one refund of one trade forever. Sending it again
//! with the same amount answers the same refund with `fund_change: "N"`; with another
//! amount it is refused.

use payrail_domain::Timestamp;
use payrail_domain::decimal::format_beijing;
use serde_json::json;

use super::answer::{Refusal, success};
use super::book::{BUYER_USER_ID, Book, Outcome, Refund, Ruled, Status, Trade, format_yuan, object};
use super::notify::Notice;
use super::params::{Biz, yuan};

impl Book {
    /// `alipay.trade.refund`.
    pub(crate) fn refund(&mut self, app_id: &str, biz: &Biz, now: Timestamp) -> Ruled {
        let trade_no = self.referenced(app_id, biz)?;
        let amount_minor = yuan(biz.required("refund_amount")?).ok_or_else(|| Refusal::parameter("refund_amount"))?;
        // Alipay makes out_request_no optional for a full refund and then uses the trade's
        // number; the same here.
        let out_request_no = biz.optional("out_request_no").map_or_else(|| trade_no.clone(), str::to_owned);
        let repeated = self.trades.get(&trade_no).and_then(|trade| {
            trade
                .refunds
                .iter()
                .find(|refund| refund.out_request_no == out_request_no)
                .map(|refund| refund.amount_minor)
        });
        if let Some(earlier_minor) = repeated {
            if earlier_minor != amount_minor {
                return Err(Refusal::business("ACQ.REFUND_AMT_NOT_EQUAL_TOTAL", "退款金额与原退款请求不一致"));
            }
            let trade = self.trade_mut(&trade_no)?;
            return Ok(Outcome { fields: refund_fields(trade, "N", now), notice: None });
        }
        check_refundable(self.trade_mut(&trade_no)?, amount_minor)?;
        self.reserve()?;
        let trade = self.trade_mut(&trade_no)?;
        trade.refunds.push(Refund { out_request_no: out_request_no.clone(), amount_minor, at: now });
        let mut notice = None;
        if trade.refunded_minor() == trade.total_minor {
            trade.status = Status::Closed;
            notice = Notice::for_full_refund(trade, &out_request_no, now);
        }
        Ok(Outcome { fields: refund_fields(trade, "Y", now), notice })
    }

    /// `alipay.trade.fastpay.refund.query`: the refund's fields if it exists, otherwise a
    /// success without them (that is how Alipay says "no such refund").
    pub(crate) fn refund_query(&mut self, app_id: &str, biz: &Biz) -> Ruled {
        let trade_no = self.referenced(app_id, biz)?;
        let out_request_no = biz.required("out_request_no")?;
        let trade = self.trade_mut(&trade_no)?;
        let mut fields = object(json!({"trade_no": trade.trade_no, "out_trade_no": trade.out_trade_no}));
        if let Some(refund) = trade.refunds.iter().find(|refund| refund.out_request_no == out_request_no) {
            fields.extend(object(json!({
                "out_request_no": refund.out_request_no,
                "total_amount": format_yuan(trade.total_minor),
                "refund_amount": format_yuan(refund.amount_minor),
                "refund_status": "REFUND_SUCCESS",
                "gmt_refund_pay": format_beijing(refund.at),
            })));
        }
        Ok(Outcome { fields: success(fields), notice: None })
    }
}

fn check_refundable(trade: &Trade, amount_minor: i64) -> Result<(), Refusal> {
    match trade.status {
        Status::Success => {}
        Status::WaitBuyerPay => return Err(Refusal::business("ACQ.TRADE_STATUS_ERROR", "交易状态不合法")),
        Status::Closed => return Err(Refusal::business("ACQ.TRADE_HAS_CLOSE", "交易已经关闭")),
        Status::Finished => return Err(Refusal::business("ACQ.TRADE_HAS_FINISHED", "交易已完结")),
    }
    if trade.refunded_minor() + amount_minor > trade.total_minor {
        return Err(Refusal::business("ACQ.REFUND_AMT_NOT_EQUAL_TOTAL", "退款金额超限"));
    }
    Ok(())
}

fn refund_fields(trade: &Trade, fund_change: &str, now: Timestamp) -> serde_json::Map<String, serde_json::Value> {
    success(object(json!({
        "trade_no": trade.trade_no,
        "out_trade_no": trade.out_trade_no,
        "buyer_logon_id": "sandbox***@payrail.test",
        "fund_change": fund_change,
        "refund_fee": format_yuan(trade.refunded_minor()),
        "gmt_refund_pay": format_beijing(now),
        "buyer_user_id": BUYER_USER_ID,
    })))
}
