//! `/v1/refunds`: refund a captured payment in full or in part; retrieve and list.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, Query, State};
use payrail_domain::{PaymentId, Problem, RefundId};
use payrail_service::{REFUND_LIST_LIMIT_MAX, refund_object};
use serde_json::Value;

use crate::auth::Authenticated;
use crate::body::JsonObject;
use crate::routes::{list_limit, list_page};
use crate::{ApiError, AppState};

/// Refund a captured payment: `amount` defaults to everything not yet refunded.
#[utoipa::path(post, path = "/v1/refunds", tag = "refunds", security(("api_key" = [])),
    request_body(content = crate::openapi::CreateRefund, content_type = "application/json"),
    responses(
        (status = 200, description = "the refund, pending or settled", body = crate::openapi::RefundBody),
        (status = 400, description = "more than remains to refund, or the payment is not captured"),
    ))]
pub(crate) async fn create(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    JsonObject(body): JsonObject,
) -> Result<Json<Value>, ApiError> {
    body.only(&["payment", "amount", "reason"])?;
    let payment = body.require("payment", body.text("payment")?)?;
    let payment = PaymentId::parse(&payment).map_err(|_| Problem::resource_missing("payment", "payment"))?;
    let reason = body.text("reason")?;
    let refund = state.payrail.create_refund(&caller, &payment, body.integer("amount")?, reason.as_deref()).await?;
    Ok(Json(refund_object(&refund)))
}

/// Retrieve a refund.
#[utoipa::path(get, path = "/v1/refunds/{id}", tag = "refunds", security(("api_key" = [])),
    params(("id" = String, Path, description = "re_…")),
    responses((status = 200, body = crate::openapi::RefundBody), (status = 404, description = "no such refund")))]
pub(crate) async fn retrieve(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id = RefundId::parse(&id).map_err(|_| Problem::resource_missing("refund", "id"))?;
    Ok(Json(refund_object(&state.payrail.get_refund(&caller, &id).await?)))
}

/// List refunds, newest first; `payment` narrows to one payment's.
#[utoipa::path(get, path = "/v1/refunds", tag = "refunds", security(("api_key" = [])),
    params(
        ("limit" = Option<u32>, Query, description = "1 to 100, default 10"),
        ("starting_after" = Option<String>, Query, description = "a refund id: the page after it"),
        ("payment" = Option<String>, Query, description = "only this payment's refunds"),
    ),
    responses((status = 200, description = "a list object of refunds")))]
pub(crate) async fn list(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let limit = list_limit(&query, REFUND_LIST_LIMIT_MAX)?;
    let payment = query
        .get("payment")
        .map(|id| PaymentId::parse(id).map_err(|_| Problem::resource_missing("payment", "payment")))
        .transpose()?;
    let after = query
        .get("starting_after")
        .map(|id| RefundId::parse(id).map_err(|_| Problem::resource_missing("refund", "starting_after")))
        .transpose()?;
    let refunds = state.payrail.list_refunds(&caller, payment.as_ref(), after.as_ref(), limit + 1).await?;
    Ok(list_page(refunds, limit, "/v1/refunds", refund_object))
}
