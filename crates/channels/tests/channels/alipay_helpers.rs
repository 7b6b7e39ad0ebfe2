//! `AlipaySim`: the Alipay simulator on a random local port with one app, a client for
//! that app, and a notification receiver that records what it was sent.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::routing::post;
use payrail_channels::alipay::{AlipayClient, AlipayConfig};
use payrail_domain::{Clock, Currency, Money, Secret, Timestamp};
use payrail_sandbox::alipay::SentAlipayNotification;
use payrail_sandbox::{AlipayCredentials, AlipaySandbox, alipay_router};
use tokio::net::TcpListener;

use crate::helpers::{TIMEOUT_MS, browser};

pub const PREFIX: &str = "/sandbox/alipay";
/// 2026-05-28T20:26:40Z, 2026-05-29 04:26:40 in Beijing.
const START_MS: i64 = 1_780_000_000_000;
/// Compresses Alipay's notification retry schedule (4 min → 4 ms).
const RETRY_DELAY_DIVISOR: u64 = 60_000;

struct FixedClock;

impl Clock for FixedClock {
    fn now(&self) -> Timestamp {
        Timestamp::from_unix_ms(START_MS).unwrap()
    }
}

pub fn clock() -> Arc<dyn Clock> {
    Arc::new(FixedClock)
}

pub struct AlipaySim {
    pub sandbox: AlipaySandbox,
    pub credentials: AlipayCredentials,
    /// Where the sandbox is mounted, as browsers see it.
    pub base_url: String,
    pub receiver: Receiver,
}

impl AlipaySim {
    /// The simulator with one app, and a receiver that acknowledges every notification.
    pub async fn start() -> AlipaySim {
        AlipaySim::start_with_receiver(|_| "success").await
    }

    /// As [`AlipaySim::start`], the receiver answering attempt `n` (from 1) with
    /// `answer(n)`.
    pub async fn start_with_receiver(answer: fn(usize) -> &'static str) -> AlipaySim {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base_url = format!("http://{}{PREFIX}", listener.local_addr().unwrap());
        let sandbox = AlipaySandbox::with_limits(&base_url, clock(), 1_000, RETRY_DELAY_DIVISOR).unwrap();
        let credentials = sandbox.create_app().unwrap();
        let app = Router::new().nest(PREFIX, alipay_router(sandbox.clone()));
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        AlipaySim { sandbox, credentials, base_url, receiver: Receiver::start(answer).await }
    }

    pub fn config(&self) -> AlipayConfig {
        AlipayConfig {
            gateway_url: self.credentials.gateway_url.clone(),
            app_id: self.credentials.app_id.clone(),
            app_private_key: self.credentials.app_private_key_pem.clone(),
            alipay_public_key: self.credentials.alipay_public_key_pem.clone(),
            timeout_ms: TIMEOUT_MS,
        }
    }

    pub fn client(&self) -> AlipayClient {
        AlipayClient::new(&self.config(), clock()).unwrap()
    }

    /// Opens the buyer page (the QR "scanned") and presses `button` (`pay`, `decline`).
    pub async fn buyer(&self, qr_code: &str, button: Option<&str>) -> reqwest::StatusCode {
        let page = browser().get(qr_code).send().await.unwrap();
        assert_eq!(page.status(), 200);
        match button {
            Some(button) => browser().post(format!("{qr_code}/{button}")).send().await.unwrap().status(),
            None => page.status(),
        }
    }

    /// Calls the sandbox control route `action` (`pay`, `finish`) on a trade.
    pub async fn control(&self, trade_no: &str, action: &str) {
        let url = format!("{}/control/trades/{trade_no}/{action}", self.base_url);
        assert_eq!(browser().post(url).send().await.unwrap().status(), 200);
    }

    /// Waits (up to 5 s) until `count` notifications were acknowledged.
    pub async fn acknowledged_notifications(&self, count: usize) -> Vec<SentAlipayNotification> {
        for _ in 0..500 {
            let sent = self.sandbox.sent_notifications();
            if sent.iter().filter(|sent| sent.acknowledged).count() >= count {
                return sent;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        panic!("notifications not acknowledged: {:?}", self.sandbox.sent_notifications());
    }
}

/// A merchant's notification endpoint on a random port.
#[derive(Clone)]
pub struct Receiver {
    pub url: String,
    pub bodies: Arc<Mutex<Vec<Bytes>>>,
}

impl Receiver {
    async fn start(answer: fn(usize) -> &'static str) -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/notify/alipay", listener.local_addr().unwrap());
        let receiver = Receiver { url, bodies: Arc::new(Mutex::new(Vec::new())) };
        let state = ReceiverState { bodies: receiver.bodies.clone(), answer };
        let app = Router::new().route("/notify/alipay", post(receive)).with_state(state);
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        receiver
    }

    pub fn bodies(&self) -> Vec<Bytes> {
        self.bodies.lock().unwrap().clone()
    }
}

#[derive(Clone)]
struct ReceiverState {
    bodies: Arc<Mutex<Vec<Bytes>>>,
    answer: fn(usize) -> &'static str,
}

async fn receive(State(state): State<ReceiverState>, body: Bytes) -> &'static str {
    let mut bodies = state.bodies.lock().unwrap();
    bodies.push(body);
    (state.answer)(bodies.len())
}

static REFERENCES_ISSUED: AtomicU64 = AtomicU64::new(0);

/// A fresh `out_trade_no` or `out_request_no`.
pub fn reference(prefix: &str) -> String {
    format!("{prefix}_{}", REFERENCES_ISSUED.fetch_add(1, Ordering::Relaxed))
}

pub fn cny(minor: i64) -> Money {
    Money::new(minor, Currency::parse("CNY").unwrap())
}

pub fn secret(text: &str) -> Secret<String> {
    Secret::new(text.to_owned())
}
