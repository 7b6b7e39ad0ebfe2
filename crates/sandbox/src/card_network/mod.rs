//! A card network simulator that behaves like an acquirer: it authorizes, captures, voids
//! and refunds card payments over a small JSON protocol, decides outcomes from test card
//! numbers, and runs a 3-D Secure challenge page.
//!
//! Routes, relative to wherever the router is mounted:
//!
//! - `POST /v1/authorizations`, `GET /v1/authorizations/{reference}`,
//!   `POST /v1/authorizations/{reference}/capture`, `POST /v1/authorizations/{reference}/void`,
//!   `POST /v1/refunds`, `GET /v1/refunds/{reference}`: the acquirer protocol, each call
//!   authenticated with `Authorization: Bearer <api_key>`.
//! - `GET /3ds/{reference}`, `POST /3ds/{reference}/complete`, `POST /3ds/{reference}/fail`:
//!   the cardholder's challenge page, opened by a browser, without an API key.
//! - `POST /control/refunds/{reference}/settle`: settles a pending refund. Sandbox-only, a
//!   stand-in for the days a real network takes; it needs no key because the sandbox holds
//!   no real money.
//!
//! When a refund settles later than the answer to its request, the network notifies the
//! merchant's platform with a signed `POST` (see [`notify`] for that protocol), if it was
//! built [`CardNetwork::with_notifications`].
//!
//! Invariant: a reference names one authorization (or one refund) forever. Sending the same
//! request under it again returns what is stored; a different request under it is refused
//! with `reference_conflict`. Nothing is ever charged twice.
//!
//! Invariant: card numbers and CVCs are read once to decide the outcome and then dropped.
//! Only the last four digits and a keyed fingerprint of the request stay in memory; neither
//! is ever logged.

mod book;
mod cards;
mod challenge;
mod error;
mod fields;
mod handlers;
pub mod notify;
mod wire;

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::header::AUTHORIZATION;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use payrail_domain::{Clock, Secret};

use book::Book;
use error::NetworkError;
use notify::Notifier;

pub use cards::{APPROVED_CARD, ASYNCHRONOUS_REFUND_CARD, CHALLENGE_CARD, DECLINED_CARDS, PROCESSING_ERROR_CARD};
pub use notify::{NOTIFICATION_SIGNATURE_HEADER, NotificationSetupError, SentNotification, sign_notification};

/// Largest request body the simulator reads; its requests are a few hundred bytes.
const BODY_BYTES_MAX: usize = 16 * 1024;

/// The simulator's state: the API key it expects, where it is reachable, and its memory.
///
/// Cloning is cheap and every clone shares the same memory.
#[derive(Clone)]
pub struct CardNetwork {
    shared: Arc<Shared>,
    /// Where settlements are announced; without one, the merchant's platform has to ask.
    notifier: Option<Arc<Notifier>>,
}

struct Shared {
    api_key: Secret<String>,
    clock: Arc<dyn Clock>,
    book: Mutex<Book>,
}

impl CardNetwork {
    /// How many authorizations (and, separately, refunds) are kept before new ones are
    /// refused with 503 `capacity_exceeded`.
    pub const OBJECTS_MAX: usize = 1_000_000;

    /// A simulator that accepts `api_key` and builds absolute URLs (the challenge page)
    /// from `public_base_url`, the address at which it is mounted as browsers see it, such
    /// as `https://payrail.example/sandbox/card-network`. A trailing `/` is ignored. The
    /// clock decides which cards have expired.
    pub fn new(api_key: String, public_base_url: String, clock: Arc<dyn Clock>) -> CardNetwork {
        CardNetwork::with_objects_max(api_key, public_base_url, clock, CardNetwork::OBJECTS_MAX)
    }

    /// As [`CardNetwork::new`], keeping at most `objects_max` authorizations and as many
    /// refunds (tests use a small number to reach the limit).
    pub fn with_objects_max(
        api_key: String,
        public_base_url: String,
        clock: Arc<dyn Clock>,
        objects_max: usize,
    ) -> CardNetwork {
        let public_base_url = public_base_url.trim_end_matches('/').to_owned();
        let book = Mutex::new(Book::new(public_base_url, objects_max));
        CardNetwork { shared: Arc::new(Shared { api_key: Secret::new(api_key), clock, book }), notifier: None }
    }

