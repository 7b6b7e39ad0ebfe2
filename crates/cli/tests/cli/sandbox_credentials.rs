//! `payrail sandbox credentials`: the printed credentials let outside clients (here
//! Payrail's own channel clients, standing in for any SDK) talk to the running server's
//! simulators as if they were Alipay and WeChat Pay, and they stay the same from one
//! process to the next.

use std::sync::Arc;
use std::time::Duration;

use payrail_channels::alipay::{AlipayClient, AlipayConfig, CancelOutcome, PrecreateRequest};
use payrail_channels::wechatpay::{ClientCertificate, Fen, OrderRequest, WechatPayClient, WechatPayConfig};
use payrail_domain::{Currency, Money, Secret};
use payrail_service::SystemClock;
use payrail_testkit::on_each_backend;
use serde_json::Value;

use crate::helpers::Setup;

fn text(credentials: &Value, provider: &str, field: &str) -> String {
    credentials[provider][field].as_str().unwrap_or_else(|| panic!("no {provider}.{field} in {credentials}")).to_owned()
}

/// An Alipay client set up with nothing but the printed credentials, as an SDK would be.
pub fn alipay_client(credentials: &Value) -> AlipayClient {
    let config = AlipayConfig {
        gateway_url: text(credentials, "alipay", "gateway_url"),
        app_id: text(credentials, "alipay", "app_id"),
        app_private_key: Secret::new(text(credentials, "alipay", "app_private_key_pem")),
        alipay_public_key: text(credentials, "alipay", "alipay_public_key_pem"),
        timeout_ms: 10_000,
    };
    AlipayClient::new(&config, Arc::new(SystemClock)).expect("an Alipay client")
}

/// A WeChat Pay client set up with nothing but the printed credentials; with the secapi
/// listener's settings when they are given (the server's page gives them).
pub fn wechatpay_client(credentials: &Value) -> WechatPayClient {
    let optional = |field: &str| credentials["wechatpay"][field].as_str().map(str::to_owned);
    let merchant_private_key_pem = Secret::new(text(credentials, "wechatpay", "merchant_private_key_pem"));
    let client_certificate = optional("merchant_certificate_pem").map(|certificate_pem| ClientCertificate {
        certificate_pem,
        private_key_pem: merchant_private_key_pem.clone(),
    });
    let config = WechatPayConfig {
        base_url: text(credentials, "wechatpay", "base_url"),
        mchid: text(credentials, "wechatpay", "mchid"),
        appid: text(credentials, "wechatpay", "appid"),
        merchant_serial_no: text(credentials, "wechatpay", "merchant_serial_no"),
        merchant_private_key_pem,
        apiv3_key: Secret::new(text(credentials, "wechatpay", "apiv3_key")),
        platform_public_key_id: text(credentials, "wechatpay", "platform_public_key_id"),
        platform_public_key_pem: text(credentials, "wechatpay", "platform_public_key_pem"),
        v2_key: Some(Secret::new(text(credentials, "wechatpay", "v2_key"))),
        client_certificate,
        secapi_base_url: optional("secapi_base_url"),
        secapi_ca_certificate_pem: optional("ca_certificate_pem"),
        timeout_ms: 10_000,
    };
    WechatPayClient::new(config, Arc::new(SystemClock)).expect("a WeChat Pay client")
}

/// 12.34 CNY.
pub fn cny_1234() -> Money {
    Money::new(1234, Currency::parse("CNY").expect("CNY"))
}

