//! Everything the v3 API refuses, as WeChat Pay answers it: an HTTP status and a JSON body
//! `{"code":"…","message":"…"}` with WeChat's own code.
//!
//! Error answers are not signed (WeChat's SDKs check signatures on 2xx answers only), but
//! carry a `Request-ID` like every answer.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

/// A v3 refusal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ApiError {
    pub(crate) status: StatusCode,
    pub(crate) code: &'static str,
    pub(crate) message: String,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError { status, code, message: message.into() }
    }

    /// 401 `SIGN_ERROR`: the `Authorization` header is missing, malformed or does not verify.
    pub(crate) fn sign_error(message: &str) -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, "SIGN_ERROR", message)
    }

    /// 400 `PARAM_ERROR`: a field is missing or malformed.
    pub(crate) fn param(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "PARAM_ERROR", message)
    }

    pub(crate) fn order_not_exist() -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "ORDER_NOT_EXIST", "订单不存在")
    }

    pub(crate) fn order_paid() -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "ORDERPAID", "该订单已支付")
    }

    pub(crate) fn order_closed() -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "ORDER_CLOSED", "订单已关闭")
    }

    /// 503: the simulator's memory is full; nothing was stored.
    pub(crate) fn capacity() -> ApiError {
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "SYSTEM_ERROR", "the simulator holds too many objects")
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({"code": self.code, "message": self.message});
        (self.status, Json(body)).into_response()
    }
}
