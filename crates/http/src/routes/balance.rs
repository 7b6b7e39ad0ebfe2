//! `GET /v1/balance`: what Payrail owes the caller's merchant, in the caller's mode; and
//! `GET /v1/balance_transactions`: every ledger entry that moved it, newest first.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Query, State};
use payrail_domain::{JournalEntryId, Money, Problem};
use payrail_service::{
    BALANCE_TRANSACTION_LIST_LIMIT_MAX, EntryCursor, balance_transaction_filter, balance_transaction_object,
};
use serde::Serialize;
use serde_json::{Value, json};
use utoipa::ToSchema;

use crate::auth::Authenticated;
use crate::routes::list_limit;
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

/// List balance transactions: each ledger entry that moved the merchant's balances, newest
/// first, as `{id, object, type, amount, fee, net, currency, source, balance, created,
/// livemode}` with `amount` − `fee` = `net` in minor units.
#[utoipa::path(get, path = "/v1/balance_transactions", tag = "balance", security(("api_key" = [])),
    params(
        ("limit" = Option<u32>, Query, description = "1 to 100, default 10"),
        ("starting_after" = Option<String>, Query, description = "a balance transaction id: the page after it"),
        ("ending_before" = Option<String>, Query, description = "a balance transaction id: the page before it"),
        ("type" = Option<String>, Query, description = "payment, refund, fee_correction or settlement"),
        ("source" = Option<String>, Query, description = "a payment (pay_…) or refund (re_…) id"),
    ),
    responses(
        (status = 200, description = "a list object of balance transactions"),
        (status = 400, description = "a parameter is invalid"),
        (status = 401, description = "missing, malformed, unknown or revoked API key"),
        (status = 404, description = "the cursor names no balance transaction"),
    ))]
pub(crate) async fn list(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let limit = list_limit(&query, BALANCE_TRANSACTION_LIST_LIMIT_MAX)?;
    // A malformed id cannot name any entry: the same answer as an unknown one.
    let entry_id = |param: &'static str| {
        query
            .get(param)
            .map(|id| JournalEntryId::parse(id).map_err(|_| Problem::resource_missing("balance_transaction", param)))
            .transpose()
    };
    let cursor = match (entry_id("starting_after")?, entry_id("ending_before")?) {
        (Some(_), Some(_)) => {
            let message = "give starting_after or ending_before, not both";
            return Err(Problem::invalid_request("parameter_invalid", message).with_param("ending_before").into());
        }
        (Some(id), None) => EntryCursor::After(id),
        (None, Some(id)) => EntryCursor::Before(id),
        (None, None) => EntryCursor::First,
    };
    let filter =
        balance_transaction_filter(query.get("type").map(String::as_str), query.get("source").map(String::as_str))?;
    let page = state.payrail.list_balance_transactions(&caller, &filter, &cursor, limit).await?;
    let data: Vec<Value> = page.transactions.iter().map(balance_transaction_object).collect();
    Ok(Json(json!({ "object": "list", "data": data, "has_more": page.has_more, "url": "/v1/balance_transactions" })))
}
