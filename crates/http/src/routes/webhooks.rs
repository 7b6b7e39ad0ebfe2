//! `/v1/webhook_endpoints`: where a merchant receives its events, each endpoint with its
//! own signing secret; and `/v1/notification_secret`, which signs what goes to payments'
//! own `notify_url`.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, Query, State};
use payrail_domain::webhook::{ENABLED_EVENTS_MAX, parse_overlap};
use payrail_domain::{Problem, WebhookEndpointId};
use payrail_service::{ENDPOINT_LIST_LIMIT_MAX, EndpointInput, notification_secret_object, webhook_endpoint_object};
use serde_json::{Value, json};

use crate::auth::Authenticated;
use crate::body::{Fields, JsonObject};
use crate::routes::{list_limit, list_page};
use crate::{ApiError, AppState};

/// Create an endpoint; its signing secret (`whsec_…`) is in this response only.
#[utoipa::path(post, path = "/v1/webhook_endpoints", tag = "webhooks", security(("api_key" = [])),
    responses((status = 200, description = "the endpoint, with `secret`"), (status = 400, description = "a bad URL or event type")))]
pub(crate) async fn create(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    JsonObject(body): JsonObject,
) -> Result<Json<Value>, ApiError> {
    body.only(&["url", "enabled_events", "description"])?;
    let url = body.require("url", body.text("url")?)?;
    let events = body.require("enabled_events", body.string_list("enabled_events", ENABLED_EVENTS_MAX)?)?;
    let input =
        EndpointInput { url: Some(url), enabled_events: Some(events), description: Some(body.text("description")?) };
    Ok(Json(state.payrail.create_webhook_endpoint(&caller, input).await?.object()))
}

/// Retrieve an endpoint (never its secret).
#[utoipa::path(get, path = "/v1/webhook_endpoints/{id}", tag = "webhooks", security(("api_key" = [])),
    params(("id" = String, Path, description = "we_…")), responses((status = 200), (status = 404)))]
pub(crate) async fn retrieve(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let endpoint = state.payrail.get_webhook_endpoint(&caller, &endpoint_id(&id)?).await?;
    Ok(Json(webhook_endpoint_object(&endpoint)))
}

/// List endpoints, oldest first.
#[utoipa::path(get, path = "/v1/webhook_endpoints", tag = "webhooks", security(("api_key" = [])),
    params(("limit" = Option<u32>, Query, description = "1 to 100, default 10"),
        ("starting_after" = Option<String>, Query, description = "an endpoint id: the page after it")),
    responses((status = 200, description = "a list object of endpoints")))]
pub(crate) async fn list(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let limit = list_limit(&query, ENDPOINT_LIST_LIMIT_MAX)?;
    let after = query.get("starting_after").map(|id| cursor(id)).transpose()?;
    let endpoints = state.payrail.list_webhook_endpoints(&caller, after.as_ref(), limit + 1).await?;
    Ok(list_page(endpoints, limit, "/v1/webhook_endpoints", webhook_endpoint_object))
}

/// Change the URL, the events or the description (`""` clears it).
#[utoipa::path(post, path = "/v1/webhook_endpoints/{id}", tag = "webhooks", security(("api_key" = [])),
    params(("id" = String, Path, description = "we_…")), responses((status = 200), (status = 404)))]
pub(crate) async fn update(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Path(id): Path<String>,
    JsonObject(body): JsonObject,
) -> Result<Json<Value>, ApiError> {
    body.only(&["url", "enabled_events", "description"])?;
    let input = EndpointInput {
        url: body.text("url")?,
        enabled_events: body.string_list("enabled_events", ENABLED_EVENTS_MAX)?,
        description: body.text("description")?.map(|text| Some(text).filter(|text| !text.is_empty())),
    };
    let endpoint = state.payrail.update_webhook_endpoint(&caller, &endpoint_id(&id)?, input).await?;
    Ok(Json(webhook_endpoint_object(&endpoint)))
}

