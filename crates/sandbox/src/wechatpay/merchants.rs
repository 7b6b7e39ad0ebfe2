//! The simulator's keys: its own platform key pair (public-key mode, id `PUB_KEY_ID_…`),
//! and for each merchant a `mchid`, an `appid`, a merchant API key pair with its
//! certificate serial, an APIv3 key and an APIv2 key, all generated at random.

use payrail_crypto::CryptoError;
use payrail_crypto::rsa::{RsaPrivateKey, RsaPublicKey};
use payrail_domain::Secret;

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
}

impl Merchant {
    pub(crate) fn generate() -> Result<Merchant, CryptoError> {
        let key = RsaPrivateKey::generate()?;
        Ok(Merchant {
            // Real merchant numbers are 10 digits starting 1; app ids `wx` + 16 hex.
            mchid: format!("19{}", digits(8)),
            appid: format!("wx{}", hex_upper(8).to_lowercase()),
            serial_no: hex_upper(20),
            public_key: key.public_key()?,
            private_key_pem: Secret::new(key.to_pkcs8_pem()?),
            apiv3_key: Secret::new(token(32)),
            v2_key: Secret::new(token(32)),
        })
    }

    pub(crate) fn credentials(&self, base_url: &str, platform: &Platform) -> WechatPayCredentials {
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
        }
    }
}

/// The simulator's own signing key.
pub(crate) struct Platform {
    pub(crate) key: RsaPrivateKey,
    pub(crate) key_id: String,
    pub(crate) public_key_pem: String,
}

impl Platform {
    pub(crate) fn generate() -> Result<Platform, CryptoError> {
        let key = RsaPrivateKey::generate()?;
        let public_key_pem = key.public_key()?.to_pem();
        Ok(Platform { key, key_id: format!("PUB_KEY_ID_01{}", digits(30)), public_key_pem })
    }
}
