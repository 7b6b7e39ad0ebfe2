//! Cards as the rest of Payrail may see them: parsed, checked and never printed.
//!
//! A card arrives once, in the request that attaches a payment method: [`CardDetails::parse`]
//! checks it, the number goes to the vault (the one caller of [`CardNumber::expose`]) and the
//! CVC to the channel for a single authorization. Everything else sees a [`CardSummary`].
//!
//! Invariant: no digit of a card number or CVC reaches a `Debug` print or an error message:
//! both live in [`Secret`]s, and messages name the parameter, never the value.

use crate::payment::named_enum;
use crate::{ErrorType, Problem, Secret, Timestamp};

const NUMBER_PARAM: &str = "payment_method[card][number]";
const EXP_MONTH_PARAM: &str = "payment_method[card][exp_month]";
const EXP_YEAR_PARAM: &str = "payment_method[card][exp_year]";
const CVC_PARAM: &str = "payment_method[card][cvc]";

named_enum!(
    /// A card network, told from the leading digits of the number.
    CardBrand {
        Visa = "visa", Mastercard = "mastercard", Amex = "amex", Discover = "discover", Jcb = "jcb",
        UnionPay = "unionpay", Diners = "diners", Unknown = "unknown",
    }
);

impl CardBrand {
    /// Digits in the brand's CVC: four on amex cards, three on the others.
    pub fn cvc_length(self) -> usize {
        if self == CardBrand::Amex { 4 } else { 3 }
    }

    /// The brand whose issuer range holds `digits` (at least four ASCII digits).
    fn of_number(digits: &str) -> CardBrand {
        let prefix = |length: usize| digits.bytes().take(length).fold(0, |value, b| value * 10 + u32::from(b - b'0'));
        match (prefix(1), prefix(2), prefix(3), prefix(4)) {
            (4, ..) => CardBrand::Visa,
            (_, 51..=55, ..) | (.., 2221..=2720) => CardBrand::Mastercard,
            (_, 34 | 37, ..) => CardBrand::Amex,
            (.., 6011) | (_, _, 644..=649, _) | (_, 65, ..) => CardBrand::Discover,
            (.., 3528..=3589) => CardBrand::Jcb,
            (_, 62, ..) => CardBrand::UnionPay,
            (_, 36, ..) | (_, _, 300..=305, _) => CardBrand::Diners,
            _ => CardBrand::Unknown,
        }
    }
}

/// A card number: 12 to 19 ASCII digits, no separators, passing the Luhn check. `Debug` shows
/// the brand and a mask; digits come out only through `expose` and, the last four, `last4`.
#[derive(Debug, Clone)]
pub struct CardNumber {
    digits: Secret<String>,
    brand: CardBrand,
}

impl CardNumber {
    /// Refuses with `card_number_invalid` (400, `payment_method[card][number]`), digit-free messages.
    pub fn parse(text: &str) -> Result<CardNumber, Problem> {
        let invalid = |message| Err(Problem::invalid_request("card_number_invalid", message).with_param(NUMBER_PARAM));
        if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
            return invalid("the card number must contain only digits, without spaces or dashes");
        }
        if !(12..=19).contains(&text.len()) {
            return invalid("the card number must have between twelve and nineteen digits");
        }
        if !luhn_check_passes(text) {
            return invalid("the card number is not valid");
        }
        Ok(CardNumber { digits: Secret::new(text.to_owned()), brand: CardBrand::of_number(text) })
    }

    pub fn brand(&self) -> CardBrand {
        self.brand
    }

    /// The last four digits, which may be shown to the merchant and the cardholder.
    pub fn last4(&self) -> &str {
        let digits = self.digits.expose();
        &digits[digits.len() - 4..]
    }

    /// The whole number. For the card vault only: nothing else may store, log or send it.
    pub fn expose(&self) -> &str {
        self.digits.expose()
    }
}

/// The Luhn (mod 10) check on ASCII digits: from the right, every second digit is doubled
/// (a result above 9 counting as the sum of its digits), and the total must end in 0.
fn luhn_check_passes(digits: &str) -> bool {
    const DOUBLED: [u8; 10] = [0, 2, 4, 6, 8, 1, 3, 5, 7, 9];
    let value = |(position, b): (usize, u8)| {
        u32::from(if position % 2 == 0 { b - b'0' } else { DOUBLED[usize::from(b - b'0')] })
    };
    digits.bytes().rev().enumerate().map(value).sum::<u32>() % 10 == 0
}

const MS_PER_DAY: i64 = 86_400_000;

/// Days from 1970-01-01 to the given proleptic Gregorian date, for any year; the integer
/// algorithm of Howard Hinnant's `days_from_civil`, so that no date crate is needed.
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let day_of_year = (153 * ((month + 9) % 12) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// A card's expiry month, in which the card still works up to the last millisecond (UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CardExpiry {
    month: u8,
    year: u16,
}

