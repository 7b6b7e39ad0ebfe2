//! `GET /v1/balance`: what Payrail owes the caller's merchant, in the caller's mode.

use axum::Json;
use axum::extract::State;
use payrail_domain::Money;
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::Authenticated;
use crate::{ApiError, AppState};

/// The merchant's balances, one amount per currency, as the merchant reads them: positive
/// when Payrail owes the merchant, negative when refunds have taken more than was owed.
#[derive(Serialize, ToSchema)]
pub(crate) struct BalanceBody {
    #[schema(example = "balance")]
    object: &'static str,
    /// Whether these are live-mode balances (the key's mode decides).
    livemode: bool,
    /// Captured, less fees, not yet settled.
    pending: Vec<BalanceAmount>,
    /// Settled and payable.
    available: Vec<BalanceAmount>,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct BalanceAmount {
    /// Minor units of the currency.
    #[schema(example = 941)]
    amount: i64,
    #[schema(example = "USD")]
    currency: &'static str,
}

/// Retrieve the balance of the authenticated merchant.
#[utoipa::path(get, path = "/v1/balance", tag = "balance", security(("api_key" = [])), responses(
    (status = 200, body = BalanceBody),
    (status = 401, description = "missing, malformed, unknown or revoked API key"),
))]
pub(crate) async fn retrieve(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
) -> Result<Json<BalanceBody>, ApiError> {
    let balance = state.payrail.balance(&caller).await?;
    let amounts = |amounts: Vec<Money>| -> Vec<BalanceAmount> {
        amounts
            .into_iter()
            .map(|money| BalanceAmount { amount: money.amount_minor(), currency: money.currency().code() })
            .collect()
    };
    Ok(Json(BalanceBody {
        object: "balance",
        livemode: balance.livemode,
        pending: amounts(balance.pending),
        available: amounts(balance.available),
    }))
}
