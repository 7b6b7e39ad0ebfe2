//! The payer's side of a native (QR), JSAPI or H5 order: a page showing what is to be paid,
//! with "Pay" and "Decline" buttons that post back here.
//!
//! A native order's `code_url` is `weixin://wxpay/bizpayurl?pr=<token>`, as WeChat gives
//! it; in the real world the WeChat app opens it. Here the tester opens
//! `{base}/buyer/<token>` instead. Paying moves the trade to `SUCCESS` and sends the
//! `TRANSACTION.SUCCESS` notification; declining moves it to `PAYERROR`. Leaving the page
//! alone leaves the trade `NOTPAY` until the merchant closes it; past the order's
//! `time_expire` it can no longer be paid.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;

use super::WechatPay;
use super::book::{COUPON_FEN, Trade, TradeState};
use crate::page::{escape, page};

const SITE: &str = "WeChat Pay sandbox";

pub(crate) async fn show(State(simulator): State<WechatPay>, Path(token): Path<String>) -> Response {
    let Some(trade) = simulator.book().trade_by_token(&token).cloned() else { return not_found() };
    let base = escape(&simulator.shared.public_base_url);
    let token = escape(&token);
    let amount = yuan(trade.total_fen);
    let description = escape(&trade.description);
    let body = if matches!(trade.state, TradeState::NotPay) {
        format!(
            "<p class=\"amount\">¥{amount}</p><p>{description}</p>\
             <p class=\"note\">Order <code>{number}</code>. Sandbox: no money moves.</p>\
             <form method=\"post\" action=\"{base}/buyer/{token}/pay\"><button type=\"submit\">Pay</button></form>\
             {coupon}<form method=\"post\" action=\"{base}/buyer/{token}/decline\">\
             <button type=\"submit\" class=\"fail\">Decline</button></form>",
            number = escape(&trade.out_trade_no),
            coupon = if trade.total_fen > COUPON_FEN {
                format!(
                    "<form method=\"post\" action=\"{base}/buyer/{token}/pay_with_coupon\">\
                     <button type=\"submit\">Pay with a ¥{} coupon</button></form>",
                    yuan(COUPON_FEN)
                )
            } else {
                String::new()
            },
        )
    } else {
        format!("<p class=\"amount\">¥{amount}</p><p>This order is {}.</p>", trade.state.as_str())
    };
    page(StatusCode::OK, "Confirm payment", SITE, &body)
}

pub(crate) async fn pay(State(simulator): State<WechatPay>, Path(token): Path<String>) -> Response {
    buyer_paid(&simulator, &token, 0)
}

/// As `pay`, a WeChat-funded coupon of [`COUPON_FEN`] paying part: the payer pays less
/// (`payer_total`), the merchant receives the whole.
pub(crate) async fn pay_with_coupon(State(simulator): State<WechatPay>, Path(token): Path<String>) -> Response {
    buyer_paid(&simulator, &token, COUPON_FEN)
}

fn buyer_paid(simulator: &WechatPay, token: &str, coupon_fen: i64) -> Response {
    let Some(trade) = simulator.book().trade_by_token(token).cloned() else { return not_found() };
    let paid = simulator.book().pay_with(&trade.mchid, &trade.out_trade_no, coupon_fen, simulator.now());
    match paid {
        Ok(paid) => {
            tracing::info!(mchid = %paid.mchid, out_trade_no = %paid.out_trade_no, "wechat pay simulator buyer paid");
            simulator.notify_transaction(&paid);
            finished(&paid, "Paid")
        }
        Err(error) => page(StatusCode::CONFLICT, "This order cannot be paid", SITE, &escape(&error.message)),
    }
}

pub(crate) async fn decline(State(simulator): State<WechatPay>, Path(token): Path<String>) -> Response {
    let Some(trade) = simulator.book().trade_by_token(&token).cloned() else { return not_found() };
    let declined = simulator.book().set_unpaid_state(&trade.mchid, &trade.out_trade_no, TradeState::PayError);
    match declined {
        Ok(declined) => finished(&declined, "Declined"),
        Err(error) => page(StatusCode::CONFLICT, "This order cannot be declined", SITE, &escape(&error.message)),
    }
}

fn finished(trade: &Trade, title: &str) -> Response {
    let body =
        format!("<p class=\"amount\">¥{}</p><p>The order is now {}.</p>", yuan(trade.total_fen), trade.state.as_str());
    page(StatusCode::OK, title, SITE, &body)
}

fn not_found() -> Response {
    page(StatusCode::NOT_FOUND, "No such order", SITE, "<p>This payment link is unknown or has expired.</p>")
}

/// Fen as yuan with two decimals, by integer arithmetic.
fn yuan(fen: i64) -> String {
    format!("{}.{:02}", fen / 100, fen % 100)
}
