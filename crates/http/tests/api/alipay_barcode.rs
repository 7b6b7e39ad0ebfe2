//! `alipay_barcode` payments: the cashier scans the payer's payment code; the simulator's
//! test codes decide whether it is paid at once, after the payer confirms, never, or
//! refused. A payer who never confirms is waited for within the request, then by the
//! sweep, and finally the trade is cancelled at Alipay.

use payrail_sandbox::alipay::{
    CODE_BALANCE_NOT_ENOUGH, CODE_INVALID, CODE_PAID, CODE_PAYING_FOREVER, CODE_PAYING_THEN_PAID,
};
use payrail_testkit::on_each_backend;
use serde_json::{Value, json};

use crate::helpers::{TestApp, TestResponse};

fn order(number: &str, auth_code: &str) -> Value {
    json!({"amount": 1230, "currency": "cny", "merchant_order_no": number, "confirm": true,
        "payment_method": {"type": "alipay_barcode", "alipay_barcode": {"auth_code": auth_code}}})
}

async fn pay(app: &TestApp, number: &str, auth_code: &str) -> TestResponse {
    app.post_json("/v1/payments", &app.test_key, &order(number, auth_code)).await
}

async fn ledger_entries(app: &TestApp) -> u64 {
    let report = payrail_service::verify_ledger(app.payrail.store()).await.unwrap();
    assert!(report.is_clean(), "{:?}", report.violations);
    report.entries
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_payment_code_is_paid_at_once_or_after_the_payer_confirms() {
    on_each_backend(|db| async {
        let app = TestApp::spawn_alipay_with(db, |payrail| payrail.with_payer_wait_ms(5_000)).await;
        let paid = pay(&app, "code-paid", CODE_PAID).await;
        assert_eq!(paid.body["status"], "succeeded", "{}", paid.body);
        assert_eq!(paid.body["payment_method"], json!({"type": "alipay_barcode"}));
        assert!(!paid.body.to_string().contains(CODE_PAID), "the payment code is never shown");
        let confirmed = pay(&app, "code-confirmed", CODE_PAYING_THEN_PAID).await;
        assert_eq!(confirmed.body["status"], "succeeded", "{}", confirmed.body);
        assert_eq!(ledger_entries(&app).await, 2);
        let refund = json!({"payment": confirmed.body["id"], "amount": 1230});
        assert_eq!(app.post_json("/v1/refunds", &app.test_key, &refund).await.body["status"], "succeeded");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_payer_who_never_confirms_is_waited_for_then_the_trade_is_cancelled() {
    on_each_backend(|db| async {
        let app = TestApp::spawn_alipay_with(db, |payrail| payrail.with_payer_wait_ms(600)).await;
        let waiting = pay(&app, "code-forever", CODE_PAYING_FOREVER).await;
        assert_eq!(waiting.body["status"], "processing", "{}", waiting.body);
        let id = waiting.body["id"].as_str().unwrap();
        app.clock.advance_ms(61_000);
        assert_eq!(app.payrail.sweep_payments().await.unwrap().attempts_resolved, 0);
        app.clock.advance_ms(payrail_service::PAYER_WAIT_MS_MAX);
        assert_eq!(app.payrail.sweep_payments().await.unwrap().attempts_resolved, 1);
        let failed = app.get(&format!("/v1/payments/{id}"), &app.test_key).await.body;
        assert_eq!(failed["status"], "requires_payment_method");
        assert_eq!(failed["last_payment_error"]["code"], "payment_code_timeout");
        assert_eq!(ledger_entries(&app).await, 0);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_and_malformed_payment_codes_charge_nothing() {
    on_each_backend(|db| async {
        let app = TestApp::spawn_alipay(db).await;
        let poor = pay(&app, "code-poor", CODE_BALANCE_NOT_ENOUGH).await;
        poor.assert_error(402, "card_error", "insufficient_funds");
        pay(&app, "code-invalid", CODE_INVALID).await.assert_error(402, "card_error", "payment_code_invalid");
        let shown = app.get("/v1/payments?merchant_order_no=code-poor", &app.test_key).await.body;
        let payment = &shown["data"][0];
        assert_eq!(payment["status"], "requires_payment_method");
        assert_eq!(payment["last_payment_error"]["decline_code"], "ACQ.BUYER_BALANCE_NOT_ENOUGH");
        let malformed = pay(&app, "code-bad", "12ab").await;
        let error = malformed.assert_error(400, "invalid_request_error", "parameter_invalid");
        assert_eq!(error["param"], "payment_method[alipay_barcode][auth_code]");
        assert!(!malformed.body.to_string().contains("12ab"), "the input is never echoed");
        let mut later = order("code-later", CODE_PAID);
        later["confirm"] = json!(false);
        let later = app.post_json("/v1/payments", &app.test_key, &later).await;
        later.assert_error(400, "invalid_request_error", "payment_method_requires_confirm");
        let missing = json!({"amount": 1230, "currency": "cny", "merchant_order_no": "code-missing", "confirm": true,
            "payment_method": {"type": "alipay_barcode"}});
        let missing = app.post_json("/v1/payments", &app.test_key, &missing).await;
        missing.assert_error(400, "invalid_request_error", "parameter_missing");
        let usd = app
            .post_json(
                "/v1/payments",
                &app.test_key,
                &json!({"amount": 100, "currency": "usd",
            "merchant_order_no": "code-usd", "confirm": true,
            "payment_method": {"type": "alipay_barcode", "alipay_barcode": {"auth_code": CODE_PAID}}}),
            )
            .await;
        usd.assert_error(400, "invalid_request_error", "currency_unsupported");
        assert_eq!(ledger_entries(&app).await, 0);
        let listed = app.get("/v1/payments?limit=100", &app.test_key).await.body;
        assert_eq!(listed["data"].as_array().unwrap().len(), 2, "only the two Alipay refused were written");
    })
    .await;
}
