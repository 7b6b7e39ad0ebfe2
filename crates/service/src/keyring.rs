//! The server keys: one 256-bit secret from configuration, from which the keys that hash
//! API secrets, encrypt stored secrets and sign notifications are derived.
//!
//! Boundary: the keys never touch the database. The database holds only a check value,
//! so that an instance started with other keys refuses to start instead of silently
//! failing every authentication.

use std::io::Write;
use std::path::Path;

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use aws_lc_rs::hmac;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use payrail_domain::Secret;

use crate::random::{hex, random_bytes};

const KEY_TEXT_PREFIX: &str = "payrail-server-key-v1:";
const MASTER_KEY_BYTES: usize = 32;

/// Why a key file or key text could not be used.
#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    #[error("the server key is not of the form payrail-server-key-v1:<43 base64url characters>")]
    Malformed,
    #[error("cannot read or write the key file {path}: {source}")]
    Io { path: String, source: std::io::Error },
}

/// The server keys, derived once at start.
pub struct ServerKeys {
    master: Secret<[u8; MASTER_KEY_BYTES]>,
    api_key_hashing: hmac::Key,
    card_fingerprinting: hmac::Key,
    encryption: LessSafeKey,
    check_value: String,
}

impl ServerKeys {
    /// A new random key, for a key file written on first start or by `payrail keygen`.
    pub fn generate() -> ServerKeys {
        ServerKeys::from_master(random_bytes())
    }

    /// Reads the text form (`payrail-server-key-v1:…`), ignoring blank and `#` lines.
    pub fn parse(text: &str) -> Result<ServerKeys, KeyFileError> {
        let line = text
            .lines()
            .map(str::trim)
            .find(|line| !line.is_empty() && !line.starts_with('#'))
            .ok_or(KeyFileError::Malformed)?;
        let encoded = line.strip_prefix(KEY_TEXT_PREFIX).ok_or(KeyFileError::Malformed)?;
        let bytes = URL_SAFE_NO_PAD.decode(encoded).map_err(|_| KeyFileError::Malformed)?;
        let master = <[u8; MASTER_KEY_BYTES]>::try_from(bytes.as_slice()).map_err(|_| KeyFileError::Malformed)?;
        Ok(ServerKeys::from_master(master))
    }

    /// The text form, as written to a key file.
    pub fn to_text(&self) -> Secret<String> {
        Secret::new(format!("{KEY_TEXT_PREFIX}{}", URL_SAFE_NO_PAD.encode(self.master.expose())))
    }

    pub fn load_file(path: &Path) -> Result<ServerKeys, KeyFileError> {
        let text = std::fs::read_to_string(path).map_err(|source| io_error(path, source))?;
        ServerKeys::parse(&text)
    }

