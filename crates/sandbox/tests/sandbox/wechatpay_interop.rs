//! The WeChat Pay simulator and Payrail's WeChat Pay client checked by SDKs nobody here
//! wrote, pinned in `interop/wechatpay/`: PyPI `wechatpayv3` (v3: native, query, close,
//! refund, callback), npm `wechatpay-axios-plugin` (v2 micropay and orderquery with
//! HMAC-SHA256, and `/secapi/pay/refund` and `/secapi/pay/reverse` over mutual TLS with the
//! merchant certificate), PyPI `wechatpy` (v2 with MD5, WeChat's default: micropay,
//! orderquery, and refund and reverse over mutual TLS) and npm `wechatpay-node-v3` (v3:
//! native, JSAPI, H5, query by either number, close, refund, notifications); and a
//! notification built with each of the first two SDKs' primitives, which our client's
//! verifier must accept.
//!
//! The simulator runs on a random `127.0.0.1` port under `/sandbox/wechatpay`, on the wall
//! clock (the SDKs sign and check with theirs). Python comes from
//! `PAYRAIL_TEST_INTEROP_PYTHON` (default `interop/wechatpay/.venv/bin/python`), node from
//! `PATH` with `interop/wechatpay/node_modules`; `.ci/run` (`ensure_interop_wechatpay`)
//! installs both. Missing tools fail these tests, unless `PAYRAIL_TEST_SKIP_INTEROP=1`
//! says to skip them deliberately.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use axum::Router;
use axum::http::{HeaderMap, HeaderName, HeaderValue};
use payrail_channels::wechatpay::{NotificationRefused, WechatPayClient, WechatPayConfig, WechatPayNotificationEvent};
use payrail_crypto::rsa::RsaPrivateKey;
use payrail_domain::Secret;
use payrail_sandbox::wechatpay::CODE_IMMEDIATE_SUCCESS;
use payrail_sandbox::wechatpay::secapi::CERTIFICATE_MISMATCH;
use payrail_sandbox::{WechatPay, WechatPayCredentials, wechatpay_router};
use payrail_testkit::WallClock;
use serde_json::{Value, json};
use tokio::net::TcpListener;

const PREFIX: &str = "/sandbox/wechatpay";

fn interop_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../interop/wechatpay")
}

/// The Python interpreter with `wechatpayv3`, after checking node finds the axios plugin;
/// `None` only when skipping was asked for.
fn tools() -> Option<PathBuf> {
    if std::env::var("PAYRAIL_TEST_SKIP_INTEROP").as_deref() == Ok("1") {
        eprintln!("skipping the WeChat Pay SDK interop checks: PAYRAIL_TEST_SKIP_INTEROP=1");
        return None;
    }
    let python = std::env::var_os("PAYRAIL_TEST_INTEROP_PYTHON")
        .map_or_else(|| interop_dir().join(".venv/bin/python"), PathBuf::from);
    let node = |module: &str| {
        Command::new("node").args(["-e", &format!("require('{module}')")]).current_dir(interop_dir()).output()
    };
    let probes = [
        (
            Command::new(&python).args(["-c", "import wechatpayv3, wechatpy"]).output(),
            "python with wechatpayv3 and wechatpy",
        ),
        (node("wechatpay-axios-plugin"), "node with wechatpay-axios-plugin"),
        (node("wechatpay-node-v3"), "node with wechatpay-node-v3"),
    ];
    for (probe, what) in probes {
        let detail = match probe {
            Ok(output) if output.status.success() => continue,
            Ok(output) => String::from_utf8_lossy(&output.stderr).into_owned(),
            Err(error) => error.to_string(),
        };
        panic!(
            "{what} is missing ({detail}). Run `.ci/run`'s ensure_interop_wechatpay (python3 -m venv \
             interop/wechatpay/.venv && interop/wechatpay/.venv/bin/pip install -r interop/wechatpay/requirements.txt \
             && npm ci --prefix interop/wechatpay), or set PAYRAIL_TEST_SKIP_INTEROP=1 to skip deliberately"
        );
    }
    Some(python)
}

/// The simulator on a fresh port, its secapi listener on another, with one merchant.
async fn start_simulator() -> (WechatPay, WechatPayCredentials) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base_url = format!("http://{}{PREFIX}", listener.local_addr().unwrap());
    let simulator = WechatPay::with_limits(&base_url, Arc::new(WallClock), WechatPay::OBJECTS_MAX, 1_000).unwrap();
    simulator.serve_secapi("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let credentials = simulator.add_merchant().unwrap();
    let app = Router::new().nest(PREFIX, wechatpay_router(simulator.clone()));
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (simulator, credentials)
}

