//! Amounts and times as some providers write them: money as a decimal string in major
//! units (Alipay's `"12.30"`, answered back as `"12.3"` or `"12"`), and local civil time
//! without an offset (Alipay's `timestamp` and `gmt_*` fields, in Beijing time, UTC+8).
//!
//! Exact by construction: digits are read into integer minor units with the currency's
//! ISO 4217 exponent, never through a float, and times are whole seconds.

use crate::{Currency, Money, Timestamp};

/// Why a decimal amount was refused. Never carries the text itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DecimalError {
    #[error("not a decimal amount")]
    Malformed,
    #[error("more decimal places than the currency has")]
    TooPrecise,
    #[error("the amount is out of range")]
    OutOfRange,
}

/// `money` in major units with exactly the currency's decimal places: 1230 CNY → `"12.30"`,
/// 500 JPY → `"500"`, -5 USD → `"-0.05"`.
pub fn format_major(money: Money) -> String {
    let exponent = u32::from(money.currency().exponent());
    let minor = money.amount_minor().unsigned_abs();
    let sign = if money.amount_minor() < 0 { "-" } else { "" };
    if exponent == 0 {
        return format!("{sign}{minor}");
    }
    let scale = 10_u64.pow(exponent);
    let width = usize::try_from(exponent).unwrap_or(usize::MAX);
    format!("{sign}{}.{:0width$}", minor / scale, minor % scale)
}

/// Reads `"12.30"`, `"12.3"` or `"12"` as minor units of `currency`. Refused: an empty or
/// signed-only text, a leading `+`, `.5`, `5.`, exponents, spaces, separators, and more
/// decimal places than the currency has. A leading `-` is accepted.
pub fn parse_major(text: &str, currency: Currency) -> Result<Money, DecimalError> {
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (whole, fraction) = match digits.split_once('.') {
        Some((whole, fraction)) if !fraction.is_empty() => (whole, fraction),
        Some(_) => return Err(DecimalError::Malformed),
        None => (digits, ""),
    };
    let all_digits = |part: &str| part.bytes().all(|byte| byte.is_ascii_digit());
    if whole.is_empty() || !all_digits(whole) || !all_digits(fraction) {
        return Err(DecimalError::Malformed);
    }
    let exponent = usize::from(currency.exponent());
    if fraction.len() > exponent {
        return Err(DecimalError::TooPrecise);
    }
    let padded = format!("{whole}{fraction:0<exponent$}");
    let magnitude: i64 = padded.parse().map_err(|_| DecimalError::OutOfRange)?;
    let minor = if negative { magnitude.checked_neg().ok_or(DecimalError::OutOfRange)? } else { magnitude };
    Ok(Money::new(minor, currency))
}

/// Beijing time's offset from UTC; China keeps no daylight saving time.
const BEIJING_OFFSET_MS: i64 = 8 * 60 * 60 * 1000;
const DAY_MS: i64 = 24 * 60 * 60 * 1000;

/// `at` as `yyyy-MM-dd HH:mm:ss` in Beijing time, whole seconds (the fraction dropped).
pub fn format_beijing(at: Timestamp) -> String {
    let local_ms = at.unix_ms() + BEIJING_OFFSET_MS;
    let (days, ms_of_day) = (local_ms.div_euclid(DAY_MS), local_ms.rem_euclid(DAY_MS));
    let (year, month, day) = civil_from_days(days);
    let seconds = ms_of_day / 1000;
    format!("{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}", seconds / 3600, seconds / 60 % 60, seconds % 60)
}

/// Reads `yyyy-MM-dd HH:mm:ss` in Beijing time; `None` for any other shape or an
/// impossible date or time.
pub fn parse_beijing(text: &str) -> Option<Timestamp> {
    let bytes = text.as_bytes();
    let shape = bytes.len() == 19
        && bytes.iter().enumerate().all(|(index, byte)| match index {
            4 | 7 => *byte == b'-',
            10 => *byte == b' ',
            13 | 16 => *byte == b':',
            _ => byte.is_ascii_digit(),
        });
    if !shape {
        return None;
    }
    let number = |range: std::ops::Range<usize>| text[range].parse::<i64>().ok();
    let (year, month, day) = (number(0..4)?, number(5..7)?, number(8..10)?);
    let (hour, minute, second) = (number(11..13)?, number(14..16)?, number(17..19)?);
    let days = days_from_civil(year, month, day)?;
    if hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let local_ms = days * DAY_MS + ((hour * 60 + minute) * 60 + second) * 1000;
    Timestamp::from_unix_ms(local_ms - BEIJING_OFFSET_MS)
}

