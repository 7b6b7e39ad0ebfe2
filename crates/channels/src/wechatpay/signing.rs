//! WeChat Pay API v3 signatures: the `Authorization` header a merchant signs its requests
//! with, and the `Wechatpay-*` headers WeChat Pay signs its answers and notifications with.
//!
//! Both are SHA256withRSA (PKCS#1 v1.5), base64, over lines that each end in `\n`:
//!
//! - request: `METHOD\nPATH?QUERY\nTIMESTAMP\nNONCE\nBODY\n`, where the URL has no scheme
//!   or host and `BODY` is the exact bytes sent (empty for a GET, so it ends `\n\n`);
//! - answer and notification: `TIMESTAMP\nNONCE\nBODY\n`, `BODY` the raw bytes received.
//!
//! The answer check runs before a byte of the body is parsed, and requires the platform
//! key id the merchant configured (public-key mode, `PUB_KEY_ID_…`), so an answer signed
//! by any other key is never believed.

use payrail_crypto::rsa::{RsaPrivateKey, RsaPublicKey};
use reqwest::header::HeaderMap;

/// The only signature scheme v3 defines.
pub const SIGNATURE_TYPE: &str = "WECHATPAY2-SHA256-RSA2048";
pub const HEADER_TIMESTAMP: &str = "Wechatpay-Timestamp";
pub const HEADER_NONCE: &str = "Wechatpay-Nonce";
pub const HEADER_SIGNATURE: &str = "Wechatpay-Signature";
pub const HEADER_SERIAL: &str = "Wechatpay-Serial";
pub const HEADER_SIGNATURE_TYPE: &str = "Wechatpay-Signature-Type";
/// How far a signing time may be from now, either way; the SDKs use the same window.
pub const SIGNATURE_TOLERANCE_SECONDS: i64 = 300;
/// Longest header value read; WeChat's are under 400 bytes.
const HEADER_BYTES_MAX: usize = 1024;

/// Why signed headers were not believed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureRefused {
    #[error("the {0} header is missing or unreadable")]
    MissingHeader(&'static str),
    #[error("the signature type is not WECHATPAY2-SHA256-RSA2048")]
    SignatureType,
    #[error("signed with key {0}, not the configured platform key")]
    UnknownSerial(String),
    #[error("the signing time is more than 300 s away from now")]
    Stale,
    #[error("the signature does not match")]
    Forged,
}

/// The message a v3 request signature covers.
pub fn request_message(method: &str, canonical_url: &str, timestamp: i64, nonce: &str, body: &[u8]) -> Vec<u8> {
    let mut message = format!("{method}\n{canonical_url}\n{timestamp}\n{nonce}\n").into_bytes();
    message.extend_from_slice(body);
    message.push(b'\n');
    message
}

/// The message an answer's or a notification's signature covers.
pub fn response_message(timestamp: &str, nonce: &str, body: &[u8]) -> Vec<u8> {
    let mut message = format!("{timestamp}\n{nonce}\n").into_bytes();
    message.extend_from_slice(body);
    message.push(b'\n');
    message
}

/// What goes into one `Authorization` header.
pub struct RequestSignature<'a> {
    pub mchid: &'a str,
    pub serial_no: &'a str,
    pub method: &'a str,
    pub canonical_url: &'a str,
    pub timestamp: i64,
    pub nonce: &'a str,
    pub body: &'a [u8],
}

/// The `Authorization` header value for a request, in the parameter order of the official
/// documentation's example.
pub fn authorization(
    key: &RsaPrivateKey,
    request: &RequestSignature<'_>,
) -> Result<String, payrail_crypto::CryptoError> {
    let message =
        request_message(request.method, request.canonical_url, request.timestamp, request.nonce, request.body);
    let signature = key.sign_base64(&message)?;
    Ok(format!(
        "{SIGNATURE_TYPE} mchid=\"{}\",nonce_str=\"{}\",signature=\"{signature}\",timestamp=\"{}\",serial_no=\"{}\"",
        request.mchid, request.nonce, request.timestamp, request.serial_no
    ))
}

/// The platform key a signature must be made with: its id and the key.
pub struct PlatformKey<'a> {
    pub id: &'a str,
    pub key: &'a RsaPublicKey,
}

/// Checks the five `Wechatpay-*` headers over `body` at `now_unix_seconds`: the type, the
/// key id, the signature, then the time window (a well-signed but old message is a
/// replay, and says so).
pub fn verify_signed_headers(
    headers: &HeaderMap,
    body: &[u8],
    platform: &PlatformKey<'_>,
    now_unix_seconds: i64,
) -> Result<(), SignatureRefused> {
    if header(headers, HEADER_SIGNATURE_TYPE)? != SIGNATURE_TYPE {
        return Err(SignatureRefused::SignatureType);
    }
    let serial = header(headers, HEADER_SERIAL)?;
    if serial != platform.id {
        return Err(SignatureRefused::UnknownSerial(serial.chars().take(64).collect()));
    }
    let timestamp = header(headers, HEADER_TIMESTAMP)?;
    let nonce = header(headers, HEADER_NONCE)?;
    let signature = header(headers, HEADER_SIGNATURE)?;
    if !platform.key.verify_base64(&response_message(timestamp, nonce, body), signature) {
        return Err(SignatureRefused::Forged);
    }
    let signed_at: i64 = timestamp.parse().map_err(|_| SignatureRefused::MissingHeader(HEADER_TIMESTAMP))?;
    if (now_unix_seconds - signed_at).abs() > SIGNATURE_TOLERANCE_SECONDS {
        return Err(SignatureRefused::Stale);
    }
    Ok(())
}

