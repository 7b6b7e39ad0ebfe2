//! The sandbox WeChat Pay of `payrail serve`: the WeChat Pay simulator mounted at
//! `/sandbox/wechatpay`, with one sandbox merchant whose credentials
//! (`payrail sandbox credentials`) let any WeChat Pay SDK talk to it as if it were WeChat.
//!
//! The simulator's platform key and the merchant's identifiers and keys survive restarts:
//! they are made once and kept in `server_settings`, sealed with the server keys, so an SDK
//! configured once keeps working. The merchant's API client certificate is issued anew at
//! each start by that run's CA (the mutual-TLS listener for `/secapi` is not started by
//! `serve` yet).

use std::sync::Arc;

use payrail_sandbox::{KeptKeys, WechatPay, WechatPayCredentials};
use payrail_service::{Payrail, ServiceError, SystemClock};

/// Where the WeChat Pay simulator is mounted.
pub const SANDBOX_WECHATPAY_PATH: &str = "/sandbox/wechatpay";
/// Trades plus refunds the simulator keeps in memory.
const SANDBOX_OBJECTS_MAX: usize = 100_000;
const KEYS_SETTING: &str = "sandbox_wechatpay_keys";

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
    let credentials =
        simulator.restore_merchant(merchant).map_err(|e| anyhow::anyhow!("cannot set up the sandbox merchant: {e}"))?;
    Ok((simulator, credentials))
}
