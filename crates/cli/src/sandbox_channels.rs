//! The sandbox simulators as the service sees them ([`SandboxChannels`]): each merchant's
//! own sandbox Alipay app and WeChat Pay merchant are made at them and made known to them
//! again, here. `payrail serve` registers the sandbox accounts kept in the database as it
//! starts and then every second, so those another process made (`payrail sandbox
//! credentials`) work against it within a second.

use std::collections::BTreeMap;
use std::time::Duration;

use payrail_crypto::rsa::RsaPrivateKey;
use payrail_domain::Secret;
use payrail_domain::channel_account::ChannelKind;
use payrail_sandbox::{AlipaySandbox, KeptMerchant, WechatPay};
use payrail_service::{Payrail, SandboxChannels, SandboxRegistration};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// How often `serve` looks for sandbox accounts another process made.
const REGISTRATION_INTERVAL_MS: u64 = 1_000;

/// The two wallet simulators of one process.
pub struct Simulators {
    pub alipay: AlipaySandbox,
    pub wechatpay: WechatPay,
    /// Whether this process runs the simulators' WeChat Pay mutual-TLS listener, so that the
    /// client certificates its CA issues are of use (`serve`), or not (any other command).
    pub runs_secapi: bool,
}

impl SandboxChannels for Simulators {
    fn create(&self, channel: ChannelKind) -> anyhow::Result<BTreeMap<String, String>> {
        Ok(match channel {
            ChannelKind::Alipay => {
                let app = self.alipay.create_app()?;
                fields([
                    ("gateway_url", app.gateway_url),
                    ("app_id", app.app_id),
                    ("app_private_key", app.app_private_key_pem.expose().clone()),
                    ("alipay_public_key", app.alipay_public_key_pem),
                ])
            }
            ChannelKind::Wechatpay => {
                let merchant = self.wechatpay.add_merchant()?;
                fields([
                    ("base_url", merchant.base_url),
                    ("mchid", merchant.mchid),
                    ("appid", merchant.appid),
                    ("merchant_serial_no", merchant.merchant_serial_no),
                    ("merchant_private_key", merchant.merchant_private_key_pem.expose().clone()),
                    ("apiv3_key", merchant.apiv3_key.expose().clone()),
                    ("platform_public_key_id", merchant.platform_public_key_id),
                    ("platform_public_key", merchant.platform_public_key_pem),
                    ("v2_key", merchant.v2_key.expose().clone()),
                ])
            }
        })
    }

    fn restore(&self, channel: ChannelKind, fields: &BTreeMap<String, String>) -> anyhow::Result<()> {
        let field = |name: &str| fields.get(name).cloned().unwrap_or_default();
        match channel {
            ChannelKind::Alipay if self.alipay.knows_app(&field("app_id")) => Ok(()),
            ChannelKind::Alipay => {
                let key = RsaPrivateKey::from_pem(&field("app_private_key"))?.public_key()?;
                anyhow::ensure!(self.alipay.register_app(&field("app_id"), key), "the Alipay simulator is full");
                Ok(())
            }
            ChannelKind::Wechatpay if self.wechatpay.credentials(&field("mchid")).is_some() => Ok(()),
            ChannelKind::Wechatpay => {
                let kept = KeptMerchant {
                    mchid: field("mchid"),
                    appid: field("appid"),
                    serial_no: field("merchant_serial_no"),
                    private_key_pem: Secret::new(field("merchant_private_key")),
                    apiv3_key: Secret::new(field("apiv3_key")),
                    v2_key: Secret::new(field("v2_key")),
                };
                self.wechatpay.restore_merchant(&kept)?;
                Ok(())
            }
        }
    }

    /// The simulators' addresses as this process serves them (the server may listen
    /// elsewhere than when the account was made), and in `serve` the secapi listener with
    /// the client certificate its CA issued.
    fn for_this_run(&self, channel: ChannelKind, fields: &BTreeMap<String, String>) -> BTreeMap<String, String> {
        if channel == ChannelKind::Alipay {
            return self::fields([("gateway_url", self.alipay.gateway_url())]);
        }
        let mchid = fields.get("mchid").map_or("", String::as_str);
        let Some(merchant) = self.wechatpay.credentials(mchid) else { return BTreeMap::new() };
        let mut this_run = self::fields([("base_url", merchant.base_url)]);
        if let (true, Some(secapi_base_url)) = (self.runs_secapi, merchant.secapi_base_url) {
            this_run.extend(self::fields([
                ("secapi_base_url", secapi_base_url),
                ("client_certificate", merchant.merchant_certificate_pem),
                ("secapi_ca_certificate", merchant.ca_certificate_pem),
            ]));
        }
        this_run
    }
}

fn fields<const N: usize>(pairs: [(&str, String); N]) -> BTreeMap<String, String> {
    pairs.into_iter().map(|(name, value)| (name.to_owned(), value)).collect()
}

/// Registers every kept sandbox account, then every second those made since, until `stop`.
/// The first pass runs beside serving rather than before it: with many merchants it takes
/// a while, and a payment never waits for it (building an account's client registers the
/// account first); only an outside SDK may meet `isv.invalid-app-id` until it is done.
pub fn keep_registering(payrail: Payrail, mut stop: watch::Receiver<bool>) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut registered = SandboxRegistration::default();
        loop {
            match payrail.register_sandbox_accounts(registered).await {
                Ok(next) => registered = next,
                Err(error) => tracing::warn!(%error, "could not register the sandbox accounts"),
            }
            tokio::select! {
                _ = stop.changed() => return,
                () = tokio::time::sleep(Duration::from_millis(REGISTRATION_INTERVAL_MS)) => {}
            }
        }
    })
}
