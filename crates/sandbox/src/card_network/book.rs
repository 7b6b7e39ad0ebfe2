//! The card network's memory: authorizations and refunds by reference, and the rules that
//! move them. No HTTP here; a handler parses, calls one method under the lock, answers.
//!
//! Invariant: for every authorization, refunds that succeeded plus refunds still pending
//! never exceed the amount captured. Failed refunds release their amount.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};

use payrail_domain::Money;

use super::cards::{self, CardVerdict, YearMonth};
use super::error::NetworkError;
use super::wire::{AuthorizationObject, AuthorizeRequest, RefundObject, RefundRequest, SettleOutcome};

/// The code a refund failed through the control endpoint carries.
const REFUND_FAILURE_CODE: &str = "declined";
/// The decline code of a failed 3-D Secure challenge.
const AUTHENTICATION_FAILED: &str = "authentication_failed";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AuthorizationStatus {
    RequiresChallenge,
    Authorized,
    Captured,
    Declined,
    Voided,
}

impl AuthorizationStatus {
    fn as_str(self) -> &'static str {
        match self {
            AuthorizationStatus::RequiresChallenge => "requires_challenge",
            AuthorizationStatus::Authorized => "authorized",
            AuthorizationStatus::Captured => "captured",
            AuthorizationStatus::Declined => "declined",
            AuthorizationStatus::Voided => "voided",
        }
    }
}

struct StoredAuthorization {
    /// Keyed hash of everything the request said, card included; tells a replay from a
    /// conflicting reuse of the reference without keeping the card.
    request_fingerprint: u64,
    status: AuthorizationStatus,
    amount: Money,
    /// Whether approval captures at once (`capture: true`); applied again after a challenge.
    capture_on_approval: bool,
    amount_captured_minor: i64,
    amount_refunded_minor: i64,
    amount_refund_pending_minor: i64,
    decline_code: Option<&'static str>,
    network_transaction_id: Option<String>,
    return_url: String,
    challenged: bool,
    refunds_settle_asynchronously: bool,
    card_last4: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RefundStatus {
    Succeeded,
    Pending,
    Failed,
}

struct StoredRefund {
    authorization_reference: String,
    amount_minor: i64,
    status: RefundStatus,
}

/// What the challenge page shows.
pub(crate) struct ChallengeView {
    pub(crate) amount: Money,
    pub(crate) card_last4: String,
    /// Whether the page may still be answered.
    pub(crate) open: bool,
}

pub(crate) struct Book {
    public_base_url: String,
    objects_max: usize,
    fingerprint_key: RandomState,
    transactions_issued: u64,
    authorizations: HashMap<String, StoredAuthorization>,
    refunds: HashMap<String, StoredRefund>,
}

impl Book {
    pub(crate) fn new(public_base_url: String, objects_max: usize) -> Book {
        Book {
            public_base_url,
            objects_max,
            fingerprint_key: RandomState::new(),
            transactions_issued: 0,
            authorizations: HashMap::new(),
            refunds: HashMap::new(),
        }
    }

    /// Decides a new authorization, or returns the stored one for a replay.
    pub(crate) fn authorize(
        &mut self,
        request: &AuthorizeRequest,
        today: YearMonth,
    ) -> Result<AuthorizationObject, NetworkError> {
        let card = &request.card;
        let fingerprint = self.fingerprint_key.hash_one((
            request.amount_minor,
            request.currency.code(),
            request.capture,
            card.number.expose(),
            card.expiry,
            card.cvc.expose(),
            &request.return_url,
        ));
        if let Some(existing) = self.authorizations.get(&request.reference) {
            if existing.request_fingerprint != fingerprint {
                return Err(NetworkError::ReferenceConflict);
            }
            return Ok(self.authorization_object(&request.reference, existing));
        }
        let verdict = cards::verdict(card.number.expose(), card.expiry, today);
        if verdict == CardVerdict::ProcessingError {
            return Err(NetworkError::ProcessingError);
        }
        if self.authorizations.len() >= self.objects_max {
            return Err(NetworkError::CapacityExceeded);
        }
        let mut stored = StoredAuthorization {
            request_fingerprint: fingerprint,
            status: AuthorizationStatus::RequiresChallenge,
            amount: Money::new(request.amount_minor, request.currency),
            capture_on_approval: request.capture,
            amount_captured_minor: 0,
            amount_refunded_minor: 0,
            amount_refund_pending_minor: 0,
            decline_code: None,
            network_transaction_id: None,
            return_url: request.return_url.clone(),
            challenged: false,
            refunds_settle_asynchronously: card.number.expose() == cards::ASYNCHRONOUS_REFUND_CARD,
            card_last4: card.last4(),
        };
        match verdict {
            CardVerdict::Approve => approve(&mut stored, self.issue_transaction_id()),
            CardVerdict::Decline(code) => decline(&mut stored, code),
            CardVerdict::Challenge | CardVerdict::ProcessingError => stored.challenged = true,
        }
        let object = self.authorization_object(&request.reference, &stored);
        self.authorizations.insert(request.reference.clone(), stored);
        Ok(object)
    }

