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

#[tokio::test]
async fn a_refund_the_network_settles_later_is_settled_by_the_sweep() {
    on_each_backend(|db| async {
        let app = TestApp::spawn(db).await;
        let body = json!({
            "amount": 1000, "currency": "usd", "merchant_order_no": "late-1", "confirm": true,
            "payment_method": {"type": "card", "card": {"number": "4000000000005126", "exp_month": 12, "exp_year": 2030, "cvc": "123"}},
        });
        let payment = app.post_json("/v1/payments", &app.test_key, &body).await.body["id"].as_str().unwrap().to_owned();
        let refund = app.post_json("/v1/refunds", &app.test_key, &json!({"payment": payment, "amount": 400})).await;
        assert_eq!(refund.body["status"], "pending", "{}", refund.body);
        let id = refund.body["id"].as_str().unwrap().to_owned();
        // Pending refunds hold their amount: only 600 remains refundable.
        let more = app.post_json("/v1/refunds", &app.test_key, &json!({"payment": payment, "amount": 601})).await;
        more.assert_error(400, "invalid_request_error", "refund_amount_invalid");

        app.clock.advance_ms(60_000);
        assert_eq!(app.payrail.sweep_payments().await.unwrap().refunds_settled, 0, "the network has not settled it yet");
        let settled = crate::payments::http_post_json(&format!("{}/control/refunds/{id}/settle", app.card_network_url), r#"{"outcome":"succeeded"}"#).await;
        assert!(settled.starts_with("HTTP/1.1 200"), "{settled}");
        let sweep = app.payrail.sweep_payments().await.unwrap();
        assert_eq!(sweep.refunds_settled, 0, "not asked again before its next query: the waits double");
        app.clock.advance_ms(60_000);
        assert_eq!(app.payrail.sweep_payments().await.unwrap().refunds_settled, 1);
        assert_eq!(app.get(&format!("/v1/refunds/{id}"), &app.test_key).await.body["status"], "succeeded");
        assert_eq!(app.get(&format!("/v1/payments/{payment}"), &app.test_key).await.body["amount_refunded"], 400);
    })
    .await;
}
