//! Refunds: partial and full, never above what was captured, also when requested at once.

use payrail_domain::MerchantStatus;
use payrail_testkit::on_each_backend;
use serde_json::{Value, json};

use crate::helpers::TestApp;

async fn paid(app: &TestApp, order: &str, capture_method: &str) -> String {
    let body = json!({
        "amount": 1000, "currency": "usd", "merchant_order_no": order, "confirm": true, "capture_method": capture_method,
        "payment_method": {"type": "card", "card": {"number": "4242424242424242", "exp_month": 12, "exp_year": 2030, "cvc": "123"}},
    });
    let response = app.post_json("/v1/payments", &app.test_key, &body).await;
    response.body["id"].as_str().unwrap_or_else(|| panic!("{}", response.body)).to_owned()
}

#[tokio::test]
async fn partial_refunds_add_up_to_the_capture_and_no_further() {
    on_each_backend(|db| async {
        let app = TestApp::spawn(db).await;
        let payment = paid(&app, "r-1", "automatic").await;
        let first = app
            .post_json(
                "/v1/refunds",
                &app.test_key,
                &json!({"payment": payment, "amount": 300, "reason": "requested_by_customer"}),
            )
            .await;
        assert_eq!(first.status, 200, "{}", first.body);
        assert_eq!((first.body["status"].as_str(), first.body["amount"].as_i64()), (Some("succeeded"), Some(300)));
        assert!(first.body["id"].as_str().unwrap().starts_with("re_"));
        let too_much = app.post_json("/v1/refunds", &app.test_key, &json!({"payment": payment, "amount": 701})).await;
        assert_eq!(too_much.assert_error(400, "invalid_request_error", "refund_amount_invalid")["param"], "amount");
        let rest = app.post_json("/v1/refunds", &app.test_key, &json!({"payment": payment})).await;
        assert_eq!(rest.body["amount"], 700, "the default refunds what remains");
        let none_left = app.post_json("/v1/refunds", &app.test_key, &json!({"payment": payment, "amount": 1})).await;
        none_left.assert_error(400, "invalid_request_error", "payment_fully_refunded");
        let shown = app.get(&format!("/v1/payments/{payment}"), &app.test_key).await;
        assert_eq!(
            (shown.body["amount_refunded"].as_i64(), shown.body["status"].as_str()),
            (Some(1000), Some("succeeded"))
        );
        let list = app.get(&format!("/v1/refunds?payment={payment}"), &app.test_key).await;
        assert_eq!(list.body["data"].as_array().unwrap().len(), 2);
        let types: Vec<String> = app.get("/v1/events?limit=4", &app.test_key).await.body["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["type"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(types, vec!["payment.refunded", "refund.succeeded", "refund.created", "payment.refunded"]);
    })
    .await;
}

#[tokio::test]
async fn only_captured_payments_of_ones_own_can_be_refunded() {
    on_each_backend(|db| async {
        let app = TestApp::spawn(db).await;
        let authorized = paid(&app, "r-2", "manual").await;
        let response = app.post_json("/v1/refunds", &app.test_key, &json!({"payment": authorized})).await;
        assert_eq!(response.assert_error(400, "invalid_request_error", "payment_unexpected_state")["param"], "payment");
        let (_, other_test, _) = app.other_merchant(MerchantStatus::Active).await;
        let captured = paid(&app, "r-3", "automatic").await;
        for (secret, payment) in [
            (&other_test, captured.as_str()),
            (&app.test_key, "pay_00000000000000000000000000"),
            (&app.test_key, "nope"),
        ] {
            let response = app.post_json("/v1/refunds", secret, &json!({"payment": payment})).await;
            assert_eq!(response.assert_error(404, "invalid_request_error", "resource_missing")["param"], "payment");
        }
        let cases = [
            (json!({}), "parameter_missing", "payment"),
            (json!({"payment": captured, "amount": 0}), "refund_amount_invalid", "amount"),
            (json!({"payment": captured, "amount": -1}), "refund_amount_invalid", "amount"),
            (json!({"payment": captured, "amount": "5"}), "parameter_invalid", "amount"),
            (json!({"payment": captured, "reason": "changed_mind"}), "parameter_invalid", "reason"),
            (json!({"payment": captured, "extra": true}), "parameter_unknown", "extra"),
        ];
        for (body, code, param) in cases {
            let response = app.post_json("/v1/refunds", &app.test_key, &body).await;
            assert_eq!(response.assert_error(400, "invalid_request_error", code)["param"], param, "{body}");
        }
        let untouched = app.get(&format!("/v1/payments/{captured}"), &app.test_key).await;
        assert_eq!(untouched.body["amount_refunded"], 0);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_refunds_never_exceed_the_capture() {
    on_each_backend(|db| async {
        let app = TestApp::spawn(db).await;
        let payment = paid(&app, "r-4", "automatic").await;
        let statuses = app.concurrent_posts(10, "/v1/refunds", &json!({"payment": payment, "amount": 300})).await;
        assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 3, "{statuses:?}");
        assert!(statuses.iter().all(|s| *s == 200 || *s == 400), "{statuses:?}");
        let shown = app.get(&format!("/v1/payments/{payment}"), &app.test_key).await;
        assert_eq!(shown.body["amount_refunded"], 900);
        let refunds = app.get(&format!("/v1/refunds?payment={payment}&limit=100"), &app.test_key).await;
        let total: i64 = refunds.body["data"].as_array().unwrap().iter().map(|r| r["amount"].as_i64().unwrap()).sum();
        assert_eq!(total, 900);
    })
    .await;
}

#[tokio::test]
async fn a_refund_is_visible_only_to_its_merchant_and_mode() {
    on_each_backend(|db| async {
        let app = TestApp::spawn(db).await;
        let payment = paid(&app, "r-5", "automatic").await;
        let refund = app.post_json("/v1/refunds", &app.test_key, &json!({"payment": payment, "amount": 10})).await;
        let id = refund.body["id"].as_str().unwrap();
        assert_eq!(app.get(&format!("/v1/refunds/{id}"), &app.test_key).await.body["amount"], 10);
        let (_, other_test, other_live) = app.other_merchant(MerchantStatus::Active).await;
        for secret in [&other_test, &other_live] {
            app.get(&format!("/v1/refunds/{id}"), secret).await.assert_error(
                404,
                "invalid_request_error",
                "resource_missing",
            );
            assert_eq!(app.get("/v1/refunds", secret).await.body["data"], Value::Array(vec![]));
        }
    })
    .await;
}
