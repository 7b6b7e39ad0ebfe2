//! `Idempotency-Key` on POST requests: replay, conflict, scope and bad keys.

use axum::body::Body;
use axum::http::{Method, Request};
use payrail_domain::{MerchantStatus, Mode};
use payrail_testkit::on_each_backend;

use crate::helpers::{TestApp, TestResponse};

async fn post_with_key(app: &TestApp, path: &str, secret: &str, key: &str, body: &str) -> TestResponse {
    let mut request = Request::builder()
        .method(Method::POST)
        .uri(path)
        .header("authorization", format!("Bearer {secret}"))
        .header("idempotency-key", key);
    if !body.is_empty() {
        request = request.header("content-type", "application/json");
    }
    app.send(request.body(Body::from(body.to_owned())).unwrap()).await
}

#[tokio::test]
async fn the_same_request_with_the_same_key_replays_the_first_response() {
    on_each_backend(|db| async {
        let app = TestApp::spawn(db).await;
        let (id, _) = app.demo_key(Mode::Test).await;
        let path = format!("/v1/api_keys/{id}/revoke");
        let first = post_with_key(&app, &path, &app.test_key, "revoke-1", "").await;
        assert_eq!(first.status, 200);
        assert!(first.headers.get("idempotent-replayed").is_none());
        app.clock.advance_ms(5_000);
        let again = post_with_key(&app, &path, &app.test_key, "revoke-1", "").await;
        assert_eq!(again.status, 200, "replayed, not run again (which would say already revoked)");
        assert_eq!(again.body, first.body);
        assert_eq!(again.headers["idempotent-replayed"], "true");
        // Without the key the request runs again and meets the revoked key.
        app.post(&path, &app.test_key).await.assert_error(400, "invalid_request_error", "api_key_already_revoked");
    })
    .await;
}

#[tokio::test]
async fn errors_are_replayed_too() {
    on_each_backend(|db| async {
        let app = TestApp::spawn(db).await;
        let path = "/v1/api_keys/key_00000000000000000000000000/revoke";
        let first = post_with_key(&app, path, &app.test_key, "missing-1", "").await;
        first.assert_error(404, "invalid_request_error", "resource_missing");
        let again = post_with_key(&app, path, &app.test_key, "missing-1", "").await;
        assert_eq!((again.status, &again.body), (first.status, &first.body));
        assert_eq!(again.headers["idempotent-replayed"], "true");
    })
    .await;
}

#[tokio::test]
async fn the_same_key_with_another_request_is_refused_and_changes_nothing() {
    on_each_backend(|db| async {
        let app = TestApp::spawn(db).await;
        let (first_id, _) = app.demo_key(Mode::Test).await;
        let (second_id, second_secret) = app.demo_key(Mode::Test).await;
        let first = post_with_key(&app, &format!("/v1/api_keys/{first_id}/revoke"), &app.test_key, "k", "").await;
        assert_eq!(first.status, 200);
        let other_path = format!("/v1/api_keys/{second_id}/revoke");
        let reused = post_with_key(&app, &other_path, &app.test_key, "k", "").await;
        reused.assert_error(400, "idempotency_error", "idempotency_key_reused");
        let other_body =
            post_with_key(&app, &format!("/v1/api_keys/{first_id}/revoke"), &app.test_key, "k", "{}").await;
        other_body.assert_error(400, "idempotency_error", "idempotency_key_reused");
        assert_eq!(app.get("/v1/account", &second_secret).await.status, 200, "the second key was not revoked");
    })
    .await;
}

#[tokio::test]
async fn keys_are_scoped_to_the_merchant_and_mode() {
    on_each_backend(|db| async {
        let app = TestApp::spawn(db).await;
        let (_, other_test, _) = app.other_merchant(MerchantStatus::Active).await;
        let (_, live) = app.demo_key(Mode::Live).await;
        let path = "/v1/api_keys/key_00000000000000000000000000/revoke";
        post_with_key(&app, path, &app.test_key, "shared", "").await;
        for secret in [&other_test, &live] {
            let response = post_with_key(&app, path, secret, "shared", "").await;
            assert!(response.headers.get("idempotent-replayed").is_none(), "another scope replayed the key");
        }
    })
    .await;
}

