//! `GET /v1/events`: what happened to the caller's objects, newest first.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Query, State};
use payrail_domain::{EventId, Problem};
use payrail_service::EVENT_LIST_LIMIT_MAX;
use serde_json::{Value, json};

use crate::auth::Authenticated;
use crate::routes::list_limit;
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
    let has_more = rows.len() > limit as usize;
    let data: Vec<Value> = rows
        .into_iter()
        .take(limit as usize)
        .map(|(id, event_type, _object_id, data, created_ms)| {
            let object: Value = serde_json::from_str(&data).unwrap_or(Value::Null);
            json!({
                "id": id, "object": "event", "type": event_type, "created": created_ms / 1000,
                "livemode": caller.mode.is_live(), "data": { "object": object },
            })
        })
        .collect();
    Ok(Json(json!({ "object": "list", "data": data, "has_more": has_more, "url": "/v1/events" })))
}
