//! Random identifiers and nonces. Ids must not repeat across restarts of the simulator
//! (its memory is lost, a merchant's records are not), so counters would not do.

const DIGITS: &[u8] = b"0123456789";
const HEX_UPPER: &[u8] = b"0123456789ABCDEF";
const ALPHANUMERIC: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// `length` characters drawn from `alphabet` (whose length divides 256 closely enough for
/// a simulator; the slight bias does not matter here).
fn drawn(alphabet: &[u8], length: usize) -> String {
    let mut bytes = vec![0_u8; length];
    aws_lc_rs::rand::fill(&mut bytes).unwrap_or_else(|_| panic!("the system random source failed"));
    bytes.iter().map(|byte| char::from(alphabet[usize::from(*byte) % alphabet.len()])).collect()
}

pub(crate) fn digits(length: usize) -> String {
    drawn(DIGITS, length)
}

pub(crate) fn hex_upper(length_bytes: usize) -> String {
    drawn(HEX_UPPER, length_bytes * 2)
}

/// Letters and digits: nonces, keys and page tokens.
pub(crate) fn token(length: usize) -> String {
    drawn(ALPHANUMERIC, length)
}
