//! `GET /v1/balance`: the caller's cached merchant balances, in the caller's mode, signed as
//! the merchant reads them.

use axum::http::Method;
use payrail_domain::ledger::capture_entry;
use payrail_domain::{Currency, JournalEntryId, MerchantId, MerchantStatus, Mode, Money, Timestamp};
use payrail_store::ledger::{self, EntryLinks};
use payrail_testkit::on_each_backend;
use serde_json::{Value, json};

use crate::helpers::{START_MS, TestApp};

async fn pay_1000_usd(app: &TestApp, order: &str) -> String {
    let card = json!({"number": "4242424242424242", "exp_month": 12, "exp_year": 2030, "cvc": "123"});
    let body = json!({
        "amount": 1000, "currency": "usd", "merchant_order_no": order, "confirm": true,
        "payment_method": {"type": "card", "card": card},
    });
    let response = app.post_json("/v1/payments", &app.test_key, &body).await;
    assert_eq!(response.body["status"], "succeeded", "{}", response.body);
    response.body["id"].as_str().unwrap().to_owned()
}

/// The balance `secret` sees, checked against the expected `pending` and `available` lists.
async fn check(app: &TestApp, secret: &str, livemode: bool, pending: Value, available: Value) {
    let response = app.get("/v1/balance", secret).await;
    assert_eq!(response.status, 200, "{}", response.body);
    let expected = json!({"object": "balance", "livemode": livemode, "pending": pending, "available": available});
    assert_eq!(response.body, expected);
}

#[tokio::test]
async fn a_captured_card_payment_is_pending_less_the_fee() {
    on_each_backend(|db| async {
        let app = TestApp::spawn(db).await;
        check(&app, &app.test_key, false, json!([]), json!([])).await;
        pay_1000_usd(&app, "balance-1").await;
        // 1000 less the default fee of 2.9% + 30 = 59.
        check(&app, &app.test_key, false, json!([{"amount": 941, "currency": "USD"}]), json!([])).await;
    })
    .await;
}

#[tokio::test]
async fn a_refund_beyond_what_is_owed_shows_a_negative_balance() {
    on_each_backend(|db| async {
        let app = TestApp::spawn(db).await;
        let payment = pay_1000_usd(&app, "balance-2").await;
        let refund = app.post_json("/v1/refunds", &app.test_key, &json!({"payment": payment})).await;
        assert_eq!(refund.body["status"], "succeeded", "{}", refund.body);
        // The fee is not returned, so the merchant owes it: 941 − 1000.
        check(&app, &app.test_key, false, json!([{"amount": -59, "currency": "USD"}]), json!([])).await;
    })
    .await;
}

#[tokio::test]
async fn each_key_sees_only_its_own_merchant_and_mode() {
    on_each_backend(|db| async {
        let app = TestApp::spawn(db).await;
        pay_1000_usd(&app, "balance-3").await;
        // The sandbox only charges test cards, so the live capture is posted to the ledger
        // directly, as the live card flow would post it.
        let merchant: MerchantId = app.merchant_id.parse().unwrap();
        let now = Timestamp::from_unix_ms(START_MS).unwrap();
        let money = Money::new(5_000, Currency::parse("EUR").unwrap());
        let entry = capture_entry(&merchant, true, money, 175).unwrap();
        let links = EntryLinks { merchant_id: Some(&merchant), payment_id: None, refund_id: None };
        let mut tx = app.payrail.store().begin().await.unwrap();
        ledger::post(tx.conn(), &JournalEntryId::generate(now, [7; 10]), &entry, &links, now).await.unwrap();
        tx.commit().await.unwrap();

        let (_, live_key) = app.demo_key(Mode::Live).await;
        check(&app, &live_key, true, json!([{"amount": 4825, "currency": "EUR"}]), json!([])).await;
        check(&app, &app.test_key, false, json!([{"amount": 941, "currency": "USD"}]), json!([])).await;
        let (_, other_test_key, other_live_key) = app.other_merchant(MerchantStatus::Active).await;
        check(&app, &other_test_key, false, json!([]), json!([])).await;
        check(&app, &other_live_key, true, json!([]), json!([])).await;
    })
    .await;
}

#[tokio::test]
async fn the_balance_needs_an_api_key_and_is_documented() {
    on_each_backend(|db| async {
        let app = TestApp::spawn(db).await;
        app.call(Method::GET, "/v1/balance", None).await.assert_error(401, "authentication_error", "api_key_missing");
        let document = app.call(Method::GET, "/openapi.json", None).await.body;
        assert!(document["paths"]["/v1/balance"]["get"].is_object(), "/v1/balance is not documented");
        assert!(document["components"]["schemas"]["BalanceBody"].is_object(), "BalanceBody is not documented");
    })
    .await;
}
