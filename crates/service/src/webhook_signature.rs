//! Signing outbound webhooks, and checking such a signature the way a receiver would.
//!
//! A delivery carries `Payrail-Signature: t=<unix seconds>,v1=<hex>`, where the hex is
//! HMAC-SHA256 of `"{t}.{raw body}"` under the endpoint's secret; while a secret is being
//! rotated there is one `v1` per active secret, so a receiver holding either one accepts.
//! The format is Stripe's on purpose: receivers can verify with code (or a library) they
//! already trust, and the tests prove the official `stripe` package accepts our headers.
//!
//! Invariant: every attempt is signed afresh with the time of that attempt, so a receiver
//! may refuse signatures older than [`TOLERANCE_SECONDS`] and a captured delivery cannot be
//! replayed later. The time is passed in (this module reads no clock).

use aws_lc_rs::hmac;
use payrail_domain::Secret;

use crate::random::{hex, random_bytes};

/// The header carrying the timestamp and the signatures.
pub const SIGNATURE_HEADER: &str = "Payrail-Signature";
/// The header carrying the event id, so a receiver can drop a delivery it already handled.
pub const EVENT_ID_HEADER: &str = "Payrail-Event-Id";
/// What every delivery says it comes from.
pub const USER_AGENT: &str = concat!("Payrail/", env!("CARGO_PKG_VERSION"));
/// How old (or how far ahead of the receiver's clock) a signature may be; Stripe's default.
pub const TOLERANCE_SECONDS: u64 = 300;
/// Every webhook secret starts with this, as Stripe's do, so a leaked one is recognisable.
pub const WEBHOOK_SECRET_PREFIX: &str = "whsec_";

/// The only signature scheme there is so far; others are ignored when verifying, so a
/// later scheme can be added beside it without breaking existing receivers.
const SCHEME: &str = "v1";
/// Random bytes in a secret: 256 bits, as for API keys.
const SECRET_RANDOM_BYTES: usize = 32;
/// Longest header `verify` reads; ours are under 200 bytes per secret.
const HEADER_BYTES_MAX: usize = 4096;
/// Most `v1` values `verify` tries, so a hostile header cannot make it hash without end.
const SIGNATURES_MAX: usize = 8;
const SIGNATURE_BYTES: usize = 32;

/// A new endpoint secret: `whsec_` and 64 hex characters.
pub fn new_webhook_secret() -> Secret<String> {
    Secret::new(format!("{WEBHOOK_SECRET_PREFIX}{}", hex(&random_bytes::<SECRET_RANDOM_BYTES>())))
}

/// The `Payrail-Signature` value for `body` sent at `unix_seconds`, one `v1` per secret
/// (in the order given).
///
/// # Panics
///
/// If `secrets` is empty: an endpoint always has a secret, and an unsigned header would
/// look signed to a careless reader.
pub fn sign(body: &[u8], unix_seconds: i64, secrets: &[&Secret<String>]) -> String {
    assert!(!secrets.is_empty(), "a webhook is signed with at least one secret");
    let mut header = format!("t={unix_seconds}");
    for secret in secrets {
        header.push_str(&format!(",{SCHEME}={}", hex(signature(body, unix_seconds, secret).as_ref())));
    }
    header
}

/// The headers of one delivery attempt: content type, user agent, event id and a signature
/// made at `unix_seconds`, the time of this attempt.
pub fn delivery_headers(
    event_id: &str,
    body: &[u8],
    unix_seconds: i64,
    secrets: &[&Secret<String>],
) -> [(&'static str, String); 4] {
    [
        ("Content-Type", "application/json".to_owned()),
        ("User-Agent", USER_AGENT.to_owned()),
        (EVENT_ID_HEADER, event_id.to_owned()),
        (SIGNATURE_HEADER, sign(body, unix_seconds, secrets)),
    ]
}

/// Why a signature header was refused, in the order the checks run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureRefused {
    #[error("the signature header is not of the form t=<unix seconds>,v1=<hex>")]
    Malformed,
    #[error("no signature in the header matches the body under any of the secrets")]
    NoMatch,
    #[error("the signature timestamp is outside the tolerance")]
    OutsideTolerance,
}

impl SignatureRefused {
    /// A stable code for logs and tests.
    pub fn code(self) -> &'static str {
        match self {
            SignatureRefused::Malformed => "signature_malformed",
            SignatureRefused::NoMatch => "signature_mismatch",
            SignatureRefused::OutsideTolerance => "signature_outside_tolerance",
        }
    }
}

