//! The sandbox Alipay account of `payrail serve`: the Alipay simulator mounted at
//! `/sandbox/alipay`, and test-mode Alipay payments sent to it over HTTP, so the demo
//! merchant can take Alipay payments on first start with no setup.
//!
//! The simulator's Alipay key and the sandbox app (its id and key pair) survive restarts:
//! they are made once and kept in `server_settings`, sealed with the server keys. So an
//! outside SDK configured with them keeps working, and notifications of trades made before
//! a restart still verify.

use std::sync::Arc;

use payrail_channels::alipay::{AlipayClient, AlipayConfig};
use payrail_crypto::rsa::RsaPrivateKey;
use payrail_domain::{Mode, Secret};
use payrail_sandbox::AlipaySandbox;
use payrail_service::{Payrail, ServiceError, SystemClock};

/// Where the Alipay simulator is mounted.
pub const SANDBOX_ALIPAY_PATH: &str = "/sandbox/alipay";
/// How long Payrail waits for Alipay before treating a call as unknown.
const ALIPAY_TIMEOUT_MS: u64 = 10_000;
/// Trades plus refunds the simulator keeps in memory.
const SANDBOX_OBJECTS_MAX: usize = 100_000;
const ALIPAY_KEY_SETTING: &str = "sandbox_alipay_key";
const APP_KEY_SETTING: &str = "sandbox_alipay_app_key";
const APP_ID_SETTING: &str = "sandbox_alipay_app_id";

/// The sandbox app as an outside Alipay SDK needs it.
#[derive(Clone)]
pub struct SandboxAlipayApp {
    pub gateway_url: String,
    pub app_id: String,
    pub app_private_key: Secret<String>,
    pub alipay_public_key_pem: String,
}

/// The simulator to mount at [`SANDBOX_ALIPAY_PATH`] of the server at `base_url`, with the
/// kept sandbox app registered, and that app.
pub async fn sandbox_alipay(payrail: &Payrail, base_url: &str) -> anyhow::Result<(AlipaySandbox, SandboxAlipayApp)> {
    let alipay_key = load_or_create_key(payrail, ALIPAY_KEY_SETTING).await?;
    let app_key = load_or_create_key(payrail, APP_KEY_SETTING).await?;
    let app_id = payrail.load_or_create_sealed_setting(APP_ID_SETTING, || Ok(new_app_id())).await?;
    let sandbox_url = format!("{base_url}{SANDBOX_ALIPAY_PATH}");
    let alipay_key = RsaPrivateKey::from_pem(alipay_key.expose())
        .map_err(|e| anyhow::anyhow!("the stored sandbox Alipay key is unreadable: {e}"))?;
    let sandbox =
        AlipaySandbox::with_alipay_key(&sandbox_url, Arc::new(SystemClock), alipay_key, SANDBOX_OBJECTS_MAX, 1)
            .map_err(|e| anyhow::anyhow!("cannot set up the sandbox Alipay: {e}"))?;
    let app_public_key = RsaPrivateKey::from_pem(app_key.expose())
        .and_then(|key| key.public_key())
        .map_err(|e| anyhow::anyhow!("the stored sandbox Alipay app key is unreadable: {e}"))?;
    sandbox.register_app(app_id.expose(), app_public_key);
    let app = SandboxAlipayApp {
        gateway_url: sandbox.gateway_url(),
        app_id: app_id.expose().clone(),
        app_private_key: app_key,
        alipay_public_key_pem: sandbox.alipay_public_key().to_pem(),
    };
    Ok((sandbox, app))
}

/// Mounts nothing itself: returns the service with its test-mode Alipay account pointed at
/// the simulator's platform app (which charged test payments before each merchant had
/// sandbox accounts of its own, and still answers for those), and the simulator to mount
/// at [`SANDBOX_ALIPAY_PATH`].
pub async fn with_sandbox_alipay(payrail: Payrail, base_url: &str) -> anyhow::Result<(Payrail, AlipaySandbox)> {
    let (sandbox, app) = sandbox_alipay(&payrail, base_url).await?;
    let notify_url = format!("{base_url}/notify/alipay/test");
    // Anyone may hold the sandbox app's key (it is printed for SDKs to use), so the
    // simulator posts only to this server's own notification path, never elsewhere.
    sandbox.allow_notify_urls_starting_with(&format!("{base_url}/notify/alipay/"));
    let config = AlipayConfig {
        gateway_url: app.gateway_url.clone(),
        app_id: app.app_id.clone(),
        app_private_key: app.app_private_key.clone(),
        alipay_public_key: app.alipay_public_key_pem.clone(),
        timeout_ms: ALIPAY_TIMEOUT_MS,
    };
    let client = AlipayClient::new(&config, Arc::new(SystemClock))
        .map_err(|e| anyhow::anyhow!("cannot set up the sandbox Alipay channel: {e}"))?;
    Ok((payrail.with_alipay(Mode::Test, client, &notify_url), sandbox))
}

async fn load_or_create_key(payrail: &Payrail, name: &str) -> anyhow::Result<Secret<String>> {
    let make = || {
        RsaPrivateKey::generate()
            .and_then(|key| key.to_pkcs8_pem())
            .map_err(|e| ServiceError::Unexpected(anyhow::anyhow!("cannot make a key pair: {e}")))
    };
    payrail.load_or_create_sealed_setting(name, make).await.map_err(|e| anyhow::anyhow!("cannot keep {name}: {e}"))
}

/// 16 digits like a real app id; 9021 marks it as the sandbox's.
fn new_app_id() -> String {
    let random = payrail_service::random_token();
    let digits: String = random.bytes().map(|byte| char::from(b'0' + byte % 10)).take(12).collect();
    format!("9021{digits}")
}
