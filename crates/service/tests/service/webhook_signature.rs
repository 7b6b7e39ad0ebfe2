//! Our webhook signatures checked by a verifier nobody here wrote: the official `stripe`
//! Python package's `stripe.Webhook.construct_event`, run in a child `python3`.
//!
//! The interpreter is `PAYRAIL_TEST_PYTHON` (default `python3`); `.ci/run` points it at a
//! virtualenv with a pinned `stripe`. Without the package these tests fail, saying how to
//! install it, unless `PAYRAIL_TEST_SKIP_STRIPE_PY=1` says to skip them on purpose.

use std::process::Output;

use payrail_domain::{Clock, Secret};
use payrail_service::SystemClock;
use payrail_service::webhook_signature::{TOLERANCE_SECONDS, new_webhook_secret, sign, verify};

/// Verifies the payload on stdin against the header in argv[1] once per secret in
/// argv[2..]; any refusal raises, so the exit status is non-zero.
const EVENT_BODY: &str = r#"{"id":"evt_01jbx7k2n8e4qv0g3m5r6s7t8w","object":"event","type":"payment.succeeded","created":1700000000,"livemode":false,"data":{"object":{"id":"pay_01jbx7k2n8e4qv0g3m5r6s7t8v","object":"payment","amount":12500,"currency":"eur","status":"succeeded","description":"Café crème – commande n°42","metadata":{"order":"42"}}}}"#;

fn python() -> Option<String> {
    payrail_testkit::stripe_python()
}

fn construct_event(python: &str, payload: &[u8], header: &str, secrets: &[&Secret<String>]) -> Output {
    let secrets: Vec<&str> = secrets.iter().map(|secret| secret.expose().as_str()).collect();
    payrail_testkit::construct_event(python, payload, header, &secrets)
}

#[track_caller]
fn assert_accepted(output: &Output) {
    assert!(
        output.status.success() && String::from_utf8_lossy(&output.stdout).contains("accepted"),
        "stripe refused our signature: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Refused for the signature, not for a broken script: the error must be Stripe's.
#[track_caller]
fn assert_refused(output: &Output, reason: &str) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "stripe accepted what it should refuse ({reason})");
    assert!(stderr.contains("SignatureVerificationError") && stderr.contains(reason), "{stderr}");
}

fn now_unix_seconds() -> i64 {
    SystemClock.now().unix_ms() / 1000
}

#[test]
fn stripe_python_accepts_our_signature_and_refuses_a_tampered_payload() {
    let Some(python) = python() else { return };
    let secret = new_webhook_secret();
    let now = now_unix_seconds();
    let header = sign(EVENT_BODY.as_bytes(), now, &[&secret]);
    assert_eq!(verify(&header, EVENT_BODY.as_bytes(), &[&secret], now, TOLERANCE_SECONDS), Ok(()));
    assert_accepted(&construct_event(&python, EVENT_BODY.as_bytes(), &header, &[&secret]));

    let tampered = EVENT_BODY.replace("12500", "12501");
    assert_refused(&construct_event(&python, tampered.as_bytes(), &header, &[&secret]), "No signatures found");
    let stranger = new_webhook_secret();
    assert_refused(&construct_event(&python, EVENT_BODY.as_bytes(), &header, &[&stranger]), "No signatures found");
}

#[test]
fn while_rotating_stripe_python_accepts_the_header_with_either_secret() {
    let Some(python) = python() else { return };
    let (old, new) = (new_webhook_secret(), new_webhook_secret());
    let header = sign(EVENT_BODY.as_bytes(), now_unix_seconds(), &[&old, &new]);
    assert_eq!(header.matches(",v1=").count(), 2, "{header}");
    assert_accepted(&construct_event(&python, EVENT_BODY.as_bytes(), &header, &[&old]));
    assert_accepted(&construct_event(&python, EVENT_BODY.as_bytes(), &header, &[&new]));
    assert_refused(
        &construct_event(&python, EVENT_BODY.as_bytes(), &header, &[&new_webhook_secret()]),
        "No signatures found",
    );
}

#[test]
fn stripe_python_refuses_a_signature_older_than_its_tolerance_as_we_do() {
    let Some(python) = python() else { return };
    let secret = new_webhook_secret();
    // A minute beyond the tolerance, so a slow test machine cannot blur the line.
    let then = now_unix_seconds() - i64::try_from(TOLERANCE_SECONDS).unwrap() - 60;
    let header = sign(EVENT_BODY.as_bytes(), then, &[&secret]);
    assert!(verify(&header, EVENT_BODY.as_bytes(), &[&secret], now_unix_seconds(), TOLERANCE_SECONDS).is_err());
    assert_refused(&construct_event(&python, EVENT_BODY.as_bytes(), &header, &[&secret]), "tolerance");
}
