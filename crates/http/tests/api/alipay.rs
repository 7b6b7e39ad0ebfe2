//! Alipay QR-code payments end to end: Payrail asks the Alipay simulator for a QR code, the
//! buyer pays on the simulator's page, the simulator notifies Payrail over HTTP, and the
//! payment succeeds with its ledger entry, events and webhook deliveries; then a refund.
//! The sweep finds paid codes whose notification was lost and closes expired trades at
//! Alipay. Bad notifications are in `alipay_notifications.rs`; the helpers here serve both.

use std::time::Duration;

use payrail_crypto::rsa::RsaPrivateKey;
use payrail_domain::Clock;
use payrail_testkit::on_each_backend;
use serde_json::{Value, json};

use crate::helpers::{StartedAlipay, TestApp, TestResponse};

pub(crate) const NOTIFY_PATH: &str = "/notify/alipay/test";

/// A 12.30 CNY `alipay_qr` payment, confirmed: it waits for the buyer.
pub(crate) async fn qr_payment(app: &TestApp, order: &str) -> Value {
    let body = json!({"amount": 1230, "currency": "cny", "merchant_order_no": order, "confirm": true,
        "payment_method": {"type": "alipay_qr"}});
    let response = app.post_json("/v1/payments", &app.test_key, &body).await;
    assert_eq!(response.body["status"], "requires_action", "{}", response.body);
    response.body
}

/// The attempt's id (Alipay's `out_trade_no`), from the QR image's URL.
pub(crate) fn out_trade_no(payment: &Value) -> String {
    let url = payment["next_action"]["alipay_display_qr_code"]["image_url_svg"].as_str().unwrap();
    url.rsplit('/').next().unwrap().trim_end_matches(".svg").to_owned()
}

/// The simulator's notifications once one of them was acknowledged (or after 5 s): a
/// payment succeeds when Payrail commits, a moment before the simulator reads Payrail's
/// `success` and records it.
pub(crate) async fn notifications_once_acknowledged(
    app: &TestApp,
) -> Vec<payrail_sandbox::alipay::SentAlipayNotification> {
    let mut sent = alipay(app).sandbox.sent_notifications();
    for _ in 0..200 {
        if sent.iter().any(|notification| notification.acknowledged) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
        sent = alipay(app).sandbox.sent_notifications();
    }
    sent
}

pub(crate) fn alipay(app: &TestApp) -> &StartedAlipay {
    app.alipay.as_ref().unwrap()
}

/// What the buyer's phone uses to reach the simulator's pages.
pub(crate) fn browser() -> reqwest::Client {
    reqwest::Client::builder().timeout(Duration::from_secs(5)).build().unwrap()
}

/// The buyer opens the QR code's page and pays, as a phone would.
pub(crate) async fn buyer_pays(payment: &Value) {
    let page_url = payment["next_action"]["alipay_display_qr_code"]["data"].as_str().unwrap();
    let http = browser();
    let page = http.get(page_url).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("¥12.30"));
    let paid = http.post(format!("{page_url}/pay")).send().await.unwrap();
    assert_eq!(paid.status(), 200);
}

