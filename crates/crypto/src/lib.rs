//! Cryptographic primitives that providers' wire protocols are built from: RSA keys in
//! PEM, SHA256withRSA signatures, AES-256-GCM and HMAC-SHA256.
//!
//! Boundary: primitives only, no protocol. Which bytes a provider signs, and how it
//! encodes the result, is the business of each channel (`payrail-channels`) and of each
//! simulator (`payrail-sandbox`), which implement it separately so that neither can hide
//! a mistake in the other. Both use this crate so that neither re-implements PEM or RSA.
//!
//! Everything goes through `aws-lc-rs` (never the `rsa` crate: RUSTSEC-2023-0071), except
//! MD5, which `aws-lc-rs` does not offer: it comes from the `md-5` crate (see [`md5`]).

pub mod aead;
pub mod hmac;
pub mod md5;
pub mod pem;
pub mod rsa;

/// Why a key, a signature or a ciphertext was refused. Messages never contain key material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CryptoError {
    #[error("the key is not valid PEM or base64")]
    KeyEncoding,
    #[error("the key is not a usable RSA key ({0})")]
    KeyRejected(String),
    #[error("signing failed")]
    Sign,
    #[error("the ciphertext could not be decrypted (wrong key, nonce or data, or tampered)")]
    Decrypt,
    #[error("the key must be {expected} bytes")]
    KeyLength { expected: usize },
    #[error("the nonce must be 12 bytes")]
    NonceLength,
}
