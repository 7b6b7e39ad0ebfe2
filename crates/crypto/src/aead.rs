//! AES-256-GCM with a 12-byte nonce and associated data, the cipher WeChat Pay uses for
//! notification resources (`AEAD_AES_256_GCM`; the ciphertext carries its 16-byte tag at
//! the end).

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};

use crate::CryptoError;

/// Bytes in an AES-256 key.
pub const KEY_BYTES: usize = 32;
/// Bytes in a GCM nonce.
pub const NONCE_BYTES: usize = 12;

fn key(key: &[u8]) -> Result<LessSafeKey, CryptoError> {
    let unbound = UnboundKey::new(&AES_256_GCM, key).map_err(|_| CryptoError::KeyLength { expected: KEY_BYTES })?;
    Ok(LessSafeKey::new(unbound))
}

fn nonce(nonce: &[u8]) -> Result<Nonce, CryptoError> {
    Nonce::try_assume_unique_for_key(nonce).map_err(|_| CryptoError::NonceLength)
}

/// Encrypts `plaintext`; returns the ciphertext followed by the tag. The caller must
/// never reuse a nonce under the same key.
pub fn seal(key_bytes: &[u8], nonce_bytes: &[u8], aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, CryptoError> {
    let mut in_out = plaintext.to_vec();
    key(key_bytes)?
        .seal_in_place_append_tag(nonce(nonce_bytes)?, Aad::from(aad), &mut in_out)
        .map_err(|_| CryptoError::Decrypt)?;
    Ok(in_out)
}

/// Decrypts and authenticates ciphertext-then-tag; any change to it, the nonce or the
/// associated data is refused.
pub fn open(key_bytes: &[u8], nonce_bytes: &[u8], aad: &[u8], sealed: &[u8]) -> Result<Vec<u8>, CryptoError> {
    let mut in_out = sealed.to_vec();
    let plaintext = key(key_bytes)?
        .open_in_place(nonce(nonce_bytes)?, Aad::from(aad), &mut in_out)
        .map_err(|_| CryptoError::Decrypt)?;
    Ok(plaintext.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &[u8; 32] = b"0123456789abcdef0123456789abcdef";

    #[test]
    fn sealed_text_opens_with_the_same_key_nonce_and_data_only() {
        let sealed = seal(KEY, b"nonce_12char", b"transaction", b"{\"trade_state\":\"SUCCESS\"}").expect("seals");
        assert_eq!(
            open(KEY, b"nonce_12char", b"transaction", &sealed).expect("opens"),
            b"{\"trade_state\":\"SUCCESS\"}"
        );
        assert_eq!(open(KEY, b"nonce_12chaR", b"transaction", &sealed), Err(CryptoError::Decrypt));
        assert_eq!(open(KEY, b"nonce_12char", b"refund", &sealed), Err(CryptoError::Decrypt));
        let mut tampered = sealed.clone();
        tampered[0] ^= 1;
        assert_eq!(open(KEY, b"nonce_12char", b"transaction", &tampered), Err(CryptoError::Decrypt));
        assert_eq!(open(b"short", b"nonce_12char", b"", &sealed), Err(CryptoError::KeyLength { expected: 32 }));
        assert_eq!(open(KEY, b"short", b"", &sealed), Err(CryptoError::NonceLength));
    }
}
