//! Password hashing for people (operators, later dashboard users): Argon2id, PHC strings.

use argon2::Argon2;
use argon2::password_hash::PasswordHasher;

use crate::random::random_bytes;

/// Hashes a password with a fresh random salt and Argon2id's default cost.
pub(crate) fn hash_password(password: &str) -> anyhow::Result<String> {
    let salt: [u8; 16] = random_bytes();
    let hash = Argon2::default()
        .hash_password_with_salt(password.as_bytes(), &salt)
        .map_err(|e| anyhow::anyhow!("argon2 failed: {e}"))?;
    Ok(hash.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use argon2::password_hash::PasswordVerifier;

    fn password_matches(password: &str, phc: &str) -> bool {
        Argon2::default().verify_password(password.as_bytes(), phc).is_ok()
    }

    #[test]
    fn a_hashed_password_verifies_and_another_does_not() {
        let phc = hash_password("correct horse").expect("hashes");
        assert!(phc.starts_with("$argon2id$"), "{phc}");
        assert!(password_matches("correct horse", &phc));
        assert!(!password_matches("correct horse ", &phc));
        assert_ne!(phc, hash_password("correct horse").expect("hashes"), "salts differ");
    }
}