/// Days since 1970-01-01 of a proleptic Gregorian date, if it exists (Howard Hinnant's
/// `days_from_civil`).
fn days_from_civil(year: i64, month: i64, day: i64) -> Option<i64> {
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return None;
    }
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let day_of_year = (153 * (month + if month > 2 { -3 } else { 9 }) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    Some(era * 146_097 + day_of_era - 719_468)
}

/// The date (year, month, day) `days` after 1970-01-01 (Howard Hinnant's `civil_from_days`).
pub fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let shifted = days + 719_468;
    let era = shifted.div_euclid(146_097);
    let day_of_era = shifted - era * 146_097;
    let year_of_era = (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 { month_index + 3 } else { month_index - 9 };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn currency(code: &str) -> Currency {
        Currency::parse(code).expect("known currency")
    }

    #[test]
    fn amounts_read_every_form_a_provider_answers_and_write_the_canonical_one() {
        let cny = currency("CNY");
        for (text, minor) in
            [("12.30", 1_230), ("12.3", 1_230), ("12", 1_200), ("0.01", 1), ("-0.05", -5), ("007", 700)]
        {
            assert_eq!(parse_major(text, cny), Ok(Money::new(minor, cny)), "{text}");
        }
        assert_eq!(format_major(Money::new(1_230, cny)), "12.30");
        assert_eq!(format_major(Money::new(1, cny)), "0.01");
        assert_eq!(format_major(Money::new(-5, cny)), "-0.05");
        assert_eq!(format_major(Money::new(500, currency("JPY"))), "500");
        assert_eq!(format_major(Money::new(1_234, currency("KWD"))), "1.234");
        assert_eq!(parse_major("500", currency("JPY")), Ok(Money::new(500, currency("JPY"))));
        for bad in ["", "-", "+1", ".5", "5.", "1e3", " 1", "1 ", "1,000.00", "1.2.3", "--1", "١٢"] {
            assert_eq!(parse_major(bad, cny), Err(DecimalError::Malformed), "{bad:?}");
        }
        assert_eq!(parse_major("1.234", cny), Err(DecimalError::TooPrecise));
        assert_eq!(parse_major("1.5", currency("JPY")), Err(DecimalError::TooPrecise));
        assert_eq!(parse_major("92233720368547758.08", cny), Err(DecimalError::OutOfRange));
        assert_eq!(parse_major("92233720368547758.07", cny), Ok(Money::new(i64::MAX, cny)));
    }

    #[test]
    fn every_amount_survives_a_round_trip() {
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        for code in ["CNY", "JPY", "KWD", "USD"] {
            for _ in 0..5_000 {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                let money =
                    Money::new((state >> 1).cast_signed() % 10_i64.pow(13) - 5 * 10_i64.pow(12), currency(code));
                assert_eq!(parse_major(&format_major(money), money.currency()), Ok(money));
            }
        }
    }

    #[test]
    fn beijing_time_is_utc_plus_eight_with_real_calendar_dates() {
        let at = |ms| Timestamp::from_unix_ms(ms).expect("after 1970");
        assert_eq!(format_beijing(at(0)), "1970-01-01 08:00:00");
        // 2024-02-29T16:30:05Z, a leap day, is the next morning in Beijing.
        assert_eq!(format_beijing(at(1_709_224_205_999)), "2024-03-01 00:30:05");
        assert_eq!(parse_beijing("2024-03-01 00:30:05"), Some(at(1_709_224_205_000)));
        assert_eq!(parse_beijing("2000-02-29 23:59:59").map(format_beijing).as_deref(), Some("2000-02-29 23:59:59"));
        for bad in [
            "2023-02-29 00:00:00",
            "1900-02-29 00:00:00",
            "2024-13-01 00:00:00",
            "2024-04-31 00:00:00",
            "2024-01-01 24:00:00",
            "2024-01-01 00:60:00",
            "2024-01-01T00:00:00",
            "2024-1-01 00:00:00",
            "",
            "1970-01-01 07:59:59",
        ] {
            assert_eq!(parse_beijing(bad), None, "{bad:?}");
        }
        let mut ms = 0_i64;
        while ms < 4_102_444_800_000 {
            let whole = at(ms - ms % 1000);
            assert_eq!(parse_beijing(&format_beijing(whole)), Some(whole));
            ms += 86_399_999;
        }
    }
}
