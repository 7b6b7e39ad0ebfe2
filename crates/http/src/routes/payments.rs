//! `/v1/payments`: create, retrieve, list, confirm, capture, cancel, and the page payers
//! return to after 3-D Secure.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use payrail_domain::payment::PaymentStatus;
use payrail_domain::{PaymentId, Problem, Secret, Timestamp};
use payrail_service::{
    CardInput, Cursor, NewPayment, PAYMENT_LIST_LIMIT_MAX, PaymentFilter, PaymentMethodInput, payment_object,
};
use serde_json::{Value, json};

use crate::auth::Authenticated;
use crate::body::{Fields, JsonObject};
use crate::routes::list_limit;
use crate::{ApiError, AppState};

const CREATE_FIELDS: &[&str] = &[
    "amount",
    "currency",
    "merchant_order_no",
    "description",
    "metadata",
    "capture_method",
    "expires_at",
    "return_url",
    "notify_url",
    "payment_method",
    "confirm",
    "channel_account",
];

/// Create a payment; with `confirm: true` and a card, charge it at once.
#[utoipa::path(post, path = "/v1/payments", tag = "payments", security(("api_key" = [])),
    request_body(content = crate::openapi::CreatePayment, content_type = "application/json"),
    responses(
        (status = 200, description = "the payment", body = crate::openapi::PaymentBody),
        (status = 400, description = "a parameter is missing or invalid"),
        (status = 402, description = "the card was declined; the payment records the error"),
    ))]
pub(crate) async fn create(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    JsonObject(body): JsonObject,
) -> Result<Json<Value>, ApiError> {
    body.only(CREATE_FIELDS)?;
    let request = NewPayment {
        amount_minor: body.require("amount", body.integer("amount")?)?,
        currency: body.require("currency", body.text("currency")?)?,
        merchant_order_no: body.require("merchant_order_no", body.text("merchant_order_no")?)?,
        description: body.text("description")?,
        metadata: body.string_map("metadata")?,
        capture_method: body.text("capture_method")?,
        expires_at: body.integer("expires_at")?,
        return_url: body.text("return_url")?,
        notify_url: body.text("notify_url")?,
        payment_method: payment_method_input(&body)?,
        confirm: body.boolean("confirm")?.unwrap_or(false),
        channel_account: body.text("channel_account")?,
    };
    Ok(Json(payment_object(&state.payrail.create_payment(&caller, request).await?)))
}

/// Retrieve a payment.
#[utoipa::path(get, path = "/v1/payments/{id}", tag = "payments", security(("api_key" = [])),
    params(("id" = String, Path, description = "pay_…")),
    responses((status = 200, body = crate::openapi::PaymentBody), (status = 404, description = "no such payment")))]
pub(crate) async fn retrieve(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let payment = state.payrail.get_payment(&caller, &payment_id(&id)?).await?;
    Ok(Json(payment_object(&payment)))
}

/// List payments, newest first, with cursor pagination and filters.
#[utoipa::path(get, path = "/v1/payments", tag = "payments", security(("api_key" = [])),
    params(
        ("limit" = Option<u32>, Query, description = "1 to 100, default 10"),
        ("starting_after" = Option<String>, Query, description = "a payment id: the page after it"),
        ("ending_before" = Option<String>, Query, description = "a payment id: the page before it"),
        ("status" = Option<String>, Query), ("merchant_order_no" = Option<String>, Query),
        ("created[gte]" = Option<i64>, Query, description = "Unix seconds"),
        ("created[lte]" = Option<i64>, Query, description = "Unix seconds"),
    ),
    responses((status = 200, description = "a list object")))]
