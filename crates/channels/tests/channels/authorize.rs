//! Authorizing through the channel: each test card's outcome as the service sees it,
//! replays, conflicts, and the 3-D Secure challenge completed over HTTP.

use payrail_channels::ChannelError;
use payrail_channels::card_network::{AuthorizationOutcome, CardNetworkClient, DeclineCode};
use payrail_domain::Secret;
use payrail_sandbox::card_network::{
    APPROVED_CARD, ASYNCHRONOUS_REFUND_CARD, CHALLENGE_CARD, DECLINED_CARDS, PROCESSING_ERROR_CARD,
};

use crate::helpers::{RETURN_URL, Simulator, TIMEOUT_MS, attempt_id, authorize_request, browser};

#[tokio::test]
async fn the_approved_card_is_captured_or_held_as_asked() {
    let simulator = Simulator::start().await;
    let client = simulator.client();
    for capture in [true, false] {
        let request = authorize_request(APPROVED_CARD, capture);
        let authorization = client.authorize(&request).await.unwrap();
        assert_eq!(authorization.reference, request.reference);
        assert_eq!(authorization.amount, request.amount);
        let AuthorizationOutcome::Approved { captured, network_transaction_id } = &authorization.outcome else {
            panic!("not approved: {authorization:?}");
        };
        assert_eq!(*captured, capture);
        assert!(!network_transaction_id.is_empty());
        assert_eq!(authorization.amount_captured_minor, if capture { 2500 } else { 0 });
        assert_eq!(client.get_authorization(&request.reference).await.unwrap(), Some(authorization));
    }
}

#[tokio::test]
async fn each_declining_card_comes_back_as_a_declined_outcome_with_its_code() {
    let simulator = Simulator::start().await;
    let client = simulator.client();
    let expected = [
        DeclineCode::GenericDecline,
        DeclineCode::InsufficientFunds,
        DeclineCode::LostCard,
        DeclineCode::StolenCard,
        DeclineCode::ExpiredCard,
        DeclineCode::IncorrectCvc,
    ];
    for ((card, code), decline_code) in DECLINED_CARDS.iter().zip(expected) {
        assert_eq!(decline_code.as_str(), *code);
        let authorization = client.authorize(&authorize_request(card, true)).await.unwrap();
        assert_eq!(authorization.outcome, AuthorizationOutcome::Declined { decline_code }, "{card}");
    }
}

#[tokio::test]
async fn the_processing_error_card_is_transient_and_leaves_nothing_behind() {
    let simulator = Simulator::start().await;
    let client = simulator.client();
    let request = authorize_request(PROCESSING_ERROR_CARD, true);
    let error = client.authorize(&request).await.unwrap_err();
    assert_eq!(error, ChannelError::Transient { code: "processing_error".to_owned() });
    assert!(error.is_transient() && !error.outcome_is_unknown());
    assert_eq!(client.get_authorization(&request.reference).await.unwrap(), None);
}

#[tokio::test]
async fn other_valid_cards_are_approved() {
    let simulator = Simulator::start().await;
    let client = simulator.client();
    for card in ["5555555555554444", ASYNCHRONOUS_REFUND_CARD] {
        let authorization = client.authorize(&authorize_request(card, true)).await.unwrap();
        assert!(matches!(authorization.outcome, AuthorizationOutcome::Approved { captured: true, .. }), "{card}");
    }
}

#[tokio::test]
async fn the_same_attempt_sent_twice_is_one_charge_and_a_changed_one_is_rejected() {
    let simulator = Simulator::start().await;
    let client = simulator.client();
    let request = authorize_request(APPROVED_CARD, true);
    let first = client.authorize(&request).await.unwrap();
    assert_eq!(client.authorize(&request).await.unwrap(), first);
    let mut changed = request.clone();
    changed.amount = payrail_domain::Money::new(2600, request.amount.currency());
    let error = client.authorize(&changed).await.unwrap_err();
    assert!(
        matches!(&error, ChannelError::Rejected { status: 409, code, .. } if code == "reference_conflict"),
        "{error:?}"
    );
    assert!(!error.is_transient());
}

#[tokio::test]
async fn the_challenge_card_is_approved_after_the_cardholder_completes_the_challenge() {
    let simulator = Simulator::start().await;
    let client = simulator.client();
    let request = authorize_request(CHALLENGE_CARD, true);
    let authorization = client.authorize(&request).await.unwrap();
    let AuthorizationOutcome::RequiresChallenge { challenge_url } = authorization.outcome else {
        panic!("no challenge: {authorization:?}");
    };
    assert_eq!(challenge_url, format!("{}/3ds/{}", simulator.base_url, request.reference));
    let page = browser().get(&challenge_url).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("25.00 EUR"));
    let answer = browser().post(format!("{challenge_url}/complete")).send().await.unwrap();
    assert_eq!(answer.status(), 303);
    assert_eq!(answer.headers()["location"], RETURN_URL);
    let after = client.get_authorization(&request.reference).await.unwrap().unwrap();
    assert!(matches!(after.outcome, AuthorizationOutcome::Approved { captured: true, .. }), "{after:?}");
}

#[tokio::test]
async fn a_failed_challenge_is_declined_as_authentication_failed() {
    let simulator = Simulator::start().await;
    let client = simulator.client();
    let request = authorize_request(CHALLENGE_CARD, false);
    let AuthorizationOutcome::RequiresChallenge { challenge_url } = client.authorize(&request).await.unwrap().outcome
    else {
        panic!("no challenge");
    };
    assert_eq!(browser().post(format!("{challenge_url}/fail")).send().await.unwrap().status(), 303);
    let after = client.get_authorization(&request.reference).await.unwrap().unwrap();
    assert_eq!(after.outcome, AuthorizationOutcome::Declined { decline_code: DeclineCode::AuthenticationFailed });
}

#[tokio::test]
async fn a_wrong_api_key_is_rejected_as_unauthorized() {
    let simulator = Simulator::start().await;
    let client = CardNetworkClient::new(&simulator.base_url, Secret::new("sk_wrong".to_owned()), TIMEOUT_MS).unwrap();
    let error = client.get_authorization(&attempt_id()).await.unwrap_err();
    assert!(matches!(&error, ChannelError::Rejected { status: 401, code, .. } if code == "unauthorized"), "{error:?}");
}

#[tokio::test]
async fn a_base_url_without_the_simulator_is_a_rejection_not_a_missing_object() {
    let simulator = Simulator::start().await;
    let wrong_prefix = simulator.base_url.replace("card-network", "elsewhere");
    let client = crate::helpers::client_for(&wrong_prefix, TIMEOUT_MS);
    let error = client.get_authorization(&attempt_id()).await.unwrap_err();
    assert!(matches!(error, ChannelError::Rejected { status: 404, .. }), "{error:?}");
}
