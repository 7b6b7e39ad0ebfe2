//! Merchants' own channel accounts: an Alipay app of the merchant's, registered through
//! the API, charges the payments routed to it end to end (notified at its own path), and
//! the platform's app is used again once the route is removed. Accounts are checked before
//! they are stored, never show their secrets, stay in their merchant and mode, and test and
//! live never mix.

use payrail_domain::MerchantStatus;
use payrail_testkit::on_each_backend;
use serde_json::{Value, json};

use crate::alipay::{
    alipay, buyer_pays, notifications_once_acknowledged, notify, out_trade_no, payment_reaches, qr_payment,
    success_notification,
};
use crate::helpers::TestApp;

/// A fresh app at the simulator, as the merchant would copy it from Alipay's console.
fn merchant_app(app: &TestApp) -> (String, Value) {
    let credentials = alipay(app).sandbox.create_app().unwrap();
    let fields = json!({
        "gateway_url": credentials.gateway_url,
        "app_id": credentials.app_id,
        "app_private_key": credentials.app_private_key_pem.expose(),
        "alipay_public_key": credentials.alipay_public_key_pem,
    });
    (credentials.app_id, fields)
}

async fn create_account(app: &TestApp, key: &str, fields: &Value) -> Value {
    let body = json!({"channel": "alipay", "description": "Shop A", "alipay": fields});
    let created = app.post_json("/v1/channel_accounts", key, &body).await;
    assert_eq!(created.status, 200, "{}", created.body);
    created.body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_merchants_own_alipay_app_charges_the_payments_routed_to_it() {
    on_each_backend(|db| async {
        let app = TestApp::spawn_alipay(db).await;
        let (app_id, fields) = merchant_app(&app);
        let account = create_account(&app, &app.test_key, &fields).await;
        let id = account["id"].as_str().unwrap().to_owned();
        assert!(id.starts_with("ca_"));
        assert_eq!((account["channel"].as_str(), account["livemode"].as_bool()), (Some("alipay"), Some(false)));
        assert_eq!(account["alipay"]["app_id"], app_id.as_str());
        assert_eq!(account["secrets_set"], json!(["app_private_key"]));
        let shown = app.get(&format!("/v1/channel_accounts/{id}"), &app.test_key).await.body;
        let listed = app.get("/v1/channel_accounts", &app.test_key).await.body;
        for body in [&account, &shown, &listed] {
            assert!(!body.to_string().contains("PRIVATE KEY"), "a secret was shown: {body}");
        }
        assert_eq!(listed["data"].as_array().unwrap().len(), 1);

        let route = json!({"payment_method_type": "alipay_qr", "channel_account": id});
        let routed = app.post_json("/v1/channel_routes", &app.test_key, &route).await;
        assert_eq!(routed.body["channel_account"], id.as_str(), "{}", routed.body);
        let payment = qr_payment(&app, "own-app-1").await;
        let payment_id = payment["id"].as_str().unwrap();
        buyer_pays(&payment).await;
        payment_reaches(&app, payment_id, "succeeded").await;
        let sent = notifications_once_acknowledged(&app).await;
        assert!(sent[0].url.ends_with(&format!("/notify/alipay/{id}")), "notified at {}", sent[0].url);
        assert!(sent[0].params.iter().any(|(key, value)| key == "app_id" && *value == app_id));

        // The platform's app cannot speak for an order charged through the merchant's.
        let platform = alipay(&app);
        let form =
            success_notification(&platform.app_id, &out_trade_no(&payment), "12.30", "n-x", &platform.alipay_key_pem);
        let refused = notify(&app, "/notify/alipay/test", form).await;
        refused.assert_error(400, "invalid_request_error", "notification_order_unknown");

        let refund = app.post_json("/v1/refunds", &app.test_key, &json!({"payment": payment_id, "amount": 230})).await;
        assert_eq!(refund.body["status"], "succeeded", "{}", refund.body);
        let report = payrail_service::verify_ledger(app.payrail.store()).await.unwrap();
        assert!(report.is_clean() && report.entries == 2, "{:?}", report.violations);

        // Without the route, the platform's app charges again.
        let removed = app
            .call(axum::http::Method::DELETE, "/v1/channel_routes/alipay_qr", Some(&format!("Bearer {}", app.test_key)))
            .await;
        assert_eq!(removed.status, 200);
        assert_eq!(app.get("/v1/channel_routes", &app.test_key).await.body["data"], json!([]));
        let second = qr_payment(&app, "platform-app").await;
        buyer_pays(&second).await;
        payment_reaches(&app, second["id"].as_str().unwrap(), "succeeded").await;
        let urls: Vec<String> = alipay(&app).sandbox.sent_notifications().into_iter().map(|sent| sent.url).collect();
        assert!(urls.iter().any(|url| url.ends_with("/notify/alipay/test")), "{urls:?}");

        // Chosen on the payment itself, the account charges whatever the routes say.
        let body = json!({"amount": 1230, "currency": "cny", "merchant_order_no": "chosen", "confirm": true,
            "channel_account": id, "payment_method": {"type": "alipay_qr"}});
        let chosen = app.post_json("/v1/payments", &app.test_key, &body).await.body;
        assert_eq!(
            (chosen["status"].as_str(), chosen["channel_account"].as_str()),
            (Some("requires_action"), Some(id.as_str()))
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_account_is_no_longer_routed_to_but_still_refunds_its_payments() {
    on_each_backend(|db| async {
        let app = TestApp::spawn_alipay(db).await;
        let (_, fields) = merchant_app(&app);
        let id = create_account(&app, &app.test_key, &fields).await["id"].as_str().unwrap().to_owned();
        let route = json!({"payment_method_type": "alipay_qr", "channel_account": id});
        assert_eq!(app.post_json("/v1/channel_routes", &app.test_key, &route).await.status, 200);
        let payment = qr_payment(&app, "before-delete").await;
        buyer_pays(&payment).await;
        let payment_id = payment["id"].as_str().unwrap();
        payment_reaches(&app, payment_id, "succeeded").await;

        let deleted = app
            .call(
                axum::http::Method::DELETE,
                &format!("/v1/channel_accounts/{id}"),
                Some(&format!("Bearer {}", app.test_key)),
            )
            .await;
        assert_eq!(deleted.body["deleted"], true);
        let gone = app.get(&format!("/v1/channel_accounts/{id}"), &app.test_key).await;
        gone.assert_error(404, "invalid_request_error", "resource_missing");
        assert_eq!(app.get("/v1/channel_routes", &app.test_key).await.body["data"], json!([]));
        let refund = app.post_json("/v1/refunds", &app.test_key, &json!({"payment": payment_id})).await;
        assert_eq!(refund.body["status"], "succeeded", "{}", refund.body);
        let body = json!({"amount": 100, "currency": "cny", "merchant_order_no": "after-delete", "confirm": true,
            "channel_account": id, "payment_method": {"type": "alipay_qr"}});
        let refused = app.post_json("/v1/payments", &app.test_key, &body).await;
        assert_eq!(refused.assert_error(404, "invalid_request_error", "resource_missing")["param"], "channel_account");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn channel_accounts_are_checked_before_they_are_stored_and_never_echo_secrets() {
    on_each_backend(|db| async {
        let app = TestApp::spawn_alipay(db).await;
        let key = app.test_key.clone();
        let (_, fields) = merchant_app(&app);
        let with = |change: Value| {
            let mut fields = fields.clone();
            fields.as_object_mut().unwrap().extend(change.as_object().unwrap().clone());
            json!({"channel": "alipay", "alipay": fields})
        };
        let cases = [
            (json!({"alipay": fields}), 400, "parameter_missing", "channel"),
            (json!({"channel": "paypal", "alipay": fields}), 400, "parameter_invalid", "channel"),
            (json!({"channel": "alipay"}), 400, "parameter_missing", "alipay"),
            (json!({"channel": "alipay", "alipay": fields, "wechatpay": {}}), 400, "parameter_unknown", "wechatpay"),
            (json!({"channel": "alipay", "alipay": fields, "secret": "x"}), 400, "parameter_unknown", "secret"),
            (json!({"channel": "alipay", "alipay": "text"}), 400, "parameter_invalid", "alipay"),
            (with(json!({"app_id": ""})), 400, "parameter_missing", "alipay[app_id]"),
            (with(json!({"colour": "red"})), 400, "parameter_unknown", "alipay[colour]"),
            (
                with(json!({"app_private_key": "-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----"})),
                400,
                "parameter_invalid",
                "alipay[app_private_key]",
            ),
            (with(json!({"alipay_public_key": "garbage"})), 400, "parameter_invalid", "alipay[alipay_public_key]"),
            (with(json!({"gateway_url": "ftp://gateway"})), 400, "parameter_invalid", "alipay[gateway_url]"),
            (with(json!({"app_private_key": "k".repeat(20_000)})), 400, "parameter_invalid", "alipay[app_private_key]"),
            (
                with(json!({"gateway_url": "https://openapi.alipay.com/gateway.do"})),
                400,
                "channel_account_mode_mismatch",
                "alipay[gateway_url]",
            ),
            (
                json!({"channel": "wechatpay", "wechatpay": {"base_url": "http://127.0.0.1:1", "mchid": "1900000001",
                "appid": "wx1", "merchant_serial_no": "AB", "merchant_private_key": fields["app_private_key"],
                "apiv3_key": "short", "platform_public_key_id": "PUB_KEY_ID_1",
                "platform_public_key": fields["alipay_public_key"]}}),
                400,
                "parameter_invalid",
                "wechatpay[apiv3_key]",
            ),
        ];
        for (body, status, code, param) in cases {
            let response = app.post_json("/v1/channel_accounts", &key, &body).await;
            let error = response.assert_error(status, "invalid_request_error", code);
            assert_eq!(error["param"], param, "{body}");
            assert!(!response.body.to_string().contains("not a key"), "an input was echoed");
        }
        let anonymous = app.call(axum::http::Method::POST, "/v1/channel_accounts", None).await;
        assert_eq!(anonymous.status, 401);
        assert_eq!(app.get("/v1/channel_accounts", &key).await.body["data"], json!([]), "nothing was stored");

        // A live account may not reach the sandbox nor hold its keys.
        let (_, live_key) = app.demo_key(payrail_domain::Mode::Live).await;
        let live = app.post_json("/v1/channel_accounts", &live_key, &with(json!({}))).await;
        live.assert_error(400, "invalid_request_error", "channel_account_mode_mismatch");
        let disguised = with(json!({"gateway_url": "https://openapi.alipay.com/gateway.do"}));
        let disguised = app.post_json("/v1/channel_accounts", &live_key, &disguised).await;
        assert_eq!(
            disguised.assert_error(400, "invalid_request_error", "channel_account_mode_mismatch")["param"],
            "alipay[alipay_public_key]",
            "the sandbox's Alipay key gives it away"
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accounts_and_routes_stay_in_their_merchant_and_mode() {
    on_each_backend(|db| async {
        let app = TestApp::spawn_alipay(db).await;
        let (_, fields) = merchant_app(&app);
        let id = create_account(&app, &app.test_key, &fields).await["id"].as_str().unwrap().to_owned();
        let (_, other_key, _) = app.other_merchant(MerchantStatus::Active).await;
        let (_, live_key) = app.demo_key(payrail_domain::Mode::Live).await;
        for key in [&other_key, &live_key] {
            let seen = app.get(&format!("/v1/channel_accounts/{id}"), key).await;
            seen.assert_error(404, "invalid_request_error", "resource_missing");
            assert_eq!(app.get("/v1/channel_accounts", key).await.body["data"], json!([]));
            let route = json!({"payment_method_type": "alipay_qr", "channel_account": id});
            let routed = app.post_json("/v1/channel_routes", key, &route).await;
            assert_eq!(
                routed.assert_error(404, "invalid_request_error", "resource_missing")["param"],
                "channel_account"
            );
            let update = json!({"description": "mine now"});
            let updated = app.post_json(&format!("/v1/channel_accounts/{id}"), key, &update).await;
            updated.assert_error(404, "invalid_request_error", "resource_missing");
            let body = json!({"amount": 100, "currency": "cny", "merchant_order_no": "theirs", "channel_account": id});
            let paid = app.post_json("/v1/payments", key, &body).await;
            paid.assert_error(404, "invalid_request_error", "resource_missing");
        }
        let card = json!({"payment_method_type": "card", "channel_account": id});
        let card = app.post_json("/v1/channel_routes", &app.test_key, &card).await;
        assert_eq!(
            card.assert_error(400, "invalid_request_error", "parameter_invalid")["param"],
            "payment_method_type"
        );
        let body = json!({"amount": 100, "currency": "cny", "merchant_order_no": "card", "channel_account": id,
            "confirm": true, "payment_method": {"type": "card", "card": {"number": "4242424242424242",
            "exp_month": 12, "exp_year": 2030, "cvc": "123"}}});
        let mismatch = app.post_json("/v1/payments", &app.test_key, &body).await;
        mismatch.assert_error(400, "invalid_request_error", "channel_account_mismatch");
        let not_routed = app
            .call(axum::http::Method::DELETE, "/v1/channel_routes/alipay_qr", Some(&format!("Bearer {}", app.test_key)))
            .await;
        not_routed.assert_error(404, "invalid_request_error", "resource_missing");

        // A key rotation keeps the account and checks the new key.
        let (_, rotated) = merchant_app(&app);
        let change = json!({"alipay": {"app_private_key": rotated["app_private_key"]}, "description": "rotated"});
        let updated = app.post_json(&format!("/v1/channel_accounts/{id}"), &app.test_key, &change).await;
        assert_eq!(updated.body["description"], "rotated", "{}", updated.body);
        let bad = json!({"alipay": {"app_private_key": "nope"}});
        let bad = app.post_json(&format!("/v1/channel_accounts/{id}"), &app.test_key, &bad).await;
        bad.assert_error(400, "invalid_request_error", "parameter_invalid");
        let channel = json!({"channel": "wechatpay"});
        let channel = app.post_json(&format!("/v1/channel_accounts/{id}"), &app.test_key, &channel).await;
        channel.assert_error(400, "invalid_request_error", "parameter_invalid");
    })
    .await;
}

/// A fresh merchant at the WeChat Pay simulator, as it would be copied from WeChat's
/// merchant platform.
fn merchant_wechatpay(app: &TestApp) -> (String, Value) {
    let credentials = crate::wechatpay::wechatpay(app).simulator.add_merchant().unwrap();
    let fields = json!({
        "base_url": credentials.base_url,
        "mchid": credentials.mchid,
        "appid": credentials.appid,
        "merchant_serial_no": credentials.merchant_serial_no,
        "merchant_private_key": credentials.merchant_private_key_pem.expose(),
        "apiv3_key": credentials.apiv3_key.expose(),
        "platform_public_key_id": credentials.platform_public_key_id,
        "platform_public_key": credentials.platform_public_key_pem,
        "v2_key": credentials.v2_key.expose(),
        "client_certificate": credentials.merchant_certificate_pem,
        "secapi_base_url": credentials.secapi_base_url,
        "secapi_ca_certificate": credentials.ca_certificate_pem,
    });
    (credentials.mchid, fields)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_merchants_own_wechat_pay_merchant_charges_qr_and_payment_code_payments() {
    on_each_backend(|db| async {
        let app = TestApp::spawn_wechatpay(db).await;
        let (mchid, fields) = merchant_wechatpay(&app);
        let body = json!({"channel": "wechatpay", "wechatpay": fields});
        let account = app.post_json("/v1/channel_accounts", &app.test_key, &body).await.body;
        let id = account["id"].as_str().unwrap().to_owned();
        assert_eq!(account["wechatpay"]["mchid"], mchid.as_str(), "{account}");
        assert_eq!(account["secrets_set"], json!(["apiv3_key", "merchant_private_key", "v2_key"]));
        assert!(!account.to_string().contains("PRIVATE KEY"), "a secret was shown");
        let route = json!({"payment_method_type": "wechat_native", "channel_account": id});
        assert_eq!(app.post_json("/v1/channel_routes", &app.test_key, &route).await.status, 200);

        let payment = crate::wechatpay::native_payment(&app, "own-wx-1").await;
        let payment_id = payment["id"].as_str().unwrap();
        crate::wechatpay::buyer_pays(&app, &payment).await;
        payment_reaches(&app, payment_id, "succeeded").await;
        let sent = crate::wechatpay::notifications_delivered(&app, 1).await;
        assert!(
            sent.iter().any(|n| n.url.ends_with(&format!("/notify/wechatpay/{id}"))),
            "{:?}",
            sent.iter().map(|n| &n.url).collect::<Vec<_>>()
        );
        let refund = crate::wechatpay::refund_started(&app, payment_id, 230).await;
        crate::wechatpay::refund_notified(&app, &refund).await;

        let code = json!({"amount": 500, "currency": "cny", "merchant_order_no": "own-wx-2", "confirm": true,
            "channel_account": id, "payment_method": {"type": "wechat_barcode",
            "wechat_barcode": {"auth_code": payrail_sandbox::wechatpay::CODE_IMMEDIATE_SUCCESS}}});
        let paid = app.post_json("/v1/payments", &app.test_key, &code).await.body;
        assert_eq!(
            (paid["status"].as_str(), paid["channel_account"].as_str()),
            (Some("succeeded"), Some(id.as_str())),
            "{paid}"
        );
        assert_eq!(crate::wechatpay::ledger_entries(&app).await, 3);

        // The platform's merchant cannot speak for an order of the merchant's own.
        let wrong = json!({"amount": 500, "currency": "cny", "merchant_order_no": "own-wx-3", "confirm": true,
            "channel_account": id, "payment_method": {"type": "alipay_qr"}});
        let wrong = app.post_json("/v1/payments", &app.test_key, &wrong).await;
        wrong.assert_error(400, "invalid_request_error", "channel_account_mismatch");
    })
    .await;
}