fn header<'h>(headers: &'h HeaderMap, name: &'static str) -> Result<&'h str, SignatureRefused> {
    headers
        .get(name)
        .filter(|value| value.len() <= HEADER_BYTES_MAX)
        .and_then(|value| value.to_str().ok())
        .map(str::trim)
        .filter(|value| !value.is_empty())
        .ok_or(SignatureRefused::MissingHeader(name))
}

/// 32 random characters from `[0-9A-Z]`, as WeChat's own examples use for nonces.
pub fn random_nonce() -> String {
    random_string(32)
}

/// `length` random characters from `[0-9A-Z]`.
pub fn random_string(length: usize) -> String {
    const ALPHABET: &[u8; 36] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    let mut bytes = vec![0_u8; length];
    // The system random source failing leaves the process unable to sign anything safely.
    aws_lc_rs::rand::fill(&mut bytes).unwrap_or_else(|_| panic!("the system random source failed"));
    bytes.iter().map(|byte| char::from(ALPHABET[usize::from(*byte) % ALPHABET.len()])).collect()
}

#[cfg(test)]
mod tests {
    use reqwest::header::HeaderValue;

    use super::*;

    #[test]
    fn a_get_request_message_ends_with_an_empty_body_line() {
        let message =
            request_message("GET", "/v3/certificates?a=1", 1_554_208_460, "593BEC0C930BF1AFEB40B4A08C8FB242", b"");
        assert_eq!(message, b"GET\n/v3/certificates?a=1\n1554208460\n593BEC0C930BF1AFEB40B4A08C8FB242\n\n");
        assert_eq!(response_message("1", "n", b"{}"), b"1\nn\n{}\n");
    }

    #[test]
    fn the_authorization_header_names_every_parameter_and_verifies() {
        let key = RsaPrivateKey::generate().expect("key");
        let request = RequestSignature {
            mchid: "1900000001",
            serial_no: "5157F09EFDC096DE15EBE81A47057A7232F1B8E1",
            method: "POST",
            canonical_url: "/v3/pay/transactions/native",
            timestamp: 1_780_000_000,
            nonce: "NONCE",
            body: b"{}",
        };
        let header = authorization(&key, &request).expect("signs");
        assert!(header.starts_with("WECHATPAY2-SHA256-RSA2048 mchid=\"1900000001\",nonce_str=\"NONCE\",signature=\""));
        assert!(header.ends_with(",timestamp=\"1780000000\",serial_no=\"5157F09EFDC096DE15EBE81A47057A7232F1B8E1\""));
        let signature = header.split("signature=\"").nth(1).and_then(|rest| rest.split('"').next()).expect("sig");
        let message = request_message("POST", "/v3/pay/transactions/native", 1_780_000_000, "NONCE", b"{}");
        assert!(key.public_key().expect("public").verify_base64(&message, signature));
    }

    fn signed(key: &RsaPrivateKey, timestamp: &str, body: &[u8]) -> HeaderMap {
        let signature = key.sign_base64(&response_message(timestamp, "N", body)).expect("signs");
        let mut headers = HeaderMap::new();
        for (name, value) in [
            (HEADER_TIMESTAMP, timestamp),
            (HEADER_NONCE, "N"),
            (HEADER_SIGNATURE, &signature),
            (HEADER_SERIAL, "PUB_KEY_ID_1"),
            (HEADER_SIGNATURE_TYPE, SIGNATURE_TYPE),
        ] {
            headers.insert(name, HeaderValue::from_str(value).expect("value"));
        }
        headers
    }

    #[test]
    fn signed_headers_are_believed_only_when_key_signature_type_and_time_match() {
        let key = RsaPrivateKey::generate().expect("key");
        let public = key.public_key().expect("public");
        let platform = PlatformKey { id: "PUB_KEY_ID_1", key: &public };
        let headers = signed(&key, "1780000000", b"{}");
        assert_eq!(verify_signed_headers(&headers, b"{}", &platform, 1_780_000_300), Ok(()));
        assert_eq!(verify_signed_headers(&headers, b"{ }", &platform, 1_780_000_000), Err(SignatureRefused::Forged));
        assert_eq!(verify_signed_headers(&headers, b"{}", &platform, 1_780_000_301), Err(SignatureRefused::Stale));
        let other = PlatformKey { id: "PUB_KEY_ID_2", key: &public };
        assert!(matches!(
            verify_signed_headers(&headers, b"{}", &other, 1_780_000_000),
            Err(SignatureRefused::UnknownSerial(_))
        ));
        let mut untyped = headers.clone();
        untyped.remove(HEADER_SIGNATURE_TYPE);
        assert_eq!(
            verify_signed_headers(&untyped, b"{}", &platform, 1_780_000_000),
            Err(SignatureRefused::MissingHeader(HEADER_SIGNATURE_TYPE))
        );
        let empty = signed(&key, "1780000000", b"");
        assert_eq!(verify_signed_headers(&empty, b"", &platform, 1_780_000_000), Ok(()));
    }

    #[test]
    fn nonces_are_upper_alphanumeric_and_differ() {
        let nonce = random_nonce();
        assert_eq!(nonce.len(), 32);
        assert!(nonce.bytes().all(|byte| byte.is_ascii_digit() || byte.is_ascii_uppercase()));
        assert_ne!(nonce, random_nonce());
    }
}
