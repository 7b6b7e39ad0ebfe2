//! After an approval: capture, void and refunds through the channel, including a refund
//! the network settles later.

use payrail_channels::ChannelError;
use payrail_channels::card_network::{AuthorizationOutcome, RefundRequest, RefundStatus};
use payrail_sandbox::card_network::{APPROVED_CARD, ASYNCHRONOUS_REFUND_CARD};

use crate::helpers::{Simulator, authorize_request, refund_id};

fn is_rejected_with(error: &ChannelError, expected_status: u16, expected_code: &str) -> bool {
    matches!(error, ChannelError::Rejected { status, code, .. } if *status == expected_status && code == expected_code)
}

#[tokio::test]
async fn a_held_authorization_is_captured_in_part_and_the_capture_can_be_repeated() {
    let simulator = Simulator::start().await;
    let client = simulator.client();
    let request = authorize_request(APPROVED_CARD, false);
    client.authorize(&request).await.unwrap();
    let captured = client.capture(&request.reference, 2000).await.unwrap();
    assert!(matches!(captured.outcome, AuthorizationOutcome::Approved { captured: true, .. }));
    assert_eq!(captured.amount_captured_minor, 2000);
    assert_eq!(client.capture(&request.reference, 2000).await.unwrap(), captured);
    let error = client.capture(&request.reference, 2500).await.unwrap_err();
    assert!(is_rejected_with(&error, 409, "invalid_state"), "{error:?}");
}

#[tokio::test]
async fn capturing_more_than_was_authorized_is_rejected() {
    let simulator = Simulator::start().await;
    let client = simulator.client();
    let request = authorize_request(APPROVED_CARD, false);
    client.authorize(&request).await.unwrap();
    let error = client.capture(&request.reference, 2501).await.unwrap_err();
    assert!(is_rejected_with(&error, 400, "amount_too_large"), "{error:?}");
}

#[tokio::test]
async fn a_held_authorization_is_voided_once_and_cannot_be_captured_afterwards() {
    let simulator = Simulator::start().await;
    let client = simulator.client();
    let request = authorize_request(APPROVED_CARD, false);
    client.authorize(&request).await.unwrap();
    let voided = client.void(&request.reference).await.unwrap();
    assert_eq!(voided.outcome, AuthorizationOutcome::Voided);
    assert_eq!(client.void(&request.reference).await.unwrap(), voided);
    let error = client.capture(&request.reference, 100).await.unwrap_err();
    assert!(is_rejected_with(&error, 409, "invalid_state"), "{error:?}");
    let captured = authorize_request(APPROVED_CARD, true);
    client.authorize(&captured).await.unwrap();
    assert!(is_rejected_with(&client.void(&captured.reference).await.unwrap_err(), 409, "invalid_state"));
}

#[tokio::test]
async fn refunds_succeed_up_to_the_captured_amount_and_replays_return_the_same_refund() {
    let simulator = Simulator::start().await;
    let client = simulator.client();
    let authorization = authorize_request(APPROVED_CARD, true);
    client.authorize(&authorization).await.unwrap();
    let first = RefundRequest {
        reference: refund_id(),
        authorization_reference: authorization.reference.clone(),
        amount_minor: 1500,
    };
    let refund = client.refund(&first).await.unwrap();
    assert_eq!(refund.status, RefundStatus::Succeeded);
    assert_eq!((refund.reference.clone(), refund.amount_minor), (first.reference.clone(), 1500));
    assert_eq!(client.refund(&first).await.unwrap(), refund);
    assert_eq!(client.get_refund(&first.reference).await.unwrap(), Some(refund));
    let too_much = RefundRequest { reference: refund_id(), amount_minor: 1001, ..first.clone() };
    assert!(is_rejected_with(&client.refund(&too_much).await.unwrap_err(), 400, "amount_too_large"));
    let rest = RefundRequest { reference: refund_id(), amount_minor: 1000, ..first };
    assert_eq!(client.refund(&rest).await.unwrap().status, RefundStatus::Succeeded);
    let after = client.get_authorization(&authorization.reference).await.unwrap().unwrap();
    assert_eq!(after.amount_refunded_minor, 2500);
    assert_eq!(client.get_refund(&refund_id()).await.unwrap(), None);
}

#[tokio::test]
async fn a_refund_of_the_asynchronous_card_is_pending_until_the_network_settles_it() {
    let simulator = Simulator::start().await;
    let client = simulator.client();
    let authorization = authorize_request(ASYNCHRONOUS_REFUND_CARD, true);
    client.authorize(&authorization).await.unwrap();
    let request = RefundRequest {
        reference: refund_id(),
        authorization_reference: authorization.reference.clone(),
        amount_minor: 2500,
    };
    assert_eq!(client.refund(&request).await.unwrap().status, RefundStatus::Pending);
    assert_eq!(client.get_refund(&request.reference).await.unwrap().unwrap().status, RefundStatus::Pending);
    simulator.settle_refund(&request.reference, "succeeded").await;
    assert_eq!(client.get_refund(&request.reference).await.unwrap().unwrap().status, RefundStatus::Succeeded);
    let after = client.get_authorization(&authorization.reference).await.unwrap().unwrap();
    assert_eq!(after.amount_refunded_minor, 2500);
}

#[tokio::test]
async fn a_failed_asynchronous_refund_carries_its_failure_code() {
    let simulator = Simulator::start().await;
    let client = simulator.client();
    let authorization = authorize_request(ASYNCHRONOUS_REFUND_CARD, true);
    client.authorize(&authorization).await.unwrap();
    let request = RefundRequest {
        reference: refund_id(),
        authorization_reference: authorization.reference.clone(),
        amount_minor: 500,
    };
    client.refund(&request).await.unwrap();
    simulator.settle_refund(&request.reference, "failed").await;
    let refund = client.get_refund(&request.reference).await.unwrap().unwrap();
    assert_eq!(refund.status, RefundStatus::Failed { failure_code: "declined".to_owned() });
}
