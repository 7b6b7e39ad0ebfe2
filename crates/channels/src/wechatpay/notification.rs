//! v3 notifications: checking that one really comes from WeChat Pay, decrypting its
//! resource and reading it.
//!
//! WeChat Pay `POST`s JSON to the order's `notify_url`:
//!
//! ```text
//! {"id":"EV-…","create_time":"…+08:00","resource_type":"encrypt-resource",
//!  "event_type":"TRANSACTION.SUCCESS","summary":"…",
//!  "resource":{"original_type":"transaction","algorithm":"AEAD_AES_256_GCM",
//!              "ciphertext":"<base64(ct‖tag)>","associated_data":"transaction","nonce":"<12 chars>"}}
//! ```
//!
//! The checks run in this order: the five `Wechatpay-*` headers over the raw body with
//! the platform public key and the time window (nothing of an unauthenticated body is
//! read), then the resource is opened with AES-256-GCM (key: the APIv3 key's 32 bytes,
//! nonce: the nonce string's 12 bytes, AAD: `associated_data`), then the plaintext must be
//! this merchant's. The receiver then answers HTTP 204 (or 200) with no body; anything
//! else makes WeChat Pay send it again, so a repeat (same `id`) must change nothing twice.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use payrail_domain::Timestamp;
use reqwest::header::HeaderMap;
use serde::Deserialize;

use super::WechatPayClient;
use super::signing::{self, SignatureRefused};
use super::time::parse_rfc3339;
use super::types::{RefundStatus, Transaction};
use super::wire::TransactionWire;

/// Largest notification body read; WeChat's are under 2 KB.
const BODY_BYTES_MAX: usize = 64 * 1024;

/// A notification whose signature, time, encryption and merchant were all checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WechatPayNotification {
    /// WeChat's event id, the same on every redelivery.
    pub id: String,
    /// `TRANSACTION.SUCCESS`, `REFUND.SUCCESS`, `REFUND.ABNORMAL`, `REFUND.CLOSED`.
    pub event_type: String,
    pub event: WechatPayNotificationEvent,
}

/// What the decrypted resource holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WechatPayNotificationEvent {
    Transaction(Transaction),
    Refund(RefundNotification),
}

/// A refund's result, as a `REFUND.*` notification reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundNotification {
    pub mchid: String,
    pub out_trade_no: String,
    pub transaction_id: Option<String>,
    pub out_refund_no: String,
    pub refund_id: String,
    pub refund_status: RefundStatus,
    pub success_time: Option<Timestamp>,
    pub refund_minor: i64,
    pub total_minor: i64,
}

/// Why a notification was refused. Every case is answered with a 4xx/5xx so that WeChat
/// Pay keeps it (a genuine one is sent again).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotificationRefused {
    /// The headers are missing, signed by another key, forged, or too old.
    #[error("the notification's signature was not accepted: {0}")]
    Signature(#[from] SignatureRefused),
    #[error("the notification body is malformed: {0}")]
    Malformed(String),
    /// The resource did not open with this account's APIv3 key.
    #[error("the notification resource could not be decrypted")]
    Decrypt,
    /// Correctly signed and encrypted, but about another merchant or app.
    #[error("the notification is for another merchant or app")]
    WrongMerchant,
}

#[derive(Deserialize)]
struct Envelope {
    id: String,
    event_type: String,
    resource_type: String,
    resource: Resource,
}

#[derive(Deserialize)]
struct Resource {
    algorithm: String,
    ciphertext: String,
    #[serde(default)]
    associated_data: String,
    nonce: String,
}

#[derive(Deserialize)]
struct RefundResource {
    mchid: String,
    out_trade_no: String,
    transaction_id: Option<String>,
    out_refund_no: String,
    refund_id: String,
    refund_status: String,
    success_time: Option<String>,
    amount: RefundResourceAmount,
}

#[derive(Deserialize)]
struct RefundResourceAmount {
    total: i64,
    refund: i64,
}

