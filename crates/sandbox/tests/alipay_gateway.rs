//! The Alipay simulator's gateway without a socket: how it reads a request (query, form,
//! both, absolute-form target, GET), the exact shape of its signed answers, which
//! refusals it signs, its checks in order, and its memory limit. Requests are signed here
//! by hand, independently of the channel client.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, header};
use payrail_crypto::rsa::RsaPrivateKey;
use payrail_domain::{Clock, Timestamp};
use payrail_sandbox::{AlipaySandbox, alipay_router};
use serde_json::Value;
use tower::ServiceExt;

const BASE_URL: &str = "http://sandbox.test/sandbox/alipay";

struct FixedClock;

impl Clock for FixedClock {
    fn now(&self) -> Timestamp {
        Timestamp::from_unix_ms(1_780_000_000_000).unwrap()
    }
}

struct Gateway {
    sandbox: AlipaySandbox,
    app_id: String,
    app_key: RsaPrivateKey,
}

impl Gateway {
    fn new(objects_max: usize) -> Gateway {
        let sandbox = AlipaySandbox::with_limits(BASE_URL, Arc::new(FixedClock), objects_max, 1).unwrap();
        let credentials = sandbox.create_app().unwrap();
        let app_key = RsaPrivateKey::from_pem(credentials.app_private_key_pem.expose()).unwrap();
        Gateway { sandbox, app_id: credentials.app_id, app_key }
    }

    /// The common parameters of `method` with `biz_content`, signed (or not).
    fn params(&self, method: &str, biz_content: &str, signed: bool) -> Vec<(String, String)> {
        let mut params: Vec<(String, String)> = [
            ("app_id", self.app_id.as_str()),
            ("method", method),
            ("charset", "utf-8"),
            ("sign_type", "RSA2"),
            ("timestamp", "2026-05-29 04:26:40"),
            ("version", "1.0"),
            ("biz_content", biz_content),
        ]
        .into_iter()
        .map(|(key, value)| (key.to_owned(), value.to_owned()))
        .collect();
        params.sort();
        if signed {
            let content: Vec<String> = params.iter().map(|(key, value)| format!("{key}={value}")).collect();
            params.push(("sign".to_owned(), self.app_key.sign_base64(content.join("&").as_bytes()).unwrap()));
        }
        params
    }

    /// Sends `query` in the URL (of `target`'s form) and `body` as a form.
    async fn send(&self, method: &str, target: &str, query: &[(String, String)], body: &[(String, String)]) -> String {
        let request = Request::builder()
            .method(method)
            .uri(format!("{target}?{}", encode(query)))
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded;charset=utf-8")
            .body(Body::from(encode(body)))
            .unwrap();
        let response = alipay_router(self.sandbox.clone()).oneshot(request).await.unwrap();
        assert_eq!(response.status(), 200);
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20).await.unwrap();
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    /// Checks the answer's shape and signature: exactly `{"<key>":{…},"sign":"…"}`.
    fn verified(&self, body: &str, response_key: &str) -> Value {
        let prefix = format!("{{\"{response_key}\":");
        let (object, sign) = body.strip_prefix(&prefix).unwrap().rsplit_once(",\"sign\":\"").unwrap();
        let sign = sign.strip_suffix("\"}").unwrap();
        assert!(self.sandbox.alipay_public_key().verify_base64(object.as_bytes(), sign), "{body}");
        serde_json::from_str(object).unwrap()
    }
}

fn encode(params: &[(String, String)]) -> String {
    form_urlencoded::Serializer::new(String::new()).extend_pairs(params).finish()
}

const QUERY_BIZ: &str = r#"{"out_trade_no":"o1"}"#;
const PRECREATE_BIZ: &str = r#"{"out_trade_no":"o1","total_amount":"12.3","subject":"Tea"}"#;