/// The printed Alipay app's request is taken by the running gateway (within the second a
/// running server takes to pick up accounts another process made).
pub async fn alipay_takes_a_precreate(credentials: &Value, out_trade_no: &str) {
    let request = PrecreateRequest {
        out_trade_no: out_trade_no.into(),
        amount: cny_1234(),
        subject: "credentials".into(),
        notify_url: None,
        time_expire: None,
    };
    let client = alipay_client(credentials);
    let mut tries = 0;
    let precreated = loop {
        match client.precreate(&request).await {
            Ok(precreated) => break precreated,
            // An unknown app's answer is unsigned, so the client names the code it claims.
            Err(error) if error.to_string().contains("isv.invalid-app-id") && tries < PICKUP_TRIES_MAX => tries += 1,
            Err(error) => panic!("the gateway refused the printed app's request: {error}"),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(precreated.qr_code.contains("/sandbox/alipay/buyer/"), "{precreated:?}");
}

/// Waits until the running server's WeChat Pay simulator knows the printed merchant (it may
/// have taken up the Alipay app a pass before): a query of an order never placed answers
/// "not found" rather than refusing the caller.
async fn wechatpay_merchant_known(credentials: &Value) {
    let client = wechatpay_client(credentials);
    for _ in 0..PICKUP_TRIES_MAX {
        if client.query("T-NEVER-PLACED").await.is_ok_and(|found| found.is_none()) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the running server never took up the printed WeChat Pay merchant");
}

/// How many times a client tries, 100 ms apart, before a running server must have taken
/// up credentials another process made (it looks every second).
const PICKUP_TRIES_MAX: u32 = 50;

#[tokio::test]
async fn sandbox_credentials_reach_the_running_simulators_and_stay_the_same() {
    on_each_backend(|database| async move {
        let setup = Setup::new(database);
        let server = setup.start_server();
        let listen = format!("127.0.0.1:{}", server.port);
        let printed = setup.run_ok(&["--listen", &listen, "sandbox", "credentials", "--json"]);
        assert_eq!(printed, setup.run_ok(&["--listen", &listen, "sandbox", "credentials", "--json"]));
        let credentials: Value = serde_json::from_str(&printed).expect("JSON");
        alipay_takes_a_precreate(&credentials, "T-CREDENTIALS-1").await;
        wechatpay_merchant_known(&credentials).await;
        let order = OrderRequest {
            out_trade_no: "T-CREDENTIALS-2".into(),
            description: "credentials".into(),
            amount: Fen::parse(cny_1234()).expect("fen"),
            notify_url: "https://shop.test/notify".into(),
            time_expire: None,
            attach: None,
        };
        let elsewhere = wechatpay_client(&credentials).native(&order).await;
        assert_eq!(
            elsewhere.as_ref().err().and_then(|error| error.code()),
            Some("PARAM_ERROR"),
            "serve's simulator notifies only serve itself"
        );
        let order = OrderRequest { notify_url: format!("http://{listen}/notify/wechatpay/test"), ..order };
        let code_url = wechatpay_client(&credentials)
            .native(&order)
            .await
            .expect("the simulator takes the printed merchant's request");
        assert!(code_url.starts_with("weixin://wxpay/bizpayurl?pr="), "{code_url}");
        let order = OrderRequest { out_trade_no: "T-CREDENTIALS-3".into(), ..order };
        let other_id = setup.create_merchant("Night Market", "active");
        let other = setup.run_ok(&["--listen", &listen, "sandbox", "credentials", "--json", "--merchant", &other_id]);
        let other: Value = serde_json::from_str(&other).expect("JSON");
        each_merchant_has_its_own(&credentials, &other, &order).await;
        assert!(credentials["wechatpay"].get("secapi_base_url").is_none(), "the CLI cannot know the secapi listener");

        let text_form = setup.run_ok(&["--listen", &listen, "sandbox", "credentials"]);
        assert!(text_form.contains("[alipay]") && text_form.contains("[wechatpay]"), "{text_form}");
        let page = format!("http://{listen}/sandbox/credentials");
        assert!(text_form.contains("Not known here") && text_form.contains(&page), "{text_form}");
        let unknown = setup.run(&["sandbox", "credentials", "--merchant", "mer_00000000000000000000000000"]);
        assert!(!unknown.status.success(), "an unknown merchant was accepted:\n{}", unknown.describe());
    })
    .await;
}

/// Two merchants' sandbox credentials share no identity nor key, and neither merchant's
/// can see the other's trades at the simulators.
async fn each_merchant_has_its_own(demo: &Value, other: &Value, order: &OrderRequest) {
    for (provider, field) in [
        ("alipay", "app_id"),
        ("alipay", "app_private_key_pem"),
        ("wechatpay", "mchid"),
        ("wechatpay", "merchant_private_key_pem"),
        ("wechatpay", "apiv3_key"),
        ("wechatpay", "v2_key"),
    ] {
        assert_ne!(demo[provider][field], other[provider][field], "{provider}.{field} is shared");
    }
    alipay_takes_a_precreate(other, "T-CREDENTIALS-4").await;
    wechatpay_merchant_known(other).await;
    let other_alipay = alipay_client(other);
    assert!(other_alipay.query("T-CREDENTIALS-4").await.expect("a query").is_none(), "not scanned yet");
    let demo_alipay = alipay_client(demo);
    let cancelled = demo_alipay.cancel("T-CREDENTIALS-4").await.expect("a cancel");
    assert_eq!(cancelled, CancelOutcome::NotFound, "the demo merchant's app reached another's trade");
    let cancelled = other_alipay.cancel("T-CREDENTIALS-4").await.expect("a cancel");
    assert_eq!(cancelled, CancelOutcome::Closed, "its own app cancels it");

    wechatpay_client(demo).native(order).await.expect("the demo merchant's order");
    assert!(wechatpay_client(demo).query(&order.out_trade_no).await.expect("a query").is_some());
    let seen = wechatpay_client(other).query(&order.out_trade_no).await.expect("a query");
    assert!(seen.is_none(), "another merchant's mchid sees the demo merchant's order: {seen:?}");
}
