//! Webhook delivery end to end: events reach a real local receiver signed, failures are
//! retried on the schedule until the delivery dies, endpoints pause, resume and cancel,
//! a payment's notify_url hears of it, the log records every attempt, and addresses a
//! webhook may not reach are refused.

use payrail_domain::webhook::RetrySchedule;
use payrail_domain::{Mode, Secret};
use payrail_service::WebhookOptions;
use payrail_service::webhook_signature::{TOLERANCE_SECONDS, verify};
use payrail_testkit::on_each_backend;
use serde_json::{Value, json};

use crate::helpers::TestApp;
use crate::receiver::{Received, Receiver};

async fn endpoint(app: &TestApp, url: &str, events: Value) -> (String, String) {
    let response =
        app.post_json("/v1/webhook_endpoints", &app.test_key, &json!({"url": url, "enabled_events": events})).await;
    assert_eq!(response.status, 200, "{}", response.body);
    (response.body["id"].as_str().unwrap().to_owned(), response.body["secret"].as_str().unwrap().to_owned())
}

async fn pay(app: &TestApp, order: &str, notify_url: Option<&str>) -> String {
    let card = json!({"number": "4242424242424242", "exp_month": 12, "exp_year": 2030, "cvc": "123"});
    let mut body = json!({"amount": 1000, "currency": "usd", "merchant_order_no": order, "confirm": true,
        "payment_method": {"type": "card", "card": card}});
    if let Some(url) = notify_url {
        body["notify_url"] = json!(url);
    }
    let response = app.post_json("/v1/payments", &app.test_key, &body).await;
    assert_eq!(response.body["status"], "succeeded", "{}", response.body);
    response.body["id"].as_str().unwrap().to_owned()
}

/// Checks `received` is signed with one of `secrets` at the app's time, and returns its body.
fn signed_body(app: &TestApp, received: &Received, secrets: &[&str]) -> Value {
    let header = received.headers["payrail-signature"].to_str().unwrap();
    let secrets: Vec<Secret<String>> = secrets.iter().map(|s| Secret::new((*s).to_owned())).collect();
    let secrets: Vec<&Secret<String>> = secrets.iter().collect();
    let now = app.payrail.clock().now().unix_seconds();
    verify(header, received.body.as_bytes(), &secrets, now, TOLERANCE_SECONDS).expect("a valid signature");
    assert!(received.headers["user-agent"].to_str().unwrap().starts_with("Payrail/"));
    let body: Value = serde_json::from_str(&received.body).unwrap();
    assert_eq!(received.headers["payrail-event-id"].to_str().unwrap(), body["id"].as_str().unwrap());
    body
}

async fn dispatch(app: &TestApp) -> usize {
    app.payrail.dispatch_webhooks(64).await.unwrap()
}

async fn deliveries(app: &TestApp, event_id: &str) -> Vec<Value> {
    let response = app.get(&format!("/v1/events/{event_id}/deliveries"), &app.test_key).await;
    assert_eq!(response.status, 200, "{}", response.body);
    response.body["data"].as_array().unwrap().clone()
}

#[tokio::test]
async fn a_succeeded_payment_reaches_its_endpoint_once_signed_and_logged() {
    on_each_backend(|db| async {
        let app = TestApp::spawn(db).await;
        let receiver = Receiver::start().await;
        let (_, secret) = endpoint(&app, &receiver.url, json!(["payment.succeeded"])).await;
        let payment = pay(&app, "hook-1", None).await;
        assert_eq!(dispatch(&app).await, 1, "one event of the two matches the endpoint");
        assert_eq!(dispatch(&app).await, 0, "and it is not sent twice");
        let received = receiver.received();
        assert_eq!(received.len(), 1);
        let body = signed_body(&app, &received[0], &[&secret]);
        assert_eq!(
            (&body["object"], &body["type"], &body["livemode"]),
            (&json!("event"), &json!("payment.succeeded"), &json!(false))
        );
        assert_eq!(body["data"]["object"]["id"], payment.as_str());
        let log = deliveries(&app, body["id"].as_str().unwrap()).await;
        assert_eq!(log.len(), 1);
        assert_eq!((&log[0]["status"], &log[0]["attempt_count"]), (&json!("succeeded"), &json!(1)));
        assert_eq!(log[0]["attempts"][0]["status_code"], 200);
        assert_eq!(log[0]["attempts"][0]["response_snippet"].as_str().unwrap().len(), 1024, "bounded to 1 KiB");

        let resent = app.post(&format!("/v1/events/{}/resend", body["id"].as_str().unwrap()), &app.test_key).await;
        assert_eq!(resent.body["data"][0]["status"], "pending", "{}", resent.body);
        assert_eq!(dispatch(&app).await, 1);
        assert_eq!(receiver.received().len(), 2, "resent");
        assert_eq!(deliveries(&app, body["id"].as_str().unwrap()).await[0]["attempts"].as_array().unwrap().len(), 2);
    })
    .await;
}

