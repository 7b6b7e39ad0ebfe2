//! Notifications from the card network: checking that one really comes from the network,
//! and reading it.
//!
//! The network `POST`s a JSON body with `Card-Network-Signature: t=<unix seconds>,v1=<hex>`,
//! where the hex is HMAC-SHA256 of `"{t}.{raw body}"` under the secret agreed with the
//! network (the protocol is documented by the simulator, `payrail_sandbox::card_network::
//! notify`). [`verify_notification`] runs its checks in this order, and the order matters:
//!
//! 1. the signature, in constant time, over the raw bytes, before anything of the body is
//!    parsed: an unauthenticated body is never read;
//! 2. the timestamp, within a tolerance either way, so a captured request cannot be
//!    replayed later (the network signs every attempt afresh);
//! 3. the body, strictly: a type this client does not know is refused, not ignored, so
//!    the network keeps it and someone notices rather than a result being lost.

use aws_lc_rs::hmac;
use payrail_domain::{RefundId, Secret, Timestamp};
use serde::Deserialize;

use super::types::RefundStatus;

pub use reqwest::header::HeaderMap;

/// The header carrying the timestamp and the signatures.
pub const NOTIFICATION_SIGNATURE_HEADER: &str = "Card-Network-Signature";
/// How far a notification's signing time may be from now, in either direction.
pub const NOTIFICATION_TOLERANCE_SECONDS: u64 = 300;

/// Longest signature header read; the network's are under 100 bytes.
const HEADER_BYTES_MAX: usize = 1024;
/// Most `v1` values tried (a network rotating its secret sends two), so a hostile header
/// cannot make the check hash without end.
const SIGNATURES_MAX: usize = 4;
const SIGNATURE_BYTES: usize = 32;
/// Longest notification id kept; the network's are 36 characters.
const NOTIFICATION_ID_CHARS_MAX: usize = 64;
const FAILURE_CODE_CHARS_MAX: usize = 64;

/// A notification whose signature, time and body were all checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardNetworkNotification {
    /// The network's id for it, the same on every redelivery.
    pub id: String,
    /// When the network created it, in Unix seconds (not when this attempt was signed).
    pub created_unix_seconds: i64,
    pub event: NotificationEvent,
}

/// What a notification reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotificationEvent {
    /// `refund.settled`: a refund that was pending has ended. `status` is never `Pending`.
    RefundSettled { reference: RefundId, status: RefundStatus },
}

impl NotificationEvent {
    /// The type as the network names it.
    pub fn type_name(&self) -> &'static str {
        match self {
            NotificationEvent::RefundSettled { .. } => "refund.settled",
        }
    }
}

/// Why a notification was refused, in the order the checks run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NotificationRefused {
    #[error("the notification carries no signature header")]
    SignatureMissing,
    #[error("the signature header is not of the form t=<unix seconds>,v1=<hex>")]
    SignatureMalformed,
    #[error("the signature does not match the body")]
    SignatureMismatch,
    #[error("the signature timestamp is outside the tolerance")]
    TimestampOutsideTolerance,
    #[error("the notification body is malformed")]
    BodyMalformed,
    #[error("the notification type is unknown")]
    TypeUnknown,
}

impl NotificationRefused {
    /// A stable code for logs and answers.
    pub fn code(self) -> &'static str {
        match self {
            NotificationRefused::SignatureMissing => "signature_missing",
            NotificationRefused::SignatureMalformed => "signature_malformed",
            NotificationRefused::SignatureMismatch => "signature_mismatch",
            NotificationRefused::TimestampOutsideTolerance => "timestamp_outside_tolerance",
            NotificationRefused::BodyMalformed => "body_malformed",
            NotificationRefused::TypeUnknown => "type_unknown",
        }
    }
}

/// Checks a notification as received (`headers`, raw `body`) against `secret` at `now`,
/// allowing `tolerance_seconds` of clock difference, and reads it. See the module
/// documentation for the order of the checks.
pub fn verify_notification(
    headers: &HeaderMap,
    body: &[u8],
    secret: &Secret<String>,
    now: Timestamp,
    tolerance_seconds: u64,
) -> Result<CardNetworkNotification, NotificationRefused> {
    let header = headers.get(NOTIFICATION_SIGNATURE_HEADER).ok_or(NotificationRefused::SignatureMissing)?;
    let header = ParsedHeader::parse(header.as_bytes())?;
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret.expose().as_bytes());
    let mut signed = format!("{}.", header.unix_seconds).into_bytes();
    signed.extend_from_slice(body);
    // hmac::verify compares in constant time, so timing says nothing about how many
    // leading bytes of a forged signature were right.
    if !header.signatures.iter().any(|candidate| hmac::verify(&key, &signed, candidate).is_ok()) {
        return Err(NotificationRefused::SignatureMismatch);
    }
    if now.unix_seconds().abs_diff(header.unix_seconds) > tolerance_seconds {
        return Err(NotificationRefused::TimestampOutsideTolerance);
    }
    parse_body(body)
}

