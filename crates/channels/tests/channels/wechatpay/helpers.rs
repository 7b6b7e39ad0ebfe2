//! `WechatPaySandbox`: the simulator under its prefix on a random local port, its secapi
//! mutual-TLS listener on another, one merchant's client for it, and a notification
//! receiver that records what arrives.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use payrail_channels::wechatpay::{ClientCertificate, Fen, OrderRequest, WechatPayClient, WechatPayConfig};
use payrail_domain::{Clock, Currency, Money, Timestamp};
use payrail_sandbox::{WechatPay, WechatPayCredentials, wechatpay_router};
use tokio::net::TcpListener;

use crate::helpers::{TIMEOUT_MS, browser};

pub const PREFIX: &str = "/sandbox/wechatpay";
/// 2026-05-28T20:26:40Z.
pub const START_MS: i64 = 1_780_000_000_000;
/// Compresses WeChat's retry schedule: 15 s becomes 15 ms.
const TIME_DIVISOR: u64 = 1_000;

/// A clock set `offset_ms` after the tests' fixed start.
pub struct ShiftedClock(pub i64);

impl Clock for ShiftedClock {
    fn now(&self) -> Timestamp {
        Timestamp::from_unix_ms(START_MS + self.0).unwrap()
    }
}

pub struct WechatPaySandbox {
    pub simulator: WechatPay,
    pub credentials: WechatPayCredentials,
    pub receiver: Receiver,
}

impl WechatPaySandbox {
    pub async fn start() -> WechatPaySandbox {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base_url = format!("http://{}{PREFIX}", listener.local_addr().unwrap());
        let simulator =
            WechatPay::with_limits(&base_url, Arc::new(ShiftedClock(0)), WechatPay::OBJECTS_MAX, TIME_DIVISOR).unwrap();
        simulator.serve_secapi("127.0.0.1:0".parse().unwrap()).await.unwrap();
        let credentials = simulator.add_merchant().unwrap();
        let app = Router::new().nest(PREFIX, wechatpay_router(simulator.clone()));
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        WechatPaySandbox { simulator, credentials, receiver: Receiver::start(0).await }
    }

    pub fn client(&self) -> WechatPayClient {
        client_with(&self.credentials, |config| config, 0)
    }

    /// A fresh order of 12.34 CNY notifying the receiver.
    pub fn order(&self, out_trade_no: &str) -> OrderRequest {
        OrderRequest {
            out_trade_no: out_trade_no.to_owned(),
            description: "Payrail test order".to_owned(),
            amount: fen(1234),
            notify_url: self.receiver.url.clone(),
            time_expire: Some(Timestamp::from_unix_ms(START_MS + 900_000).unwrap()),
            attach: None,
        }
    }

    /// Plays the buyer: opens the page for a `code_url` (or prepay id) and presses `choice`.
    pub async fn buyer(&self, code_url_or_token: &str, choice: &str) -> String {
        let token = code_url_or_token.rsplit("pr=").next().unwrap();
        let page = browser().get(format!("{}/buyer/{token}", self.credentials.base_url)).send().await.unwrap();
        assert_eq!(page.status(), 200);
        assert!(page.text().await.unwrap().contains("¥12.34"));
        let url = format!("{}/buyer/{token}/{choice}", self.credentials.base_url);
        let answer = browser().post(url).send().await.unwrap();
        assert_eq!(answer.status(), 200);
        answer.text().await.unwrap()
    }
}

/// A client for `credentials`, its configuration changed by `change`, its clock shifted.
pub fn client_with(
    credentials: &WechatPayCredentials,
    change: impl FnOnce(WechatPayConfig) -> WechatPayConfig,
    clock_offset_ms: i64,
) -> WechatPayClient {
    WechatPayClient::new(change(config_for(credentials)), Arc::new(ShiftedClock(clock_offset_ms))).unwrap()
}

/// The client configuration an outside SDK would be given for `credentials`.
pub fn config_for(credentials: &WechatPayCredentials) -> WechatPayConfig {
    WechatPayConfig {
        base_url: credentials.base_url.clone(),
        mchid: credentials.mchid.clone(),
        appid: credentials.appid.clone(),
        merchant_serial_no: credentials.merchant_serial_no.clone(),
        merchant_private_key_pem: credentials.merchant_private_key_pem.clone(),
        apiv3_key: credentials.apiv3_key.clone(),
        platform_public_key_id: credentials.platform_public_key_id.clone(),
        platform_public_key_pem: credentials.platform_public_key_pem.clone(),
        v2_key: Some(credentials.v2_key.clone()),
        client_certificate: Some(client_certificate(credentials)),
        secapi_base_url: credentials.secapi_base_url.clone(),
        secapi_ca_certificate_pem: Some(credentials.ca_certificate_pem.clone()),
        timeout_ms: TIMEOUT_MS,
    }
}

/// The merchant API certificate of `credentials` with its key, as a client presents it.
pub fn client_certificate(credentials: &WechatPayCredentials) -> ClientCertificate {
    ClientCertificate {
        certificate_pem: credentials.merchant_certificate_pem.clone(),
        private_key_pem: credentials.merchant_private_key_pem.clone(),
    }
}

pub fn fen(amount_minor: i64) -> Fen {
    Fen::parse(Money::new(amount_minor, Currency::parse("CNY").unwrap())).unwrap()
}

/// A merchant's notify_url: records every delivery, and refuses the first `failures_first`.
pub struct Receiver {
    pub url: String,
    state: Arc<ReceiverState>,
}

struct ReceiverState {
    failures_left: AtomicU32,
    received: Mutex<Vec<(HeaderMap, Bytes)>>,
}

impl Receiver {
    pub async fn start(failures_first: u32) -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/wechatpay/notify", listener.local_addr().unwrap());
        let state =
            Arc::new(ReceiverState { failures_left: AtomicU32::new(failures_first), received: Mutex::new(Vec::new()) });
        let app = Router::new().route("/wechatpay/notify", post(receive)).with_state(Arc::clone(&state));
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Receiver { url, state }
    }

    /// Waits (up to 5 s) until `count` deliveries arrived, and returns them.
    pub async fn wait_for(&self, count: usize) -> Vec<(HeaderMap, Bytes)> {
        for _ in 0..500 {
            let received = self.state.received.lock().unwrap().clone();
            if received.len() >= count {
                return received;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        panic!("fewer than {count} notifications arrived");
    }
}

async fn receive(State(state): State<Arc<ReceiverState>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    state.received.lock().unwrap().push((headers, body));
    let refuse = state.failures_left.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |left| left.checked_sub(1));
    if refuse.is_ok() { StatusCode::INTERNAL_SERVER_ERROR } else { StatusCode::NO_CONTENT }
}
