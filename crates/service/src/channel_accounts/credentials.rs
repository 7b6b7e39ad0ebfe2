//! What each channel's account is made of: which fields are public settings and which are
//! secrets, and the client built from them. Building the client is the check: a key that
//! does not parse or an APIv3 key of the wrong length is refused when the account is saved,
//! not when the first payer is waiting.

use std::collections::BTreeMap;
use std::sync::Arc;

use payrail_channels::ConfigError;
use payrail_channels::alipay::{AlipayClient, AlipayConfig};
use payrail_channels::wechatpay::{ClientCertificate, WechatPayClient, WechatPayConfig};
use payrail_domain::channel_account::ChannelKind;
use payrail_domain::{Clock, Problem, Secret};

/// Every call to a channel ends within this.
pub(crate) const CHANNEL_TIMEOUT_MS: u64 = 15_000;
/// The longest value of any field: room for a certificate chain in PEM.
pub(crate) const FIELD_CHARS_MAX: usize = 16_384;

/// One field of a channel's credentials.
pub(crate) struct Field {
    pub(crate) name: &'static str,
    pub(crate) secret: bool,
    pub(crate) required: bool,
}

const fn public(name: &'static str) -> Field {
    Field { name, secret: false, required: true }
}

const fn secret(name: &'static str) -> Field {
    Field { name, secret: true, required: true }
}

const fn optional(field: Field) -> Field {
    Field { required: false, ..field }
}

const ALIPAY_FIELDS: &[Field] =
    &[public("gateway_url"), public("app_id"), secret("app_private_key"), public("alipay_public_key")];

const WECHATPAY_FIELDS: &[Field] = &[
    public("base_url"),
    public("mchid"),
    public("appid"),
    public("merchant_serial_no"),
    secret("merchant_private_key"),
    secret("apiv3_key"),
    public("platform_public_key_id"),
    public("platform_public_key"),
    // Payment-code pay (v2) and its reverse: the v2 key and the API client certificate,
    // whose private key is `merchant_private_key`.
    optional(secret("v2_key")),
    optional(public("client_certificate")),
    optional(public("secapi_base_url")),
    optional(public("secapi_ca_certificate")),
];

pub(crate) fn fields(channel: ChannelKind) -> &'static [Field] {
    match channel {
        ChannelKind::Alipay => ALIPAY_FIELDS,
        ChannelKind::Wechatpay => WECHATPAY_FIELDS,
    }
}

/// An account's fields, split as they are stored.
#[derive(Clone, Default)]
pub(crate) struct Credentials {
    pub(crate) settings: BTreeMap<String, String>,
    pub(crate) secrets: BTreeMap<String, Secret<String>>,
}

impl Credentials {
    /// `given` laid over `self` (an update changes only the fields it names; an empty
    /// string removes an optional field). Unknown and oversized fields are refused, naming
    /// them under `channel[…]`.
    pub(crate) fn merged(&self, channel: ChannelKind, given: BTreeMap<String, String>) -> Result<Credentials, Problem> {
        let mut merged = self.clone();
        for (name, value) in given {
            let param = format!("{}[{}]", channel.as_str(), name.chars().take(64).collect::<String>());
            let Some(field) = fields(channel).iter().find(|field| field.name == name) else {
                let message = "the channel account has no such field";
                return Err(Problem::invalid_request("parameter_unknown", message).with_param(param));
            };
            if value.chars().count() > FIELD_CHARS_MAX {
                let message = format!("{param} must be at most {FIELD_CHARS_MAX} characters");
                return Err(Problem::invalid_request("parameter_invalid", message).with_param(param));
            }
            merged.settings.remove(&name);
            merged.secrets.remove(&name);
            let value = value.trim().to_owned();
            match (value.is_empty(), field.secret) {
                (true, _) => {}
                (false, true) => _ = merged.secrets.insert(name, Secret::new(value)),
                (false, false) => _ = merged.settings.insert(name, value),
            }
        }
        for field in fields(channel).iter().filter(|field| field.required) {
            if !merged.settings.contains_key(field.name) && !merged.secrets.contains_key(field.name) {
                let param = format!("{}[{}]", channel.as_str(), field.name);
                return Err(
                    Problem::invalid_request("parameter_missing", format!("{param} is required")).with_param(param)
                );
            }
        }
        Ok(merged)
    }

    pub(crate) fn setting(&self, name: &str) -> &str {
        self.settings.get(name).map_or("", String::as_str)
    }

    fn secret(&self, name: &str) -> Secret<String> {
        self.secrets.get(name).cloned().unwrap_or_else(|| Secret::new(String::new()))
    }

