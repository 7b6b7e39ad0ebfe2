//! After authorization: capture, void, refunds (synchronous and asynchronous) and the
//! rules that bound them.

use payrail_sandbox::card_network::{APPROVED_CARD, ASYNCHRONOUS_REFUND_CARD, CHALLENGE_CARD, DECLINED_CARDS};
use serde_json::json;

use crate::helpers::Network;

async fn capture(network: &Network, reference: &str, amount_minor: i64) -> crate::helpers::TestResponse {
    network.post(&format!("/v1/authorizations/{reference}/capture"), json!({"amount_minor": amount_minor})).await
}

async fn void(network: &Network, reference: &str) -> crate::helpers::TestResponse {
    network.post(&format!("/v1/authorizations/{reference}/void"), json!({})).await
}

async fn settle(network: &Network, reference: &str, outcome: &str) -> crate::helpers::TestResponse {
    let path = format!("/control/refunds/{reference}/settle");
    network.call(axum::http::Method::POST, &path, None, json!({"outcome": outcome}).to_string()).await
}

#[tokio::test]
async fn a_partial_capture_captures_that_amount_and_repeating_it_changes_nothing() {
    let network = Network::start();
    network.authorize("att_cap", APPROVED_CARD, false).await.assert_ok();
    let captured = capture(&network, "att_cap", 600).await.assert_ok().clone();
    assert_eq!(captured["status"], "captured");
    assert_eq!(captured["amount_captured_minor"], 600);
    assert_eq!(captured["amount_minor"], 1000);
    assert_eq!(capture(&network, "att_cap", 600).await.assert_ok(), &captured);
    capture(&network, "att_cap", 700).await.assert_error(409, "invalid_state");
    capture(&network, "att_cap", 1000).await.assert_error(409, "invalid_state");
}

#[tokio::test]
async fn capture_amounts_must_be_between_one_and_the_authorized_amount() {
    let network = Network::start();
    network.authorize("att_bounds", APPROVED_CARD, false).await.assert_ok();
    capture(&network, "att_bounds", 1001).await.assert_error(400, "amount_too_large");
    let error = capture(&network, "att_bounds", 0).await.assert_error(400, "invalid_request").clone();
    assert_eq!(error["field"], "amount_minor");
    let response = network.post("/v1/authorizations/att_bounds/capture", json!({})).await;
    assert_eq!(response.assert_error(400, "invalid_request")["field"], "amount_minor");
    assert_eq!(capture(&network, "att_bounds", 1000).await.assert_ok()["amount_captured_minor"], 1000);
}

#[tokio::test]
async fn only_an_authorized_authorization_can_be_captured() {
    let network = Network::start();
    network.authorize("att_auto", APPROVED_CARD, true).await.assert_ok();
    assert_eq!(capture(&network, "att_auto", 1000).await.assert_ok()["status"], "captured");
    capture(&network, "att_auto", 500).await.assert_error(409, "invalid_state");
    network.authorize("att_declined", DECLINED_CARDS[0].0, false).await.assert_ok();
    capture(&network, "att_declined", 1000).await.assert_error(409, "invalid_state");
    network.authorize("att_challenged", CHALLENGE_CARD, false).await.assert_ok();
    capture(&network, "att_challenged", 1000).await.assert_error(409, "invalid_state");
    capture(&network, "att_missing", 1000).await.assert_error(404, "not_found");
}

#[tokio::test]
async fn voiding_releases_an_authorization_once_and_repeating_it_changes_nothing() {
    let network = Network::start();
    network.authorize("att_void", APPROVED_CARD, false).await.assert_ok();
    let voided = void(&network, "att_void").await.assert_ok().clone();
    assert_eq!(voided["status"], "voided");
    assert_eq!(voided["amount_captured_minor"], 0);
    assert_eq!(void(&network, "att_void").await.assert_ok(), &voided);
    capture(&network, "att_void", 1000).await.assert_error(409, "invalid_state");
    network.authorize("att_void_3ds", CHALLENGE_CARD, true).await.assert_ok();
    let voided = void(&network, "att_void_3ds").await.assert_ok().clone();
    assert_eq!(voided["status"], "voided");
    assert!(voided.get("challenge_url").is_none(), "{voided}");
}

#[tokio::test]
async fn captured_and_declined_authorizations_cannot_be_voided() {
    let network = Network::start();
    network.authorize("att_done", APPROVED_CARD, true).await.assert_ok();
    void(&network, "att_done").await.assert_error(409, "invalid_state");
    network.authorize("att_no", DECLINED_CARDS[2].0, false).await.assert_ok();
    void(&network, "att_no").await.assert_error(409, "invalid_state");
    void(&network, "att_missing").await.assert_error(404, "not_found");
}

#[tokio::test]
async fn refunds_succeed_at_once_up_to_the_captured_amount_and_never_beyond() {
    let network = Network::start();
    network.captured("att_ref", APPROVED_CARD, 1000).await;
    let first = network.refund("re_1", "att_ref", 400).await.assert_ok().clone();
    assert_eq!(
        first,
        json!({"reference": "re_1", "authorization_reference": "att_ref", "amount_minor": 400, "status": "succeeded"})
    );
    network.refund("re_2", "att_ref", 601).await.assert_error(400, "amount_too_large");
    network.get("/v1/refunds/re_2").await.assert_error(404, "not_found");
    assert_eq!(network.refund("re_2", "att_ref", 600).await.assert_ok()["status"], "succeeded");
    network.refund("re_3", "att_ref", 1).await.assert_error(400, "amount_too_large");
    let authorization = network.get("/v1/authorizations/att_ref").await.assert_ok().clone();
    assert_eq!(authorization["amount_refunded_minor"], 1000);
    assert_eq!(authorization["status"], "captured");
    assert_eq!(network.get("/v1/refunds/re_1").await.assert_ok(), &first);
}

