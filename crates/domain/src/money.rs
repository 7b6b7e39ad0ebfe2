//! Money: integer minor units in an ISO 4217 currency, with checked arithmetic only.
//!
//! Invariant: there is no floating-point path into or out of [`Money`]. Amounts are
//! `i64` minor units (cents, fen, yen), and the currency's exponent comes from the ISO
//! 4217 table, never from a guess.

use std::fmt;

/// An ISO 4217 currency that has minor units (so not `XAU`, `XXX` and the like).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Currency {
    iso: iso_currency::Currency,
    exponent: u8,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("not an ISO 4217 currency code")]
    UnknownCurrency,
    #[error("currency has no minor unit and cannot be used for payments")]
    CurrencyWithoutMinorUnit,
    #[error("amounts in different currencies cannot be combined")]
    CurrencyMismatch,
    #[error("amount is out of range")]
    Overflow,
}

impl Currency {
    /// Parses a three-letter code in any case (`usd`, `USD`, `Usd`).
    pub fn parse(code: &str) -> Result<Currency, MoneyError> {
        if code.len() != 3 || !code.bytes().all(|b| b.is_ascii_alphabetic()) {
            return Err(MoneyError::UnknownCurrency);
        }
        let iso = iso_currency::Currency::from_code(&code.to_ascii_uppercase()).ok_or(MoneyError::UnknownCurrency)?;
        let exponent = iso.exponent().and_then(|e| u8::try_from(e).ok()).ok_or(MoneyError::CurrencyWithoutMinorUnit)?;
        Ok(Currency { iso, exponent })
    }

    /// The upper-case alphabetic code, as the API returns it.
    pub fn code(self) -> &'static str {
        self.iso.code()
    }

    /// Digits after the decimal point: 2 for USD, 0 for JPY, 3 for KWD.
    pub fn exponent(self) -> u8 {
        self.exponent
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// An amount of money: integer minor units and a currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Money {
    amount_minor: i64,
    currency: Currency,
}

impl Money {
    pub fn new(amount_minor: i64, currency: Currency) -> Money {
        Money { amount_minor, currency }
    }

    pub fn zero(currency: Currency) -> Money {
        Money::new(0, currency)
    }

    pub fn amount_minor(self) -> i64 {
        self.amount_minor
    }

    pub fn currency(self) -> Currency {
        self.currency
    }

    pub fn checked_add(self, other: Money) -> Result<Money, MoneyError> {
        self.same_currency(other)?;
        let sum = self.amount_minor.checked_add(other.amount_minor).ok_or(MoneyError::Overflow)?;
        Ok(Money::new(sum, self.currency))
    }

    pub fn checked_sub(self, other: Money) -> Result<Money, MoneyError> {
        self.same_currency(other)?;
        let difference = self.amount_minor.checked_sub(other.amount_minor).ok_or(MoneyError::Overflow)?;
        Ok(Money::new(difference, self.currency))
    }

    pub fn checked_neg(self) -> Result<Money, MoneyError> {
        let negated = self.amount_minor.checked_neg().ok_or(MoneyError::Overflow)?;
        Ok(Money::new(negated, self.currency))
    }

    fn same_currency(self, other: Money) -> Result<(), MoneyError> {
        if self.currency == other.currency { Ok(()) } else { Err(MoneyError::CurrencyMismatch) }
    }
}

/// Formats as a decimal in major units (`12.30 USD`, `500 JPY`), by integer arithmetic.
impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let exponent = u32::from(self.currency.exponent);
        let sign = if self.amount_minor < 0 { "-" } else { "" };
        let magnitude = self.amount_minor.unsigned_abs();
        if exponent == 0 {
            return write!(f, "{sign}{magnitude} {}", self.currency);
        }
        let scale = 10_u64.pow(exponent);
        let (major, minor) = (magnitude / scale, magnitude % scale);
        let width = exponent as usize;
        write!(f, "{sign}{major}.{minor:0width$} {}", self.currency)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn currency(code: &str) -> Currency {
        Currency::parse(code).expect("known currency")
    }

    #[test]
    fn currency_codes_parse_in_any_case_and_come_back_upper_case() {
        for code in ["usd", "USD", "Usd"] {
            assert_eq!(currency(code).code(), "USD");
        }
    }

    #[test]
    fn exponents_come_from_iso_4217() {
        let expected = [("USD", 2), ("JPY", 0), ("KWD", 3), ("BHD", 3), ("CNY", 2), ("CLF", 4)];
        for (code, exponent) in expected {
            assert_eq!(currency(code).exponent(), exponent, "{code}");
        }
    }

    #[test]
    fn unknown_and_unit_less_currencies_are_refused() {
        for (code, error) in [
            ("ABC", MoneyError::UnknownCurrency),
            ("US", MoneyError::UnknownCurrency),
            ("USDX", MoneyError::UnknownCurrency),
            ("U$D", MoneyError::UnknownCurrency),
            ("", MoneyError::UnknownCurrency),
            ("XAU", MoneyError::CurrencyWithoutMinorUnit),
            ("XXX", MoneyError::CurrencyWithoutMinorUnit),
        ] {
            assert_eq!(Currency::parse(code), Err(error), "{code}");
        }
    }

    #[test]
    fn arithmetic_is_checked_and_refuses_mixed_currencies() {
        let usd = currency("USD");
        let a = Money::new(i64::MAX - 1, usd);
        assert_eq!(a.checked_add(Money::new(1, usd)).map(Money::amount_minor), Ok(i64::MAX));
        assert_eq!(a.checked_add(Money::new(2, usd)), Err(MoneyError::Overflow));
        assert_eq!(Money::new(i64::MIN, usd).checked_sub(Money::new(1, usd)), Err(MoneyError::Overflow));
        assert_eq!(Money::new(i64::MIN, usd).checked_neg(), Err(MoneyError::Overflow));
        let eur = Money::new(1, currency("EUR"));
        assert_eq!(Money::new(1, usd).checked_add(eur), Err(MoneyError::CurrencyMismatch));
        assert_eq!(Money::new(1, usd).checked_sub(eur), Err(MoneyError::CurrencyMismatch));
    }

    #[test]
    fn display_uses_the_currency_exponent() {
        assert_eq!(Money::new(1230, currency("usd")).to_string(), "12.30 USD");
        assert_eq!(Money::new(-5, currency("usd")).to_string(), "-0.05 USD");
        assert_eq!(Money::new(500, currency("jpy")).to_string(), "500 JPY");
        assert_eq!(Money::new(1, currency("kwd")).to_string(), "0.001 KWD");
        assert_eq!(Money::zero(currency("eur")).to_string(), "0.00 EUR");
    }
}