#[tokio::test]
async fn malformed_keys_and_unauthenticated_requests_are_refused_before_anything_is_stored() {
    on_each_backend(|db| async {
        let app = TestApp::spawn(db).await;
        let (id, secret) = app.demo_key(Mode::Test).await;
        let path = format!("/v1/api_keys/{id}/revoke");
        for key in ["x".repeat(256), "has space".to_owned(), "ключ".to_owned()] {
            let request = Request::builder()
                .method(Method::POST)
                .uri(&path)
                .header("authorization", format!("Bearer {}", app.test_key))
                .header("idempotency-key", key.as_bytes())
                .body(Body::empty())
                .unwrap();
            let response = app.send(request).await;
            response.assert_error(400, "invalid_request_error", "idempotency_key_invalid");
        }
        let unauthenticated = Request::builder()
            .method(Method::POST)
            .uri(&path)
            .header("idempotency-key", "k")
            .body(Body::empty())
            .unwrap();
        app.send(unauthenticated).await.assert_error(401, "authentication_error", "api_key_missing");
        assert_eq!(app.get("/v1/account", &secret).await.status, 200, "nothing was revoked");
        // The key was not consumed by the refused attempts.
        assert_eq!(post_with_key(&app, &path, &app.test_key, "k", "").await.status, 200);
    })
    .await;
}

#[tokio::test]
async fn a_body_over_the_limit_is_refused() {
    on_each_backend(|db| async {
        let app = TestApp::spawn(db).await;
        let (id, _) = app.demo_key(Mode::Test).await;
        let body = "x".repeat(64 * 1024 + 1);
        let response = post_with_key(&app, &format!("/v1/api_keys/{id}/revoke"), &app.test_key, "big", &body).await;
        response.assert_error(413, "invalid_request_error", "body_too_large");
    })
    .await;
}

#[tokio::test]
async fn old_keys_are_pruned_after_a_day() {
    on_each_backend(|db| async {
        let app = TestApp::spawn(db).await;
        let path = "/v1/api_keys/key_00000000000000000000000000/revoke";
        post_with_key(&app, path, &app.test_key, "old", "").await;
        app.clock.advance_ms(23 * 60 * 60 * 1000);
        assert_eq!(app.payrail.prune_idempotency_keys().await.unwrap(), 0);
        app.clock.advance_ms(60 * 60 * 1000 + 1);
        assert_eq!(app.payrail.prune_idempotency_keys().await.unwrap(), 1);
        let after = post_with_key(&app, path, &app.test_key, "old", "{}").await;
        assert!(after.headers.get("idempotent-replayed").is_none(), "a pruned key is free again");
    })
    .await;
}

#[tokio::test]
async fn a_secret_shown_once_is_replayed_to_a_retry_but_never_stored_in_clear() {
    let db = payrail_testkit::TestDatabase::create(&payrail_testkit::Backend::Sqlite).await;
    let dir = db.path();
    let app = TestApp::spawn(db).await;
    let body = r#"{"url": "https://shop.example/hooks", "enabled_events": ["*"]}"#;
    let first = post_with_key(&app, "/v1/webhook_endpoints", &app.test_key, "hook-1", body).await;
    assert_eq!(first.status, 200, "{}", first.body);
    let again = post_with_key(&app, "/v1/webhook_endpoints", &app.test_key, "hook-1", body).await;
    assert_eq!((again.status, &again.body), (first.status, &first.body), "the retry sees the same secret");
    assert_eq!(again.headers["idempotent-replayed"], "true");
    let secret = first.body["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_"), "{}", first.body);
    let mut files_read = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        files_read += 1;
        let needle = &secret.as_bytes()[6..];
        assert!(!bytes.windows(needle.len()).any(|w| w == needle), "the secret is in the database files");
    }
    assert!(files_read >= 2, "the database and its WAL were read");
}