/// Writes `value` to a fresh file for a script to read.
fn input_file(name: &str, value: &Value) -> tempfile::TempPath {
    let file = tempfile::Builder::new().prefix(name).suffix(".json").tempfile().unwrap();
    std::fs::write(file.path(), value.to_string()).unwrap();
    file.into_temp_path()
}

fn credentials_json(credentials: &WechatPayCredentials) -> Value {
    json!({
        "base_url": credentials.base_url, "mchid": credentials.mchid, "appid": credentials.appid,
        "merchant_serial_no": credentials.merchant_serial_no,
        "merchant_private_key_pem": credentials.merchant_private_key_pem.expose(),
        "platform_public_key_id": credentials.platform_public_key_id,
        "platform_public_key_pem": credentials.platform_public_key_pem,
        "apiv3_key": credentials.apiv3_key.expose(), "v2_key": credentials.v2_key.expose(),
        "merchant_certificate_pem": credentials.merchant_certificate_pem,
        "ca_certificate_pem": credentials.ca_certificate_pem, "secapi_base_url": credentials.secapi_base_url,
    })
}

/// Runs `program args…` in `interop/wechatpay/` off the runtime's threads (the simulator
/// keeps serving) and returns its stdout, failing the test with its output otherwise.
async fn run(program: PathBuf, args: Vec<String>) -> String {
    let output = tokio::task::spawn_blocking(move || {
        Command::new(&program).args(&args).current_dir(interop_dir()).output().unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "the SDK script failed:\n{stdout}\n{stderr}");
    stdout
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wechatpayv3_runs_native_query_close_refund_and_callback_against_the_simulator() {
    let Some(python) = tools() else { return };
    let (simulator, credentials) = start_simulator().await;
    let input = input_file("wechatpay-credentials", &credentials_json(&credentials));
    let script = interop_dir().join("v3_sdk.py").display().to_string();
    let stdout = run(python, vec![script, input.display().to_string()]).await;
    assert!(stdout.contains("wechatpayv3 interop ok"), "{stdout}");
    let events: Vec<String> = simulator.sent_notifications().into_iter().map(|sent| sent.event_type).collect();
    assert_eq!(events, ["TRANSACTION.SUCCESS", "REFUND.SUCCESS"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wechatpay_axios_plugin_pays_and_queries_by_payment_code_over_v2_xml() {
    let Some(_) = tools() else { return };
    let (_simulator, credentials) = start_simulator().await;
    let input = input_file("wechatpay-credentials", &credentials_json(&credentials));
    let args = vec!["v2_micropay.js".to_owned(), input.display().to_string(), CODE_IMMEDIATE_SUCCESS.to_owned()];
    let stdout = run(PathBuf::from("node"), args).await;
    assert!(stdout.contains("wechatpay-axios-plugin interop ok"), "{stdout}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wechatpay_axios_plugin_refunds_and_reverses_over_mutual_tls_with_the_merchant_certificate() {
    let Some(_) = tools() else { return };
    let (simulator, credentials) = start_simulator().await;
    let other = simulator.add_merchant().unwrap();
    let input = input_file("wechatpay-credentials", &credentials_json(&credentials));
    let other_input = input_file("wechatpay-other", &credentials_json(&other));
    let args = vec![
        "v2_secapi.js".to_owned(),
        input.display().to_string(),
        other_input.display().to_string(),
        CODE_IMMEDIATE_SUCCESS.to_owned(),
    ];
    let stdout = run(PathBuf::from("node"), args).await;
    assert!(stdout.contains("wechatpay-axios-plugin secapi interop ok"), "{stdout}");
    assert!(stdout.contains(&format!("with another merchant's certificate: {CERTIFICATE_MISMATCH}")), "{stdout}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wechatpy_pays_queries_refunds_and_reverses_over_v2_signed_with_md5() {
    let Some(python) = tools() else { return };
    let (simulator, credentials) = start_simulator().await;
    let other = simulator.add_merchant().unwrap();
    let input = input_file("wechatpay-credentials", &credentials_json(&credentials));
    let other_input = input_file("wechatpay-other", &credentials_json(&other));
    let script = interop_dir().join("wechatpy_v2.py").display().to_string();
    let stdout = run(python, vec![script, input.display().to_string(), other_input.display().to_string()]).await;
    assert!(stdout.contains("wechatpy interop ok"), "{stdout}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wechatpay_node_v3_orders_queries_closes_refunds_and_verifies_every_answer_and_notification() {
    let Some(_) = tools() else { return };
    let (simulator, credentials) = start_simulator().await;
    let input = input_file("wechatpay-credentials", &credentials_json(&credentials));
    let stdout = run(PathBuf::from("node"), vec!["v3_node.js".to_owned(), input.display().to_string()]).await;
    assert!(stdout.contains("wechatpay-node-v3 interop ok"), "{stdout}");
    let events: Vec<String> = simulator.sent_notifications().into_iter().map(|sent| sent.event_type).collect();
    assert_eq!(events, ["TRANSACTION.SUCCESS", "REFUND.SUCCESS"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notifications_built_by_each_sdk_are_accepted_by_our_client() {
    let Some(python) = tools() else { return };
    let signers = [(PathBuf::from("node"), "sign_notification.js"), (python, "sign_notification.py")];
    for (program, script) in signers {
        let (config, input) = notification_input();
        let signed = run(program, vec![script.to_owned(), input.display().to_string()]).await;
        check_sdk_notification(config, &serde_json::from_str(&signed).unwrap());
    }
}

/// A merchant's configuration with a fresh platform key, and the input file telling a
/// signer that key and the transaction to announce.
fn notification_input() -> (WechatPayConfig, tempfile::TempPath) {
    let platform = RsaPrivateKey::generate().unwrap();
    let apiv3_key = "0123456789abcdefghijABCDEFGHIJ01";
    let config = WechatPayConfig {
        base_url: "https://api.mch.weixin.qq.com".to_owned(),
        mchid: "1900000109".to_owned(),
        appid: "wxd678efh567hg6787".to_owned(),
        merchant_serial_no: "5157F09EFDC096DE15EBE81A47057A7232F1B8E1".to_owned(),
        merchant_private_key_pem: Secret::new(RsaPrivateKey::generate().unwrap().to_pkcs8_pem().unwrap()),
        apiv3_key: Secret::new(apiv3_key.to_owned()),
        platform_public_key_id: "PUB_KEY_ID_0114232134912410000000000000000000".to_owned(),
        platform_public_key_pem: platform.public_key().unwrap().to_pem(),
        v2_key: None,
        client_certificate: None,
        secapi_base_url: None,
        secapi_ca_certificate_pem: None,
        timeout_ms: 5_000,
    };
    let resource = json!({
        "appid": config.appid, "mchid": config.mchid, "out_trade_no": "PAY_sdk_signed_1",
        "transaction_id": "4200000001202605290000000001", "trade_type": "NATIVE", "trade_state": "SUCCESS",
        "trade_state_desc": "支付成功", "success_time": "2026-05-29T04:26:40+08:00",
        "amount": {"total": 1234, "payer_total": 1200, "currency": "CNY", "payer_currency": "CNY"},
        "payer": {"openid": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"},
    });
    let input = input_file(
        "wechatpay-notification",
        &json!({
            "platform_private_key_pem": platform.to_pkcs8_pem().unwrap(),
            "platform_public_key_id": config.platform_public_key_id,
            "apiv3_key": apiv3_key,
            "resource": resource,
        }),
    );
    (config, input)
}

/// Our client accepts the SDK-built notification `signed`, and refuses it changed.
fn check_sdk_notification(config: WechatPayConfig, signed: &Value) {
    let mut headers = HeaderMap::new();
    for (name, value) in signed["headers"].as_object().unwrap() {
        let value = HeaderValue::from_str(value.as_str().unwrap()).unwrap();
        headers.insert(HeaderName::from_bytes(name.as_bytes()).unwrap(), value);
    }
    let body = signed["body"].as_str().unwrap().as_bytes();
    let client = WechatPayClient::new(config, Arc::new(WallClock)).unwrap();
    let notification = client.verify_notification(&headers, body).unwrap();
    let WechatPayNotificationEvent::Transaction(transaction) = notification.event else { panic!("not a transaction") };
    assert_eq!((transaction.out_trade_no.as_str(), transaction.payer_total_minor), ("PAY_sdk_signed_1", Some(1200)));
    let tampered = String::from_utf8_lossy(body).replace("TRANSACTION.SUCCESS", "TRANSACTION.SUCCESs");
    assert!(matches!(
        client.verify_notification(&headers, tampered.as_bytes()),
        Err(NotificationRefused::Signature(_))
    ));
}
