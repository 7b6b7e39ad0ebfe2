//! Card payments through the API and the card network simulator.

use payrail_domain::{MerchantStatus, Mode};
use payrail_testkit::on_each_backend;
use serde_json::{Value, json};

use crate::helpers::{TestApp, TestResponse};

fn card(number: &str) -> Value {
    json!({"type": "card", "card": {"number": number, "exp_month": 12, "exp_year": 2030, "cvc": "123"}})
}

async fn pay(app: &TestApp, order: &str, number: &str, extra: Value) -> TestResponse {
    let mut body = json!({
        "amount": 1000, "currency": "usd", "merchant_order_no": order, "confirm": true, "payment_method": card(number),
    });
    if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
        body.extend(extra.clone());
    }
    app.post_json("/v1/payments", &app.test_key, &body).await
}

#[tokio::test]
async fn the_success_card_is_charged_and_the_payment_shows_only_a_card_summary() {
    on_each_backend(|db| async {
        let app = TestApp::spawn(db).await;
        let response = pay(&app, "order-1", "4242424242424242", json!({})).await;
        assert_eq!(response.status, 200, "{}", response.body);
        let payment = &response.body;
        assert!(payment["id"].as_str().unwrap().starts_with("pay_"));
        assert_eq!(payment["status"], "succeeded");
        assert_eq!((payment["amount"].as_i64(), payment["amount_captured"].as_i64()), (Some(1000), Some(1000)));
        assert_eq!(payment["currency"], "USD");
        assert_eq!(payment["livemode"], false);
        assert_eq!(
            payment["payment_method"]["card"],
            json!({"brand": "visa", "last4": "4242", "exp_month": 12, "exp_year": 2030})
        );
        assert!(!response.body.to_string().contains("4242424242424242"));
        let events = app.get("/v1/events", &app.test_key).await;
        let types: Vec<&str> =
            events.body["data"].as_array().unwrap().iter().map(|e| e["type"].as_str().unwrap()).collect();
        assert_eq!(types, vec!["payment.succeeded", "payment.created"]);
    })
    .await;
}

#[tokio::test]
async fn each_decline_card_fails_with_its_code_and_the_payment_can_be_retried() {
    on_each_backend(|db| async {
        let app = TestApp::spawn(db).await;
        let cases = [
            ("4000000000000002", "card_declined", Some("generic_decline")),
            ("4000000000009995", "card_declined", Some("insufficient_funds")),
            ("4000000000009987", "card_declined", Some("lost_card")),
            ("4000000000009979", "card_declined", Some("stolen_card")),
            ("4000000000000069", "expired_card", Some("expired_card")),
            ("4000000000000127", "incorrect_cvc", Some("incorrect_cvc")),
            ("4000000000000119", "processing_error", None),
        ];
        for (index, (number, code, decline_code)) in cases.into_iter().enumerate() {
            let response = pay(&app, &format!("declined-{index}"), number, json!({})).await;
            response.assert_error(402, "card_error", code);
            let list = app.get(&format!("/v1/payments?merchant_order_no=declined-{index}"), &app.test_key).await;
            let payment = &list.body["data"][0];
            assert_eq!(payment["status"], "requires_payment_method", "{number}");
            assert_eq!(payment["last_payment_error"]["code"], code);
            assert_eq!(payment["last_payment_error"]["decline_code"].as_str(), decline_code);
            // The same payment succeeds with another card.
            let id = payment["id"].as_str().unwrap();
            let retried = app
                .post_json(
                    &format!("/v1/payments/{id}/confirm"),
                    &app.test_key,
                    &json!({"payment_method": card("4242424242424242")}),
                )
                .await;
            assert_eq!(retried.body["status"], "succeeded", "{}", retried.body);
            assert_eq!(retried.body["last_payment_error"], Value::Null);
        }
    })
    .await;
}

#[tokio::test]
async fn a_manual_capture_may_be_partial_and_never_exceeds_the_authorization() {
    on_each_backend(|db| async {
        let app = TestApp::spawn(db).await;
        let authorized = pay(&app, "manual-1", "4242424242424242", json!({"capture_method": "manual"})).await;
        assert_eq!(authorized.body["status"], "requires_capture", "{}", authorized.body);
        assert_eq!(authorized.body["amount_capturable"], 1000);
        let id = authorized.body["id"].as_str().unwrap().to_owned();
        let path = format!("/v1/payments/{id}/capture");
        let too_much = app.post_json(&path, &app.test_key, &json!({"amount_to_capture": 1001})).await;
        too_much.assert_error(400, "invalid_request_error", "amount_to_capture_invalid");
        let captured = app.post_json(&path, &app.test_key, &json!({"amount_to_capture": 600})).await;
        assert_eq!(captured.status, 200, "{}", captured.body);
        assert_eq!(captured.body["status"], "succeeded");
        assert_eq!(
            (captured.body["amount_captured"].as_i64(), captured.body["amount_capturable"].as_i64()),
            (Some(600), Some(0))
        );
        app.post_json(&path, &app.test_key, &json!({})).await.assert_error(
            400,
            "invalid_request_error",
            "payment_unexpected_state",
        );
    })
    .await;
}

