//! `payrail sandbox credentials`: what an outside Alipay or WeChat Pay SDK needs to talk to
//! this server's simulators as if they were the providers: base URL, app id / mchid, the
//! merchant's private key and the provider's public key (PEM), serials and API keys.
//!
//! The keys are the ones `payrail serve` keeps (made here if the server has not started
//! yet), so an SDK configured once keeps working across restarts. The sandbox holds one
//! Alipay app and one WeChat Pay merchant, shared by every merchant's test mode; the
//! merchant named by `--merchant` must exist.

use std::net::SocketAddr;

use anyhow::Context;
use payrail_domain::MerchantId;
use payrail_sandbox::WechatPayCredentials;
use payrail_service::Payrail;
use serde_json::{Value, json};

use crate::config::Settings;
use crate::open::open_payrail;
use crate::sandbox_alipay::{SandboxAlipayApp, sandbox_alipay};
use crate::sandbox_wechatpay::sandbox_wechatpay;
use crate::serve::local_base_url;

pub async fn run(settings: &Settings, json: bool, merchant: Option<&str>) -> anyhow::Result<()> {
    let payrail = open_payrail(settings).await?;
    check_merchant(&payrail, merchant).await?;
    let address: SocketAddr =
        settings.listen.value.parse().with_context(|| format!("listen address {:?}", settings.listen.value))?;
    let base_url = local_base_url(address);
    let (_, alipay) = sandbox_alipay(&payrail, &base_url).await?;
    let (_, wechatpay) = sandbox_wechatpay(&payrail, &base_url).await?;
    payrail.store().close().await;
    let credentials = credentials_json(&alipay, &wechatpay);
    if json {
        println!("{}", serde_json::to_string_pretty(&credentials)?);
    } else {
        print!("{}", render_text(&credentials));
    }
    Ok(())
}

/// A named merchant must exist; without one, the credentials are the demo merchant's,
/// which are every merchant's in test mode.
async fn check_merchant(payrail: &Payrail, merchant: Option<&str>) -> anyhow::Result<()> {
    if let Some(id) = merchant {
        let id = MerchantId::parse(id).map_err(|_| anyhow::anyhow!("{id:?} is not a merchant id (mer_…)"))?;
        payrail.get_merchant(&id).await.map_err(|e| anyhow::anyhow!("merchant {id}: {e}"))?;
    }
    Ok(())
}

fn credentials_json(alipay: &SandboxAlipayApp, wechatpay: &WechatPayCredentials) -> Value {
    json!({
        "alipay": {
            "gateway_url": alipay.gateway_url,
            "app_id": alipay.app_id,
            "app_private_key_pem": alipay.app_private_key.expose(),
            "alipay_public_key_pem": alipay.alipay_public_key_pem,
        },
        "wechatpay": {
            "base_url": wechatpay.base_url,
            "mchid": wechatpay.mchid,
            "appid": wechatpay.appid,
            "merchant_serial_no": wechatpay.merchant_serial_no,
            "merchant_private_key_pem": wechatpay.merchant_private_key_pem.expose(),
            "platform_public_key_id": wechatpay.platform_public_key_id,
            "platform_public_key_pem": wechatpay.platform_public_key_pem,
            "apiv3_key": wechatpay.apiv3_key.expose(),
            "v2_key": wechatpay.v2_key.expose(),
        },
    })
}

/// One `name: value` line per field, PEM blocks on lines of their own, one section per
/// provider.
fn render_text(credentials: &Value) -> String {
    let mut text = String::from("Sandbox credentials (test mode only; keep the keys to yourself)\n");
    for provider in ["alipay", "wechatpay"] {
        text.push_str(&format!("\n[{provider}]\n"));
        let Some(fields) = credentials[provider].as_object() else { continue };
        for (name, value) in fields {
            let value = value.as_str().unwrap_or_default();
            if value.contains('\n') {
                text.push_str(&format!("{name}:\n{}\n", value.trim_end()));
            } else {
                text.push_str(&format!("{name}: {value}\n"));
            }
        }
    }
    text
}
