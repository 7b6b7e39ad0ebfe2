//! The simulator's keys: its own platform key pair (public-key mode, id `PUB_KEY_ID_…`),
//! and for each merchant a `mchid`, an `appid`, a merchant API key pair with its
//! certificate serial, an APIv3 key and an APIv2 key, all generated at random, and the
//! merchant API certificate for that key pair, issued by the simulator's CA (see
//! [`super::certificates`]).

use payrail_crypto::CryptoError;
use payrail_crypto::rsa::{RsaPrivateKey, RsaPublicKey};
use payrail_domain::Secret;

use super::certificates::{Authority, CertificateError, ClientCertificate};
use super::random::{digits, hex_upper, token};

/// What an outside client needs to talk to the simulator as one merchant, as WeChat Pay's
/// merchant platform hands them out. `Debug` masks the secrets.
#[derive(Debug, Clone)]
pub struct WechatPayCredentials {
    /// The simulator's address, ending in its mount prefix (no trailing `/`).
    pub base_url: String,
    pub mchid: String,
    pub appid: String,
    pub merchant_serial_no: String,
    pub merchant_private_key_pem: Secret<String>,
    pub platform_public_key_id: String,
    pub platform_public_key_pem: String,
    pub apiv3_key: Secret<String>,
    pub v2_key: Secret<String>,
    /// The merchant API certificate (`apiclient_cert.pem`): X.509 in PEM, subject
    /// `CN=<mchid>`, serial `merchant_serial_no`, issued by the simulator's CA. Its private
    /// key is `merchant_private_key_pem` (`apiclient_key.pem`), as with WeChat's. Presented
    /// as the TLS client certificate on `/secapi/…`.
    pub merchant_certificate_pem: String,
    /// The simulator's CA certificate in PEM: trust it for the secapi listener's address.
    pub ca_certificate_pem: String,
    /// Where `/secapi/…` is served over mutual TLS (`https://host:port`, no trailing `/`),
    /// once [`super::WechatPay::serve_secapi`] has started that listener.
    pub secapi_base_url: Option<String>,
}

/// The simulator's keys as a later run needs them ([`super::WechatPay::kept_keys`]).
/// Serializes to JSON for keeping; `Debug` masks the secrets.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct KeptKeys {
    #[serde(with = "secret_text")]
    pub platform_private_key_pem: Secret<String>,
    pub platform_key_id: String,
    pub merchants: Vec<KeptMerchant>,
}

/// One merchant's identifiers and keys, kept for a later run.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct KeptMerchant {
    pub mchid: String,
    pub appid: String,
    pub serial_no: String,
    #[serde(with = "secret_text")]
    pub private_key_pem: Secret<String>,
    #[serde(with = "secret_text")]
    pub apiv3_key: Secret<String>,
    #[serde(with = "secret_text")]
    pub v2_key: Secret<String>,
}

/// A secret written as its text: only for values that are then sealed as a whole.
mod secret_text {
    use payrail_domain::Secret;
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(secret: &Secret<String>, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(secret.expose())
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Secret<String>, D::Error> {
        String::deserialize(deserializer).map(Secret::new)
    }
}

/// One merchant as the simulator knows it.
#[derive(Clone)]
pub(crate) struct Merchant {
    pub(crate) mchid: String,
    pub(crate) appid: String,
    pub(crate) serial_no: String,
    pub(crate) public_key: RsaPublicKey,
    private_key_pem: Secret<String>,
    pub(crate) apiv3_key: Secret<String>,
    pub(crate) v2_key: Secret<String>,
    pub(crate) certificate: ClientCertificate,
}

impl Merchant {
    pub(crate) fn generate(authority: &Authority) -> Result<Merchant, MerchantError> {
        let key = RsaPrivateKey::generate()?;
        // Real merchant numbers are 10 digits starting 1; app ids `wx` + 16 hex.
        let mchid = format!("19{}", digits(8));
        let serial_no = hex_upper(20);
        let private_key_pem = key.to_pkcs8_pem()?;
        let certificate = authority.issue_client(&mchid, &serial_no, &private_key_pem)?;
        Ok(Merchant {
            mchid,
            appid: format!("wx{}", hex_upper(8).to_lowercase()),
            serial_no,
            public_key: key.public_key()?,
            private_key_pem: Secret::new(private_key_pem),
            apiv3_key: Secret::new(token(32)),
            v2_key: Secret::new(token(32)),
            certificate,
        })
    }

    /// A merchant a previous run kept, with a certificate from this run's CA.
    pub(crate) fn restore(kept: &KeptMerchant, authority: &Authority) -> Result<Merchant, MerchantError> {
        let key = RsaPrivateKey::from_pem(kept.private_key_pem.expose())?;
        let private_key_pem = key.to_pkcs8_pem()?;
        let certificate = authority.issue_client(&kept.mchid, &kept.serial_no, &private_key_pem)?;
        Ok(Merchant {
            mchid: kept.mchid.clone(),
            appid: kept.appid.clone(),
            serial_no: kept.serial_no.clone(),
            public_key: key.public_key()?,
            private_key_pem: Secret::new(private_key_pem),
            apiv3_key: kept.apiv3_key.clone(),
            v2_key: kept.v2_key.clone(),
            certificate,
        })
    }

    pub(crate) fn kept(&self) -> KeptMerchant {
        KeptMerchant {
            mchid: self.mchid.clone(),
            appid: self.appid.clone(),
            serial_no: self.serial_no.clone(),
            private_key_pem: self.private_key_pem.clone(),
            apiv3_key: self.apiv3_key.clone(),
            v2_key: self.v2_key.clone(),
        }
    }

    pub(crate) fn credentials(&self, base_url: &str, platform: &Platform, secapi: &Secapi<'_>) -> WechatPayCredentials {
        WechatPayCredentials {
            base_url: base_url.to_owned(),
            mchid: self.mchid.clone(),
            appid: self.appid.clone(),
            merchant_serial_no: self.serial_no.clone(),
            merchant_private_key_pem: self.private_key_pem.clone(),
            platform_public_key_id: platform.key_id.clone(),
            platform_public_key_pem: platform.public_key_pem.clone(),
            apiv3_key: self.apiv3_key.clone(),
            v2_key: self.v2_key.clone(),
            merchant_certificate_pem: self.certificate.pem.clone(),
            ca_certificate_pem: secapi.ca_certificate_pem.to_owned(),
            secapi_base_url: secapi.base_url.clone(),
        }
    }
}

/// What credentials say about the secapi listener.
pub(crate) struct Secapi<'a> {
    pub(crate) ca_certificate_pem: &'a str,
    pub(crate) base_url: Option<String>,
}

/// Why a merchant could not be generated.
#[derive(Debug, thiserror::Error)]
pub(crate) enum MerchantError {
    #[error(transparent)]
    Keys(#[from] CryptoError),
    #[error(transparent)]
    Certificate(#[from] CertificateError),
}

/// The simulator's own signing key.
pub(crate) struct Platform {
    pub(crate) key: RsaPrivateKey,
    pub(crate) key_id: String,
    pub(crate) public_key_pem: String,
}

impl Platform {
    pub(crate) fn generate() -> Result<Platform, CryptoError> {
        Platform::from_key(RsaPrivateKey::generate()?, &format!("PUB_KEY_ID_01{}", digits(30)))
    }

    pub(crate) fn from_key(key: RsaPrivateKey, key_id: &str) -> Result<Platform, CryptoError> {
        let public_key_pem = key.public_key()?.to_pem();
        Ok(Platform { key, key_id: key_id.to_owned(), public_key_pem })
    }
}
