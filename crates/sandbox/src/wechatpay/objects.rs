//! Trades and refunds as v3 JSON, exactly as the query answers and the notification
//! resources carry them.

use payrail_domain::Timestamp;
use payrail_domain::decimal::{format_beijing, parse_beijing};
use serde_json::{Value, json};

use super::book::{RefundRecord, Trade};

/// RFC 3339 in Beijing time, as WeChat writes every time.
pub(crate) fn rfc3339(at: Timestamp) -> String {
    format!("{}+08:00", format_beijing(at).replacen(' ', "T", 1))
}

/// Reads RFC 3339 with whole seconds and any offset (`+08:00`, `Z`, `-05:00`), as WeChat
/// accepts `time_expire`.
pub(crate) fn parse_rfc3339(text: &str) -> Option<Timestamp> {
    let (local, offset) = (text.get(..19)?, text.get(19..)?);
    if local.as_bytes()[10] != b'T' {
        return None;
    }
    let offset_minutes = match offset {
        "Z" => 0,
        _ => {
            let sign = match offset.as_bytes().first()? {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let (hours, minutes) = offset.get(1..)?.split_once(':')?;
            let (hours, minutes) = (hours.parse::<i64>().ok()?, minutes.parse::<i64>().ok()?);
            if hours > 23 || minutes > 59 || offset.len() != 6 {
                return None;
            }
            sign * (hours * 60 + minutes)
        }
    };
    // `parse_beijing` reads the wall time as UTC+8; moving it to the given offset is a shift.
    let as_beijing = parse_beijing(&local.replacen('T', " ", 1))?;
    Some(as_beijing.plus_ms((8 * 60 - offset_minutes) * 60_000))
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
            "total": trade.total_fen, "payer_total": trade.total_fen - trade.coupon_fen,
            "currency": "CNY", "payer_currency": "CNY",
        });
        if trade.coupon_fen > 0 {
            object["promotion_detail"] = json!([{
                "coupon_id": "1000000001", "name": "Sandbox coupon",
                "scope": "GLOBAL", "type": "CASH", "amount": trade.coupon_fen, "stock_id": "8000000000",
                "wechatpay_contribute": trade.coupon_fen, "merchant_contribute": 0, "other_contribute": 0,
                "currency": "CNY",
            }]);
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_3339_times_are_read_with_any_offset() {
        let at = Timestamp::from_unix_ms(1_780_000_000_000).expect("time");
        assert_eq!(rfc3339(at), "2026-05-29T04:26:40+08:00");
        for text in ["2026-05-29T04:26:40+08:00", "2026-05-28T20:26:40Z", "2026-05-28T15:26:40-05:00"] {
            assert_eq!(parse_rfc3339(text), Some(at), "{text}");
        }
        for bad in ["2026-05-29 04:26:40+08:00", "2026-05-29T04:26:40", "2026-05-29T04:26:40+8", ""] {
            assert_eq!(parse_rfc3339(bad), None, "{bad}");
        }
    }
}
