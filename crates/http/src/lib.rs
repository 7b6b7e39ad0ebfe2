//! Payrail's HTTP API: axum routers, the JSON DTOs, authentication, the error envelope,
//! metrics and the OpenAPI document.
//!
//! Boundary: handlers parse and authenticate, call one use case on
//! [`payrail_service::Payrail`], and shape its answer. No SQL and no business rule lives
//! here. [`router`] builds the whole application without a socket, so tests drive it
//! directly; [`serve`] adds the socket, the connection limit and graceful shutdown.

mod auth;
mod body;
mod error;
mod idempotency;
mod metrics;
mod openapi;
mod request;
mod routes;
mod serve;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use payrail_service::Payrail;

pub use error::ApiError;
pub use metrics::Metrics;
pub use openapi::openapi_document;
pub use routes::sandbox_credentials::SANDBOX_CREDENTIALS_PATH;
pub use routes::sandbox_document::{
    SandboxAlipayCredentials, SandboxCredentials, SandboxSecapi, SandboxWechatPayCredentials,
};
pub use serve::serve;

/// Limits on what one client can make the server do, each with its unit in its name.
#[derive(Debug, Clone)]
pub struct Limits {
    pub body_bytes_max: usize,
    pub request_timeout_ms: u64,
    pub connections_max: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits { body_bytes_max: 64 * 1024, request_timeout_ms: 45_000, connections_max: 1_024 }
    }
}

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub payrail: Payrail,
    pub limits: Limits,
    pub metrics: Arc<Metrics>,
}

/// The whole application: API, health, metrics and docs, behind the request layer
/// (request id, timeout, error envelope, metrics, access log).
pub fn router(state: AppState) -> Router {
    application(state, Router::new())
}

/// [`router`] with `GET /sandbox/credentials` serving each test-mode key its merchant's
/// sandbox credentials; `payrail serve` builds this one, beside the simulators it mounts
/// (the service must have them: [`Payrail::with_sandbox_channels`]).
pub fn router_with_sandbox_credentials(state: AppState) -> Router {
    application(state, routes::sandbox_credentials::router())
}

/// `extra` routes get the same layers as the API's own.
fn application(state: AppState, extra: Router<AppState>) -> Router {
    let body_bytes_max = state.limits.body_bytes_max;
    Router::new()
        .merge(routes::router())
        .merge(extra)
        .route_layer(axum::middleware::from_fn_with_state(state.clone(), idempotency::handle))
        .route_layer(axum::middleware::from_fn(request::label_route))
        .merge(openapi::docs_router())
        .fallback(routes::no_such_route)
        .layer(DefaultBodyLimit::max(body_bytes_max))
        .layer(axum::middleware::from_fn_with_state(state.clone(), request::handle))
        .with_state(state)
}
