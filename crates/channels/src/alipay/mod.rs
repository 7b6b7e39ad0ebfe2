//! The Alipay channel: a client of Alipay's OpenAPI v2 gateway (`gateway.do`), served in
//! sandbox mode by `payrail-sandbox`'s simulator and in production by
//! `https://openapi.alipay.com/gateway.do`.
//!
//! The protocol, as the official SDKs speak it:
//!
//! - Every call is `POST gateway.do?<common parameters>` with `biz_content` (the
//!   operation's JSON) in an `application/x-www-form-urlencoded` body. The common
//!   parameters are `app_id`, `method`, `format=JSON`, `charset=utf-8`, `sign_type=RSA2`,
//!   `timestamp` (Beijing time, `yyyy-MM-dd HH:mm:ss`), `version=1.0`, `notify_url`, and
//!   `sign`: SHA256withRSA with the app's private key over every other parameter (see
//!   [`sign`] for the exact string).
//! - The answer is HTTP 200 `{"<method_with_underscores>_response":{…},"sign":"…"}` (or
//!   `error_response`), signed by Alipay over the exact text of the object. This client
//!   checks that signature before reading anything else, so an answer it cannot verify is
//!   an unknown outcome, never a success or a refusal.
//! - `code` `10000` is success; `10003` (only from `trade.pay`) means the payer has not
//!   confirmed yet; `20000` and `ACQ.SYSTEM_ERROR` mean the outcome is unknown; `40001`,
//!   `40002`, `40004`, `40006` are refusals, kept with Alipay's `sub_code` for support.
//!
//! Rules for the caller: `out_trade_no` and `out_request_no` are saved before the call and
//! reused on every retry; a timeout is resolved with [`AlipayClient::query`] (or
//! [`AlipayClient::refund_query`]) under the same reference, never by a new one.
//!
//! Logs carry the method and the reference, never bodies or keys.

mod notification;
mod operations;
mod sign;
mod types;
mod wire;

use std::sync::Arc;

use payrail_crypto::rsa::{RsaPrivateKey, RsaPublicKey};
use payrail_domain::decimal::format_beijing;
use payrail_domain::{Clock, Money, Secret};

use crate::error::{ChannelError, ConfigError};
use crate::transport;

pub use notification::{AlipayNotification, AlipayReturn, NOTIFICATION_ACKNOWLEDGEMENT, NotificationRefused};
pub use types::{
    BarcodePayRequest, CancelOutcome, CloseOutcome, PayOutcome, PrecreateRequest, Precreated, RedirectPayRequest,
    RefundRecord, RefundRequest, Refunded, Trade, TradeStatus,
};
use wire::Verified;

/// Alipay's production gateway.
pub const PRODUCTION_GATEWAY_URL: &str = "https://openapi.alipay.com/gateway.do";

/// What a merchant configures for one Alipay app. `Debug` shows no key.
#[derive(Clone)]
pub struct AlipayConfig {
    /// Such as [`PRODUCTION_GATEWAY_URL`], or the sandbox's `…/sandbox/alipay/gateway.do`.
    pub gateway_url: String,
    pub app_id: String,
    /// The app's private key: PEM or bare base64, PKCS#8 or PKCS#1.
    pub app_private_key: Secret<String>,
    /// Alipay's public key for this app: PEM or bare base64.
    pub alipay_public_key: String,
    /// Every call ends within this (1 to 600,000).
    pub timeout_ms: u64,
}

impl std::fmt::Debug for AlipayConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AlipayConfig")
            .field("gateway_url", &self.gateway_url)
            .field("app_id", &self.app_id)
            .field("timeout_ms", &self.timeout_ms)
            .finish_non_exhaustive()
    }
}

/// A client of one Alipay app. Cloning is cheap.
#[derive(Clone)]
pub struct AlipayClient {
    http: reqwest::Client,
    gateway_url: String,
    app_id: String,
    app_key: Arc<RsaPrivateKey>,
    alipay_key: RsaPublicKey,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for AlipayClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AlipayClient")
            .field("gateway_url", &self.gateway_url)
            .field("app_id", &self.app_id)
            .finish_non_exhaustive()
    }
}

