//! WeChat Pay QR-code payments (`wechat_native`) end to end: Payrail places a native order
//! with the WeChat Pay simulator, the buyer pays on the simulator's page, the simulator
//! notifies Payrail over HTTP (signed, encrypted), and the payment succeeds with its ledger
//! entry, events and webhook deliveries; refunds stay pending until WeChat's notification
//! or the sweep's query settles them. The sweep closes expired orders at WeChat first.
//! Bad notifications are in `wechatpay_notifications.rs`; the helpers here serve all the
//! WeChat Pay modules.

use std::time::Duration;

use payrail_domain::Clock;
use payrail_testkit::on_each_backend;
use serde_json::{Value, json};

use crate::alipay::{browser, event_types, payment_reaches};
use crate::helpers::{StartedWechatPay, TestApp};

/// A 12.30 CNY `wechat_native` payment, confirmed: it waits for the buyer.
pub(crate) async fn native_payment(app: &TestApp, order: &str) -> Value {
    let body = json!({"amount": 1230, "currency": "cny", "merchant_order_no": order, "confirm": true,
        "payment_method": {"type": "wechat_native"}});
    let response = app.post_json("/v1/payments", &app.test_key, &body).await;
    assert_eq!(response.body["status"], "requires_action", "{}", response.body);
    response.body
}

pub(crate) fn wechatpay(app: &TestApp) -> &StartedWechatPay {
    app.wechatpay.as_ref().unwrap()
}

/// The attempt's id (WeChat's `out_trade_no`), from the QR image's URL.
pub(crate) fn out_trade_no(payment: &Value) -> String {
    let url = payment["next_action"]["wechat_display_qr_code"]["image_url_svg"].as_str().unwrap();
    url.rsplit('/').next().unwrap().trim_end_matches(".svg").to_owned()
}

/// The buyer's page of a native order: `{base}/buyer/{pr}`, from its `code_url`.
pub(crate) fn buyer_page(app: &TestApp, payment: &Value) -> String {
    let code_url = payment["next_action"]["wechat_display_qr_code"]["data"].as_str().unwrap();
    let token = code_url.strip_prefix("weixin://wxpay/bizpayurl?pr=").expect("a native code_url");
    format!("{}/buyer/{token}", wechatpay(app).url)
}

/// The buyer scans the code and pays, as WeChat on a phone would.
pub(crate) async fn buyer_pays(app: &TestApp, payment: &Value) {
    let paid = browser().post(format!("{}/pay", buyer_page(app, payment))).send().await.unwrap();
    assert_eq!(paid.status(), 200);
}