#[tokio::test]
async fn a_request_is_read_from_the_query_the_form_or_both_and_from_an_absolute_target() {
    let gateway = Gateway::new(100);
    let params = gateway.params("alipay.trade.precreate", PRECREATE_BIZ, true);
    let (body, query): (Vec<_>, Vec<_>) = params.iter().cloned().partition(|(key, _)| key == "biz_content");
    let mixed = gateway.send("POST", "/gateway.do", &query, &body).await;
    let answer = gateway.verified(&mixed, "alipay_trade_precreate_response");
    assert_eq!(answer["code"], "10000");
    assert_eq!(answer["qr_code"].as_str().unwrap(), format!("{BASE_URL}/buyer/20260529220000000000000001"));
    assert!(mixed.contains(r#""qr_code":"http:\/\/sandbox.test\/sandbox\/alipay\/buyer\/"#), "{mixed}");

    let query = gateway.params("alipay.trade.query", QUERY_BIZ, true);
    for (method, target, query, body) in [
        ("GET", "/gateway.do", query.clone(), Vec::new()),
        ("POST", "/gateway.do", Vec::new(), query.clone()),
        ("POST", "http://sandbox.test/gateway.do", query.clone(), Vec::new()),
    ] {
        let answer =
            gateway.verified(&gateway.send(method, target, &query, &body).await, "alipay_trade_query_response");
        // Not scanned yet: Alipay does not know a precreated trade.
        assert_eq!(answer["sub_code"], "ACQ.TRADE_NOT_EXIST", "{method} {target}");
    }
}

#[tokio::test]
async fn checks_run_in_order_and_refusals_are_signed_only_for_a_known_app() {
    let gateway = Gateway::new(100);
    let check = |params: Vec<(String, String)>, response_key: &'static str, sub_code: &'static str| {
        let gateway = &gateway;
        async move {
            let body = gateway.send("POST", "/gateway.do", &params, &[]).await;
            let answer = gateway.verified(&body, response_key);
            assert_eq!(answer["sub_code"], sub_code, "{body}");
        }
    };
    let without = |key: &str, params: Vec<(String, String)>| params.into_iter().filter(|(k, _)| k != key).collect();
    let query = || gateway.params("alipay.trade.query", QUERY_BIZ, true);
    check(without("method", query()), "error_response", "isv.missing-method").await;
    let unknown_method = gateway.params("alipay.trade.nothing", QUERY_BIZ, true);
    check(unknown_method, "error_response", "isv.invalid-method").await;
    check(without("sign", query()), "alipay_trade_query_response", "isv.missing-signature").await;
    check(without("timestamp", query()), "alipay_trade_query_response", "isv.missing-timestamp").await;
    let mut rsa1 = query();
    rsa1.iter_mut().filter(|(key, _)| key == "sign_type").for_each(|(_, value)| *value = "RSA".to_owned());
    check(rsa1, "alipay_trade_query_response", "isv.invalid-signature-type").await;
    let mut tampered = query();
    tampered.iter_mut().filter(|(key, _)| key == "biz_content").for_each(|(_, value)| value.push(' '));
    check(tampered, "alipay_trade_query_response", "isv.invalid-signature").await;
    check(gateway.params("alipay.trade.query", "[1]", true), "alipay_trade_query_response", "ACQ.INVALID_PARAMETER")
        .await;

    let mut stranger = query();
    stranger.iter_mut().filter(|(key, _)| key == "app_id").for_each(|(_, value)| *value = "9021999".to_owned());
    let body = gateway.send("POST", "/gateway.do", &stranger, &[]).await;
    assert!(
        body.starts_with(r#"{"alipay_trade_query_response":{"code":"40002""#) && !body.contains("sign\":"),
        "{body}"
    );
    assert!(body.contains("isv.invalid-app-id"), "{body}");
}

#[tokio::test]
async fn a_full_memory_refuses_new_trades_with_an_unknown_error() {
    let gateway = Gateway::new(1);
    let first = gateway.params("alipay.trade.precreate", PRECREATE_BIZ, true);
    let answer =
        gateway.verified(&gateway.send("POST", "/gateway.do", &first, &[]).await, "alipay_trade_precreate_response");
    assert_eq!(answer["code"], "10000");
    let second = gateway.params("alipay.trade.precreate", &PRECREATE_BIZ.replace("o1", "o2"), true);
    let answer =
        gateway.verified(&gateway.send("POST", "/gateway.do", &second, &[]).await, "alipay_trade_precreate_response");
    assert_eq!((answer["code"].as_str(), answer["sub_code"].as_str()), (Some("20000"), Some("isp.unknow-error")));
}

#[tokio::test]
async fn amounts_out_of_range_and_missing_fields_are_invalid_parameters() {
    let gateway = Gateway::new(100);
    for biz in [
        r#"{"out_trade_no":"o1","total_amount":"0","subject":"Tea"}"#,
        r#"{"out_trade_no":"o1","total_amount":"1.234","subject":"Tea"}"#,
        r#"{"out_trade_no":"o1","total_amount":"12.30"}"#,
    ] {
        let params = gateway.params("alipay.trade.precreate", biz, true);
        let body = gateway.send("POST", "/gateway.do", &params, &[]).await;
        assert_eq!(gateway.verified(&body, "alipay_trade_precreate_response")["sub_code"], "ACQ.INVALID_PARAMETER");
    }
}

#[tokio::test]
async fn notify_urls_outside_the_allowed_prefixes_are_refused() {
    let gateway = Gateway::new(100);
    gateway.sandbox.allow_notify_urls_starting_with("https://payrail.test/notify/");
    for (notify_url, code) in
        [("http://169.254.169.254/latest", "40004"), ("https://payrail.test/notify/alipay", "10000")]
    {
        let mut params = gateway.params("alipay.trade.precreate", PRECREATE_BIZ, false);
        params.push(("notify_url".to_owned(), notify_url.to_owned()));
        params.sort();
        let content: Vec<String> = params.iter().map(|(key, value)| format!("{key}={value}")).collect();
        params.push(("sign".to_owned(), gateway.app_key.sign_base64(content.join("&").as_bytes()).unwrap()));
        let body = gateway.send("POST", "/gateway.do", &params, &[]).await;
        assert_eq!(gateway.verified(&body, "alipay_trade_precreate_response")["code"], code, "{notify_url}");
    }
}

#[tokio::test]
async fn a_sandbox_built_with_a_kept_key_signs_with_it_and_knows_registered_apps() {
    let alipay_key = RsaPrivateKey::generate().unwrap();
    let alipay_public = alipay_key.public_key().unwrap();
    let sandbox = AlipaySandbox::with_alipay_key(BASE_URL, Arc::new(FixedClock), alipay_key, 10, 1).unwrap();
    assert_eq!(sandbox.alipay_public_key(), &alipay_public);
    assert_eq!(sandbox.gateway_url(), format!("{BASE_URL}/gateway.do"));
    let app_key = RsaPrivateKey::generate().unwrap();
    assert!(sandbox.register_app("2021000000000001", app_key.public_key().unwrap()));
    let gateway = Gateway { sandbox, app_id: "2021000000000001".to_owned(), app_key };
    let params = gateway.params("alipay.trade.precreate", PRECREATE_BIZ, true);
    let body = gateway.send("POST", "/gateway.do", &params, &[]).await;
    assert_eq!(gateway.verified(&body, "alipay_trade_precreate_response")["code"], "10000");
}