#[tokio::test]
async fn three_d_secure_sends_the_payer_to_the_challenge_and_back() {
    on_each_backend(|db| async {
        let app = TestApp::spawn(db).await;
        let extra = json!({"capture_method": "manual", "return_url": "https://shop.example/done"});
        let started = pay(&app, "3ds-1", "4000000000003220", extra).await;
        assert_eq!(started.body["status"], "requires_action", "{}", started.body);
        let challenge = started.body["next_action"]["redirect_to_url"]["url"].as_str().unwrap().to_owned();
        let id = started.body["id"].as_str().unwrap().to_owned();
        let completed = http_post(&format!("{challenge}/complete")).await;
        assert!(completed.contains(&format!("/v1/payments/{id}/return")), "{completed}");
        let back = app.call(axum::http::Method::GET, &format!("/v1/payments/{id}/return"), None).await;
        assert_eq!(back.status, 303);
        let location = back.headers["location"].to_str().unwrap();
        assert!(location.starts_with("https://shop.example/done?payment="), "{location}");
        let payment = app.get(&format!("/v1/payments/{id}"), &app.test_key).await;
        assert_eq!(payment.body["status"], "requires_capture");
        assert_eq!(payment.body["next_action"], Value::Null);
    })
    .await;
}

#[tokio::test]
async fn a_failed_challenge_returns_the_payment_to_requires_payment_method() {
    on_each_backend(|db| async {
        let app = TestApp::spawn(db).await;
        let started = pay(&app, "3ds-2", "4000000000003220", json!({})).await;
        let challenge = started.body["next_action"]["redirect_to_url"]["url"].as_str().unwrap().to_owned();
        let id = started.body["id"].as_str().unwrap().to_owned();
        http_post(&format!("{challenge}/fail")).await;
        let back = app.call(axum::http::Method::GET, &format!("/v1/payments/{id}/return"), None).await;
        assert_eq!(back.status, 200);
        let payment = app.get(&format!("/v1/payments/{id}"), &app.test_key).await;
        assert_eq!(payment.body["status"], "requires_payment_method");
        assert_eq!(payment.body["last_payment_error"]["code"], "authentication_failed");
    })
    .await;
}

#[tokio::test]
async fn cancel_works_before_capture_and_is_refused_after() {
    on_each_backend(|db| async {
        let app = TestApp::spawn(db).await;
        let created = app
            .post_json(
                "/v1/payments",
                &app.test_key,
                &json!({"amount": 500, "currency": "JPY", "merchant_order_no": "c-1"}),
            )
            .await;
        assert_eq!(created.body["status"], "requires_payment_method", "{}", created.body);
        let id = created.body["id"].as_str().unwrap();
        let canceled = app
            .post_json(
                &format!("/v1/payments/{id}/cancel"),
                &app.test_key,
                &json!({"cancellation_reason": "duplicate"}),
            )
            .await;
        assert_eq!(
            (canceled.body["status"].as_str(), canceled.body["cancellation_reason"].as_str()),
            (Some("canceled"), Some("duplicate"))
        );
        let paid = pay(&app, "c-2", "4242424242424242", json!({})).await;
        let paid_id = paid.body["id"].as_str().unwrap();
        app.post_json(&format!("/v1/payments/{paid_id}/cancel"), &app.test_key, &json!({})).await.assert_error(
            400,
            "invalid_request_error",
            "payment_unexpected_state",
        );
        app.post_json(&format!("/v1/payments/{id}/cancel"), &app.test_key, &json!({"cancellation_reason": "expired"}))
            .await
            .assert_error(400, "invalid_request_error", "parameter_invalid");
    })
    .await;
}