    /// This network, also notifying `url` (the merchant platform's notification endpoint)
    /// of every refund that settles, signed with `secret`. Clones made afterwards notify
    /// too; the memory stays shared with clones made before.
    pub fn with_notifications(self, url: &str, secret: Secret<String>) -> Result<CardNetwork, NotificationSetupError> {
        let notifier = Notifier::new(url, secret, Arc::clone(&self.shared.clock))?;
        Ok(CardNetwork { notifier: Some(Arc::new(notifier)), ..self })
    }

    /// The notifications sent so far (the most recent thousand), oldest first, with how
    /// their delivery went. Empty without [`CardNetwork::with_notifications`].
    pub fn sent_notifications(&self) -> Vec<SentNotification> {
        self.notifier.as_ref().map(|notifier| notifier.sent()).unwrap_or_default()
    }

    /// The memory, locked. Every rule runs inside one short critical section without any
    /// `.await`, so a plain mutex is enough. A panic while it was held cannot leave a half
    /// written object (each rule builds the new value before storing it), so a poisoned
    /// lock is taken over rather than failing every later request.
    fn book(&self) -> MutexGuard<'_, Book> {
        self.shared.book.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl std::fmt::Debug for CardNetwork {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CardNetwork").field("api_key", &self.shared.api_key).finish_non_exhaustive()
    }
}

/// The simulator's routes (see the module documentation), ready to be mounted under any
/// prefix with [`Router::nest`] or served alone.
pub fn card_network_router(network: CardNetwork) -> Router {
    let acquirer_protocol = Router::new()
        .route("/v1/authorizations", post(handlers::create_authorization))
        .route("/v1/authorizations/{reference}", get(handlers::get_authorization))
        .route("/v1/authorizations/{reference}/capture", post(handlers::capture_authorization))
        .route("/v1/authorizations/{reference}/void", post(handlers::void_authorization))
        .route("/v1/refunds", post(handlers::create_refund))
        .route("/v1/refunds/{reference}", get(handlers::get_refund))
        .route_layer(middleware::from_fn_with_state(network.clone(), require_api_key));
    Router::new()
        .merge(acquirer_protocol)
        .route("/3ds/{reference}", get(challenge::show_challenge))
        .route("/3ds/{reference}/complete", post(challenge::complete_challenge))
        .route("/3ds/{reference}/fail", post(challenge::fail_challenge))
        .route("/control/refunds/{reference}/settle", post(handlers::settle_refund))
        .fallback(route_not_found)
        .layer(DefaultBodyLimit::max(BODY_BYTES_MAX))
        .with_state(network)
}

/// Lets a request through only with `Authorization: Bearer <api_key>`.
async fn require_api_key(State(network): State<CardNetwork>, request: Request, next: Next) -> Response {
    let presented = request
        .headers()
        .get(AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "));
    let expected = network.shared.api_key.expose().as_bytes();
    match presented {
        Some(key) if equal_in_constant_time(key.as_bytes(), expected) => next.run(request).await,
        _ => NetworkError::Unauthorized.into_response(),
    }
}

/// Compares without stopping at the first difference, so response time does not reveal
/// how much of a guessed key was right.
fn equal_in_constant_time(presented: &[u8], expected: &[u8]) -> bool {
    if presented.len() != expected.len() {
        return false;
    }
    presented.iter().zip(expected).fold(0_u8, |difference, (a, b)| difference | (a ^ b)) == 0
}

async fn route_not_found() -> NetworkError {
    NetworkError::RouteNotFound
}

#[cfg(test)]
mod tests {
    use super::equal_in_constant_time;

    #[test]
    fn keys_match_only_when_every_byte_and_the_length_match() {
        assert!(equal_in_constant_time(b"sk_sandbox", b"sk_sandbox"));
        assert!(!equal_in_constant_time(b"sk_sandboy", b"sk_sandbox"));
        assert!(!equal_in_constant_time(b"sk_sandbox_", b"sk_sandbox"));
        assert!(!equal_in_constant_time(b"", b"sk_sandbox"));
    }
}
