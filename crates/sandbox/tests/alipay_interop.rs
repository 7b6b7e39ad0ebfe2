//! The Alipay simulator checked by Alipay SDKs nobody here wrote, each served the simulator
//! on a random `127.0.0.1` port:
//!
//! - the official Node SDK (npm `alipay-sdk`, pinned in `interop/alipay/package-lock.json`):
//!   `interop/alipay/check.mjs` runs precreate, pay, query, refund and close with
//!   `validateSign: true` and checks notifications with `checkNotifySign` (one of a trade
//!   paid in part with the sandbox voucher, its lists JSON text in the form); then a
//!   notification the SDK signed is checked by Payrail's own verifier
//!   (`payrail_channels::alipay`);
//! - PyPI `python-alipay-sdk` (pinned in `interop/alipay/requirements.txt`):
//!   `interop/alipay/python_alipay_sdk.py` runs precreate, query, pay, cancel, refund,
//!   refund query and close over GET, the SDK verifying every answer, and `verify()` on a
//!   notification;
//! - Alipay's own Python SDK, PyPI `alipay-sdk-python` (pinned in
//!   `interop/alipay_official/requirements.txt`; a virtualenv of its own, as both packages
//!   are named `alipay`): `interop/alipay_official/official_sdk.py` runs the same calls
//!   with `DefaultAlipayClient` verifying every answer, a cashier page URL, and checks
//!   notifications (one with a voucher) with the SDK's `verify_with_rsa`.
//!
//! Needs `node` (18.20 or later) on `PATH` with `npm ci --prefix interop/alipay` done, and
//! the virtualenvs `interop/alipay/.venv` and `interop/alipay_official/.venv` made from
//! their `requirements.txt` (or other interpreters with the packages in
//! `PAYRAIL_TEST_INTEROP_ALIPAY_PYTHON` and `PAYRAIL_TEST_INTEROP_ALIPAY_OFFICIAL_PYTHON`);
//! `.ci/run` does all three. Without them these tests FAIL, so that CI cannot pass without having run the SDKs;
//! set `PAYRAIL_TEST_SKIP_INTEROP=1` to skip them deliberately.

#![allow(clippy::unwrap_used)]

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use payrail_channels::alipay::{AlipayClient, AlipayConfig, TradeStatus};
use payrail_crypto::rsa::RsaPrivateKey;
use payrail_domain::{Clock, Currency, Money, Timestamp};
use payrail_sandbox::alipay::{CODE_PAID, CODE_PAYING_FOREVER, CODE_PAYING_THEN_PAID, QUERIES_UNTIL_PAID};
use payrail_sandbox::{AlipayCredentials, AlipaySandbox, alipay_router};
use tokio::net::TcpListener;

/// How many checks `check.mjs` reports when all ran.
const CHECKS: usize = 11;
/// The longest the SDK run may take on a busy two-core machine.
const SCRIPT_TIMEOUT_MS: u64 = 120_000;

struct FixedClock;

impl Clock for FixedClock {
    fn now(&self) -> Timestamp {
        // 2026-05-28T20:26:40Z: the simulator's times need not be real.
        Timestamp::from_unix_ms(1_780_000_000_000).unwrap()
    }
}

/// The simulator on a fresh `127.0.0.1` port under `/sandbox/alipay`, with one app.
async fn start_simulator() -> (AlipaySandbox, AlipayCredentials) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base_url = format!("http://{}/sandbox/alipay", listener.local_addr().unwrap());
    let sandbox = AlipaySandbox::with_limits(&base_url, Arc::new(FixedClock), 1_000, 60_000).unwrap();
    let credentials = sandbox.create_app().unwrap();
    let app = Router::new().nest("/sandbox/alipay", alipay_router(sandbox.clone()));
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (sandbox, credentials)
}

/// What the SDK scripts are told: the app's credentials and the test payment codes.
fn script_input(credentials: &AlipayCredentials) -> serde_json::Value {
    serde_json::json!({
        "gateway_url": credentials.gateway_url,
        "app_id": credentials.app_id,
        "app_private_key_pem": credentials.app_private_key_pem.expose(),
        "alipay_public_key_pem": credentials.alipay_public_key_pem,
        "code_paid": CODE_PAID,
        "code_paying_then_paid": CODE_PAYING_THEN_PAID,
        "code_paying_forever": CODE_PAYING_FOREVER,
        "queries_until_paid": QUERIES_UNTIL_PAID,
    })
}

fn interop_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../interop/alipay")
}

