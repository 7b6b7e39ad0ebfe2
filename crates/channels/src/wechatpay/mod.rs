//! The WeChat Pay channel: a client of WeChat Pay's merchant API at
//! `https://api.mch.weixin.qq.com` (v3 JSON for QR, JSAPI and H5 orders, queries, closes
//! and refunds; v2 XML for payment-code pay), served in sandbox mode by
//! `payrail-sandbox`'s simulator.
//!
//! Rules for the caller, which the types are shaped around:
//!
//! - `out_trade_no` is the attempt id and `out_refund_no` the refund id, saved before the
//!   call and sent unchanged on every retry. A call that ends with an unknown outcome
//!   ([`ChannelError::outcome_is_unknown`], a timeout included) is resolved by
//!   [`WechatPayClient::query`] (or [`WechatPayClient::query_refund`]) under the same
//!   number, never by a new one.
//! - Every 2xx answer, a 204 included, is believed only after its `Wechatpay-*` headers
//!   were checked against the configured platform public key (public-key mode,
//!   `PUB_KEY_ID_…`); an answer that fails the check is [`ChannelError::Protocol`], an
//!   unknown outcome.
//! - WeChat's error codes are kept: a 4xx answer is [`ChannelError::Rejected`] with its
//!   code (`ORDERPAID`, `ORDER_CLOSED`, `PARAM_ERROR`, `SIGN_ERROR`, `NOT_ENOUGH`, …); a
//!   5xx or 429 (`SYSTEM_ERROR`, `FREQUENCY_LIMITED`) is [`ChannelError::Transient`], to be
//!   retried under the same number.
//! - Notifications are checked and decrypted by [`WechatPayClient::verify_notification`].
//!
//! - v2 `/secapi/…` calls (reverse) go over mutual TLS with the merchant API certificate
//!   ([`WechatPayConfig::client_certificate`]), to [`WechatPayConfig::secapi_base_url`]
//!   (default: `base_url`); without a certificate they fail before sending
//!   (`client_certificate_missing`). See [`ClientCertificate`].
//!
//! Not built yet: platform-certificate mode (`/v3/certificates`).
//!
//! Logs carry the operation and the merchant's number, never bodies or keys.

mod micropay;
mod notification;
mod secapi;
pub mod signing;
mod time;
mod transactions;
mod types;
mod wire;
pub mod xml;

use std::sync::Arc;

use crate::error::{ChannelError, ConfigError};
use crate::transport::{self, Answer};
use payrail_crypto::rsa::{RsaPrivateKey, RsaPublicKey};
use payrail_domain::{Clock, Secret};
use signing::{PlatformKey, RequestSignature};

pub use micropay::{MicropayOutcome, MicropayRequest, V2Failure};
pub use notification::{NotificationRefused, RefundNotification, WechatPayNotification, WechatPayNotificationEvent};
pub use secapi::{ClientCertificate, SecapiConfigError};
pub use signing::SignatureRefused;
pub use time::{format_rfc3339, parse_rfc3339};
pub use types::{
    AmountRefused, Fen, JsapiOrder, OrderRequest, Refund, RefundRequest, RefundStatus, TradeState, Transaction,
};

/// Where WeChat Pay's merchant API lives.
pub const PRODUCTION_BASE_URL: &str = "https://api.mch.weixin.qq.com";

/// One merchant account's settings. `Debug` masks every secret.
#[derive(Debug, Clone)]
pub struct WechatPayConfig {
    /// `https://api.mch.weixin.qq.com`, or the sandbox simulator's address.
    pub base_url: String,
    pub mchid: String,
    pub appid: String,
    /// The serial number of the merchant API certificate, in hex.
    pub merchant_serial_no: String,
    /// The merchant API private key (`apiclient_key.pem`), PKCS#8 or PKCS#1 PEM.
    pub merchant_private_key_pem: Secret<String>,
    /// The APIv3 key: 32 ASCII characters, used as the AES-256-GCM key.
    pub apiv3_key: Secret<String>,
    /// The WeChat Pay public key's id (`PUB_KEY_ID_…`) and the key in PEM.
    pub platform_public_key_id: String,
    pub platform_public_key_pem: String,
    /// The APIv2 key, needed only for payment-code pay.
    pub v2_key: Option<Secret<String>>,
    /// The merchant API certificate and key for mutual TLS on `/secapi/…` (v2 reverse);
    /// without it those calls fail before sending.
    pub client_certificate: Option<ClientCertificate>,
    /// Where `/secapi/…` calls go; `None` means `base_url`, as at WeChat. The sandbox
    /// serves them on a separate `https://` listener.
    pub secapi_base_url: Option<String>,
    /// The only CA trusted for the secapi host, in PEM (the sandbox simulator's); `None`
    /// means the system's roots.
    pub secapi_ca_certificate_pem: Option<String>,
    pub timeout_ms: u64,
}

