//! Identifiers: one type per entity, each with a readable prefix (`mer_…`, `key_…`).
//!
//! The body after the prefix is 26 characters of lowercase Crockford base32 holding 128
//! bits: 48 bits of milliseconds since the epoch, then 80 random bits. Ids therefore sort
//! by creation time as plain strings, which keeps indexes append-mostly and lets cursor
//! pagination order by id alone.

use std::fmt;
use std::str::FromStr;

use crate::Timestamp;

/// Lowercase Crockford base32: no `i`, `l`, `o`, `u`; ascending in ASCII so string order
/// equals numeric order.
const ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";
const BODY_LEN: usize = 26;
/// Random bytes each id carries after its timestamp.
pub const ID_RANDOM_BYTES: usize = 10;

/// Why a string is not an id of the expected kind.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a valid {expected_prefix}_ id")]
pub struct IdError {
    pub expected_prefix: &'static str,
}

fn encode_body(time: Timestamp, random: [u8; ID_RANDOM_BYTES]) -> String {
    let time_bits = u128::from(time.unix_ms().cast_unsigned() & 0xffff_ffff_ffff);
    let mut value = time_bits << 80;
    for (index, byte) in random.iter().enumerate() {
        value |= u128::from(*byte) << (8 * (ID_RANDOM_BYTES - 1 - index));
    }
    // 26 characters of 5 bits cover 130 bits; the top two are always zero.
    (0..BODY_LEN).rev().map(|position| char::from(ALPHABET[((value >> (5 * position)) & 0x1f) as usize])).collect()
}

fn body_is_valid(body: &str) -> bool {
    body.len() == BODY_LEN
        && body.bytes().all(|b| ALPHABET.contains(&b))
        // The first character holds only the top 3 bits of 128 (130 - 128 = 2 unused).
        && body.as_bytes()[0] <= b'7'
}

macro_rules! define_id {
    ($(#[$doc:meta])* $name:ident, $prefix:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(String);

        impl $name {
            pub const PREFIX: &'static str = $prefix;

            /// A new id for something created at `time`, with caller-supplied randomness.
            pub fn generate(time: Timestamp, random: [u8; ID_RANDOM_BYTES]) -> $name {
                $name(format!("{}_{}", $prefix, encode_body(time, random)))
            }

            pub fn parse(text: &str) -> Result<$name, IdError> {
                let valid = text
                    .strip_prefix($prefix)
                    .and_then(|rest| rest.strip_prefix('_'))
                    .is_some_and(body_is_valid);
                if valid {
                    Ok($name(text.to_owned()))
                } else {
                    Err(IdError { expected_prefix: $prefix })
                }
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl FromStr for $name {
            type Err = IdError;
            fn from_str(text: &str) -> Result<$name, IdError> {
                $name::parse(text)
            }
        }
    };
}

define_id!(
    /// A merchant account.
    MerchantId,
    "mer"
);
define_id!(
    /// The public identifier of an API key; the secret is a separate value.
    ApiKeyId,
    "key"
);
define_id!(
    /// A platform operator's account.
    OperatorId,
    "op"
);
define_id!(
    /// A payment order.
    PaymentId,
    "pay"
);
define_id!(
    /// One attempt to charge a payment through a channel; its id is the reference the
    /// channel receives, reused on every retry of that attempt.
    AttemptId,
    "att"
);
define_id!(
    /// A refund; its id is the reference the channel receives.
    RefundId,
    "re"
);
define_id!(
    /// An immutable record of a state change.
    EventId,
    "evt"
);
define_id!(
    /// A balanced set of ledger postings.
    JournalEntryId,
    "je"
);
define_id!(
    /// A merchant's webhook endpoint: a URL that receives its events.
    WebhookEndpointId,
    "we"
);
define_id!(
    /// One event on its way to one destination, with every attempt to deliver it.
    DeliveryId,
    "whd"
);
define_id!(
    /// A merchant's account with a payment channel: an Alipay app, a WeChat Pay merchant.
    ChannelAccountId,
    "ca"
);
define_id!(
    /// One HTTP request, echoed in the `Request-Id` header and in every error body.
    RequestId,
    "req"
);
define_id!(
    /// A row in the job queue: one piece of background work.
    JobId,
    "job"
);

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ms: i64) -> Timestamp {
        Timestamp::from_unix_ms(ms).expect("non-negative")
    }

    #[test]
    fn generated_ids_parse_back_and_carry_their_prefix() {
        let id = MerchantId::generate(at(1_700_000_000_000), [7; ID_RANDOM_BYTES]);
        assert!(id.as_str().starts_with("mer_"));
        assert_eq!(id.as_str().len(), 4 + BODY_LEN);
        assert_eq!(MerchantId::parse(id.as_str()), Ok(id));
    }

    #[test]
    fn ids_sort_by_creation_time_whatever_their_random_part() {
        let earlier = ApiKeyId::generate(at(1_700_000_000_000), [0xff; ID_RANDOM_BYTES]);
        let later = ApiKeyId::generate(at(1_700_000_000_001), [0; ID_RANDOM_BYTES]);
        assert!(earlier.as_str() < later.as_str());
        let much_later = ApiKeyId::generate(at(4_000_000_000_000), [0; ID_RANDOM_BYTES]);
        assert!(later.as_str() < much_later.as_str());
    }

    #[test]
    fn parse_refuses_other_prefixes_lengths_and_alphabets() {
        let good = MerchantId::generate(at(1), [1; ID_RANDOM_BYTES]).to_string();
        let body = &good[4..];
        for bad in [
            String::new(),
            format!("key_{body}"),
            format!("mer{body}"),
            format!("mer_{}", &body[1..]),
            format!("mer_{body}0"),
            format!("mer_{}", body.to_uppercase()),
            format!("mer_{}u", &body[..25]),
            format!("mer_8{}", &body[1..]),
        ] {
            assert!(MerchantId::parse(&bad).is_err(), "accepted {bad:?}");
        }
    }
}
