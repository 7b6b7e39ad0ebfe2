//! Webhook deliveries to a receiver on a real `127.0.0.1` socket (loopback allowed, as the
//! development default does): what success, failures, redirects, large answers and
//! silence are recorded as, and the concurrency limits.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::post;
use payrail_channels::webhook::{
    AddressPolicy, CheckedTarget, DeliveryResult, SNIPPET_BYTES_MAX, SenderConfig, WebhookSender, check_url,
};
use tokio::net::TcpListener;

/// What the receiver saw: each request's path, headers and body, and how many it held at once.
#[derive(Default)]
struct Seen {
    requests: Mutex<Vec<(String, HeaderMap, Vec<u8>)>>,
    in_flight: AtomicUsize,
    in_flight_max: AtomicUsize,
}

type Shared = Arc<Seen>;

fn record(seen: &Seen, path: &str, headers: HeaderMap, body: axum::body::Bytes) {
    seen.requests.lock().unwrap().push((path.to_owned(), headers, body.to_vec()));
}

async fn ok(State(seen): State<Shared>, headers: HeaderMap, body: axum::body::Bytes) -> &'static str {
    record(&seen, "/ok", headers, body);
    "received"
}

async fn fail(State(seen): State<Shared>, headers: HeaderMap, body: axum::body::Bytes) -> impl IntoResponse {
    record(&seen, "/fail", headers, body);
    (StatusCode::INTERNAL_SERVER_ERROR, "database is down")
}

async fn redirect(State(seen): State<Shared>, headers: HeaderMap, body: axum::body::Bytes) -> impl IntoResponse {
    record(&seen, "/redirect", headers, body);
    (StatusCode::FOUND, [(header::LOCATION, "/ok")], "moved")
}

async fn large() -> String {
    // Multi-byte characters, so the 1 KiB cut lands inside one.
    "é".repeat(100_000)
}

async fn hang() -> &'static str {
    std::future::pending::<()>().await;
    "never"
}

async fn slow(State(seen): State<Shared>) -> &'static str {
    let now = seen.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    seen.in_flight_max.fetch_max(now, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(100)).await;
    seen.in_flight.fetch_sub(1, Ordering::SeqCst);
    "slow"
}

/// Serves the receiver on a fresh local port until the test's runtime ends.
async fn receiver() -> (String, Shared) {
    let seen = Shared::default();
    let app = Router::new()
        .route("/ok", post(ok))
        .route("/fail", post(fail))
        .route("/redirect", post(redirect))
        .route("/large", post(large))
        .route("/hang", post(hang))
        .route("/slow", post(slow))
        .with_state(Arc::clone(&seen));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://127.0.0.1:{port}"), seen)
}

async fn target(url: &str) -> CheckedTarget {
    let laptop = AddressPolicy { allow_loopback: true, allowed_networks: Vec::new() };
    check_url(url, &laptop).await.unwrap()
}

fn sender(timeout_ms: u64) -> WebhookSender {
    WebhookSender::new(SenderConfig { timeout_ms, ..SenderConfig::default() }).unwrap()
}

const BODY: &[u8] = br#"{"id":"evt_1","object":"event"}"#;
const HEADERS: [(&str, &str); 3] =
    [("Content-Type", "application/json"), ("Payrail-Event-Id", "evt_1"), ("Payrail-Signature", "t=1,v1=ab")];

async fn deliver(url: &str, timeout_ms: u64) -> DeliveryResult {
    sender(timeout_ms).send(&target(url).await, &HEADERS, BODY).await
}

#[tokio::test]
async fn a_2xx_answer_is_a_success_and_the_receiver_gets_the_body_and_headers() {
    let (base, seen) = receiver().await;
    let result = deliver(&format!("{base}/ok"), 5_000).await;
    assert!(result.succeeded(), "{result:?}");
    assert_eq!((result.status, result.snippet.as_str(), result.error), (Some(200), "received", None));
    let requests = seen.requests.lock().unwrap();
    let (path, headers, body) = &requests[0];
    assert_eq!((path.as_str(), body.as_slice()), ("/ok", BODY));
    assert_eq!(headers["payrail-event-id"], "evt_1");
    assert_eq!(headers["payrail-signature"], "t=1,v1=ab");
    assert_eq!(headers["content-type"], "application/json");
    assert!(headers["user-agent"].to_str().unwrap().starts_with("Payrail/"));
}

