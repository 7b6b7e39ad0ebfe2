//! `payrail sandbox credentials`: what an outside Alipay or WeChat Pay SDK needs to talk to
//! this server's simulators as if they were the providers: base URL, app id / mchid, the
//! merchant's private key and the provider's public key (PEM), serials and API keys.
//!
//! The keys are the ones `payrail serve` keeps (made here if the server has not started
//! yet), so an SDK configured once keeps working across restarts. What only a running
//! server knows, its WeChat Pay secapi listener and that run's certificates, is on the
//! server's `GET /sandbox/credentials` (the same document, served to test-mode keys). The sandbox holds one
//! Alipay app and one WeChat Pay merchant, shared by every merchant's test mode; the
//! merchant named by `--merchant` must exist.

use std::net::SocketAddr;

use anyhow::Context;
use payrail_domain::MerchantId;
use payrail_http::{
    SANDBOX_CREDENTIALS_PATH, SandboxAlipayCredentials, SandboxCredentials, SandboxSecapi, SandboxWechatPayCredentials,
};
use payrail_sandbox::WechatPayCredentials;
use payrail_service::Payrail;
use serde_json::Value;

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
    let credentials = document(alipay, wechatpay, Secapi::NotKnownHere);
    if json {
        println!("{}", serde_json::to_string_pretty(&credentials)?);
    } else {
        print!("{}", render_text(&serde_json::to_value(&credentials)?, &base_url));
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

/// Whether the WeChat Pay credentials carry the secapi listener of a running server.
pub enum Secapi {
    /// `serve`'s own: the listener it started and the client certificate of its CA.
    OfThisRun,
    /// Any other process: the listener's port is picked by the system at each start and
    /// the CA is made anew, so what this process could issue would not be trusted there.
    NotKnownHere,
}

/// The document `--json` prints and `GET /sandbox/credentials` serves.
pub fn document(alipay: SandboxAlipayApp, wechatpay: WechatPayCredentials, secapi: Secapi) -> SandboxCredentials {
    let secapi = match (secapi, wechatpay.secapi_base_url) {
        (Secapi::OfThisRun, Some(secapi_base_url)) => Some(SandboxSecapi {
            secapi_base_url,
            merchant_certificate_pem: wechatpay.merchant_certificate_pem,
            ca_certificate_pem: wechatpay.ca_certificate_pem,
        }),
        _ => None,
    };
    SandboxCredentials {
        alipay: SandboxAlipayCredentials {
            gateway_url: alipay.gateway_url,
            app_id: alipay.app_id,
            app_private_key_pem: alipay.app_private_key,
            alipay_public_key_pem: alipay.alipay_public_key_pem,
        },
        wechatpay: SandboxWechatPayCredentials {
            base_url: wechatpay.base_url,
            mchid: wechatpay.mchid,
            appid: wechatpay.appid,
            merchant_serial_no: wechatpay.merchant_serial_no,
            merchant_private_key_pem: wechatpay.merchant_private_key_pem,
            platform_public_key_id: wechatpay.platform_public_key_id,
            platform_public_key_pem: wechatpay.platform_public_key_pem,
            apiv3_key: wechatpay.apiv3_key,
            v2_key: wechatpay.v2_key,
            secapi,
        },
    }
}

/// One `name: value` line per field, PEM blocks on lines of their own, one section per
/// provider, and where the secapi listener's settings are to be found.
fn render_text(credentials: &Value, base_url: &str) -> String {
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
    text.push_str(&format!(
        "\n[wechatpay secapi]\n\
         Not known here: each start of `payrail serve` listens for /secapi/... (mutual TLS) on a\n\
         port the system picks and issues the merchant's client certificate from a new CA.\n\
         The running server shows secapi_base_url, merchant_certificate_pem and\n\
         ca_certificate_pem to a test-mode API key:\n\
         \x20 curl -u sk_test_...: {base_url}{SANDBOX_CREDENTIALS_PATH}\n"
    ));
    text
}
