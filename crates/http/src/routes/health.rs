//! Liveness, readiness and metrics.

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use payrail_domain::Problem;
use serde::Serialize;
use utoipa::ToSchema;

use crate::{ApiError, AppState};

#[derive(Serialize, ToSchema)]
pub(crate) struct HealthBody {
    /// `ok` for liveness, `ready` for readiness.
    status: &'static str,
}

/// Whether the process is up. Touches nothing else.
#[utoipa::path(get, path = "/healthz", tag = "operations", responses((status = 200, body = HealthBody)))]
pub(crate) async fn healthz() -> Json<HealthBody> {
    Json(HealthBody { status: "ok" })
}

/// Whether the process can serve: the database answers.
#[utoipa::path(get, path = "/readyz", tag = "operations", responses(
    (status = 200, body = HealthBody),
    (status = 503, description = "the database is unreachable"),
))]
pub(crate) async fn readyz(State(state): State<AppState>) -> Result<Json<HealthBody>, ApiError> {
    if state.payrail.database_is_reachable().await {
        Ok(Json(HealthBody { status: "ready" }))
    } else {
        Err(Problem::unavailable("database_unreachable", "the database is not reachable").into())
    }
}

pub(crate) async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], state.metrics.render())
}
