//! The routes, one module per resource.

mod account;
mod api_keys;
mod balance;
mod channel_accounts;
mod events;
mod health;
mod notify;
mod payments;
mod qr;
mod refunds;
pub(crate) mod sandbox_credentials;
pub(crate) mod sandbox_document;
mod webhooks;

use axum::routing::{get, post};
use axum::{Json, Router};
use payrail_domain::Problem;
use serde_json::{Value, json};

use crate::{ApiError, AppState};

pub(crate) use account::AccountBody;
pub(crate) use api_keys::{ApiKeyBody, ApiKeyList};
pub(crate) use health::HealthBody;

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(health::metrics))
        .route("/notify/{channel}/{channel_account_id}", post(notify::receive))
        .route("/qr/{file}", get(qr::svg_image))
        .route("/v1/account", get(account::retrieve))
        .route("/v1/balance", get(balance::retrieve))
        .route("/v1/balance_transactions", get(balance::list))
        .route("/v1/api_keys", get(api_keys::list))
        .route("/v1/api_keys/{id}", get(api_keys::retrieve))
        .route("/v1/api_keys/{id}/revoke", post(api_keys::revoke))
        .route("/v1/payments", post(payments::create).get(payments::list))
        .route("/v1/payments/{id}", get(payments::retrieve))
        .route("/v1/payments/{id}/confirm", post(payments::confirm))
        .route("/v1/payments/{id}/capture", post(payments::capture))
        .route("/v1/payments/{id}/cancel", post(payments::cancel))
        .route("/v1/payments/{id}/return", get(payments::payer_return))
        .route("/v1/channel_accounts", post(channel_accounts::create).get(channel_accounts::list))
        .route(
            "/v1/channel_accounts/{id}",
            get(channel_accounts::retrieve).post(channel_accounts::update).delete(channel_accounts::delete),
        )
        .route("/v1/channel_routes", post(channel_accounts::set_route).get(channel_accounts::list_routes))
        .route("/v1/channel_routes/{payment_method_type}", axum::routing::delete(channel_accounts::delete_route))
        .route("/v1/events", get(events::list))
        .route("/v1/events/{id}/deliveries", get(events::deliveries))
        .route("/v1/events/{id}/resend", post(events::resend))
        .route("/v1/refunds", post(refunds::create).get(refunds::list))
        .route("/v1/refunds/{id}", get(refunds::retrieve))
        .route("/v1/webhook_endpoints", post(webhooks::create).get(webhooks::list))
        .route("/v1/webhook_endpoints/{id}", get(webhooks::retrieve).post(webhooks::update).delete(webhooks::delete))
        .route("/v1/webhook_endpoints/{id}/disable", post(webhooks::disable))
        .route("/v1/webhook_endpoints/{id}/enable", post(webhooks::enable))
        .route("/v1/webhook_endpoints/{id}/rotate_secret", post(webhooks::rotate_secret))
        .route("/v1/notification_secret", get(webhooks::notification_secret))
        .route("/v1/notification_secret/rotate", post(webhooks::rotate_notification_secret))
}

/// The `limit` query parameter of a list endpoint: 1 to `limit_max`, 10 when absent.
pub(crate) fn list_limit(query: &std::collections::HashMap<String, String>, limit_max: u32) -> Result<u32, Problem> {
    match query.get("limit") {
        None => Ok(10),
        Some(text) => text.parse::<u32>().ok().filter(|n| (1..=limit_max).contains(n)).ok_or_else(|| {
            let message = format!("limit must be an integer from 1 to {limit_max}");
            Problem::invalid_request("parameter_invalid", message).with_param("limit")
        }),
    }
}

/// A page of a list: `items` were fetched one more than `limit`, so that the extra one
/// tells there is more; the first `limit` are rendered by `render`.
pub(crate) fn list_page<T>(mut items: Vec<T>, limit: u32, url: &str, render: impl Fn(&T) -> Value) -> Json<Value> {
    let has_more = items.len() > limit as usize;
    items.truncate(limit as usize);
    let data: Vec<Value> = items.iter().map(render).collect();
    Json(json!({ "object": "list", "data": data, "has_more": has_more, "url": url }))
}

pub(crate) async fn no_such_route() -> ApiError {
    Problem::invalid_request("route_not_found", "no such route").with_status(404).into()
}

pub(crate) use account::__path_retrieve as __path_account_retrieve;
pub(crate) use api_keys::{
    __path_list as __path_api_keys_list, __path_retrieve as __path_api_keys_retrieve,
    __path_revoke as __path_api_keys_revoke,
};
pub(crate) use balance::{__path_list as __path_balance_transactions_list, __path_retrieve as __path_balance_retrieve};
pub(crate) use channel_accounts::{
    __path_create as __path_channel_accounts_create, __path_delete as __path_channel_accounts_delete,
    __path_delete_route as __path_channel_routes_delete, __path_list as __path_channel_accounts_list,
    __path_list_routes as __path_channel_routes_list, __path_retrieve as __path_channel_accounts_retrieve,
    __path_set_route as __path_channel_routes_set, __path_update as __path_channel_accounts_update,
};
pub(crate) use events::{
    __path_deliveries as __path_events_deliveries, __path_list as __path_events_list,
    __path_resend as __path_events_resend,
};
pub(crate) use health::{__path_healthz, __path_readyz};
pub(crate) use notify::__path_receive as __path_notify_receive;
pub(crate) use payments::{
    __path_cancel as __path_payments_cancel, __path_capture as __path_payments_capture,
    __path_confirm as __path_payments_confirm, __path_create as __path_payments_create,
    __path_list as __path_payments_list, __path_retrieve as __path_payments_retrieve,
};
pub(crate) use qr::__path_svg_image as __path_qr_svg_image;
pub(crate) use refunds::{
    __path_create as __path_refunds_create, __path_list as __path_refunds_list,
    __path_retrieve as __path_refunds_retrieve,
};
pub(crate) use webhooks::{
    __path_create as __path_webhooks_create, __path_delete as __path_webhooks_delete,
    __path_disable as __path_webhooks_disable, __path_enable as __path_webhooks_enable,
    __path_list as __path_webhooks_list, __path_notification_secret as __path_webhooks_notification_secret,
    __path_retrieve as __path_webhooks_retrieve,
    __path_rotate_notification_secret as __path_webhooks_rotate_notification_secret,
    __path_rotate_secret as __path_webhooks_rotate_secret, __path_update as __path_webhooks_update,
};
