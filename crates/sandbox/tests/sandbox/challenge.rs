//! The 3-D Secure challenge page and its two answers, reached by a browser without an API
//! key and redirecting to the merchant's `return_url`.

use axum::http::Method;
use payrail_sandbox::card_network::{APPROVED_CARD, CHALLENGE_CARD};

use crate::helpers::{Network, PUBLIC_BASE_URL, RETURN_URL, TestResponse};

async fn browser(network: &Network, method: Method, path: &str) -> TestResponse {
    network.call(method, path, None, String::new()).await
}

fn assert_redirect_to_return_url(response: &TestResponse) {
    assert_eq!(response.status, 303, "{}", response.text);
    assert_eq!(response.headers["location"], RETURN_URL);
}

#[tokio::test]
async fn the_page_shows_the_amount_and_posts_to_absolute_urls_without_loading_anything() {
    let network = Network::start();
    network.authorize("att_page", CHALLENGE_CARD, true).await.assert_ok();
    let page = browser(&network, Method::GET, "/3ds/att_page").await;
    assert_eq!(page.status, 200, "{}", page.text);
    assert!(page.headers["content-type"].to_str().unwrap().starts_with("text/html"));
    assert!(page.headers["content-security-policy"].to_str().unwrap().contains("default-src 'none'"));
    assert!(page.text.contains("10.00 USD"), "{}", page.text);
    assert!(page.text.contains("ending 3220"));
    assert!(!page.text.contains(CHALLENGE_CARD), "the full number must not be shown");
    assert!(page.text.contains(&format!("action=\"{PUBLIC_BASE_URL}/3ds/att_page/complete\"")));
    assert!(page.text.contains(&format!("action=\"{PUBLIC_BASE_URL}/3ds/att_page/fail\"")));
    for external in ["<script", "src=", "<link", "@import"] {
        assert!(!page.text.contains(external), "{external}");
    }
}

#[tokio::test]
async fn completing_the_challenge_captures_as_requested_and_returns_to_the_merchant() {
    let network = Network::start();
    network.authorize("att_pass", CHALLENGE_CARD, true).await.assert_ok();
    assert_redirect_to_return_url(&browser(&network, Method::POST, "/3ds/att_pass/complete").await);
    let object = network.get("/v1/authorizations/att_pass").await.assert_ok().clone();
    assert_eq!(object["status"], "captured");
    assert_eq!(object["amount_captured_minor"], 1000);
    assert!(object["network_transaction_id"].is_string());
    assert!(object.get("challenge_url").is_none());
    // A double submit redirects again and changes nothing.
    assert_redirect_to_return_url(&browser(&network, Method::POST, "/3ds/att_pass/complete").await);
    assert_eq!(network.get("/v1/authorizations/att_pass").await.assert_ok(), &object);
    let page = browser(&network, Method::GET, "/3ds/att_pass").await;
    assert_eq!(page.status, 200);
    assert!(page.text.contains("already finished") && !page.text.contains("<form"), "{}", page.text);
}

#[tokio::test]
async fn completing_a_challenge_without_capture_leaves_it_authorized_for_a_later_capture() {
    let network = Network::start();
    network.authorize("att_pass_hold", CHALLENGE_CARD, false).await.assert_ok();
    assert_redirect_to_return_url(&browser(&network, Method::POST, "/3ds/att_pass_hold/complete").await);
    assert_eq!(network.get("/v1/authorizations/att_pass_hold").await.assert_ok()["status"], "authorized");
    let captured =
        network.post("/v1/authorizations/att_pass_hold/capture", serde_json::json!({"amount_minor": 1000})).await;
    assert_eq!(captured.assert_ok()["status"], "captured");
}

#[tokio::test]
async fn failing_the_challenge_declines_with_authentication_failed() {
    let network = Network::start();
    network.authorize("att_fail", CHALLENGE_CARD, true).await.assert_ok();
    assert_redirect_to_return_url(&browser(&network, Method::POST, "/3ds/att_fail/fail").await);
    let object = network.get("/v1/authorizations/att_fail").await.assert_ok().clone();
    assert_eq!(object["status"], "declined");
    assert_eq!(object["decline_code"], "authentication_failed");
    assert!(object.get("network_transaction_id").is_none());
    assert_redirect_to_return_url(&browser(&network, Method::POST, "/3ds/att_fail/fail").await);
    let refused = browser(&network, Method::POST, "/3ds/att_fail/complete").await;
    assert_eq!(refused.status, 409, "{}", refused.text);
    assert_eq!(network.get("/v1/authorizations/att_fail").await.assert_ok(), &object);
}

#[tokio::test]
async fn only_an_open_challenge_can_be_answered() {
    let network = Network::start();
    network.authorize("att_plain", APPROVED_CARD, true).await.assert_ok();
    for answer in ["complete", "fail"] {
        let response = browser(&network, Method::POST, &format!("/3ds/att_plain/{answer}")).await;
        assert_eq!(response.status, 409, "{answer}: {}", response.text);
        assert!(response.text.contains("invalid_state"));
    }
    network.authorize("att_voided", CHALLENGE_CARD, true).await.assert_ok();
    network.post("/v1/authorizations/att_voided/void", serde_json::json!({})).await.assert_ok();
    assert_eq!(browser(&network, Method::POST, "/3ds/att_voided/complete").await.status, 409);
    assert_eq!(network.get("/v1/authorizations/att_voided").await.assert_ok()["status"], "voided");
    for path in ["/3ds/att_missing", "/3ds/att_missing/complete", "/3ds/att_missing/fail"] {
        let method = if path.ends_with("missing") { Method::GET } else { Method::POST };
        assert_eq!(browser(&network, method, path).await.status, 404, "{path}");
    }
}
