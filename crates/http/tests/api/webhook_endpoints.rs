//! `/v1/webhook_endpoints` and `/v1/notification_secret`: secrets shown once and never
//! stored in clear, every change checked, every refusal changing nothing, and each key
//! seeing only its own merchant's endpoints in its own mode.

use axum::http::Method;
use payrail_domain::{MerchantStatus, Mode};
use payrail_store::webhook_endpoints;
use payrail_testkit::on_each_backend;
use serde_json::{Value, json};

use crate::helpers::TestApp;

const PATH: &str = "/v1/webhook_endpoints";

async fn create(app: &TestApp, body: Value) -> Value {
    let response = app.post_json(PATH, &app.test_key, &body).await;
    assert_eq!(response.status, 200, "{}", response.body);
    response.body
}

fn is_secret(value: &Value) -> bool {
    value.as_str().is_some_and(|s| s.len() == 70 && s.starts_with("whsec_"))
}

async fn refused(app: &TestApp, path: &str, body: Value, code: &str, param: Option<&str>) {
    let response = app.post_json(path, &app.test_key, &body).await;
    assert_eq!(response.status, 400, "{body}: {}", response.body);
    assert_eq!(response.body["error"]["code"], code, "{body}: {}", response.body);
    assert_eq!(response.body["error"]["param"].as_str(), param, "{body}");
}

#[tokio::test]
async fn an_endpoint_is_created_with_its_secret_once_then_changed_paused_rotated_and_deleted() {
    on_each_backend(|db| async {
        let app = TestApp::spawn(db).await;
        let created = create(&app, json!({"url": "https://shop.example/hooks", "enabled_events": ["payment.succeeded"], "description": "orders"})).await;
        assert!(is_secret(&created["secret"]), "{created}");
        let id = created["id"].as_str().unwrap().to_owned();
        assert!(id.starts_with("we_"));
        let secret = created["secret"].as_str().unwrap().to_owned();
        assert_eq!(created["secret_hint"], format!("whsec_…{}", &secret[secret.len() - 4..]));
        assert_eq!((&created["status"], &created["livemode"]), (&json!("enabled"), &json!(false)));

        let shown = app.get(&format!("{PATH}/{id}"), &app.test_key).await;
        assert_eq!(shown.status, 200);
        assert!(shown.body.get("secret").is_none(), "the secret is shown only once");
        let mut reader = app.payrail.store().reader().await.unwrap();
        let stored = webhook_endpoints::get(reader.conn(), &id.parse().unwrap()).await.unwrap().unwrap();
        drop(reader);
        assert!(!stored.secret.ciphertext.contains(&secret[6..]), "the secret is stored in clear");

        let path = format!("{PATH}/{id}");
        let changed = app.post_json(&path, &app.test_key, &json!({"url": "https://shop.example/v2", "enabled_events": ["*"], "description": ""})).await;
        assert_eq!(changed.status, 200, "{}", changed.body);
        assert_eq!((&changed.body["url"], &changed.body["enabled_events"], &changed.body["description"]), (&json!("https://shop.example/v2"), &json!(["*"]), &Value::Null));

        let paused = app.post(&format!("{path}/disable"), &app.test_key).await.body;
        assert_eq!((&paused["status"], &paused["disabled_reason"]), (&json!("disabled"), &json!("merchant")));
        let resumed = app.post(&format!("{path}/enable"), &app.test_key).await.body;
        assert_eq!((&resumed["status"], &resumed["disabled_reason"]), (&json!("enabled"), &Value::Null));

        let rotated = app.post_json(&format!("{path}/rotate_secret"), &app.test_key, &json!({"overlap_seconds": 3600})).await;
        assert_eq!(rotated.status, 200, "{}", rotated.body);
        assert!(is_secret(&rotated.body["secret"]) && rotated.body["secret"] != secret.as_str());

        let listed = app.get(PATH, &app.test_key).await.body;
        assert_eq!(listed["data"].as_array().unwrap().len(), 1);
        let deleted = app.call(Method::DELETE, &path, Some(&format!("Bearer {}", app.test_key))).await;
        assert_eq!(deleted.body, json!({"id": id, "object": "webhook_endpoint", "deleted": true}));
        assert_eq!(app.get(&path, &app.test_key).await.status, 404);
        assert_eq!(app.get(PATH, &app.test_key).await.body["data"], json!([]));
    })
    .await;
}