/// Checks `header` as a receiver would: some `v1` value must be the signature of `body`
/// under one of `secrets` (compared in constant time), and its `t` must be within
/// `tolerance_seconds` of `now_unix_seconds` in either direction. Unknown schemes are
/// ignored, as Stripe's verifiers do.
pub fn verify(
    header: &str,
    body: &[u8],
    secrets: &[&Secret<String>],
    now_unix_seconds: i64,
    tolerance_seconds: u64,
) -> Result<(), SignatureRefused> {
    let parsed = ParsedHeader::parse(header)?;
    let signed = signed_payload(body, parsed.unix_seconds);
    let matches = secrets.iter().any(|secret| {
        let key = hmac::Key::new(hmac::HMAC_SHA256, secret.expose().as_bytes());
        // hmac::verify compares in constant time, so timing says nothing about how many
        // leading bytes of a forged signature were right.
        parsed.signatures.iter().any(|candidate| hmac::verify(&key, &signed, candidate).is_ok())
    });
    if !matches {
        return Err(SignatureRefused::NoMatch);
    }
    if now_unix_seconds.abs_diff(parsed.unix_seconds) > tolerance_seconds {
        return Err(SignatureRefused::OutsideTolerance);
    }
    Ok(())
}

fn signature(body: &[u8], unix_seconds: i64, secret: &Secret<String>) -> hmac::Tag {
    // The whole secret, prefix included, is the key: that is what Stripe's verifiers use.
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret.expose().as_bytes());
    let mut context = hmac::Context::with_key(&key);
    context.update(unix_seconds.to_string().as_bytes());
    context.update(b".");
    context.update(body);
    context.sign()
}

fn signed_payload(body: &[u8], unix_seconds: i64) -> Vec<u8> {
    let mut signed = format!("{unix_seconds}.").into_bytes();
    signed.extend_from_slice(body);
    signed
}

/// A header split into its timestamp and its `v1` signatures (decoded).
struct ParsedHeader {
    unix_seconds: i64,
    signatures: Vec<[u8; SIGNATURE_BYTES]>,
}

impl ParsedHeader {
    fn parse(header: &str) -> Result<ParsedHeader, SignatureRefused> {
        if header.len() > HEADER_BYTES_MAX {
            return Err(SignatureRefused::Malformed);
        }
        let mut unix_seconds = None;
        let mut signatures = Vec::new();
        for item in header.split(',') {
            let (key, value) = item.split_once('=').ok_or(SignatureRefused::Malformed)?;
            match key {
                "t" if unix_seconds.is_none() => unix_seconds = Some(parse_unix_seconds(value)?),
                "t" => return Err(SignatureRefused::Malformed),
                SCHEME if signatures.len() == SIGNATURES_MAX => return Err(SignatureRefused::Malformed),
                // A value that is not 64 hex digits cannot match; it is skipped rather than
                // refused so that one odd value does not hide a good one beside it.
                SCHEME => signatures.extend(decode_hex(value)),
                _ => {}
            }
        }
        let unix_seconds = unix_seconds.ok_or(SignatureRefused::Malformed)?;
        if signatures.is_empty() {
            return Err(SignatureRefused::Malformed);
        }
        Ok(ParsedHeader { unix_seconds, signatures })
    }
}

/// Digits only: `i64::from_str` would also take a sign, which no signer writes.
fn parse_unix_seconds(text: &str) -> Result<i64, SignatureRefused> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(SignatureRefused::Malformed);
    }
    text.parse().map_err(|_| SignatureRefused::Malformed)
}

