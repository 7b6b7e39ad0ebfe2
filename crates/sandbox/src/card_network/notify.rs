//! Notifications: how the network tells the merchant's platform about a result that came
//! later than the answer to its request (today, a refund that settled).
//!
//! The protocol, as a real acquirer would document it:
//!
//! ```text
//! POST <notification URL>
//! Content-Type: application/json
//! Card-Network-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "{t}.{body}")>
//!
//! {"id":"ntf_<32 hex>","type":"refund.settled","created":<unix seconds>,
//!  "data":{"reference":"re_…","status":"succeeded"|"failed","failure_code":null|"declined"}}
//! ```
//!
//! - The receiver acknowledges with any 2xx. Anything else, or no answer within 5 s, is
//!   retried: at most [`ATTEMPTS_MAX`] attempts, waiting 0.5 s and then 2 s in between.
//! - Every attempt carries the same id and body, so a receiver drops a repeat by the id.
//!   The signature is made afresh for each attempt with the time it is sent, so a receiver
//!   may refuse signatures older than a few minutes and a captured request cannot be
//!   replayed later.
//! - The secret is agreed when the merchant's platform is set up; a signature uses exactly
//!   the bytes of the body as sent, so a receiver checks it before parsing anything.
//!
//! Sending happens on a task of its own: the control endpoint that settled the refund
//! answers at once, as the settlement itself does not wait for the merchant's platform.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use aws_lc_rs::hmac;
use payrail_domain::{Clock, Secret};

use super::wire::RefundObject;

/// The header carrying the timestamp and the signature.
pub const NOTIFICATION_SIGNATURE_HEADER: &str = "Card-Network-Signature";
/// How many times one notification is sent before the network gives up on it.
pub const ATTEMPTS_MAX: u32 = 3;
/// Longest wait for the receiver to answer one attempt.
const ATTEMPT_TIMEOUT_MS: u64 = 5_000;
/// Waits before the second and the third attempt.
const RETRY_DELAYS_MS: [u64; 2] = [500, 2_000];
/// Sent notifications kept for inspection; the oldest are dropped beyond this.
const OUTBOX_MAX: usize = 1_000;

/// One notification as sent, and how its delivery went so far.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentNotification {
    pub id: String,
    /// The body exactly as sent (the bytes the signature covers).
    pub body: String,
    /// The `Card-Network-Signature` value of the latest attempt.
    pub signature: String,
    pub attempts: u32,
    /// The receiver's status on the latest attempt; `None` if it did not answer.
    pub last_status: Option<u16>,
    /// Whether the receiver acknowledged it with a 2xx.
    pub delivered: bool,
}

/// Why notifications could not be set up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotificationSetupError(String);

impl std::fmt::Display for NotificationSetupError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "card network notifications: {}", self.0)
    }
}

impl std::error::Error for NotificationSetupError {}

/// Where notifications go, the secret that signs them, and what was sent.
pub(crate) struct Notifier {
    destination: String,
    secret: Secret<String>,
    clock: Arc<dyn Clock>,
    http: reqwest::Client,
    outbox: Mutex<VecDeque<SentNotification>>,
}

