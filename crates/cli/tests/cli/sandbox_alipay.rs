//! The sandbox Alipay of `payrail serve`: on first start the demo merchant can take an
//! Alipay QR payment with no setup (the simulator mounted at `/sandbox/alipay`, notifying
//! this server, through a sandbox app of the merchant's own), and after a restart the kept
//! keys still open and work.

use std::time::Duration;

use payrail_testkit::on_each_backend;

use crate::helpers::{Setup, test_key_in};
use crate::http::{assert_error, http_delete, http_get, http_post};

const QR_ORDER: &str = r#"{"amount":1230,"currency":"cny","merchant_order_no":"ORDER","confirm":true,"payment_method":{"type":"alipay_qr"}}"#;

/// Creates a QR payment, has the buyer pay on the simulator's page, and waits until the
/// notification made it succeed.
fn pay_by_qr(port: u16, secret: &str, order: &str) {
    let created =
        http_post(port, "/v1/payments", secret, order, &QR_ORDER.replace("ORDER", order)).expect("create answered");
    let payment = created.json();
    assert_eq!(payment["status"], "requires_action", "{}", created.body);
    let page_url = payment["next_action"]["alipay_display_qr_code"]["data"].as_str().expect("a QR code");
    let page_path = &page_url[page_url.find("/sandbox/alipay/").expect("a sandbox buyer page")..];
    assert_eq!(http_get(port, page_path, None).expect("page answered").status, 200);
    let paid = http_post(port, &format!("{page_path}/pay"), "", order, "").expect("pay answered");
    assert_eq!(paid.status, 200, "{}", paid.body);
    let path = format!("/v1/payments/{}", payment["id"].as_str().expect("an id"));
    for _ in 0..200 {
        if http_get(port, &path, Some(secret)).expect("payment answered").json()["status"] == "succeeded" {
            return;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    panic!("the QR payment {order} never succeeded");
}

#[tokio::test]
async fn the_demo_merchant_pays_with_alipay_on_first_start_and_after_a_restart() {
    on_each_backend(|database| async move {
        let setup = Setup::new(database);
        let first = setup.start_server();
        let secret = test_key_in(&first.stdout()).expect("a test key on first start");
        pay_by_qr(first.port, &secret, "alipay-first");
        first.stop();
        let second = setup.start_server();
        pay_by_qr(second.port, &secret, "alipay-second");
        second.stop();
    })
    .await;
}

/// The merchant's sandbox Alipay account, as `GET /v1/channel_accounts` lists it.
fn sandbox_alipay_account(port: u16, secret: &str) -> serde_json::Value {
    let listed = http_get(port, "/v1/channel_accounts", Some(secret)).expect("list answered").json();
    let sandbox: Vec<_> = listed["data"].as_array().expect("a list").iter().filter(|a| a["sandbox"] == true).collect();
    assert_eq!(sandbox.len(), 1, "one sandbox account after Alipay payments only: {listed}");
    assert_eq!(sandbox[0]["channel"], "alipay", "{listed}");
    assert_eq!(sandbox[0]["secrets_set"], serde_json::json!(["app_private_key"]), "{listed}");
    sandbox[0].clone()
}

#[tokio::test]
async fn the_merchants_sandbox_app_is_kept_cannot_be_changed_and_is_made_anew_once_deleted() {
    on_each_backend(|database| async move {
        let setup = Setup::new(database);
        let server = setup.start_server();
        let secret = test_key_in(&server.stdout()).expect("a test key on first start");
        pay_by_qr(server.port, &secret, "sandbox-app-1");
        pay_by_qr(server.port, &secret, "sandbox-app-2");
        let account = sandbox_alipay_account(server.port, &secret);
        let path = format!("/v1/channel_accounts/{}", account["id"].as_str().expect("an id"));
        let changed = http_post(server.port, &path, &secret, "change-sandbox", r#"{"description":"mine"}"#);
        assert_error(&changed.expect("update answered"), 400, "invalid_request_error", "channel_account_sandbox");
        assert_eq!(http_delete(server.port, &path, &secret).expect("delete answered").status, 200);
        pay_by_qr(server.port, &secret, "sandbox-app-3");
        let remade = sandbox_alipay_account(server.port, &secret);
        assert_ne!(remade["id"], account["id"]);
        assert_ne!(remade["alipay"]["app_id"], account["alipay"]["app_id"], "new credentials");
        server.stop();
    })
    .await;
}
