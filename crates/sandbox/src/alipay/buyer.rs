//! The sandbox buyer: the page a QR code (or a page/WAP pay redirect) leads to, where a
//! tester pays or declines, and the control routes that pay a waiting trade at once or
//! end a paid trade's refund period.
//!
//! Opening the page is "scanning": from then on Alipay knows the trade, as in production.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};

use super::AlipaySandbox;
use super::book::{COUPON_MINOR, Status, format_yuan};
use super::notify::{return_params, signed_form};

/// `GET /buyer/{trade_no}`.
pub(crate) async fn show(State(sandbox): State<AlipaySandbox>, Path(trade_no): Path<String>) -> Response {
    let mut book = sandbox.book();
    let Ok(trade) = book.trade_mut(&trade_no) else {
        return (StatusCode::NOT_FOUND, Html(page("Alipay sandbox", "<p>No such trade.</p>"))).into_response();
    };
    trade.scanned = true;
    let amount = format_yuan(trade.total_minor);
    let subject = escape(&trade.subject);
    let body = match trade.status {
        Status::WaitBuyerPay => format!(
            r#"<p class="subject">{subject}</p><p class="amount">¥{amount}</p>
<form method="post" action="{trade_no}/pay"><button type="submit">Pay</button></form>{coupon}
<form method="post" action="{trade_no}/decline"><button type="submit">Decline</button></form>"#,
            coupon = if trade.total_minor > COUPON_MINOR {
                format!(
                    r#"<form method="post" action="{trade_no}/pay_with_coupon"><button type="submit">Pay with a ¥{} voucher</button></form>"#,
                    format_yuan(COUPON_MINOR)
                )
            } else {
                String::new()
            },
        ),
        status => {
            format!(r#"<p class="subject">{subject}</p><p class="amount">¥{amount}</p><p>{}</p>"#, status.as_str())
        }
    };
    Html(page("Alipay sandbox cashier", &body)).into_response()
}

/// `POST /buyer/{trade_no}/pay`: pays, notifies, and returns the browser to the
/// merchant's `return_url` if the trade has one.
pub(crate) async fn pay(State(sandbox): State<AlipaySandbox>, Path(trade_no): Path<String>) -> Response {
    buyer_paid(&sandbox, &trade_no, false)
}

/// `POST /buyer/{trade_no}/pay_with_coupon`: as `pay`, but an Alipay-funded voucher of
/// [`COUPON_MINOR`] pays part (the payer pays less; the merchant receives the whole).
pub(crate) async fn pay_with_coupon(State(sandbox): State<AlipaySandbox>, Path(trade_no): Path<String>) -> Response {
    buyer_paid(&sandbox, &trade_no, true)
}

fn buyer_paid(sandbox: &AlipaySandbox, trade_no: &str, with_coupon: bool) -> Response {
    match sandbox.pay_now(trade_no, with_coupon) {
        Ok(Some(return_url)) => Redirect::to(&return_url).into_response(),
        Ok(None) => Html(page("Alipay sandbox", "<p>Paid.</p>")).into_response(),
        Err(sub_code) => {
            (StatusCode::CONFLICT, Html(page("Alipay sandbox", &format!("<p>{sub_code}</p>")))).into_response()
        }
    }
}

/// `POST /buyer/{trade_no}/decline`: the buyer refuses; the unpaid trade closes.
pub(crate) async fn decline(State(sandbox): State<AlipaySandbox>, Path(trade_no): Path<String>) -> Response {
    match sandbox.book().buyer_declines(&trade_no) {
        Ok(()) => Html(page("Alipay sandbox", "<p>Declined.</p>")).into_response(),
        Err(refusal) => (StatusCode::CONFLICT, Html(page("Alipay sandbox", &format!("<p>{}</p>", refusal.sub_code()))))
            .into_response(),
    }
}

/// `POST /control/trades/{trade_no}/pay`: sandbox-only; a waiting trade (a QR nobody
/// scanned, a payment code whose payer "has not confirmed") is paid now, as if the buyer
/// had. Answers `{"trade_status":"TRADE_SUCCESS"}`, or 409 `{"sub_code":…}`.
pub(crate) async fn control_pay(State(sandbox): State<AlipaySandbox>, Path(trade_no): Path<String>) -> Response {
    match sandbox.pay_now(&trade_no, false) {
        Ok(_) => Json(serde_json::json!({"trade_status": "TRADE_SUCCESS"})).into_response(),
        Err(sub_code) => (StatusCode::CONFLICT, Json(serde_json::json!({"sub_code": sub_code}))).into_response(),
    }
}

/// `POST /control/trades/{trade_no}/finish`: sandbox-only; a paid trade's refund period
/// ends now (`TRADE_FINISHED`, notified). Answers `{"trade_status":"TRADE_FINISHED"}`, or
/// 409 `{"sub_code":…}`.
pub(crate) async fn control_finish(State(sandbox): State<AlipaySandbox>, Path(trade_no): Path<String>) -> Response {
    let now = sandbox.shared.clock.now();
    let finished = sandbox.book().finish(&trade_no, now);
    match finished {
        Ok(notice) => {
            if let Some(notice) = notice {
                sandbox.shared.notifier.send(notice);
            }
            Json(serde_json::json!({"trade_status": "TRADE_FINISHED"})).into_response()
        }
        Err(refusal) => {
            (StatusCode::CONFLICT, Json(serde_json::json!({"sub_code": refusal.sub_code()}))).into_response()
        }
    }
}

impl AlipaySandbox {
    /// Pays the trade and sends its notification; where the browser goes next (the
    /// trade's `return_url` with Alipay's signed parameters), if anywhere.
    fn pay_now(&self, trade_no: &str, with_coupon: bool) -> Result<Option<String>, &'static str> {
        let now = self.shared.clock.now();
        let mut book = self.book();
        let notice = book.buyer_pays(trade_no, with_coupon, now).map_err(|refusal| refusal.sub_code())?;
        let back = book
            .trade_mut(trade_no)
            .ok()
            .and_then(|trade| Some((trade.return_url.clone()?, return_params(trade, now))));
        drop(book);
        if let Some(notice) = notice {
            self.shared.notifier.send(notice);
        }
        let Some((return_url, params)) = back else { return Ok(None) };
        let (_, query) = signed_form(&self.shared.alipay_key, params).ok_or("isp.unknow-error")?;
        let separator = if return_url.contains('?') { '&' } else { '?' };
        Ok(Some(format!("{return_url}{separator}{query}")))
    }
}

fn page(title: &str, body: &str) -> String {
    format!(
        r#"<!doctype html><html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>{title}</title></head><body><h1>{title}</h1>{body}<p><small>Sandbox: no real money moves.</small></p></body></html>"#
    )
}

/// Text for HTML: the subject is the merchant's, and may hold markup.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}
