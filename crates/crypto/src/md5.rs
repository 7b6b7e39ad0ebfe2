//! MD5, with the uppercase hex WeChat Pay's v2 API writes. It exists only because that API
//! signs with MD5 unless a request says `sign_type=HMAC-SHA256` (MD5 is its documented
//! default, and SDKs such as `wechatpy` send nothing else); nothing Payrail chooses itself
//! may use it.

use md5::{Digest, Md5};

/// MD5 of `message`, as uppercase hex.
pub fn upper_hex(message: &[u8]) -> String {
    Md5::digest(message).iter().map(|byte| format!("{byte:02X}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_rfc_1321_test_suite() {
        assert_eq!(upper_hex(b""), "D41D8CD98F00B204E9800998ECF8427E");
        assert_eq!(upper_hex(b"message digest"), "F96B697D7CB7938D525A2F31AAF161D0");
    }
}
