//! What every `/v1` request must get right: the API key, a well-formed body, and error
//! answers that never repeat card data.

use axum::http::Method;
use payrail_sandbox::card_network::{APPROVED_CARD, CHALLENGE_CARD};
use serde_json::{Value, json};

use crate::helpers::{API_KEY, Network, authorization_body};

#[tokio::test]
async fn a_missing_or_wrong_api_key_is_unauthorized_on_every_protocol_route() {
    let network = Network::start();
    network.authorize("att_known", APPROVED_CARD, true).await.assert_ok();
    let routes = [
        (Method::POST, "/v1/authorizations"),
        (Method::GET, "/v1/authorizations/att_known"),
        (Method::POST, "/v1/authorizations/att_known/capture"),
        (Method::POST, "/v1/authorizations/att_known/void"),
        (Method::POST, "/v1/refunds"),
        (Method::GET, "/v1/refunds/re_known"),
    ];
    let wrong_key = format!("Bearer {API_KEY}x");
    let basic = format!("Basic {API_KEY}");
    let lower_case_scheme = format!("bearer {API_KEY}");
    for (method, path) in routes {
        for authorization in [None, Some(wrong_key.as_str()), Some(basic.as_str()), Some(lower_case_scheme.as_str())] {
            let response = network.call(method.clone(), path, authorization, "{}".to_owned()).await;
            response.assert_error(401, "unauthorized");
        }
    }
    // Nothing was changed by the refused calls.
    assert_eq!(network.get("/v1/authorizations/att_known").await.assert_ok()["status"], "captured");
}

#[tokio::test]
async fn a_body_that_is_not_a_json_object_is_an_invalid_request_without_a_field() {
    let network = Network::start();
    let bearer = format!("Bearer {API_KEY}");
    for body in ["", "{", "[1,2]", "\"text\"", "null"] {
        let response = network.call(Method::POST, "/v1/authorizations", Some(&bearer), body.to_owned()).await;
        let error = response.assert_error(400, "invalid_request");
        assert!(error.get("field").is_none(), "{body:?}: {error}");
    }
}

#[tokio::test]
async fn each_missing_or_malformed_field_is_named() {
    let network = Network::start();
    let cases: [(&str, Option<Value>, &str); 18] = [
        ("/reference", None, "reference"),
        ("/reference", Some(json!("")), "reference"),
        ("/reference", Some(json!("att/1")), "reference"),
        ("/reference", Some(json!("a".repeat(65))), "reference"),
        ("/amount_minor", Some(json!(0)), "amount_minor"),
        ("/amount_minor", Some(json!(10.5)), "amount_minor"),
        ("/amount_minor", Some(json!("1000")), "amount_minor"),
        ("/currency", Some(json!("ABC")), "currency"),
        ("/currency", Some(json!("XAU")), "currency"),
        ("/capture", Some(json!("yes")), "capture"),
        ("/card", Some(json!("4242424242424242")), "card"),
        ("/card/number", Some(json!(4242424242424242_u64)), "card.number"),
        ("/card/exp_month", Some(json!(13)), "card.exp_month"),
        ("/card/exp_year", Some(json!(30)), "card.exp_year"),
        ("/card/cvc", Some(json!("12")), "card.cvc"),
        ("/card/cvc", Some(json!(123)), "card.cvc"),
        ("/return_url", Some(json!("/orders/17")), "return_url"),
        ("/return_url", Some(json!("https://shop.test/a b")), "return_url"),
    ];
    for (pointer, value, field) in cases {
        let mut body = authorization_body("att_fields", APPROVED_CARD, true);
        match value {
            Some(value) => *body.pointer_mut(pointer).unwrap() = value,
            None => {
                body.as_object_mut().unwrap().remove(&pointer[1..]);
            }
        }
        let response = network.post("/v1/authorizations", body).await;
        let error = response.assert_error(400, "invalid_request");
        assert_eq!(error["field"], field, "{pointer}");
    }
    network.get("/v1/authorizations/att_fields").await.assert_error(404, "not_found");
}

#[tokio::test]
async fn error_answers_never_repeat_the_card_number_or_cvc() {
    let network = Network::start();
    let bad_luhn = "4242424242424241";
    let mut body = authorization_body("att_secret", bad_luhn, true);
    body["card"]["cvc"] = json!("98765");
    let response = network.post("/v1/authorizations", body).await;
    response.assert_error(400, "invalid_request");
    assert!(!response.text.contains("424242"), "{}", response.text);
    let mut body = authorization_body("att_secret", CHALLENGE_CARD, true);
    body["card"]["cvc"] = json!("98765");
    let response = network.post("/v1/authorizations", body).await;
    assert!(!response.text.contains("98765") && !response.text.contains("3220"), "{}", response.text);
    let mut body = authorization_body("att_secret", APPROVED_CARD, true);
    body["card"]["number"] = json!(4242424242424242_u64);
    let response = network.post("/v1/authorizations", body).await;
    assert!(!response.text.contains("424242"), "{}", response.text);
}

#[tokio::test]
async fn a_body_over_the_limit_is_refused_with_413() {
    let network = Network::start();
    let mut body = authorization_body("att_large", APPROVED_CARD, true);
    body["padding"] = json!("x".repeat(20 * 1024));
    network.post("/v1/authorizations", body).await.assert_error(413, "body_too_large");
}

#[tokio::test]
async fn unknown_routes_answer_with_the_envelope() {
    let network = Network::start();
    network.get("/v2/authorizations").await.assert_error(404, "route_not_found");
}
