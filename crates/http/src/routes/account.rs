//! `GET /v1/account`: who the presented key belongs to.

use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::Authenticated;

/// The merchant account behind the API key, and the key's mode.
#[derive(Serialize, ToSchema)]
pub(crate) struct AccountBody {
    #[schema(example = "mer_01jd8x3m7q0000000000000000")]
    id: String,
    #[schema(example = "account")]
    object: &'static str,
    name: String,
    /// `pending`, `active` or `suspended`.
    status: &'static str,
    /// Whether the key is a live-mode key.
    livemode: bool,
    /// When the account was created, in Unix seconds.
    created: i64,
}

/// Retrieve the authenticated merchant account.
#[utoipa::path(get, path = "/v1/account", tag = "account", security(("api_key" = [])), responses(
    (status = 200, body = AccountBody),
    (status = 401, description = "missing, malformed, unknown or revoked API key"),
))]
pub(crate) async fn retrieve(Authenticated(caller): Authenticated) -> Json<AccountBody> {
    let merchant = caller.merchant;
    Json(AccountBody {
        id: merchant.id.to_string(),
        object: "account",
        name: merchant.name.as_str().to_owned(),
        status: merchant.status.as_str(),
        livemode: caller.mode.is_live(),
        created: merchant.created.unix_seconds(),
    })
}
