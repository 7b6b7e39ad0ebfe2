//! `POST /v1/authorizations` and `GET /v1/authorizations/{reference}`: every test card,
//! replays, reference conflicts and the memory limit.

use payrail_sandbox::card_network::{
    APPROVED_CARD, ASYNCHRONOUS_REFUND_CARD, CHALLENGE_CARD, DECLINED_CARDS, PROCESSING_ERROR_CARD,
};
use serde_json::json;

use crate::helpers::{Network, PUBLIC_BASE_URL, authorization_body};

#[tokio::test]
async fn the_approved_card_with_capture_is_captured_in_full() {
    let network = Network::start();
    let response = network.authorize("att_approved", APPROVED_CARD, true).await;
    let object = response.assert_ok();
    assert_eq!(object["reference"], "att_approved");
    assert_eq!(object["status"], "captured");
    assert_eq!(object["amount_minor"], 1000);
    assert_eq!(object["amount_captured_minor"], 1000);
    assert_eq!(object["amount_refunded_minor"], 0);
    assert_eq!(object["currency"], "USD");
    assert!(object["network_transaction_id"].as_str().unwrap().starts_with("ntx_"));
    for absent in ["decline_code", "challenge_url"] {
        assert!(!object.as_object().unwrap().contains_key(absent), "{absent} in {object}");
    }
}

#[tokio::test]
async fn the_approved_card_without_capture_is_only_authorized() {
    let network = Network::start();
    let object = network.authorize("att_hold", APPROVED_CARD, false).await.assert_ok().clone();
    assert_eq!(object["status"], "authorized");
    assert_eq!(object["amount_captured_minor"], 0);
    assert!(object["network_transaction_id"].is_string());
    assert_eq!(network.get("/v1/authorizations/att_hold").await.assert_ok(), &object);
}

#[tokio::test]
async fn each_declining_test_card_is_declined_with_its_code_and_remembered() {
    let network = Network::start();
    for (index, (card, decline_code)) in DECLINED_CARDS.iter().enumerate() {
        let reference = format!("att_declined_{index}");
        let object = network.authorize(&reference, card, true).await.assert_ok().clone();
        assert_eq!(object["status"], "declined", "{card}");
        assert_eq!(object["decline_code"], *decline_code, "{card}");
        assert_eq!(object["amount_captured_minor"], 0, "{card}");
        assert!(object.get("network_transaction_id").is_none(), "{card}: {object}");
        let stored = network.get(&format!("/v1/authorizations/{reference}")).await;
        assert_eq!(stored.assert_ok(), &object);
    }
}

#[tokio::test]
async fn the_processing_error_card_fails_with_503_every_time_and_stores_nothing() {
    let network = Network::start();
    for _ in 0..2 {
        let response = network.authorize("att_flaky", PROCESSING_ERROR_CARD, true).await;
        response.assert_error(503, "processing_error");
        network.get("/v1/authorizations/att_flaky").await.assert_error(404, "not_found");
    }
    // Nothing was stored, so the reference is still free for a different request.
    network.authorize("att_flaky", APPROVED_CARD, true).await.assert_ok();
}

#[tokio::test]
async fn the_challenge_card_requires_a_challenge_at_an_absolute_url() {
    let network = Network::start();
    let object = network.authorize("att_3ds", CHALLENGE_CARD, true).await.assert_ok().clone();
    assert_eq!(object["status"], "requires_challenge");
    assert_eq!(object["challenge_url"], format!("{PUBLIC_BASE_URL}/3ds/att_3ds"));
    assert_eq!(object["amount_captured_minor"], 0);
    assert!(object.get("network_transaction_id").is_none());
}

#[tokio::test]
async fn any_other_luhn_valid_card_is_approved() {
    let network = Network::start();
    for (index, card) in ["5555555555554444", "378282246310005", ASYNCHRONOUS_REFUND_CARD].iter().enumerate() {
        let response = network.authorize(&format!("att_other_{index}"), card, true).await;
        assert_eq!(response.assert_ok()["status"], "captured", "{card}");
    }
}

