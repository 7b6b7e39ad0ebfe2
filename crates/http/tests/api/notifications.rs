//! `POST /notify/{channel}/{account}`: the card network simulator announces refunds that
//! settle later, over a real socket; Payrail applies each announcement once, and nothing
//! unsigned, stale, tampered, replayed, out of order or posted to the wrong account moves
//! any state.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Method, Request};
use payrail_channels::card_network::CardNetworkClient;
use payrail_domain::{Clock, Mode, Secret};
use payrail_sandbox::card_network::{
    ASYNCHRONOUS_REFUND_CARD, NOTIFICATION_SIGNATURE_HEADER, SentNotification, sign_notification,
};
use payrail_sandbox::{CardNetwork, card_network_router};
use payrail_testkit::on_each_backend;
use serde_json::{Value, json};

use crate::helpers::{TestApp, TestResponse};

const TEST_PATH: &str = "/notify/card_network/test";
const LIVE_PATH: &str = "/notify/card_network/live";
const LIVE_SECRET: &str = "live-notification-secret";

/// A captured 10.00 USD payment on the card whose refunds settle later.
async fn paid(app: &TestApp, key: &str, order: &str) -> String {
    let body = json!({
        "amount": 1000, "currency": "usd", "merchant_order_no": order, "confirm": true,
        "payment_method": {"type": "card", "card": {"number": ASYNCHRONOUS_REFUND_CARD, "exp_month": 12, "exp_year": 2030, "cvc": "123"}},
    });
    let response = app.post_json("/v1/payments", key, &body).await;
    assert_eq!(response.body["status"], "succeeded", "{}", response.body);
    response.body["id"].as_str().unwrap().to_owned()
}

async fn pending_refund(app: &TestApp, key: &str, payment: &str, amount: i64) -> String {
    let refund = app.post_json("/v1/refunds", key, &json!({"payment": payment, "amount": amount})).await;
    assert_eq!(refund.body["status"], "pending", "{}", refund.body);
    refund.body["id"].as_str().unwrap().to_owned()
}