impl WechatPayClient {
    /// Checks and reads one notification: `headers` and the raw `body` exactly as received.
    pub fn verify_notification(
        &self,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<WechatPayNotification, NotificationRefused> {
        if body.len() > BODY_BYTES_MAX {
            return Err(NotificationRefused::Malformed("body too large".to_owned()));
        }
        signing::verify_signed_headers(headers, body, &self.platform(), self.clock.now().unix_seconds())?;
        let envelope: Envelope = serde_json::from_slice(body).map_err(malformed)?;
        if envelope.resource_type != "encrypt-resource" || envelope.resource.algorithm != "AEAD_AES_256_GCM" {
            return Err(NotificationRefused::Malformed("not an AEAD_AES_256_GCM resource".to_owned()));
        }
        let plaintext = decrypt_resource(self.apiv3_key.expose().as_bytes(), &envelope.resource)?;
        let event = if envelope.event_type.starts_with("TRANSACTION.") {
            WechatPayNotificationEvent::Transaction(self.own_transaction(&plaintext)?)
        } else if envelope.event_type.starts_with("REFUND.") {
            WechatPayNotificationEvent::Refund(self.own_refund(&plaintext)?)
        } else {
            return Err(NotificationRefused::Malformed(format!("unknown event_type {:?}", envelope.event_type)));
        };
        Ok(WechatPayNotification { id: envelope.id, event_type: envelope.event_type, event })
    }

    fn own_transaction(&self, plaintext: &[u8]) -> Result<Transaction, NotificationRefused> {
        let wire: TransactionWire = serde_json::from_slice(plaintext).map_err(malformed)?;
        let transaction = wire.into_transaction().map_err(|error| NotificationRefused::Malformed(error.to_string()))?;
        if transaction.mchid != self.mchid || transaction.appid != self.appid {
            return Err(NotificationRefused::WrongMerchant);
        }
        Ok(transaction)
    }

    fn own_refund(&self, plaintext: &[u8]) -> Result<RefundNotification, NotificationRefused> {
        let wire: RefundResource = serde_json::from_slice(plaintext).map_err(malformed)?;
        if wire.mchid != self.mchid {
            return Err(NotificationRefused::WrongMerchant);
        }
        let refund_status = RefundStatus::parse(&wire.refund_status)
            .ok_or_else(|| NotificationRefused::Malformed(format!("unknown refund_status {:?}", wire.refund_status)))?;
        let success_time = match wire.success_time.as_deref().filter(|text| !text.is_empty()) {
            None => None,
            Some(text) => Some(parse_rfc3339(text).ok_or_else(|| malformed("unreadable success_time"))?),
        };
        Ok(RefundNotification {
            mchid: wire.mchid,
            out_trade_no: wire.out_trade_no,
            transaction_id: wire.transaction_id,
            out_refund_no: wire.out_refund_no,
            refund_id: wire.refund_id,
            refund_status,
            success_time,
            refund_minor: wire.amount.refund,
            total_minor: wire.amount.total,
        })
    }
}

/// Opens a resource: AES-256-GCM, key = the APIv3 key's bytes, nonce = the nonce string's
/// bytes, AAD = `associated_data`, `ciphertext` = base64 of the ciphertext and its tag.
fn decrypt_resource(apiv3_key: &[u8], resource: &Resource) -> Result<Vec<u8>, NotificationRefused> {
    let sealed = STANDARD.decode(resource.ciphertext.trim()).map_err(|_| malformed("ciphertext is not base64"))?;
    payrail_crypto::aead::open(apiv3_key, resource.nonce.as_bytes(), resource.associated_data.as_bytes(), &sealed)
        .map_err(|_| NotificationRefused::Decrypt)
}

fn malformed(error: impl std::fmt::Display) -> NotificationRefused {
    NotificationRefused::Malformed(error.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &[u8; 32] = b"0123456789abcdef0123456789abcdef";

    fn resource(ciphertext: String, nonce: &str) -> Resource {
        Resource {
            algorithm: "AEAD_AES_256_GCM".to_owned(),
            ciphertext,
            associated_data: "transaction".to_owned(),
            nonce: nonce.to_owned(),
        }
    }

    #[test]
    fn a_resource_opens_with_the_apiv3_key_its_nonce_string_and_its_associated_data() {
        let sealed = payrail_crypto::aead::seal(KEY, b"abcdefghijkl", b"transaction", b"{}").expect("seals");
        let text = STANDARD.encode(&sealed);
        assert_eq!(decrypt_resource(KEY, &resource(text.clone(), "abcdefghijkl")), Ok(b"{}".to_vec()));
        assert_eq!(decrypt_resource(KEY, &resource(text.clone(), "abcdefghijkL")), Err(NotificationRefused::Decrypt));
        let mut other_aad = resource(text, "abcdefghijkl");
        other_aad.associated_data = "refund".to_owned();
        assert_eq!(decrypt_resource(KEY, &other_aad), Err(NotificationRefused::Decrypt));
        assert!(matches!(
            decrypt_resource(KEY, &resource("!!".to_owned(), "abcdefghijkl")),
            Err(NotificationRefused::Malformed(_))
        ));
    }
}
