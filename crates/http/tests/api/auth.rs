//! Authentication failures: missing, malformed, unknown, revoked keys. Each gets 401 with
//! the envelope, and no error ever repeats what the client sent.

use axum::http::Method;
use payrail_domain::Mode;
use payrail_testkit::on_each_backend;

use crate::helpers::TestApp;

#[tokio::test]
async fn a_request_without_a_key_is_refused_with_a_hint() {
    on_each_backend(|db| async {
        let app = TestApp::spawn(db).await;
        let response = app.call(Method::GET, "/v1/account", None).await;
        response.assert_error(401, "authentication_error", "api_key_missing");
        assert_eq!(response.headers.get("www-authenticate").unwrap(), "Bearer realm=\"Payrail\"");
    })
    .await;
}

#[tokio::test]
async fn malformed_authorization_headers_are_refused_without_being_echoed() {
    on_each_backend(|db| async {
        let app = TestApp::spawn(db).await;
        let key = app.test_key.clone();
        let cases = [
            (format!("Token {key}"), "authorization_header_malformed"),
            (key.clone(), "authorization_header_malformed"),
            ("Bearer".to_owned(), "authorization_header_malformed"),
            ("Basic %%%notbase64".to_owned(), "authorization_header_malformed"),
            (format!("Bearer {}", &key[..key.len() - 1]), "api_key_malformed"),
            (format!("Bearer {key}0"), "api_key_malformed"),
            (format!("Bearer {}", key.replace("sk_test_", "pk_test_")), "api_key_malformed"),
            (format!("Bearer {}", key.to_uppercase().replace("SK_TEST_", "sk_test_")), "api_key_malformed"),
            (format!("Bearer {}", "x".repeat(4096)), "api_key_malformed"),
        ];
        for (header, code) in cases {
            let response = app.call(Method::GET, "/v1/account", Some(&header)).await;
            response.assert_error(401, "authentication_error", code);
            let body = response.body.to_string();
            assert!(!body.contains(&key[8..40]), "the secret was echoed: {body}");
        }
    })
    .await;
}

#[tokio::test]
async fn a_well_formed_but_unknown_key_is_refused() {
    on_each_backend(|db| async {
        let app = TestApp::spawn(db).await;
        let unknown = format!("sk_test_{}", "0f".repeat(32));
        app.get("/v1/account", &unknown).await.assert_error(401, "authentication_error", "api_key_invalid");
        let unknown_live = format!("sk_live_{}", "0f".repeat(32));
        app.get("/v1/account", &unknown_live).await.assert_error(401, "authentication_error", "api_key_invalid");
    })
    .await;
}

#[tokio::test]
async fn a_key_from_another_installation_is_refused() {
    // Same secret shape, but hashed under other server keys: it must not authenticate.
    on_each_backend(|db| async {
        let app = TestApp::spawn(db).await;
        let other_db = payrail_testkit::TestDatabase::create(&app.db.backend).await;
        let other = TestApp::spawn(other_db).await;
        app.get("/v1/account", &other.test_key).await.assert_error(401, "authentication_error", "api_key_invalid");
    })
    .await;
}

#[tokio::test]
async fn a_revoked_key_is_refused_and_other_keys_keep_working() {
    on_each_backend(|db| async {
        let app = TestApp::spawn(db).await;
        let (key_id, secret) = app.demo_key(Mode::Test).await;
        assert_eq!(app.get("/v1/account", &secret).await.status, 200);
        app.payrail.revoke_api_key(None, &key_id.parse().unwrap()).await.unwrap();
        app.get("/v1/account", &secret).await.assert_error(401, "authentication_error", "api_key_revoked");
        assert_eq!(app.get("/v1/account", &app.test_key).await.status, 200);
    })
    .await;
}
