//! `GET /v1/events`: what happened to the caller's objects, newest first.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, Query, State};
use payrail_domain::{EventId, Problem};
use payrail_service::{DeliveryView, EVENT_LIST_LIMIT_MAX, delivery_object, event_object};
use serde_json::{Value, json};

use crate::auth::Authenticated;
use crate::routes::{list_limit, list_page};
use crate::{ApiError, AppState};

/// List events, newest first.
#[utoipa::path(get, path = "/v1/events", tag = "events", security(("api_key" = [])),
    params(
        ("limit" = Option<u32>, Query, description = "1 to 100, default 10"),
        ("starting_after" = Option<String>, Query, description = "an event id: the page after it"),
    ),
    responses((status = 200, description = "a list object of events")))]
pub(crate) async fn list(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let limit = list_limit(&query, EVENT_LIST_LIMIT_MAX)?;
    let after = query
        .get("starting_after")
        .map(|id| EventId::parse(id).map_err(|_| Problem::resource_missing("event", "starting_after")))
        .transpose()?;
    let rows = state.payrail.list_events(&caller, after.as_ref(), limit + 1).await?;
    let livemode = caller.mode.is_live();
    Ok(list_page(rows, limit, "/v1/events", |(id, event_type, _object_id, data, created_ms)| {
        event_object(id, event_type, *created_ms, livemode, data)
    }))
}

/// Every delivery of an event, with each attempt: when, the status code, the latency, the
/// start of the response (at most 1 KiB) and the error.
#[utoipa::path(get, path = "/v1/events/{id}/deliveries", tag = "events", security(("api_key" = [])),
    params(("id" = String, Path, description = "evt_…")),
    responses((status = 200, description = "a list object of deliveries"), (status = 404)))]
pub(crate) async fn deliveries(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let deliveries = state.payrail.event_deliveries(&caller, &event_id(&id)?).await?;
    Ok(Json(deliveries_list(&id, &deliveries)))
}

/// Sends an event again now, to each destination it had, with a fresh retry window.
#[utoipa::path(post, path = "/v1/events/{id}/resend", tag = "events", security(("api_key" = [])),
    params(("id" = String, Path, description = "evt_…")),
    responses((status = 200, description = "the deliveries, due now"), (status = 404)))]
pub(crate) async fn resend(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let deliveries = state.payrail.resend_event(&caller, &event_id(&id)?).await?;
    Ok(Json(deliveries_list(&id, &deliveries)))
}

fn deliveries_list(id: &str, deliveries: &[DeliveryView]) -> Value {
    let data: Vec<Value> = deliveries.iter().map(delivery_object).collect();
    json!({ "object": "list", "data": data, "has_more": false, "url": format!("/v1/events/{id}/deliveries") })
}

fn event_id(text: &str) -> Result<EventId, Problem> {
    EventId::parse(text).map_err(|_| Problem::resource_missing("event", "id"))
}
