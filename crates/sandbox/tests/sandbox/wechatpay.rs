//! The WeChat Pay simulator's router without a socket: what it refuses before any rule
//! runs, how its answers are signed, its memory limit, and the buyer page.

use std::sync::Arc;

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::http::{Method, Request, StatusCode};
use payrail_channels::wechatpay::signing::{self, RequestSignature};
use payrail_crypto::rsa::{RsaPrivateKey, RsaPublicKey};
use payrail_domain::Timestamp;
use payrail_sandbox::{WechatPay, WechatPayCredentials, wechatpay_router};
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::helpers::{FixedClock, START_MS};

const PREFIX: &str = "/sandbox/wechatpay";
const BASE_URL: &str = "https://payrail.test/sandbox/wechatpay";

struct Simulator {
    router: Router,
    credentials: WechatPayCredentials,
}

struct Answer {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: Vec<u8>,
}

impl Simulator {
    fn start(objects_max: usize) -> Simulator {
        Simulator::start_with(objects_max, |_| {})
    }

    fn start_with(objects_max: usize, configure: impl FnOnce(&WechatPay)) -> Simulator {
        let clock = Arc::new(FixedClock(Timestamp::from_unix_ms(START_MS).unwrap()));
        let simulator = WechatPay::with_limits(BASE_URL, clock, objects_max, 1_000).unwrap();
        configure(&simulator);
        let credentials = simulator.add_merchant().unwrap();
        Simulator { router: Router::new().nest(PREFIX, wechatpay_router(simulator)), credentials }
    }

    /// A v3 call signed as the merchant over the full path (prefix included).
    async fn v3(&self, method: Method, path: &str, body: &str) -> Answer {
        self.v3_signed_over(method, path, body, body).await
    }

    /// A v3 call whose signature covers `signed_body` while `sent_body` is sent.
    async fn v3_signed_over(&self, method: Method, path: &str, signed_body: &str, sent_body: &str) -> Answer {
        let key = RsaPrivateKey::from_pem(self.credentials.merchant_private_key_pem.expose()).unwrap();
        let url = format!("{PREFIX}{path}");
        let signature = RequestSignature {
            mchid: &self.credentials.mchid,
            serial_no: &self.credentials.merchant_serial_no,
            method: method.as_str(),
            canonical_url: &url,
            timestamp: START_MS / 1000,
            nonce: "NONCE",
            body: signed_body.as_bytes(),
        };
        let authorization = signing::authorization(&key, &signature).unwrap();
        self.send(Request::builder().method(method).uri(url).header("authorization", authorization), sent_body).await
    }

    async fn send(&self, request: axum::http::request::Builder, body: &str) -> Answer {
        let request = request.header("content-type", "application/json").body(Body::from(body.to_owned())).unwrap();
        let response = self.router.clone().oneshot(request).await.unwrap();
        let (parts, body) = response.into_parts();
        Answer { status: parts.status, headers: parts.headers, body: to_bytes(body, 1 << 20).await.unwrap().to_vec() }
    }

    fn order(&self, out_trade_no: &str) -> String {
        json!({
            "appid": self.credentials.appid, "mchid": self.credentials.mchid, "description": "test",
            "out_trade_no": out_trade_no, "notify_url": "https://shop.test/notify", "amount": {"total": 100},
        })
        .to_string()
    }
}

