//! `TestApp`: the router over a fresh database, a hand-moved clock and the demo merchant.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use payrail_channels::alipay::{AlipayClient, AlipayConfig};
use payrail_channels::card_network::CardNetworkClient;
use payrail_channels::wechatpay::{ClientCertificate, WechatPayClient, WechatPayConfig};
use payrail_crypto::rsa::RsaPrivateKey;
use payrail_domain::{MerchantStatus, Mode, Secret, Timestamp};
use payrail_http::{AppState, Limits, Metrics};
use payrail_sandbox::{
    AlipaySandbox, CardNetwork, WechatPay, WechatPayCredentials, alipay_router, card_network_router, wechatpay_router,
};
use payrail_service::{ManualClock, Payrail, Policy, ServerKeys};
use payrail_store::Store;
use payrail_testkit::TestDatabase;
use serde_json::Value;
use tower::ServiceExt;

pub const START_MS: i64 = 1_780_000_000_000;
/// Where payers would reach this Payrail; 3-D Secure sends them back under it.
pub const PUBLIC_BASE_URL: &str = "http://payrail.test";
/// How many times (25 ms apart) a test polls for something that happens in the background
/// before it gives up: 30 s, room for a loaded machine running every test at once.
pub const POLLS_MAX: usize = 1_200;

/// The card network simulator on a real local socket, so card payments cross a network
/// boundary as they do in production, and the socket Payrail is served on (once its router
/// exists). Payrail's test account always holds the notification secret; the simulator
/// notifies `/notify/card_network/test` only when `notifying`, so that tests of the sweep
/// see a settlement whose notification was lost.
async fn start_card_network(clock: &ManualClock, notifying: bool) -> StartedCardNetwork {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let payrail_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let notify_url = format!("http://{}/notify/card_network/test", payrail_listener.local_addr().unwrap());
    let (api_key, notification_secret) = ("test-acquirer-key".to_owned(), payrail_service::random_token());
    let mut network = CardNetwork::new(api_key.clone(), url.clone(), Arc::new(clock.clone()));
    if notifying {
        network = network.with_notifications(&notify_url, Secret::new(notification_secret.clone())).unwrap();
    }
    let router = card_network_router(network.clone());
    tokio::spawn(async move { axum::serve(listener, router).await });
    let client = CardNetworkClient::new(&url, Secret::new(api_key), 5_000).unwrap();
    let client = client.with_notification_secret(Secret::new(notification_secret.clone()));
    StartedCardNetwork { client, url, network, notification_secret, payrail_listener }
}

/// The Alipay simulator on a real local socket, notifying Payrail's test account over
/// HTTP, with a sandbox app for Payrail. Its Alipay key is kept so that tests can sign
/// notifications as Alipay does.
async fn start_alipay(clock: &ManualClock, payrail_address: SocketAddr, notified: bool) -> StartedAlipay {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let alipay_key_pem = RsaPrivateKey::generate().unwrap().to_pkcs8_pem().unwrap();
    let key = RsaPrivateKey::from_pem(&alipay_key_pem).unwrap();
    // Retries 60,000 times faster than Alipay's schedule: minutes become milliseconds.
    let sandbox = AlipaySandbox::with_alipay_key(&url, Arc::new(clock.clone()), key, 10_000, 60_000).unwrap();
    // Unnotified, Payrail's notifications go to a port nothing listens on: lost.
    let notify_address = if notified { payrail_address.to_string() } else { "127.0.0.1:9".to_owned() };
    let notify_prefix = format!("http://{notify_address}/notify/alipay/");
    sandbox.allow_notify_urls_starting_with(&notify_prefix);
    let credentials = sandbox.create_app().unwrap();
    let router = alipay_router(sandbox.clone());
    tokio::spawn(async move { axum::serve(listener, router).await });
    let config = AlipayConfig {
        gateway_url: credentials.gateway_url.clone(),
        app_id: credentials.app_id.clone(),
        app_private_key: credentials.app_private_key_pem.clone(),
        alipay_public_key: credentials.alipay_public_key_pem.clone(),
        timeout_ms: 5_000,
    };
    let client = AlipayClient::new(&config, Arc::new(clock.clone())).unwrap();
    let notify_url = format!("{notify_prefix}test");
    StartedAlipay { sandbox, url, alipay_key_pem, app_id: credentials.app_id, client, notify_url }
}

/// What an Alipay test needs of the simulator.
pub struct StartedAlipay {
    pub sandbox: AlipaySandbox,
    /// Where the simulator is mounted (`…/gateway.do`, `…/buyer/{trade_no}`).
    pub url: String,
    /// The simulator's Alipay private key (PKCS#8 PEM), to sign notifications with.
    pub alipay_key_pem: String,
    /// Payrail's app with the simulator.
    pub app_id: String,
    client: AlipayClient,
    notify_url: String,
}