#[tokio::test]
async fn bad_input_is_refused_naming_the_parameter_and_changes_nothing() {
    on_each_backend(|db| async {
        let app = TestApp::spawn(db).await;
        let events = json!(["payment.succeeded"]);
        refused(&app, PATH, json!({"enabled_events": events}), "parameter_missing", Some("url")).await;
        refused(&app, PATH, json!({"url": "https://a.example"}), "parameter_missing", Some("enabled_events")).await;
        refused(&app, PATH, json!({"url": "ftp://a.example", "enabled_events": events}), "url_invalid", Some("url"))
            .await;
        refused(&app, PATH, json!({"url": 5, "enabled_events": events}), "parameter_invalid", Some("url")).await;
        refused(
            &app,
            PATH,
            json!({"url": "https://a.example", "enabled_events": "payment.succeeded"}),
            "parameter_invalid",
            Some("enabled_events"),
        )
        .await;
        refused(
            &app,
            PATH,
            json!({"url": "https://a.example", "enabled_events": ["payment.paid"]}),
            "parameter_invalid",
            Some("enabled_events"),
        )
        .await;
        refused(
            &app,
            PATH,
            json!({"url": "https://a.example", "enabled_events": ["*", "refund.created"]}),
            "parameter_invalid",
            Some("enabled_events"),
        )
        .await;
        refused(
            &app,
            PATH,
            json!({"url": "https://a.example", "enabled_events": events, "description": "d".repeat(501)}),
            "parameter_invalid",
            Some("description"),
        )
        .await;
        refused(
            &app,
            PATH,
            json!({"url": "https://a.example", "enabled_events": events, "secret": "whsec_mine"}),
            "parameter_unknown",
            Some("secret"),
        )
        .await;
        let url = format!("https://a.example/{}", "p".repeat(2048));
        refused(&app, PATH, json!({"url": url, "enabled_events": events}), "url_invalid", Some("url")).await;
        assert_eq!(app.get(PATH, &app.test_key).await.body["data"], json!([]), "nothing was created");

        let id = create(&app, json!({"url": "https://a.example", "enabled_events": events})).await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let rotate = format!("{PATH}/{id}/rotate_secret");
        refused(&app, &rotate, json!({"overlap_seconds": -1}), "parameter_invalid", Some("overlap_seconds")).await;
        refused(&app, &rotate, json!({"overlap_seconds": 604_801}), "parameter_invalid", Some("overlap_seconds")).await;
        refused(
            &app,
            &format!("{PATH}/{id}"),
            json!({"enabled_events": []}),
            "parameter_invalid",
            Some("enabled_events"),
        )
        .await;
        for n in 1..16 {
            create(&app, json!({"url": format!("https://a.example/{n}"), "enabled_events": events})).await;
        }
        refused(
            &app,
            PATH,
            json!({"url": "https://a.example/17", "enabled_events": events}),
            "webhook_endpoints_limit",
            None,
        )
        .await;
        assert_eq!(app.get(&format!("{PATH}/we_nonsense"), &app.test_key).await.status, 404);
        assert_eq!(app.get(&format!("{PATH}?limit=0"), &app.test_key).await.status, 400);
        assert_eq!(app.call(Method::GET, PATH, None).await.status, 401);
    })
    .await;
}

#[tokio::test]
async fn endpoints_are_seen_only_by_their_merchant_in_their_mode() {
    on_each_backend(|db| async {
        let app = TestApp::spawn(db).await;
        let id = create(&app, json!({"url": "https://a.example", "enabled_events": ["*"]})).await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let path = format!("{PATH}/{id}");
        let (_, other_test, _) = app.other_merchant(MerchantStatus::Active).await;
        let (_, own_live) = app.demo_key(Mode::Live).await;
        for key in [&other_test, &own_live] {
            assert_eq!(app.get(&path, key).await.status, 404);
            assert_eq!(app.post(&format!("{path}/disable"), key).await.status, 404);
            assert_eq!(app.post(&format!("{path}/rotate_secret"), key).await.status, 404);
            assert_eq!(app.call(Method::DELETE, &path, Some(&format!("Bearer {key}"))).await.status, 404);
            assert_eq!(app.get(PATH, key).await.body["data"], json!([]));
        }
        assert_eq!(app.get(&path, &app.test_key).await.body["status"], "enabled", "untouched by the others");
    })
    .await;
}

#[tokio::test]
async fn the_notification_secret_is_shown_on_first_read_only_and_rotates_with_an_overlap() {
    on_each_backend(|db| async {
        let app = TestApp::spawn(db).await;
        let first = app.get("/v1/notification_secret", &app.test_key).await.body;
        assert!(is_secret(&first["secret"]), "{first}");
        let again = app.get("/v1/notification_secret", &app.test_key).await.body;
        assert_eq!((&again["secret"], &again["secret_hint"]), (&Value::Null, &first["secret_hint"]));
        let rotated =
            app.post_json("/v1/notification_secret/rotate", &app.test_key, &json!({"overlap_seconds": 60})).await;
        assert!(is_secret(&rotated.body["secret"]) && rotated.body["secret"] != first["secret"]);
        let after = app.get("/v1/notification_secret", &app.test_key).await.body;
        assert_eq!(after["previous_secret_expires_at"], app.payrail.clock().now().unix_seconds() + 60);
        let (_, own_live) = app.demo_key(Mode::Live).await;
        let live = app.get("/v1/notification_secret", &own_live).await.body;
        assert!(is_secret(&live["secret"]) && live["livemode"] == true, "each mode has its own");
        let bad =
            app.post_json("/v1/notification_secret/rotate", &app.test_key, &json!({"overlap_seconds": "soon"})).await;
        assert_eq!((bad.status.as_u16(), bad.body["error"]["param"].as_str()), (400, Some("overlap_seconds")));
    })
    .await;
}