impl CardExpiry {
    /// Expiry dates further ahead than this are typing mistakes, not cards.
    pub const YEARS_AHEAD_MAX: i64 = 50;

    /// Checks in order: month 1 to 12 (else `invalid_expiry_month`), year 2000 to 2099 and at
    /// most 50 years ahead (`invalid_expiry_year`), both 400; then that the month has not ended
    /// before `now` (`expired_card`: a 402 `card_error` without param, no one field being wrong).
    pub fn parse(month: i64, year: i64, now: Timestamp) -> Result<CardExpiry, Problem> {
        let Some(month) = u8::try_from(month).ok().filter(|month| (1..=12).contains(month)) else {
            let message = "exp_month must be a month number from 1 to 12";
            return Err(Problem::invalid_request("invalid_expiry_month", message).with_param(EXP_MONTH_PARAM));
        };
        let bad_year = |message| Problem::invalid_request("invalid_expiry_year", message).with_param(EXP_YEAR_PARAM);
        let Some(year) = u16::try_from(year).ok().filter(|year| (2000..=2099).contains(year)) else {
            return Err(bad_year("exp_year must be a four-digit year from 2000 to 2099"));
        };
        let expiry = CardExpiry { month, year };
        if month_start_unix_ms(i64::from(year) - CardExpiry::YEARS_AHEAD_MAX, i64::from(month)) > now.unix_ms() {
            return Err(bad_year("exp_year must be at most 50 years ahead"));
        }
        if expiry.end_unix_ms() <= now.unix_ms() {
            let problem = Problem::invalid_request("expired_card", "the card has expired").with_status(402);
            return Err(Problem { error_type: ErrorType::Card, ..problem });
        }
        Ok(expiry)
    }

    pub fn month(self) -> u8 {
        self.month
    }

    pub fn year(self) -> u16 {
        self.year
    }

    /// The first millisecond after the card expires: the start of the next month, UTC.
    fn end_unix_ms(self) -> i64 {
        let (year, month) = (i64::from(self.year), i64::from(self.month));
        if month == 12 { month_start_unix_ms(year + 1, 1) } else { month_start_unix_ms(year, month + 1) }
    }
}

fn month_start_unix_ms(year: i64, month: i64) -> i64 {
    days_from_civil(year, month, 1) * MS_PER_DAY
}

/// A card verification code: three digits, four on amex cards. Never stored: it goes to the
/// channel with the one authorization it was given for and is dropped with the request.
#[derive(Debug, Clone)]
pub struct Cvc(Secret<String>);

impl Cvc {
    /// Refuses with `invalid_cvc` (400, param `payment_method[card][cvc]`).
    pub fn parse(text: &str, brand: CardBrand) -> Result<Cvc, Problem> {
        if text.len() != brand.cvc_length() || !text.bytes().all(|b| b.is_ascii_digit()) {
            let message = "cvc must be three digits, or four on amex cards";
            return Err(Problem::invalid_request("invalid_cvc", message).with_param(CVC_PARAM));
        }
        Ok(Cvc(Secret::new(text.to_owned())))
    }

    /// The code itself, for the channel's authorization request only.
    pub fn expose(&self) -> &str {
        self.0.expose()
    }
}

/// A card as a client sent it, checked: number, expiry and CVC agree with each other.
#[derive(Debug, Clone)]
pub struct CardDetails {
    number: CardNumber,
    expiry: CardExpiry,
    cvc: Cvc,
}

impl CardDetails {
    /// Checks the number, then the expiry, then the CVC (whose length depends on the brand).
    pub fn parse(number: &str, exp_month: i64, exp_year: i64, cvc: &str, now: Timestamp) -> Result<Self, Problem> {
        let number = CardNumber::parse(number)?;
        let expiry = CardExpiry::parse(exp_month, exp_year, now)?;
        let cvc = Cvc::parse(cvc, number.brand())?;
        Ok(CardDetails { number, expiry, cvc })
    }

    pub fn number(&self) -> &CardNumber {
        &self.number
    }

    pub fn expiry(&self) -> CardExpiry {
        self.expiry
    }

    pub fn cvc(&self) -> &Cvc {
        &self.cvc
    }

    pub fn summary(&self) -> CardSummary {
        let (brand, last4) = (self.number.brand(), self.number.last4().to_owned());
        CardSummary { brand, last4, exp_month: self.expiry.month(), exp_year: self.expiry.year() }
    }
}