    /// Loads the key file, creating it with a new key if it does not exist. Returns whether
    /// it was created. Creation is exclusive, so two processes starting at once on one data
    /// directory end up with the same key.
    pub fn load_or_create_file(path: &Path) -> Result<(ServerKeys, bool), KeyFileError> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|source| io_error(parent, source))?;
        }
        let keys = ServerKeys::generate();
        match create_private_file(path) {
            Ok(mut file) => {
                let text = format!(
                    "# Payrail server key. Back this file up: without it, API keys stop working\n\
                     # and encrypted data cannot be read. Never commit or share it.\n{}\n",
                    keys.to_text().expose()
                );
                file.write_all(text.as_bytes())
                    .and_then(|()| file.sync_all())
                    .map_err(|source| io_error(path, source))?;
                Ok((keys, true))
            }
            Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => {
                Ok((ServerKeys::load_file(path)?, false))
            }
            Err(source) => Err(io_error(path, source)),
        }
    }

    fn from_master(master: [u8; MASTER_KEY_BYTES]) -> ServerKeys {
        let derive = |purpose: &str| -> [u8; 32] {
            let key = hmac::Key::new(hmac::HMAC_SHA256, &master);
            let tag = hmac::sign(&key, format!("payrail/v1/{purpose}").as_bytes());
            let mut derived = [0_u8; 32];
            derived.copy_from_slice(tag.as_ref());
            derived
        };
        let encryption = UnboundKey::new(&AES_256_GCM, &derive("data-encryption"))
            .unwrap_or_else(|_| unreachable!("32 bytes is the AES-256 key length"));
        ServerKeys {
            api_key_hashing: hmac::Key::new(hmac::HMAC_SHA256, &derive("api-key-hashing")),
            card_fingerprinting: hmac::Key::new(hmac::HMAC_SHA256, &derive("card-fingerprint")),
            encryption: LessSafeKey::new(encryption),
            check_value: hex(&derive("key-check")[..16]),
            master: Secret::new(master),
        }
    }

    /// The keyed hash under which an API key secret is stored and looked up.
    pub fn hash_api_secret(&self, secret: &str) -> String {
        hex(hmac::sign(&self.api_key_hashing, secret.as_bytes()).as_ref())
    }

    /// A keyed fingerprint of a card number: equal for equal numbers, irreversible without
    /// the server key (a plain hash of a 16-digit number could be brute-forced).
    pub fn card_fingerprint(&self, number: &str) -> String {
        hex(hmac::sign(&self.card_fingerprinting, number.as_bytes()).as_ref())
    }

    /// A value that identifies these keys without revealing them.
    pub fn check_value(&self) -> String {
        self.check_value.clone()
    }

    /// Encrypts `plaintext` with AES-256-GCM under a fresh random nonce; `context` (the
    /// owning row's id, say) is authenticated so a ciphertext cannot be moved to another row.
    pub fn encrypt(&self, plaintext: &[u8], context: &str) -> Vec<u8> {
        let nonce_bytes: [u8; NONCE_LEN] = random_bytes();
        let mut sealed = plaintext.to_vec();
        self.encryption
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce_bytes),
                Aad::from(context.as_bytes()),
                &mut sealed,
            )
            .unwrap_or_else(|_| panic!("AES-GCM sealing fails only on absurd lengths"));
        let mut out = nonce_bytes.to_vec();
        out.extend_from_slice(&sealed);
        out
    }

    /// Decrypts what [`ServerKeys::encrypt`] produced with the same `context`; `None` if it
    /// was altered, moved or sealed under other keys.
    pub fn decrypt(&self, sealed: &[u8], context: &str) -> Option<Secret<Vec<u8>>> {
        let (nonce_bytes, ciphertext) = sealed.split_at_checked(NONCE_LEN)?;
        let nonce = Nonce::try_assume_unique_for_key(nonce_bytes).ok()?;
        let mut buffer = ciphertext.to_vec();
        let plaintext = self.encryption.open_in_place(nonce, Aad::from(context.as_bytes()), &mut buffer).ok()?;
        Some(Secret::new(plaintext.to_vec()))
    }
}

impl std::fmt::Debug for ServerKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ServerKeys(***)")
    }
}

fn create_private_file(path: &Path) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)
}

fn io_error(path: &Path, source: std::io::Error) -> KeyFileError {
    KeyFileError::Io { path: path.display().to_string(), source }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_text_form_round_trips_and_keeps_every_derived_key() {
        let keys = ServerKeys::generate();
        let again = ServerKeys::parse(&format!("# comment\n\n{}\n", keys.to_text().expose())).expect("parses");
        assert_eq!(keys.check_value(), again.check_value());
        assert_eq!(keys.hash_api_secret("sk_test_x"), again.hash_api_secret("sk_test_x"));
        let sealed = keys.encrypt(b"card data", "vault_1");
        assert_eq!(again.decrypt(&sealed, "vault_1").map(|p| p.expose().clone()), Some(b"card data".to_vec()));
    }

    #[test]
    fn different_keys_give_different_hashes_and_cannot_decrypt() {
        let (a, b) = (ServerKeys::generate(), ServerKeys::generate());
        assert_ne!(a.check_value(), b.check_value());
        assert_ne!(a.hash_api_secret("sk_test_x"), b.hash_api_secret("sk_test_x"));
        assert!(b.decrypt(&a.encrypt(b"secret", "row"), "row").is_none());
    }

    #[test]
    fn ciphertexts_are_bound_to_their_context_and_detect_tampering() {
        let keys = ServerKeys::generate();
        let mut sealed = keys.encrypt(b"secret", "row_1");
        assert!(keys.decrypt(&sealed, "row_2").is_none());
        assert!(keys.decrypt(&sealed[..10], "row_1").is_none());
        let last = sealed.len() - 1;
        sealed[last] ^= 1;
        assert!(keys.decrypt(&sealed, "row_1").is_none());
    }

    #[test]
    fn malformed_key_text_is_refused() {
        let good = ServerKeys::generate().to_text().expose().clone();
        for bad in [
            "",
            "# only a comment",
            "payrail-server-key-v1:",
            "payrail-server-key-v2:AAAA",
            &good[..good.len() - 1],
            &format!("{good}AA"),
        ] {
            assert!(ServerKeys::parse(bad).is_err(), "accepted {bad:?}");
        }
    }

    #[test]
    fn debug_output_reveals_nothing() {
        let keys = ServerKeys::generate();
        assert_eq!(format!("{keys:?}"), "ServerKeys(***)");
    }
}