pub(crate) async fn list(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let limit = list_limit(&query, PAYMENT_LIST_LIMIT_MAX)?;
    let cursor = match (query.get("starting_after"), query.get("ending_before")) {
        (Some(_), Some(_)) => {
            let message = "give starting_after or ending_before, not both";
            return Err(Problem::invalid_request("parameter_invalid", message).with_param("ending_before").into());
        }
        (Some(id), None) => Cursor::After(payment_id(id)?),
        (None, Some(id)) => Cursor::Before(payment_id(id)?),
        (None, None) => Cursor::First,
    };
    let status = query.get("status").map(|text| {
        PaymentStatus::parse(text).ok_or_else(|| {
            Problem::invalid_request("parameter_invalid", "status is not a payment status").with_param("status")
        })
    });
    let filter = PaymentFilter {
        status: status.transpose()?,
        merchant_order_no: query.get("merchant_order_no").cloned(),
        created_from: seconds(&query, "created[gte]")?,
        created_until: seconds(&query, "created[lte]")?,
    };
    let page = state.payrail.list_payments(&caller, &filter, &cursor, limit).await?;
    let data: Vec<Value> = page.payments.iter().map(payment_object).collect();
    Ok(Json(json!({ "object": "list", "data": data, "has_more": page.has_more, "url": "/v1/payments" })))
}

/// Confirm a payment with a card.
#[utoipa::path(post, path = "/v1/payments/{id}/confirm", tag = "payments", security(("api_key" = [])),
    params(("id" = String, Path, description = "pay_…")),
    responses((status = 200, body = crate::openapi::PaymentBody), (status = 402, description = "declined")))]
pub(crate) async fn confirm(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Path(id): Path<String>,
    JsonObject(body): JsonObject,
) -> Result<Json<Value>, ApiError> {
    body.only(&["payment_method"])?;
    let payment = state.payrail.confirm_payment(&caller, &payment_id(&id)?, payment_method_input(&body)?).await?;
    Ok(Json(payment_object(&payment)))
}

/// Capture an authorized payment, in full or in part (`amount_to_capture`).
#[utoipa::path(post, path = "/v1/payments/{id}/capture", tag = "payments", security(("api_key" = [])),
    params(("id" = String, Path, description = "pay_…")),
    responses((status = 200, body = crate::openapi::PaymentBody)))]
pub(crate) async fn capture(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Path(id): Path<String>,
    JsonObject(body): JsonObject,
) -> Result<Json<Value>, ApiError> {
    body.only(&["amount_to_capture"])?;
    let amount = body.integer("amount_to_capture")?;
    let payment = state.payrail.capture_payment(&caller, &payment_id(&id)?, amount).await?;
    Ok(Json(payment_object(&payment)))
}

/// Cancel a payment that is not yet captured.
#[utoipa::path(post, path = "/v1/payments/{id}/cancel", tag = "payments", security(("api_key" = [])),
    params(("id" = String, Path, description = "pay_…")),
    responses((status = 200, body = crate::openapi::PaymentBody)))]
pub(crate) async fn cancel(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Path(id): Path<String>,
    JsonObject(body): JsonObject,
) -> Result<Json<Value>, ApiError> {
    body.only(&["cancellation_reason"])?;
    let reason = body.text("cancellation_reason")?;
    let payment = state.payrail.cancel_payment(&caller, &payment_id(&id)?, reason.as_deref()).await?;
    Ok(Json(payment_object(&payment)))
}

/// Where the payer's browser lands after 3-D Secure: Payrail asks the network how it
/// ended, then sends the payer on to the merchant's `return_url`.
pub(crate) async fn payer_return(State(state): State<AppState>, Path(id): Path<String>) -> Result<Response, ApiError> {
    let payment = state.payrail.resolve_latest_attempt(&payment_id(&id)?).await?;
    let status = payment.status.as_str();
    Ok(match &payment.return_url {
        Some(url) => {
            let separator = if url.as_str().contains('?') { '&' } else { '?' };
            let location = format!("{}{separator}payment={}&status={status}", url.as_str(), payment.id);
            (StatusCode::SEE_OTHER, [(header::LOCATION, location)]).into_response()
        }
        None => Html(format!("<!doctype html><title>Payment</title><p>Payment {} is {status}.</p>", payment.id))
            .into_response(),
    })
}

