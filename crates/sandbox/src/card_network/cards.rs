//! Test cards: which outcome a card number stands for, the Luhn check, and expiry.
//!
//! The numbers are the ones acquirers' sandboxes commonly use, so people testing Payrail
//! recognise them. Every number here is Luhn-valid; any other Luhn-valid number is
//! approved unless its expiry date has passed.

use payrail_domain::Timestamp;

/// Always approved.
pub const APPROVED_CARD: &str = "4242424242424242";
/// Fails with HTTP 503 `processing_error` and stores nothing, on every attempt.
pub const PROCESSING_ERROR_CARD: &str = "4000000000000119";
/// Approved only after the cardholder passes a 3-D Secure challenge.
pub const CHALLENGE_CARD: &str = "4000000000003220";
/// Approved; its refunds stay `pending` until settled through the control endpoint.
pub const ASYNCHRONOUS_REFUND_CARD: &str = "4000000000005126";

/// Cards declined outright: (card number, the decline code it produces).
pub const DECLINED_CARDS: [(&str, &str); 6] = [
    ("4000000000000002", "generic_decline"),
    ("4000000000009995", "insufficient_funds"),
    ("4000000000009987", "lost_card"),
    ("4000000000009979", "stolen_card"),
    ("4000000000000069", "expired_card"),
    ("4000000000000127", "incorrect_cvc"),
];

/// What the network decides about a card.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CardVerdict {
    Approve,
    Decline(&'static str),
    Challenge,
    ProcessingError,
}

/// A card's expiry as printed on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct YearMonth {
    pub(crate) year: i64,
    pub(crate) month: i64,
}

/// The outcome for a Luhn-valid `number` expiring at `expiry`, evaluated in `today`'s month.
pub(crate) fn verdict(number: &str, expiry: YearMonth, today: YearMonth) -> CardVerdict {
    if number == PROCESSING_ERROR_CARD {
        return CardVerdict::ProcessingError;
    }
    if let Some((_, decline_code)) = DECLINED_CARDS.iter().find(|(card, _)| *card == number) {
        return CardVerdict::Decline(decline_code);
    }
    // A card is valid through the last day of its expiry month.
    if expiry < today {
        return CardVerdict::Decline("expired_card");
    }
    if number == CHALLENGE_CARD { CardVerdict::Challenge } else { CardVerdict::Approve }
}

/// Whether `number` is 12 to 19 digits whose Luhn check digit is right.
pub(crate) fn is_valid_number(number: &str) -> bool {
    if !(12..=19).contains(&number.len()) || !number.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    let sum: u32 = number
        .bytes()
        .rev()
        .enumerate()
        .map(|(position, byte)| {
            let digit = u32::from(byte - b'0');
            if position % 2 == 1 {
                let doubled = digit * 2;
                if doubled > 9 { doubled - 9 } else { doubled }
            } else {
                digit
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// The UTC calendar month that `now` falls in.
pub(crate) fn month_of(now: Timestamp) -> YearMonth {
    let (year, month, _) = payrail_domain::decimal::civil_from_days(now.unix_ms().div_euclid(86_400_000));
    YearMonth { year, month }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn month(year: i64, month: i64) -> YearMonth {
        YearMonth { year, month }
    }

    #[test]
    fn every_test_card_is_luhn_valid_and_a_changed_digit_is_not() {
        let mut cards = vec![APPROVED_CARD, PROCESSING_ERROR_CARD, CHALLENGE_CARD, ASYNCHRONOUS_REFUND_CARD];
        cards.extend(DECLINED_CARDS.iter().map(|(card, _)| *card));
        for card in cards {
            assert!(is_valid_number(card), "{card}");
        }
        for bad in ["4242424242424241", "4242424242", "42424242424242424242", "4242 4242 4242 4242", ""] {
            assert!(!is_valid_number(bad), "{bad}");
        }
        assert!(is_valid_number("5555555555554444"));
    }

    #[test]
    fn months_are_read_in_utc_across_leap_days_and_year_ends() {
        let cases = [
            (0, month(1970, 1)),
            (951_782_400_000, month(2000, 2)),
            (1_780_000_000_000, month(2026, 5)),
            (1_782_863_999_999, month(2026, 6)),
            (1_782_864_000_000, month(2026, 7)),
        ];
        for (unix_ms, expected) in cases {
            let now = Timestamp::from_unix_ms(unix_ms).expect("non-negative");
            assert_eq!(month_of(now), expected, "{unix_ms}");
        }
    }

    #[test]
    fn a_card_works_through_its_expiry_month_and_not_after() {
        let today = month(2026, 5);
        assert_eq!(verdict(APPROVED_CARD, month(2026, 5), today), CardVerdict::Approve);
        assert_eq!(verdict(APPROVED_CARD, month(2026, 4), today), CardVerdict::Decline("expired_card"));
        assert_eq!(verdict(CHALLENGE_CARD, month(2025, 12), today), CardVerdict::Decline("expired_card"));
        assert_eq!(verdict(PROCESSING_ERROR_CARD, month(2020, 1), today), CardVerdict::ProcessingError);
    }
}
