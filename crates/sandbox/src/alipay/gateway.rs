//! `gateway.do`: checks a request as Alipay does (common parameters, app, signature), runs
//! the method's rule under the lock, and answers with the signed body.
//!
//! Order of checks, each answered under `<method>_response` once the method is known and
//! under `error_response` before that: `method` (40001 `isv.missing-method`, 40002
//! `isv.invalid-method`), then `app_id`, `sign`, `sign_type`, `timestamp`, `version`
//! (40001 `isv.missing-…`), then the app (40002 `isv.invalid-app-id`), the signature type
//! (40002 `isv.invalid-signature-type`, only `RSA2`), the signature (40002
//! `isv.invalid-signature`), and last `biz_content` (40004 `ACQ.INVALID_PARAMETER`).
//!
//! An answer is signed only when the request names a registered app: Alipay keeps a key
//! per app, so it has none to sign with for an unknown one. Real answers to an invalid
//! app id come without `sign` (fzlee/alipay issues 20 and 59 quote them), while an invalid
//! signature is answered, signed, under the method's key (the sample in alipay-sdk 4.14.0's
//! `src/alipay.ts`).
//! `timestamp` must be present but its value is not checked: the Node SDK sends the
//! client machine's local time, which is Beijing time only on machines set to it.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::Uri;
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::{Map, Value};

use super::AlipaySandbox;
use super::answer::{Refusal, json_response, signed_body, unsigned_body};
use super::book::{Outcome, object};
use super::params::Params;

/// The methods the simulator knows.
const METHODS: [&str; 9] = [
    "alipay.trade.precreate",
    "alipay.trade.pay",
    "alipay.trade.query",
    "alipay.trade.cancel",
    "alipay.trade.close",
    "alipay.trade.refund",
    "alipay.trade.fastpay.refund.query",
    "alipay.trade.page.pay",
    "alipay.trade.wap.pay",
];

/// `GET` or `POST /gateway.do`. The URI's query is read whether the request target was in
/// origin form (`/gateway.do?…`) or absolute form (`http://host/gateway.do?…`, as the
/// official Python SDK sends it).
pub(crate) async fn gateway(State(sandbox): State<AlipaySandbox>, uri: Uri, body: Bytes) -> Response {
    let params = Params::read(uri.query(), &body);
    let signed = params.get("app_id").and_then(|app_id| sandbox.app_key(app_id)).is_some();
    let Some(method) = params.get("method").filter(|method| METHODS.contains(method)) else {
        let refusal = match params.get("method") {
            None => Refusal::missing("isv.missing-method", "缺少方法名参数"),
            Some(_) => Refusal::invalid("isv.invalid-method", "不存在的方法名"),
        };
        return sandbox.answer("error_response", refusal.into_fields(), signed);
    };
    let response_key = format!("{}_response", method.replace('.', "_"));
    let fields = match sandbox.run(method, &params) {
        Ok(Ran::Answer(fields)) => fields,
        Ok(Ran::Redirect(location)) => return Redirect::to(&location).into_response(),
        Err(refusal) => {
            tracing::info!(method, sub_code = refusal.sub_code(), "alipay sandbox refused a request");
            refusal.into_fields()
        }
    };
    sandbox.answer(&response_key, fields, signed)
}

/// What a request came to.
enum Ran {
    Answer(Map<String, Value>),
    /// A page flow: the browser goes to the buyer page.
    Redirect(String),
}

impl AlipaySandbox {
    fn answer(&self, response_key: &str, fields: Map<String, Value>, signed: bool) -> Response {
        if signed {
            json_response(signed_body(&self.shared.alipay_key, response_key, &fields))
        } else {
            json_response(unsigned_body(response_key, &fields))
        }
    }

    fn run(&self, method: &str, params: &Params) -> Result<Ran, Refusal> {
        let app_id = authenticate(self, params)?;
        let biz = params.biz()?;
        if biz.notify_url.as_deref().is_some_and(|url| !self.notify_url_allowed(url)) {
            return Err(Refusal::parameter("notify_url"));
        }
        let now = self.shared.clock.now();
        let mut book = self.book();
        let outcome = match method {
            "alipay.trade.precreate" => {
                let trade = book.create(&app_id, &biz, now, false)?;
                let qr_code = format!("{}/buyer/{}", self.shared.public_base_url, trade.trade_no);
                let fields = serde_json::json!({"out_trade_no": trade.out_trade_no, "qr_code": qr_code});
                Outcome { fields: super::answer::success(object(fields)), notice: None }
            }
            "alipay.trade.page.pay" | "alipay.trade.wap.pay" => {
                let trade = book.create(&app_id, &biz, now, true)?;
                return Ok(Ran::Redirect(format!("{}/buyer/{}", self.shared.public_base_url, trade.trade_no)));
            }
            "alipay.trade.pay" => book.pay(&app_id, &biz, now)?,
            "alipay.trade.query" => book.query(&app_id, &biz, now)?,
            "alipay.trade.cancel" => book.cancel(&app_id, &biz, now)?,
            "alipay.trade.close" => book.close(&app_id, &biz)?,
            "alipay.trade.refund" => book.refund(&app_id, &biz, now)?,
            _ => book.refund_query(&app_id, &biz)?,
        };
        drop(book);
        if let Some(notice) = outcome.notice {
            self.shared.notifier.send(notice);
        }
        Ok(Ran::Answer(outcome.fields))
    }
}

/// The app that signed the request, once every common parameter and the signature check
/// out.
fn authenticate(sandbox: &AlipaySandbox, params: &Params) -> Result<String, Refusal> {
    let required = [
        ("app_id", "isv.missing-app-id"),
        ("sign", "isv.missing-signature"),
        ("sign_type", "isv.missing-signature-type"),
        ("timestamp", "isv.missing-timestamp"),
        ("version", "isv.missing-version"),
    ];
    for (name, sub_code) in required {
        if params.get(name).is_none() {
            return Err(Refusal::missing(sub_code, &format!("缺少{name}参数")));
        }
    }
    let app_id = params.get("app_id").unwrap_or_default();
    let Some(app_key) = sandbox.app_key(app_id) else {
        return Err(Refusal::invalid("isv.invalid-app-id", "无效的AppID参数"));
    };
    if params.get("sign_type") != Some("RSA2") {
        return Err(Refusal::invalid("isv.invalid-signature-type", "无效的签名类型"));
    }
    let content = params.signed_content();
    if !app_key.verify_base64(content.as_bytes(), params.get("sign").unwrap_or_default()) {
        // Alipay names the string it verified, so a developer can compare it with theirs.
        return Err(Refusal::invalid("isv.invalid-signature", &format!("验签出错，网关生成的验签字符串为：{content}")));
    }
    Ok(app_id.to_owned())
}
