//! `wechat_jsapi` (inside WeChat, the merchant's page hands the signed parameters to the JS
//! bridge) and `wechat_h5` (a mobile browser, sent to WeChat's `h5_url`), end to end with
//! the WeChat Pay simulator, and their bad input.

use payrail_crypto::rsa::RsaPrivateKey;
use payrail_testkit::on_each_backend;
use serde_json::{Value, json};

use crate::alipay::{browser, payment_reaches};
use crate::helpers::TestApp;
use crate::wechatpay::{ledger_entries, notifications_delivered, wechatpay};

const OPENID: &str = "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o";

fn order(number: &str, method: Value) -> Value {
    json!({"amount": 1230, "currency": "cny", "merchant_order_no": number, "confirm": true,
        "return_url": "https://shop.example/done", "payment_method": method})
}

async fn pays_at(app: &TestApp, page: &str) {
    let paid = browser().post(format!("{page}/pay")).send().await.unwrap();
    assert_eq!(paid.status(), 200);
    notifications_delivered(app, 1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_jsapi_payment_hands_signed_bridge_parameters_to_the_page_and_succeeds_when_paid() {
    on_each_backend(|db| async {
        let app = TestApp::spawn_wechatpay(db).await;
        let method = json!({"type": "wechat_jsapi", "wechat_jsapi": {"openid": OPENID}});
        let payment = app.post_json("/v1/payments", &app.test_key, &order("jsapi-1", method)).await.body;
        assert_eq!(payment["status"], "requires_action", "{payment}");
        assert_eq!(payment["payment_method"]["type"], "wechat_jsapi");
        let bridge = &payment["next_action"]["wechat_jsapi"];
        assert_eq!(payment["next_action"]["type"], "wechat_jsapi");
        let credentials = &wechatpay(&app).credentials;
        assert_eq!(
            (bridge["appId"].as_str(), bridge["signType"].as_str()),
            (Some(credentials.appid.as_str()), Some("RSA"))
        );
        let text = |name: &str| bridge[name].as_str().unwrap().to_owned();
        let message = format!("{}\n{}\n{}\n{}\n", text("appId"), text("timeStamp"), text("nonceStr"), text("package"));
        let merchant_key = RsaPrivateKey::from_pem(credentials.merchant_private_key_pem.expose()).unwrap();
        assert!(merchant_key.public_key().unwrap().verify_base64(message.as_bytes(), &text("paySign")), "paySign");
        let shown = app.get(&format!("/v1/payments/{}", payment["id"].as_str().unwrap()), &app.test_key).await.body;
        assert_eq!(shown["next_action"], payment["next_action"], "the parameters are kept for the page");

        let prepay_id = text("package").strip_prefix("prepay_id=").unwrap().to_owned();
        pays_at(&app, &format!("{}/buyer/{prepay_id}", wechatpay(&app).url)).await;
        payment_reaches(&app, payment["id"].as_str().unwrap(), "succeeded").await;
        assert_eq!(ledger_entries(&app).await, 1);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_h5_payment_sends_the_payer_to_wechat_and_back_through_payrail() {
    on_each_backend(|db| async {
        let app = TestApp::spawn_wechatpay(db).await;
        let method = json!({"type": "wechat_h5", "wechat_h5": {"payer_client_ip": "203.0.113.7"}});
        let payment = app.post_json("/v1/payments", &app.test_key, &order("h5-1", method)).await.body;
        assert_eq!(payment["status"], "requires_action", "{payment}");
        let url = payment["next_action"]["redirect_to_url"]["url"].as_str().unwrap();
        let (page, back) = url.split_once("?redirect_url=").expect("a way back");
        assert!(page.starts_with(&format!("{}/buyer/", wechatpay(&app).url)), "{url}");
        let back: String = form_urlencoded::parse(format!("b={back}").as_bytes()).next().unwrap().1.into_owned();
        let id = payment["id"].as_str().unwrap();
        assert!(back.ends_with(&format!("/v1/payments/{id}/return")), "{back}");
        pays_at(&app, page).await;
        payment_reaches(&app, id, "succeeded").await;
        assert_eq!(ledger_entries(&app).await, 1);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jsapi_and_h5_payments_check_the_payer_before_anything_is_written() {
    on_each_backend(|db| async {
        let app = TestApp::spawn_wechatpay(db).await;
        let cases = [
            (json!({"type": "wechat_jsapi"}), "parameter_missing", "payment_method[wechat_jsapi]"),
            (
                json!({"type": "wechat_jsapi", "wechat_jsapi": {}}),
                "parameter_missing",
                "payment_method[wechat_jsapi][openid]",
            ),
            (
                json!({"type": "wechat_jsapi", "wechat_jsapi": {"openid": "o p"}}),
                "parameter_invalid",
                "payment_method[wechat_jsapi][openid]",
            ),
            (
                json!({"type": "wechat_jsapi", "wechat_jsapi": {"openid": "o".repeat(129)}}),
                "parameter_invalid",
                "payment_method[wechat_jsapi][openid]",
            ),
            (
                json!({"type": "wechat_jsapi", "wechat_jsapi": {"openid": OPENID, "unionid": "u"}}),
                "parameter_unknown",
                "payment_method[wechat_jsapi][unionid]",
            ),
            (
                json!({"type": "wechat_h5", "wechat_h5": {"payer_client_ip": "999.1.1.1"}}),
                "parameter_invalid",
                "payment_method[wechat_h5][payer_client_ip]",
            ),
            (
                json!({"type": "wechat_h5", "wechat_h5": {"payer_client_ip": 7}}),
                "parameter_invalid",
                "payment_method[wechat_h5][payer_client_ip]",
            ),
        ];
        for (method, code, param) in cases {
            let refused = app.post_json("/v1/payments", &app.test_key, &order("bad", method.clone())).await;
            assert_eq!(refused.assert_error(400, "invalid_request_error", code)["param"], param, "{method}");
        }
        let mut later = order("later", json!({"type": "wechat_h5", "wechat_h5": {"payer_client_ip": "203.0.113.7"}}));
        later["confirm"] = json!(false);
        let later = app.post_json("/v1/payments", &app.test_key, &later).await;
        later.assert_error(400, "invalid_request_error", "payment_method_requires_confirm");
        let mut usd = order("usd", json!({"type": "wechat_jsapi", "wechat_jsapi": {"openid": OPENID}}));
        usd["currency"] = json!("usd");
        let usd = app.post_json("/v1/payments", &app.test_key, &usd).await;
        usd.assert_error(400, "invalid_request_error", "currency_unsupported");
        assert_eq!(app.get("/v1/payments", &app.test_key).await.body["data"], json!([]), "nothing was written");
    })
    .await;
}
