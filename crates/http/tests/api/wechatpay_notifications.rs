//! WeChat Pay notifications that are forged, unsigned, replayed, for another merchant,
//! order or account, or with another amount: each moves nothing, or only records a
//! discrepancy. Refusals are answered as WeChat expects: 4xx with `{"code":"FAIL",…}`.

use axum::body::Body;
use axum::http::Request;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use payrail_crypto::rsa::RsaPrivateKey;
use payrail_domain::Clock;
use payrail_testkit::on_each_backend;
use serde_json::{Value, json};

use crate::alipay::{event_types, payment_reaches};
use crate::helpers::{TestApp, TestResponse};
use crate::wechatpay::{buyer_pays, ledger_entries, native_payment, notifications_delivered, out_trade_no, wechatpay};

const NOTIFY_PATH: &str = "/notify/wechatpay/test";

/// The simulator's platform private key, to sign notifications as WeChat Pay does.
fn platform_key(app: &TestApp) -> String {
    wechatpay(app).simulator.kept_keys().unwrap().platform_private_key_pem.expose().clone()
}

/// Posts `body` with `Wechatpay-*` headers signed now with `key_pem`.
async fn notify(app: &TestApp, path: &str, body: &str, key_pem: &str) -> TestResponse {
    let timestamp = app.clock.now().unix_seconds().to_string();
    let nonce = "n0nce0f32charactersforthetest000";
    let message = format!("{timestamp}\n{nonce}\n{body}\n");
    let signature = RsaPrivateKey::from_pem(key_pem).unwrap().sign_base64(message.as_bytes()).unwrap();
    let request = Request::builder()
        .method("POST")
        .uri(path)
        .header("content-type", "application/json")
        .header("wechatpay-timestamp", timestamp)
        .header("wechatpay-nonce", nonce)
        .header("wechatpay-signature", signature)
        .header("wechatpay-serial", &wechatpay(app).credentials.platform_public_key_id)
        .header("wechatpay-signature-type", "WECHATPAY2-SHA256-RSA2048")
        .body(Body::from(body.to_owned()))
        .unwrap();
    app.send(request).await
}

/// A `TRANSACTION.SUCCESS` notification body with the resource sealed under the account's
/// APIv3 key, as WeChat Pay sends it.
fn paid_notification(app: &TestApp, id: &str, out_trade_no: &str, total: i64, mchid: &str) -> String {
    let credentials = &wechatpay(app).credentials;
    let resource = json!({"appid": credentials.appid, "mchid": mchid, "out_trade_no": out_trade_no,
        "transaction_id": "4200000000000000000000000099", "trade_type": "NATIVE", "trade_state": "SUCCESS",
        "trade_state_desc": "支付成功", "amount": {"total": total, "payer_total": total, "currency": "CNY"}});
    let nonce = "abcdefghijkl";
    let sealed = payrail_crypto::aead::seal(
        credentials.apiv3_key.expose().as_bytes(),
        nonce.as_bytes(),
        b"transaction",
        resource.to_string().as_bytes(),
    )
    .unwrap();
    json!({"id": id, "create_time": "2026-05-28T12:00:00+08:00", "resource_type": "encrypt-resource",
        "event_type": "TRANSACTION.SUCCESS", "summary": "支付成功",
        "resource": {"original_type": "transaction", "algorithm": "AEAD_AES_256_GCM",
            "ciphertext": STANDARD.encode(sealed), "associated_data": "transaction", "nonce": nonce}})
    .to_string()
}

fn assert_fail(response: &TestResponse, status: u16, code: &str) {
    assert_eq!(response.status.as_u16(), status, "{}", response.body);
    assert_eq!(response.body["code"], "FAIL", "{}", response.body);
    assert!(response.body["message"].as_str().unwrap().starts_with(code), "{}", response.body);
}