/// Polls the API (bounded) until the payment has `status`.
pub(crate) async fn payment_reaches(app: &TestApp, id: &str, status: &str) -> Value {
    for _ in 0..crate::helpers::POLLS_MAX {
        let shown = app.get(&format!("/v1/payments/{id}"), &app.test_key).await.body;
        if shown["status"] == status {
            return shown;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("payment {id} never became {status}");
}

/// A notification as Alipay signs it (SHA256withRSA over the sorted parameters without
/// `sign` and `sign_type`), with `key_pem`.
pub(crate) fn signed_form(params: &[(&str, &str)], key_pem: &str) -> String {
    let mut sorted: Vec<_> = params.iter().filter(|(key, _)| *key != "sign" && *key != "sign_type").collect();
    sorted.sort();
    let content: Vec<String> = sorted.iter().map(|(key, value)| format!("{key}={value}")).collect();
    let sign = RsaPrivateKey::from_pem(key_pem).unwrap().sign_base64(content.join("&").as_bytes()).unwrap();
    let mut form = form_urlencoded::Serializer::new(String::new());
    for (key, value) in params {
        form.append_pair(key, value);
    }
    form.append_pair("sign", &sign);
    form.finish()
}

/// A `TRADE_SUCCESS` notification for `out_trade_no`, signed with `key_pem`.
pub(crate) fn success_notification(
    app_id: &str,
    out_trade_no: &str,
    total_amount: &str,
    notify_id: &str,
    key_pem: &str,
) -> String {
    let params = [
        ("notify_id", notify_id),
        ("notify_type", "trade_status_sync"),
        ("app_id", app_id),
        ("charset", "utf-8"),
        ("version", "1.0"),
        ("sign_type", "RSA2"),
        ("trade_no", "2026120622000000099"),
        ("out_trade_no", out_trade_no),
        ("trade_status", "TRADE_SUCCESS"),
        ("total_amount", total_amount),
    ];
    signed_form(&params, key_pem)
}

pub(crate) async fn notify(app: &TestApp, path: &str, form: String) -> TestResponse {
    let request = axum::http::Request::builder()
        .method("POST")
        .uri(path)
        .header("content-type", "application/x-www-form-urlencoded; charset=utf-8")
        .body(axum::body::Body::from(form))
        .unwrap();
    app.send(request).await
}

async fn status_of(app: &TestApp, payment: &Value) -> String {
    let path = format!("/v1/payments/{}", payment["id"].as_str().unwrap());
    app.get(&path, &app.test_key).await.body["status"].as_str().unwrap().to_owned()
}

pub(crate) async fn event_types(app: &TestApp) -> Vec<String> {
    let events = app.get("/v1/events?limit=100", &app.test_key).await.body;
    events["data"].as_array().unwrap().iter().map(|event| event["type"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_qr_payment_is_paid_by_the_buyer_notified_over_http_and_then_partly_refunded() {
    on_each_backend(|db| async {
        let app = TestApp::spawn_alipay(db).await;
        let hook = json!({"url": "http://127.0.0.1:9/hook", "enabled_events": ["payment.succeeded"]});
        assert_eq!(app.post_json("/v1/webhook_endpoints", &app.test_key, &hook).await.status, 200);
        let payment = qr_payment(&app, "qr-1").await;
        let id = payment["id"].as_str().unwrap();
        assert_eq!(payment["payment_method"], json!({"type": "alipay_qr"}));
        let action = &payment["next_action"];
        assert_eq!(action["type"], "alipay_display_qr_code");
        assert!(action["alipay_display_qr_code"]["data"].as_str().unwrap().starts_with(&alipay(&app).url));
        assert_eq!(app.get(&format!("/v1/payments/{id}"), &app.test_key).await.body["next_action"], *action);
        let image = app.call(axum::http::Method::GET, &format!("/qr/{}.svg", out_trade_no(&payment)), None).await;
        assert_eq!(image.status, 200);
        assert_eq!(image.headers["content-type"], "image/svg+xml");
        assert!(image.body.as_str().unwrap().contains("<svg"));

        buyer_pays(&payment).await;
        let paid = payment_reaches(&app, id, "succeeded").await;
        assert_eq!((paid["amount_captured"].as_i64(), &paid["next_action"]), (Some(1230), &Value::Null));
        let sent = notifications_once_acknowledged(&app).await;
        assert!(sent.len() == 1 && sent[0].acknowledged, "Payrail answered success");
        let report = payrail_service::verify_ledger(app.payrail.store()).await.unwrap();
        assert!(report.is_clean() && report.entries == 1, "{:?}", report.violations);
        let events = app.get("/v1/events?limit=100", &app.test_key).await.body;
        let succeeded = events["data"].as_array().unwrap().iter().find(|e| e["type"] == "payment.succeeded").unwrap();
        let path = format!("/v1/events/{}/deliveries", succeeded["id"].as_str().unwrap());
        let deliveries = app.get(&path, &app.test_key).await;
        assert_eq!(deliveries.body["data"].as_array().unwrap().len(), 1);
        let image = app.call(axum::http::Method::GET, &format!("/qr/{}.svg", out_trade_no(&payment)), None).await;
        assert_eq!(image.status, 404, "a paid attempt's QR code is no longer served");

        let refund = app.post_json("/v1/refunds", &app.test_key, &json!({"payment": id, "amount": 230})).await;
        assert_eq!(refund.body["status"], "succeeded", "{}", refund.body);
        let refunded = app.get(&format!("/v1/payments/{id}"), &app.test_key).await.body;
        assert_eq!(refunded["amount_refunded"], 230);
        let report = payrail_service::verify_ledger(app.payrail.store()).await.unwrap();
        assert!(report.is_clean() && report.entries == 2, "{:?}", report.violations);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn qr_payments_are_checked_before_anything_is_written() {
    on_each_backend(|db| async {
        let app = TestApp::spawn_alipay(db).await;
        let key = app.test_key.clone();
        let order = |extra: Value| {
            let mut body = json!({"amount": 1230, "currency": "cny", "merchant_order_no": "qr-bad", "confirm": true,
                "payment_method": {"type": "alipay_qr"}});
            body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
            body
        };
        let usd = app.post_json("/v1/payments", &key, &order(json!({"currency": "usd"}))).await;
        assert_eq!(usd.assert_error(400, "invalid_request_error", "currency_unsupported")["param"], "currency");
        let manual = app.post_json("/v1/payments", &key, &order(json!({"capture_method": "manual"}))).await;
        assert_eq!(manual.assert_error(400, "invalid_request_error", "parameter_invalid")["param"], "capture_method");
        let extra = app
            .post_json("/v1/payments", &key, &order(json!({"payment_method": {"type": "alipay_qr", "card": {}}})))
            .await;
        extra.assert_error(400, "invalid_request_error", "parameter_unknown");
        let unknown =
            app.post_json("/v1/payments", &key, &order(json!({"payment_method": {"type": "alipay_web"}}))).await;
        unknown.assert_error(400, "invalid_request_error", "payment_method_unsupported");
        let untyped = app.post_json("/v1/payments", &key, &order(json!({"payment_method": {}}))).await;
        untyped.assert_error(400, "invalid_request_error", "parameter_missing");
        let malformed = app.post_json("/v1/payments", &key, &order(json!({"payment_method": "alipay_qr"}))).await;
        assert_eq!(malformed.status, 400);
        let anonymous = app.call(axum::http::Method::POST, "/v1/payments", None).await;
        assert_eq!(anonymous.status, 401);
        assert_eq!(app.get("/v1/payments", &key).await.body["data"], json!([]), "nothing was written");
        for path in ["/qr/att_01m955sn8f66gaxbfaxfkfegny.svg", "/qr/nothing.svg", "/qr/att_01m955sn8f66gaxbfaxfkfegny"]
        {
            let image = app.call(axum::http::Method::GET, path, None).await;
            image.assert_error(404, "invalid_request_error", "resource_missing");
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_qr_payment_may_be_confirmed_later_and_canceled_only_by_its_merchant() {
    on_each_backend(|db| async {
        let app = TestApp::spawn_alipay(db).await;
        let body = json!({"amount": 1230, "currency": "cny", "merchant_order_no": "qr-later",
            "payment_method": {"type": "alipay_qr"}});
        let created = app.post_json("/v1/payments", &app.test_key, &body).await.body;
        assert_eq!(
            (created["status"].as_str(), &created["payment_method"]),
            (Some("requires_confirmation"), &json!({"type": "alipay_qr"}))
        );
        let id = created["id"].as_str().unwrap();
        let (_, other_key, _) = app.other_merchant(payrail_domain::MerchantStatus::Active).await;
        let foreign = app.post_json(&format!("/v1/payments/{id}/confirm"), &other_key, &json!({})).await;
        foreign.assert_error(404, "invalid_request_error", "resource_missing");
        let confirmed = app.post_json(&format!("/v1/payments/{id}/confirm"), &app.test_key, &json!({})).await;
        assert_eq!(confirmed.body["status"], "requires_action", "{}", confirmed.body);
        let foreign = app.get(&format!("/v1/payments/{id}"), &other_key).await;
        foreign.assert_error(404, "invalid_request_error", "resource_missing");
        let foreign = app.post_json(&format!("/v1/payments/{id}/cancel"), &other_key, &json!({})).await;
        foreign.assert_error(404, "invalid_request_error", "resource_missing");
        let page_url = confirmed.body["next_action"]["alipay_display_qr_code"]["data"].as_str().unwrap().to_owned();
        assert_eq!(browser().get(&page_url).send().await.unwrap().status(), 200, "scanned");
        let canceled = app.post_json(&format!("/v1/payments/{id}/cancel"), &app.test_key, &json!({})).await;
        assert_eq!(canceled.body["status"], "canceled", "{}", canceled.body);
        let late = browser().post(format!("{page_url}/pay")).send().await.unwrap();
        assert_ne!(late.status(), 200, "the trade was closed at Alipay before the cancel");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_an_alipay_account_qr_payments_are_unavailable() {
    on_each_backend(|db| async {
        let app = TestApp::spawn(db).await;
        let body = json!({"amount": 1230, "currency": "cny", "merchant_order_no": "qr-none", "confirm": true,
            "payment_method": {"type": "alipay_qr"}});
        let response = app.post_json("/v1/payments", &app.test_key, &body).await;
        response.assert_error(400, "invalid_request_error", "payment_method_unavailable");
        let notified = notify(&app, NOTIFY_PATH, "sign=x".to_owned()).await;
        notified.assert_error(404, "invalid_request_error", "notification_account_unknown");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paid_qr_code_whose_notification_is_lost_is_found_by_the_sweep() {
    on_each_backend(|db| async {
        let app = TestApp::spawn_alipay_unnotified(db).await;
        let payment = qr_payment(&app, "qr-lost").await;
        let id = payment["id"].as_str().unwrap();
        app.clock.advance_ms(61_000);
        let report = app.payrail.sweep_payments().await.unwrap();
        assert_eq!(report.attempts_resolved, 0, "not paid yet: nothing moves");
        assert_eq!(app.get(&format!("/v1/payments/{id}"), &app.test_key).await.body["status"], "requires_action");

        buyer_pays(&payment).await;
        app.clock.advance_ms(60_000);
        assert_eq!(app.payrail.sweep_payments().await.unwrap().attempts_resolved, 0, "asked again only later");
        app.clock.advance_ms(61_000);
        assert_eq!(app.payrail.sweep_payments().await.unwrap().attempts_resolved, 1);
        let paid = app.get(&format!("/v1/payments/{id}"), &app.test_key).await.body;
        assert_eq!((paid["status"].as_str(), paid["amount_captured"].as_i64()), (Some("succeeded"), Some(1230)));
        let report = payrail_service::verify_ledger(app.payrail.store()).await.unwrap();
        assert!(report.is_clean() && report.entries == 1, "{:?}", report.violations);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_qr_payment_is_closed_at_alipay_first_and_one_paid_meanwhile_succeeds() {
    on_each_backend(|db| async {
        let app = TestApp::spawn_alipay_unnotified(db).await;
        let unpaid = qr_payment(&app, "qr-expired").await;
        let page_url = unpaid["next_action"]["alipay_display_qr_code"]["data"].as_str().unwrap().to_owned();
        let http = browser();
        assert_eq!(http.get(&page_url).send().await.unwrap().status(), 200, "scanned, never paid");
        let paid = qr_payment(&app, "qr-paid-late").await;
        buyer_pays(&paid).await;
        let expires_in = unpaid["expires_at"].as_i64().unwrap() * 1000 - app.clock.now().unix_ms();
        app.clock.advance_ms(expires_in + 1);

        let report = app.payrail.sweep_payments().await.unwrap();
        assert_eq!((report.expired, report.attempts_resolved), (1, 0), "{report:?}");
        assert_eq!(status_of(&app, &unpaid).await, "canceled");
        assert_eq!(status_of(&app, &paid).await, "succeeded");
        let late = http.post(format!("{page_url}/pay")).send().await.unwrap();
        assert_ne!(late.status(), 200, "the closed trade cannot be paid any more");
        let report = payrail_service::verify_ledger(app.payrail.store()).await.unwrap();
        assert!(report.is_clean() && report.entries == 1, "{:?}", report.violations);
    })
    .await;
}

/// A browser that shows each redirect instead of following it.
fn step_by_step_browser() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cashier_payment_sends_the_payer_to_alipay_and_back_to_the_merchant_paid() {
    on_each_backend(|db| async {
        let app = TestApp::spawn_alipay(db).await;
        for (method, order) in [("alipay_page", "page-1"), ("alipay_wap", "wap-1")] {
            let body = json!({"amount": 1230, "currency": "cny", "merchant_order_no": order, "confirm": true,
                "return_url": "https://shop.example/done?order=7", "payment_method": {"type": method}});
            let payment = app.post_json("/v1/payments", &app.test_key, &body).await.body;
            assert_eq!(payment["status"], "requires_action", "{payment}");
            assert_eq!(payment["payment_method"]["type"], method);
            let cashier = payment["next_action"]["redirect_to_url"]["url"].as_str().unwrap();
            assert!(cashier.starts_with(&alipay(&app).url), "{cashier}");
            let product = if method == "alipay_page" { "alipay.trade.page.pay" } else { "alipay.trade.wap.pay" };
            assert!(cashier.contains(product), "{cashier}");

            let browser = step_by_step_browser();
            let to_buyer = browser.get(cashier).send().await.unwrap();
            assert!(to_buyer.status().is_redirection(), "the gateway accepts the signed cashier URL");
            let buyer_page = to_buyer.headers()["location"].to_str().unwrap().to_owned();
            assert!(browser.get(&buyer_page).send().await.unwrap().text().await.unwrap().contains("¥12.30"));
            let back = browser.post(format!("{buyer_page}/pay")).send().await.unwrap();
            let back_to_payrail = back.headers()["location"].to_str().unwrap().to_owned();
            let id = payment["id"].as_str().unwrap();
            assert!(back_to_payrail.contains(&format!("/v1/payments/{id}/return?")), "{back_to_payrail}");
            let returned = browser.get(&back_to_payrail).send().await.unwrap();
            assert_eq!(returned.status(), 303);
            let to_shop = returned.headers()["location"].to_str().unwrap();
            assert_eq!(to_shop, format!("https://shop.example/done?order=7&payment={id}&status=succeeded"));
            let paid = payment_reaches(&app, id, "succeeded").await;
            assert_eq!(
                (paid["amount_captured"].as_i64(), paid["amount_paid_by_payer"].as_i64()),
                (Some(1230), Some(1230))
            );
        }
        let report = payrail_service::verify_ledger(app.payrail.store()).await.unwrap();
        assert!(report.is_clean() && report.entries == 2, "{:?}", report.violations);
        let no_return = json!({"amount": 1230, "currency": "cny", "merchant_order_no": "page-2", "confirm": true,
            "payment_method": {"type": "alipay_page"}});
        let refused = app.post_json("/v1/payments", &app.test_key, &no_return).await;
        assert_eq!(refused.assert_error(400, "invalid_request_error", "parameter_missing")["param"], "return_url");
        let usd = json!({"amount": 1230, "currency": "usd", "merchant_order_no": "page-3", "confirm": true,
            "return_url": "https://shop.example/done", "payment_method": {"type": "alipay_wap"}});
        let usd = app.post_json("/v1/payments", &app.test_key, &usd).await;
        usd.assert_error(400, "invalid_request_error", "currency_unsupported");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unpaid_cashier_payment_expires_and_its_trade_is_closed_at_alipay() {
    on_each_backend(|db| async {
        let app = TestApp::spawn_alipay(db).await;
        let body = json!({"amount": 1230, "currency": "cny", "merchant_order_no": "page-exp", "confirm": true,
            "return_url": "https://shop.example/done", "payment_method": {"type": "alipay_page"}});
        let payment = app.post_json("/v1/payments", &app.test_key, &body).await.body;
        let cashier = payment["next_action"]["redirect_to_url"]["url"].as_str().unwrap();
        let to_buyer = step_by_step_browser().get(cashier).send().await.unwrap();
        let buyer_page = to_buyer.headers()["location"].to_str().unwrap().to_owned();
        let expires_in = payment["expires_at"].as_i64().unwrap() * 1000 - app.clock.now().unix_ms();
        app.clock.advance_ms(expires_in + 1);
        assert_eq!(app.payrail.sweep_payments().await.unwrap().expired, 1);
        let id = payment["id"].as_str().unwrap();
        let shown = app.get(&format!("/v1/payments/{id}"), &app.test_key).await.body;
        assert_eq!(
            (shown["status"].as_str(), shown["cancellation_reason"].as_str()),
            (Some("canceled"), Some("expired"))
        );
        let late = step_by_step_browser().post(format!("{buyer_page}/pay")).send().await.unwrap();
        assert_eq!(late.status(), 409, "the trade was closed at Alipay before the payment was canceled here");
    })
    .await;
}

/// Cancels an unscanned QR payment (Alipay does not know such a trade yet, so closing it
/// finds nothing) and then the payer scans the code anyway and pays.
async fn paid_after_cancel(app: &TestApp, order: &str) -> Value {
    let payment = qr_payment(app, order).await;
    let id = payment["id"].as_str().unwrap();
    let canceled = app.post(&format!("/v1/payments/{id}/cancel"), &app.test_key).await;
    assert_eq!(canceled.body["status"], "canceled", "{}", canceled.body);
    buyer_pays(&payment).await;
    for _ in 0..crate::helpers::POLLS_MAX {
        let shown = app.get(&format!("/v1/payments/{id}"), &app.test_key).await.body;
        if !shown["late_succeeded_at"].is_null() {
            return shown;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("payment {id} never recorded its late success");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_payment_paid_after_it_was_canceled_succeeds_late_and_is_refunded_in_full() {
    on_each_backend(|db| async {
        let app = TestApp::spawn_alipay(db).await;
        let late = paid_after_cancel(&app, "late-1").await;
        let id = late["id"].as_str().unwrap();
        assert_eq!((late["status"].as_str(), late["amount_captured"].as_i64()), (Some("succeeded"), Some(1230)));
        let mut refunded = late.clone();
        for _ in 0..crate::helpers::POLLS_MAX {
            if refunded["amount_refunded"] == 1230 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
            refunded = app.get(&format!("/v1/payments/{id}"), &app.test_key).await.body;
        }
        assert_eq!(refunded["amount_refunded"], 1230, "{refunded}");
        let refunds = app.get(&format!("/v1/refunds?payment={id}"), &app.test_key).await.body;
        let refunds = refunds["data"].as_array().unwrap();
        assert_eq!(refunds.len(), 1);
        assert_eq!(
            (refunds[0]["reason"].as_str(), refunds[0]["status"].as_str()),
            (Some("late_success"), Some("succeeded"))
        );
        let types = event_types(&app).await;
        for expected in ["payment.canceled", "payment.late_success", "refund.created", "refund.succeeded"] {
            assert!(types.iter().any(|t| t == expected), "{expected} missing from {types:?}");
        }
        assert!(!types.iter().any(|t| t == "payment.succeeded"), "a late success is not an ordinary success");
        let report = payrail_service::verify_ledger(app.payrail.store()).await.unwrap();
        assert!(report.is_clean() && report.entries == 2, "{:?}", report.violations);
        let balance = app.get("/v1/balance", &app.test_key).await.body;
        assert_eq!(balance["pending"], json!([{"amount": 0, "currency": "CNY"}]), "the fee went back too: {balance}");

        // The same notification again changes nothing.
        let sent = notifications_once_acknowledged(&app).await;
        let replay = notify(&app, "/notify/alipay/test", sent[0].body.clone()).await;
        assert_eq!(replay.status, 200);
        let again = app.get(&format!("/v1/payments/{id}"), &app.test_key).await.body;
        assert_eq!(
            (again["amount_refunded"].as_i64(), &again["late_succeeded_at"]),
            (Some(1230), &late["late_succeeded_at"])
        );
        let refunds = app.get(&format!("/v1/refunds?payment={id}"), &app.test_key).await.body;
        assert_eq!(refunds["data"].as_array().unwrap().len(), 1);
        let refused = app
            .post_json("/v1/refunds", &app.test_key, &json!({"payment": id, "amount": 1, "reason": "late_success"}))
            .await;
        assert_eq!(refused.assert_error(400, "invalid_request_error", "parameter_invalid")["param"], "reason");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_the_keep_policy_a_late_success_stays_with_the_merchant() {
    on_each_backend(|db| async {
        let policy = payrail_service::Policy::default().with_late_success(payrail_service::LateSuccessPolicy::Keep);
        let app = TestApp::spawn_alipay_with(db, move |payrail| payrail.with_policy(policy)).await;
        let late = paid_after_cancel(&app, "late-keep").await;
        let id = late["id"].as_str().unwrap();
        assert_eq!((late["status"].as_str(), late["amount_refunded"].as_i64()), (Some("succeeded"), Some(0)));
        let refunds = app.get(&format!("/v1/refunds?payment={id}"), &app.test_key).await.body;
        assert_eq!(refunds["data"], json!([]));
        let report = payrail_service::verify_ledger(app.payrail.store()).await.unwrap();
        assert!(report.is_clean() && report.entries == 1, "{:?}", report.violations);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_the_payer_paid_beside_a_coupon_is_recorded_while_the_ledger_books_the_order() {
    on_each_backend(|db| async {
        let app = TestApp::spawn_alipay_unnotified(db).await;
        let payment = qr_payment(&app, "coupon-1").await;
        let started = alipay(&app);
        let out_trade_no = out_trade_no(&payment);
        let params = [
            ("notify_id", "n-coupon"),
            ("notify_type", "trade_status_sync"),
            ("app_id", started.app_id.as_str()),
            ("charset", "utf-8"),
            ("version", "1.0"),
            ("sign_type", "RSA2"),
            ("trade_no", "2026120622000000123"),
            ("out_trade_no", out_trade_no.as_str()),
            ("trade_status", "TRADE_SUCCESS"),
            ("total_amount", "12.30"),
            ("receipt_amount", "12.30"),
            ("buyer_pay_amount", "11.3"),
            ("point_amount", "1.00"),
        ];
        let answered = notify(&app, NOTIFY_PATH, signed_form(&params, &started.alipay_key_pem)).await;
        assert_eq!(answered.status, 200);
        let id = payment["id"].as_str().unwrap();
        let paid = app.get(&format!("/v1/payments/{id}"), &app.test_key).await.body;
        assert_eq!(
            (paid["status"].as_str(), paid["amount_captured"].as_i64(), paid["amount_paid_by_payer"].as_i64()),
            (Some("succeeded"), Some(1230), Some(1130))
        );
        let report = payrail_service::verify_ledger(app.payrail.store()).await.unwrap();
        assert!(report.is_clean() && report.entries == 1, "{:?}", report.violations);
    })
    .await;
}