impl Notifier {
    pub(crate) fn new(
        destination: &str,
        secret: Secret<String>,
        clock: Arc<dyn Clock>,
    ) -> Result<Notifier, NotificationSetupError> {
        let url = reqwest::Url::parse(destination).map_err(|_| NotificationSetupError("the URL is invalid".into()))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(NotificationSetupError("the URL must be http or https".into()));
        }
        if secret.expose().is_empty() {
            return Err(NotificationSetupError("the signing secret is empty".into()));
        }
        // Redirects are not followed: a signed notification goes where it was configured
        // to go, or nowhere.
        let http = reqwest::Client::builder()
            .timeout(Duration::from_millis(ATTEMPT_TIMEOUT_MS))
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .build()
            .map_err(|error| NotificationSetupError(error.to_string()))?;
        Ok(Notifier { destination: url.to_string(), secret, clock, http, outbox: Mutex::new(VecDeque::new()) })
    }

    /// Notifies that `refund` settled: records it in the outbox and sends it on a task of
    /// its own.
    pub(crate) fn refund_settled(self: &Arc<Self>, refund: &RefundObject) {
        let now = self.clock.now();
        let id = format!("ntf_{}", random_hex());
        let body = serde_json::json!({
            "id": id,
            "type": "refund.settled",
            "created": now.unix_seconds(),
            "data": {
                "reference": refund.reference,
                "status": refund.status,
                "failure_code": refund.failure_code,
            },
        })
        .to_string();
        let sent = SentNotification {
            id: id.clone(),
            signature: sign_notification(self.secret.expose(), now.unix_seconds(), body.as_bytes()),
            body,
            attempts: 0,
            last_status: None,
            delivered: false,
        };
        {
            let mut outbox = self.outbox();
            if outbox.len() == OUTBOX_MAX {
                outbox.pop_front();
            }
            outbox.push_back(sent.clone());
        }
        tracing::info!(notification_id = %id, reference = %refund.reference, "card network notification queued");
        tokio::spawn(Arc::clone(self).deliver(sent.id, sent.body));
    }

    /// Every notification still in the outbox, oldest first.
    pub(crate) fn sent(&self) -> Vec<SentNotification> {
        self.outbox().iter().cloned().collect()
    }

    async fn deliver(self: Arc<Self>, id: String, body: String) {
        for attempt in 1..=ATTEMPTS_MAX {
            let signature = sign_notification(self.secret.expose(), self.clock.now().unix_seconds(), body.as_bytes());
            let request = self
                .http
                .post(&self.destination)
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .header(NOTIFICATION_SIGNATURE_HEADER, &signature)
                .body(body.clone());
            let status = request.send().await.ok().map(|response| response.status());
            let delivered = status.is_some_and(|status| status.is_success());
            let last_status = status.map(|status| status.as_u16());
            self.record_attempt(&id, attempt, signature, last_status, delivered);
            tracing::info!(notification_id = %id, attempt, status = ?last_status, delivered, "card network notification sent");
            if delivered {
                return;
            }
            if let Some(delay_ms) = usize::try_from(attempt - 1).ok().and_then(|index| RETRY_DELAYS_MS.get(index)) {
                tokio::time::sleep(Duration::from_millis(*delay_ms)).await;
            }
        }
        tracing::warn!(notification_id = %id, "card network notification given up after every attempt");
    }

    fn record_attempt(&self, id: &str, attempt: u32, signature: String, last_status: Option<u16>, delivered: bool) {
        if let Some(sent) = self.outbox().iter_mut().find(|sent| sent.id == id) {
            *sent = SentNotification { attempts: attempt, signature, last_status, delivered, ..sent.clone() };
        }
    }

    /// The outbox, locked; no rule holds it across an `.await`, and every write replaces
    /// a whole entry, so a poisoned lock is taken over.
    fn outbox(&self) -> std::sync::MutexGuard<'_, VecDeque<SentNotification>> {
        self.outbox.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The `Card-Network-Signature` value for `body` sent at `unix_seconds` under `secret`:
/// `t=<unix_seconds>,v1=<hex HMAC-SHA256(secret, "{t}.{body}")>`.
pub fn sign_notification(secret: &str, unix_seconds: i64, body: &[u8]) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes());
    let mut context = hmac::Context::with_key(&key);
    context.update(format!("{unix_seconds}.").as_bytes());
    context.update(body);
    format!("t={unix_seconds},v1={}", hex(context.sign().as_ref()))
}

/// 128 random bits in hex. Ids must not repeat across restarts of the simulator (its
/// memory is lost, the receiver's record of seen ids is not), so a counter would not do.
fn random_hex() -> String {
    let mut bytes = [0_u8; 16];
    aws_lc_rs::rand::fill(&mut bytes).unwrap_or_else(|_| panic!("the system random source failed"));
    hex(&bytes)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::sign_notification;

    #[test]
    fn signatures_cover_the_timestamp_and_every_byte_of_the_body() {
        let signed = sign_notification("secret", 1_780_000_000, b"{}");
        assert!(signed.starts_with("t=1780000000,v1="), "{signed}");
        assert_eq!(signed.len(), "t=1780000000,v1=".len() + 64);
        assert_ne!(signed, sign_notification("secret", 1_780_000_001, b"{}"));
        assert_ne!(signed, sign_notification("secret", 1_780_000_000, b"{ }"));
        assert_ne!(signed, sign_notification("other", 1_780_000_000, b"{}"));
        assert_eq!(signed, sign_notification("secret", 1_780_000_000, b"{}"));
    }

    #[test]
    fn signatures_are_plain_hmac_sha256_of_the_timestamp_a_dot_and_the_body() {
        // Computed independently: Python's hmac.new(b"secret", b'1780000000.{"id":"ntf_1"}', sha256).
        let expected = "c58d49d7bdc593776d3ef7baa2db9d825fcd9ac81365d323a261b172f8de74ac";
        let signed = sign_notification("secret", 1_780_000_000, br#"{"id":"ntf_1"}"#);
        assert_eq!(signed, format!("t=1780000000,v1={expected}"));
    }
}
