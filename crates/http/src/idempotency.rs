//! The `Idempotency-Key` header on `POST` requests: a retried request is answered with the
//! stored response of the first instead of being run twice.
//!
//! This runs after routing and before the handler: it authenticates (the key is scoped to
//! the caller's merchant and mode), buffers the body to fingerprint it, claims the key,
//! runs the handler and stores what it answered. The caller it authenticated is handed to
//! the handler, so a request is authenticated once.
//!
//! Use cases that change state record their answer themselves, in the write unit that
//! commits the change (see `payrail_service::IdempotentRequest`), so a crash cannot keep
//! the change and lose the answer. What is stored here afterwards is the answer of a
//! request that changed nothing, such as a refused one.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use payrail_domain::idempotency::{IdempotencyKey, StoredResponse};
use payrail_domain::{Problem, RequestId};
use payrail_service::{Caller, IdempotencyClaim, request_fingerprint};

use crate::error::envelope;
use crate::{ApiError, AppState, auth};

/// Largest response kept for replay; API objects are far smaller.
const STORED_RESPONSE_BYTES_MAX: usize = 1024 * 1024;
/// How long past the request timeout a running request keeps its key if its process dies.
const LEASE_MARGIN_MS: i64 = 5_000;

pub(crate) async fn handle(State(state): State<AppState>, request: Request, next: Next) -> Response {
    // Only the API's own requests: a channel's notification is authenticated by its
    // signature, not an API key, and deduplicated by its own id.
    if request.method() != Method::POST || !request.uri().path().starts_with("/v1/") {
        return next.run(request).await;
    }
    let Some(header) = request.headers().get("idempotency-key") else {
        return next.run(request).await;
    };
    let key = match IdempotencyKey::parse_header(header.as_bytes()) {
        Ok(key) => key,
        Err(problem) => return ApiError(problem).into_response(),
    };
    match run_once(&state, key, request, next).await {
        Ok(response) | Err(response) => response,
    }
}

async fn run_once(state: &AppState, key: IdempotencyKey, request: Request, next: Next) -> Result<Response, Response> {
    let caller = auth::authenticate(state, request.headers()).await.map_err(IntoResponse::into_response)?;
    let (parts, body) = request.into_parts();
    let bytes = axum::body::to_bytes(body, state.limits.body_bytes_max).await.map_err(|_| too_large())?;
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let fingerprint = request_fingerprint(parts.method.as_str(), path, &bytes);
    let lease_ms = i64::try_from(state.limits.request_timeout_ms).unwrap_or(i64::MAX).saturating_add(LEASE_MARGIN_MS);
    let request_id = parts.extensions.get::<RequestId>().cloned();
    let claim = state.payrail.claim_idempotency_key(&caller, &key, request_id.clone(), fingerprint, lease_ms).await;
    let running = match claim.map_err(|error| ApiError::from(error).into_response())? {
        IdempotencyClaim::Replay(stored) => return Ok(replay(stored)),
        IdempotencyClaim::Run(running) => running,
    };
    let mut request = Request::from_parts(parts, Body::from(bytes));
    let caller = Caller { idempotency: Some(running.clone()), ..caller };
    request.extensions_mut().insert(caller.clone());
    let response = next.run(request).await;
    if running.is_answered() {
        // The use case recorded this answer in the unit that committed its effects.
        return Ok(response);
    }
    Ok(store_response(state, &caller, &key, request_id, response).await)
}

/// Keeps what the handler answered, and answers it. If it cannot be kept, the key stays
/// claimed until its lease lapses, and the response still goes out.
async fn store_response(
    state: &AppState,
    caller: &Caller,
    key: &IdempotencyKey,
    request_id: Option<RequestId>,
    response: Response,
) -> Response {
    let status = response.status().as_u16();
    let (response, body) = match response.extensions().get::<Problem>() {
        // Errors are rendered by the request layer; keep the same envelope it will send.
        Some(problem) => {
            let id = request_id.as_ref().map_or("", RequestId::as_str);
            let body = envelope(problem, id).to_string();
            (response, body)
        }
        None => {
            let (parts, body) = response.into_parts();
            let Ok(bytes) = axum::body::to_bytes(body, STORED_RESPONSE_BYTES_MAX).await else {
                return ApiError(Problem::internal()).into_response();
            };
            let text = String::from_utf8_lossy(&bytes).into_owned();
            (Response::from_parts(parts, Body::from(bytes)), text)
        }
    };
    if let Err(error) = state.payrail.complete_idempotency_key(caller, key, StoredResponse { status, body }).await {
        tracing::warn!(error = %error, "could not store the response for an idempotency key");
    }
    response
}

fn replay(stored: StoredResponse) -> Response {
    let status = StatusCode::from_u16(stored.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (status, [("content-type", "application/json")], stored.body).into_response();
    response.headers_mut().insert("idempotent-replayed", HeaderValue::from_static("true"));
    response
}

fn too_large() -> Response {
    ApiError(
        Problem::invalid_request("body_too_large", "the request body is larger than the server accepts")
            .with_status(413),
    )
    .into_response()
}