async fn settle_at_network(network_url: &str, refund: &str, outcome: &str) {
    let url = format!("{network_url}/control/refunds/{refund}/settle");
    let answer = crate::payments::http_post_json(&url, &json!({"outcome": outcome}).to_string()).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

/// Polls the API (bounded) until the refund has `status`; returns the refund.
async fn refund_reaches(app: &TestApp, refund: &str, status: &str) -> Value {
    for _ in 0..400 {
        let shown = app.get(&format!("/v1/refunds/{refund}"), &app.test_key).await.body;
        if shown["status"] == status {
            return shown;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("refund {refund} never became {status}");
}

/// Waits (bounded) until the simulator records that Payrail acknowledged its notification.
async fn acknowledged(network: &CardNetwork) -> SentNotification {
    for _ in 0..400 {
        if let [sent] = network.sent_notifications().as_slice()
            && sent.delivered
        {
            return sent.clone();
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("no acknowledged notification: {:?}", network.sent_notifications());
}

fn settled_body(id: &str, reference: &str, status: &str, created: i64) -> String {
    let failure_code = (status == "failed").then_some("declined");
    let data = json!({"reference": reference, "status": status, "failure_code": failure_code});
    json!({"id": id, "type": "refund.settled", "created": created, "data": data}).to_string()
}

fn now_seconds(app: &TestApp) -> i64 {
    app.clock.now().unix_seconds()
}

async fn notify(app: &TestApp, path: &str, signature: Option<&str>, body: &str) -> TestResponse {
    let mut request = Request::builder().method(Method::POST).uri(path).header("content-type", "application/json");
    if let Some(signature) = signature {
        request = request.header(NOTIFICATION_SIGNATURE_HEADER, signature);
    }
    app.send(request.body(Body::from(body.to_owned())).unwrap()).await
}

/// Posts `body` signed now with `secret`.
async fn notify_signed(app: &TestApp, path: &str, secret: &str, body: &str) -> TestResponse {
    let signature = sign_notification(secret, now_seconds(app), body.as_bytes());
    notify(app, path, Some(&signature), body).await
}

async fn events_of(app: &TestApp, key: &str, object_id: &str, event_type: &str) -> usize {
    let events = app.get("/v1/events?limit=100", key).await.body;
    let events = events["data"].as_array().unwrap();
    events.iter().filter(|event| event["type"] == event_type && event["data"]["object"]["id"] == object_id).count()
}

async fn pending_balance(app: &TestApp, key: &str) -> Value {
    app.get("/v1/balance", key).await.body["pending"].clone()
}

async fn recorded_notifications(app: &TestApp, refund: &str) -> i64 {
    let mut reader = app.payrail.store().reader().await.unwrap();
    payrail_store::inbound_notifications::count_for_reference(reader.conn(), refund).await.unwrap()
}

#[tokio::test]
async fn a_refund_settled_at_the_network_is_settled_by_its_notification_exactly_once() {
    on_each_backend(|db| async {
        let app = TestApp::spawn_notified(db, |payrail| payrail).await;
        let payment = paid(&app, &app.test_key, "n-1").await;
        let before = pending_balance(&app, &app.test_key).await;
        let refund = pending_refund(&app, &app.test_key, &payment, 400).await;

        settle_at_network(&app.card_network_url, &refund, "succeeded").await;
        let settled = refund_reaches(&app, &refund, "succeeded").await;
        let sent = acknowledged(&app.card_network).await;
        assert_eq!((sent.attempts, sent.last_status), (1, Some(204)));
        assert_eq!(app.get(&format!("/v1/payments/{payment}"), &app.test_key).await.body["amount_refunded"], 400);
        let after = pending_balance(&app, &app.test_key).await;
        assert_eq!(after[0]["amount"].as_i64().unwrap(), before[0]["amount"].as_i64().unwrap() - 400);
        assert_eq!(events_of(&app, &app.test_key, &refund, "refund.succeeded").await, 1);

        // The same notification again, as sent and as a network would resend it (signed
        // afresh): acknowledged, and nothing moves.
        let replay = notify(&app, TEST_PATH, Some(&sent.signature), &sent.body).await;
        assert_eq!(replay.status, 204, "{}", replay.body);
        let resent = notify_signed(&app, TEST_PATH, &app.card_network_notification_secret, &sent.body).await;
        assert_eq!(resent.status, 204, "{}", resent.body);
        assert_eq!(app.get(&format!("/v1/refunds/{refund}"), &app.test_key).await.body, settled);
        assert_eq!(pending_balance(&app, &app.test_key).await, after);
        assert_eq!(events_of(&app, &app.test_key, &refund, "refund.succeeded").await, 1);
        assert_eq!(recorded_notifications(&app, &refund).await, 1);
    })
    .await;
}

#[tokio::test]
async fn a_failed_settlement_releases_the_reservation_and_a_late_success_changes_nothing() {
    on_each_backend(|db| async {
        let app = TestApp::spawn_notified(db, |payrail| payrail).await;
        let payment = paid(&app, &app.test_key, "n-2").await;
        let before = pending_balance(&app, &app.test_key).await;
        let refund = pending_refund(&app, &app.test_key, &payment, 1000).await;
        let held = app.post_json("/v1/refunds", &app.test_key, &json!({"payment": payment, "amount": 1})).await;
        assert_eq!(held.status, 400, "the pending refund holds the whole capture: {}", held.body);

        settle_at_network(&app.card_network_url, &refund, "failed").await;
        let failed = refund_reaches(&app, &refund, "failed").await;
        assert_eq!(failed["failure_reason"], "declined");
        acknowledged(&app.card_network).await;
        assert_eq!(events_of(&app, &app.test_key, &refund, "refund.failed").await, 1);

        // Out of order: a genuine "succeeded" about the failed refund moves nothing.
        let late = settled_body("ntf_late0000000000000000000000000", &refund, "succeeded", now_seconds(&app));
        let response = notify_signed(&app, TEST_PATH, &app.card_network_notification_secret, &late).await;
        assert_eq!(response.status, 204, "{}", response.body);
        assert_eq!(app.get(&format!("/v1/refunds/{refund}"), &app.test_key).await.body, failed);
        assert_eq!(events_of(&app, &app.test_key, &refund, "refund.succeeded").await, 0);
        assert_eq!(pending_balance(&app, &app.test_key).await, before);

        // The reservation is released: the whole capture can be refunded again.
        pending_refund(&app, &app.test_key, &payment, 1000).await;
    })
    .await;
}

#[tokio::test]
async fn forged_stale_tampered_and_malformed_notifications_are_refused_and_change_nothing() {
    on_each_backend(|db| async {
        let app = TestApp::spawn(db).await;
        let payment = paid(&app, &app.test_key, "n-3").await;
        let refund = pending_refund(&app, &app.test_key, &payment, 400).await;
        let secret = app.card_network_notification_secret.clone();
        let now = now_seconds(&app);
        let genuine = settled_body("ntf_0000000000000000000000000000a", &refund, "succeeded", now);

        let forged = sign_notification("not-the-secret", now, genuine.as_bytes());
        let stale = sign_notification(&secret, now - 301, genuine.as_bytes());
        let future = sign_notification(&secret, now + 301, genuine.as_bytes());
        let failed = settled_body("ntf_0000000000000000000000000000a", &refund, "failed", now);
        let signed_for_other_body = sign_notification(&secret, now, failed.as_bytes());
        let malformed = "{\"id\":\"ntf_1\"}";
        let unknown_type = genuine.replace("refund.settled", "payment.captured");
        let cases = [
            (Some(forged), genuine.as_str(), "notification_signature_invalid"),
            (None, genuine.as_str(), "notification_signature_invalid"),
            (Some("t=1,v1=zz".to_owned()), genuine.as_str(), "notification_signature_invalid"),
            (Some(signed_for_other_body), genuine.as_str(), "notification_signature_invalid"),
            (Some(stale), genuine.as_str(), "notification_timestamp_outside_tolerance"),
            (Some(future), genuine.as_str(), "notification_timestamp_outside_tolerance"),
            (Some(sign_notification(&secret, now, malformed.as_bytes())), malformed, "notification_malformed"),
            (
                Some(sign_notification(&secret, now, unknown_type.as_bytes())),
                &unknown_type,
                "notification_type_unknown",
            ),
        ];
        for (signature, body, code) in cases {
            let response = notify(&app, TEST_PATH, signature.as_deref(), body).await;
            let error = response.assert_error(400, "invalid_request_error", code);
            let answered = error.to_string();
            assert!(
                !answered.contains(&refund) && !answered.contains("ntf_"),
                "the answer repeats the body: {answered}"
            );
        }
        assert_eq!(app.get(&format!("/v1/refunds/{refund}"), &app.test_key).await.body["status"], "pending");
        assert_eq!(recorded_notifications(&app, &refund).await, 0, "a refused notification claims nothing");

        // The genuine one, after all that, still applies: no refusal claimed its id.
        assert_eq!(notify_signed(&app, TEST_PATH, &secret, &genuine).await.status, 204);
        assert_eq!(app.get(&format!("/v1/refunds/{refund}"), &app.test_key).await.body["status"], "succeeded");
    })
    .await;
}

/// A second simulator serving live mode, its refunds' notifications signed with
/// [`LIVE_SECRET`]; Payrail's live account is configured with that secret.
async fn start_live_network(clock: &payrail_service::ManualClock) -> (CardNetworkClient, String) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let network = CardNetwork::new("live-acquirer-key".to_owned(), url.clone(), Arc::new(clock.clone()));
    tokio::spawn(async move { axum::serve(listener, card_network_router(network)).await });
    let client = CardNetworkClient::new(&url, Secret::new("live-acquirer-key".to_owned()), 5_000).unwrap();
    (client.with_notification_secret(Secret::new(LIVE_SECRET.to_owned())), url)
}

#[tokio::test]
async fn a_notification_moves_nothing_outside_the_account_it_was_posted_to() {
    on_each_backend(|db| async {
        // The live simulator reads its clock only to decide which cards have expired.
        let clock = payrail_service::ManualClock::starting_at(
            payrail_domain::Timestamp::from_unix_ms(crate::helpers::START_MS).unwrap(),
        );
        let (live_client, live_url) = start_live_network(&clock).await;
        let app = TestApp::spawn_notified(db, move |payrail| payrail.with_card_network(Mode::Live, live_client)).await;
        let (_, live_key) = app.demo_key(Mode::Live).await;
        let test_secret = app.card_network_notification_secret.clone();
        let now = now_seconds(&app);

        let test_payment = paid(&app, &app.test_key, "n-4").await;
        let test_refund = pending_refund(&app, &app.test_key, &test_payment, 400).await;
        let live_payment = paid(&app, &live_key, "n-4-live").await;
        let live_refund = pending_refund(&app, &live_key, &live_payment, 400).await;
        settle_at_network(&live_url, &live_refund, "succeeded").await;

        // The test account's genuine notification posted to the live account's path: the
        // live secret does not check it.
        let about_test = settled_body("ntf_0000000000000000000000000000b", &test_refund, "succeeded", now);
        let response = notify_signed(&app, LIVE_PATH, &test_secret, &about_test).await;
        response.assert_error(400, "invalid_request_error", "notification_signature_invalid");
        // A notification checked by the test account but about a live refund, or about a
        // reference Payrail never issued: acknowledged, and nothing moves.
        let about_live = settled_body("ntf_0000000000000000000000000000c", &live_refund, "succeeded", now);
        assert_eq!(notify_signed(&app, TEST_PATH, &test_secret, &about_live).await.status, 204);
        let unknown = settled_body("ntf_0000000000000000000000000000d", "re_00000000000000000000000000", "failed", now);
        assert_eq!(notify_signed(&app, TEST_PATH, &test_secret, &unknown).await.status, 204);
        for (key, refund) in [(&app.test_key, &test_refund), (&live_key, &live_refund)] {
            assert_eq!(app.get(&format!("/v1/refunds/{refund}"), key).await.body["status"], "pending");
        }
        assert_eq!(events_of(&app, &live_key, &live_refund, "refund.succeeded").await, 0);

        // The live account's own notification, on its own path, applies.
        assert_eq!(notify_signed(&app, LIVE_PATH, LIVE_SECRET, &about_live).await.status, 204);
        assert_eq!(app.get(&format!("/v1/refunds/{live_refund}"), &live_key).await.body["status"], "succeeded");
        assert_eq!(app.get(&format!("/v1/refunds/{test_refund}"), &app.test_key).await.body["status"], "pending");
    })
    .await;
}

#[tokio::test]
async fn unknown_channels_and_accounts_are_not_found() {
    on_each_backend(|db| async {
        let app = TestApp::spawn(db).await;
        let secret = app.card_network_notification_secret.clone();
        let body = settled_body("ntf_0000000000000000000000000000e", "re_00000000000000000000000000", "failed", 0);
        let response = notify_signed(&app, "/notify/paypal/test", &secret, &body).await;
        response.assert_error(404, "invalid_request_error", "notification_channel_unknown");
        for path in [LIVE_PATH, "/notify/card_network/staging", "/notify/card_network/TEST"] {
            let response = notify_signed(&app, path, &secret, &body).await;
            response.assert_error(404, "invalid_request_error", "notification_account_unknown");
        }
        let response = app.call(Method::GET, TEST_PATH, None).await;
        response.assert_error(405, "invalid_request_error", "method_not_allowed");
    })
    .await;
}