/// `t=<unix seconds>` and the `v1` signatures; other schemes are skipped, so the network
/// may add one beside `v1` without breaking this receiver.
struct ParsedHeader {
    unix_seconds: i64,
    signatures: Vec<[u8; SIGNATURE_BYTES]>,
}

impl ParsedHeader {
    fn parse(header: &[u8]) -> Result<ParsedHeader, NotificationRefused> {
        let malformed = NotificationRefused::SignatureMalformed;
        if header.len() > HEADER_BYTES_MAX {
            return Err(malformed);
        }
        let header = std::str::from_utf8(header).map_err(|_| malformed)?;
        let (mut unix_seconds, mut signatures) = (None, Vec::new());
        for part in header.split(',') {
            match part.trim().split_once('=') {
                Some(("t", value)) if unix_seconds.is_none() => {
                    let digits = !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit());
                    unix_seconds = Some(value.parse::<i64>().ok().filter(|_| digits).ok_or(malformed)?);
                }
                Some(("v1", value)) if signatures.len() < SIGNATURES_MAX => {
                    signatures.push(parse_hex(value).ok_or(malformed)?);
                }
                Some((scheme, _)) if scheme != "t" && scheme != "v1" => {}
                _ => return Err(malformed),
            }
        }
        match unix_seconds {
            Some(unix_seconds) if !signatures.is_empty() => Ok(ParsedHeader { unix_seconds, signatures }),
            _ => Err(malformed),
        }
    }
}

fn parse_hex(text: &str) -> Option<[u8; SIGNATURE_BYTES]> {
    if text.len() != SIGNATURE_BYTES * 2 {
        return None;
    }
    let mut bytes = [0_u8; SIGNATURE_BYTES];
    for (byte, pair) in bytes.iter_mut().zip(text.as_bytes().chunks_exact(2)) {
        *byte = u8::from_str_radix(std::str::from_utf8(pair).ok()?, 16).ok()?;
    }
    Some(bytes)
}

#[derive(Deserialize)]
struct NotificationWire {
    id: String,
    #[serde(rename = "type")]
    kind: String,
    created: i64,
    data: serde_json::Value,
}

#[derive(Deserialize)]
struct RefundSettledWire {
    reference: String,
    status: String,
    failure_code: Option<String>,
}

fn parse_body(body: &[u8]) -> Result<CardNetworkNotification, NotificationRefused> {
    let malformed = NotificationRefused::BodyMalformed;
    let wire: NotificationWire = serde_json::from_slice(body).map_err(|_| malformed)?;
    let id_is_valid = wire.id.starts_with("ntf_")
        && wire.id.len() <= NOTIFICATION_ID_CHARS_MAX
        && wire.id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if !id_is_valid || wire.created < 0 {
        return Err(malformed);
    }
    let event = match wire.kind.as_str() {
        "refund.settled" => {
            let data: RefundSettledWire = serde_json::from_value(wire.data).map_err(|_| malformed)?;
            // A reference that is not one of Payrail's refund ids cannot name a refund.
            let reference = RefundId::parse(&data.reference).map_err(|_| malformed)?;
            NotificationEvent::RefundSettled { reference, status: settled_status(data.status, data.failure_code)? }
        }
        _ => return Err(NotificationRefused::TypeUnknown),
    };
    Ok(CardNetworkNotification { id: wire.id, created_unix_seconds: wire.created, event })
}

/// A settlement is final: `succeeded` without a failure code, or `failed` with one.
fn settled_status(status: String, failure_code: Option<String>) -> Result<RefundStatus, NotificationRefused> {
    match (status.as_str(), failure_code) {
        ("succeeded", None) => Ok(RefundStatus::Succeeded),
        ("failed", Some(failure_code))
            if !failure_code.is_empty()
                && failure_code.len() <= FAILURE_CODE_CHARS_MAX
                && failure_code.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') =>
        {
            Ok(RefundStatus::Failed { failure_code })
        }
        _ => Err(NotificationRefused::BodyMalformed),
    }
}

#[cfg(test)]
#[path = "notification_tests.rs"]
mod tests;
