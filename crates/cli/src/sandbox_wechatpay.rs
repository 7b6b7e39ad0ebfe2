//! The sandbox WeChat Pay of `payrail serve`: the WeChat Pay simulator mounted at
//! `/sandbox/wechatpay`, with one sandbox merchant whose credentials
//! (`payrail sandbox credentials`) let any WeChat Pay SDK talk to it as if it were WeChat,
//! and which is test mode's WeChat Pay account, so the demo merchant can take WeChat Pay
//! payments on first start with no setup.
//!
//! The simulator's platform key and the merchant's identifiers and keys survive restarts:
//! they are made once and kept in `server_settings`, sealed with the server keys, so an SDK
//! configured once keeps working. The merchant's API client certificate is issued anew at
//! each start by that run's CA, and `serve` starts the simulator's mutual-TLS listener for
//! `/secapi/…` (v2 reverse) on a port the system picks, beside the main listener.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use payrail_channels::wechatpay::{ClientCertificate, WechatPayClient, WechatPayConfig};
use payrail_domain::Mode;
use payrail_sandbox::{KeptKeys, WechatPay, WechatPayCredentials};
use payrail_service::{Payrail, ServiceError, SystemClock};
use tokio::task::JoinHandle;

/// Where the WeChat Pay simulator is mounted.
pub const SANDBOX_WECHATPAY_PATH: &str = "/sandbox/wechatpay";
/// Trades plus refunds the simulator keeps in memory.
const SANDBOX_OBJECTS_MAX: usize = 100_000;
const KEYS_SETTING: &str = "sandbox_wechatpay_keys";
/// How long Payrail waits for WeChat Pay before treating a call as unknown.
const WECHATPAY_TIMEOUT_MS: u64 = 10_000;

/// The simulator to mount at [`SANDBOX_WECHATPAY_PATH`] of the server at `base_url`, and
/// its sandbox merchant's credentials.
pub async fn sandbox_wechatpay(payrail: &Payrail, base_url: &str) -> anyhow::Result<(WechatPay, WechatPayCredentials)> {
    let url = format!("{base_url}{SANDBOX_WECHATPAY_PATH}");
    let make = || {
        let fresh = WechatPay::new(&url, Arc::new(SystemClock)).and_then(|simulator| {
            simulator.add_merchant()?;
            simulator.kept_keys()
        });
        let kept = fresh.map_err(|e| ServiceError::Unexpected(anyhow::anyhow!("cannot make the sandbox keys: {e}")))?;
        serde_json::to_string(&kept).map_err(|e| ServiceError::Unexpected(anyhow::anyhow!("{e}")))
    };
    let stored = payrail
        .load_or_create_sealed_setting(KEYS_SETTING, make)
        .await
        .map_err(|e| anyhow::anyhow!("cannot keep {KEYS_SETTING}: {e}"))?;
    let kept: KeptKeys = serde_json::from_str(stored.expose())
        .map_err(|e| anyhow::anyhow!("the stored sandbox WeChat Pay keys are unreadable: {e}"))?;
    let merchant =
        kept.merchants.first().ok_or_else(|| anyhow::anyhow!("the stored sandbox WeChat Pay keys hold no merchant"))?;
    let simulator = WechatPay::with_kept_platform_key(&url, Arc::new(SystemClock), &kept, SANDBOX_OBJECTS_MAX, 1)
        .map_err(|e| anyhow::anyhow!("cannot set up the sandbox WeChat Pay: {e}"))?;
    // Anyone holding the sandbox credentials can place orders; their notifications go to
    // this server's own notification path only, never to an address of their choosing.
    simulator.allow_notify_urls_starting_with(&format!("{base_url}/notify/wechatpay/"));
    let credentials =
        simulator.restore_merchant(merchant).map_err(|e| anyhow::anyhow!("cannot set up the sandbox merchant: {e}"))?;
    Ok((simulator, credentials))
}

/// What `serve` mounts, shows and stops of the sandbox WeChat Pay.
pub struct RunningSandboxWechatPay {
    /// To mount at [`SANDBOX_WECHATPAY_PATH`].
    pub simulator: WechatPay,
    /// The secapi listener's task, to abort on shutdown.
    pub secapi: JoinHandle<()>,
}

/// Mounts nothing itself: starts the simulator's `/secapi` mutual-TLS listener on `ip`
/// (a port the system picks), and returns the service with its test-mode WeChat Pay
/// account pointed at the simulator (the v2 key and the client certificate included, so
/// payment codes can be reversed) and the running simulator.
pub async fn with_sandbox_wechatpay(
    payrail: Payrail,
    base_url: &str,
    ip: IpAddr,
) -> anyhow::Result<(Payrail, RunningSandboxWechatPay)> {
    let (simulator, credentials) = sandbox_wechatpay(&payrail, base_url).await?;
    let (_, secapi) = simulator
        .serve_secapi(SocketAddr::new(ip, 0))
        .await
        .map_err(|e| anyhow::anyhow!("cannot start the sandbox WeChat Pay secapi listener: {e}"))?;
    // Asked again: only now do the credentials carry the secapi listener's address.
    let credentials = simulator
        .credentials(&credentials.mchid)
        .ok_or_else(|| anyhow::anyhow!("the sandbox WeChat Pay merchant vanished"))?;
    let client = WechatPayClient::new(client_config(credentials.clone()), Arc::new(SystemClock))
        .map_err(|e| anyhow::anyhow!("cannot set up the sandbox WeChat Pay channel: {e}"))?;
    let notify_url = format!("{base_url}/notify/wechatpay/test");
    let payrail = payrail.with_wechatpay(Mode::Test, client, &notify_url);
    Ok((payrail, RunningSandboxWechatPay { simulator, secapi }))
}

/// The channel client's settings for the sandbox merchant: its keys, its API client
/// certificate for `/secapi`, and the simulator's CA as the only root trusted there.
fn client_config(credentials: WechatPayCredentials) -> WechatPayConfig {
    WechatPayConfig {
        base_url: credentials.base_url,
        mchid: credentials.mchid,
        appid: credentials.appid,
        merchant_serial_no: credentials.merchant_serial_no,
        merchant_private_key_pem: credentials.merchant_private_key_pem.clone(),
        apiv3_key: credentials.apiv3_key,
        platform_public_key_id: credentials.platform_public_key_id,
        platform_public_key_pem: credentials.platform_public_key_pem,
        v2_key: Some(credentials.v2_key),
        client_certificate: Some(ClientCertificate {
            certificate_pem: credentials.merchant_certificate_pem,
            private_key_pem: credentials.merchant_private_key_pem,
        }),
        secapi_base_url: credentials.secapi_base_url,
        secapi_ca_certificate_pem: Some(credentials.ca_certificate_pem),
        timeout_ms: WECHATPAY_TIMEOUT_MS,
    }
}