fn code(answer: &Answer) -> String {
    serde_json::from_slice::<Value>(&answer.body).unwrap()["code"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn unsigned_or_badly_signed_requests_get_401_sign_error_with_a_request_id() {
    let simulator = Simulator::start(10);
    let order = simulator.order("PAY_unsigned_1");
    let unsigned = simulator
        .send(Request::builder().method(Method::POST).uri(format!("{PREFIX}/v3/pay/transactions/native")), &order)
        .await;
    assert_eq!((unsigned.status, code(&unsigned)), (StatusCode::UNAUTHORIZED, "SIGN_ERROR".to_owned()));
    assert!(unsigned.headers.contains_key("request-id"));
    assert!(!unsigned.headers.contains_key("wechatpay-signature"), "errors are not signed");
    let signed = simulator.v3(Method::POST, "/v3/pay/transactions/native", &order).await;
    assert_eq!(signed.status, StatusCode::OK);
    assert!(signed.headers.contains_key("wechatpay-signature"));
    let other = simulator.order("PAY_unsigned_2");
    let forged = simulator.v3_signed_over(Method::POST, "/v3/pay/transactions/native", &order, &other).await;
    assert_eq!((forged.status, code(&forged)), (StatusCode::UNAUTHORIZED, "SIGN_ERROR".to_owned()));
}

#[tokio::test]
async fn a_close_answers_204_with_all_five_signature_headers_over_the_empty_body() {
    let simulator = Simulator::start(10);
    simulator.v3(Method::POST, "/v3/pay/transactions/native", &simulator.order("PAY_close_s01")).await;
    let body = json!({"mchid": simulator.credentials.mchid}).to_string();
    let closed = simulator.v3(Method::POST, "/v3/pay/transactions/out-trade-no/PAY_close_s01/close", &body).await;
    assert_eq!(closed.status, StatusCode::NO_CONTENT);
    assert!(closed.body.is_empty());
    let header = |name: &str| closed.headers.get(name).unwrap().to_str().unwrap().to_owned();
    assert_eq!(header("wechatpay-signature-type"), "WECHATPAY2-SHA256-RSA2048");
    assert_eq!(header("wechatpay-serial"), simulator.credentials.platform_public_key_id);
    assert!(header("wechatpay-serial").starts_with("PUB_KEY_ID_"));
    let platform = RsaPublicKey::from_pem(&simulator.credentials.platform_public_key_pem).unwrap();
    let message = signing::response_message(&header("wechatpay-timestamp"), &header("wechatpay-nonce"), b"");
    assert!(platform.verify_base64(&message, &header("wechatpay-signature")));
    assert!(closed.headers.contains_key("request-id"));
}

#[tokio::test]
async fn new_trades_beyond_the_memory_limit_are_refused_and_nothing_is_stored() {
    let simulator = Simulator::start(2);
    for number in ["PAY_limit_0001", "PAY_limit_0002"] {
        assert_eq!(
            simulator.v3(Method::POST, "/v3/pay/transactions/native", &simulator.order(number)).await.status,
            200
        );
    }
    let refused = simulator.v3(Method::POST, "/v3/pay/transactions/native", &simulator.order("PAY_limit_0003")).await;
    assert_eq!((refused.status, code(&refused)), (StatusCode::SERVICE_UNAVAILABLE, "SYSTEM_ERROR".to_owned()));
    let query = format!("/v3/pay/transactions/out-trade-no/PAY_limit_0003?mchid={}", simulator.credentials.mchid);
    let missing = simulator.v3(Method::GET, &query, "").await;
    assert_eq!((missing.status, code(&missing)), (StatusCode::NOT_FOUND, "ORDER_NOT_EXIST".to_owned()));
}

#[tokio::test]
async fn v2_requests_with_a_wrong_md5_sign_or_carrying_a_doctype_get_return_code_fail() {
    let simulator = Simulator::start(10);
    let md5 = format!(
        "<xml><appid>{}</appid><mch_id>{}</mch_id><nonce_str>n</nonce_str><out_trade_no>MP_md5_00001</out_trade_no>\
         <sign>0123456789ABCDEF0123456789ABCDEF</sign></xml>",
        simulator.credentials.appid, simulator.credentials.mchid
    );
    let answer =
        simulator.send(Request::builder().method(Method::POST).uri(format!("{PREFIX}/pay/orderquery")), &md5).await;
    let text = String::from_utf8(answer.body).unwrap();
    assert!(text.contains("<return_code><![CDATA[FAIL]]></return_code>"), "{text}");
    assert!(text.contains("签名错误"), "{text}");
    let doctype = "<!DOCTYPE xml [<!ENTITY e SYSTEM \"file:///etc/passwd\">]><xml><mch_id>&e;</mch_id></xml>";
    let answer =
        simulator.send(Request::builder().method(Method::POST).uri(format!("{PREFIX}/pay/micropay")), doctype).await;
    assert!(String::from_utf8(answer.body).unwrap().contains("FAIL"));
}

#[tokio::test]
async fn the_buyer_page_shows_the_amount_and_an_unknown_token_is_not_found() {
    let simulator = Simulator::start(10);
    let placed = simulator.v3(Method::POST, "/v3/pay/transactions/native", &simulator.order("PAY_page_00001")).await;
    let code_url = serde_json::from_slice::<Value>(&placed.body).unwrap()["code_url"].as_str().unwrap().to_owned();
    let token = code_url.split("pr=").nth(1).unwrap();
    let page = simulator.send(Request::builder().uri(format!("{PREFIX}/buyer/{token}")), "").await;
    let html = String::from_utf8(page.body).unwrap();
    assert!(html.contains("¥1.00") && html.contains(&format!("{BASE_URL}/buyer/{token}/pay")), "{html}");
    let unknown = simulator.send(Request::builder().uri(format!("{PREFIX}/buyer/nothing")), "").await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn secapi_is_not_served_over_plain_http() {
    let simulator = Simulator::start(10);
    let request = Request::builder().method(Method::POST).uri(format!("{PREFIX}/secapi/pay/reverse"));
    let answer = simulator.send(request, "<xml></xml>").await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND, "reverse needs the mutual-TLS listener");
}

#[tokio::test]
async fn a_simulator_restored_from_kept_keys_signs_as_before_and_knows_its_merchants() {
    let clock = Arc::new(FixedClock(Timestamp::from_unix_ms(START_MS).unwrap()));
    let first = WechatPay::with_limits(BASE_URL, clock.clone(), 100, 1_000).unwrap();
    let issued = first.add_merchant().unwrap();
    let kept: payrail_sandbox::KeptKeys =
        serde_json::from_str(&serde_json::to_string(&first.kept_keys().unwrap()).unwrap()).unwrap();
    assert!(!format!("{kept:?}").contains(issued.apiv3_key.expose()), "Debug must mask the kept secrets");

    let second = WechatPay::with_kept_platform_key(BASE_URL, clock, &kept, 100, 1_000).unwrap();
    let restored = second.restore_merchant(&kept.merchants[0]).unwrap();
    assert_eq!(restored.mchid, issued.mchid);
    assert_eq!(restored.merchant_serial_no, issued.merchant_serial_no);
    assert_eq!(restored.platform_public_key_id, issued.platform_public_key_id);
    assert_eq!(restored.platform_public_key_pem, issued.platform_public_key_pem);
    assert_eq!(restored.apiv3_key.expose(), issued.apiv3_key.expose());
    assert_eq!(restored.v2_key.expose(), issued.v2_key.expose());

    // The restored simulator accepts the merchant's signed requests and signs with the kept key.
    let simulator = Simulator { router: Router::new().nest(PREFIX, wechatpay_router(second)), credentials: issued };
    let answer = simulator.v3(Method::POST, "/v3/pay/transactions/native", &simulator.order("T-KEPT-1")).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", String::from_utf8_lossy(&answer.body));
    let platform = RsaPublicKey::from_pem(&simulator.credentials.platform_public_key_pem).unwrap();
    let header = |name: &str| answer.headers.get(name).unwrap().to_str().unwrap().to_owned();
    let message = format!(
        "{}\n{}\n{}\n",
        header("wechatpay-timestamp"),
        header("wechatpay-nonce"),
        String::from_utf8_lossy(&answer.body)
    );
    assert!(platform.verify_base64(message.as_bytes(), &header("wechatpay-signature")));
}

#[tokio::test]
async fn a_simulator_told_where_notifications_may_go_refuses_any_other_notify_url() {
    let simulator = Simulator::start_with(10, |simulator| {
        simulator.allow_notify_urls_starting_with("https://shop.test/notify");
    });
    let allowed = simulator.v3(Method::POST, "/v3/pay/transactions/native", &simulator.order("PAY_notify_01")).await;
    assert_eq!(allowed.status, StatusCode::OK);
    let elsewhere =
        simulator.order("PAY_notify_02").replace("https://shop.test/notify", "http://169.254.169.254/latest");
    let refused = simulator.v3(Method::POST, "/v3/pay/transactions/native", &elsewhere).await;
    assert_eq!((refused.status, code(&refused)), (StatusCode::BAD_REQUEST, "PARAM_ERROR".to_owned()));
    let refund = json!({"out_trade_no": "PAY_notify_01", "out_refund_no": "RE_notify_01",
        "notify_url": "http://10.0.0.1/hook", "amount": {"refund": 1, "total": 100, "currency": "CNY"}});
    let refused = simulator.v3(Method::POST, "/v3/refund/domestic/refunds", &refund.to_string()).await;
    assert_eq!((refused.status, code(&refused)), (StatusCode::BAD_REQUEST, "PARAM_ERROR".to_owned()));
}
