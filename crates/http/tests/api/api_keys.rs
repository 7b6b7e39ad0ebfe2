//! `/v1/api_keys`: a merchant sees only its own keys, only in its key's mode, and never
//! a secret.

use payrail_domain::{MerchantStatus, Mode};
use payrail_http::Limits;
use payrail_testkit::on_each_backend;

use crate::helpers::TestApp;

#[tokio::test]
async fn the_list_holds_only_the_callers_merchant_and_mode_and_no_secrets() {
    on_each_backend(|db| async {
        let app = TestApp::spawn(db).await;
        let (test_id, test_secret) = app.demo_key(Mode::Test).await;
        let (live_id, live_secret) = app.demo_key(Mode::Live).await;
        let (_, other_test, _) = app.other_merchant(MerchantStatus::Active).await;

        let response = app.get("/v1/api_keys", &app.test_key).await;
        assert_eq!(response.status, 200);
        assert_eq!(response.body["object"], "list");
        assert_eq!(response.body["has_more"], false);
        let ids: Vec<&str> =
            response.body["data"].as_array().unwrap().iter().map(|k| k["id"].as_str().unwrap()).collect();
        assert_eq!(ids.len(), 2, "{ids:?}");
        assert!(ids.contains(&test_id.as_str()) && !ids.contains(&live_id.as_str()));
        let text = response.body.to_string();
        for secret in [&app.test_key, &test_secret, &live_secret, &other_test] {
            assert!(!text.contains(&secret[8..]), "a secret leaked: {text}");
        }
        for key in response.body["data"].as_array().unwrap() {
            assert_eq!(key["livemode"], false);
            assert!(key["secret_hint"].as_str().unwrap().starts_with("sk_test_…"));
        }

        let live = app.get("/v1/api_keys", &live_secret).await;
        let live_ids: Vec<&str> =
            live.body["data"].as_array().unwrap().iter().map(|k| k["id"].as_str().unwrap()).collect();
        assert_eq!(live_ids, vec![live_id.as_str()]);
    })
    .await;
}

#[tokio::test]
async fn a_key_of_the_other_mode_or_another_merchant_looks_like_no_key_at_all() {
    on_each_backend(|db| async {
        let app = TestApp::spawn(db).await;
        let (live_id, _) = app.demo_key(Mode::Live).await;
        let other = app.payrail.create_merchant("Other", MerchantStatus::Active).await.unwrap();
        let other_key = app.payrail.create_api_key(&other.id, Mode::Test).await.unwrap();
        let other_id = other_key.key.id.to_string();
        for id in [live_id.as_str(), other_id.as_str(), "key_00000000000000000000000000", "not-a-key", "key_%20"] {
            let path = format!("/v1/api_keys/{id}");
            let error = app
                .get(&path, &app.test_key)
                .await
                .assert_error(404, "invalid_request_error", "resource_missing")
                .clone();
            assert_eq!(error["param"], "id");
            app.post(&format!("{path}/revoke"), &app.test_key).await.assert_error(
                404,
                "invalid_request_error",
                "resource_missing",
            );
        }
        // Nothing was revoked by those attempts.
        assert_eq!(app.get("/v1/account", other_key.secret.expose()).await.status, 200);
        let own = app.get(&format!("/v1/api_keys/{live_id}"), &app.demo_key(Mode::Live).await.1).await;
        assert_eq!(own.status, 200);
        assert_eq!(own.body["revoked"], serde_json::Value::Null);
    })
    .await;
}

#[tokio::test]
async fn revoking_a_key_stops_it_at_once_and_twice_is_an_error() {
    on_each_backend(|db| async {
        let app = TestApp::spawn(db).await;
        let (id, secret) = app.demo_key(Mode::Test).await;
        let response = app.post(&format!("/v1/api_keys/{id}/revoke"), &app.test_key).await;
        assert_eq!(response.status, 200, "{}", response.body);
        assert_eq!(response.body["revoked"], crate::helpers::START_MS / 1000);
        app.get("/v1/account", &secret).await.assert_error(401, "authentication_error", "api_key_revoked");
        let again = app.post(&format!("/v1/api_keys/{id}/revoke"), &app.test_key).await;
        assert_eq!(again.assert_error(400, "invalid_request_error", "api_key_already_revoked")["param"], "id");
    })
    .await;
}

#[tokio::test]
async fn last_use_is_recorded_at_most_once_a_minute() {
    on_each_backend(|db| async {
        let app = TestApp::spawn(db).await;
        let (id, secret) = app.demo_key(Mode::Test).await;
        let path = format!("/v1/api_keys/{id}");
        let never_used = app.get(&path, &app.test_key).await;
        assert_eq!(never_used.body["last_used"], serde_json::Value::Null);

        app.get("/v1/account", &secret).await;
        let first = crate::helpers::START_MS / 1000;
        assert_eq!(app.get(&path, &app.test_key).await.body["last_used"], first);
        app.clock.advance_ms(59_000);
        app.get("/v1/account", &secret).await;
        assert_eq!(app.get(&path, &app.test_key).await.body["last_used"], first, "written again within a minute");
        app.clock.advance_ms(1_000);
        app.get("/v1/account", &secret).await;
        assert_eq!(app.get(&path, &app.test_key).await.body["last_used"], first + 60);
    })
    .await;
}

#[tokio::test]
async fn a_request_that_outlives_its_timeout_is_abandoned_and_changes_nothing() {
    on_each_backend(|db| async {
        let limits = Limits { request_timeout_ms: 300, ..Limits::default() };
        let app = TestApp::spawn_with_limits(db, limits).await;
        let (id, secret) = app.demo_key(Mode::Test).await;
        // Another writer holds the key row (and on SQLite the write lock) for longer than
        // the request may run.
        let mut blocker = app.payrail.store().begin().await.unwrap();
        payrail_store::api_keys::touch_last_used(blocker.conn(), &id.parse().unwrap(), app.payrail.clock().now())
            .await
            .unwrap();
        let response = app.post(&format!("/v1/api_keys/{id}/revoke"), &app.test_key).await;
        response.assert_error(503, "api_error", "request_timeout");
        drop(blocker);
        assert_eq!(app.get("/v1/account", &secret).await.status, 200, "the abandoned revoke must not have landed");
    })
    .await;
}