impl AlipayClient {
    /// A client for `config`; the clock gives each request's `timestamp`.
    pub fn new(config: &AlipayConfig, clock: Arc<dyn Clock>) -> Result<AlipayClient, ConfigError> {
        if config.app_id.trim().is_empty() {
            return Err(ConfigError::Empty("app_id"));
        }
        let app_key = RsaPrivateKey::from_pem(config.app_private_key.expose())
            .map_err(|_| ConfigError::Key("app private key"))?;
        let alipay_key =
            RsaPublicKey::from_pem(&config.alipay_public_key).map_err(|_| ConfigError::Key("Alipay public key"))?;
        Ok(AlipayClient {
            http: transport::client(config.timeout_ms)?,
            gateway_url: transport::base_url(&config.gateway_url)?,
            app_id: config.app_id.clone(),
            app_key: Arc::new(app_key),
            alipay_key,
            clock,
        })
    }

    pub fn app_id(&self) -> &str {
        &self.app_id
    }

    /// Where calls go, as configured (without a trailing slash).
    pub fn gateway_url(&self) -> &str {
        &self.gateway_url
    }

    /// The Alipay public key answers are checked with, in PEM.
    pub fn alipay_public_key_pem(&self) -> String {
        self.alipay_key.to_pem()
    }

    /// The common parameters of a call to `method`, `biz_content` and the extra
    /// parameters included, signed.
    fn signed_params(
        &self,
        method: &str,
        biz_content: &serde_json::Value,
        extra: &[(&str, &str)],
    ) -> Result<Vec<(String, String)>, ChannelError> {
        let mut params: Vec<(String, String)> = [
            ("app_id", self.app_id.as_str()),
            ("method", method),
            ("format", "JSON"),
            ("charset", "utf-8"),
            ("sign_type", "RSA2"),
            ("version", "1.0"),
        ]
        .into_iter()
        .chain(extra.iter().copied())
        .filter(|(_, value)| !value.is_empty())
        .map(|(key, value)| (key.to_owned(), value.to_owned()))
        .collect();
        params.push(("timestamp".to_owned(), format_beijing(self.clock.now())));
        params.push(("biz_content".to_owned(), biz_content.to_string()));
        let content = sign::request_content(params.iter().map(|(key, value)| (key.as_str(), value.as_str())));
        let signature = self
            .app_key
            .sign_base64(content.as_bytes())
            .map_err(|_| ChannelError::Transient { code: "signing_failed".to_owned() })?;
        params.push(("sign".to_owned(), signature));
        Ok(params)
    }

    /// Calls `method` and returns its verified answer, whatever its code.
    async fn call(
        &self,
        method: &'static str,
        reference: &str,
        biz_content: &serde_json::Value,
        extra: &[(&str, &str)],
    ) -> Result<Verified, ChannelError> {
        let params = self.signed_params(method, biz_content, extra)?;
        // As the official SDKs do: common parameters in the URL, the business ones in the
        // form body, so proxies that log URLs do not log the order.
        let (body, query): (Vec<_>, Vec<_>) = params.iter().partition(|(key, _)| key == "biz_content");
        let url = format!("{}?{}", self.gateway_url, encode(query));
        let request = self
            .http
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/x-www-form-urlencoded;charset=utf-8")
            .body(encode(body));
        let result = transport::send(request).await.and_then(|answer| {
            if answer.status.as_u16() != 200 {
                // Alipay answers 200 even to refusals; anything else came from something
                // in between, and says nothing about whether Alipay acted.
                return Err(wire::protocol(&format!("unexpected HTTP {}", answer.status.as_u16())));
            }
            wire::verify_answer(&answer.body, method, &self.alipay_key)
        });
        match &result {
            Ok(verified) => {
                tracing::debug!(method, reference, code = %verified.status.code, reason = verified.reason(), "alipay call")
            }
            Err(error) => tracing::debug!(method, reference, %error, "alipay call failed"),
        }
        result
    }

    /// The browser URL of a signed `GET` to the gateway, for page and WAP pay.
    fn redirect_url(
        &self,
        method: &'static str,
        biz_content: &serde_json::Value,
        extra: &[(&str, &str)],
    ) -> Result<String, ChannelError> {
        let params = self.signed_params(method, biz_content, extra)?;
        Ok(format!("{}?{}", self.gateway_url, encode(params.iter())))
    }
}

fn encode<'a>(params: impl IntoIterator<Item = &'a (String, String)>) -> String {
    let mut serializer = form_urlencoded::Serializer::new(String::new());
    for (key, value) in params {
        serializer.append_pair(key, value);
    }
    serializer.finish()
}

/// Alipay takes yuan with two decimals, CNY only.
fn yuan_text(amount: Money) -> Result<String, ChannelError> {
    if amount.currency().code() != "CNY" || amount.amount_minor() <= 0 {
        return Err(ChannelError::Rejected {
            status: 400,
            code: "currency_not_supported".to_owned(),
            message: "alipay takes positive CNY amounts only".to_owned(),
        });
    }
    Ok(payrail_domain::decimal::format_major(amount))
}

