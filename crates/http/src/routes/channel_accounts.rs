//! `/v1/channel_accounts`: a merchant's own Alipay apps and WeChat Pay merchants, whose
//! secrets go in and never come out; and `/v1/channel_routes`: which account charges each
//! payment method type.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, Query, State};
use payrail_domain::{ChannelAccountId, Problem};
use payrail_service::{
    CHANNEL_ACCOUNT_LIST_LIMIT_MAX, ChannelAccountInput, channel_account_object, channel_route_object,
};
use serde_json::{Value, json};

use crate::auth::Authenticated;
use crate::body::{Fields, JsonObject};
use crate::routes::{list_limit, list_page};
use crate::{ApiError, AppState};

const FIELDS: &[&str] = &["channel", "description", "alipay", "wechatpay"];

/// Create a channel account; its secrets are never shown again.
#[utoipa::path(post, path = "/v1/channel_accounts", tag = "channel_accounts", security(("api_key" = [])),
    responses((status = 200, description = "the account, without its secrets"),
        (status = 400, description = "a field is missing or unusable, or belongs to the other mode")))]
pub(crate) async fn create(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    JsonObject(body): JsonObject,
) -> Result<Json<Value>, ApiError> {
    body.only(FIELDS)?;
    let channel = body.require("channel", body.text("channel")?)?;
    let input = ChannelAccountInput {
        fields: channel_fields(&body, &channel)?,
        channel: Some(channel),
        description: Some(body.text("description")?),
    };
    Ok(Json(channel_account_object(&state.payrail.create_channel_account(&caller, input).await?)))
}

/// Retrieve a channel account (never its secrets).
#[utoipa::path(get, path = "/v1/channel_accounts/{id}", tag = "channel_accounts", security(("api_key" = [])),
    params(("id" = String, Path, description = "ca_…")), responses((status = 200), (status = 404)))]
pub(crate) async fn retrieve(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let account = state.payrail.get_channel_account(&caller, &account_id(&id, "id")?).await?;
    Ok(Json(channel_account_object(&account)))
}

/// List channel accounts, oldest first.
#[utoipa::path(get, path = "/v1/channel_accounts", tag = "channel_accounts", security(("api_key" = [])),
    params(("limit" = Option<u32>, Query, description = "1 to 100, default 10"),
        ("starting_after" = Option<String>, Query, description = "an account id: the page after it")),
    responses((status = 200, description = "a list object of channel accounts")))]
pub(crate) async fn list(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let limit = list_limit(&query, CHANNEL_ACCOUNT_LIST_LIMIT_MAX)?;
    let after = query.get("starting_after").map(|id| account_id(id, "starting_after")).transpose()?;
    let accounts = state.payrail.list_channel_accounts(&caller, after.as_ref(), limit + 1).await?;
    Ok(list_page(accounts, limit, "/v1/channel_accounts", channel_account_object))
}

/// Change the description or some fields (rotate a key); only the fields given change.
#[utoipa::path(post, path = "/v1/channel_accounts/{id}", tag = "channel_accounts", security(("api_key" = [])),
    params(("id" = String, Path, description = "ca_…")), responses((status = 200), (status = 400), (status = 404)))]
pub(crate) async fn update(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Path(id): Path<String>,
    JsonObject(body): JsonObject,
) -> Result<Json<Value>, ApiError> {
    body.only(FIELDS)?;
    let id = account_id(&id, "id")?;
    let current = state.payrail.get_channel_account(&caller, &id).await?;
    let input = ChannelAccountInput {
        channel: body.text("channel")?,
        description: body.text("description")?.map(Some),
        fields: channel_fields(&body, current.channel.as_str())?,
    };
    Ok(Json(channel_account_object(&state.payrail.update_channel_account(&caller, &id, input).await?)))
}

/// Delete a channel account: no longer routed to; its payments are still finished through it.
#[utoipa::path(delete, path = "/v1/channel_accounts/{id}", tag = "channel_accounts", security(("api_key" = [])),
    params(("id" = String, Path, description = "ca_…")), responses((status = 200), (status = 404)))]
pub(crate) async fn delete(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let account = state.payrail.delete_channel_account(&caller, &account_id(&id, "id")?).await?;
    Ok(Json(json!({ "id": account.id.as_str(), "object": "channel_account", "deleted": true })))
}

/// Route a payment method type to one of the merchant's accounts of its channel.
#[utoipa::path(post, path = "/v1/channel_routes", tag = "channel_accounts", security(("api_key" = [])),
    responses((status = 200, description = "the route"), (status = 400), (status = 404)))]
pub(crate) async fn set_route(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    JsonObject(body): JsonObject,
) -> Result<Json<Value>, ApiError> {
    body.only(&["payment_method_type", "channel_account"])?;
    let method = body.require("payment_method_type", body.text("payment_method_type")?)?;
    let account = account_id(&body.require("channel_account", body.text("channel_account")?)?, "channel_account")?;
    Ok(Json(channel_route_object(&state.payrail.set_channel_route(&caller, &method, &account).await?)))
}

/// The merchant's routes; a type without one goes to the platform's account of the mode.
#[utoipa::path(get, path = "/v1/channel_routes", tag = "channel_accounts", security(("api_key" = [])),
    responses((status = 200, description = "a list object of routes")))]
pub(crate) async fn list_routes(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
) -> Result<Json<Value>, ApiError> {
    let data: Vec<Value> = state.payrail.list_channel_routes(&caller).await?.iter().map(channel_route_object).collect();
    Ok(Json(json!({ "object": "list", "data": data, "has_more": false, "url": "/v1/channel_routes" })))
}

/// Remove a route.
#[utoipa::path(delete, path = "/v1/channel_routes/{payment_method_type}", tag = "channel_accounts",
    security(("api_key" = [])), params(("payment_method_type" = String, Path, description = "alipay_qr, …")),
    responses((status = 200), (status = 404)))]
pub(crate) async fn delete_route(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Path(method): Path<String>,
) -> Result<Json<Value>, ApiError> {
    state.payrail.delete_channel_route(&caller, &method).await?;
    Ok(Json(json!({ "object": "channel_route", "payment_method_type": method, "deleted": true })))
}

/// The channel's own object (`alipay` or `wechatpay`); the other channel's is refused.
fn channel_fields(body: &Fields, channel: &str) -> Result<Option<std::collections::BTreeMap<String, String>>, Problem> {
    let other = match channel {
        "alipay" => "wechatpay",
        "wechatpay" => "alipay",
        _ => return Ok(None),
    };
    if body.object(other)?.is_some() {
        let message = format!("{other} fields do not belong to a {channel} account");
        return Err(Problem::invalid_request("parameter_unknown", message).with_param(other));
    }
    let fields = body.string_map(channel)?;
    Ok(body.object(channel)?.map(|_| fields))
}

fn account_id(text: &str, param: &'static str) -> Result<ChannelAccountId, Problem> {
    ChannelAccountId::parse(text).map_err(|_| Problem::resource_missing("channel_account", param))
}
