//! WeChat Pay's times: RFC 3339 in Beijing time, `2026-05-29T04:26:40+08:00`, which is how
//! it writes `success_time` and how it reads `time_expire`.

use payrail_domain::Timestamp;
use payrail_domain::decimal::{format_beijing, parse_beijing};

/// `at` as RFC 3339 with the `+08:00` offset, whole seconds.
pub fn format_rfc3339(at: Timestamp) -> String {
    format!("{}+08:00", format_beijing(at).replacen(' ', "T", 1))
}

/// Reads `yyyy-MM-ddTHH:mm:ss+08:00` (WeChat always writes Beijing time); any other offset
/// or shape is `None`.
pub fn parse_rfc3339(text: &str) -> Option<Timestamp> {
    let local = text.strip_suffix("+08:00")?;
    if local.as_bytes().get(10) != Some(&b'T') {
        return None;
    }
    parse_beijing(&local.replacen('T', " ", 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_beijing_rfc_3339_both_ways() {
        let at = Timestamp::from_unix_ms(1_780_000_000_000).expect("time");
        assert_eq!(format_rfc3339(at), "2026-05-29T04:26:40+08:00");
        assert_eq!(parse_rfc3339("2026-05-29T04:26:40+08:00"), Some(at));
        for bad in ["2026-05-29 04:26:40+08:00", "2026-05-29T04:26:40Z", "2026-05-29T04:26:40", ""] {
            assert_eq!(parse_rfc3339(bad), None, "{bad}");
        }
    }
}
