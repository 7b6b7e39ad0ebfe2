//! RSA keys and SHA256withRSA (RSASSA-PKCS1-v1_5 over SHA-256), the signature Alipay
//! calls `RSA2` and WeChat Pay calls `WECHATPAY2-SHA256-RSA2048`.

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{KeyPair, KeySize, PublicKey};
use aws_lc_rs::signature::{KeyPair as _, RSA_PKCS1_2048_8192_SHA256, RSA_PKCS1_SHA256, UnparsedPublicKey};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::{CryptoError, pem};

/// An RSA private key. `Debug` shows nothing of it.
pub struct RsaPrivateKey {
    key: KeyPair,
}

impl RsaPrivateKey {
    /// A new 2048-bit key, for the sandbox's simulated providers and for tests.
    pub fn generate() -> Result<RsaPrivateKey, CryptoError> {
        let key = KeyPair::generate(KeySize::Rsa2048).map_err(|e| CryptoError::KeyRejected(e.to_string()))?;
        Ok(RsaPrivateKey { key })
    }

    /// Reads a PKCS#8 (`PRIVATE KEY`) or PKCS#1 (`RSA PRIVATE KEY`) key, as PEM or as bare
    /// base64 of the DER.
    pub fn from_pem(text: &str) -> Result<RsaPrivateKey, CryptoError> {
        let (_, der) = pem::decode(text)?;
        let key = KeyPair::from_pkcs8(&der)
            .or_else(|_| KeyPair::from_der(&der))
            .map_err(|e| CryptoError::KeyRejected(e.to_string()))?;
        Ok(RsaPrivateKey { key })
    }

    /// The key as PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`).
    pub fn to_pkcs8_pem(&self) -> Result<String, CryptoError> {
        let der = self.key.as_der().map_err(|_| CryptoError::KeyRejected("cannot encode".into()))?;
        Ok(pem::encode("PRIVATE KEY", der.as_ref()))
    }

    /// The matching public key.
    pub fn public_key(&self) -> Result<RsaPublicKey, CryptoError> {
        let der = self.key.public_key().as_der().map_err(|_| CryptoError::KeyRejected("cannot encode".into()))?;
        RsaPublicKey::from_der(der.as_ref())
    }

    /// SHA256withRSA over `message`.
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let mut signature = vec![0; self.key.public_modulus_len()];
        self.key
            .sign(&RSA_PKCS1_SHA256, &SystemRandom::new(), message, &mut signature)
            .map_err(|_| CryptoError::Sign)?;
        Ok(signature)
    }

    /// SHA256withRSA over `message`, base64 (standard alphabet, padded, one line), as both
    /// providers put it on the wire.
    pub fn sign_base64(&self, message: &[u8]) -> Result<String, CryptoError> {
        Ok(STANDARD.encode(self.sign(message)?))
    }
}

impl std::fmt::Debug for RsaPrivateKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RsaPrivateKey(****)")
    }
}

/// An RSA public key, kept as X.509 SubjectPublicKeyInfo DER.
#[derive(Clone, PartialEq, Eq)]
pub struct RsaPublicKey {
    spki_der: Vec<u8>,
}

impl RsaPublicKey {
    /// Reads an X.509 SubjectPublicKeyInfo (`PUBLIC KEY`) or PKCS#1 (`RSA PUBLIC KEY`) key,
    /// as PEM or as bare base64 of the DER.
    pub fn from_pem(text: &str) -> Result<RsaPublicKey, CryptoError> {
        let (_, der) = pem::decode(text)?;
        RsaPublicKey::from_der(&der)
    }

    fn from_der(der: &[u8]) -> Result<RsaPublicKey, CryptoError> {
        let key = PublicKey::from_der(der).map_err(|e| CryptoError::KeyRejected(e.to_string()))?;
        let spki = key.as_der().map_err(|_| CryptoError::KeyRejected("cannot encode".into()))?;
        Ok(RsaPublicKey { spki_der: spki.as_ref().to_vec() })
    }

    /// The key as X.509 SubjectPublicKeyInfo PEM (`-----BEGIN PUBLIC KEY-----`).
    pub fn to_pem(&self) -> String {
        pem::encode("PUBLIC KEY", &self.spki_der)
    }

    /// Whether `signature` is a valid SHA256withRSA signature of `message` by this key.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, &self.spki_der).verify(message, signature).is_ok()
    }

    /// As [`RsaPublicKey::verify`], with the signature in base64; bad base64 is a bad signature.
    pub fn verify_base64(&self, message: &[u8], signature_base64: &str) -> bool {
        STANDARD.decode(signature_base64.trim()).is_ok_and(|signature| self.verify(message, &signature))
    }
}

impl std::fmt::Debug for RsaPublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RsaPublicKey")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_verifies_under_its_public_key_only_and_only_for_its_message() {
        let key = RsaPrivateKey::generate().expect("key");
        let other = RsaPrivateKey::generate().expect("key");
        let signature = key.sign_base64(b"app_id=2021&method=alipay.trade.query").expect("signs");
        let public = key.public_key().expect("public");
        assert!(public.verify_base64(b"app_id=2021&method=alipay.trade.query", &signature));
        assert!(!public.verify_base64(b"app_id=2022&method=alipay.trade.query", &signature));
        assert!(
            !other.public_key().expect("public").verify_base64(b"app_id=2021&method=alipay.trade.query", &signature)
        );
        assert!(!public.verify_base64(b"app_id=2021&method=alipay.trade.query", "not base64"));
    }

    #[test]
    fn keys_survive_a_round_trip_through_pem() {
        let key = RsaPrivateKey::generate().expect("key");
        let again = RsaPrivateKey::from_pem(&key.to_pkcs8_pem().expect("pem")).expect("reads");
        let public = RsaPublicKey::from_pem(&key.public_key().expect("public").to_pem()).expect("reads");
        assert!(public.verify_base64(b"m", &again.sign_base64(b"m").expect("signs")));
        assert_eq!(format!("{key:?}"), "RsaPrivateKey(****)");
    }
}