#[tokio::test]
async fn the_official_node_sdk_talks_to_the_simulator_and_its_signatures_verify_here() {
    if std::env::var("PAYRAIL_TEST_SKIP_INTEROP").as_deref() == Ok("1") {
        eprintln!("PAYRAIL_TEST_SKIP_INTEROP=1: the alipay-sdk interop check was skipped");
        return;
    }
    let dir = interop_dir();
    assert!(
        dir.join("node_modules/alipay-sdk/package.json").exists(),
        "interop/alipay/node_modules is missing: run `npm ci --prefix interop/alipay` (or set PAYRAIL_TEST_SKIP_INTEROP=1)"
    );
    let (sandbox, credentials) = start_simulator().await;

    let notification_signer = RsaPrivateKey::generate().unwrap();
    let mut input = script_input(&credentials);
    input["notification_signer_private_key_pem"] = notification_signer.to_pkcs8_pem().unwrap().into();
    let output = run_script(&dir, &input.to_string()).await;
    let checks = output["checks"].as_array().map(Vec::len);
    assert_eq!(checks, Some(CHECKS), "{output}");
    let sent = sandbox.sent_notifications();
    assert!(sent.iter().any(|sent| sent.acknowledged), "the SDK's server acknowledged nothing: {sent:?}");

    let signed_body = output["sdk_signed_notification"].as_str().unwrap();
    let verifier = AlipayClient::new(
        &AlipayConfig {
            gateway_url: credentials.gateway_url.clone(),
            app_id: credentials.app_id.clone(),
            app_private_key: credentials.app_private_key_pem.clone(),
            alipay_public_key: notification_signer.public_key().unwrap().to_pem(),
            timeout_ms: 5_000,
        },
        Arc::new(FixedClock),
    )
    .unwrap();
    let notification = verifier.verify_notification(signed_body.as_bytes()).unwrap();
    assert_eq!(notification.trade_status, TradeStatus::Success);
    assert_eq!(notification.total_amount, Money::new(1_230, Currency::parse("CNY").unwrap()));
    assert_eq!(notification.app_id, credentials.app_id);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_alipay_sdk_pays_refunds_cancels_and_verifies_a_notification_against_the_simulator() {
    let sdk = PythonSdk {
        package: "python-alipay-sdk",
        dir: interop_dir(),
        python_variable: "PAYRAIL_TEST_INTEROP_ALIPAY_PYTHON",
        probe: "import alipay; alipay.AliPay",
        script: "python_alipay_sdk.py",
    };
    run_python_sdk(&sdk).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alipays_own_python_sdk_pays_refunds_cancels_and_verifies_a_notification_against_the_simulator() {
    let sdk = PythonSdk {
        package: "alipay-sdk-python",
        dir: interop_dir().join("../alipay_official"),
        python_variable: "PAYRAIL_TEST_INTEROP_ALIPAY_OFFICIAL_PYTHON",
        probe: "from alipay.aop.api.DefaultAlipayClient import DefaultAlipayClient",
        script: "official_sdk.py",
    };
    run_python_sdk(&sdk).await;
}

/// A Python Alipay SDK and the script in `dir` that drives the simulator with it.
struct PythonSdk {
    package: &'static str,
    dir: PathBuf,
    /// Names another interpreter than `dir/.venv/bin/python`.
    python_variable: &'static str,
    /// Fails unless the package is importable.
    probe: &'static str,
    script: &'static str,
}

/// Runs `sdk`'s script against a fresh simulator: it must print "{package} interop ok",
/// and the notification the simulator sent it must have been acknowledged.
async fn run_python_sdk(sdk: &PythonSdk) {
    if std::env::var("PAYRAIL_TEST_SKIP_INTEROP").as_deref() == Ok("1") {
        eprintln!("PAYRAIL_TEST_SKIP_INTEROP=1: the {} interop check was skipped", sdk.package);
        return;
    }
    let python = std::env::var_os(sdk.python_variable).map_or_else(|| sdk.dir.join(".venv/bin/python"), PathBuf::from);
    let probe = Command::new(&python).args(["-c", sdk.probe]).output();
    let dir = sdk.dir.display();
    assert!(
        probe.as_ref().is_ok_and(|output| output.status.success()),
        "python with {} is missing ({probe:?}): run `python3 -m venv {dir}/.venv && {dir}/.venv/bin/pip install \
         -r {dir}/requirements.txt` (or set PAYRAIL_TEST_SKIP_INTEROP=1)",
        sdk.package
    );
    let (sandbox, credentials) = start_simulator().await;

    let input = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(input.path(), script_input(&credentials).to_string()).unwrap();
    let script = sdk.dir.join(sdk.script);
    let args = [script.as_os_str(), input.path().as_os_str()];
    let output = tokio::task::spawn_blocking({
        let (args, dir) = (args.map(std::ffi::OsStr::to_owned), sdk.dir.clone());
        move || Command::new(&python).args(&args).current_dir(dir).output().unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{} failed:\n{stdout}\n{stderr}", sdk.script);
    assert!(stdout.contains(&format!("{} interop ok", sdk.package)), "{stdout}");
    let sent = sandbox.sent_notifications();
    assert!(sent.iter().any(|sent| sent.acknowledged), "the SDK's server acknowledged nothing: {sent:?}");
}

/// Runs `check.mjs` with `input`, failing the test with its output unless it succeeds in
/// time; its last stdout line, parsed.
async fn run_script(dir: &std::path::Path, input: &str) -> serde_json::Value {
    let mut child = Command::new("node")
        .arg("check.mjs")
        .current_dir(dir)
        .env("PAYRAIL_ALIPAY_INTEROP", input)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|error| {
            panic!("cannot run node ({error}); install Node.js or set PAYRAIL_TEST_SKIP_INTEROP=1")
        });
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > Duration::from_millis(SCRIPT_TIMEOUT_MS) {
            child.kill().unwrap();
            panic!("check.mjs took longer than {SCRIPT_TIMEOUT_MS} ms");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let output = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "check.mjs failed:\n{stdout}\n{stderr}");
    serde_json::from_str(stdout.lines().last().unwrap_or_default())
        .unwrap_or_else(|error| panic!("check.mjs printed no result ({error}):\n{stdout}\n{stderr}"))
}