    pub(crate) fn public_base_url(&self) -> &str {
        &self.public_base_url
    }

    pub(crate) fn authorization(&self, reference: &str) -> Result<AuthorizationObject, NetworkError> {
        let stored = self.authorizations.get(reference).ok_or(NetworkError::NotFound { what: "authorization" })?;
        Ok(self.authorization_object(reference, stored))
    }

    /// Captures `amount_minor` of an authorized amount; the rest is released.
    pub(crate) fn capture(&mut self, reference: &str, amount_minor: i64) -> Result<AuthorizationObject, NetworkError> {
        let stored = self.stored_mut(reference)?;
        match stored.status {
            AuthorizationStatus::Authorized if amount_minor > stored.amount.amount_minor() => {
                return Err(NetworkError::AmountTooLarge);
            }
            AuthorizationStatus::Authorized => {
                stored.status = AuthorizationStatus::Captured;
                stored.amount_captured_minor = amount_minor;
            }
            AuthorizationStatus::Captured if stored.amount_captured_minor == amount_minor => {}
            _ => {
                return Err(NetworkError::InvalidState { message: "only an authorized authorization can be captured" });
            }
        }
        self.authorization(reference)
    }

    pub(crate) fn void(&mut self, reference: &str) -> Result<AuthorizationObject, NetworkError> {
        let stored = self.stored_mut(reference)?;
        match stored.status {
            AuthorizationStatus::Authorized | AuthorizationStatus::RequiresChallenge => {
                stored.status = AuthorizationStatus::Voided;
            }
            AuthorizationStatus::Voided => {}
            AuthorizationStatus::Captured | AuthorizationStatus::Declined => {
                return Err(NetworkError::InvalidState {
                    message: "only an authorization that is not captured or declined can be voided",
                });
            }
        }
        self.authorization(reference)
    }

    /// Refunds part of a captured amount, or returns the stored refund for a replay.
    pub(crate) fn refund(&mut self, request: &RefundRequest) -> Result<RefundObject, NetworkError> {
        if let Some(existing) = self.refunds.get(&request.reference) {
            let same = existing.authorization_reference == request.authorization_reference
                && existing.amount_minor == request.amount_minor;
            return if same {
                Ok(refund_object(&request.reference, existing))
            } else {
                Err(NetworkError::ReferenceConflict)
            };
        }
        if self.refunds.len() >= self.objects_max {
            return Err(NetworkError::CapacityExceeded);
        }
        let authorization = self
            .authorizations
            .get_mut(&request.authorization_reference)
            .ok_or(NetworkError::NotFound { what: "authorization" })?;
        if authorization.status != AuthorizationStatus::Captured {
            return Err(NetworkError::InvalidState { message: "only a captured authorization can be refunded" });
        }
        // No overflow: both sums are kept at or below `amount_captured_minor` (the invariant).
        let committed = authorization.amount_refunded_minor + authorization.amount_refund_pending_minor;
        let remaining = authorization.amount_captured_minor - committed;
        if request.amount_minor > remaining {
            return Err(NetworkError::AmountTooLarge);
        }
        let status = if authorization.refunds_settle_asynchronously {
            authorization.amount_refund_pending_minor += request.amount_minor;
            RefundStatus::Pending
        } else {
            authorization.amount_refunded_minor += request.amount_minor;
            RefundStatus::Succeeded
        };
        debug_assert!(
            authorization.amount_refunded_minor + authorization.amount_refund_pending_minor
                <= authorization.amount_captured_minor
        );
        let stored = StoredRefund {
            authorization_reference: request.authorization_reference.clone(),
            amount_minor: request.amount_minor,
            status,
        };
        let object = refund_object(&request.reference, &stored);
        self.refunds.insert(request.reference.clone(), stored);
        Ok(object)
    }

    pub(crate) fn refund_by_reference(&self, reference: &str) -> Result<RefundObject, NetworkError> {
        let stored = self.refunds.get(reference).ok_or(NetworkError::NotFound { what: "refund" })?;
        Ok(refund_object(reference, stored))
    }

