//! HMAC-SHA256, with the uppercase hex WeChat Pay's v2 API writes.

use aws_lc_rs::hmac;

/// HMAC-SHA256 of `message` under `key`.
pub fn sha256(key: &[u8], message: &[u8]) -> Vec<u8> {
    hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, key), message).as_ref().to_vec()
}

/// HMAC-SHA256 of `message` under `key`, as uppercase hex.
pub fn sha256_upper_hex(key: &[u8], message: &[u8]) -> String {
    sha256(key, message).iter().map(|byte| format!("{byte:02X}")).collect()
}

/// Whether two byte strings are equal, compared in time that does not depend on where
/// they differ.
pub fn equal_in_constant_time(a: &[u8], b: &[u8]) -> bool {
    aws_lc_rs::constant_time::verify_slices_are_equal(a, b).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_rfc_4231_test_case_two() {
        let expected = "5BDCC146BF60754E6A042426089575C75A003F089D2739839DEC58B964EC3843";
        assert_eq!(sha256_upper_hex(b"Jefe", b"what do ya want for nothing?"), expected);
        assert!(equal_in_constant_time(b"abc", b"abc") && !equal_in_constant_time(b"abc", b"abd"));
    }
}
