//! The request layer around every route: request id, timeout, error envelope, metrics and
//! one access-log line per request.

use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use payrail_domain::Problem;

use crate::AppState;
use crate::error::{ApiError, envelope};

/// The route a request matched (`/v1/api_keys/{id}`), for metrics and logs: the pattern,
/// never the path, so ids do not explode label sets.
#[derive(Clone)]
pub(crate) struct RouteLabel(String);

/// Runs after routing, where the matched route is known, and hands it outwards.
pub(crate) async fn label_route(request: Request, next: Next) -> Response {
    let label = request.extensions().get::<MatchedPath>().map(|matched| matched.as_str().to_owned());
    let mut response = next.run(request).await;
    if let Some(label) = label {
        response.extensions_mut().insert(RouteLabel(label));
    }
    response
}

pub(crate) async fn handle(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let started = Instant::now();
    let request_id = state.payrail.new_request_id();
    let method = request.method().clone();
    request.extensions_mut().insert(request_id.clone());
    let timeout = Duration::from_millis(state.limits.request_timeout_ms);
    let mut response = match tokio::time::timeout(timeout, next.run(request)).await {
        Ok(response) => response,
        // Dropping the handler rolls back any open transaction, so a timed-out request
        // leaves nothing half-written.
        Err(_) => {
            ApiError(Problem::unavailable("request_timeout", "the request did not complete in time")).into_response()
        }
    };
    let route =
        response.extensions_mut().remove::<RouteLabel>().map_or_else(|| "unmatched".to_owned(), |label| label.0);
    // A response with a body of its own (a replayed error, say) is already what the client
    // must see; only bare ones get an envelope.
    if response.extensions().get::<Problem>().is_none()
        && !response.headers().contains_key(header::CONTENT_TYPE)
        && let Some(problem) = problem_for_bare_status(response.status())
    {
        response = ApiError(problem).into_response();
    }
    if let Some(problem) = response.extensions_mut().remove::<Problem>() {
        let handler_headers = std::mem::take(response.headers_mut());
        response = render_problem(&problem, request_id.as_str());
        // A route may name its own challenge (the sandbox page asks a browser for Basic)
        // and forbid caching; the envelope keeps both.
        for name in [header::WWW_AUTHENTICATE, header::CACHE_CONTROL, header::VARY] {
            if let Some(value) = handler_headers.get(&name) {
                response.headers_mut().insert(name, value.clone());
            }
        }
    }
    if let Ok(value) = HeaderValue::from_str(request_id.as_str()) {
        response.headers_mut().insert("request-id", value);
    }
    let elapsed = started.elapsed();
    state.metrics.record_request(method.as_str(), &route, response.status().as_u16(), elapsed);
    tracing::info!(
        request_id = request_id.as_str(),
        method = method.as_str(),
        route = route.as_str(),
        status = response.status().as_u16(),
        latency_us = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX),
        "request"
    );
    response
}

fn render_problem(problem: &Problem, request_id: &str) -> Response {
    let status = StatusCode::from_u16(problem.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (status, axum::Json(envelope(problem, request_id))).into_response();
    if status == StatusCode::UNAUTHORIZED {
        response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"Payrail\""));
    }
    response
}

/// Error responses that axum or a layer produced without a [`Problem`] get one, so every
/// error a client sees has the envelope.
fn problem_for_bare_status(status: StatusCode) -> Option<Problem> {
    let problem = match status.as_u16() {
        405 => Problem::invalid_request("method_not_allowed", "this route does not accept that method"),
        413 => Problem::invalid_request("body_too_large", "the request body is larger than the server accepts"),
        415 => Problem::invalid_request("content_type_unsupported", "send the body as application/json"),
        400..=499 => Problem::invalid_request("request_invalid", "the request could not be understood"),
        500..=599 => Problem::internal(),
        _ => return None,
    };
    Some(problem.with_status(status.as_u16()))
}
