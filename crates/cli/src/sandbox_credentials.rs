//! `payrail sandbox credentials`: what an outside Alipay or WeChat Pay SDK needs to talk to
//! this server's simulators as if they were the providers: base URL, app id / mchid, the
//! merchant's private key and the provider's public key (PEM), serials and API keys.
//!
//! They are one merchant's own (`--merchant`, by default the demo merchant): the sandbox
//! Alipay app and WeChat Pay merchant the server keeps for its test mode, made here if it
//! has none yet (a running server takes them up within a second). So an SDK configured
//! once keeps working across restarts, and no merchant can reach another's sandbox
//! trades. What only a running server knows, its WeChat Pay secapi listener and that run's
//! certificates, is on the server's `GET /sandbox/credentials` (the same document, served
//! to the merchant's test-mode keys).

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use payrail_domain::MerchantId;
use payrail_http::{SANDBOX_CREDENTIALS_PATH, SandboxCredentials};
use payrail_service::Payrail;
use serde_json::Value;

use crate::config::Settings;
use crate::open::open_payrail;
use crate::sandbox_alipay::sandbox_alipay;
use crate::sandbox_channels::Simulators;
use crate::sandbox_wechatpay::sandbox_wechatpay;
use crate::serve::local_base_url;

pub async fn run(settings: &Settings, json: bool, merchant: Option<&str>) -> anyhow::Result<()> {
    let payrail = open_payrail(settings).await?;
    let merchant = merchant_of(&payrail, merchant).await?;
    let address: SocketAddr =
        settings.listen.value.parse().with_context(|| format!("listen address {:?}", settings.listen.value))?;
    let base_url = local_base_url(address);
    let (alipay, _) = sandbox_alipay(&payrail, &base_url).await?;
    let (wechatpay, _) = sandbox_wechatpay(&payrail, &base_url).await?;
    let payrail = payrail.with_sandbox_channels(Arc::new(Simulators { alipay, wechatpay, runs_secapi: false }));
    let fields = payrail.sandbox_account_fields(&merchant).await;
    payrail.store().close().await;
    let fields = fields.map_err(|e| anyhow::anyhow!("cannot make the sandbox accounts of {merchant}: {e}"))?;
    let credentials = SandboxCredentials::from_fields(&fields);
    if json {
        println!("{}", serde_json::to_string_pretty(&credentials)?);
    } else {
        print!("{}", render_text(&serde_json::to_value(&credentials)?, &base_url));
    }
    Ok(())
}

/// The merchant named, which must exist; without one, the oldest: the demo merchant the
/// first start made.
async fn merchant_of(payrail: &Payrail, named: Option<&str>) -> anyhow::Result<MerchantId> {
    if let Some(id) = named {
        let id = MerchantId::parse(id).map_err(|_| anyhow::anyhow!("{id:?} is not a merchant id (mer_…)"))?;
        payrail.get_merchant(&id).await.map_err(|e| anyhow::anyhow!("merchant {id}: {e}"))?;
        return Ok(id);
    }
    let oldest = payrail.list_merchants(None, 1).await.map_err(|e| anyhow::anyhow!("{e}"))?.into_iter().next();
    let oldest = oldest.ok_or_else(|| {
        anyhow::anyhow!("there is no merchant yet: start `payrail serve` once (it makes the demo merchant)")
    })?;
    Ok(oldest.id)
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
