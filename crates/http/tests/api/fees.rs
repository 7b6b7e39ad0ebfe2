//! The operator's policy and merchants' own fees: which fee a capture pays, what a refund
//! gives back, and per-currency amount limits.

use payrail_domain::fees::FeeSchedule;
use payrail_domain::{Currency, MerchantId};
use payrail_service::{FeeCurrency, Policy};
use payrail_testkit::on_each_backend;
use serde_json::{Value, json};

use crate::helpers::TestApp;

async fn pay(app: &TestApp, order: &str, amount: i64, currency: &str) -> Value {
    let card = json!({"number": "4242424242424242", "exp_month": 12, "exp_year": 2030, "cvc": "123"});
    let body = json!({
        "amount": amount, "currency": currency, "merchant_order_no": order, "confirm": true,
        "payment_method": {"type": "card", "card": card},
    });
    app.post_json("/v1/payments", &app.test_key, &body).await.body
}

async fn refund(app: &TestApp, payment: &Value, amount: i64) {
    let body = json!({"payment": payment["id"], "amount": amount});
    let response = app.post_json("/v1/refunds", &app.test_key, &body).await;
    assert_eq!(response.body["status"], "succeeded", "{}", response.body);
}

/// The pending balance in `currency`, as the merchant reads it.
async fn pending(app: &TestApp, currency: &str) -> i64 {
    let body = app.get("/v1/balance", &app.test_key).await.body;
    let found = body["pending"].as_array().unwrap().iter().find(|money| money["currency"] == currency);
    found.map_or(0, |money| money["amount"].as_i64().unwrap())
}

fn currency(code: &str) -> Currency {
    Currency::parse(code).unwrap()
}

#[tokio::test]
async fn a_merchants_own_fees_win_over_the_default_per_currency_then_for_every_currency() {
    on_each_backend(|db| async {
        let app = TestApp::spawn(db).await;
        let merchant: MerchantId = app.merchant_id.parse().unwrap();
        let one_percent = FeeSchedule::parse(100, 0).unwrap();
        let five_flat = FeeSchedule::parse(0, 5).unwrap();
        app.payrail.set_merchant_fees(&merchant, FeeCurrency::One(currency("USD")), one_percent).await.unwrap();
        app.payrail.set_merchant_fees(&merchant, FeeCurrency::Every, five_flat).await.unwrap();
        assert_eq!(pay(&app, "fees-usd", 1_000, "usd").await["status"], "succeeded");
        assert_eq!(pay(&app, "fees-eur", 1_000, "eur").await["status"], "succeeded");
        assert_eq!((pending(&app, "USD").await, pending(&app, "EUR").await), (990, 995));

        assert!(app.payrail.clear_merchant_fees(&merchant, FeeCurrency::One(currency("USD"))).await.unwrap());
        assert!(!app.payrail.clear_merchant_fees(&merchant, FeeCurrency::One(currency("USD"))).await.unwrap());
        pay(&app, "fees-usd-2", 1_000, "usd").await;
        assert_eq!(pending(&app, "USD").await, 990 + 995, "the catch-all applies once USD's own is gone");
        assert!(app.payrail.clear_merchant_fees(&merchant, FeeCurrency::Every).await.unwrap());
        pay(&app, "fees-usd-3", 1_000, "usd").await;
        assert_eq!(pending(&app, "USD").await, 990 + 995 + 941, "then the default 2.9% + 30");

        let listed = app.payrail.merchant_fees(&merchant).await.unwrap();
        assert!(listed.is_empty(), "{listed:?}");
        let unknown = MerchantId::generate(app.payrail.clock().now(), [7; 10]);
        assert!(app.payrail.set_merchant_fees(&unknown, FeeCurrency::Every, five_flat).await.is_err());
        assert!(payrail_service::verify_ledger(app.payrail.store()).await.unwrap().is_clean());
    })
    .await;
}

#[tokio::test]
async fn refunds_keep_the_fee_by_default_and_return_an_exact_share_when_configured() {
    on_each_backend(|db| async {
        let app = TestApp::spawn(db).await;
        let paid = pay(&app, "keep-fee", 1_000, "usd").await;
        refund(&app, &paid, 1_000).await;
        assert_eq!(pending(&app, "USD").await, -59, "the merchant bore the 59 fee");
    })
    .await;
    on_each_backend(|db| async {
        let app = TestApp::spawn_with_policy(db, Policy::default().with_refund_returns_fee(true)).await;
        let paid = pay(&app, "return-fee", 1_000, "usd").await;
        refund(&app, &paid, 500).await;
        assert_eq!(pending(&app, "USD").await, 941 - 500 + 30, "half of 59, rounded half up");
        refund(&app, &paid, 500).await;
        assert_eq!(pending(&app, "USD").await, 0, "a full refund returns the whole fee");
        assert!(payrail_service::verify_ledger(app.payrail.store()).await.unwrap().is_clean());
    })
    .await;
}

#[tokio::test]
async fn a_currency_limit_refuses_larger_payments_in_that_currency_only() {
    on_each_backend(|db| async {
        let policy = Policy::default().with_amount_max(currency("JPY"), 50_000).unwrap();
        let app = TestApp::spawn_with_policy(db, policy).await;
        let body = json!({"amount": 50_001, "currency": "jpy", "merchant_order_no": "too-much"});
        let response = app.post_json("/v1/payments", &app.test_key, &body).await;
        assert_eq!(response.status, 400, "{}", response.body);
        assert_eq!(
            (&response.body["error"]["code"], &response.body["error"]["param"]),
            (&json!("amount_invalid"), &json!("amount"))
        );
        let message = response.body["error"]["message"].as_str().unwrap();
        assert!(message.contains("50000"), "the limit is named: {message}");
        for (order, amount, code) in [("at-limit", 50_000, "jpy"), ("other-currency", 50_001, "usd")] {
            let body = json!({"amount": amount, "currency": code, "merchant_order_no": order});
            assert_eq!(app.post_json("/v1/payments", &app.test_key, &body).await.status, 200);
        }
    })
    .await;
}
