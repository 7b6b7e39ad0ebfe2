//! Timers: unpaid payments expire, uncaptured authorizations are released.

use payrail_testkit::on_each_backend;
use serde_json::json;

use crate::helpers::TestApp;

#[tokio::test]
async fn an_unpaid_payment_is_canceled_as_expired_at_its_deadline_and_not_before() {
    on_each_backend(|db| async {
        let app = TestApp::spawn(db).await;
        let body = json!({"amount": 100, "currency": "usd", "merchant_order_no": "exp-1"});
        let id = app.post_json("/v1/payments", &app.test_key, &body).await.body["id"].as_str().unwrap().to_owned();
        app.clock.advance_ms(2 * 60 * 60 * 1000 - 1);
        assert_eq!(app.payrail.sweep_payments().await.unwrap().expired, 0);
        app.clock.advance_ms(1);
        assert_eq!(app.payrail.sweep_payments().await.unwrap().expired, 1);
        let payment = app.get(&format!("/v1/payments/{id}"), &app.test_key).await;
        assert_eq!(
            (payment.body["status"].as_str(), payment.body["cancellation_reason"].as_str()),
            (Some("canceled"), Some("expired"))
        );
        assert_eq!(app.payrail.sweep_payments().await.unwrap().expired, 0, "expired once");
    })
    .await;
}

#[tokio::test]
async fn an_authorization_not_captured_within_seven_days_is_released() {
    on_each_backend(|db| async {
        let app = TestApp::spawn(db).await;
        let body = json!({
            "amount": 100, "currency": "usd", "merchant_order_no": "hold-1", "confirm": true, "capture_method": "manual",
            "payment_method": {"type": "card", "card": {"number": "4242424242424242", "exp_month": 12, "exp_year": 2030, "cvc": "123"}},
        });
        let id = app.post_json("/v1/payments", &app.test_key, &body).await.body["id"].as_str().unwrap().to_owned();
        app.clock.advance_ms(payrail_service::AUTHORIZATION_HOLD_MS);
        assert_eq!(app.payrail.sweep_payments().await.unwrap().authorizations_released, 1);
        let payment = app.get(&format!("/v1/payments/{id}"), &app.test_key).await;
        assert_eq!(payment.body["cancellation_reason"], "authorization_expired");
        assert_eq!(payment.body["amount_capturable"], 0);
        let capture = app.post_json(&format!("/v1/payments/{id}/capture"), &app.test_key, &json!({})).await;
        capture.assert_error(400, "invalid_request_error", "payment_unexpected_state");
    })
    .await;
}
