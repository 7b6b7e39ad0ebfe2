//! API keys: a public id (`key_…`) and a secret (`sk_test_…` / `sk_live_…`) whose mode
//! decides which objects the caller may see.

use crate::{ApiKeyId, MerchantId, Problem, Secret, Timestamp};

/// Test objects and live objects never mix: a test key sees only test objects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mode {
    Test,
    Live,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Test => "test",
            Mode::Live => "live",
        }
    }

    pub fn parse(text: &str) -> Option<Mode> {
        match text {
            "test" => Some(Mode::Test),
            "live" => Some(Mode::Live),
            _ => None,
        }
    }

    pub fn is_live(self) -> bool {
        self == Mode::Live
    }

    fn secret_prefix(self) -> &'static str {
        match self {
            Mode::Test => "sk_test_",
            Mode::Live => "sk_live_",
        }
    }
}

/// Random bytes in a secret: 256 bits, far beyond guessing.
pub const SECRET_RANDOM_BYTES: usize = 32;
const SECRET_BODY_LEN: usize = SECRET_RANDOM_BYTES * 2;

/// A well-formed API key secret. Holding one says nothing about whether it is valid.
#[derive(Debug, Clone)]
pub struct ApiKeySecret {
    mode: Mode,
    text: Secret<String>,
}

impl ApiKeySecret {
    pub fn generate(mode: Mode, random: [u8; SECRET_RANDOM_BYTES]) -> ApiKeySecret {
        let mut text = String::with_capacity(8 + SECRET_BODY_LEN);
        text.push_str(mode.secret_prefix());
        for byte in random {
            text.push_str(&format!("{byte:02x}"));
        }
        ApiKeySecret { mode, text: Secret::new(text) }
    }

    /// Checks the shape of a presented secret. The error never repeats the input.
    pub fn parse(text: &str) -> Result<ApiKeySecret, Problem> {
        let malformed =
            || Problem::authentication("api_key_malformed", "the API key is not of the form sk_test_… or sk_live_…");
        let mode = [Mode::Test, Mode::Live]
            .into_iter()
            .find(|mode| text.starts_with(mode.secret_prefix()))
            .ok_or_else(malformed)?;
        let body = &text[mode.secret_prefix().len()..];
        let body_valid =
            body.len() == SECRET_BODY_LEN && body.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if !body_valid {
            return Err(malformed());
        }
        Ok(ApiKeySecret { mode, text: Secret::new(text.to_owned()) })
    }

    pub fn mode(&self) -> Mode {
        self.mode
    }

    pub fn expose(&self) -> &str {
        self.text.expose()
    }

    /// The last four characters, safe to show so a person can tell keys apart.
    pub fn hint(&self) -> String {
        let text = self.text.expose();
        format!("{}…{}", self.mode.secret_prefix(), &text[text.len() - 4..])
    }
}

/// How often the last-used time of a key is written, at most: reads cost no write.
pub const LAST_USED_RESOLUTION_MS: i64 = 60_000;

/// An API key as stored: never the secret, only its hint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKey {
    pub id: ApiKeyId,
    pub merchant_id: MerchantId,
    pub mode: Mode,
    pub secret_hint: String,
    pub created: Timestamp,
    pub revoked: Option<Timestamp>,
    pub last_used: Option<Timestamp>,
}

impl ApiKey {
    pub fn is_revoked(&self) -> bool {
        self.revoked.is_some()
    }

    /// Whether a use at `now` should be written down.
    pub fn last_used_is_stale(&self, now: Timestamp) -> bool {
        self.last_used.is_none_or(|last| now.ms_since(last) >= LAST_USED_RESOLUTION_MS)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_secrets_parse_back_with_their_mode() {
        for mode in [Mode::Test, Mode::Live] {
            let secret = ApiKeySecret::generate(mode, [0xab; SECRET_RANDOM_BYTES]);
            let parsed = ApiKeySecret::parse(secret.expose()).expect("well-formed");
            assert_eq!(parsed.mode(), mode);
            assert_eq!(parsed.expose(), secret.expose());
            assert!(secret.hint().ends_with("abab"), "{}", secret.hint());
        }
    }

    #[test]
    fn malformed_secrets_are_refused_without_echoing_them() {
        let good = ApiKeySecret::generate(Mode::Test, [0xab; SECRET_RANDOM_BYTES]).expose().to_owned();
        let body = &good[8..];
        for bad in [
            String::new(),
            "sk_test_".to_owned(),
            format!("pk_test_{body}"),
            format!("sk_prod_{body}"),
            format!("sk_test_{}", &body[1..]),
            format!("sk_test_{body}0"),
            format!("sk_test_{}", body.to_uppercase()),
            format!("sk_test_{}z", &body[1..]),
            format!("Bearer {good}"),
        ] {
            let problem = ApiKeySecret::parse(&bad).expect_err(&bad);
            assert_eq!(problem.code, "api_key_malformed");
            assert!(bad.len() < 20 || !problem.message.contains(&bad[8..20]));
        }
    }

    #[test]
    fn last_used_is_written_at_most_once_a_minute() {
        let at = |ms| Timestamp::from_unix_ms(ms).expect("non-negative");
        let mut key = ApiKey {
            id: ApiKeyId::generate(at(0), [0; 10]),
            merchant_id: MerchantId::generate(at(0), [0; 10]),
            mode: Mode::Test,
            secret_hint: String::new(),
            created: at(0),
            revoked: None,
            last_used: None,
        };
        assert!(key.last_used_is_stale(at(1_000)));
        key.last_used = Some(at(1_000));
        assert!(!key.last_used_is_stale(at(60_999)));
        assert!(key.last_used_is_stale(at(61_000)));
    }
}
