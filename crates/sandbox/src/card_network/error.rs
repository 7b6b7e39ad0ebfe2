//! Everything the card network can refuse, each with its HTTP status and stable code, and
//! the one envelope they are sent in: `{"error":{"code","message","field"?}}`.
//!
//! Invariant: messages never repeat what the client sent (it may be a card number); they
//! name the field instead.
//!
//! Invariant: a 5xx answer means nothing was stored, so the same request under the same
//! reference may be sent again.

use std::borrow::Cow;

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum NetworkError {
    /// 401: the `Authorization: Bearer` key is missing or wrong.
    Unauthorized,
    /// 400: the body is not JSON, or a field is missing or malformed.
    InvalidRequest { field: Option<&'static str>, message: Cow<'static, str> },
    /// 413: the body is larger than the simulator reads.
    BodyTooLarge,
    /// 404: no object with that name.
    NotFound { what: &'static str },
    /// 404: no route at this path (a client with a wrong base URL, not a missing object).
    RouteNotFound,
    /// 409: the reference already names a different request.
    ReferenceConflict,
    /// 409: the object's status does not allow this operation.
    InvalidState { message: &'static str },
    /// 400: more than may be captured or refunded.
    AmountTooLarge,
    /// 503: the network failed before storing anything (test card `4000000000000119`).
    ProcessingError,
    /// 503: the simulator's memory is full; nothing was stored.
    CapacityExceeded,
}

impl NetworkError {
    pub(crate) fn invalid(field: &'static str, message: impl Into<Cow<'static, str>>) -> NetworkError {
        NetworkError::InvalidRequest { field: Some(field), message: message.into() }
    }

    pub(crate) fn status(&self) -> StatusCode {
        match self {
            NetworkError::Unauthorized => StatusCode::UNAUTHORIZED,
            NetworkError::InvalidRequest { .. } | NetworkError::AmountTooLarge => StatusCode::BAD_REQUEST,
            NetworkError::BodyTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            NetworkError::NotFound { .. } | NetworkError::RouteNotFound => StatusCode::NOT_FOUND,
            NetworkError::ReferenceConflict | NetworkError::InvalidState { .. } => StatusCode::CONFLICT,
            NetworkError::ProcessingError | NetworkError::CapacityExceeded => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    pub(crate) fn code(&self) -> &'static str {
        match self {
            NetworkError::Unauthorized => "unauthorized",
            NetworkError::InvalidRequest { .. } => "invalid_request",
            NetworkError::BodyTooLarge => "body_too_large",
            NetworkError::NotFound { .. } => "not_found",
            NetworkError::RouteNotFound => "route_not_found",
            NetworkError::ReferenceConflict => "reference_conflict",
            NetworkError::InvalidState { .. } => "invalid_state",
            NetworkError::AmountTooLarge => "amount_too_large",
            NetworkError::ProcessingError => "processing_error",
            NetworkError::CapacityExceeded => "capacity_exceeded",
        }
    }

    pub(crate) fn message(&self) -> Cow<'static, str> {
        match self {
            NetworkError::Unauthorized => "a valid API key is required as Authorization: Bearer <key>".into(),
            NetworkError::InvalidRequest { message, .. } => message.clone(),
            NetworkError::BodyTooLarge => "the request body is too large".into(),
            NetworkError::NotFound { what } => format!("no such {what}").into(),
            NetworkError::RouteNotFound => "no route at this path".into(),
            NetworkError::ReferenceConflict => "this reference was already used for a different request".into(),
            NetworkError::InvalidState { message } => Cow::Borrowed(message),
            NetworkError::AmountTooLarge => "the amount is larger than what remains available".into(),
            NetworkError::ProcessingError => "the card network could not process the request; nothing was done".into(),
            NetworkError::CapacityExceeded => "the simulator holds too many objects; nothing was stored".into(),
        }
    }

    fn field(&self) -> Option<&'static str> {
        match self {
            NetworkError::InvalidRequest { field, .. } => *field,
            _ => None,
        }
    }
}

#[derive(Serialize)]
struct Envelope {
    error: ErrorBody,
}

#[derive(Serialize)]
struct ErrorBody {
    code: &'static str,
    message: Cow<'static, str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<&'static str>,
}

impl IntoResponse for NetworkError {
    fn into_response(self) -> Response {
        let body = Envelope { error: ErrorBody { code: self.code(), message: self.message(), field: self.field() } };
        (self.status(), Json(body)).into_response()
    }
}
