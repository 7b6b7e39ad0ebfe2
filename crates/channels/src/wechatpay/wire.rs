//! The v3 JSON bodies as WeChat Pay writes and reads them, and their conversion to the
//! client's types. Unknown fields in answers are ignored (WeChat adds fields over time);
//! a missing required field or an unknown state is a protocol error.

use serde::{Deserialize, Serialize};

use super::time::{format_rfc3339, parse_rfc3339};
use super::types::{OrderRequest, Refund, RefundRequest, RefundStatus, TradeState, Transaction};
use crate::error::ChannelError;

#[derive(Serialize)]
pub(crate) struct OrderBody<'a> {
    appid: &'a str,
    mchid: &'a str,
    description: &'a str,
    out_trade_no: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    time_expire: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    attach: Option<&'a str>,
    notify_url: &'a str,
    amount: AmountBody,
    #[serde(skip_serializing_if = "Option::is_none")]
    payer: Option<PayerBody<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    scene_info: Option<serde_json::Value>,
}

#[derive(Serialize)]
struct AmountBody {
    total: i64,
    currency: &'static str,
}

#[derive(Serialize)]
struct PayerBody<'a> {
    openid: &'a str,
}

impl<'a> OrderBody<'a> {
    pub(crate) fn new(appid: &'a str, mchid: &'a str, order: &'a OrderRequest) -> OrderBody<'a> {
        OrderBody {
            appid,
            mchid,
            description: &order.description,
            out_trade_no: &order.out_trade_no,
            time_expire: order.time_expire.map(format_rfc3339),
            attach: order.attach.as_deref(),
            notify_url: &order.notify_url,
            amount: AmountBody { total: order.amount.amount_minor(), currency: "CNY" },
            payer: None,
            scene_info: None,
        }
    }

    pub(crate) fn with_payer(self, openid: &'a str) -> OrderBody<'a> {
        OrderBody { payer: Some(PayerBody { openid }), ..self }
    }

    pub(crate) fn with_h5_scene(self, payer_client_ip: &str) -> OrderBody<'a> {
        let scene = serde_json::json!({"payer_client_ip": payer_client_ip, "h5_info": {"type": "Wap"}});
        OrderBody { scene_info: Some(scene), ..self }
    }
}

#[derive(Deserialize)]
pub(crate) struct CodeUrlWire {
    pub(crate) code_url: String,
}

#[derive(Deserialize)]
pub(crate) struct PrepayWire {
    pub(crate) prepay_id: String,
}

#[derive(Deserialize)]
pub(crate) struct H5Wire {
    pub(crate) h5_url: String,
}

#[derive(Deserialize)]
pub(crate) struct TransactionWire {
    appid: String,
    mchid: String,
    out_trade_no: String,
    transaction_id: Option<String>,
    trade_type: Option<String>,
    trade_state: String,
    trade_state_desc: Option<String>,
    success_time: Option<String>,
    amount: Option<TransactionAmountWire>,
    payer: Option<PayerWire>,
}

#[derive(Deserialize)]
struct TransactionAmountWire {
    total: Option<i64>,
    payer_total: Option<i64>,
}

#[derive(Deserialize)]
struct PayerWire {
    openid: Option<String>,
}

impl TransactionWire {
    pub(crate) fn into_transaction(self) -> Result<Transaction, ChannelError> {
        let trade_state = TradeState::parse(&self.trade_state)
            .ok_or_else(|| ChannelError::Protocol(format!("unknown trade_state {:?}", self.trade_state)))?;
        Ok(Transaction {
            appid: self.appid,
            mchid: self.mchid,
            out_trade_no: self.out_trade_no,
            transaction_id: self.transaction_id.filter(|id| !id.is_empty()),
            trade_type: self.trade_type,
            trade_state,
            trade_state_desc: self.trade_state_desc,
            success_time: optional_time(self.success_time.as_deref())?,
            amount_total_minor: self.amount.as_ref().and_then(|amount| amount.total),
            payer_total_minor: self.amount.as_ref().and_then(|amount| amount.payer_total),
            payer_openid: self.payer.and_then(|payer| payer.openid),
        })
    }
}

#[derive(Serialize)]
pub(crate) struct RefundBody<'a> {
    out_trade_no: &'a str,
    out_refund_no: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    notify_url: Option<&'a str>,
    amount: RefundAmountBody,
}

#[derive(Serialize)]
struct RefundAmountBody {
    refund: i64,
    total: i64,
    currency: &'static str,
}

impl<'a> RefundBody<'a> {
    pub(crate) fn new(request: &'a RefundRequest) -> RefundBody<'a> {
        RefundBody {
            out_trade_no: &request.out_trade_no,
            out_refund_no: &request.out_refund_no,
            reason: request.reason.as_deref(),
            notify_url: request.notify_url.as_deref(),
            amount: RefundAmountBody {
                refund: request.refund.amount_minor(),
                total: request.total.amount_minor(),
                currency: "CNY",
            },
        }
    }
}

#[derive(Deserialize)]
pub(crate) struct RefundWire {
    refund_id: String,
    out_refund_no: String,
    out_trade_no: String,
    transaction_id: Option<String>,
    status: String,
    success_time: Option<String>,
    amount: RefundAmountWire,
}

#[derive(Deserialize)]
struct RefundAmountWire {
    refund: i64,
    total: i64,
}

impl RefundWire {
    pub(crate) fn into_refund(self) -> Result<Refund, ChannelError> {
        let status = RefundStatus::parse(&self.status)
            .ok_or_else(|| ChannelError::Protocol(format!("unknown refund status {:?}", self.status)))?;
        Ok(Refund {
            refund_id: self.refund_id,
            out_refund_no: self.out_refund_no,
            out_trade_no: self.out_trade_no,
            transaction_id: self.transaction_id,
            status,
            refund_minor: self.amount.refund,
            total_minor: self.amount.total,
            success_time: optional_time(self.success_time.as_deref())?,
        })
    }
}

fn optional_time(text: Option<&str>) -> Result<Option<payrail_domain::Timestamp>, ChannelError> {
    match text.filter(|text| !text.is_empty()) {
        None => Ok(None),
        Some(text) => {
            parse_rfc3339(text).map(Some).ok_or_else(|| ChannelError::Protocol(format!("unreadable time {text:?}")))
        }
    }
}

/// WeChat Pay's error body on a 4xx or 5xx answer.
#[derive(Deserialize)]
pub(crate) struct ErrorWire {
    pub(crate) code: String,
    #[serde(default)]
    pub(crate) message: String,
}