#[cfg(test)]
mod tests {
    use payrail_domain::Timestamp;

    use super::*;

    struct FixedClock;

    impl Clock for FixedClock {
        fn now(&self) -> Timestamp {
            // 2026-05-28T20:26:40Z, the next morning in Beijing.
            Timestamp::from_unix_ms(1_780_000_000_000).expect("valid time")
        }
    }

    fn config(app_private_key: String) -> AlipayConfig {
        let alipay_key = RsaPrivateKey::generate().expect("key").public_key().expect("public");
        AlipayConfig {
            gateway_url: PRODUCTION_GATEWAY_URL.to_owned(),
            app_id: "2021000000000001".to_owned(),
            app_private_key: Secret::new(app_private_key),
            alipay_public_key: alipay_key.to_pem(),
            timeout_ms: 5_000,
        }
    }

    #[test]
    fn keys_are_read_as_pem_or_bare_base64_and_never_shown() {
        let key = RsaPrivateKey::generate().expect("key");
        let pem = key.to_pkcs8_pem().expect("pem");
        let bare: String = pem.lines().filter(|line| !line.starts_with("-----")).collect();
        let client = AlipayClient::new(&config(bare), Arc::new(FixedClock)).expect("bare base64 is accepted");
        let shown = format!("{client:?} {:?}", config(pem.clone()));
        assert!(!shown.contains(&pem[30..60]) && !shown.contains("PUBLIC"), "{shown}");
        let refused = AlipayClient::new(&config("not a key".to_owned()), Arc::new(FixedClock));
        assert_eq!(refused.err(), Some(ConfigError::Key("app private key")));
    }

    /// The PKCS#1 `RSAPrivateKey` inside a PKCS#8 DER `PrivateKeyInfo`: the contents of
    /// its third element, an OCTET STRING.
    fn pkcs1_of(pkcs8: &[u8]) -> Vec<u8> {
        let header = |at: usize| -> (usize, usize) {
            let first = usize::from(pkcs8[at + 1]);
            if first < 0x80 {
                return (at + 2, first);
            }
            let count = first - 0x80;
            let length = pkcs8[at + 2..at + 2 + count].iter().fold(0, |length, byte| length * 256 + usize::from(*byte));
            (at + 2 + count, length)
        };
        let (version, _) = header(0);
        let (algorithm, version_length) = header(version);
        let (after_algorithm, algorithm_length) = header(algorithm + version_length);
        let (key, key_length) = header(after_algorithm + algorithm_length);
        pkcs8[key..key + key_length].to_vec()
    }

    #[test]
    fn pkcs1_keys_as_alipays_key_tool_writes_them_are_accepted() {
        let key = RsaPrivateKey::generate().expect("key");
        let (_, pkcs8) = payrail_crypto::pem::decode(&key.to_pkcs8_pem().expect("pem")).expect("der");
        let pkcs1 = payrail_crypto::pem::encode("RSA PRIVATE KEY", &pkcs1_of(&pkcs8));
        let client = AlipayClient::new(&config(pkcs1), Arc::new(FixedClock)).expect("PKCS#1 is accepted");
        let signature = client.app_key.sign_base64(b"m").expect("signs");
        assert!(key.public_key().expect("public").verify_base64(b"m", &signature));
    }

    #[test]
    fn requests_carry_beijing_time_and_a_signature_over_the_sorted_parameters() {
        let key = RsaPrivateKey::generate().expect("key");
        let public = key.public_key().expect("public");
        let client =
            AlipayClient::new(&config(key.to_pkcs8_pem().expect("pem")), Arc::new(FixedClock)).expect("client");
        let biz = serde_json::json!({"out_trade_no": "o1", "total_amount": "12.30"});
        let params = client.signed_params("alipay.trade.query", &biz, &[("notify_url", "")]).expect("signed");
        let value = |name: &str| params.iter().find(|(key, _)| key == name).map(|(_, value)| value.as_str());
        assert_eq!(value("timestamp"), Some("2026-05-29 04:26:40"));
        assert_eq!(value("notify_url"), None, "empty parameters are not sent");
        let expected = format!(
            "app_id=2021000000000001&biz_content={biz}&charset=utf-8&format=JSON&method=alipay.trade.query\
             &sign_type=RSA2&timestamp=2026-05-29 04:26:40&version=1.0"
        );
        assert!(public.verify_base64(expected.as_bytes(), value("sign").expect("signed")));
    }
}