/// Why a WeChat Pay client could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WechatPayConfigError {
    #[error(transparent)]
    Transport(#[from] ConfigError),
    #[error("the merchant private key is not a usable RSA private key in PEM")]
    MerchantPrivateKey,
    #[error("the platform public key is not a usable RSA public key in PEM")]
    PlatformPublicKey,
    #[error("the APIv3 key must be exactly 32 bytes")]
    Apiv3Key,
    #[error("{0} must not be empty")]
    Empty(&'static str),
    #[error(transparent)]
    Secapi(#[from] SecapiConfigError),
}

/// A client of one WeChat Pay merchant account. Cloning is cheap.
#[derive(Clone)]
pub struct WechatPayClient {
    http: reqwest::Client,
    base_url: String,
    mchid: String,
    appid: String,
    merchant_serial_no: String,
    merchant_key: Arc<RsaPrivateKey>,
    apiv3_key: Secret<String>,
    platform_key_id: String,
    platform_key: RsaPublicKey,
    v2_key: Option<Secret<String>>,
    secapi: Option<secapi::SecapiClient>,
    clock: Arc<dyn Clock>,
}

impl WechatPayClient {
    /// A client for the account in `config`; `clock` gives the signing time and judges the
    /// freshness of answers and notifications.
    pub fn new(config: WechatPayConfig, clock: Arc<dyn Clock>) -> Result<WechatPayClient, WechatPayConfigError> {
        for (name, value) in [
            ("mchid", &config.mchid),
            ("appid", &config.appid),
            ("merchant_serial_no", &config.merchant_serial_no),
            ("platform_public_key_id", &config.platform_public_key_id),
        ] {
            if value.trim().is_empty() {
                return Err(WechatPayConfigError::Empty(name));
            }
        }
        if config.apiv3_key.expose().len() != payrail_crypto::aead::KEY_BYTES {
            return Err(WechatPayConfigError::Apiv3Key);
        }
        let merchant_key = RsaPrivateKey::from_pem(config.merchant_private_key_pem.expose())
            .map_err(|_| WechatPayConfigError::MerchantPrivateKey)?;
        let platform_key = RsaPublicKey::from_pem(&config.platform_public_key_pem)
            .map_err(|_| WechatPayConfigError::PlatformPublicKey)?;
        let secapi = match &config.client_certificate {
            Some(certificate) => Some(secapi::SecapiClient::new(
                certificate,
                config.secapi_ca_certificate_pem.as_deref(),
                config.secapi_base_url.as_deref().unwrap_or(&config.base_url),
                config.timeout_ms,
            )?),
            None => None,
        };
        Ok(WechatPayClient {
            http: transport::client(config.timeout_ms)?,
            base_url: transport::base_url(&config.base_url)?,
            mchid: config.mchid,
            appid: config.appid,
            merchant_serial_no: config.merchant_serial_no,
            merchant_key: Arc::new(merchant_key),
            apiv3_key: config.apiv3_key,
            platform_key_id: config.platform_public_key_id,
            platform_key,
            v2_key: config.v2_key,
            secapi,
            clock,
        })
    }

    pub fn mchid(&self) -> &str {
        &self.mchid
    }

    pub fn appid(&self) -> &str {
        &self.appid
    }

    /// Where v3 calls go, as configured.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The platform public key answers and notifications are checked with, in PEM.
    pub fn platform_public_key_pem(&self) -> String {
        self.platform_key.to_pem()
    }

    fn platform(&self) -> PlatformKey<'_> {
        PlatformKey { id: &self.platform_key_id, key: &self.platform_key }
    }

    /// The path part the signature covers: the base URL's own path (a sandbox prefix)
    /// followed by `path_and_query`, exactly as the request line will carry it.
    fn canonical_url(&self, path_and_query: &str) -> String {
        let base_path = reqwest::Url::parse(&self.base_url).map(|url| url.path().to_owned()).unwrap_or_default();
        format!("{}{path_and_query}", base_path.trim_end_matches('/'))
    }

    /// Signs and sends one v3 call, then checks the answer: a 2xx must carry a valid
    /// platform signature, anything else becomes a [`ChannelError`].
    async fn call_v3(
        &self,
        operation: &'static str,
        method: reqwest::Method,
        path_and_query: &str,
        body: Option<Vec<u8>>,
    ) -> Result<Answer, ChannelError> {
        let body = body.unwrap_or_default();
        let nonce = signing::random_nonce();
        let canonical_url = self.canonical_url(path_and_query);
        let signature = RequestSignature {
            mchid: &self.mchid,
            serial_no: &self.merchant_serial_no,
            method: method.as_str(),
            canonical_url: &canonical_url,
            timestamp: self.clock.now().unix_seconds(),
            nonce: &nonce,
            body: &body,
        };
        let authorization = signing::authorization(&self.merchant_key, &signature)
            .map_err(|_| ChannelError::Transient { code: "request_not_signed".to_owned() })?;
        let mut request = self
            .http
            .request(method, format!("{}{path_and_query}", self.base_url))
            .header(reqwest::header::AUTHORIZATION, authorization)
            .header(reqwest::header::ACCEPT, "application/json")
            .header(signing::HEADER_SERIAL, &self.platform_key_id);
        if !body.is_empty() {
            request = request.header(reqwest::header::CONTENT_TYPE, "application/json").body(body);
        }
        let result = self.checked(request).await;
        match &result {
            Ok(answer) => {
                tracing::debug!(operation, mchid = %self.mchid, status = answer.status.as_u16(), "wechat pay call")
            }
            Err(error) => tracing::debug!(operation, mchid = %self.mchid, %error, "wechat pay call failed"),
        }
        result
    }

    async fn checked(&self, request: reqwest::RequestBuilder) -> Result<Answer, ChannelError> {
        let (answer, headers) = transport::send_with_headers(request).await?;
        if !answer.status.is_success() {
            return Err(refusal(&answer));
        }
        signing::verify_signed_headers(&headers, &answer.body, &self.platform(), self.clock.now().unix_seconds())
            .map_err(|refused| ChannelError::Protocol(format!("answer not signed by WeChat Pay: {refused}")))?;
        Ok(answer)
    }
}

impl std::fmt::Debug for WechatPayClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WechatPayClient")
            .field("base_url", &self.base_url)
            .field("mchid", &self.mchid)
            .field("appid", &self.appid)
            .field("platform_key_id", &self.platform_key_id)
            .finish_non_exhaustive()
    }
}

