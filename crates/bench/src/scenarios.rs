//! What a run measures, in the order it runs: card payments created and confirmed in one
//! request (the headline: every durable write and the card network round trip a real
//! checkout makes), then an authenticated read, then the HTTP layer alone.

use crate::load::Scenario;

/// The route payments are created on.
pub const PAYMENTS_PATH: &str = "/v1/payments";
/// What a created-and-confirmed payment's response must contain; any other response is an error.
pub const PAYMENT_SUCCEEDED: &str = r#""status":"succeeded""#;

/// `POST /v1/payments` with `confirm: true` and the sandbox's always-approved test card.
pub fn create_and_confirm_payments(api_key: &str) -> Scenario {
    Scenario {
        title: "POST /v1/payments, confirmed with a card (write the payment, vault the card, commit the attempt, \
                call the card network over HTTP, commit the result with its ledger entry and events)",
        unit: "payments",
        path: PAYMENTS_PATH,
        api_key: Some(api_key.to_owned()),
        body: Some(task_payment_body),
        expected_in_body: Some(PAYMENT_SUCCEEDED),
    }
}

/// What a confirmed `alipay_qr` payment's response must contain.
pub const PAYMENT_WAITS_FOR_PAYER: &str = r#""status":"requires_action""#;

/// `POST /v1/payments` with `confirm: true` and `alipay_qr`: the payment and its attempt
/// committed, `alipay.trade.precreate` signed, sent to the Alipay simulator over HTTP,
/// checked and answered signed there, the answer's signature checked, the QR code committed.
pub fn create_alipay_qr_payments(api_key: &str) -> Scenario {
    Scenario {
        title: "POST /v1/payments, confirmed with alipay_qr (commit the payment and attempt, RSA2-signed \
                alipay.trade.precreate to the Alipay simulator over HTTP, verify its signed answer, commit the QR code)",
        unit: "payments",
        path: PAYMENTS_PATH,
        api_key: Some(api_key.to_owned()),
        body: Some(alipay_qr_body),
        expected_in_body: Some(PAYMENT_WAITS_FOR_PAYER),
    }
}

fn alipay_qr_body(task: u16, sequence: u64) -> String {
    format!(
        r#"{{"amount":1230,"currency":"cny","merchant_order_no":"qr-{task}-{sequence}","confirm":true,"payment_method":{{"type":"alipay_qr"}}}}"#
    )
}

/// The scenarios after the payments, which write nothing.
pub fn reads(api_key: &str) -> [Scenario; 2] {
    [
        Scenario {
            title: "GET /v1/account (API key authenticated, one indexed database read per request)",
            unit: "requests",
            path: "/v1/account",
            api_key: Some(api_key.to_owned()),
            body: None,
            expected_in_body: None,
        },
        Scenario {
            title: "GET /healthz (no auth, no database: the HTTP layer's ceiling)",
            unit: "requests",
            path: "/healthz",
            api_key: None,
            body: None,
            expected_in_body: None,
        },
    ]
}

/// A payment of 10.00 USD (1000 minor units) whose order number is unique per task and
/// request, as the store requires per merchant.
fn task_payment_body(task: u16, sequence: u64) -> String {
    payment_body(&format!("bench-{task}-{sequence}"))
}

/// A confirmed payment of 10.00 USD with the approved test card under `order_no`.
pub fn payment_body(order_no: &str) -> String {
    format!(r#"{{"amount":1000,"currency":"usd","merchant_order_no":"{order_no}","confirm":true,{PAYMENT_METHOD}}}"#)
}

/// The sandbox's always-approved test card; not a real card.
const PAYMENT_METHOD: &str = r#""payment_method":{"type":"card","card":{"number":"4242424242424242","exp_month":12,"exp_year":2030,"cvc":"123"}}"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payment_bodies_differ_only_in_their_order_number() {
        let expected = r#"{"amount":1000,"currency":"usd","merchant_order_no":"bench-3-17","confirm":true,"payment_method":{"type":"card","card":{"number":"4242424242424242","exp_month":12,"exp_year":2030,"cvc":"123"}}}"#;
        assert_eq!(task_payment_body(3, 17), expected);
        assert_ne!(task_payment_body(3, 17), task_payment_body(31, 7));
        assert_ne!(task_payment_body(1, 0), task_payment_body(0, 1));
    }

    #[test]
    fn the_payment_card_is_the_sandbox_card_that_is_always_approved() {
        assert!(task_payment_body(0, 0).contains(payrail_sandbox::card_network::APPROVED_CARD));
    }
}
