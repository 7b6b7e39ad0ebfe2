//! v2 payment-code pay: `/pay/micropay`, `/pay/orderquery`, `/secapi/pay/reverse`,
//! `/secapi/pay/refund`, XML in and out, each request's `sign` checked under the merchant's
//! APIv2 key (MD5 unless `sign_type=HMAC-SHA256`, MD5 being WeChat's default) and each
//! answer signed the same way. The `/secapi/…` calls are
//! reached only through the mutual-TLS listener ([`super::secapi`]), and only with the
//! certificate of the merchant named by `mch_id`. A v2 refund shares the book with v3
//! refunds (so `/v3/refund/domestic/refunds/{no}` finds it) and sends no notification.
//!
//! A request that cannot be read, names an unknown merchant or app, or fails the sign check
//! is answered `return_code=FAIL` with `return_msg` (`签名错误` for a bad sign). A trade is
//! named by `transaction_id` or `out_trade_no`, `transaction_id` winning when both are sent,
//! as WeChat documents for orderquery, reverse and refund.
//!
//! Test payment codes (18 digits starting 13, as real codes start 10 to 15):
//!
//! | code | outcome |
//! |---|---|
//! | [`CODE_IMMEDIATE_SUCCESS`] (and any other well-formed code) | paid at once |
//! | [`CODE_USER_PAYING_THEN_SUCCESS`] | `USERPAYING`; the first query still `USERPAYING`, the second `SUCCESS` |
//! | [`CODE_USER_PAYING_FOREVER`] | `USERPAYING` on every query; the merchant gives up and reverses (`REVOKED`) |
//! | [`CODE_NOT_ENOUGH`] | `NOTENOUGH` (balance insufficient); the trade is `PAYERROR` |
//! | [`CODE_AUTH_CODE_EXPIRED`] | `AUTHCODEEXPIRE`; nothing is stored |
//! | anything not 18 digits starting 10–15 | `AUTH_CODE_INVALID`; nothing is stored |

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use payrail_domain::decimal::format_beijing;

use super::WechatPay;
use super::book::{RefundAsk, Trade, TradeState};
use super::merchants::Merchant;
use super::random::token;
use super::secapi::{CERTIFICATE_MISMATCH, Peer};
use super::xml::{self, SignType};

pub const CODE_IMMEDIATE_SUCCESS: &str = "134610000000000001";
pub const CODE_USER_PAYING_THEN_SUCCESS: &str = "134610000000000002";
pub const CODE_USER_PAYING_FOREVER: &str = "134610000000000003";
pub const CODE_NOT_ENOUGH: &str = "134610000000000004";
pub const CODE_AUTH_CODE_EXPIRED: &str = "134610000000000005";

type Fields = BTreeMap<String, String>;

/// Who the caller proved to be: nothing on plain HTTP; on `/secapi/…`, the merchant of
/// its TLS client certificate.
#[derive(Clone, Copy)]
enum Caller<'a> {
    Plain,
    Certified(Option<&'a str>),
}

/// A business answer (`return_code=SUCCESS`): `result_code` and its fields.
enum Outcome {
    Success(Fields),
    Fail { code: &'static str, description: &'static str },
}

pub(crate) async fn micropay(State(simulator): State<WechatPay>, body: Bytes) -> Response {
    run(&simulator, &body, Caller::Plain, |merchant, fields| pay_with_code(&simulator, merchant, fields))
}

pub(crate) async fn order_query(State(simulator): State<WechatPay>, body: Bytes) -> Response {
    run(&simulator, &body, Caller::Plain, |merchant, fields| {
        let out_trade_no = match named_trade(&simulator, merchant, fields) {
            Ok(out_trade_no) => out_trade_no,
            Err(outcome) => return outcome,
        };
        let out_trade_no = out_trade_no.as_str();
        let Ok(mut trade) = simulator.book().count_query(&merchant.mchid, out_trade_no) else {
            return order_not_exist();
        };
        let finishes_now = trade.auth_code.as_deref() == Some(CODE_USER_PAYING_THEN_SUCCESS)
            && trade.state == TradeState::UserPaying
            && trade.queries >= 2;
        if finishes_now && let Ok(paid) = simulator.book().pay(&merchant.mchid, out_trade_no, simulator.now()) {
            trade = paid;
        }
        let mut answer = trade_fields(&trade);
        answer.insert("trade_state".to_owned(), trade.state.as_str().to_owned());
        Outcome::Success(answer)
    })
}

