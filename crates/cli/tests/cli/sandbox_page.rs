//! `GET /sandbox/credentials` of `payrail serve`: a test-mode key sees the document
//! `payrail sandbox credentials --json` prints plus this run's WeChat Pay secapi listener
//! (as JSON, or as a page for a browser), and those credentials work; no key, a live key,
//! an unknown, revoked or suspended merchant's key see nothing, and nothing is cached or
//! logged.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use payrail_channels::wechatpay::{Fen, MicropayRequest};
use payrail_testkit::on_each_backend;
use serde_json::Value;

use crate::helpers::{Setup, test_key_in};
use crate::http::{Response, assert_error, http_get_with};
use crate::sandbox_credentials::{alipay_takes_a_precreate, cny_1234, wechatpay_client};
use crate::server::Server;

const PAGE: &str = "/sandbox/credentials";
const BROWSER_ACCEPT: &str = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";
/// What only a running server knows, on top of what the CLI prints.
const SECAPI_FIELDS: [&str; 3] = ["secapi_base_url", "merchant_certificate_pem", "ca_certificate_pem"];
/// The simulator's code for a payer who never confirms: the order waits to be reversed.
const NEVER_CONFIRMED_CODE: &str = "134610000000000003";

fn get(server: &Server, headers: &[(&str, &str)]) -> Response {
    let response = http_get_with(server.port, PAGE, headers).expect("the page answered");
    assert_eq!(response.header("cache-control"), Some("no-store"), "{}", response.body);
    response
}

fn bearer(secret: &str) -> String {
    format!("Bearer {secret}")
}

/// A refusal in the API's envelope; a 401 asks a browser for the key.
fn check_refused(server: &Server, secret: Option<&str>, status: u16, code: &str) {
    let authorization = secret.map(bearer);
    let headers: Vec<(&str, &str)> = authorization.iter().map(|value| ("Authorization", value.as_str())).collect();
    let response = get(server, &headers);
    let error_type = if status == 401 { "authentication_error" } else { "permission_error" };
    assert_error(&response, status, error_type, code);
    let challenge = response.header("www-authenticate");
    assert_eq!(challenge, (status == 401).then_some("Basic realm=\"Payrail sandbox\""), "{code}");
}

#[tokio::test]
async fn a_test_key_sees_what_the_cli_prints_and_this_runs_secapi_and_the_keys_work() {
    on_each_backend(|database| async move {
        let setup = Setup::new(database);
        let server = setup.start_server();
        let secret = test_key_in(&server.stdout()).expect("a test key on first start");
        let answered = get(&server, &[("Authorization", &bearer(&secret))]);
        assert_eq!(answered.status, 200, "{}", answered.body);
        assert!(answered.header("content-type").is_some_and(|value| value.starts_with("application/json")));
        let page = answered.json();
        let listen = format!("127.0.0.1:{}", server.port);
        let printed = setup.run_ok(&["--listen", &listen, "sandbox", "credentials", "--json"]);
        let printed: Value = serde_json::from_str(&printed).expect("JSON");
        for provider in ["alipay", "wechatpay"] {
            let fields = printed[provider].as_object().expect("a section per provider");
            for (name, value) in fields {
                assert_eq!(&page[provider][name], value, "{provider}.{name}");
            }
            let section = page[provider].as_object().expect("a section per provider");
            let extra: Vec<&str> =
                section.keys().map(String::as_str).filter(|name| !fields.contains_key(*name)).collect();
            let expected: &[&str] = if provider == "wechatpay" { &SECAPI_FIELDS } else { &[] };
            assert_eq!(extra, expected, "{provider}: only the secapi listener's settings are added");
        }
        let secapi = page["wechatpay"]["secapi_base_url"].as_str().expect("the secapi address");
        assert!(secapi.starts_with("https://127.0.0.1:"), "{secapi}");

        alipay_takes_a_precreate(&page, "T-PAGE-1").await;
        let wechatpay = wechatpay_client(&page);
        let request = MicropayRequest {
            out_trade_no: "T-PAGE-2".into(),
            description: "page".into(),
            amount: Fen::parse(cny_1234()).expect("fen"),
            auth_code: NEVER_CONFIRMED_CODE.into(),
            device_ip: "127.0.0.1".into(),
        };
        wechatpay.micropay(&request).await.expect("the simulator takes the page's merchant's payment code");
        wechatpay
            .reverse("T-PAGE-2")
            .await
            .expect("the reverse passes the mutual-TLS listener with the page's certificate");

        let basic = format!("Basic {}", STANDARD.encode(format!("{secret}:")));
        let html = get(&server, &[("Authorization", &basic), ("Accept", BROWSER_ACCEPT)]);
        assert_eq!(html.status, 200, "{}", html.body);
        assert!(html.header("content-type").is_some_and(|value| value.starts_with("text/html")), "{:?}", html.headers);
        let app_key = page["alipay"]["app_private_key_pem"].as_str().expect("the app key");
        let app_key_pre = format!("<pre>{}</pre>", app_key.trim_end());
        assert!(html.body.contains(&app_key_pre), "the app key is not in a <pre> block:\n{}", html.body);
        let app_id = page["alipay"]["app_id"].as_str().expect("the app id");
        assert!(html.body.contains(app_id) && html.body.contains(secapi), "{}", html.body);

        let key_line = app_key.lines().nth(1).expect("a PEM body line");
        let apiv3_key = page["wechatpay"]["apiv3_key"].as_str().expect("the APIv3 key");
        let output = format!("{}{}", server.stdout(), server.stderr());
        assert!(!output.contains(key_line) && !output.contains(apiv3_key), "the server logged a key:\n{output}");
    })
    .await;
}

#[tokio::test]
async fn no_key_a_live_key_and_an_unknown_revoked_or_suspended_key_see_nothing() {
    on_each_backend(|database| async move {
        let setup = Setup::new(database);
        let merchant = setup.create_merchant("Page Shop", "active");
        let live = setup.create_key(&merchant, "live");
        let revoked = setup.create_key(&merchant, "test");
        setup.run_ok(&["keys", "revoke", &revoked.id]);
        let suspended_merchant = setup.create_merchant("Suspended Shop", "active");
        let suspended = setup.create_key(&suspended_merchant, "test");
        setup.run_ok(&["merchant", "suspend", &suspended_merchant]);
        let server = setup.start_server();

        check_refused(&server, None, 401, "api_key_missing");
        check_refused(&server, Some(&format!("sk_test_{}", "0".repeat(64))), 401, "api_key_invalid");
        check_refused(&server, Some(&revoked.secret), 401, "api_key_revoked");
        check_refused(&server, Some(&live.secret), 403, "livemode_key_refused");
        check_refused(&server, Some(&suspended.secret), 403, "merchant_suspended");
        let browser = get(&server, &[("Accept", BROWSER_ACCEPT)]);
        assert_eq!(browser.status, 401, "{}", browser.body);
        assert_eq!(browser.header("www-authenticate"), Some("Basic realm=\"Payrail sandbox\""));
    })
    .await;
}
