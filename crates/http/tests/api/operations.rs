//! Health, readiness, metrics, the OpenAPI document, the docs UI, and the envelope on
//! errors the router itself produces.

use axum::body::Body;
use axum::http::{Method, Request};
use payrail_testkit::on_each_backend;

use crate::helpers::TestApp;

#[tokio::test]
async fn health_and_readiness_answer_without_a_key() {
    on_each_backend(|db| async {
        let app = TestApp::spawn(db).await;
        let health = app.call(Method::GET, "/healthz", None).await;
        assert_eq!((health.status.as_u16(), health.body["status"].as_str()), (200, Some("ok")));
        let ready = app.call(Method::GET, "/readyz", None).await;
        assert_eq!((ready.status.as_u16(), ready.body["status"].as_str()), (200, Some("ready")));
    })
    .await;
}

#[tokio::test]
async fn without_a_database_readiness_fails_and_errors_reveal_nothing_internal() {
    on_each_backend(|db| async {
        let app = TestApp::spawn(db).await;
        app.payrail.store().close().await;
        app.call(Method::GET, "/readyz", None).await.assert_error(503, "api_error", "database_unreachable");
        assert_eq!(app.call(Method::GET, "/healthz", None).await.status, 200);
        let response = app.get("/v1/account", &app.test_key).await;
        response.assert_error(500, "api_error", "internal_error");
        let body = response.body.to_string().to_lowercase();
        for internal in ["pool", "sqlx", "sqlite", "postgres", "closed", ".rs", "panicked"] {
            assert!(!body.contains(internal), "500 body reveals {internal:?}: {body}");
        }
    })
    .await;
}

#[tokio::test]
async fn metrics_count_requests_by_route_pattern_not_by_path() {
    on_each_backend(|db| async {
        let app = TestApp::spawn(db).await;
        app.get("/v1/account", &app.test_key).await;
        app.call(Method::GET, "/v1/account", None).await;
        app.get("/v1/api_keys/key_00000000000000000000000000", &app.test_key).await;
        let response = app.call(Method::GET, "/metrics", None).await;
        assert_eq!(response.status, 200);
        assert!(response.headers["content-type"].to_str().unwrap().starts_with("text/plain; version=0.0.4"));
        let text = response.body.as_str().unwrap();
        for line in [
            "payrail_http_requests_total{method=\"GET\",route=\"/v1/account\",status=\"200\"} 1",
            "payrail_http_requests_total{method=\"GET\",route=\"/v1/account\",status=\"401\"} 1",
            "payrail_http_requests_total{method=\"GET\",route=\"/v1/api_keys/{id}\",status=\"404\"} 1",
            "payrail_http_request_duration_seconds_count{route=\"/v1/account\"} 2",
        ] {
            assert!(text.contains(line), "missing {line} in\n{text}");
        }
        assert!(!text.contains("key_0000"), "a path leaked into labels");
    })
    .await;
}

#[tokio::test]
async fn the_openapi_document_is_3_1_and_describes_the_api() {
    on_each_backend(|db| async {
        let app = TestApp::spawn(db).await;
        let response = app.call(Method::GET, "/openapi.json", None).await;
        assert_eq!(response.status, 200);
        let document = &response.body;
        assert!(document["openapi"].as_str().unwrap().starts_with("3.1"));
        for path in
            ["/v1/account", "/v1/api_keys", "/v1/api_keys/{id}", "/v1/api_keys/{id}/revoke", "/healthz", "/readyz"]
        {
            assert!(document["paths"][path].is_object(), "{path} missing");
        }
        assert_eq!(document["components"]["securitySchemes"]["api_key"]["scheme"], "bearer");
        assert!(document["components"]["schemas"]["ErrorEnvelope"].is_object());
    })
    .await;
}

#[tokio::test]
async fn the_docs_ui_is_served_from_the_binary_without_any_cdn() {
    on_each_backend(|db| async {
        let app = TestApp::spawn(db).await;
        let index = app.call(Method::GET, "/docs/", None).await;
        assert_eq!(index.status, 200);
        let html = index.body.as_str().unwrap();
        assert!(html.contains("swagger-ui"), "{html}");
        for script in ["/docs/swagger-ui-bundle.js", "/docs/swagger-initializer.js", "/docs/swagger-ui.css"] {
            let response = app.call(Method::GET, script, None).await;
            assert_eq!(response.status, 200, "{script}");
            let text = response.body.as_str().unwrap_or_default();
            assert!(!text.contains("cdn.jsdelivr") && !text.contains("unpkg.com"), "{script} loads from a CDN");
        }
        let initializer = app.call(Method::GET, "/docs/swagger-initializer.js", None).await;
        assert!(initializer.body.as_str().unwrap().contains("/openapi.json"));
    })
    .await;
}

#[tokio::test]
async fn unknown_routes_and_wrong_methods_get_the_envelope() {
    on_each_backend(|db| async {
        let app = TestApp::spawn(db).await;
        app.call(Method::GET, "/v1/nothing-here", None).await.assert_error(
            404,
            "invalid_request_error",
            "route_not_found",
        );
        app.call(Method::DELETE, "/v1/account", Some(&format!("Bearer {}", app.test_key))).await.assert_error(
            405,
            "invalid_request_error",
            "method_not_allowed",
        );
        let oversized = Request::builder()
            .method(Method::POST)
            .uri("/v1/api_keys/key_00000000000000000000000000/revoke")
            .header("authorization", format!("Bearer {}", app.test_key))
            .header("content-length", "100000000")
            .body(Body::from(vec![b'x'; 1024]))
            .unwrap();
        let response = app.send(oversized).await;
        assert!(response.status.is_client_error(), "{}", response.status);
    })
    .await;
}