fn assert_taken(response: &TestResponse) {
    assert_eq!(response.status.as_u16(), 204, "{}", response.body);
    assert_eq!(response.body, Value::String(String::new()), "no body");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replayed_wechat_notification_is_acknowledged_and_changes_nothing_twice() {
    on_each_backend(|db| async {
        let app = TestApp::spawn_wechatpay(db).await;
        let payment = native_payment(&app, "wx-replay").await;
        buyer_pays(&app, &payment).await;
        payment_reaches(&app, payment["id"].as_str().unwrap(), "succeeded").await;
        let sent = notifications_delivered(&app, 1).await;
        let events_before = event_types(&app).await;
        for _ in 0..2 {
            assert_taken(&notify(&app, NOTIFY_PATH, &sent[0].body, &platform_key(&app)).await);
        }
        assert_eq!(event_types(&app).await, events_before);
        assert_eq!(ledger_entries(&app).await, 1);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_unsigned_and_foreign_wechat_notifications_are_refused_and_change_nothing() {
    on_each_backend(|db| async {
        let app = TestApp::spawn_wechatpay(db).await;
        let payment = native_payment(&app, "wx-forged").await;
        let reference = out_trade_no(&payment);
        let mchid = wechatpay(&app).credentials.mchid.clone();
        let good = paid_notification(&app, "EV-good", &reference, 1230, &mchid);
        let forger = RsaPrivateKey::generate().unwrap().to_pkcs8_pem().unwrap();
        assert_fail(&notify(&app, NOTIFY_PATH, &good, &forger).await, 400, "notification_signature_invalid");
        let unsigned = Request::builder().method("POST").uri(NOTIFY_PATH).body(Body::from(good.clone())).unwrap();
        assert_fail(&app.send(unsigned).await, 400, "notification_signature_invalid");
        let key = platform_key(&app);
        let other_merchant = paid_notification(&app, "EV-other", &reference, 1230, "1900000001");
        assert_fail(&notify(&app, NOTIFY_PATH, &other_merchant, &key).await, 400, "notification_merchant_mismatch");
        for unknown in ["att_01m955sn8f66gaxbfaxfkfegny", "not-an-attempt"] {
            let body = paid_notification(&app, "EV-unknown", unknown, 1230, &mchid);
            assert_fail(&notify(&app, NOTIFY_PATH, &body, &key).await, 400, "notification_order_unknown");
        }
        assert_fail(&notify(&app, "/notify/wechatpay/live", &good, &key).await, 404, "notification_account_unknown");
        let shown = app.get(&format!("/v1/payments/{}", payment["id"].as_str().unwrap()), &app.test_key).await.body;
        assert_eq!(shown["status"], "requires_action");
        assert!(!event_types(&app).await.iter().any(|t| t == "payment.succeeded" || t == "payment.discrepancy"));

        assert_taken(&notify(&app, NOTIFY_PATH, &good, &key).await);
        assert_eq!(ledger_entries(&app).await, 1, "the genuine one, sent again, is applied");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signed_wechat_notification_with_another_amount_is_acknowledged_as_a_discrepancy() {
    on_each_backend(|db| async {
        let app = TestApp::spawn_wechatpay(db).await;
        let payment = native_payment(&app, "wx-amount").await;
        let mchid = wechatpay(&app).credentials.mchid.clone();
        let body = paid_notification(&app, "EV-amount", &out_trade_no(&payment), 123, &mchid);
        for _ in 0..2 {
            assert_taken(&notify(&app, NOTIFY_PATH, &body, &platform_key(&app)).await);
        }
        let shown = app.get(&format!("/v1/payments/{}", payment["id"].as_str().unwrap()), &app.test_key).await.body;
        assert_eq!((shown["status"].as_str(), shown["amount_captured"].as_i64()), (Some("requires_action"), Some(0)));
        let events = app.get("/v1/events?limit=100", &app.test_key).await.body;
        let discrepancies: Vec<&Value> =
            events["data"].as_array().unwrap().iter().filter(|e| e["type"] == "payment.discrepancy").collect();
        assert_eq!(discrepancies.len(), 1, "recorded once, however often it is sent");
        let object = &discrepancies[0]["data"]["object"];
        assert_eq!(
            (object["reason"].as_str(), object["channel"].as_str()),
            (Some("amount_mismatch"), Some("wechatpay"))
        );
        assert_eq!((object["expected_amount"].as_i64(), object["reported_amount"].as_i64()), (Some(1230), Some(123)));
        assert_eq!(ledger_entries(&app).await, 0);
    })
    .await;
}
