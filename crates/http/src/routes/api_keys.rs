//! `/v1/api_keys`: a merchant's keys in the caller's mode. Secrets are never returned;
//! keys are created by operators (`payrail keys create`), which shows the secret once.

use axum::Json;
use axum::extract::{Path, State};
use payrail_domain::{ApiKey, ApiKeyId, Problem};
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::Authenticated;
use crate::{ApiError, AppState};

#[derive(Serialize, ToSchema)]
pub(crate) struct ApiKeyBody {
    #[schema(example = "key_01jd8x3m7q0000000000000000")]
    id: String,
    #[schema(example = "api_key")]
    object: &'static str,
    livemode: bool,
    /// The secret's prefix and last four characters, to tell keys apart.
    #[schema(example = "sk_test_…3f9a")]
    secret_hint: String,
    /// Unix seconds.
    created: i64,
    /// Unix seconds, or null while the key is usable.
    revoked: Option<i64>,
    /// Unix seconds of the last authenticated request, to the minute; null if never used.
    last_used: Option<i64>,
}

impl From<ApiKey> for ApiKeyBody {
    fn from(key: ApiKey) -> ApiKeyBody {
        ApiKeyBody {
            id: key.id.to_string(),
            object: "api_key",
            livemode: key.mode.is_live(),
            secret_hint: key.secret_hint,
            created: key.created.unix_seconds(),
            revoked: key.revoked.map(|t| t.unix_seconds()),
            last_used: key.last_used.map(|t| t.unix_seconds()),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub(crate) struct ApiKeyList {
    #[schema(example = "list")]
    object: &'static str,
    data: Vec<ApiKeyBody>,
    has_more: bool,
    #[schema(example = "/v1/api_keys")]
    url: &'static str,
}

/// List the merchant's API keys in the caller's mode, oldest first.
#[utoipa::path(get, path = "/v1/api_keys", tag = "api_keys", security(("api_key" = [])), responses(
    (status = 200, body = ApiKeyList),
    (status = 401, description = "missing, malformed, unknown or revoked API key"),
))]
pub(crate) async fn list(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
) -> Result<Json<ApiKeyList>, ApiError> {
    let keys = state.payrail.list_api_keys(&caller.merchant.id, Some(caller.mode)).await?;
    let data = keys.into_iter().map(ApiKeyBody::from).collect();
    Ok(Json(ApiKeyList { object: "list", data, has_more: false, url: "/v1/api_keys" }))
}

/// Retrieve one API key.
#[utoipa::path(get, path = "/v1/api_keys/{id}", tag = "api_keys", security(("api_key" = [])),
    params(("id" = String, Path, description = "the key id, key_…")),
    responses(
        (status = 200, body = ApiKeyBody),
        (status = 404, description = "no such key among the caller's, in the caller's mode"),
    ))]
pub(crate) async fn retrieve(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Path(id): Path<String>,
) -> Result<Json<ApiKeyBody>, ApiError> {
    let id = parse_key_id(&id)?;
    Ok(Json(state.payrail.get_api_key(&caller, &id).await?.into()))
}

/// Revoke an API key at once; requests made with it fail from then on.
#[utoipa::path(post, path = "/v1/api_keys/{id}/revoke", tag = "api_keys", security(("api_key" = [])),
    params(("id" = String, Path, description = "the key id, key_…")),
    responses(
        (status = 200, body = ApiKeyBody),
        (status = 400, description = "the key is already revoked"),
        (status = 404, description = "no such key among the caller's, in the caller's mode"),
    ))]
pub(crate) async fn revoke(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Path(id): Path<String>,
) -> Result<Json<ApiKeyBody>, ApiError> {
    let id = parse_key_id(&id)?;
    Ok(Json(state.payrail.revoke_api_key(Some(&caller), &id).await?.into()))
}

/// A malformed id cannot name any key, so it gets the same answer as an unknown one.
fn parse_key_id(text: &str) -> Result<ApiKeyId, Problem> {
    ApiKeyId::parse(text).map_err(|_| Problem::resource_missing("api key", "id"))
}