/// Delete an endpoint: its pending deliveries are canceled.
#[utoipa::path(delete, path = "/v1/webhook_endpoints/{id}", tag = "webhooks", security(("api_key" = [])),
    params(("id" = String, Path, description = "we_…")), responses((status = 200), (status = 404)))]
pub(crate) async fn delete(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let endpoint = state.payrail.delete_webhook_endpoint(&caller, &endpoint_id(&id)?).await?;
    Ok(Json(json!({ "id": endpoint.id.as_str(), "object": "webhook_endpoint", "deleted": true })))
}

/// Pause an endpoint's deliveries.
#[utoipa::path(post, path = "/v1/webhook_endpoints/{id}/disable", tag = "webhooks", security(("api_key" = [])),
    params(("id" = String, Path, description = "we_…")), responses((status = 200), (status = 404)))]
pub(crate) async fn disable(
    state: State<AppState>,
    caller: Authenticated,
    id: Path<String>,
) -> Result<Json<Value>, ApiError> {
    set_enabled(state, caller, id, false).await
}

/// Resume an endpoint's deliveries, those still inside their retry window included.
#[utoipa::path(post, path = "/v1/webhook_endpoints/{id}/enable", tag = "webhooks", security(("api_key" = [])),
    params(("id" = String, Path, description = "we_…")), responses((status = 200), (status = 404)))]
pub(crate) async fn enable(
    state: State<AppState>,
    caller: Authenticated,
    id: Path<String>,
) -> Result<Json<Value>, ApiError> {
    set_enabled(state, caller, id, true).await
}

async fn set_enabled(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Path(id): Path<String>,
    enabled: bool,
) -> Result<Json<Value>, ApiError> {
    let endpoint = state.payrail.set_webhook_endpoint_enabled(&caller, &endpoint_id(&id)?, enabled).await?;
    Ok(Json(webhook_endpoint_object(&endpoint)))
}

/// Replace the signing secret; the old one keeps signing for `overlap_seconds` (default a
/// day, at most a week).
#[utoipa::path(post, path = "/v1/webhook_endpoints/{id}/rotate_secret", tag = "webhooks", security(("api_key" = [])),
    params(("id" = String, Path, description = "we_…")), responses((status = 200, description = "the endpoint, with the new `secret`")))]
pub(crate) async fn rotate_secret(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Path(id): Path<String>,
    JsonObject(body): JsonObject,
) -> Result<Json<Value>, ApiError> {
    let overlap_ms = overlap(&body)?;
    Ok(Json(state.payrail.rotate_webhook_secret(&caller, &endpoint_id(&id)?, overlap_ms).await?.object()))
}

/// The notification secret for `notify_url` deliveries; shown in full on the first read.
#[utoipa::path(get, path = "/v1/notification_secret", tag = "webhooks", security(("api_key" = [])),
    responses((status = 200, description = "`secret` is set only on the first read")))]
pub(crate) async fn notification_secret(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(notification_secret_object(&state.payrail.notification_secret(&caller).await?)))
}

/// Replace the notification secret; the old one keeps signing for `overlap_seconds`.
#[utoipa::path(post, path = "/v1/notification_secret/rotate", tag = "webhooks", security(("api_key" = [])),
    responses((status = 200, description = "with the new `secret`")))]
pub(crate) async fn rotate_notification_secret(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    JsonObject(body): JsonObject,
) -> Result<Json<Value>, ApiError> {
    let overlap_ms = overlap(&body)?;
    Ok(Json(notification_secret_object(&state.payrail.rotate_notification_secret(&caller, overlap_ms).await?)))
}

fn overlap(body: &Fields) -> Result<i64, Problem> {
    body.only(&["overlap_seconds"])?;
    parse_overlap(body.integer("overlap_seconds")?)
}

fn endpoint_id(text: &str) -> Result<WebhookEndpointId, Problem> {
    WebhookEndpointId::parse(text).map_err(|_| Problem::resource_missing("webhook_endpoint", "id"))
}

fn cursor(text: &str) -> Result<WebhookEndpointId, Problem> {
    WebhookEndpointId::parse(text).map_err(|_| Problem::resource_missing("webhook_endpoint", "starting_after"))
}