/// The error of a non-2xx v3 answer, WeChat's code kept.
fn refusal(answer: &Answer) -> ChannelError {
    let error = serde_json::from_slice::<wire::ErrorWire>(&answer.body).ok().map(|error| (error.code, error.message));
    transport::refusal_with(answer.status, error)
}

/// WeChat's "no such order/refund" (v3 `ORDER_NOT_EXIST`, `RESOURCE_NOT_EXISTS`; v2
/// `ORDERNOTEXIST`).
fn is_not_found(error: &ChannelError) -> bool {
    matches!(error.code(), Some("ORDER_NOT_EXIST" | "ORDERNOTEXIST" | "RESOURCE_NOT_EXISTS"))
}

#[cfg(test)]
mod tests {
    use reqwest::StatusCode;

    use super::*;

    fn answer(status: u16, body: &str) -> Answer {
        Answer { status: StatusCode::from_u16(status).expect("status"), body: body.as_bytes().to_vec() }
    }

    #[test]
    fn wechat_error_bodies_keep_their_code() {
        let paid = refusal(&answer(400, r#"{"code":"ORDERPAID","message":"该订单已支付"}"#));
        assert_eq!(paid.code(), Some("ORDERPAID"));
        assert!(!paid.is_transient());
        let system = refusal(&answer(500, r#"{"code":"SYSTEM_ERROR","message":"系统错误"}"#));
        assert_eq!(system, ChannelError::Transient { code: "SYSTEM_ERROR".to_owned() });
        assert!(refusal(&answer(502, "<html>")).outcome_is_unknown());
        assert!(is_not_found(&refusal(&answer(404, r#"{"code":"ORDER_NOT_EXIST","message":"m"}"#))));
    }
}