/// The WeChat Pay simulator on a real local socket, with its `/secapi` mutual-TLS listener,
/// notifying Payrail's test account over HTTP (or, `notified` false, a port nothing
/// listens on), with a merchant for Payrail.
async fn start_wechatpay(clock: &ManualClock, payrail_address: SocketAddr, notified: bool) -> StartedWechatPay {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    // Retries 1,000 times faster than WeChat's schedule: 15 s becomes 15 ms.
    let simulator = WechatPay::with_limits(&url, Arc::new(clock.clone()), 10_000, 1_000).unwrap();
    simulator.serve_secapi("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let credentials = simulator.add_merchant().unwrap();
    let router = wechatpay_router(simulator.clone());
    tokio::spawn(async move { axum::serve(listener, router).await });
    let config = WechatPayConfig {
        base_url: credentials.base_url.clone(),
        mchid: credentials.mchid.clone(),
        appid: credentials.appid.clone(),
        merchant_serial_no: credentials.merchant_serial_no.clone(),
        merchant_private_key_pem: credentials.merchant_private_key_pem.clone(),
        apiv3_key: credentials.apiv3_key.clone(),
        platform_public_key_id: credentials.platform_public_key_id.clone(),
        platform_public_key_pem: credentials.platform_public_key_pem.clone(),
        v2_key: Some(credentials.v2_key.clone()),
        client_certificate: Some(ClientCertificate {
            certificate_pem: credentials.merchant_certificate_pem.clone(),
            private_key_pem: credentials.merchant_private_key_pem.clone(),
        }),
        secapi_base_url: credentials.secapi_base_url.clone(),
        secapi_ca_certificate_pem: Some(credentials.ca_certificate_pem.clone()),
        timeout_ms: 5_000,
    };
    let client = WechatPayClient::new(config, Arc::new(clock.clone())).unwrap();
    let notify_address = if notified { payrail_address.to_string() } else { "127.0.0.1:9".to_owned() };
    let notify_url = format!("http://{notify_address}/notify/wechatpay/test");
    StartedWechatPay { simulator, url, credentials, client, notify_url }
}

/// What a WeChat Pay test needs of the simulator.
pub struct StartedWechatPay {
    pub simulator: WechatPay,
    /// Where the simulator is mounted (`…/v3/…`, `…/buyer/{token}`).
    pub url: String,
    /// Payrail's merchant with the simulator.
    pub credentials: WechatPayCredentials,
    client: WechatPayClient,
    notify_url: String,
}

struct StartedCardNetwork {
    client: CardNetworkClient,
    url: String,
    network: CardNetwork,
    notification_secret: String,
    payrail_listener: tokio::net::TcpListener,
}

/// Which simulators a test app talks to besides the card network.
#[derive(Default)]
struct Options {
    /// The card network notifies Payrail of refunds that settle later.
    notifying: bool,
    /// The Alipay simulator is test mode's Alipay account.
    alipay: bool,
    /// Its notifications never reach Payrail.
    alipay_notifications_lost: bool,
    /// The WeChat Pay simulator is test mode's WeChat Pay account.
    wechatpay: bool,
    /// Its notifications never reach Payrail.
    wechatpay_notifications_lost: bool,
}

pub struct TestApp {
    pub router: Router,
    pub payrail: Payrail,
    pub clock: ManualClock,
    /// The demo merchant's test key secret.
    pub test_key: String,
    pub merchant_id: String,
    /// The card network simulator's base URL, for what a payer or the network itself does.
    pub card_network_url: String,
    /// The simulator itself, for the notifications it sent.
    pub card_network: CardNetwork,
    /// The secret the simulator signs notifications to Payrail's test account with.
    pub card_network_notification_secret: String,
    /// The Alipay simulator, when the test asked for it ([`TestApp::spawn_alipay`]).
    pub alipay: Option<StartedAlipay>,
    /// The WeChat Pay simulator, when the test asked for it ([`TestApp::spawn_wechatpay`]).
    pub wechatpay: Option<StartedWechatPay>,
    pub db: TestDatabase,
}

pub struct TestResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

impl TestApp {
    pub async fn spawn(db: TestDatabase) -> TestApp {
        TestApp::spawn_with_limits(db, Limits::default()).await
    }

    pub async fn spawn_with_limits(db: TestDatabase, limits: Limits) -> TestApp {
        TestApp::spawn_configured(db, limits, Box::new(|payrail| payrail), Options::default()).await
    }

    /// As [`TestApp::spawn_alipay`], with the service configured by `configure` first.
    pub async fn spawn_alipay_with(db: TestDatabase, configure: impl FnOnce(Payrail) -> Payrail + 'static) -> TestApp {
        let options = Options { alipay: true, ..Options::default() };
        TestApp::spawn_configured(db, Limits::default(), Box::new(configure), options).await
    }

    /// As [`TestApp::spawn_alipay`], with every Alipay notification lost on the way.
    pub async fn spawn_alipay_unnotified(db: TestDatabase) -> TestApp {
        let options = Options { alipay: true, alipay_notifications_lost: true, ..Options::default() };
        TestApp::spawn_configured(db, Limits::default(), Box::new(|payrail| payrail), options).await
    }

    /// With the Alipay simulator as test mode's Alipay account, notifying over HTTP.
    pub async fn spawn_alipay(db: TestDatabase) -> TestApp {
        TestApp::spawn_configured(
            db,
            Limits::default(),
            Box::new(|payrail| payrail),
            Options { alipay: true, ..Options::default() },
        )
        .await
    }

    /// With the WeChat Pay simulator as test mode's WeChat Pay account, notifying over
    /// HTTP, and the service configured by `configure` first.
    pub async fn spawn_wechatpay_with(
        db: TestDatabase,
        configure: impl FnOnce(Payrail) -> Payrail + 'static,
    ) -> TestApp {
        let options = Options { wechatpay: true, ..Options::default() };
        TestApp::spawn_configured(db, Limits::default(), Box::new(configure), options).await
    }

    /// As [`TestApp::spawn_wechatpay_with`], unconfigured.
    pub async fn spawn_wechatpay(db: TestDatabase) -> TestApp {
        TestApp::spawn_wechatpay_with(db, |payrail| payrail).await
    }

    /// As [`TestApp::spawn_wechatpay`], with every WeChat Pay notification lost on the way.
    pub async fn spawn_wechatpay_unnotified(db: TestDatabase) -> TestApp {
        let options = Options { wechatpay: true, wechatpay_notifications_lost: true, ..Options::default() };
        TestApp::spawn_configured(db, Limits::default(), Box::new(|payrail| payrail), options).await
    }

    /// With both the Alipay and the WeChat Pay simulators as test mode's accounts.
    pub async fn spawn_alipay_and_wechatpay(db: TestDatabase) -> TestApp {
        let options = Options { alipay: true, wechatpay: true, ..Options::default() };
        TestApp::spawn_configured(db, Limits::default(), Box::new(|payrail| payrail), options).await
    }

    pub async fn spawn_with_policy(db: TestDatabase, policy: Policy) -> TestApp {
        TestApp::spawn_with(db, move |payrail| payrail.with_policy(policy)).await
    }

    /// With the service configured by `configure` before it serves.
    pub async fn spawn_with(db: TestDatabase, configure: impl FnOnce(Payrail) -> Payrail + 'static) -> TestApp {
        TestApp::spawn_configured(db, Limits::default(), Box::new(configure), Options::default()).await
    }

    /// As [`TestApp::spawn_with`], with the card network simulator notifying Payrail.
    pub async fn spawn_notified(db: TestDatabase, configure: impl FnOnce(Payrail) -> Payrail + 'static) -> TestApp {
        let options = Options { notifying: true, ..Options::default() };
        TestApp::spawn_configured(db, Limits::default(), Box::new(configure), options).await
    }

    async fn spawn_configured(
        db: TestDatabase,
        limits: Limits,
        configure: Box<dyn FnOnce(Payrail) -> Payrail>,
        options: Options,
    ) -> TestApp {
        let clock = ManualClock::starting_at(Timestamp::from_unix_ms(START_MS).unwrap());
        let store = Store::open(&db.url, &db.options).await.expect("open store");
        store.migrate(Timestamp::from_unix_ms(START_MS).unwrap()).await.expect("migrate");
        let card_network = start_card_network(&clock, options.notifying).await;
        let mut payrail = Payrail::new(store, Arc::new(clock.clone()), ServerKeys::generate())
            .with_card_network(Mode::Test, card_network.client)
            .with_public_base_url(PUBLIC_BASE_URL);
        let mut alipay = None;
        if options.alipay {
            let payrail_address = card_network.payrail_listener.local_addr().unwrap();
            let started = start_alipay(&clock, payrail_address, !options.alipay_notifications_lost).await;
            // Merchants' own Alipay apps are told to notify this server's public address.
            payrail = payrail.with_public_base_url(&format!("http://{payrail_address}")).with_alipay(
                Mode::Test,
                started.client.clone(),
                &started.notify_url,
            );
            alipay = Some(started);
        }
        let mut wechatpay = None;
        if options.wechatpay {
            let payrail_address = card_network.payrail_listener.local_addr().unwrap();
            let started = start_wechatpay(&clock, payrail_address, !options.wechatpay_notifications_lost).await;
            // Merchants' own WeChat Pay accounts are told to notify this server's address.
            payrail = payrail.with_public_base_url(&format!("http://{payrail_address}")).with_wechatpay(
                Mode::Test,
                started.client.clone(),
                &started.notify_url,
            );
            wechatpay = Some(started);
        }
        let payrail = configure(payrail);
        payrail.verify_server_keys().await.expect("keys");
        let bootstrapped = payrail.bootstrap().await.expect("bootstrap").expect("first start");
        let state = AppState { payrail: payrail.clone(), limits, metrics: Arc::new(Metrics::default()) };
        let router = payrail_http::router(state);
        let served = router.clone();
        tokio::spawn(async move { axum::serve(card_network.payrail_listener, served).await });
        TestApp {
            router,
            payrail,
            clock,
            test_key: bootstrapped.demo_key.secret.expose().to_owned(),
            merchant_id: bootstrapped.demo_merchant.id.to_string(),
            card_network_url: card_network.url,
            card_network: card_network.network,
            card_network_notification_secret: card_network.notification_secret,
            alipay,
            wechatpay,
            db,
        }
    }

    /// A new merchant with the given status and one key per mode: (merchant id, test, live).
    pub async fn other_merchant(&self, status: MerchantStatus) -> (String, String, String) {
        let merchant = self.payrail.create_merchant("Other Shop", status).await.unwrap();
        let test = self.payrail.create_api_key(&merchant.id, Mode::Test).await.unwrap();
        let live = self.payrail.create_api_key(&merchant.id, Mode::Live).await.unwrap();
        (merchant.id.to_string(), test.secret.expose().to_owned(), live.secret.expose().to_owned())
    }

    /// Another key for the demo merchant.
    pub async fn demo_key(&self, mode: Mode) -> (String, String) {
        let id = self.merchant_id.parse().unwrap();
        let created = self.payrail.create_api_key(&id, mode).await.unwrap();
        (created.key.id.to_string(), created.secret.expose().to_owned())
    }

    pub async fn get(&self, path: &str, secret: &str) -> TestResponse {
        self.call(Method::GET, path, Some(&format!("Bearer {secret}"))).await
    }

    pub async fn post(&self, path: &str, secret: &str) -> TestResponse {
        self.call(Method::POST, path, Some(&format!("Bearer {secret}"))).await
    }

    /// `count` copies of one JSON POST sent at once; their status codes.
    pub async fn concurrent_posts(&self, count: usize, path: &str, body: &Value) -> Vec<u16> {
        let tasks: Vec<_> = (0..count)
            .map(|_| {
                let (router, key, path, body) =
                    (self.router.clone(), self.test_key.clone(), path.to_owned(), body.to_string());
                tokio::spawn(async move {
                    let request = Request::builder()
                        .method(Method::POST)
                        .uri(path)
                        .header("authorization", format!("Bearer {key}"))
                        .header("content-type", "application/json")
                        .body(Body::from(body))
                        .unwrap();
                    router.oneshot(request).await.unwrap().status().as_u16()
                })
            })
            .collect();
        let mut statuses = Vec::with_capacity(count);
        for task in tasks {
            statuses.push(task.await.unwrap());
        }
        statuses
    }

    /// A POST with a JSON body.
    pub async fn post_json(&self, path: &str, secret: &str, body: &Value) -> TestResponse {
        let request = Request::builder()
            .method(Method::POST)
            .uri(path)
            .header("authorization", format!("Bearer {secret}"))
            .header("content-type", "application/json")
            .body(Body::from(body.to_string()))
            .unwrap();
        self.send(request).await
    }

    pub async fn call(&self, method: Method, path: &str, authorization: Option<&str>) -> TestResponse {
        let mut request = Request::builder().method(method).uri(path);
        if let Some(value) = authorization {
            request = request.header("authorization", value);
        }
        self.send(request.body(Body::empty()).unwrap()).await
    }

    pub async fn send(&self, request: Request<Body>) -> TestResponse {
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = axum::body::to_bytes(response.into_body(), 16 * 1024 * 1024).await.unwrap();
        let body = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
        TestResponse { status, headers, body }
    }
}

impl TestResponse {
    /// Asserts this is an error with the envelope, the given status and code, and a
    /// request id matching the header; returns the error object.
    pub fn assert_error(&self, status: u16, error_type: &str, code: &str) -> &Value {
        assert_eq!(self.status.as_u16(), status, "body: {}", self.body);
        let error = &self.body["error"];
        assert_eq!(error["type"], error_type, "body: {}", self.body);
        assert_eq!(error["code"], code, "body: {}", self.body);
        let message = error["message"].as_str().expect("a message");
        assert!(!message.is_empty() && !message.ends_with('.'), "message style: {message}");
        let header_id = self.headers.get("request-id").expect("request-id header").to_str().unwrap();
        assert_eq!(error["request_id"], header_id);
        assert!(error.as_object().unwrap().contains_key("param"));
        error
    }
}
