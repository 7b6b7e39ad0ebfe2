//! The v3 handlers: parse the JSON, check it is the signing merchant's, run one rule of the
//! [`Book`](super::book::Book), answer. The [`gate`](super::gate) has already checked the
//! signature and will sign the answer.
//!
//! Logs carry merchant numbers, order numbers and error codes, never bodies.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Extension, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::WechatPay;
use super::book::{RefundAsk, Trade, TradeState};
use super::error::ApiError;
use super::gate::Caller;
use super::objects;
use super::random::{digits, token};

#[derive(Deserialize)]
struct OrderBody {
    appid: String,
    mchid: String,
    description: String,
    out_trade_no: String,
    notify_url: String,
    amount: AmountBody,
    time_expire: Option<String>,
    attach: Option<String>,
    payer: Option<PayerBody>,
}

#[derive(Deserialize)]
struct AmountBody {
    total: i64,
    currency: Option<String>,
}

#[derive(Deserialize)]
struct PayerBody {
    openid: String,
}

pub(crate) async fn native(State(simulator): State<WechatPay>, caller: Extension<Caller>, body: Bytes) -> Response {
    answer(
        place(&simulator, &caller.0.0, &body, "NATIVE")
            .map(|trade| json!({"code_url": format!("weixin://wxpay/bizpayurl?pr={}", trade.token)})),
    )
}

pub(crate) async fn jsapi(State(simulator): State<WechatPay>, caller: Extension<Caller>, body: Bytes) -> Response {
    answer(place(&simulator, &caller.0.0, &body, "JSAPI").map(|trade| json!({"prepay_id": trade.token})))
}

pub(crate) async fn h5(State(simulator): State<WechatPay>, caller: Extension<Caller>, body: Bytes) -> Response {
    let base = simulator.shared.public_base_url.clone();
    answer(
        place(&simulator, &caller.0.0, &body, "MWEB")
            .map(|trade| json!({"h5_url": format!("{base}/buyer/{}", trade.token)})),
    )
}

/// Parses and places an order of `trade_type` for the signing merchant.
fn place(
    simulator: &WechatPay,
    merchant: &super::merchants::Merchant,
    body: &[u8],
    trade_type: &'static str,
) -> Result<Trade, ApiError> {
    let order: OrderBody = parse(body)?;
    own_merchant(merchant, &order.mchid)?;
    if order.appid != merchant.appid {
        return Err(ApiError::new(StatusCode::BAD_REQUEST, "APPID_MCHID_NOT_MATCH", "appid和mch_id不匹配"));
    }
    check_order(&order, trade_type)?;
    if !simulator.notify_url_allowed(&order.notify_url) {
        return Err(ApiError::param("notify_url 不在此沙箱允许的地址内"));
    }
    let expires_at = match order.time_expire.as_deref() {
        None => None,
        Some(text) => Some(objects::parse_rfc3339(text).ok_or_else(|| ApiError::param("time_expire 格式错误"))?),
    };
    // A JSAPI order's page token is its prepay id, so `{base}/buyer/{prepay_id}` opens it.
    let token = if trade_type == "JSAPI" { format!("wx{}", digits(32)) } else { token(24) };
    let trade = Trade {
        mchid: order.mchid,
        appid: order.appid,
        out_trade_no: order.out_trade_no,
        trade_type,
        description: order.description,
        total_fen: order.amount.total,
        notify_url: Some(order.notify_url),
        attach: order.attach,
        payer_openid: order.payer.map(|payer| payer.openid),
        state: TradeState::NotPay,
        transaction_id: None,
        success_time: None,
        token,
        refunded_fen: 0,
        queries: 0,
        auth_code: None,
        expires_at,
        coupon_fen: 0,
    };
    let placed = simulator.book().place(trade).inspect_err(log_refusal("order"))?;
    tracing::info!(mchid = %placed.mchid, out_trade_no = %placed.out_trade_no, trade_type, "wechat pay simulator order");
    Ok(placed)
}

fn check_order(order: &OrderBody, trade_type: &str) -> Result<(), ApiError> {
    order_number(&order.out_trade_no)?;
    if order.description.is_empty() || order.description.chars().count() > 127 {
        return Err(ApiError::param("description 长度应在1到127之间"));
    }
    if order.amount.total < 1 {
        return Err(ApiError::param("amount.total 应大于0"));
    }
    if order.amount.currency.as_deref().is_some_and(|currency| currency != "CNY") {
        return Err(ApiError::param("amount.currency 仅支持 CNY"));
    }
    let url_ok = (order.notify_url.starts_with("https://") || order.notify_url.starts_with("http://"))
        && !order.notify_url.contains('?');
    if !url_ok {
        return Err(ApiError::param("notify_url 应为不带参数的 http(s) 地址"));
    }
    if trade_type == "JSAPI" && order.payer.as_ref().is_none_or(|payer| payer.openid.is_empty()) {
        return Err(ApiError::param("JSAPI 下单需要 payer.openid"));
    }
    Ok(())
}

/// WeChat's order and refund numbers: 6 to 32 (refunds 64) letters, digits and `_-|*`.
fn order_number(number: &str) -> Result<(), ApiError> {
    let allowed = |byte: u8| byte.is_ascii_alphanumeric() || matches!(byte, b'_' | b'-' | b'|' | b'*');
    if (6..=64).contains(&number.len()) && number.bytes().all(allowed) {
        Ok(())
    } else {
        Err(ApiError::param("商户订单号格式错误"))
    }
}

