//! The card channel: a client of the card network's acquirer protocol (authorize,
//! capture, void, refund), served in sandbox mode by `payrail-sandbox`'s simulator.
//!
//! Rules for the caller, which this client's types are shaped around:
//!
//! - The attempt id is the authorization's reference and the refund id the refund's. Send
//!   the same reference on every retry; the network answers a repeated request with what
//!   it stored, so nothing is charged twice.
//! - When a call ends with an unknown outcome ([`ChannelError::outcome_is_unknown`]), ask
//!   with [`CardNetworkClient::get_authorization`] (or [`CardNetworkClient::get_refund`])
//!   under the same reference. `None` means the network has nothing under it: the request
//!   did not arrive (or has not yet), and sending it again under the same reference is
//!   safe. Never resend under a new reference.
//!
//! The network also reports later results (a refund that settled) by notification;
//! [`verify_notification`] checks and reads one, with the secret the client was given by
//! [`CardNetworkClient::with_notification_secret`].
//!
//! Logs carry the operation and the reference, never bodies, card data or the API key.

mod notification;
mod types;
mod wire;

use payrail_domain::{AttemptId, RefundId, Secret};
use reqwest::StatusCode;

use crate::error::{ChannelError, ConfigError};
use crate::transport::{self, Answer};

pub use notification::{
    CardNetworkNotification, HeaderMap, NOTIFICATION_SIGNATURE_HEADER, NOTIFICATION_TOLERANCE_SECONDS,
    NotificationEvent, NotificationRefused, verify_notification,
};
pub use types::{
    Authorization, AuthorizationOutcome, AuthorizeRequest, CardData, DeclineCode, Refund, RefundRequest, RefundStatus,
};
use wire::{AuthorizationWire, AuthorizeBody, CaptureBody, RefundBody, RefundWire};

/// A client of one card network, reached at `base_url`.
#[derive(Debug, Clone)]
pub struct CardNetworkClient {
    http: reqwest::Client,
    base_url: String,
    api_key: Secret<String>,
    /// The secret the network signs its notifications with; without one, notifications
    /// for this account cannot be checked and are not accepted.
    notification_secret: Option<Secret<String>>,
}

impl CardNetworkClient {
    /// A client of the network at `base_url` (such as
    /// `http://127.0.0.1:8080/sandbox/card-network`), authenticating with `api_key`. Every
    /// call ends within `timeout_ms` (1 to 600,000); connecting gets half of that, at most
    /// 5 s.
    pub fn new(base_url: &str, api_key: Secret<String>, timeout_ms: u64) -> Result<CardNetworkClient, ConfigError> {
        Ok(CardNetworkClient {
            http: transport::client(timeout_ms)?,
            base_url: transport::base_url(base_url)?,
            api_key,
            notification_secret: None,
        })
    }

    /// This client, with the secret the network signs notifications to this account with.
    pub fn with_notification_secret(self, secret: Secret<String>) -> CardNetworkClient {
        CardNetworkClient { notification_secret: Some(secret), ..self }
    }

    /// The secret notifications to this account are signed with, if one was agreed.
    pub fn notification_secret(&self) -> Option<&Secret<String>> {
        self.notification_secret.as_ref()
    }

    /// Asks for an authorization (and capture, if `request.capture`). A decline is an
    /// `Ok` outcome, not an error.
    pub async fn authorize(&self, request: &AuthorizeRequest) -> Result<Authorization, ChannelError> {
        let http = self.http.post(self.url("/v1/authorizations")).json(&AuthorizeBody::new(request));
        let answer = self.call("authorize", request.reference.as_str(), http).await?;
        transport::parse::<AuthorizationWire>(&answer)?.into_authorization(&request.reference)
    }

    /// The authorization under `reference`, or `None` if the network has none.
    pub async fn get_authorization(&self, reference: &AttemptId) -> Result<Option<Authorization>, ChannelError> {
        let http = self.http.get(self.url(&format!("/v1/authorizations/{reference}")));
        match self.call("get_authorization", reference.as_str(), http).await {
            Ok(answer) => Ok(Some(transport::parse::<AuthorizationWire>(&answer)?.into_authorization(reference)?)),
            Err(error) if is_not_found(&error) => Ok(None),
            Err(error) => Err(error),
        }
    }

    /// Captures `amount_minor` (1 up to the authorized amount) of an approved, uncaptured
    /// authorization; the rest is released. Repeating the same capture returns the same
    /// result; any other capture of a captured authorization is `Rejected`
    /// (`invalid_state`).
    pub async fn capture(&self, reference: &AttemptId, amount_minor: i64) -> Result<Authorization, ChannelError> {
        let url = self.url(&format!("/v1/authorizations/{reference}/capture"));
        let answer =
            self.call("capture", reference.as_str(), self.http.post(url).json(&CaptureBody { amount_minor })).await?;
        transport::parse::<AuthorizationWire>(&answer)?.into_authorization(reference)
    }

    /// Releases an uncaptured authorization (or an open challenge). Repeating it returns
    /// the voided authorization.
    pub async fn void(&self, reference: &AttemptId) -> Result<Authorization, ChannelError> {
        let url = self.url(&format!("/v1/authorizations/{reference}/void"));
        let answer = self.call("void", reference.as_str(), self.http.post(url).json(&serde_json::json!({}))).await?;
        transport::parse::<AuthorizationWire>(&answer)?.into_authorization(reference)
    }

    /// Refunds part or all of a captured authorization. The result may be `Pending`, to be
    /// followed with [`CardNetworkClient::get_refund`].
    pub async fn refund(&self, request: &RefundRequest) -> Result<Refund, ChannelError> {
        let body = RefundBody {
            reference: request.reference.as_str(),
            authorization_reference: request.authorization_reference.as_str(),
            amount_minor: request.amount_minor,
        };
        let http = self.http.post(self.url("/v1/refunds")).json(&body);
        let answer = self.call("refund", request.reference.as_str(), http).await?;
        transport::parse::<RefundWire>(&answer)?.into_refund(&request.reference)
    }

    /// The refund under `reference`, or `None` if the network has none.
    pub async fn get_refund(&self, reference: &RefundId) -> Result<Option<Refund>, ChannelError> {
        let http = self.http.get(self.url(&format!("/v1/refunds/{reference}")));
        match self.call("get_refund", reference.as_str(), http).await {
            Ok(answer) => Ok(Some(transport::parse::<RefundWire>(&answer)?.into_refund(reference)?)),
            Err(error) if is_not_found(&error) => Ok(None),
            Err(error) => Err(error),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// Sends with the API key; a 2xx answer is returned, anything else classified.
    async fn call(
        &self,
        operation: &'static str,
        reference: &str,
        request: reqwest::RequestBuilder,
    ) -> Result<Answer, ChannelError> {
        let result = transport::send(request.bearer_auth(self.api_key.expose())).await;
        let result = result
            .and_then(|answer| if answer.status.is_success() { Ok(answer) } else { Err(transport::refusal(&answer)) });
        match &result {
            Ok(answer) => tracing::debug!(operation, reference, status = answer.status.as_u16(), "card network call"),
            Err(error) => tracing::debug!(operation, reference, %error, "card network call failed"),
        }
        result
    }
}

/// The network's "no object under this reference" (not a missing route, which has its own
/// code and means a wrong base URL).
fn is_not_found(error: &ChannelError) -> bool {
    matches!(error, ChannelError::Rejected { status, code, .. } if *status == StatusCode::NOT_FOUND.as_u16() && code == "not_found")
}