/// What the rest of Payrail and the API may show of a card.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardSummary {
    pub brand: CardBrand,
    pub last4: String,
    pub exp_month: u8,
    pub exp_year: u16,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Midnight UTC at the start of the given day, from the same civil arithmetic the code uses
    /// (which `days_are_counted_from_the_epoch_in_the_gregorian_calendar` checks on its own).
    fn midnight(year: i64, month: i64, day: i64) -> Timestamp {
        Timestamp::from_unix_ms(days_from_civil(year, month, day) * MS_PER_DAY).expect("after 1970")
    }

    /// Asserts a refusal with `code` on `param`. Messages about a number or a CVC must not
    /// carry a single digit, so that they cannot repeat any part of one.
    fn check<V: std::fmt::Debug>(result: Result<V, Problem>, code: &str, param: Option<&str>) -> Problem {
        let problem = result.expect_err(code);
        assert_eq!((problem.code, problem.param.as_deref()), (code, param));
        let secret = param == Some(NUMBER_PARAM) || param == Some(CVC_PARAM);
        assert!(!secret || !problem.message.bytes().any(|b| b.is_ascii_digit()), "{}", problem.message);
        problem
    }

    /// `body` with the Luhn check digit appended.
    fn with_check_digit(body: &str) -> String {
        (0..10).map(|digit| format!("{body}{digit}")).find(|number| luhn_check_passes(number)).expect("one digit fits")
    }

    /// The sandbox's test cards: all Visa, then one of each other brand.
    const VISA_TEST_CARDS: &str = "4242424242424242 4000000000000002 4000000000009995 4000000000009987 \
        4000000000009979 4000000000000069 4000000000000127 4000000000000119 4000000000003220";
    const OTHER_TEST_CARDS: [(&str, CardBrand); 5] = [
        ("5555555555554444", CardBrand::Mastercard),
        ("378282246310005", CardBrand::Amex),
        ("6011111111111117", CardBrand::Discover),
        ("3530111333300000", CardBrand::Jcb),
        ("6200000000000005", CardBrand::UnionPay),
    ];

    fn test_cards() -> impl Iterator<Item = (&'static str, CardBrand)> {
        VISA_TEST_CARDS.split_whitespace().map(|number| (number, CardBrand::Visa)).chain(OTHER_TEST_CARDS)
    }

    #[test]
    fn the_sandbox_test_cards_pass_the_luhn_check_and_have_their_brands() {
        assert_eq!(test_cards().count(), 14);
        for (number, brand) in test_cards() {
            let card = CardNumber::parse(number).expect(number);
            assert_eq!((card.brand(), card.last4(), card.expose()), (brand, &number[number.len() - 4..], number));
        }
    }

    #[test]
    fn brands_follow_the_issuer_ranges_at_their_edges() {
        let ranges = [
            ("visa", "4"),
            ("mastercard", "51 55 2221 2720"),
            ("amex", "34 37"),
            ("discover", "6011 644 649 65"),
            ("jcb", "3528 3589"),
            ("unionpay", "62"),
            ("diners", "36 300 305"),
            ("unknown", "1 9 50 56 2220 2721 35 3527 3590 6010 6012 643 306"),
        ];
        for (brand, prefixes) in ranges {
            for prefix in prefixes.split_whitespace() {
                let number = with_check_digit(&format!("{prefix:0<15}"));
                assert_eq!(CardNumber::parse(&number).map(|card| card.brand().as_str()), Ok(brand), "{prefix}");
            }
        }
        assert!(CardBrand::ALL.iter().all(|&brand| CardBrand::parse(brand.as_str()) == Some(brand)));
    }

    #[test]
    fn changing_any_one_digit_fails_the_luhn_check() {
        for (number, _) in test_cards() {
            for (position, original) in number.char_indices() {
                for replacement in ('0'..='9').filter(|&digit| digit != original) {
                    let mut changed = number.to_owned();
                    changed.replace_range(position..=position, &replacement.to_string());
                    check(CardNumber::parse(&changed), "card_number_invalid", Some(NUMBER_PARAM));
                }
            }
        }
    }

    #[test]
    fn separators_other_characters_and_wrong_lengths_are_refused_without_a_digit_in_the_message() {
        let eleven = with_check_digit("4242424242");
        let twenty = with_check_digit("4242424242424242424");
        let spaced = ["4242 4242 4242 4242", "4242-4242-4242-4242", " 4242424242424242", "424242424242424x"];
        let other = ["", "４２４２４２４２４２４２", eleven.as_str(), twenty.as_str()];
        for bad in spaced.into_iter().chain(other) {
            check(CardNumber::parse(bad), "card_number_invalid", Some(NUMBER_PARAM));
        }
        assert!(CardNumber::parse(&with_check_digit("42424242424")).is_ok());
        assert!(CardNumber::parse(&with_check_digit("424242424242424242")).is_ok());
    }

    #[test]
    fn debug_output_never_shows_the_card_number_or_the_cvc() {
        let now = midnight(2026, 3, 15);
        let details = CardDetails::parse("4000000000003220", 12, 2031, "987", now).expect("valid");
        let printed = format!("{details:?} {:?} {:?}", details.number(), details.cvc());
        for secret in ["4000000000003220", "400000", "3220", "987"] {
            assert!(!printed.contains(secret), "{printed}");
        }
        let summary = CardSummary { brand: CardBrand::Visa, last4: "3220".into(), exp_month: 12, exp_year: 2031 };
        assert_eq!(details.summary(), summary);
    }

    #[test]
    fn days_are_counted_from_the_epoch_in_the_gregorian_calendar() {
        let known = [((1970, 1, 1), 0), ((2000, 3, 1), 11_017), ((2024, 3, 1), 19_783), ((2100, 1, 1), 47_482)];
        for ((year, month, day), days) in known {
            assert_eq!(days_from_civil(year, month, day), days, "{year}-{month}-{day}");
        }
        let february_days = |year| days_from_civil(year, 3, 1) - days_from_civil(year, 2, 1);
        assert_eq!([2000, 2023, 2024, 2100].map(february_days), [29, 28, 29, 28], "leap years");
    }

    #[test]
    fn a_card_works_until_the_last_millisecond_of_its_expiry_month() {
        let month_ends = [(2, 2024, (2024, 3)), (2, 2023, (2023, 3)), (2, 2000, (2000, 3)), (12, 2026, (2027, 1))];
        for (month, year, (next_year, next_month)) in month_ends {
            let next_month_starts = midnight(next_year, next_month, 1);
            let expiry = CardExpiry::parse(month, year, next_month_starts.plus_ms(-1)).expect("valid");
            assert_eq!((i64::from(expiry.month()), i64::from(expiry.year())), (month, year));
            let problem = check(CardExpiry::parse(month, year, next_month_starts), "expired_card", None);
            assert_eq!((problem.status, problem.error_type), (402, ErrorType::Card));
        }
        assert!(CardExpiry::parse(2, 2024, midnight(2024, 2, 29)).is_ok(), "2024 has a February 29th");
        assert!(CardExpiry::parse(3, 2026, midnight(2026, 3, 15)).is_ok(), "this month");
        check(CardExpiry::parse(2, 2026, midnight(2026, 3, 15)), "expired_card", None);
    }

    #[test]
    fn months_and_years_out_of_range_are_refused() {
        let now = midnight(2026, 3, 15);
        for month in [0, 13, -1, i64::MAX, i64::MIN] {
            check(CardExpiry::parse(month, 2030, now), "invalid_expiry_month", Some(EXP_MONTH_PARAM));
        }
        for year in [1999, 2100, 30, -2030, i64::MAX] {
            check(CardExpiry::parse(12, year, now), "invalid_expiry_year", Some(EXP_YEAR_PARAM));
        }
        assert!(CardExpiry::parse(3, 2076, now).is_ok(), "fifty years ahead");
        check(CardExpiry::parse(4, 2076, now), "invalid_expiry_year", Some(EXP_YEAR_PARAM));
        check(CardExpiry::parse(13, 1999, now), "invalid_expiry_month", Some(EXP_MONTH_PARAM));
    }

    #[test]
    fn a_cvc_has_three_digits_or_four_on_amex_cards() {
        let cases = [(CardBrand::Visa, "123 000", "1234 12 12a"), (CardBrand::Amex, "1234", "123 12345 123a")];
        for (brand, valid, invalid) in cases.into_iter().chain([(CardBrand::Unknown, "987", "9876")]) {
            for cvc in valid.split_whitespace() {
                assert_eq!(Cvc::parse(cvc, brand).map(|parsed| parsed.expose().to_owned()), Ok(cvc.to_owned()));
            }
            for cvc in invalid.split_whitespace().chain(["", "１２３"]) {
                check(Cvc::parse(cvc, brand), "invalid_cvc", Some(CVC_PARAM));
            }
        }
    }

    #[test]
    fn card_details_are_checked_number_then_expiry_then_cvc() {
        let (now, visa, amex) = (midnight(2026, 3, 15), "4242424242424242", "378282246310005");
        check(CardDetails::parse("4242424242424241", 13, 2030, "x", now), "card_number_invalid", Some(NUMBER_PARAM));
        check(CardDetails::parse(visa, 13, 2030, "x", now), "invalid_expiry_month", Some(EXP_MONTH_PARAM));
        check(CardDetails::parse(visa, 2, 2026, "x", now), "expired_card", None);
        check(CardDetails::parse(amex, 12, 2030, "123", now), "invalid_cvc", Some(CVC_PARAM));
        assert!(CardDetails::parse(amex, 12, 2030, "1234", now).is_ok());
    }
}
