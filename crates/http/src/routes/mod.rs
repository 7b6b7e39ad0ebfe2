//! The routes, one module per resource.

mod account;
mod api_keys;
mod health;

use axum::Router;
use axum::routing::{get, post};
use payrail_domain::Problem;

use crate::{ApiError, AppState};

pub(crate) use account::AccountBody;
pub(crate) use api_keys::{ApiKeyBody, ApiKeyList};
pub(crate) use health::HealthBody;

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(health::metrics))
        .route("/v1/account", get(account::retrieve))
        .route("/v1/api_keys", get(api_keys::list))
        .route("/v1/api_keys/{id}", get(api_keys::retrieve))
        .route("/v1/api_keys/{id}/revoke", post(api_keys::revoke))
}

pub(crate) async fn no_such_route() -> ApiError {
    Problem::invalid_request("route_not_found", "no such route").with_status(404).into()
}

pub(crate) use account::__path_retrieve as __path_account_retrieve;
pub(crate) use api_keys::{
    __path_list as __path_api_keys_list, __path_retrieve as __path_api_keys_retrieve,
    __path_revoke as __path_api_keys_revoke,
};
pub(crate) use health::{__path_healthz, __path_readyz};
