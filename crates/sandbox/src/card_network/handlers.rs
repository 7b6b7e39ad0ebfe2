//! Handlers of the acquirer protocol (`/v1`) and of the sandbox control endpoint: parse,
//! run one rule of the [`Book`](super::book::Book) under its lock, answer with the object.
//!
//! Logs carry references, statuses and error codes, never bodies or card data.

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};

use super::CardNetwork;
use super::cards;
use super::error::NetworkError;
use super::fields;
use super::wire::{self, AuthorizationObject, AuthorizeRequest, RefundObject, RefundRequest};

type Answer<T> = Result<Json<T>, NetworkError>;

pub(crate) async fn create_authorization(
    State(network): State<CardNetwork>,
    body: Result<Bytes, BytesRejection>,
) -> Answer<AuthorizationObject> {
    let request = AuthorizeRequest::parse(&fields::body_bytes(body)?).inspect_err(log_refusal("authorize"))?;
    let today = cards::month_of(network.shared.clock.now());
    let result = network.book().authorize(&request, today);
    // The card data is dropped here, with the request, before anything is logged.
    drop(request);
    let object = result.inspect_err(log_refusal("authorize"))?;
    tracing::info!(reference = %object.reference, status = object.status, "card network authorization");
    Ok(Json(object))
}

pub(crate) async fn get_authorization(
    State(network): State<CardNetwork>,
    Path(reference): Path<String>,
) -> Answer<AuthorizationObject> {
    known_reference(&reference, "authorization")?;
    Ok(Json(network.book().authorization(&reference)?))
}

pub(crate) async fn capture_authorization(
    State(network): State<CardNetwork>,
    Path(reference): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Answer<AuthorizationObject> {
    let amount_minor = wire::parse_capture(&fields::body_bytes(body)?)?;
    known_reference(&reference, "authorization")?;
    let object = network.book().capture(&reference, amount_minor).inspect_err(log_refusal("capture"))?;
    tracing::info!(reference = %object.reference, amount_minor, "card network capture");
    Ok(Json(object))
}

/// Takes no body; whatever is sent is ignored.
pub(crate) async fn void_authorization(
    State(network): State<CardNetwork>,
    Path(reference): Path<String>,
) -> Answer<AuthorizationObject> {
    known_reference(&reference, "authorization")?;
    let object = network.book().void(&reference).inspect_err(log_refusal("void"))?;
    tracing::info!(reference = %object.reference, "card network void");
    Ok(Json(object))
}

pub(crate) async fn create_refund(
    State(network): State<CardNetwork>,
    body: Result<Bytes, BytesRejection>,
) -> Answer<RefundObject> {
    let request = RefundRequest::parse(&fields::body_bytes(body)?)?;
    let object = network.book().refund(&request).inspect_err(log_refusal("refund"))?;
    tracing::info!(reference = %object.reference, status = object.status, "card network refund");
    Ok(Json(object))
}

pub(crate) async fn get_refund(
    State(network): State<CardNetwork>,
    Path(reference): Path<String>,
) -> Answer<RefundObject> {
    known_reference(&reference, "refund")?;
    Ok(Json(network.book().refund_by_reference(&reference)?))
}

/// `POST /control/refunds/{reference}/settle`: sandbox-only, unauthenticated (the sandbox
/// moves no real money). Stands in for the days a real network takes to settle a refund.
/// A refund that settles here is announced to the merchant's platform; settling it again
/// announces nothing, as nothing changed.
pub(crate) async fn settle_refund(
    State(network): State<CardNetwork>,
    Path(reference): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Answer<RefundObject> {
    let outcome = wire::parse_settle(&fields::body_bytes(body)?)?;
    known_reference(&reference, "refund")?;
    let (object, newly_settled) =
        network.book().settle_refund(&reference, outcome).inspect_err(log_refusal("settle refund"))?;
    tracing::info!(reference = %object.reference, status = object.status, "card network refund settled");
    if let (true, Some(notifier)) = (newly_settled, &network.notifier) {
        notifier.refund_settled(&object);
    }
    Ok(Json(object))
}

/// A path segment that cannot be a reference names nothing.
fn known_reference(reference: &str, what: &'static str) -> Result<(), NetworkError> {
    if fields::is_reference(reference) { Ok(()) } else { Err(NetworkError::NotFound { what }) }
}

fn log_refusal(operation: &'static str) -> impl Fn(&NetworkError) {
    move |error| tracing::info!(operation, code = error.code(), "card network refused a request")
}
