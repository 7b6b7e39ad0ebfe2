//! Tests of [`verify_notification`], signed by the simulator's own signer so that both ends
//! of the protocol are held to the same definition.

use payrail_domain::{RefundId, Secret, Timestamp};
use payrail_sandbox::card_network::sign_notification;
use reqwest::header::HeaderValue;

use super::*;

const SECRET: &str = "whsec_card_network_test";
const NOW_SECONDS: i64 = 1_780_000_000;
const REFERENCE: &str = "re_01jz0000000000000000000000";

fn now() -> Timestamp {
    Timestamp::from_unix_ms(NOW_SECONDS * 1000).expect("a valid time")
}

fn body(status: &str, failure_code: Option<&str>) -> String {
    serde_json::json!({
        "id": "ntf_0123456789abcdef0123456789abcdef",
        "type": "refund.settled",
        "created": NOW_SECONDS - 10,
        "data": {"reference": REFERENCE, "status": status, "failure_code": failure_code},
    })
    .to_string()
}

fn headers(signature: &str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(NOTIFICATION_SIGNATURE_HEADER, HeaderValue::from_str(signature).expect("a header value"));
    headers
}

/// Verifies `body` signed at `signed_at` under `signed_with`, received at [`now`].
fn check(body: &str, signed_with: &str, signed_at: i64) -> Result<CardNetworkNotification, NotificationRefused> {
    let signature = sign_notification(signed_with, signed_at, body.as_bytes());
    verify_notification(&headers(&signature), body.as_bytes(), &secret(), now(), NOTIFICATION_TOLERANCE_SECONDS)
}

fn secret() -> Secret<String> {
    Secret::new(SECRET.to_owned())
}

fn check_header(header: &str) -> Result<CardNetworkNotification, NotificationRefused> {
    let body = body("succeeded", None);
    verify_notification(&headers(header), body.as_bytes(), &secret(), now(), NOTIFICATION_TOLERANCE_SECONDS)
}

#[test]
fn a_genuine_notification_is_read() {
    let notification = check(&body("succeeded", None), SECRET, NOW_SECONDS).expect("accepted");
    assert_eq!(notification.id, "ntf_0123456789abcdef0123456789abcdef");
    assert_eq!(notification.created_unix_seconds, NOW_SECONDS - 10);
    let reference = RefundId::parse(REFERENCE).expect("a refund id");
    assert_eq!(notification.event, NotificationEvent::RefundSettled { reference, status: RefundStatus::Succeeded });
    assert_eq!(notification.event.type_name(), "refund.settled");
}

#[test]
fn a_failed_settlement_carries_its_failure_code() {
    let notification = check(&body("failed", Some("declined")), SECRET, NOW_SECONDS).expect("accepted");
    let NotificationEvent::RefundSettled { status, .. } = notification.event;
    assert_eq!(status, RefundStatus::Failed { failure_code: "declined".to_owned() });
}

#[test]
fn a_signature_made_with_another_secret_is_refused() {
    assert_eq!(
        check(&body("succeeded", None), "whsec_forged", NOW_SECONDS),
        Err(NotificationRefused::SignatureMismatch)
    );
}

#[test]
fn a_body_changed_after_signing_is_refused() {
    let signed = body("failed", Some("declined"));
    let signature = sign_notification(SECRET, NOW_SECONDS, signed.as_bytes());
    let tampered = signed.replace("failed", "succeeded").replace("\"declined\"", "null");
    let result = verify_notification(
        &headers(&signature),
        tampered.as_bytes(),
        &secret(),
        now(),
        NOTIFICATION_TOLERANCE_SECONDS,
    );
    assert_eq!(result, Err(NotificationRefused::SignatureMismatch));
}

#[test]
fn a_signature_older_than_the_tolerance_is_refused() {
    let tolerance = i64::try_from(NOTIFICATION_TOLERANCE_SECONDS).expect("small");
    let body = body("succeeded", None);
    assert!(check(&body, SECRET, NOW_SECONDS - tolerance).is_ok());
    assert_eq!(check(&body, SECRET, NOW_SECONDS - tolerance - 1), Err(NotificationRefused::TimestampOutsideTolerance));
}

