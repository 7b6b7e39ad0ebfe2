//! Network failures, and what each one tells the caller: a timeout or a broken connection
//! leaves the outcome unknown (found out by querying under the same reference); a refused
//! connection means nothing was sent.

use std::time::Duration;

use axum::extract::Request;
use axum::http::Method;
use axum::middleware::{self, Next};
use axum::response::Response;
use payrail_channels::ChannelError;
use payrail_channels::card_network::AuthorizationOutcome;
use payrail_sandbox::card_network::APPROVED_CARD;
use tokio::io::AsyncReadExt;
use tokio::net::TcpListener;

use crate::helpers::{API_KEY, Simulator, TIMEOUT_MS, authorize_request, client_for};

/// The channel's timeout in these tests, and how long the slow simulator holds answers.
const SHORT_TIMEOUT_MS: u64 = 300;
const ANSWER_DELAY_MS: u64 = 1_500;

/// A test-only layer: POSTs are processed at once, but their answers are held back, as
/// when an acquirer acts and the reply is lost in a slow network.
async fn hold_post_answers(request: Request, next: Next) -> Response {
    let slow = request.method() == Method::POST;
    let response = next.run(request).await;
    if slow {
        tokio::time::sleep(Duration::from_millis(ANSWER_DELAY_MS)).await;
    }
    response
}

#[tokio::test]
async fn a_timeout_is_an_unknown_outcome_resolved_by_querying_with_the_same_reference() {
    let simulator = Simulator::start_with(|router| router.layer(middleware::from_fn(hold_post_answers))).await;
    let impatient = client_for(&simulator.base_url, SHORT_TIMEOUT_MS);
    let request = authorize_request(APPROVED_CARD, true);
    let error = impatient.authorize(&request).await.unwrap_err();
    assert_eq!(error, ChannelError::Timeout);
    assert!(error.outcome_is_unknown() && error.is_transient());
    // The network did act: the query under the same reference says so.
    let found = impatient.get_authorization(&request.reference).await.unwrap().unwrap();
    assert!(matches!(found.outcome, AuthorizationOutcome::Approved { captured: true, .. }), "{found:?}");
    // Sending again under the same reference returns the stored charge; nothing new.
    let patient = client_for(&simulator.base_url, TIMEOUT_MS);
    assert_eq!(patient.authorize(&request).await.unwrap(), found);
}

#[tokio::test]
async fn a_network_that_accepts_but_never_answers_times_out() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base_url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        // Holds each connection open without a word until the test ends.
        let mut held = Vec::new();
        for _ in 0..4 {
            let (socket, _) = listener.accept().await.unwrap();
            held.push(socket);
        }
        tokio::time::sleep(Duration::from_secs(30)).await;
    });
    let client = client_for(&base_url, SHORT_TIMEOUT_MS);
    let error = client.authorize(&authorize_request(APPROVED_CARD, true)).await.unwrap_err();
    assert_eq!(error, ChannelError::Timeout);
}

#[tokio::test]
async fn a_connection_closed_after_the_request_was_sent_is_an_unknown_outcome() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base_url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut request = vec![0; 16 * 1024];
        let read = socket.read(&mut request).await.unwrap();
        assert!(read > 0);
        // Closes without answering, as a crashing acquirer would.
        drop(socket);
    });
    let client = client_for(&base_url, TIMEOUT_MS);
    let error = client.authorize(&authorize_request(APPROVED_CARD, true)).await.unwrap_err();
    assert_eq!(error, ChannelError::ConnectionLost);
    assert!(error.outcome_is_unknown());
}

#[tokio::test]
async fn a_refused_connection_is_transient_and_certainly_not_done() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    drop(listener);
    let client = client_for(&format!("http://{address}"), TIMEOUT_MS);
    let error = client.authorize(&authorize_request(APPROVED_CARD, true)).await.unwrap_err();
    assert_eq!(error, ChannelError::Transient { code: "connection_failed".to_owned() });
    assert!(error.is_transient() && !error.outcome_is_unknown());
}

#[tokio::test]
async fn neither_the_card_nor_the_api_key_appears_in_debug_output_or_errors() {
    let simulator = Simulator::start().await;
    let client = simulator.client();
    let mut request = authorize_request(APPROVED_CARD, true);
    request.card.cvc = payrail_domain::Secret::new("9876".to_owned());
    let printed = format!("{request:?} {client:?}");
    for secret in [APPROVED_CARD, "9876", API_KEY] {
        assert!(!printed.contains(secret), "{secret} in {printed}");
    }
    let mut malformed = request.clone();
    malformed.card.number = payrail_domain::Secret::new("4242424242424241".to_owned());
    let error = client.authorize(&malformed).await.unwrap_err();
    assert!(matches!(&error, ChannelError::Rejected { status: 400, code, .. } if code == "invalid_request"));
    let printed = format!("{error:?} {error}");
    assert!(!printed.contains("424242") && !printed.contains("9876"), "{printed}");
}
