//! The sandbox WeChat Pay of `payrail serve`: on first start the demo merchant can take a
//! WeChat Pay QR payment (the simulator mounted at `/sandbox/wechatpay`, notifying this
//! server, signed and encrypted) and a payment-code payment whose payer confirms, with no
//! setup, and the ledger verifies afterwards.

use std::time::Duration;

use payrail_testkit::on_each_backend;

use crate::helpers::{Setup, test_key_in};
use crate::http::{http_get, http_post};

const NATIVE_ORDER: &str = r#"{"amount":1230,"currency":"cny","merchant_order_no":"ORDER","confirm":true,"payment_method":{"type":"wechat_native"}}"#;
/// The simulator's test code for a payer who confirms on the second query.
const BARCODE_ORDER: &str = r#"{"amount":880,"currency":"cny","merchant_order_no":"ORDER","confirm":true,"payment_method":{"type":"wechat_barcode","wechat_barcode":{"auth_code":"134610000000000002"}}}"#;

/// Creates a native payment, has the buyer pay on the simulator's page, and waits until
/// the notification made it succeed.
fn pay_by_native_qr(port: u16, secret: &str, order: &str) {
    let created =
        http_post(port, "/v1/payments", secret, order, &NATIVE_ORDER.replace("ORDER", order)).expect("create answered");
    let payment = created.json();
    assert_eq!(payment["status"], "requires_action", "{}", created.body);
    let code_url = payment["next_action"]["wechat_display_qr_code"]["data"].as_str().expect("a QR code");
    let token = code_url.strip_prefix("weixin://wxpay/bizpayurl?pr=").expect("a native code_url");
    let paid = http_post(port, &format!("/sandbox/wechatpay/buyer/{token}/pay"), "", order, "").expect("pay answered");
    assert_eq!(paid.status, 200, "{}", paid.body);
    let path = format!("/v1/payments/{}", payment["id"].as_str().expect("an id"));
    for _ in 0..200 {
        if http_get(port, &path, Some(secret)).expect("payment answered").json()["status"] == "succeeded" {
            return;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    panic!("the WeChat Pay QR payment {order} never succeeded");
}

#[tokio::test]
async fn the_demo_merchant_pays_with_wechat_pay_on_first_start() {
    on_each_backend(|database| async move {
        let setup = Setup::new(database);
        let server = setup.start_server();
        let secret = test_key_in(&server.stdout()).expect("a test key on first start");
        pay_by_native_qr(server.port, &secret, "wechat-native");
        let body = BARCODE_ORDER.replace("ORDER", "wechat-code");
        let paid = http_post(server.port, "/v1/payments", &secret, "wechat-code", &body).expect("pay answered");
        assert_eq!(paid.json()["status"], "succeeded", "{}", paid.body);
        server.stop();
        let verified = setup.run_ok(&["ledger", "verify"]);
        assert!(verified.starts_with("checked 2 journal entries"), "{verified}");
        assert!(verified.trim_end().ends_with("no violations"), "{verified}");
    })
    .await;
}