#[tokio::test]
async fn a_failing_receiver_sees_retries_on_the_schedule_until_the_delivery_dies_and_the_endpoint_is_disabled() {
    on_each_backend(|db| async {
        let schedule = RetrySchedule::from_steps_ms(&[1_000, 2_000]).unwrap();
        let options = WebhookOptions { schedule, ..WebhookOptions::default() };
        let app = TestApp::spawn_with(db, move |payrail| payrail.with_webhook_options(options).unwrap()).await;
        let receiver = Receiver::start().await;
        receiver.answer(500);
        let (endpoint_id, secret) = endpoint(&app, &receiver.url, json!(["payment.succeeded"])).await;
        pay(&app, "hook-2", None).await;
        assert_eq!(dispatch(&app).await, 1);
        assert_eq!(dispatch(&app).await, 0, "not due again before its time");
        app.clock.advance_ms(1_100);
        assert_eq!(dispatch(&app).await, 1, "the first retry, a second later (±10 %)");
        app.clock.advance_ms(2_100);
        assert_eq!(dispatch(&app).await, 1, "the second retry");
        app.clock.advance_ms(60_000);
        assert_eq!(dispatch(&app).await, 0, "the schedule ran out");

        let received = receiver.received();
        assert_eq!(received.len(), 3);
        let signatures: Vec<&str> = received.iter().map(|r| r.headers["payrail-signature"].to_str().unwrap()).collect();
        assert!(signatures[0] != signatures[1] && signatures[1] != signatures[2], "each attempt is signed afresh");
        signed_body(&app, &received[2], &[&secret]);
        let event_id = serde_json::from_str::<Value>(&received[0].body).unwrap()["id"].as_str().unwrap().to_owned();
        let log = deliveries(&app, &event_id).await;
        assert_eq!((&log[0]["status"], log[0]["attempts"].as_array().unwrap().len()), (&json!("dead"), 3));
        assert!(
            log[0]["attempts"]
                .as_array()
                .unwrap()
                .iter()
                .all(|a| a["status_code"] == 500 && a["error"] == "status_not_2xx")
        );

        let shown = app.get(&format!("/v1/webhook_endpoints/{endpoint_id}"), &app.test_key).await.body;
        assert_eq!((&shown["status"], &shown["disabled_reason"]), (&json!("disabled"), &json!("failing")));
        let events = app.get("/v1/events?limit=1", &app.test_key).await.body;
        assert_eq!(events["data"][0]["type"], "webhook_endpoint.disabled", "{events}");
    })
    .await;
}

#[tokio::test]
async fn disabling_pauses_deliveries_enabling_resumes_them_and_deleting_cancels_them() {
    on_each_backend(|db| async {
        let app = TestApp::spawn(db).await;
        let receiver = Receiver::start().await;
        receiver.answer(503);
        let (endpoint_id, secret) = endpoint(&app, &receiver.url, json!(["*"])).await;
        let path = format!("/v1/webhook_endpoints/{endpoint_id}");
        pay(&app, "hook-3", None).await;
        assert_eq!(dispatch(&app).await, 2, "payment.created and payment.succeeded");
        app.post(&format!("{path}/disable"), &app.test_key).await;
        app.clock.advance_ms(10 * 60_000);
        assert_eq!(dispatch(&app).await, 0, "paused");
        receiver.answer(200);
        app.post(&format!("{path}/enable"), &app.test_key).await;
        assert_eq!(dispatch(&app).await, 2, "resumed inside the retry window");
        assert!(receiver.received().iter().skip(2).all(|r| signed_body(&app, r, &[&secret])["livemode"] == false));

        receiver.answer(500);
        pay(&app, "hook-4", None).await;
        let delete = app.call(axum::http::Method::DELETE, &path, Some(&format!("Bearer {}", app.test_key))).await;
        assert_eq!(delete.status, 200);
        assert_eq!(dispatch(&app).await, 0, "canceled with the endpoint");
        let events = app.get("/v1/events?limit=1", &app.test_key).await.body;
        let log = deliveries(&app, events["data"][0]["id"].as_str().unwrap()).await;
        assert_eq!(log[0]["status"], "canceled");
    })
    .await;
}

