//! `wechat_barcode` payments: the cashier scans the payer's WeChat payment code; the
//! simulator's test codes decide whether it is paid at once, after the payer confirms,
//! never (then the order is reversed over mutual TLS), or refused.

use payrail_sandbox::wechatpay::{
    CODE_AUTH_CODE_EXPIRED, CODE_IMMEDIATE_SUCCESS, CODE_NOT_ENOUGH, CODE_USER_PAYING_FOREVER,
    CODE_USER_PAYING_THEN_SUCCESS,
};
use payrail_testkit::on_each_backend;
use serde_json::{Value, json};

use crate::helpers::{TestApp, TestResponse};
use crate::wechatpay::{ledger_entries, refund_notified, refund_started};

fn order(number: &str, auth_code: &str) -> Value {
    json!({"amount": 1230, "currency": "cny", "merchant_order_no": number, "confirm": true,
        "payment_method": {"type": "wechat_barcode", "wechat_barcode": {"auth_code": auth_code}}})
}

async fn pay(app: &TestApp, number: &str, auth_code: &str) -> TestResponse {
    app.post_json("/v1/payments", &app.test_key, &order(number, auth_code)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wechat_payment_code_is_paid_at_once_or_after_the_payer_confirms_and_refunded() {
    on_each_backend(|db| async {
        let app = TestApp::spawn_wechatpay_with(db, |payrail| payrail.with_payer_wait_ms(5_000)).await;
        let paid = pay(&app, "wx-code-paid", CODE_IMMEDIATE_SUCCESS).await;
        assert_eq!(paid.body["status"], "succeeded", "{}", paid.body);
        assert_eq!(paid.body["payment_method"], json!({"type": "wechat_barcode"}));
        assert!(!paid.body.to_string().contains(CODE_IMMEDIATE_SUCCESS), "the payment code is never shown");
        let confirmed = pay(&app, "wx-code-confirmed", CODE_USER_PAYING_THEN_SUCCESS).await;
        assert_eq!(confirmed.body["status"], "succeeded", "{}", confirmed.body);
        assert_eq!(confirmed.body["amount_captured"], 1230);
        assert_eq!(ledger_entries(&app).await, 2);
        let refund_id = refund_started(&app, confirmed.body["id"].as_str().unwrap(), 1230).await;
        refund_notified(&app, &refund_id).await;
        assert_eq!(ledger_entries(&app).await, 3);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wechat_payer_who_never_confirms_is_waited_for_then_the_order_is_reversed() {
    on_each_backend(|db| async {
        let app = TestApp::spawn_wechatpay_with(db, |payrail| payrail.with_payer_wait_ms(600)).await;
        let waiting = pay(&app, "wx-code-forever", CODE_USER_PAYING_FOREVER).await;
        assert_eq!(waiting.body["status"], "processing", "{}", waiting.body);
        let id = waiting.body["id"].as_str().unwrap();
        app.clock.advance_ms(61_000);
        assert_eq!(app.payrail.sweep_payments().await.unwrap().attempts_resolved, 0);
        app.clock.advance_ms(payrail_service::PAYER_WAIT_MS_MAX);
        assert_eq!(app.payrail.sweep_payments().await.unwrap().attempts_resolved, 1);
        let failed = app.get(&format!("/v1/payments/{id}"), &app.test_key).await.body;
        assert_eq!(failed["status"], "requires_payment_method");
        assert_eq!(failed["last_payment_error"]["code"], "payment_code_timeout");
        assert_eq!(failed["last_payment_error"]["decline_code"], "payer_did_not_confirm");
        assert_eq!(ledger_entries(&app).await, 0);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_and_malformed_wechat_payment_codes_charge_nothing() {
    on_each_backend(|db| async {
        let app = TestApp::spawn_wechatpay(db).await;
        let poor = pay(&app, "wx-code-poor", CODE_NOT_ENOUGH).await;
        poor.assert_error(402, "card_error", "insufficient_funds");
        let expired = pay(&app, "wx-code-expired", CODE_AUTH_CODE_EXPIRED).await;
        expired.assert_error(402, "card_error", "payment_code_invalid");
        let shown = app.get("/v1/payments?merchant_order_no=wx-code-poor", &app.test_key).await.body;
        let payment = &shown["data"][0];
        assert_eq!(payment["status"], "requires_payment_method");
        assert_eq!(payment["last_payment_error"]["decline_code"], "NOTENOUGH");
        let shown = app.get("/v1/payments?merchant_order_no=wx-code-expired", &app.test_key).await.body;
        assert_eq!(shown["data"][0]["last_payment_error"]["decline_code"], "AUTHCODEEXPIRE");
        for malformed in ["12ab", "280000000000000001", "1346100000000000011"] {
            let refused = pay(&app, "wx-code-bad", malformed).await;
            let error = refused.assert_error(400, "invalid_request_error", "parameter_invalid");
            assert_eq!(error["param"], "payment_method[wechat_barcode][auth_code]");
            assert!(!refused.body.to_string().contains(malformed), "the input is never echoed");
        }
        let mut later = order("wx-code-later", CODE_IMMEDIATE_SUCCESS);
        later["confirm"] = json!(false);
        let later = app.post_json("/v1/payments", &app.test_key, &later).await;
        later.assert_error(400, "invalid_request_error", "payment_method_requires_confirm");
        let mut usd = order("wx-code-usd", CODE_IMMEDIATE_SUCCESS);
        usd["currency"] = json!("usd");
        let usd = app.post_json("/v1/payments", &app.test_key, &usd).await;
        usd.assert_error(400, "invalid_request_error", "currency_unsupported");
        assert_eq!(ledger_entries(&app).await, 0);
        let listed = app.get("/v1/payments?limit=100", &app.test_key).await.body;
        assert_eq!(listed["data"].as_array().unwrap().len(), 2, "only the two WeChat refused were written");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_auto_barcode_goes_to_the_wallet_its_code_belongs_to() {
    on_each_backend(|db| async {
        let app = TestApp::spawn_alipay_and_wechatpay(db).await;
        let auto = |number: &str, code: &str| {
            json!({"amount": 1230, "currency": "cny", "merchant_order_no": number, "confirm": true,
                "payment_method": {"type": "auto_barcode", "auto_barcode": {"auth_code": code}}})
        };
        let wechat = app.post_json("/v1/payments", &app.test_key, &auto("auto-wx", CODE_IMMEDIATE_SUCCESS)).await;
        assert_eq!(wechat.body["status"], "succeeded", "{}", wechat.body);
        assert_eq!(wechat.body["payment_method"], json!({"type": "wechat_barcode"}));
        let alipay_code = payrail_sandbox::alipay::CODE_PAID;
        let alipay = app.post_json("/v1/payments", &app.test_key, &auto("auto-ali", alipay_code)).await;
        assert_eq!(alipay.body["status"], "succeeded", "{}", alipay.body);
        assert_eq!(alipay.body["payment_method"], json!({"type": "alipay_barcode"}));
        let unknown = app.post_json("/v1/payments", &app.test_key, &auto("auto-none", "990000000000000000")).await;
        let error = unknown.assert_error(402, "card_error", "payment_code_invalid");
        assert_eq!(error["param"], "payment_method[auto_barcode][auth_code]");
        assert_eq!(ledger_entries(&app).await, 2);
        let listed = app.get("/v1/payments?limit=100", &app.test_key).await.body;
        assert_eq!(listed["data"].as_array().unwrap().len(), 2, "the unknown code wrote nothing");
    })
    .await;
}
