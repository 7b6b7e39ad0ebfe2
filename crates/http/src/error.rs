//! The error envelope: `{"error":{"type","code","message","param","request_id"}}`.
//!
//! Handlers return [`ApiError`]; it becomes a response that carries the [`Problem`] as an
//! extension, and the request layer renders the body once it knows the request id. So
//! there is exactly one place that writes error bodies.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use payrail_domain::Problem;
use payrail_service::ServiceError;

/// An error on its way to becoming a response.
#[derive(Debug)]
pub struct ApiError(pub Problem);

impl From<Problem> for ApiError {
    fn from(problem: Problem) -> ApiError {
        ApiError(problem)
    }
}

impl From<ServiceError> for ApiError {
    fn from(error: ServiceError) -> ApiError {
        if let ServiceError::Unexpected(cause) = &error {
            // Logged here, once; the client sees only that something went wrong.
            tracing::error!(error = format!("{cause:#}"), "request failed unexpectedly");
        }
        ApiError(error.problem())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.0.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = status.into_response();
        response.extensions_mut().insert(self.0);
        response
    }
}

/// The JSON body for `problem`.
pub(crate) fn envelope(problem: &Problem, request_id: &str) -> serde_json::Value {
    payrail_service::error_object(problem, request_id)
}