/// `/secapi/pay/{operation}`: `reverse` or `refund`, for the merchant whose certificate the
/// connection presented.
pub(crate) async fn secapi(
    State(simulator): State<WechatPay>,
    ConnectInfo(peer): ConnectInfo<Peer>,
    Path(operation): Path<String>,
    body: Bytes,
) -> Response {
    let rule = match operation.as_str() {
        "reverse" => reverse_trade,
        "refund" => refund_trade,
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    run(&simulator, &body, Caller::Certified(peer.mchid.as_deref()), |merchant, fields| {
        rule(&simulator, merchant, fields)
    })
}

fn reverse_trade(simulator: &WechatPay, merchant: &Merchant, fields: &Fields) -> Outcome {
    let out_trade_no = match named_trade(simulator, merchant, fields) {
        Ok(out_trade_no) => out_trade_no,
        Err(outcome) => return outcome,
    };
    match simulator.book().revoke(&merchant.mchid, &out_trade_no) {
        Ok(_) => Outcome::Success(BTreeMap::from([("recall".to_owned(), "N".to_owned())])),
        Err(_) => order_not_exist(),
    }
}

fn refund_trade(simulator: &WechatPay, merchant: &Merchant, fields: &Fields) -> Outcome {
    let field = |name: &str| fields.get(name).map(String::as_str).filter(|value| !value.is_empty());
    let out_trade_no = match named_trade(simulator, merchant, fields) {
        Ok(out_trade_no) => out_trade_no,
        Err(outcome) => return outcome,
    };
    let (Some(out_refund_no), Some(total_fee), Some(refund_fee)) =
        (field("out_refund_no"), field("total_fee"), field("refund_fee"))
    else {
        return param_error();
    };
    let (Ok(total_fen), Ok(refund_fen)) = (total_fee.parse::<i64>(), refund_fee.parse::<i64>()) else {
        return param_error();
    };
    let ask = RefundAsk {
        mchid: merchant.mchid.clone(),
        out_trade_no,
        out_refund_no: out_refund_no.to_owned(),
        refund_fen,
        total_fen,
        notify_url: None,
    };
    // Bound first: a lock guard in a `match` scrutinee would live through every arm.
    let recorded = simulator.book().refund(ask, simulator.now());
    match recorded {
        Ok(record) => Outcome::Success(BTreeMap::from([
            ("out_trade_no".to_owned(), record.out_trade_no),
            ("transaction_id".to_owned(), record.transaction_id.unwrap_or_default()),
            ("out_refund_no".to_owned(), record.out_refund_no),
            ("refund_id".to_owned(), record.refund_id),
            ("refund_fee".to_owned(), record.refund_fen.to_string()),
            ("total_fee".to_owned(), record.total_fen.to_string()),
            ("cash_fee".to_owned(), record.total_fen.to_string()),
        ])),
        Err(error) if error.code == "RESOURCE_NOT_EXISTS" => order_not_exist(),
        Err(error) if error.code == "PARAM_ERROR" => param_error(),
        Err(_) => Outcome::Fail {
            code: "INVALID_REQUEST", description: "申请退款金额超过订单可退金额或订单不可退款"
        },
    }
}

fn pay_with_code(simulator: &WechatPay, merchant: &Merchant, fields: &Fields) -> Outcome {
    let field = |name: &str| fields.get(name).map(String::as_str).filter(|value| !value.is_empty());
    let (Some(description), Some(out_trade_no), Some(total_fee), Some(_ip), Some(auth_code)) =
        (field("body"), field("out_trade_no"), field("total_fee"), field("spbill_create_ip"), field("auth_code"))
    else {
        return param_error();
    };
    let Some(total_fen) = total_fee.parse::<i64>().ok().filter(|fen| *fen > 0) else { return param_error() };
    if !well_formed(auth_code) {
        return Outcome::Fail { code: "AUTH_CODE_INVALID", description: "付款码无效，请重新扫码" };
    }
    if auth_code == CODE_AUTH_CODE_EXPIRED {
        return Outcome::Fail {
            code: "AUTHCODEEXPIRE", description: "二维码已过期，请用户在微信上刷新后再试"
        };
    }
    let trade = Trade {
        mchid: merchant.mchid.clone(),
        appid: merchant.appid.clone(),
        out_trade_no: out_trade_no.to_owned(),
        trade_type: "MICROPAY",
        description: description.to_owned(),
        total_fen,
        notify_url: None,
        attach: None,
        payer_openid: None,
        state: TradeState::NotPay,
        transaction_id: None,
        success_time: None,
        token: token(24),
        refunded_fen: 0,
        queries: 0,
        auth_code: Some(auth_code.to_owned()),
        expires_at: None,
        coupon_fen: 0,
    };
    // Bound first: a lock guard in a `match` scrutinee would live through every arm.
    let placed = simulator.book().place(trade);
    match placed {
        Ok(placed) => decide(simulator, &placed),
        Err(error) if error.code == "ORDERPAID" => Outcome::Fail { code: "ORDERPAID", description: "订单已支付" },
        Err(error) if error.code == "ORDER_CLOSED" => {
            Outcome::Fail { code: "ORDERREVERSED", description: "订单已撤销" }
        }
        Err(_) => Outcome::Fail { code: "OUT_TRADE_NO_USED", description: "商户订单号重复" },
    }
}

/// What a placed payment-code trade does, by its code.
fn decide(simulator: &WechatPay, trade: &Trade) -> Outcome {
    let (mchid, number) = (&trade.mchid, &trade.out_trade_no);
    match trade.auth_code.as_deref() {
        Some(CODE_USER_PAYING_THEN_SUCCESS | CODE_USER_PAYING_FOREVER) => {
            let _ = simulator.book().set_unpaid_state(mchid, number, TradeState::UserPaying);
            Outcome::Fail { code: "USERPAYING", description: "需要用户输入支付密码" }
        }
        Some(CODE_NOT_ENOUGH) => {
            let _ = simulator.book().set_unpaid_state(mchid, number, TradeState::PayError);
            Outcome::Fail { code: "NOTENOUGH", description: "余额不足" }
        }
        _ => match simulator.book().pay(mchid, number, simulator.now()) {
            Ok(paid) => Outcome::Success(trade_fields(&paid)),
            Err(_) => Outcome::Fail { code: "ORDERPAID", description: "订单已支付" },
        },
    }
}

/// 18 digits starting 10 to 15.
fn well_formed(auth_code: &str) -> bool {
    auth_code.len() == 18
        && auth_code.bytes().all(|byte| byte.is_ascii_digit())
        && ("10".."16").contains(&&auth_code[..2])
}

/// The `out_trade_no` of the trade a request names: by `transaction_id` when it is sent
/// (it wins over `out_trade_no`, as WeChat documents), else `out_trade_no` itself; or the
/// outcome to answer.
fn named_trade(simulator: &WechatPay, merchant: &Merchant, fields: &Fields) -> Result<String, Outcome> {
    let field = |name: &str| fields.get(name).map(String::as_str).filter(|value| !value.is_empty());
    match (field("transaction_id"), field("out_trade_no")) {
        (Some(transaction_id), _) => {
            simulator.book().out_trade_no_of(&merchant.mchid, transaction_id).ok_or_else(order_not_exist)
        }
        (None, Some(out_trade_no)) => Ok(out_trade_no.to_owned()),
        (None, None) => Err(param_error()),
    }
}

fn order_not_exist() -> Outcome {
    Outcome::Fail { code: "ORDERNOTEXIST", description: "此交易订单号不存在" }
}

fn param_error() -> Outcome {
    Outcome::Fail { code: "PARAM_ERROR", description: "参数错误" }
}

/// A trade's fields as micropay and orderquery answer them.
fn trade_fields(trade: &Trade) -> Fields {
    let mut fields = BTreeMap::from([
        ("out_trade_no".to_owned(), trade.out_trade_no.clone()),
        ("total_fee".to_owned(), trade.total_fen.to_string()),
        ("fee_type".to_owned(), "CNY".to_owned()),
        ("trade_type".to_owned(), trade.trade_type.to_owned()),
    ]);
    if let (Some(id), Some(paid_at)) = (&trade.transaction_id, trade.success_time) {
        let compact: String = format_beijing(paid_at).chars().filter(char::is_ascii_digit).collect();
        fields.extend([
            ("transaction_id".to_owned(), id.clone()),
            ("cash_fee".to_owned(), trade.total_fen.to_string()),
            ("openid".to_owned(), trade.payer_openid.clone().unwrap_or_default()),
            ("is_subscribe".to_owned(), "N".to_owned()),
            ("bank_type".to_owned(), "OTHERS".to_owned()),
            ("time_end".to_owned(), compact),
        ]);
    }
    fields
}

/// Reads and checks a v2 request, runs `rule` for its merchant, answers signed XML.
fn run(
    simulator: &WechatPay,
    body: &[u8],
    caller: Caller<'_>,
    rule: impl FnOnce(&Merchant, &Fields) -> Outcome,
) -> Response {
    let fields = std::str::from_utf8(body).ok().and_then(xml::read);
    let Some(fields) = fields else { return failure("XML格式错误") };
    let merchant = fields.get("mch_id").and_then(|mchid| simulator.merchant(mchid));
    let Some(merchant) = merchant else { return failure("商户号mch_id与appid不匹配") };
    if fields.get("appid") != Some(&merchant.appid) {
        return failure("商户号mch_id与appid不匹配");
    }
    if let Caller::Certified(certified) = caller
        && certified != Some(merchant.mchid.as_str())
    {
        return failure(CERTIFICATE_MISMATCH);
    }
    let Some(sign_type) = SignType::of(&fields) else { return failure("签名类型错误") };
    let presented = fields.get("sign").map(String::as_bytes).unwrap_or_default();
    let expected = xml::sign(&fields, merchant.v2_key.expose(), sign_type);
    if !payrail_crypto::hmac::equal_in_constant_time(presented, expected.as_bytes()) {
        return failure("签名错误");
    }
    let mut answer = match rule(&merchant, &fields) {
        Outcome::Success(business) => {
            let mut answer = business;
            answer.insert("result_code".to_owned(), "SUCCESS".to_owned());
            answer
        }
        Outcome::Fail { code, description } => BTreeMap::from([
            ("result_code".to_owned(), "FAIL".to_owned()),
            ("err_code".to_owned(), code.to_owned()),
            ("err_code_des".to_owned(), description.to_owned()),
        ]),
    };
    answer.extend([
        ("return_code".to_owned(), "SUCCESS".to_owned()),
        ("return_msg".to_owned(), "OK".to_owned()),
        ("appid".to_owned(), merchant.appid.clone()),
        ("mch_id".to_owned(), merchant.mchid.clone()),
        ("nonce_str".to_owned(), token(32)),
    ]);
    let sign = xml::sign(&answer, merchant.v2_key.expose(), sign_type);
    answer.insert("sign".to_owned(), sign);
    xml_response(&answer)
}

fn failure(message: &str) -> Response {
    let answer =
        BTreeMap::from([("return_code".to_owned(), "FAIL".to_owned()), ("return_msg".to_owned(), message.to_owned())]);
    xml_response(&answer)
}

fn xml_response(fields: &Fields) -> Response {
    ([(CONTENT_TYPE, "text/xml; charset=utf-8")], xml::write(fields)).into_response()
}
