//! The card network's JSON, private to this module: request bodies borrowed from the
//! caller's values (card data straight out of its `Secret`s, never copied into anything
//! printable), and answers checked before they become [`Authorization`] and [`Refund`].

use payrail_domain::{AttemptId, Currency, Money, RefundId};
use serde::{Deserialize, Serialize};

use super::types::{Authorization, AuthorizationOutcome, AuthorizeRequest, DeclineCode, Refund, RefundStatus};
use crate::error::ChannelError;

/// `POST /v1/authorizations`. No `Debug`: it holds the card number and CVC.
#[derive(Serialize)]
pub(crate) struct AuthorizeBody<'a> {
    reference: &'a str,
    amount_minor: i64,
    currency: &'static str,
    capture: bool,
    card: CardBody<'a>,
    return_url: &'a str,
}

#[derive(Serialize)]
struct CardBody<'a> {
    number: &'a str,
    exp_month: u8,
    exp_year: u16,
    cvc: &'a str,
}

impl<'a> AuthorizeBody<'a> {
    pub(crate) fn new(request: &'a AuthorizeRequest) -> AuthorizeBody<'a> {
        let card = &request.card;
        AuthorizeBody {
            reference: request.reference.as_str(),
            amount_minor: request.amount.amount_minor(),
            currency: request.amount.currency().code(),
            capture: request.capture,
            card: CardBody {
                number: card.number.expose(),
                exp_month: card.exp_month,
                exp_year: card.exp_year,
                cvc: card.cvc.expose(),
            },
            return_url: &request.return_url,
        }
    }
}

/// The Authorization object as sent.
#[derive(Deserialize)]
pub(crate) struct AuthorizationWire {
    reference: String,
    status: String,
    amount_minor: i64,
    amount_captured_minor: i64,
    amount_refunded_minor: i64,
    currency: String,
    decline_code: Option<String>,
    network_transaction_id: Option<String>,
    challenge_url: Option<String>,
}

impl AuthorizationWire {
    /// Checks the answer belongs to `expected` and carries what its status needs.
    pub(crate) fn into_authorization(self, expected: &AttemptId) -> Result<Authorization, ChannelError> {
        if self.reference != expected.as_str() {
            return Err(protocol("the authorization answered is not the one asked for"));
        }
        let currency = Currency::parse(&self.currency).map_err(|_| protocol("unknown currency"))?;
        let outcome = match self.status.as_str() {
            "authorized" | "captured" => AuthorizationOutcome::Approved {
                captured: self.status == "captured",
                network_transaction_id: self
                    .network_transaction_id
                    .ok_or_else(|| protocol("an approved authorization without network_transaction_id"))?,
            },
            "declined" => AuthorizationOutcome::Declined {
                decline_code: DeclineCode::parse(
                    &self.decline_code.ok_or_else(|| protocol("a declined authorization without decline_code"))?,
                ),
            },
            "requires_challenge" => AuthorizationOutcome::RequiresChallenge {
                challenge_url: self.challenge_url.ok_or_else(|| protocol("a challenge without challenge_url"))?,
            },
            "voided" => AuthorizationOutcome::Voided,
            _ => return Err(protocol("unknown authorization status")),
        };
        let amounts_hold = self.amount_minor >= 1
            && (0..=self.amount_minor).contains(&self.amount_captured_minor)
            && (0..=self.amount_captured_minor).contains(&self.amount_refunded_minor);
        if !amounts_hold {
            return Err(protocol("inconsistent amounts"));
        }
        Ok(Authorization {
            reference: expected.clone(),
            outcome,
            amount: Money::new(self.amount_minor, currency),
            amount_captured_minor: self.amount_captured_minor,
            amount_refunded_minor: self.amount_refunded_minor,
        })
    }
}

/// `POST /v1/authorizations/{reference}/capture`.
#[derive(Serialize)]
pub(crate) struct CaptureBody {
    pub(crate) amount_minor: i64,
}

/// `POST /v1/refunds`.
#[derive(Serialize)]
pub(crate) struct RefundBody<'a> {
    pub(crate) reference: &'a str,
    pub(crate) authorization_reference: &'a str,
    pub(crate) amount_minor: i64,
}

/// The Refund object as sent.
#[derive(Deserialize)]
pub(crate) struct RefundWire {
    reference: String,
    authorization_reference: String,
    amount_minor: i64,
    status: String,
    failure_code: Option<String>,
}

impl RefundWire {
    pub(crate) fn into_refund(self, expected: &RefundId) -> Result<Refund, ChannelError> {
        if self.reference != expected.as_str() {
            return Err(protocol("the refund answered is not the one asked for"));
        }
        let authorization_reference =
            AttemptId::parse(&self.authorization_reference).map_err(|_| protocol("authorization_reference"))?;
        let status = match self.status.as_str() {
            "succeeded" => RefundStatus::Succeeded,
            "pending" => RefundStatus::Pending,
            "failed" => RefundStatus::Failed {
                failure_code: self.failure_code.ok_or_else(|| protocol("a failed refund without failure_code"))?,
            },
            _ => return Err(protocol("unknown refund status")),
        };
        if self.amount_minor < 1 {
            return Err(protocol("a refund amount below 1"));
        }
        Ok(Refund { reference: expected.clone(), authorization_reference, amount_minor: self.amount_minor, status })
    }
}

fn protocol(what: &str) -> ChannelError {
    ChannelError::Protocol(what.to_owned())
}
