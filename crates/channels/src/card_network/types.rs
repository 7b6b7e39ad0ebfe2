//! What the card network channel takes and gives, in Payrail's terms: ids, `Money`,
//! `Secret`s, and outcomes the payment service can map directly to its own states.

use std::fmt;

use payrail_domain::{AttemptId, Money, RefundId, Secret};

/// Card data to send to the network. Every field prints as a mask in `Debug`; the number
/// and CVC are read only when the request body is written.
#[derive(Clone)]
pub struct CardData {
    pub number: Secret<String>,
    pub exp_month: u8,
    pub exp_year: u16,
    pub cvc: Secret<String>,
}

impl fmt::Debug for CardData {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CardData(***)")
    }
}

/// An authorization to request. `reference` is the attempt id: the same on every retry of
/// the attempt, so a retry is answered with what the network stored the first time.
#[derive(Debug, Clone)]
pub struct AuthorizeRequest {
    pub reference: AttemptId,
    pub amount: Money,
    /// Capture at once when approved (`true`), or only hold the amount (`false`).
    pub capture: bool,
    pub card: CardData,
    /// Where the cardholder's browser is sent after a 3-D Secure challenge.
    pub return_url: String,
}

/// A refund to request; `reference` is the refund id, reused on every retry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundRequest {
    pub reference: RefundId,
    pub authorization_reference: AttemptId,
    pub amount_minor: i64,
}

/// An authorization as the network holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorization {
    pub reference: AttemptId,
    pub outcome: AuthorizationOutcome,
    /// The amount authorized, in the authorization's currency.
    pub amount: Money,
    pub amount_captured_minor: i64,
    /// Refunds that have succeeded; pending refunds are not included.
    pub amount_refunded_minor: i64,
}

/// Where an authorization stands, carrying exactly what each state needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthorizationOutcome {
    /// Approved by the issuer. `captured` says whether the money is captured (wire status
    /// `captured`) or only held (`authorized`, capture or void next).
    Approved { captured: bool, network_transaction_id: String },
    /// Refused; final.
    Declined { decline_code: DeclineCode },
    /// The cardholder must pass 3-D Secure at `challenge_url` first; the outcome is then
    /// learned by querying the authorization.
    RequiresChallenge { challenge_url: String },
    /// Released before capture; final.
    Voided,
}

/// Why the issuer refused, as the network reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeclineCode {
    GenericDecline,
    InsufficientFunds,
    LostCard,
    StolenCard,
    ExpiredCard,
    IncorrectCvc,
    /// The cardholder failed the 3-D Secure challenge.
    AuthenticationFailed,
    /// A code this client does not know yet, kept as sent.
    Other(String),
}

impl DeclineCode {
    pub fn parse(code: &str) -> DeclineCode {
        match code {
            "generic_decline" => DeclineCode::GenericDecline,
            "insufficient_funds" => DeclineCode::InsufficientFunds,
            "lost_card" => DeclineCode::LostCard,
            "stolen_card" => DeclineCode::StolenCard,
            "expired_card" => DeclineCode::ExpiredCard,
            "incorrect_cvc" => DeclineCode::IncorrectCvc,
            "authentication_failed" => DeclineCode::AuthenticationFailed,
            other => DeclineCode::Other(other.to_owned()),
        }
    }

    /// The code as the network sends it.
    pub fn as_str(&self) -> &str {
        match self {
            DeclineCode::GenericDecline => "generic_decline",
            DeclineCode::InsufficientFunds => "insufficient_funds",
            DeclineCode::LostCard => "lost_card",
            DeclineCode::StolenCard => "stolen_card",
            DeclineCode::ExpiredCard => "expired_card",
            DeclineCode::IncorrectCvc => "incorrect_cvc",
            DeclineCode::AuthenticationFailed => "authentication_failed",
            DeclineCode::Other(code) => code,
        }
    }
}

/// A refund as the network holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refund {
    pub reference: RefundId,
    pub authorization_reference: AttemptId,
    pub amount_minor: i64,
    pub status: RefundStatus,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefundStatus {
    Succeeded,
    /// Accepted, to be settled later; query again until it is `Succeeded` or `Failed`.
    Pending,
    /// The money did not go back; the refunded amount is available again.
    Failed {
        failure_code: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decline_codes_read_back_as_sent() {
        for code in ["generic_decline", "insufficient_funds", "lost_card", "stolen_card", "expired_card"] {
            assert_eq!(DeclineCode::parse(code).as_str(), code);
        }
        for code in ["incorrect_cvc", "authentication_failed", "do_not_honor"] {
            assert_eq!(DeclineCode::parse(code).as_str(), code);
        }
        assert_eq!(DeclineCode::parse("do_not_honor"), DeclineCode::Other("do_not_honor".to_owned()));
    }

    #[test]
    fn card_details_print_nothing_of_the_card() {
        let card = CardData {
            number: Secret::new("4242424242424242".to_owned()),
            exp_month: 12,
            exp_year: 2030,
            cvc: Secret::new("987".to_owned()),
        };
        let printed = format!("{card:?}");
        for secret in ["4242", "2030", "987", "12"] {
            assert!(!printed.contains(secret), "{printed}");
        }
    }
}