#[tokio::test]
async fn a_host_name_is_reached_at_its_checked_address() {
    let (base, seen) = receiver().await;
    let by_name = base.replace("127.0.0.1", "localhost");
    let result = deliver(&format!("{by_name}/ok"), 5_000).await;
    assert!(result.succeeded(), "{result:?}");
    assert_eq!(seen.requests.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn a_500_is_a_failure_recorded_with_its_status_and_snippet() {
    let (base, _) = receiver().await;
    let result = deliver(&format!("{base}/fail"), 5_000).await;
    assert!(!result.succeeded());
    assert_eq!(result.status, Some(500));
    assert_eq!(result.snippet, "database is down");
    assert_eq!(result.error.as_deref(), Some("status_not_2xx"));
}

#[tokio::test]
async fn a_redirect_is_not_followed_and_is_a_failure() {
    let (base, seen) = receiver().await;
    let result = deliver(&format!("{base}/redirect"), 5_000).await;
    assert!(!result.succeeded());
    assert_eq!((result.status, result.error.as_deref()), (Some(302), Some("redirect_not_followed")));
    let paths: Vec<String> = seen.requests.lock().unwrap().iter().map(|(path, _, _)| path.clone()).collect();
    assert_eq!(paths, ["/redirect"], "the redirect target must not be requested");
}

#[tokio::test]
async fn a_large_answer_is_cut_to_1_kib_on_a_character_boundary() {
    let (base, _) = receiver().await;
    let result = deliver(&format!("{base}/large"), 5_000).await;
    assert!(result.succeeded(), "{result:?}");
    assert_eq!(SNIPPET_BYTES_MAX, 1024);
    assert_eq!(result.snippet, "é".repeat(512));
}

#[tokio::test]
async fn a_receiver_that_never_answers_times_out() {
    let (base, _) = receiver().await;
    let result = deliver(&format!("{base}/hang"), 300).await;
    assert!(!result.succeeded());
    assert_eq!((result.status, result.error.as_deref()), (None, Some("timeout")));
}

#[tokio::test]
async fn a_refused_connection_is_a_failure_before_any_status() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/ok", listener.local_addr().unwrap());
    drop(listener);
    let result = deliver(&url, 5_000).await;
    assert_eq!((result.status, result.error.as_deref()), (None, Some("connection_failed")));
}

#[tokio::test]
async fn invalid_headers_are_refused_without_sending() {
    let (base, seen) = receiver().await;
    let target = target(&format!("{base}/ok")).await;
    let result = sender(5_000).send(&target, &[("Payrail-Event-Id", "evt\r\nX-Injected: 1")], BODY).await;
    assert_eq!((result.status, result.error.as_deref()), (None, Some("request_invalid")));
    assert!(seen.requests.lock().unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deliveries_in_flight_are_limited_per_host_and_overall() {
    let (base, seen) = receiver().await;
    let config = SenderConfig { timeout_ms: 5_000, concurrency_max: 8, concurrency_per_host_max: 2 };
    send_at_once(WebhookSender::new(config).unwrap(), &[&format!("{base}/slow")], 6).await;
    assert!(seen.in_flight_max.load(Ordering::SeqCst) <= 2, "per host limit exceeded");

    // Two host names for one receiver: the overall limit holds across hosts.
    let (base, seen) = receiver().await;
    let config = SenderConfig { timeout_ms: 5_000, concurrency_max: 1, concurrency_per_host_max: 1 };
    let by_name = base.replace("127.0.0.1", "localhost");
    send_at_once(WebhookSender::new(config).unwrap(), &[&format!("{base}/slow"), &format!("{by_name}/slow")], 3).await;
    assert_eq!(seen.in_flight_max.load(Ordering::SeqCst), 1, "overall limit exceeded");
}

/// Sends `each` deliveries to every URL at once and asserts they all succeed.
async fn send_at_once(sender: WebhookSender, urls: &[&str], each: usize) {
    let mut tasks = Vec::new();
    for url in urls {
        let target = target(url).await;
        for _ in 0..each {
            let (sender, target) = (sender.clone(), target.clone());
            tasks.push(tokio::spawn(async move { sender.send(&target, &HEADERS, BODY).await }));
        }
    }
    for task in tasks {
        let result = task.await.unwrap();
        assert!(result.succeeded(), "{result:?}");
    }
}