fn payment_method_input(body: &Fields) -> Result<Option<PaymentMethodInput>, Problem> {
    let Some(method) = body.object("payment_method")? else { return Ok(None) };
    let kind = method.require("type", method.text("type")?)?;
    match kind.as_str() {
        "card" => {
            method.only(&["type", "card"])?;
            Ok(Some(PaymentMethodInput::Card(card_input(&method.require("card", method.object("card")?)?)?)))
        }
        "alipay_qr" => {
            method.only(&["type"])?;
            Ok(Some(PaymentMethodInput::AlipayQr))
        }
        "alipay_barcode" => Ok(Some(PaymentMethodInput::AlipayBarcode { auth_code: auth_code(&method, &kind)? })),
        "wechat_native" => {
            method.only(&["type"])?;
            Ok(Some(PaymentMethodInput::WechatNative))
        }
        "wechat_jsapi" => {
            let openid = payer_detail(&method, &kind, "openid")?;
            Ok(Some(PaymentMethodInput::WechatJsapi { openid }))
        }
        "wechat_h5" => {
            let payer_client_ip = payer_detail(&method, &kind, "payer_client_ip")?;
            Ok(Some(PaymentMethodInput::WechatH5 { payer_client_ip }))
        }
        "alipay_page" | "alipay_wap" => {
            method.only(&["type"])?;
            let page = kind == "alipay_page";
            Ok(Some(if page { PaymentMethodInput::AlipayPage } else { PaymentMethodInput::AlipayWap }))
        }
        "wechat_barcode" => Ok(Some(PaymentMethodInput::WechatBarcode { auth_code: auth_code(&method, &kind)? })),
        "auto_barcode" => PaymentMethodInput::payment_code(auth_code(&method, &kind)?).map(Some),
        _ => {
            let message = "payment_method[type] must be card, alipay_qr, alipay_barcode, alipay_page, alipay_wap, \
                           wechat_native, wechat_barcode, wechat_jsapi, wechat_h5 or auto_barcode";
            Err(Problem::invalid_request("payment_method_unsupported", message).with_param("payment_method[type]"))
        }
    }
}

/// `payment_method[{kind}][auth_code]`: a payment code, kept secret from here on.
fn auth_code(method: &Fields, kind: &str) -> Result<Secret<String>, Problem> {
    method.only(&["type", kind])?;
    let barcode = method.require(kind, method.object(kind)?)?;
    barcode.only(&["auth_code"])?;
    Ok(Secret::new(barcode.require("auth_code", barcode.text("auth_code")?)?))
}

/// The one field of `payment_method[kind]` that says who pays (`openid`, `payer_client_ip`).
fn payer_detail(method: &Fields, kind: &str, field: &str) -> Result<String, Problem> {
    method.only(&["type", kind])?;
    let details = method.require(kind, method.object(kind)?)?;
    details.only(&[field])?;
    details.require(field, details.text(field)?)
}

fn card_input(card: &Fields) -> Result<CardInput, Problem> {
    card.only(&["number", "exp_month", "exp_year", "cvc"])?;
    Ok(CardInput {
        number: Secret::new(card.require("number", card.text("number")?)?),
        exp_month: card.require("exp_month", card.integer("exp_month")?)?,
        exp_year: card.require("exp_year", card.integer("exp_year")?)?,
        cvc: Secret::new(card.require("cvc", card.text("cvc")?)?),
    })
}

/// A malformed id cannot name any payment: the same answer as an unknown one.
fn payment_id(text: &str) -> Result<PaymentId, Problem> {
    PaymentId::parse(text).map_err(|_| Problem::resource_missing("payment", "id"))
}

fn seconds(query: &HashMap<String, String>, name: &'static str) -> Result<Option<Timestamp>, Problem> {
    let invalid =
        || Problem::invalid_request("parameter_invalid", format!("{name} must be Unix seconds")).with_param(name);
    query
        .get(name)
        .map(|text| {
            text.parse::<i64>()
                .ok()
                .and_then(|s| s.checked_mul(1000))
                .and_then(Timestamp::from_unix_ms)
                .ok_or_else(invalid)
        })
        .transpose()
}
