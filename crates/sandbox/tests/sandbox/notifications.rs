//! Notifications of settled refunds, sent to a receiver on a real local socket: what is
//! sent, how it is signed, when it is retried, and that nothing is announced twice.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use payrail_domain::{Secret, Timestamp};
use payrail_sandbox::CardNetwork;
use payrail_sandbox::card_network::{
    APPROVED_CARD, ASYNCHRONOUS_REFUND_CARD, NOTIFICATION_SIGNATURE_HEADER, SentNotification, sign_notification,
};
use serde_json::{Value, json};

use crate::helpers::{API_KEY, FixedClock, Network, PUBLIC_BASE_URL, START_MS};

const SECRET: &str = "whsec_sandbox_notifications";

/// A receiver that answers `failures` requests with 503, then 204, and keeps what it got.
#[derive(Clone)]
struct Receiver {
    received: Arc<Mutex<Vec<(HeaderMap, Bytes)>>>,
    failures: Arc<Mutex<usize>>,
}

impl Receiver {
    async fn start(failures: usize) -> (Receiver, String) {
        let receiver = Receiver { received: Arc::default(), failures: Arc::new(Mutex::new(failures)) };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/notify/card_network/test", listener.local_addr().unwrap());
        let app = Router::new().route("/notify/card_network/test", post(receive)).with_state(receiver.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        (receiver, url)
    }

    fn received(&self) -> Vec<(HeaderMap, Bytes)> {
        self.received.lock().unwrap().clone()
    }
}

async fn receive(State(receiver): State<Receiver>, headers: HeaderMap, body: Bytes) -> StatusCode {
    receiver.received.lock().unwrap().push((headers, body));
    let mut failures = receiver.failures.lock().unwrap();
    if *failures > 0 {
        *failures -= 1;
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::NO_CONTENT
    }
}

/// A simulator notifying `url`, and the same simulator behind the test router.
fn notifying(url: &str) -> (Network, CardNetwork) {
    let clock = Arc::new(FixedClock(Timestamp::from_unix_ms(START_MS).unwrap()));
    let network = CardNetwork::new(API_KEY.to_owned(), PUBLIC_BASE_URL.to_owned(), clock)
        .with_notifications(url, Secret::new(SECRET.to_owned()))
        .unwrap();
    (Network::serving(network.clone()), network)
}

async fn settle(network: &Network, reference: &str, outcome: &str) {
    let path = format!("/control/refunds/{reference}/settle");
    let body = json!({"outcome": outcome}).to_string();
    network.call(axum::http::Method::POST, &path, None, body).await.assert_ok();
}

/// Waits (bounded) until the outbox shows every notification finished: delivered, or
/// given up after every attempt.
async fn finished(network: &CardNetwork) -> Vec<SentNotification> {
    for _ in 0..200 {
        let sent = network.sent_notifications();
        let attempts_max = payrail_sandbox::card_network::notify::ATTEMPTS_MAX;
        if sent.iter().all(|sent| sent.delivered || sent.attempts == attempts_max) {
            return sent;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("notifications still in flight: {:?}", network.sent_notifications());
}

/// Checks the signature header as a receiver would, with the simulator's own definition.
fn assert_signed(headers: &HeaderMap, body: &[u8]) {
    let header = headers.get(NOTIFICATION_SIGNATURE_HEADER).expect("a signature").to_str().unwrap();
    let unix_seconds: i64 = header.strip_prefix("t=").unwrap().split(',').next().unwrap().parse().unwrap();
    assert_eq!(unix_seconds, START_MS / 1000, "signed with the simulator's clock");
    assert_eq!(header, sign_notification(SECRET, unix_seconds, body));
}

#[tokio::test]
async fn a_settled_refund_is_announced_once_signed_and_retried_until_acknowledged() {
    let (receiver, url) = Receiver::start(1).await;
    let (network, simulator) = notifying(&url);
    network.captured("att_n", ASYNCHRONOUS_REFUND_CARD, 1000).await;
    network.refund("re_n", "att_n", 400).await.assert_ok();
    assert!(simulator.sent_notifications().is_empty(), "a pending refund announces nothing");
    settle(&network, "re_n", "succeeded").await;
    let sent = finished(&simulator).await;
    assert_eq!(sent.len(), 1);
    assert!(sent[0].delivered && sent[0].attempts == 2 && sent[0].last_status == Some(204), "{sent:?}");
    let received = receiver.received();
    assert_eq!(received.len(), 2, "one refusal, one acknowledgement");
    for (headers, body) in &received {
        assert_eq!(body, sent[0].body.as_bytes(), "every attempt carries the same body");
        assert_eq!(headers["content-type"], "application/json");
        assert_signed(headers, body);
    }
    let body: Value = serde_json::from_str(&sent[0].body).unwrap();
    assert_eq!(body["id"], sent[0].id.as_str());
    assert!(sent[0].id.starts_with("ntf_") && sent[0].id.len() == 36, "{}", sent[0].id);
    let data = json!({"reference": "re_n", "status": "succeeded", "failure_code": null});
    assert_eq!(body, json!({"id": sent[0].id, "type": "refund.settled", "created": START_MS / 1000, "data": data}));

    // Settling again changes nothing at the network, so nothing new is announced.
    settle(&network, "re_n", "succeeded").await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(simulator.sent_notifications().len(), 1);
    assert_eq!(receiver.received().len(), 2);
}

#[tokio::test]
async fn a_failed_settlement_is_announced_with_its_failure_code() {
    let (receiver, url) = Receiver::start(0).await;
    let (network, simulator) = notifying(&url);
    network.captured("att_f", ASYNCHRONOUS_REFUND_CARD, 1000).await;
    network.refund("re_f", "att_f", 1000).await.assert_ok();
    settle(&network, "re_f", "failed").await;
    let sent = finished(&simulator).await;
    assert!(sent[0].delivered && sent[0].attempts == 1, "{sent:?}");
    let body: Value = serde_json::from_slice(&receiver.received()[0].1).unwrap();
    assert_eq!(body["data"], json!({"reference": "re_f", "status": "failed", "failure_code": "declined"}));
}

#[tokio::test]
async fn a_receiver_that_never_acknowledges_gets_every_attempt_and_no_more() {
    let (receiver, url) = Receiver::start(usize::MAX).await;
    let (network, simulator) = notifying(&url);
    network.captured("att_x", ASYNCHRONOUS_REFUND_CARD, 1000).await;
    network.refund("re_x", "att_x", 1000).await.assert_ok();
    settle(&network, "re_x", "succeeded").await;
    let sent = finished(&simulator).await;
    let attempts_max = payrail_sandbox::card_network::notify::ATTEMPTS_MAX;
    assert!(!sent[0].delivered && sent[0].attempts == attempts_max && sent[0].last_status == Some(503));
    assert_eq!(receiver.received().len(), usize::try_from(attempts_max).unwrap());
}

#[tokio::test]
async fn refunds_that_succeed_at_once_and_networks_without_a_destination_announce_nothing() {
    let (receiver, url) = Receiver::start(0).await;
    let (network, simulator) = notifying(&url);
    network.captured("att_sync", APPROVED_CARD, 1000).await;
    assert_eq!(network.refund("re_sync", "att_sync", 1000).await.assert_ok()["status"], "succeeded");
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(simulator.sent_notifications().is_empty() && receiver.received().is_empty());

    let quiet = Network::start();
    quiet.captured("att_q", ASYNCHRONOUS_REFUND_CARD, 1000).await;
    quiet.refund("re_q", "att_q", 1000).await.assert_ok();
    let path = "/control/refunds/re_q/settle";
    quiet.call(axum::http::Method::POST, path, None, json!({"outcome": "succeeded"}).to_string()).await.assert_ok();
}

#[test]
fn a_destination_must_be_an_http_url_and_the_secret_not_empty() {
    let clock = Arc::new(FixedClock(Timestamp::from_unix_ms(START_MS).unwrap()));
    let network = CardNetwork::new(API_KEY.to_owned(), PUBLIC_BASE_URL.to_owned(), clock);
    let secret = || Secret::new(SECRET.to_owned());
    assert!(network.clone().with_notifications("not a url", secret()).is_err());
    assert!(network.clone().with_notifications("ftp://payrail.test/notify", secret()).is_err());
    assert!(network.clone().with_notifications("http://payrail.test/notify", Secret::new(String::new())).is_err());
    assert!(network.with_notifications("http://payrail.test/notify/card_network/test", secret()).is_ok());
}
