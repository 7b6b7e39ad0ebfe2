//! Idempotency keys, with Stripe's semantics: the same key with the same request replays
//! the stored response (errors included); the same key with another request is refused;
//! a request still running under the key gets 409.
//!
//! "The same request" means the same method, path and body bytes, compared through a
//! fingerprint. Keys are scoped to a merchant and a mode.

use crate::{MerchantId, Problem, Timestamp};

/// Longest key accepted, in bytes.
pub const KEY_LENGTH_MAX: usize = 255;
/// How long a key and its response are kept, at least, before pruning.
pub const RETENTION_MS: i64 = 24 * 60 * 60 * 1000;

/// A client-chosen key: 1 to 255 visible ASCII characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    pub fn parse(text: &str) -> Result<IdempotencyKey, Problem> {
        let valid = !text.is_empty() && text.len() <= KEY_LENGTH_MAX && text.bytes().all(|b| b.is_ascii_graphic());
        if valid {
            Ok(IdempotencyKey(text.to_owned()))
        } else {
            Err(Problem::invalid_request(
                "idempotency_key_invalid",
                "the Idempotency-Key header must be 1 to 255 visible ASCII characters",
            ))
        }
    }

    /// Parses the raw bytes of the `Idempotency-Key` header.
    pub fn parse_header(bytes: &[u8]) -> Result<IdempotencyKey, Problem> {
        std::str::from_utf8(bytes).map_or_else(|_| IdempotencyKey::parse(""), IdempotencyKey::parse)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Whose key it is: keys of different merchants, or of test and live mode, never meet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyScope {
    pub merchant_id: MerchantId,
    pub livemode: bool,
}

/// A response kept for replay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredResponse {
    pub status: u16,
    pub body: String,
}

/// A key as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyRecord {
    pub fingerprint: String,
    /// `None` while the first request is still running and has committed nothing.
    pub response: Option<StoredResponse>,
    /// The response was recorded part-way, with the request's first effects: it stands
    /// only if the request dies before recording its final one.
    pub provisional: bool,
    /// While running, the claim lapses at this time (the request's timeout plus a margin),
    /// so a key whose request died with its process does not stay blocked forever.
    pub locked_until: Timestamp,
}

/// What to do with a request that carries a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// No usable record: run the request (the caller has claimed the key).
    Run,
    /// The same request already completed: answer with its response.
    Replay(StoredResponse),
}

impl IdempotencyRecord {
    /// Decides how a request with `fingerprint`, arriving at `now`, relates to this record.
    pub fn decide(&self, fingerprint: &str, now: Timestamp) -> Result<Decision, Problem> {
        if self.fingerprint != fingerprint {
            return Err(Problem {
                error_type: crate::ErrorType::Idempotency,
                ..Problem::invalid_request(
                    "idempotency_key_reused",
                    "this Idempotency-Key was used with a different request; use a new key for a new request",
                )
            });
        }
        let lapsed = now >= self.locked_until;
        match &self.response {
            Some(response) if !self.provisional || lapsed => Ok(Decision::Replay(response.clone())),
            None if lapsed => Ok(Decision::Run),
            _ => Err(key_in_use()),
        }
    }
}

/// 409: another request holds the key right now.
pub fn key_in_use() -> Problem {
    Problem {
        error_type: crate::ErrorType::Idempotency,
        ..Problem::invalid_request(
            "idempotency_key_in_use",
            "a request with this Idempotency-Key is still being processed; retry later",
        )
        .with_status(409)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ms: i64) -> Timestamp {
        Timestamp::from_unix_ms(ms).expect("non-negative")
    }

    fn record(response: Option<StoredResponse>) -> IdempotencyRecord {
        IdempotencyRecord { fingerprint: "f1".into(), response, provisional: false, locked_until: at(1_000) }
    }

    #[test]
    fn keys_are_bounded_visible_ascii() {
        assert!(IdempotencyKey::parse("order-42/retry_1").is_ok());
        assert!(IdempotencyKey::parse(&"k".repeat(255)).is_ok());
        for bad in [String::new(), "k".repeat(256), "with space".into(), "tab\t".into(), "é".into()] {
            let problem = IdempotencyKey::parse(&bad).expect_err("refused");
            assert_eq!(problem.code, "idempotency_key_invalid");
        }
    }

    #[test]
    fn a_completed_same_request_replays_and_another_request_is_refused() {
        let stored = StoredResponse { status: 402, body: "{}".into() };
        let done = record(Some(stored.clone()));
        assert_eq!(done.decide("f1", at(0)), Ok(Decision::Replay(stored)));
        let mismatch = done.decide("f2", at(0)).expect_err("refused");
        assert_eq!(
            (mismatch.code, mismatch.status, mismatch.error_type),
            ("idempotency_key_reused", 400, crate::ErrorType::Idempotency)
        );
    }

    #[test]
    fn a_running_request_blocks_the_key_until_its_claim_lapses() {
        let running = record(None);
        let conflict = running.decide("f1", at(999)).expect_err("in flight");
        assert_eq!((conflict.code, conflict.status), ("idempotency_key_in_use", 409));
        assert_eq!(running.decide("f1", at(1_000)), Ok(Decision::Run));
        assert_eq!(running.decide("f2", at(1_000)).map_err(|p| p.code), Err("idempotency_key_reused"));
    }

    #[test]
    fn a_provisional_response_blocks_while_the_request_runs_and_is_replayed_once_it_died() {
        let processing = StoredResponse { status: 200, body: "{\"status\":\"processing\"}".into() };
        let partway = IdempotencyRecord { provisional: true, ..record(Some(processing.clone())) };
        assert_eq!(partway.decide("f1", at(999)).map_err(|p| p.code), Err("idempotency_key_in_use"));
        assert_eq!(partway.decide("f1", at(1_000)), Ok(Decision::Replay(processing)));
        assert_eq!(partway.decide("f2", at(1_000)).map_err(|p| p.code), Err("idempotency_key_reused"));
    }
}
