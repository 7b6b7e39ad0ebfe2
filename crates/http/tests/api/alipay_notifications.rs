//! Alipay notifications that are forged, unsigned, replayed, for other orders, apps or
//! accounts, or with another amount: each moves nothing, or only records a discrepancy.

use payrail_crypto::rsa::RsaPrivateKey;
use payrail_testkit::on_each_backend;
use serde_json::Value;

use crate::alipay::{
    NOTIFY_PATH, alipay, buyer_pays, event_types, notifications_once_acknowledged, notify, out_trade_no,
    payment_reaches, qr_payment, success_notification,
};
use crate::helpers::TestApp;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replayed_notification_is_acknowledged_and_changes_nothing_twice() {
    on_each_backend(|db| async {
        let app = TestApp::spawn_alipay(db).await;
        let payment = qr_payment(&app, "qr-replay").await;
        buyer_pays(&payment).await;
        let id = payment["id"].as_str().unwrap();
        payment_reaches(&app, id, "succeeded").await;
        let events_before = event_types(&app).await;
        let sent = notifications_once_acknowledged(&app).await;
        for _ in 0..2 {
            let replay = notify(&app, NOTIFY_PATH, sent[0].body.clone()).await;
            assert_eq!((replay.status.as_u16(), replay.body.as_str()), (200, Some("success")));
        }
        assert_eq!(event_types(&app).await, events_before);
        let report = payrail_service::verify_ledger(app.payrail.store()).await.unwrap();
        assert!(report.is_clean() && report.entries == 1, "{:?}", report.violations);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_unsigned_and_foreign_notifications_are_refused_and_change_nothing() {
    on_each_backend(|db| async {
        let app = TestApp::spawn_alipay(db).await;
        let payment = qr_payment(&app, "qr-forged").await;
        let reference = out_trade_no(&payment);
        let alipay = alipay(&app);
        let forger = RsaPrivateKey::generate().unwrap().to_pkcs8_pem().unwrap();
        let forged = success_notification(&alipay.app_id, &reference, "12.30", "n-forged", &forger);
        notify(&app, NOTIFY_PATH, forged).await.assert_error(
            400,
            "invalid_request_error",
            "notification_signature_invalid",
        );
        let unsigned =
            format!("notify_id=n1&app_id={}&out_trade_no={reference}&trade_status=TRADE_SUCCESS", alipay.app_id);
        notify(&app, NOTIFY_PATH, unsigned).await.assert_error(
            400,
            "invalid_request_error",
            "notification_signature_invalid",
        );
        let key = &alipay.alipay_key_pem;
        let other_app = success_notification("9021000000000000", &reference, "12.30", "n-app", key);
        notify(&app, NOTIFY_PATH, other_app).await.assert_error(
            400,
            "invalid_request_error",
            "notification_app_id_mismatch",
        );
        for unknown in ["att_01m955sn8f66gaxbfaxfkfegny", "not-an-attempt"] {
            let form = success_notification(&alipay.app_id, unknown, "12.30", "n-unknown", key);
            notify(&app, NOTIFY_PATH, form).await.assert_error(
                400,
                "invalid_request_error",
                "notification_order_unknown",
            );
        }
        let good = success_notification(&alipay.app_id, &reference, "12.30", "n-live", key);
        notify(&app, "/notify/alipay/live", good.clone()).await.assert_error(
            404,
            "invalid_request_error",
            "notification_account_unknown",
        );
        notify(&app, "/notify/alipay/x", good).await.assert_error(
            404,
            "invalid_request_error",
            "notification_account_unknown",
        );
        let shown = app.get(&format!("/v1/payments/{}", payment["id"].as_str().unwrap()), &app.test_key).await.body;
        assert_eq!(shown["status"], "requires_action");
        assert!(!event_types(&app).await.iter().any(|t| t == "payment.succeeded" || t == "payment.discrepancy"));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signed_notification_with_another_amount_is_acknowledged_as_a_discrepancy() {
    on_each_backend(|db| async {
        let app = TestApp::spawn_alipay(db).await;
        let payment = qr_payment(&app, "qr-amount").await;
        let alipay = alipay(&app);
        let form =
            success_notification(&alipay.app_id, &out_trade_no(&payment), "1.23", "n-amount", &alipay.alipay_key_pem);
        for _ in 0..2 {
            let answer = notify(&app, NOTIFY_PATH, form.clone()).await;
            assert_eq!((answer.status.as_u16(), answer.body.as_str()), (200, Some("success")));
        }
        let shown = app.get(&format!("/v1/payments/{}", payment["id"].as_str().unwrap()), &app.test_key).await.body;
        assert_eq!((shown["status"].as_str(), shown["amount_captured"].as_i64()), (Some("requires_action"), Some(0)));
        let events = app.get("/v1/events?limit=100", &app.test_key).await.body;
        let discrepancies: Vec<&Value> =
            events["data"].as_array().unwrap().iter().filter(|e| e["type"] == "payment.discrepancy").collect();
        assert_eq!(discrepancies.len(), 1, "recorded once, however often it is sent");
        let object = &discrepancies[0]["data"]["object"];
        assert_eq!(
            (object["reason"].as_str(), object["expected_amount"].as_i64()),
            (Some("amount_mismatch"), Some(1230))
        );
        assert_eq!(object["reported_amount"], 123);
        assert!(payrail_service::verify_ledger(app.payrail.store()).await.unwrap().entries == 0);
    })
    .await;
}