    /// Ends a pending refund; settling again with the same outcome changes nothing. The
    /// flag says whether this call settled it (and so whether to notify the merchant's
    /// platform).
    pub(crate) fn settle_refund(
        &mut self,
        reference: &str,
        outcome: SettleOutcome,
    ) -> Result<(RefundObject, bool), NetworkError> {
        let refund = self.refunds.get_mut(reference).ok_or(NetworkError::NotFound { what: "refund" })?;
        let settled = match outcome {
            SettleOutcome::Succeeded => RefundStatus::Succeeded,
            SettleOutcome::Failed => RefundStatus::Failed,
        };
        let newly_settled = refund.status == RefundStatus::Pending;
        if newly_settled {
            // Every refund names an authorization that existed when it was made, and
            // authorizations are never removed.
            let authorization = self
                .authorizations
                .get_mut(&refund.authorization_reference)
                .expect("a refund's authorization is kept as long as the refund");
            authorization.amount_refund_pending_minor -= refund.amount_minor;
            if settled == RefundStatus::Succeeded {
                authorization.amount_refunded_minor += refund.amount_minor;
            }
            refund.status = settled;
        } else if refund.status != settled {
            return Err(NetworkError::InvalidState { message: "only a pending refund can be settled" });
        }
        Ok((refund_object(reference, refund), newly_settled))
    }

    pub(crate) fn challenge_view(&self, reference: &str) -> Result<ChallengeView, NetworkError> {
        let stored = self.authorizations.get(reference).ok_or(NetworkError::NotFound { what: "authorization" })?;
        Ok(ChallengeView {
            amount: stored.amount,
            card_last4: stored.card_last4.clone(),
            open: stored.status == AuthorizationStatus::RequiresChallenge,
        })
    }

    /// The cardholder passed the challenge: approve. Returns where to send the browser.
    /// Answering again after a pass (a double submit) just redirects again.
    pub(crate) fn complete_challenge(&mut self, reference: &str) -> Result<String, NetworkError> {
        let status = self.stored_mut(reference)?.status;
        let network_transaction_id =
            (status == AuthorizationStatus::RequiresChallenge).then(|| self.issue_transaction_id());
        let stored = self.stored_mut(reference)?;
        match (stored.status, network_transaction_id) {
            (AuthorizationStatus::RequiresChallenge, Some(network_transaction_id)) => {
                approve(stored, network_transaction_id);
            }
            (AuthorizationStatus::Authorized | AuthorizationStatus::Captured, _) if stored.challenged => {}
            _ => return Err(challenge_closed()),
        }
        Ok(stored.return_url.clone())
    }

    /// The cardholder failed the challenge: decline. Returns where to send the browser.
    pub(crate) fn fail_challenge(&mut self, reference: &str) -> Result<String, NetworkError> {
        let stored = self.stored_mut(reference)?;
        match stored.status {
            AuthorizationStatus::RequiresChallenge => decline(stored, AUTHENTICATION_FAILED),
            AuthorizationStatus::Declined if stored.decline_code == Some(AUTHENTICATION_FAILED) => {}
            _ => return Err(challenge_closed()),
        }
        Ok(stored.return_url.clone())
    }

    fn stored_mut(&mut self, reference: &str) -> Result<&mut StoredAuthorization, NetworkError> {
        self.authorizations.get_mut(reference).ok_or(NetworkError::NotFound { what: "authorization" })
    }

    fn issue_transaction_id(&mut self) -> String {
        self.transactions_issued += 1;
        format!("ntx_{:015}", self.transactions_issued)
    }

    fn authorization_object(&self, reference: &str, stored: &StoredAuthorization) -> AuthorizationObject {
        let challenge_open = stored.status == AuthorizationStatus::RequiresChallenge;
        AuthorizationObject {
            reference: reference.to_owned(),
            status: stored.status.as_str(),
            amount_minor: stored.amount.amount_minor(),
            amount_captured_minor: stored.amount_captured_minor,
            amount_refunded_minor: stored.amount_refunded_minor,
            currency: stored.amount.currency().code(),
            decline_code: stored.decline_code,
            network_transaction_id: stored.network_transaction_id.clone(),
            challenge_url: challenge_open.then(|| format!("{}/3ds/{reference}", self.public_base_url)),
        }
    }
}

fn approve(stored: &mut StoredAuthorization, network_transaction_id: String) {
    stored.network_transaction_id = Some(network_transaction_id);
    if stored.capture_on_approval {
        stored.status = AuthorizationStatus::Captured;
        stored.amount_captured_minor = stored.amount.amount_minor();
    } else {
        stored.status = AuthorizationStatus::Authorized;
    }
}

fn decline(stored: &mut StoredAuthorization, decline_code: &'static str) {
    stored.status = AuthorizationStatus::Declined;
    stored.decline_code = Some(decline_code);
}

fn challenge_closed() -> NetworkError {
    NetworkError::InvalidState { message: "this authentication is already finished" }
}

fn refund_object(reference: &str, stored: &StoredRefund) -> RefundObject {
    let (status, failure_code) = match stored.status {
        RefundStatus::Succeeded => ("succeeded", None),
        RefundStatus::Pending => ("pending", None),
        RefundStatus::Failed => ("failed", Some(REFUND_FAILURE_CODE)),
    };
    RefundObject {
        reference: reference.to_owned(),
        authorization_reference: stored.authorization_reference.clone(),
        amount_minor: stored.amount_minor,
        status,
        failure_code,
    }
}
