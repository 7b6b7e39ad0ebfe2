//! Trades and refunds as v3 JSON, exactly as the query answers and the notification
//! resources carry them.

use payrail_domain::Timestamp;
use payrail_domain::decimal::format_beijing;
use serde_json::{Value, json};

use super::book::{RefundRecord, Trade};

/// RFC 3339 in Beijing time, as WeChat writes every time.
pub(crate) fn rfc3339(at: Timestamp) -> String {
    format!("{}+08:00", format_beijing(at).replacen(' ', "T", 1))
}

/// A trade as `GET /v3/pay/transactions/out-trade-no/{no}` answers it.
pub(crate) fn transaction(trade: &Trade) -> Value {
    let mut object = json!({
        "appid": trade.appid,
        "mchid": trade.mchid,
        "out_trade_no": trade.out_trade_no,
        "trade_type": trade.trade_type,
        "trade_state": trade.state.as_str(),
        "trade_state_desc": trade_state_desc(trade),
        "attach": trade.attach.clone().unwrap_or_default(),
        "amount": {"total": trade.total_fen, "currency": "CNY"},
    });
    if let Some(transaction_id) = &trade.transaction_id {
        object["transaction_id"] = json!(transaction_id);
        object["bank_type"] = json!("OTHERS");
        object["amount"] = json!({
            "total": trade.total_fen, "payer_total": trade.total_fen, "currency": "CNY", "payer_currency": "CNY",
        });
        object["payer"] = json!({"openid": trade.payer_openid});
    }
    if let Some(success_time) = trade.success_time {
        object["success_time"] = json!(rfc3339(success_time));
    }
    object
}

fn trade_state_desc(trade: &Trade) -> &'static str {
    match trade.state.as_str() {
        "SUCCESS" => "支付成功",
        "REFUND" => "转入退款",
        "NOTPAY" => "未支付",
        "CLOSED" => "已关闭",
        "REVOKED" => "已撤销",
        "USERPAYING" => "用户支付中",
        _ => "支付失败",
    }
}

/// A refund as `POST /v3/refund/domestic/refunds` and its query answer it.
pub(crate) fn refund(record: &RefundRecord) -> Value {
    let mut object = json!({
        "refund_id": record.refund_id,
        "out_refund_no": record.out_refund_no,
        "transaction_id": record.transaction_id,
        "out_trade_no": record.out_trade_no,
        "channel": "ORIGINAL",
        "user_received_account": "支付用户零钱",
        "create_time": rfc3339(record.created),
        "status": record.status,
        "funds_account": "AVAILABLE",
        "amount": refund_amount(record),
    });
    if let Some(success_time) = record.success_time {
        object["success_time"] = json!(rfc3339(success_time));
    }
    object
}

fn refund_amount(record: &RefundRecord) -> Value {
    json!({
        "total": record.total_fen, "refund": record.refund_fen, "payer_total": record.total_fen,
        "payer_refund": record.refund_fen, "settlement_refund": record.refund_fen,
        "settlement_total": record.total_fen, "discount_refund": 0, "currency": "CNY",
    })
}

/// A refund as a `REFUND.SUCCESS` notification's resource carries it.
pub(crate) fn refund_notification(record: &RefundRecord) -> Value {
    json!({
        "mchid": record.mchid,
        "out_trade_no": record.out_trade_no,
        "transaction_id": record.transaction_id,
        "out_refund_no": record.out_refund_no,
        "refund_id": record.refund_id,
        "refund_status": record.status,
        "success_time": record.success_time.map(rfc3339),
        "user_received_account": "支付用户零钱",
        "amount": {"total": record.total_fen, "refund": record.refund_fen, "payer_total": record.total_fen,
                   "payer_refund": record.refund_fen},
    })
}