    /// Every field, secrets exposed: for the sandbox's own accounts, whose keys are shown to
    /// the merchant they were made for.
    pub(crate) fn exposed(&self) -> BTreeMap<String, String> {
        let secrets = self.secrets.iter().map(|(name, value)| (name.clone(), value.expose().clone()));
        self.settings.clone().into_iter().chain(secrets).collect()
    }

    /// The secrets as stored (before sealing).
    pub(crate) fn secrets_json(&self) -> Secret<String> {
        let clear: BTreeMap<&str, &str> =
            self.secrets.iter().map(|(name, value)| (name.as_str(), value.expose().as_str())).collect();
        Secret::new(serde_json::to_string(&clear).unwrap_or_else(|_| unreachable!("strings always serialize")))
    }

    /// Read back from storage.
    pub(crate) fn restore(settings: &str, secrets: &Secret<String>) -> Option<Credentials> {
        let settings: BTreeMap<String, String> = serde_json::from_str(settings).ok()?;
        let secrets: BTreeMap<String, String> = serde_json::from_str(secrets.expose()).ok()?;
        Some(Credentials { settings, secrets: secrets.into_iter().map(|(k, v)| (k, Secret::new(v))).collect() })
    }
}

/// A client of one account, whichever its channel.
#[derive(Clone)]
pub(crate) enum ChannelClient {
    Alipay(AlipayClient),
    Wechatpay(WechatPayClient),
}

/// The client for `credentials`; a field it cannot use is named in the error.
pub(crate) fn build_client(
    channel: ChannelKind,
    credentials: &Credentials,
    clock: Arc<dyn Clock>,
) -> Result<ChannelClient, Problem> {
    match channel {
        ChannelKind::Alipay => alipay_client(credentials, clock).map(ChannelClient::Alipay),
        ChannelKind::Wechatpay => wechatpay_client(credentials, clock).map(ChannelClient::Wechatpay),
    }
}

fn alipay_client(credentials: &Credentials, clock: Arc<dyn Clock>) -> Result<AlipayClient, Problem> {
    let config = AlipayConfig {
        gateway_url: credentials.setting("gateway_url").to_owned(),
        app_id: credentials.setting("app_id").to_owned(),
        app_private_key: credentials.secret("app_private_key"),
        alipay_public_key: credentials.setting("alipay_public_key").to_owned(),
        timeout_ms: CHANNEL_TIMEOUT_MS,
    };
    AlipayClient::new(&config, clock).map_err(|error| {
        let field = match &error {
            ConfigError::Key("app private key") => "app_private_key",
            ConfigError::Key(_) => "alipay_public_key",
            ConfigError::Empty(_) => "app_id",
            _ => "gateway_url",
        };
        invalid(ChannelKind::Alipay, field, &error.to_string())
    })
}

fn wechatpay_client(credentials: &Credentials, clock: Arc<dyn Clock>) -> Result<WechatPayClient, Problem> {
    use payrail_channels::wechatpay::WechatPayConfigError as Refused;
    let merchant_key = credentials.secret("merchant_private_key");
    let optional = |name: &str| credentials.settings.get(name).cloned();
    let config = WechatPayConfig {
        base_url: credentials.setting("base_url").to_owned(),
        mchid: credentials.setting("mchid").to_owned(),
        appid: credentials.setting("appid").to_owned(),
        merchant_serial_no: credentials.setting("merchant_serial_no").to_owned(),
        merchant_private_key_pem: merchant_key.clone(),
        apiv3_key: credentials.secret("apiv3_key"),
        platform_public_key_id: credentials.setting("platform_public_key_id").to_owned(),
        platform_public_key_pem: credentials.setting("platform_public_key").to_owned(),
        v2_key: credentials.secrets.get("v2_key").cloned(),
        client_certificate: optional("client_certificate")
            .map(|certificate_pem| ClientCertificate { certificate_pem, private_key_pem: merchant_key }),
        secapi_base_url: optional("secapi_base_url"),
        secapi_ca_certificate_pem: optional("secapi_ca_certificate"),
        timeout_ms: CHANNEL_TIMEOUT_MS,
    };
    WechatPayClient::new(config, clock).map_err(|error| {
        let field = match &error {
            Refused::MerchantPrivateKey => "merchant_private_key",
            Refused::PlatformPublicKey => "platform_public_key",
            Refused::Apiv3Key => "apiv3_key",
            Refused::Empty(field) => field,
            Refused::Secapi(_) => "client_certificate",
            Refused::Transport(_) => "base_url",
        };
        invalid(ChannelKind::Wechatpay, field, &error.to_string())
    })
}

/// A field the channel cannot use; the message says why, never what was sent.
pub(crate) fn invalid(channel: ChannelKind, field: &str, why: &str) -> Problem {
    let param = format!("{}[{field}]", channel.as_str());
    Problem::invalid_request("parameter_invalid", format!("{param} is not usable: {why}")).with_param(param)
}
