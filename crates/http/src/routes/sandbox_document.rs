//! The document of a merchant's sandbox credentials, as `GET /sandbox/credentials` serves
//! it and `payrail sandbox credentials --json` prints it: field names an SDK's settings
//! use, made from the merchant's sandbox accounts (their fields are named as a channel
//! account's).

use std::collections::BTreeMap;

use payrail_domain::Secret;
use payrail_service::SandboxAccountFields;
use serde::{Serialize, Serializer};

/// One merchant's sandbox credentials for outside SDKs: its own sandbox Alipay app and
/// WeChat Pay merchant. `Debug` masks the secrets.
#[derive(Debug, Clone, Serialize)]
pub struct SandboxCredentials {
    pub alipay: SandboxAlipayCredentials,
    pub wechatpay: SandboxWechatPayCredentials,
}

/// An Alipay SDK's settings: point its gateway at `gateway_url`.
#[derive(Debug, Clone, Serialize)]
pub struct SandboxAlipayCredentials {
    pub gateway_url: String,
    pub app_id: String,
    #[serde(serialize_with = "exposed")]
    pub app_private_key_pem: Secret<String>,
    pub alipay_public_key_pem: String,
}

/// A WeChat Pay SDK's settings (public-key mode): point its base URL at `base_url`.
#[derive(Debug, Clone, Serialize)]
pub struct SandboxWechatPayCredentials {
    pub base_url: String,
    pub mchid: String,
    pub appid: String,
    pub merchant_serial_no: String,
    #[serde(serialize_with = "exposed")]
    pub merchant_private_key_pem: Secret<String>,
    pub platform_public_key_id: String,
    pub platform_public_key_pem: String,
    #[serde(serialize_with = "exposed")]
    pub apiv3_key: Secret<String>,
    #[serde(serialize_with = "exposed")]
    pub v2_key: Secret<String>,
    /// Only a running server knows these; absent elsewhere.
    #[serde(flatten)]
    pub secapi: Option<SandboxSecapi>,
}

/// The `/secapi/…` mutual-TLS listener of one `payrail serve` run: its address (a port the
/// system picked) and the certificates of that run's CA.
#[derive(Debug, Clone, Serialize)]
pub struct SandboxSecapi {
    pub secapi_base_url: String,
    /// `apiclient_cert.pem`; its key is `merchant_private_key_pem`.
    pub merchant_certificate_pem: String,
    /// The root to trust for `secapi_base_url`.
    pub ca_certificate_pem: String,
}

impl SandboxCredentials {
    /// The document of `fields`; the secapi listener's settings only where the fields hold
    /// them (a running server's own).
    pub fn from_fields(fields: &SandboxAccountFields) -> SandboxCredentials {
        let (alipay, wechatpay) = (&fields.alipay, &fields.wechatpay);
        let text = |fields: &BTreeMap<String, String>, name: &str| fields.get(name).cloned().unwrap_or_default();
        let secret = |fields: &BTreeMap<String, String>, name: &str| Secret::new(text(fields, name));
        let secapi = match (wechatpay.get("secapi_base_url"), wechatpay.get("client_certificate")) {
            (Some(base_url), Some(certificate)) => Some(SandboxSecapi {
                secapi_base_url: base_url.clone(),
                merchant_certificate_pem: certificate.clone(),
                ca_certificate_pem: text(wechatpay, "secapi_ca_certificate"),
            }),
            _ => None,
        };
        SandboxCredentials {
            alipay: SandboxAlipayCredentials {
                gateway_url: text(alipay, "gateway_url"),
                app_id: text(alipay, "app_id"),
                app_private_key_pem: secret(alipay, "app_private_key"),
                alipay_public_key_pem: text(alipay, "alipay_public_key"),
            },
            wechatpay: SandboxWechatPayCredentials {
                base_url: text(wechatpay, "base_url"),
                mchid: text(wechatpay, "mchid"),
                appid: text(wechatpay, "appid"),
                merchant_serial_no: text(wechatpay, "merchant_serial_no"),
                merchant_private_key_pem: secret(wechatpay, "merchant_private_key"),
                platform_public_key_id: text(wechatpay, "platform_public_key_id"),
                platform_public_key_pem: text(wechatpay, "platform_public_key"),
                apiv3_key: secret(wechatpay, "apiv3_key"),
                v2_key: secret(wechatpay, "v2_key"),
                secapi,
            },
        }
    }
}

fn exposed<S: Serializer>(secret: &Secret<String>, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(secret.expose())
}