#[tokio::test]
async fn bad_input_names_the_parameter_and_changes_nothing() {
    on_each_backend(|db| async {
        let app = TestApp::spawn(db).await;
        let base = json!({"amount": 1000, "currency": "usd", "merchant_order_no": "bad"});
        let with = |key: &str, value: Value| {
            let mut body = base.clone();
            body[key] = value;
            body
        };
        let without = |key: &str| {
            let mut body = base.clone();
            body.as_object_mut().unwrap().remove(key);
            body
        };
        let big_metadata: serde_json::Map<String, Value> = (0..51).map(|i| (format!("k{i}"), json!("v"))).collect();
        let cases = [
            (without("amount"), "parameter_missing", "amount"),
            (without("currency"), "parameter_missing", "currency"),
            (with("amount", json!(0)), "amount_invalid", "amount"),
            (with("amount", json!(-5)), "amount_invalid", "amount"),
            (with("amount", json!(1_000_000_000_001_i64)), "amount_invalid", "amount"),
            (with("amount", json!("1000")), "parameter_invalid", "amount"),
            (with("amount", json!(10.5)), "parameter_invalid", "amount"),
            (with("currency", json!("ABC")), "currency_invalid", "currency"),
            (with("metadata", Value::Object(big_metadata)), "metadata_invalid", "metadata"),
            (with("surprise", json!(1)), "parameter_unknown", "surprise"),
            (with("capture_method", json!("later")), "parameter_invalid", "capture_method"),
            (with("return_url", json!("javascript:alert(1)")), "url_invalid", "return_url"),
            (with("expires_at", json!(1)), "parameter_invalid", "expires_at"),
            (with("merchant_order_no", json!("has space")), "parameter_invalid", "merchant_order_no"),
        ];
        for (body, code, param) in cases {
            let response = app.post_json("/v1/payments", &app.test_key, &body).await;
            assert_eq!(response.assert_error(400, "invalid_request_error", code)["param"], param, "{body}");
        }
        let bad_card = json!({"type": "card", "card": {"number": "4242424242424241", "exp_month": 12, "exp_year": 2030, "cvc": "123"}});
        let response = app.post_json("/v1/payments", &app.test_key, &with("payment_method", bad_card.clone())).await;
        assert_eq!(response.assert_error(400, "invalid_request_error", "payment_method_requires_confirm")["param"], "confirm");
        let mut confirmed = with("payment_method", bad_card);
        confirmed["confirm"] = json!(true);
        let response = app.post_json("/v1/payments", &app.test_key, &confirmed).await;
        let error = response.assert_error(400, "invalid_request_error", "card_number_invalid");
        assert_eq!(error["param"], "payment_method[card][number]");
        assert!(!response.body.to_string().contains("424242424"), "the card number was echoed");
        let list = app.get("/v1/payments", &app.test_key).await;
        let statuses: Vec<&str> = list.body["data"].as_array().unwrap().iter().map(|p| p["status"].as_str().unwrap()).collect();
        assert!(statuses.is_empty(), "a refused request created a payment: {statuses:?}");
        for body in ["not json", "[1,2]"] {
            let request = axum::http::Request::builder()
                .method("POST")
                .uri("/v1/payments")
                .header("authorization", format!("Bearer {}", app.test_key))
                .header("content-type", "application/json")
                .body(axum::body::Body::from(body))
                .unwrap();
            app.send(request).await.assert_error(400, "invalid_request_error", "body_malformed");
        }
    })
    .await;
}

#[tokio::test]
async fn order_numbers_are_unique_per_merchant_and_mode() {
    on_each_backend(|db| async {
        let app = TestApp::spawn(db).await;
        let body = json!({"amount": 100, "currency": "eur", "merchant_order_no": "same"});
        assert_eq!(app.post_json("/v1/payments", &app.test_key, &body).await.status, 200);
        let again = app.post_json("/v1/payments", &app.test_key, &body).await;
        assert_eq!(
            again.assert_error(400, "invalid_request_error", "merchant_order_no_duplicate")["param"],
            "merchant_order_no"
        );
        let (_, live) = app.demo_key(Mode::Live).await;
        let (_, other_test, _) = app.other_merchant(MerchantStatus::Active).await;
        for secret in [&live, &other_test] {
            assert_eq!(app.post_json("/v1/payments", secret, &body).await.status, 200);
        }
    })
    .await;
}

#[tokio::test]
async fn another_merchants_or_the_other_modes_payments_look_like_none() {
    on_each_backend(|db| async {
        let app = TestApp::spawn(db).await;
        let (_, live) = app.demo_key(Mode::Live).await;
        let (_, other_test, _) = app.other_merchant(MerchantStatus::Active).await;
        let body = json!({"amount": 100, "currency": "usd", "merchant_order_no": "mine"});
        let mine = app.post_json("/v1/payments", &app.test_key, &body).await;
        let id = mine.body["id"].as_str().unwrap();
        for secret in [&live, &other_test] {
            app.get(&format!("/v1/payments/{id}"), secret).await.assert_error(
                404,
                "invalid_request_error",
                "resource_missing",
            );
            app.post_json(&format!("/v1/payments/{id}/cancel"), secret, &json!({})).await.assert_error(
                404,
                "invalid_request_error",
                "resource_missing",
            );
            assert_eq!(app.get("/v1/payments", secret).await.body["data"], json!([]));
        }
        assert_eq!(
            app.get(&format!("/v1/payments/{id}"), &app.test_key).await.body["status"],
            "requires_payment_method"
        );
    })
    .await;
}