#[test]
fn a_signature_dated_beyond_the_tolerance_ahead_is_refused() {
    let tolerance = i64::try_from(NOTIFICATION_TOLERANCE_SECONDS).expect("small");
    let body = body("succeeded", None);
    assert!(check(&body, SECRET, NOW_SECONDS + tolerance).is_ok());
    assert_eq!(check(&body, SECRET, NOW_SECONDS + tolerance + 1), Err(NotificationRefused::TimestampOutsideTolerance));
}

#[test]
fn a_forged_signature_is_refused_before_its_timestamp_is_looked_at() {
    let result = check(&body("succeeded", None), "whsec_forged", NOW_SECONDS - 3600);
    assert_eq!(result, Err(NotificationRefused::SignatureMismatch));
}

#[test]
fn a_missing_signature_header_is_refused() {
    let body = body("succeeded", None);
    let result =
        verify_notification(&HeaderMap::new(), body.as_bytes(), &secret(), now(), NOTIFICATION_TOLERANCE_SECONDS);
    assert_eq!(result, Err(NotificationRefused::SignatureMissing));
}

#[test]
fn malformed_signature_headers_are_refused() {
    let good = sign_notification(SECRET, NOW_SECONDS, body("succeeded", None).as_bytes());
    let hex = good.split_once(",v1=").expect("a v1").1.to_owned();
    let long = format!("t={NOW_SECONDS},{}", vec![format!("v0={hex}"); 20].join(","));
    for header in [
        String::new(),
        format!("v1={hex}"),
        format!("t={NOW_SECONDS}"),
        format!("t=,v1={hex}"),
        format!("t=-1,v1={hex}"),
        format!("t=+{NOW_SECONDS},v1={hex}"),
        format!("t={NOW_SECONDS},v1={}", &hex[..62]),
        format!("t={NOW_SECONDS},v1={}zz", &hex[..62]),
        format!("t={NOW_SECONDS},t={NOW_SECONDS},v1={hex}"),
        format!("t={NOW_SECONDS},v1={hex},"),
        format!("t={NOW_SECONDS};v1={hex}"),
        long,
    ] {
        assert_eq!(check_header(&header), Err(NotificationRefused::SignatureMalformed), "{header}");
    }
    assert!(check_header(&format!("{good},v0=anything")).is_ok(), "unknown schemes are skipped");
    assert!(check_header(&format!("t={NOW_SECONDS},v1={},v1={hex}", "0".repeat(64))).is_ok(), "any v1 may match");
}

#[test]
fn malformed_bodies_are_refused_even_when_signed() {
    let valid = serde_json::from_str::<serde_json::Value>(&body("succeeded", None)).expect("json");
    let with = |pointer: &str, value: serde_json::Value| {
        let mut changed = valid.clone();
        *changed.pointer_mut(pointer).expect("a field") = value;
        changed.to_string()
    };
    for malformed in [
        "not json".to_owned(),
        "[]".to_owned(),
        "{}".to_owned(),
        with("/id", serde_json::json!("evt_123")),
        with("/id", serde_json::json!(format!("ntf_{}", "a".repeat(80)))),
        with("/created", serde_json::json!("yesterday")),
        with("/data/reference", serde_json::json!("att_01jz0000000000000000000000")),
        with("/data/status", serde_json::json!("pending")),
        with("/data/failure_code", serde_json::json!("declined")),
        with("/data", serde_json::json!({"reference": REFERENCE})),
        body("failed", None),
        body("failed", Some("Declined!")),
    ] {
        assert_eq!(check(&malformed, SECRET, NOW_SECONDS), Err(NotificationRefused::BodyMalformed), "{malformed}");
    }
    let unknown_type = with("/type", serde_json::json!("payment.captured"));
    assert_eq!(check(&unknown_type, SECRET, NOW_SECONDS), Err(NotificationRefused::TypeUnknown));
}