#[tokio::test]
async fn a_refund_sent_again_returns_the_stored_refund_and_a_different_one_conflicts() {
    let network = Network::start();
    network.captured("att_rr", APPROVED_CARD, 1000).await;
    let refund = network.refund("re_full", "att_rr", 1000).await.assert_ok().clone();
    // The replay is answered from memory, although nothing remains to refund.
    assert_eq!(network.refund("re_full", "att_rr", 1000).await.assert_ok(), &refund);
    network.refund("re_full", "att_rr", 999).await.assert_error(409, "reference_conflict");
    network.captured("att_rr_other", APPROVED_CARD, 1000).await;
    network.refund("re_full", "att_rr_other", 1000).await.assert_error(409, "reference_conflict");
    assert_eq!(network.get("/v1/authorizations/att_rr").await.assert_ok()["amount_refunded_minor"], 1000);
}

#[tokio::test]
async fn only_captured_money_can_be_refunded() {
    let network = Network::start();
    network.authorize("att_partial", APPROVED_CARD, false).await.assert_ok();
    network.refund("re_early", "att_partial", 100).await.assert_error(409, "invalid_state");
    capture(&network, "att_partial", 300).await.assert_ok();
    network.refund("re_over", "att_partial", 301).await.assert_error(400, "amount_too_large");
    network.refund("re_ok", "att_partial", 300).await.assert_ok();
    network.authorize("att_declined", DECLINED_CARDS[0].0, true).await.assert_ok();
    network.refund("re_declined", "att_declined", 100).await.assert_error(409, "invalid_state");
    network.refund("re_nowhere", "att_missing", 100).await.assert_error(404, "not_found");
    let error = network.refund("re_zero", "att_partial", 0).await.assert_error(400, "invalid_request").clone();
    assert_eq!(error["field"], "amount_minor");
    network.get("/v1/refunds/re_missing").await.assert_error(404, "not_found");
}

#[tokio::test]
async fn refunds_of_the_asynchronous_card_stay_pending_until_settled_and_hold_their_amount() {
    let network = Network::start();
    network.captured("att_async", ASYNCHRONOUS_REFUND_CARD, 1000).await;
    let pending = network.refund("re_a", "att_async", 700).await.assert_ok().clone();
    assert_eq!(pending["status"], "pending");
    assert_eq!(network.get("/v1/authorizations/att_async").await.assert_ok()["amount_refunded_minor"], 0);
    // A pending refund holds its amount: only 300 remain.
    network.refund("re_b", "att_async", 301).await.assert_error(400, "amount_too_large");
    let settled = settle(&network, "re_a", "succeeded").await.assert_ok().clone();
    assert_eq!(settled["status"], "succeeded");
    assert_eq!(network.get("/v1/refunds/re_a").await.assert_ok(), &settled);
    assert_eq!(network.get("/v1/authorizations/att_async").await.assert_ok()["amount_refunded_minor"], 700);
    assert_eq!(settle(&network, "re_a", "succeeded").await.assert_ok(), &settled);
    settle(&network, "re_a", "failed").await.assert_error(409, "invalid_state");
}

#[tokio::test]
async fn a_failed_asynchronous_refund_carries_a_code_and_releases_its_amount() {
    let network = Network::start();
    network.captured("att_async_fail", ASYNCHRONOUS_REFUND_CARD, 1000).await;
    network.refund("re_fail", "att_async_fail", 1000).await.assert_ok();
    let failed = settle(&network, "re_fail", "failed").await.assert_ok().clone();
    assert_eq!((failed["status"].as_str(), failed["failure_code"].as_str()), (Some("failed"), Some("declined")));
    assert_eq!(settle(&network, "re_fail", "failed").await.assert_ok(), &failed);
    settle(&network, "re_fail", "succeeded").await.assert_error(409, "invalid_state");
    assert_eq!(network.get("/v1/authorizations/att_async_fail").await.assert_ok()["amount_refunded_minor"], 0);
    assert_eq!(network.refund("re_again", "att_async_fail", 1000).await.assert_ok()["status"], "pending");
}

#[tokio::test]
async fn the_settle_control_checks_its_input_and_leaves_synchronous_refunds_alone() {
    let network = Network::start();
    network.captured("att_sync", APPROVED_CARD, 1000).await;
    network.refund("re_sync", "att_sync", 100).await.assert_ok();
    assert_eq!(settle(&network, "re_sync", "succeeded").await.assert_ok()["status"], "succeeded");
    settle(&network, "re_sync", "failed").await.assert_error(409, "invalid_state");
    assert_eq!(settle(&network, "re_sync", "maybe").await.assert_error(400, "invalid_request")["field"], "outcome");
    settle(&network, "re_missing", "succeeded").await.assert_error(404, "not_found");
}