/// Lowercase hex only, as signers write it (Stripe's verifiers compare the text exactly).
fn decode_hex(text: &str) -> Option<[u8; SIGNATURE_BYTES]> {
    let digits = text.as_bytes();
    if digits.len() != SIGNATURE_BYTES * 2 {
        return None;
    }
    let nibble = |digit: u8| match digit {
        b'0'..=b'9' => Some(digit - b'0'),
        b'a'..=b'f' => Some(digit - b'a' + 10),
        _ => None,
    };
    let mut bytes = [0_u8; SIGNATURE_BYTES];
    for (byte, pair) in bytes.iter_mut().zip(digits.chunks_exact(2)) {
        *byte = nibble(pair[0])? << 4 | nibble(pair[1])?;
    }
    Some(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: &[u8] = br#"{"id":"evt_1","object":"event"}"#;
    const T: i64 = 1_700_000_000;
    // Both computed once with Python's hmac module, independently of this code:
    // hmac.new(secret.encode(), b'1700000000.{"id":"evt_1","object":"event"}',
    //          hashlib.sha256).hexdigest()
    const FIRST_HEX: &str = "0f06c232d18bc676bfacfc5240a2cfe4559e99421aacd50637b2ba2c7262e338";
    const SECOND_HEX: &str = "b72d3d8a50558fd287363a8ea5d026e3ae568d4a42b10e5ab7f6f6a4ff0dbd72";

    fn first() -> Secret<String> {
        Secret::new("whsec_test_secret_0123456789".to_owned())
    }

    fn second() -> Secret<String> {
        Secret::new("whsec_rotated_secret_abcdef".to_owned())
    }

    fn check(header: &str, body: &[u8], secrets: &[&Secret<String>], now: i64) -> Result<(), &'static str> {
        verify(header, body, secrets, now, TOLERANCE_SECONDS).map_err(SignatureRefused::code)
    }

    #[test]
    fn a_signature_matches_an_independently_computed_vector() {
        assert_eq!(sign(BODY, T, &[&first()]), format!("t={T},v1={FIRST_HEX}"));
    }

    #[test]
    fn while_rotating_there_is_one_v1_per_secret_and_either_secret_verifies() {
        let header = sign(BODY, T, &[&first(), &second()]);
        assert_eq!(header, format!("t={T},v1={FIRST_HEX},v1={SECOND_HEX}"));
        assert_eq!(check(&header, BODY, &[&first()], T), Ok(()));
        assert_eq!(check(&header, BODY, &[&second()], T), Ok(()));
        assert_eq!(check(&header, BODY, &[&Secret::new("whsec_other".to_owned()), &second()], T), Ok(()));
    }

    #[test]
    fn a_tampered_body_or_a_wrong_secret_is_refused() {
        let header = sign(BODY, T, &[&first()]);
        let tampered = br#"{"id":"evt_2","object":"event"}"#;
        assert_eq!(check(&header, tampered, &[&first()], T), Err("signature_mismatch"));
        assert_eq!(check(&header, BODY, &[&second()], T), Err("signature_mismatch"));
        assert_eq!(check(&header, BODY, &[], T), Err("signature_mismatch"));
        // The timestamp is signed too: moving it breaks the signature.
        let moved = header.replace(&format!("t={T}"), &format!("t={}", T + 1));
        assert_eq!(check(&moved, BODY, &[&first()], T), Err("signature_mismatch"));
    }

    #[test]
    fn a_signature_outside_the_tolerance_is_refused_in_either_direction() {
        let header = sign(BODY, T, &[&first()]);
        let tolerance = i64::try_from(TOLERANCE_SECONDS).expect("small");
        assert_eq!(check(&header, BODY, &[&first()], T + tolerance), Ok(()));
        assert_eq!(check(&header, BODY, &[&first()], T - tolerance), Ok(()));
        assert_eq!(check(&header, BODY, &[&first()], T + tolerance + 1), Err("signature_outside_tolerance"));
        assert_eq!(check(&header, BODY, &[&first()], T - tolerance - 1), Err("signature_outside_tolerance"));
        assert_eq!(check(&header, BODY, &[&first()], i64::MIN), Err("signature_outside_tolerance"));
    }

    #[test]
    fn malformed_headers_are_refused() {
        let good = format!("v1={FIRST_HEX}");
        for header in [
            String::new(),
            "t=1700000000".to_owned(),
            good.clone(),
            format!("t=,{good}"),
            format!("t=-5,{good}"),
            format!("t=+1700000000,{good}"),
            format!("t=abc,{good}"),
            format!("t=99999999999999999999,{good}"),
            format!("t={T},t={T},{good}"),
            format!("t={T};{good}"),
            format!("t={T},{good},garbage"),
            format!("t={T},v1=zz"),
            format!("t={T},{}", [good.as_str(); SIGNATURES_MAX + 1].join(",")),
            format!("t={T},{good},x={}", "a".repeat(HEADER_BYTES_MAX)),
        ] {
            assert_eq!(check(&header, BODY, &[&first()], T), Err("signature_malformed"), "{header}");
        }
    }

    #[test]
    fn unknown_schemes_and_odd_v1_values_beside_a_good_one_are_ignored() {
        let upper = FIRST_HEX.to_uppercase();
        let header = format!("t={T},v0=abc,v1=not-hex,v1={upper},v1={FIRST_HEX}");
        assert_eq!(check(&header, BODY, &[&first()], T), Ok(()));
        // Uppercase hex is not what a signer writes: alone, the header has no usable v1.
        assert_eq!(check(&format!("t={T},v1={upper}"), BODY, &[&first()], T), Err("signature_malformed"));
    }

    #[test]
    fn new_secrets_are_prefixed_random_and_never_printed() {
        let (a, b) = (new_webhook_secret(), new_webhook_secret());
        assert_ne!(a, b);
        let text = a.expose();
        assert!(text.starts_with("whsec_") && text.len() == 6 + 64, "{}", text.len());
        assert!(text[6..].bytes().all(|c| c.is_ascii_hexdigit()));
        assert!(!format!("{a:?}").contains(&text[6..]));
    }

    #[test]
    fn delivery_headers_carry_the_event_id_agent_and_a_fresh_signature() {
        let headers = delivery_headers("evt_1", BODY, T, &[&first()]);
        let value = |name: &str| headers.iter().find(|(n, _)| *n == name).map(|(_, v)| v.as_str());
        assert_eq!(value(EVENT_ID_HEADER), Some("evt_1"));
        assert_eq!(value("User-Agent"), Some(USER_AGENT));
        assert!(USER_AGENT.starts_with("Payrail/"));
        assert_eq!(value(SIGNATURE_HEADER), Some(format!("t={T},v1={FIRST_HEX}").as_str()));
    }
}