#[tokio::test]
async fn a_payments_notify_url_hears_of_it_signed_with_the_notification_secret() {
    on_each_backend(|db| async {
        let app = TestApp::spawn(db).await;
        let receiver = Receiver::start().await;
        let payment = pay(&app, "hook-5", Some(&receiver.url)).await;
        assert_eq!(dispatch(&app).await, 2);
        let secret = app.get("/v1/notification_secret", &app.test_key).await.body;
        let secret = secret["secret"].as_str().expect("revealed on the first read").to_owned();
        let received = receiver.received();
        let types: Vec<Value> = received.iter().map(|r| signed_body(&app, r, &[&secret])["type"].clone()).collect();
        assert_eq!(types.len(), 2);
        assert!(types.contains(&json!("payment.created")) && types.contains(&json!("payment.succeeded")));
        let body = signed_body(&app, &received[0], &[&secret]);
        assert_eq!(body["data"]["object"]["id"], payment.as_str());
    })
    .await;
}

#[tokio::test]
async fn addresses_a_webhook_may_not_reach_are_refused_when_configured() {
    on_each_backend(|db| async {
        let app = TestApp::spawn(db).await;
        let (_, live_key) = app.demo_key(Mode::Live).await;
        let events = json!(["*"]);
        for (key, url) in [
            (&live_key, "http://127.0.0.1:9/hook"),
            (&live_key, "http://[::ffff:127.0.0.1]/hook"),
            (&live_key, "http://10.1.2.3/hook"),
            (&app.test_key, "http://169.254.169.254/latest/meta-data"),
            (&app.test_key, "http://[fd00:ec2::254]/"),
            (&app.test_key, "http://192.168.1.1/"),
        ] {
            let response = app.post_json("/v1/webhook_endpoints", key, &json!({"url": url, "enabled_events": events})).await;
            assert_eq!(response.status, 400, "{url}: {}", response.body);
            assert_eq!((&response.body["error"]["code"], &response.body["error"]["param"]), (&json!("url_forbidden_address"), &json!("url")), "{url}");
            assert!(!response.body["error"]["message"].as_str().unwrap().contains("10.1.2.3"), "never echoes addresses");
        }
        let body = json!({"amount": 1000, "currency": "usd", "merchant_order_no": "ssrf", "notify_url": "http://169.254.169.254/"});
        let response = app.post_json("/v1/payments", &app.test_key, &body).await;
        assert_eq!((response.status.as_u16(), response.body["error"]["param"].as_str()), (400, Some("notify_url")));
        let receiver = Receiver::start().await;
        endpoint(&app, &receiver.url, events).await;
    })
    .await;
}

#[tokio::test]
async fn a_real_delivery_is_accepted_by_the_official_stripe_library() {
    let Some(python) = payrail_testkit::stripe_python() else { return };
    on_each_backend(|db| async {
        let app = TestApp::spawn(db).await;
        // Stripe's verifier checks the signature's time against the real clock.
        let real_now = payrail_domain::Clock::now(&payrail_service::SystemClock);
        app.clock.advance_ms(real_now.ms_since(app.payrail.clock().now()));
        let receiver = Receiver::start().await;
        let (_, secret) = endpoint(&app, &receiver.url, json!(["payment.succeeded"])).await;
        pay(&app, "hook-stripe", None).await;
        assert_eq!(dispatch(&app).await, 1);
        let received = receiver.received().remove(0);
        let header = received.headers["payrail-signature"].to_str().unwrap();
        let output = payrail_testkit::construct_event(&python, received.body.as_bytes(), header, &[&secret]);
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success() && stdout.contains("accepted evt_"),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let tampered = received.body.replace("\"amount\":1000", "\"amount\":1");
        let refused = payrail_testkit::construct_event(&python, tampered.as_bytes(), header, &[&secret]);
        assert!(!refused.status.success(), "stripe accepted a tampered body");
    })
    .await;
}
