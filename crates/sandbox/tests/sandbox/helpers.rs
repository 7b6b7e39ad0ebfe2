//! `Network`: a fresh simulator behind a prefix, request builders and response checks.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request};
use payrail_domain::{Clock, Timestamp};
use payrail_sandbox::{CardNetwork, card_network_router};
use serde_json::{Value, json};
use tower::ServiceExt;

pub const API_KEY: &str = "sk_sandbox_card_network";
pub const PREFIX: &str = "/sandbox/card-network";
pub const PUBLIC_BASE_URL: &str = "https://payrail.test/sandbox/card-network";
pub const RETURN_URL: &str = "https://shop.test/orders/17?step=return";
/// 2026-05-28T20:26:40Z.
pub const START_MS: i64 = 1_780_000_000_000;

/// A clock that stays where it was put.
pub struct FixedClock(pub Timestamp);

impl Clock for FixedClock {
    fn now(&self) -> Timestamp {
        self.0
    }
}

pub struct Network {
    router: Router,
}

pub struct TestResponse {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Network {
    pub fn start() -> Network {
        Network::start_with_objects_max(CardNetwork::OBJECTS_MAX)
    }

    pub fn start_with_objects_max(objects_max: usize) -> Network {
        let clock = Arc::new(FixedClock(Timestamp::from_unix_ms(START_MS).unwrap()));
        // A trailing slash in configuration must not double up in generated URLs.
        let network =
            CardNetwork::with_objects_max(API_KEY.to_owned(), format!("{PUBLIC_BASE_URL}/"), clock, objects_max);
        Network::serving(network)
    }

    /// The given simulator behind the prefix.
    pub fn serving(network: CardNetwork) -> Network {
        Network { router: Router::new().nest(PREFIX, card_network_router(network)) }
    }

    pub async fn post(&self, path: &str, body: Value) -> TestResponse {
        self.call(Method::POST, path, Some(&format!("Bearer {API_KEY}")), body.to_string()).await
    }

    pub async fn get(&self, path: &str) -> TestResponse {
        self.call(Method::GET, path, Some(&format!("Bearer {API_KEY}")), String::new()).await
    }

    /// Any method, path (below the prefix), `Authorization` header and raw body.
    pub async fn call(&self, method: Method, path: &str, authorization: Option<&str>, body: String) -> TestResponse {
        let mut request = Request::builder().method(method).uri(format!("{PREFIX}{path}"));
        if let Some(value) = authorization {
            request = request.header("authorization", value);
        }
        if !body.is_empty() {
            request = request.header("content-type", "application/json");
        }
        let response = self.router.clone().oneshot(request.body(Body::from(body)).unwrap()).await.unwrap();
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let bytes = axum::body::to_bytes(response.into_body(), 1024 * 1024).await.unwrap();
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        TestResponse { status, headers, body, text }
    }

    pub async fn authorize(&self, reference: &str, card: &str, capture: bool) -> TestResponse {
        self.post("/v1/authorizations", authorization_body(reference, card, capture)).await
    }

    /// Authorizes `amount_minor` USD with capture and expects it captured.
    pub async fn captured(&self, reference: &str, card: &str, amount_minor: i64) -> Value {
        let mut body = authorization_body(reference, card, true);
        body["amount_minor"] = json!(amount_minor);
        let response = self.post("/v1/authorizations", body).await;
        assert_eq!(response.body["status"], "captured", "{}", response.text);
        response.body
    }

    pub async fn refund(&self, reference: &str, authorization_reference: &str, amount_minor: i64) -> TestResponse {
        let body = json!({
            "reference": reference,
            "authorization_reference": authorization_reference,
            "amount_minor": amount_minor,
        });
        self.post("/v1/refunds", body).await
    }
}

/// A 10.00 USD authorization request with a card expiring 12/2030.
pub fn authorization_body(reference: &str, card: &str, capture: bool) -> Value {
    json!({
        "reference": reference,
        "amount_minor": 1000,
        "currency": "USD",
        "capture": capture,
        "card": {"number": card, "exp_month": 12, "exp_year": 2030, "cvc": "123"},
        "return_url": RETURN_URL,
    })
}

impl TestResponse {
    /// Asserts the error envelope with this status and code; returns the error object.
    pub fn assert_error(&self, status: u16, code: &str) -> &Value {
        assert_eq!(self.status, status, "{}", self.text);
        let error = &self.body["error"];
        assert_eq!(error["code"], code, "{}", self.text);
        let message = error["message"].as_str().expect("a message");
        assert!(!message.is_empty() && !message.ends_with('.'), "message style: {message}");
        error
    }

    pub fn assert_ok(&self) -> &Value {
        assert_eq!(self.status, 200, "{}", self.text);
        &self.body
    }
}
