//! The card network's JSON: requests parsed into checked values, and the objects it
//! answers with.
//!
//! Optional fields of an object (`decline_code`, `network_transaction_id`,
//! `challenge_url`, `failure_code`) are left out when they do not apply.

use payrail_domain::{Currency, Secret};
use serde::Serialize;

use super::cards::{self, YearMonth};
use super::error::NetworkError;
use super::fields::{self, Object};

/// Longest `return_url` accepted; browsers and servers commonly cap URLs near here.
const RETURN_URL_BYTES_MAX: usize = 2048;

/// `POST /v1/authorizations`, checked.
pub(crate) struct AuthorizeRequest {
    pub(crate) reference: String,
    pub(crate) amount_minor: i64,
    pub(crate) currency: Currency,
    pub(crate) capture: bool,
    pub(crate) card: CardInput,
    pub(crate) return_url: String,
}

/// Card data as received. It lives only while the request is evaluated.
pub(crate) struct CardInput {
    pub(crate) number: Secret<String>,
    pub(crate) expiry: YearMonth,
    pub(crate) cvc: Secret<String>,
}

impl AuthorizeRequest {
    pub(crate) fn parse(body: &[u8]) -> Result<AuthorizeRequest, NetworkError> {
        let object = fields::json_object(body)?;
        let reference = fields::reference(&object, "reference", "reference")?;
        let amount_minor = fields::amount_minor(&object, "amount_minor", "amount_minor")?;
        let currency = Currency::parse(fields::text(&object, "currency", "currency")?)
            .map_err(|_| NetworkError::invalid("currency", "currency must be an ISO 4217 code with a minor unit"))?;
        let capture = fields::boolean(&object, "capture", "capture")?;
        let card = CardInput::parse(fields::object(&object, "card", "card")?)?;
        let return_url = parse_return_url(&object)?;
        Ok(AuthorizeRequest { reference, amount_minor, currency, capture, card, return_url })
    }
}

impl CardInput {
    fn parse(card: &Object) -> Result<CardInput, NetworkError> {
        let number = fields::text(card, "number", "card.number")?;
        if !cards::is_valid_number(number) {
            return Err(NetworkError::invalid(
                "card.number",
                "card.number must be 12 to 19 digits with a valid check digit",
            ));
        }
        let month = fields::integer(card, "exp_month", "card.exp_month")?;
        if !(1..=12).contains(&month) {
            return Err(NetworkError::invalid("card.exp_month", "card.exp_month must be between 1 and 12"));
        }
        let year = fields::integer(card, "exp_year", "card.exp_year")?;
        if !(2000..=2100).contains(&year) {
            return Err(NetworkError::invalid("card.exp_year", "card.exp_year must be a four-digit year"));
        }
        let cvc = fields::text(card, "cvc", "card.cvc")?;
        if !(3..=4).contains(&cvc.len()) || !cvc.bytes().all(|b| b.is_ascii_digit()) {
            return Err(NetworkError::invalid("card.cvc", "card.cvc must be 3 or 4 digits"));
        }
        Ok(CardInput {
            number: Secret::new(number.to_owned()),
            expiry: YearMonth { year, month },
            cvc: Secret::new(cvc.to_owned()),
        })
    }

    pub(crate) fn last4(&self) -> String {
        let number = self.number.expose();
        number[number.len() - 4..].to_owned()
    }
}

/// An absolute `http(s)` URL without spaces or control characters, so it can go into a
/// `Location` header unchanged.
fn parse_return_url(object: &Object) -> Result<String, NetworkError> {
    let url = fields::text(object, "return_url", "return_url")?;
    let absolute = url.starts_with("https://") || url.starts_with("http://");
    if absolute && url.len() <= RETURN_URL_BYTES_MAX && url.bytes().all(|b| b.is_ascii_graphic()) {
        Ok(url.to_owned())
    } else {
        Err(NetworkError::invalid(
            "return_url",
            "return_url must be an absolute http or https URL of at most 2048 characters",
        ))
    }
}

/// `POST /v1/authorizations/{reference}/capture`: the amount to capture.
pub(crate) fn parse_capture(body: &[u8]) -> Result<i64, NetworkError> {
    fields::amount_minor(&fields::json_object(body)?, "amount_minor", "amount_minor")
}

/// `POST /v1/refunds`, checked.
pub(crate) struct RefundRequest {
    pub(crate) reference: String,
    pub(crate) authorization_reference: String,
    pub(crate) amount_minor: i64,
}

impl RefundRequest {
    pub(crate) fn parse(body: &[u8]) -> Result<RefundRequest, NetworkError> {
        let object = fields::json_object(body)?;
        Ok(RefundRequest {
            reference: fields::reference(&object, "reference", "reference")?,
            authorization_reference: fields::reference(&object, "authorization_reference", "authorization_reference")?,
            amount_minor: fields::amount_minor(&object, "amount_minor", "amount_minor")?,
        })
    }
}

/// How the control endpoint settles a pending refund.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SettleOutcome {
    Succeeded,
    Failed,
}

pub(crate) fn parse_settle(body: &[u8]) -> Result<SettleOutcome, NetworkError> {
    match fields::text(&fields::json_object(body)?, "outcome", "outcome")? {
        "succeeded" => Ok(SettleOutcome::Succeeded),
        "failed" => Ok(SettleOutcome::Failed),
        _ => Err(NetworkError::invalid("outcome", "outcome must be succeeded or failed")),
    }
}

/// The Authorization object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct AuthorizationObject {
    pub(crate) reference: String,
    /// `requires_challenge`, `authorized`, `captured`, `declined` or `voided`.
    pub(crate) status: &'static str,
    pub(crate) amount_minor: i64,
    pub(crate) amount_captured_minor: i64,
    /// Refunds that have succeeded; pending ones are not counted until they settle.
    pub(crate) amount_refunded_minor: i64,
    pub(crate) currency: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) decline_code: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) network_transaction_id: Option<String>,
    /// Present only while the status is `requires_challenge`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) challenge_url: Option<String>,
}

/// The Refund object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct RefundObject {
    pub(crate) reference: String,
    pub(crate) authorization_reference: String,
    pub(crate) amount_minor: i64,
    /// `succeeded`, `pending` or `failed`.
    pub(crate) status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) failure_code: Option<&'static str>,
}