#[tokio::test]
async fn a_card_past_its_expiry_month_is_declined_as_expired() {
    let network = Network::start();
    // The clock reads May 2026: April 2026 has passed, May 2026 has not.
    let mut body = authorization_body("att_old", APPROVED_CARD, true);
    body["card"]["exp_year"] = json!(2026);
    body["card"]["exp_month"] = json!(4);
    let object = network.post("/v1/authorizations", body.clone()).await.assert_ok().clone();
    assert_eq!((object["status"].as_str(), object["decline_code"].as_str()), (Some("declined"), Some("expired_card")));
    body["reference"] = json!("att_current");
    body["card"]["exp_month"] = json!(5);
    assert_eq!(network.post("/v1/authorizations", body).await.assert_ok()["status"], "captured");
}

#[tokio::test]
async fn sending_the_same_authorization_again_returns_the_stored_object_and_charges_nothing_more() {
    let network = Network::start();
    let first = network.authorize("att_retry", APPROVED_CARD, true).await.assert_ok().clone();
    let second = network.authorize("att_retry", APPROVED_CARD, true).await.assert_ok().clone();
    assert_eq!(first, second);
    let declined = network.authorize("att_retry_declined", DECLINED_CARDS[0].0, true).await.assert_ok().clone();
    assert_eq!(network.authorize("att_retry_declined", DECLINED_CARDS[0].0, true).await.assert_ok(), &declined);
    // A new reference is a new charge, with its own transaction id.
    let other = network.authorize("att_other", APPROVED_CARD, true).await.assert_ok().clone();
    assert_ne!(other["network_transaction_id"], first["network_transaction_id"]);
}

#[tokio::test]
async fn reusing_a_reference_for_a_different_request_is_a_conflict() {
    let network = Network::start();
    let original = network.authorize("att_reused", APPROVED_CARD, true).await.assert_ok().clone();
    let mut changes = Vec::new();
    for (field, value) in [
        ("/amount_minor", json!(1001)),
        ("/currency", json!("EUR")),
        ("/capture", json!(false)),
        ("/card/number", json!("5555555555554444")),
        ("/card/exp_year", json!(2031)),
        ("/card/cvc", json!("124")),
        ("/return_url", json!("https://shop.test/elsewhere")),
    ] {
        let mut body = authorization_body("att_reused", APPROVED_CARD, true);
        *body.pointer_mut(field).unwrap() = value;
        changes.push((field, body));
    }
    for (field, body) in changes {
        let response = network.post("/v1/authorizations", body).await;
        assert_eq!(response.status, 409, "{field}: {}", response.text);
        response.assert_error(409, "reference_conflict");
    }
    assert_eq!(network.get("/v1/authorizations/att_reused").await.assert_ok(), &original);
}

#[tokio::test]
async fn an_unknown_reference_is_not_found() {
    let network = Network::start();
    network.get("/v1/authorizations/att_nothing").await.assert_error(404, "not_found");
    network.get("/v1/authorizations/not%20a%20reference").await.assert_error(404, "not_found");
}

#[tokio::test]
async fn beyond_the_object_limit_new_authorizations_are_refused_but_replays_still_answer() {
    let network = Network::start_with_objects_max(2);
    let first = network.authorize("att_1", APPROVED_CARD, true).await.assert_ok().clone();
    network.authorize("att_2", DECLINED_CARDS[1].0, true).await.assert_ok();
    network.authorize("att_3", APPROVED_CARD, true).await.assert_error(503, "capacity_exceeded");
    network.get("/v1/authorizations/att_3").await.assert_error(404, "not_found");
    assert_eq!(network.authorize("att_1", APPROVED_CARD, true).await.assert_ok(), &first);
}