#[derive(Deserialize)]
pub(crate) struct MchidQuery {
    mchid: Option<String>,
}

pub(crate) async fn query(
    State(simulator): State<WechatPay>,
    caller: Extension<Caller>,
    Path(out_trade_no): Path<String>,
    Query(query): Query<MchidQuery>,
) -> Response {
    let merchant = &caller.0.0;
    let result = own_merchant(merchant, query.mchid.as_deref().unwrap_or_default()).and_then(|()| {
        let book = simulator.book();
        book.trade(&merchant.mchid, &out_trade_no).map(objects::transaction).ok_or_else(ApiError::order_not_exist)
    });
    answer(result)
}

/// `GET /v3/pay/transactions/id/{transaction_id}`: the same answer, the trade named by
/// WeChat's number.
pub(crate) async fn query_by_transaction_id(
    State(simulator): State<WechatPay>,
    caller: Extension<Caller>,
    Path(transaction_id): Path<String>,
    Query(query): Query<MchidQuery>,
) -> Response {
    let merchant = &caller.0.0;
    let result = own_merchant(merchant, query.mchid.as_deref().unwrap_or_default()).and_then(|()| {
        let book = simulator.book();
        book.out_trade_no_of(&merchant.mchid, &transaction_id)
            .and_then(|out_trade_no| book.trade(&merchant.mchid, &out_trade_no))
            .map(objects::transaction)
            .ok_or_else(ApiError::order_not_exist)
    });
    answer(result)
}

#[derive(Deserialize)]
struct CloseBody {
    mchid: String,
}

pub(crate) async fn close(
    State(simulator): State<WechatPay>,
    caller: Extension<Caller>,
    Path(out_trade_no): Path<String>,
    body: Bytes,
) -> Response {
    let merchant = &caller.0.0;
    let result = parse::<CloseBody>(&body)
        .and_then(|close| own_merchant(merchant, &close.mchid))
        .and_then(|()| simulator.book().close(&merchant.mchid, &out_trade_no));
    match result.inspect_err(log_refusal("close")) {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(error) => error.into_response(),
    }
}

/// A refund names its trade by `transaction_id` or `out_trade_no` (one of the two; the
/// first wins when both are sent).
#[derive(Deserialize)]
struct RefundBody {
    transaction_id: Option<String>,
    out_trade_no: Option<String>,
    out_refund_no: String,
    notify_url: Option<String>,
    amount: RefundAmountBody,
}

#[derive(Deserialize)]
struct RefundAmountBody {
    refund: i64,
    total: i64,
    currency: String,
}

pub(crate) async fn refund(State(simulator): State<WechatPay>, caller: Extension<Caller>, body: Bytes) -> Response {
    let merchant = &caller.0.0;
    let result = parse::<RefundBody>(&body).and_then(|refund| {
        order_number(&refund.out_refund_no)?;
        if refund.amount.currency != "CNY" {
            return Err(ApiError::param("amount.currency 仅支持 CNY"));
        }
        let out_trade_no = match (refund.transaction_id, refund.out_trade_no) {
            (Some(transaction_id), _) => simulator
                .book()
                .out_trade_no_of(&merchant.mchid, &transaction_id)
                .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "RESOURCE_NOT_EXISTS", "订单不存在"))?,
            (None, Some(out_trade_no)) => out_trade_no,
            (None, None) => return Err(ApiError::param("transaction_id 和 out_trade_no 必须二选一")),
        };
        if refund.notify_url.as_deref().is_some_and(|url| !simulator.notify_url_allowed(url)) {
            return Err(ApiError::param("notify_url 不在此沙箱允许的地址内"));
        }
        let ask = RefundAsk {
            mchid: merchant.mchid.clone(),
            out_trade_no,
            out_refund_no: refund.out_refund_no,
            refund_fen: refund.amount.refund,
            total_fen: refund.amount.total,
            notify_url: refund.notify_url,
        };
        let record = simulator.book().refund(ask, simulator.now()).inspect_err(log_refusal("refund"))?;
        simulator.notify_refund(&record.out_refund_no, &merchant.mchid);
        Ok(objects::refund(&record))
    });
    answer(result)
}

pub(crate) async fn query_refund(
    State(simulator): State<WechatPay>,
    caller: Extension<Caller>,
    Path(out_refund_no): Path<String>,
) -> Response {
    let book = simulator.book();
    let record = book.refund_record(&caller.0.0.mchid, &out_refund_no);
    answer(
        record
            .map(objects::refund)
            .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "RESOURCE_NOT_EXISTS", "退款单不存在")),
    )
}

fn own_merchant(merchant: &super::merchants::Merchant, mchid: &str) -> Result<(), ApiError> {
    if mchid == merchant.mchid { Ok(()) } else { Err(ApiError::param("mchid与请求签名的商户号不一致")) }
}

fn parse<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|error| ApiError::param(format!("请求参数错误: {error}")))
}

fn answer(result: Result<Value, ApiError>) -> Response {
    match result {
        Ok(value) => Json(value).into_response(),
        Err(error) => error.into_response(),
    }
}

fn log_refusal(operation: &'static str) -> impl Fn(&ApiError) {
    move |error: &ApiError| tracing::info!(operation, code = error.code, "wechat pay simulator refused")
}
