//! `Simulator`: the card network router on a random local port, plus ids, requests and a
//! plain HTTP client for what a browser or an operator would do.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::Router;
use payrail_channels::card_network::{AuthorizeRequest, CardData, CardNetworkClient};
use payrail_domain::{AttemptId, Clock, Currency, Money, RefundId, Secret, Timestamp};
use payrail_sandbox::{CardNetwork, card_network_router};
use tokio::net::TcpListener;

pub const API_KEY: &str = "sk_sandbox_channels";
pub const PREFIX: &str = "/sandbox/card-network";
pub const RETURN_URL: &str = "https://shop.test/return";
/// Long enough for a loopback call on a busy two-core machine.
pub const TIMEOUT_MS: u64 = 5_000;
/// 2026-05-28T20:26:40Z.
const START_MS: i64 = 1_780_000_000_000;

struct FixedClock;

impl Clock for FixedClock {
    fn now(&self) -> Timestamp {
        Timestamp::from_unix_ms(START_MS).unwrap()
    }
}

pub struct Simulator {
    /// Where the channel reaches the network, prefix included.
    pub base_url: String,
}

impl Simulator {
    pub async fn start() -> Simulator {
        Simulator::start_with(|router| router).await
    }

    /// Serves the simulator's router, changed by `wrap` (to add a test-only layer), under
    /// `PREFIX` on a fresh local port, until the test's runtime ends.
    pub async fn start_with(wrap: impl FnOnce(Router) -> Router) -> Simulator {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base_url = format!("http://{}{PREFIX}", listener.local_addr().unwrap());
        let network = CardNetwork::new(API_KEY.to_owned(), base_url.clone(), Arc::new(FixedClock));
        let app = Router::new().nest(PREFIX, wrap(card_network_router(network)));
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Simulator { base_url }
    }

    pub fn client(&self) -> CardNetworkClient {
        client_for(&self.base_url, TIMEOUT_MS)
    }

    /// Settles a pending refund through the sandbox control endpoint.
    pub async fn settle_refund(&self, reference: &RefundId, outcome: &str) {
        let url = format!("{}/control/refunds/{reference}/settle", self.base_url);
        let response = browser().post(url).json(&serde_json::json!({"outcome": outcome})).send().await.unwrap();
        assert_eq!(response.status(), 200);
    }
}

pub fn client_for(base_url: &str, timeout_ms: u64) -> CardNetworkClient {
    CardNetworkClient::new(base_url, Secret::new(API_KEY.to_owned()), timeout_ms).unwrap()
}

/// A plain HTTP client that, like a test of a browser, does not follow redirects.
pub fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_millis(TIMEOUT_MS))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

static IDS_ISSUED: AtomicU64 = AtomicU64::new(0);

fn id_random_bytes() -> [u8; 10] {
    let mut random = [0; 10];
    random[2..].copy_from_slice(&IDS_ISSUED.fetch_add(1, Ordering::Relaxed).to_be_bytes());
    random
}

pub fn attempt_id() -> AttemptId {
    AttemptId::generate(Timestamp::from_unix_ms(START_MS).unwrap(), id_random_bytes())
}

pub fn refund_id() -> RefundId {
    RefundId::generate(Timestamp::from_unix_ms(START_MS).unwrap(), id_random_bytes())
}

pub fn card(number: &str) -> CardData {
    CardData {
        number: Secret::new(number.to_owned()),
        exp_month: 12,
        exp_year: 2030,
        cvc: Secret::new("123".to_owned()),
    }
}

/// 25.00 EUR on `number` under a fresh attempt id.
pub fn authorize_request(number: &str, capture: bool) -> AuthorizeRequest {
    AuthorizeRequest {
        reference: attempt_id(),
        amount: Money::new(2500, Currency::parse("EUR").unwrap()),
        capture,
        card: card(number),
        return_url: RETURN_URL.to_owned(),
    }
}