#[tokio::test]
async fn lists_are_newest_first_with_cursors_and_filters() {
    on_each_backend(|db| async {
        let app = TestApp::spawn(db).await;
        let mut ids = Vec::new();
        for index in 0..5 {
            app.clock.advance_ms(1_000);
            let body = json!({"amount": 100 + index, "currency": "usd", "merchant_order_no": format!("l-{index}")});
            ids.push(app.post_json("/v1/payments", &app.test_key, &body).await.body["id"].as_str().unwrap().to_owned());
        }
        let page_ids = |response: &TestResponse| -> Vec<String> {
            response.body["data"].as_array().unwrap().iter().map(|p| p["id"].as_str().unwrap().to_owned()).collect()
        };
        let first = app.get("/v1/payments?limit=2", &app.test_key).await;
        assert_eq!(page_ids(&first), vec![ids[4].clone(), ids[3].clone()]);
        assert_eq!(first.body["has_more"], true);
        let second = app.get(&format!("/v1/payments?limit=2&starting_after={}", ids[3]), &app.test_key).await;
        assert_eq!(page_ids(&second), vec![ids[2].clone(), ids[1].clone()]);
        let last = app.get(&format!("/v1/payments?limit=2&starting_after={}", ids[1]), &app.test_key).await;
        assert_eq!((page_ids(&last), last.body["has_more"].as_bool()), (vec![ids[0].clone()], Some(false)));
        let before = app.get(&format!("/v1/payments?limit=2&ending_before={}", ids[1]), &app.test_key).await;
        assert_eq!(page_ids(&before), vec![ids[3].clone(), ids[2].clone()]);
        let canceled_id = &ids[2];
        app.post_json(&format!("/v1/payments/{canceled_id}/cancel"), &app.test_key, &json!({})).await;
        let canceled = app.get("/v1/payments?status=canceled", &app.test_key).await;
        assert_eq!(page_ids(&canceled), vec![canceled_id.clone()]);
        for bad in ["limit=0", "limit=101", "limit=x", "status=paid", "created[gte]=soon"] {
            app.get(&format!("/v1/payments?{bad}"), &app.test_key).await.assert_error(
                400,
                "invalid_request_error",
                "parameter_invalid",
            );
        }
    })
    .await;
}

/// A tiny POST over a real socket, for the simulator's 3-D Secure page (a browser's job).
async fn http_post(url: &str) -> String {
    http_post_json(url, "").await
}

/// A POST with a JSON body over a real socket, to the simulator; the raw response.
pub(crate) async fn http_post_json(url: &str, body: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let rest = url.strip_prefix("http://").unwrap();
    let (host, path) = rest.split_once('/').unwrap();
    let mut stream = tokio::net::TcpStream::connect(host).await.unwrap();
    let request = format!(
        "POST /{path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    response
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn of_concurrent_captures_exactly_one_wins() {
    on_each_backend(|db| async {
        let app = TestApp::spawn(db).await;
        let authorized = pay(&app, "race-1", "4242424242424242", json!({"capture_method": "manual"})).await;
        let id = authorized.body["id"].as_str().unwrap().to_owned();
        let statuses = app.concurrent_posts(6, &format!("/v1/payments/{id}/capture"), &json!({})).await;
        assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 1, "{statuses:?}");
        assert!(statuses.iter().all(|s| *s == 200 || *s == 400), "{statuses:?}");
        let payment = app.get(&format!("/v1/payments/{id}"), &app.test_key).await;
        assert_eq!(payment.body["amount_captured"], 1000);
        let events = app.get("/v1/events?limit=100", &app.test_key).await;
        let captured =
            events.body["data"].as_array().unwrap().iter().filter(|e| e["type"] == "payment.captured").count();
        assert_eq!(captured, 1);
    })
    .await;
}

#[tokio::test]
async fn no_card_number_or_cvc_is_stored_in_clear_in_the_database_files() {
    let db = payrail_testkit::TestDatabase::create(&payrail_testkit::Backend::Sqlite).await;
    let dir = db.path();
    let app = TestApp::spawn(db).await;
    let number = "4000000000009995";
    let body = json!({
        "amount": 1000, "currency": "usd", "merchant_order_no": "pan-1", "confirm": true,
        "payment_method": {"type": "card", "card": {"number": number, "exp_month": 12, "exp_year": 2030, "cvc": "987"}},
    });
    app.post_json("/v1/payments", &app.test_key, &body).await;
    pay(&app, "pan-2", "4242424242424242", json!({})).await;
    let mut files_read = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        files_read += 1;
        for secret in [number.as_bytes(), b"4242424242424242", b"\"987\""] {
            assert!(!bytes.windows(secret.len()).any(|w| w == secret), "a card secret is in the database files");
        }
    }
    assert!(files_read >= 2, "the database and its WAL were read");
}
