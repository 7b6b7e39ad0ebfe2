//! `POST /notify/{channel}/{channel_account_id}`: where providers report results that come
//! later than their answers (the card network's settled refunds, Alipay's paid trades).
//!
//! Boundary: no API key here; the provider's signature over the raw body is the
//! authentication, and the service checks it before anything else. So the body is read as
//! bytes, exactly as sent (within the global body limit), and handed over untouched.
//!
//! The answers are what a provider's sender expects. The card network: 204 when the
//! notification is taken (applied now, or already, or about nothing this account holds:
//! the network stops resending). Alipay: 200 with the body exactly `success` when taken
//! (applied now or already, or recorded as a discrepancy); an order that is not this
//! account's is refused like a bad signature, so Alipay keeps resending. WeChat Pay: 204
//! with no body when taken, as Alipay's `success`; a refusal keeps its status but its body
//! is WeChat's `{"code":"FAIL","message":"…"}` rather than Payrail's envelope. All: 400
//! with a short reason when refused (bad signature, stale, malformed), 404 for a channel
//! or account that receives nothing here. An answer never repeats the body.
//!
//! The idempotency layer leaves these requests alone (it serves `/v1/` only): a provider's
//! notification carries its own id, which the service deduplicates.

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use payrail_domain::Problem;
use payrail_service::{Acknowledgement, ServiceError, WECHATPAY_CHANNEL};
use serde_json::json;

use crate::{ApiError, AppState};

/// A channel's notification of a later result, signed by the channel (no API key).
#[utoipa::path(post, path = "/notify/{channel}/{channel_account_id}", tag = "notifications",
    params(("channel" = String, Path, description = "card_network, alipay or wechatpay"),
        ("channel_account_id" = String, Path, description = "the account the channel knows Payrail by: test or live")),
    request_body(content = String, content_type = "application/json", description = "the channel's signed notification, as sent"),
    responses(
        (status = 204, description = "taken (card_network, wechatpay): applied now or before (card_network: or about nothing this account holds)"),
        (status = 200, description = "taken (alipay): the body is exactly `success`"),
        (status = 400, description = "refused: bad signature, stale, malformed; nothing changed (wechatpay: body `{\"code\":\"FAIL\",\"message\":…}`)"),
        (status = 404, description = "no such channel or account"),
    ))]
pub(crate) async fn receive(
    State(state): State<AppState>,
    Path((channel, channel_account_id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let body = body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            Problem::invalid_request("body_too_large", "the request body is larger than the server accepts")
                .with_status(413)
        } else {
            Problem::invalid_request("body_unreadable", "the request body could not be read")
        }
    })?;
    let accepted = state.payrail.accept_notification(&channel, &channel_account_id, &headers, &body).await;
    Ok(match accepted {
        Ok(Acknowledgement::NoContent) => StatusCode::NO_CONTENT.into_response(),
        Ok(Acknowledgement::Text(text)) => {
            (StatusCode::OK, [(header::CONTENT_TYPE, "text/plain")], text).into_response()
        }
        Err(ServiceError::Rejected(problem)) if channel == WECHATPAY_CHANNEL => wechatpay_failure(&problem),
        Err(error) => return Err(error.into()),
    })
}

/// WeChat Pay's failure answer: the status, and `{"code":"FAIL","message":…}` with
/// Payrail's stable code in the message (never anything of the body).
fn wechatpay_failure(problem: &Problem) -> Response {
    let status = StatusCode::from_u16(problem.status).unwrap_or(StatusCode::BAD_REQUEST);
    let message = format!("{}: {}", problem.code, problem.message);
    (status, Json(json!({ "code": "FAIL", "message": message }))).into_response()
}
