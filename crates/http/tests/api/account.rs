//! `GET /v1/account`.

use base64::Engine as _;
use payrail_domain::{MerchantStatus, Mode};
use payrail_testkit::on_each_backend;

use crate::helpers::TestApp;

#[tokio::test]
async fn a_test_key_sees_its_merchant_in_test_mode() {
    on_each_backend(|db| async {
        let app = TestApp::spawn(db).await;
        let response = app.get("/v1/account", &app.test_key).await;
        assert_eq!(response.status, 200, "{}", response.body);
        assert_eq!(response.body["id"], app.merchant_id.as_str());
        assert_eq!(response.body["object"], "account");
        assert_eq!(response.body["name"], "Demo Merchant");
        assert_eq!(response.body["status"], "active");
        assert_eq!(response.body["livemode"], false);
        assert!(response.headers.get("request-id").unwrap().to_str().unwrap().starts_with("req_"));
    })
    .await;
}

#[tokio::test]
async fn a_live_key_of_an_active_merchant_is_in_live_mode() {
    on_each_backend(|db| async {
        let app = TestApp::spawn(db).await;
        let (_, live) = app.demo_key(Mode::Live).await;
        let response = app.get("/v1/account", &live).await;
        assert_eq!(response.status, 200);
        assert_eq!(response.body["livemode"], true);
    })
    .await;
}

#[tokio::test]
async fn http_basic_with_the_secret_as_user_name_authenticates_as_stripe_clients_do() {
    on_each_backend(|db| async {
        let app = TestApp::spawn(db).await;
        let credentials = base64::engine::general_purpose::STANDARD.encode(format!("{}:", app.test_key));
        let response = app.call(axum::http::Method::GET, "/v1/account", Some(&format!("Basic {credentials}"))).await;
        assert_eq!(response.status, 200);
        assert_eq!(response.body["id"], app.merchant_id.as_str());
    })
    .await;
}

#[tokio::test]
async fn a_pending_merchant_may_use_test_mode_but_not_live_mode() {
    on_each_backend(|db| async {
        let app = TestApp::spawn(db).await;
        let (merchant_id, test, live) = app.other_merchant(MerchantStatus::Pending).await;
        let response = app.get("/v1/account", &test).await;
        assert_eq!(response.status, 200);
        assert_eq!(response.body["id"], merchant_id.as_str());
        assert_eq!(response.body["status"], "pending");
        app.get("/v1/account", &live).await.assert_error(403, "permission_error", "merchant_not_activated");
    })
    .await;
}

#[tokio::test]
async fn a_suspended_merchant_is_refused_in_both_modes() {
    on_each_backend(|db| async {
        let app = TestApp::spawn(db).await;
        let (merchant_id, test, live) = app.other_merchant(MerchantStatus::Active).await;
        app.payrail.set_merchant_status(&merchant_id.parse().unwrap(), MerchantStatus::Suspended).await.unwrap();
        for secret in [&test, &live] {
            app.get("/v1/account", secret).await.assert_error(403, "permission_error", "merchant_suspended");
        }
    })
    .await;
}