/// The simulator's notifications once `count` of them were delivered (or after 5 s).
pub(crate) async fn notifications_delivered(
    app: &TestApp,
    count: usize,
) -> Vec<payrail_sandbox::wechatpay::SentNotification> {
    for _ in 0..200 {
        let sent = wechatpay(app).simulator.sent_notifications();
        if sent.iter().filter(|notification| notification.delivered).count() >= count {
            return sent;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    wechatpay(app).simulator.sent_notifications()
}

/// Polls the API (bounded) until the refund has `status`.
async fn refund_reaches(app: &TestApp, id: &str, status: &str) -> Value {
    for _ in 0..crate::helpers::POLLS_MAX {
        let shown = app.get(&format!("/v1/refunds/{id}"), &app.test_key).await.body;
        if shown["status"] == status {
            return shown;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("refund {id} never became {status}");
}

/// Refunds `amount` of `payment`. WeChat answers `PROCESSING`, so the refund is pending,
/// unless the simulator's `REFUND.SUCCESS` notification (sent as it answers) has already
/// been applied by the time the API reads the refund back: both are right answers.
pub(crate) async fn refund_started(app: &TestApp, payment_id: &str, amount: i64) -> String {
    let refund = app.post_json("/v1/refunds", &app.test_key, &json!({"payment": payment_id, "amount": amount})).await;
    assert_eq!(refund.status, 200, "{}", refund.body);
    assert!(["pending", "succeeded"].contains(&refund.body["status"].as_str().unwrap()), "{}", refund.body);
    refund.body["id"].as_str().unwrap().to_owned()
}

/// The refund settled by WeChat's `REFUND.SUCCESS` notification.
pub(crate) async fn refund_notified(app: &TestApp, refund_id: &str) {
    refund_reaches(app, refund_id, "succeeded").await;
}

/// The ledger's entries, after checking every invariant holds.
pub(crate) async fn ledger_entries(app: &TestApp) -> u64 {
    let report = payrail_service::verify_ledger(app.payrail.store()).await.unwrap();
    assert!(report.is_clean(), "{:?}", report.violations);
    report.entries
}

async fn status_of(app: &TestApp, payment: &Value) -> String {
    let path = format!("/v1/payments/{}", payment["id"].as_str().unwrap());
    app.get(&path, &app.test_key).await.body["status"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_native_payment_is_paid_by_the_buyer_notified_over_http_and_refunded_asynchronously() {
    on_each_backend(|db| async {
        let app = TestApp::spawn_wechatpay(db).await;
        let hook = json!({"url": "http://127.0.0.1:9/hook", "enabled_events": ["payment.succeeded"]});
        assert_eq!(app.post_json("/v1/webhook_endpoints", &app.test_key, &hook).await.status, 200);
        let payment = native_payment(&app, "wx-1").await;
        let id = payment["id"].as_str().unwrap();
        assert_eq!(payment["payment_method"], json!({"type": "wechat_native"}));
        let action = &payment["next_action"];
        assert_eq!(action["type"], "wechat_display_qr_code");
        assert!(action["wechat_display_qr_code"]["data"].as_str().unwrap().starts_with("weixin://wxpay/bizpayurl?pr="));
        let image = app.call(axum::http::Method::GET, &format!("/qr/{}.svg", out_trade_no(&payment)), None).await;
        assert_eq!((image.status.as_u16(), &image.headers["content-type"]), (200, &"image/svg+xml".parse().unwrap()));

        buyer_pays(&app, &payment).await;
        let paid = payment_reaches(&app, id, "succeeded").await;
        assert_eq!((paid["amount_captured"].as_i64(), &paid["next_action"]), (Some(1230), &Value::Null));
        let sent = notifications_delivered(&app, 1).await;
        assert_eq!(sent[0].last_status, Some(204), "Payrail answered 204 with no body");
        assert_eq!(ledger_entries(&app).await, 1);
        let events = app.get("/v1/events?limit=100", &app.test_key).await.body;
        let succeeded = events["data"].as_array().unwrap().iter().find(|e| e["type"] == "payment.succeeded").unwrap();
        let path = format!("/v1/events/{}/deliveries", succeeded["id"].as_str().unwrap());
        assert_eq!(app.get(&path, &app.test_key).await.body["data"].as_array().unwrap().len(), 1);
        let balance = app.get("/v1/balance", &app.test_key).await.body;
        // 12.30 less the default fee: round_half_up(1230 × 2.9 %) + 30 = 66 fen.
        assert_eq!(balance["pending"], json!([{"amount": 1164, "currency": "CNY"}]), "{balance}");

        let refund_id = refund_started(&app, id, 230).await;
        refund_notified(&app, &refund_id).await;
        let refunded = app.get(&format!("/v1/payments/{id}"), &app.test_key).await.body;
        assert_eq!(refunded["amount_refunded"], 230);
        assert_eq!(ledger_entries(&app).await, 2);
        assert!(event_types(&app).await.contains(&"refund.succeeded".to_owned()));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wechat_payments_are_checked_before_anything_is_written() {
    on_each_backend(|db| async {
        let app = TestApp::spawn_wechatpay(db).await;
        let key = app.test_key.clone();
        let order = |extra: Value| {
            let mut body = json!({"amount": 1230, "currency": "cny", "merchant_order_no": "wx-bad", "confirm": true,
                "payment_method": {"type": "wechat_native"}});
            body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
            body
        };
        let usd = app.post_json("/v1/payments", &key, &order(json!({"currency": "usd"}))).await;
        let error = usd.assert_error(400, "invalid_request_error", "currency_unsupported");
        assert_eq!(
            (error["param"].as_str(), error["message"].as_str()),
            (Some("currency"), Some("wechat pay payments must be in cny"))
        );
        let manual = app.post_json("/v1/payments", &key, &order(json!({"capture_method": "manual"}))).await;
        assert_eq!(manual.assert_error(400, "invalid_request_error", "parameter_invalid")["param"], "capture_method");
        let extra = app
            .post_json("/v1/payments", &key, &order(json!({"payment_method": {"type": "wechat_native", "card": {}}})))
            .await;
        extra.assert_error(400, "invalid_request_error", "parameter_unknown");
        assert_eq!(app.get("/v1/payments", &key).await.body["data"], json!([]), "nothing was written");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_wechat_pay_account_wechat_payments_are_unavailable() {
    on_each_backend(|db| async {
        let app = TestApp::spawn(db).await;
        let body = json!({"amount": 1230, "currency": "cny", "merchant_order_no": "wx-none", "confirm": true,
            "payment_method": {"type": "wechat_native"}});
        let response = app.post_json("/v1/payments", &app.test_key, &body).await;
        response.assert_error(400, "invalid_request_error", "payment_method_unavailable");
        let notified = app.post_json("/notify/wechatpay/test", &app.test_key, &json!({})).await;
        assert_eq!((notified.status.as_u16(), notified.body["code"].as_str()), (404, Some("FAIL")));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_native_payment_is_closed_at_wechat_first_and_one_paid_meanwhile_succeeds() {
    on_each_backend(|db| async {
        let app = TestApp::spawn_wechatpay_unnotified(db).await;
        let later = json!({"amount": 1230, "currency": "cny", "merchant_order_no": "wx-later",
            "payment_method": {"type": "wechat_native"}});
        let created = app.post_json("/v1/payments", &app.test_key, &later).await.body;
        assert_eq!(
            (created["status"].as_str(), &created["payment_method"]),
            (Some("requires_confirmation"), &json!({"type": "wechat_native"}))
        );
        let confirm_path = format!("/v1/payments/{}/confirm", created["id"].as_str().unwrap());
        let unpaid = app.post_json(&confirm_path, &app.test_key, &json!({})).await.body;
        assert_eq!(unpaid["status"], "requires_action", "{unpaid}");
        let paid = native_payment(&app, "wx-paid-late").await;
        buyer_pays(&app, &paid).await;
        let expires_in = unpaid["expires_at"].as_i64().unwrap() * 1000 - app.clock.now().unix_ms();
        app.clock.advance_ms(expires_in + 1);

        let report = app.payrail.sweep_payments().await.unwrap();
        assert_eq!((report.expired, report.attempts_resolved), (1, 0), "{report:?}");
        assert_eq!(status_of(&app, &unpaid).await, "canceled");
        assert_eq!(status_of(&app, &paid).await, "succeeded", "ORDERPAID on close: resolved by query");
        let late = browser().post(format!("{}/pay", buyer_page(&app, &unpaid))).send().await.unwrap();
        assert_ne!(late.status(), 200, "the closed order cannot be paid any more");
        assert_eq!(ledger_entries(&app).await, 1);

        // Its refund's notification is lost too: the sweep asks WeChat.
        let refund_id = refund_started(&app, paid["id"].as_str().unwrap(), 1230).await;
        app.clock.advance_ms(61_000);
        assert_eq!(app.payrail.sweep_payments().await.unwrap().refunds_settled, 1);
        let refund = app.get(&format!("/v1/refunds/{refund_id}"), &app.test_key).await.body;
        assert_eq!(refund["status"], "succeeded");
        assert_eq!(ledger_entries(&app).await, 2);
    })
    .await;
}
