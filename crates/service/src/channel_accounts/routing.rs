//! Which account charges a payment: the account chosen on the payment, else the one the
//! merchant routed the payment method type to, else the platform's account of the mode
//! (in test mode, the sandbox simulators). An attempt records the account it was charged
//! through, and everything later about it (query, close, refund, notification) uses that
//! one, whatever the routes say by then.

use std::collections::HashMap;
use std::sync::Mutex;

use payrail_domain::channel_account::{ChannelAccount, ChannelKind, ChannelRoute};
use payrail_domain::payment_record::{Payment, PaymentMethodType};
use payrail_domain::{ChannelAccountId, Problem};
use payrail_store::channel_accounts;
use serde_json::{Value, json};

use super::credentials::ChannelClient;
use super::visible;
use crate::{Caller, Payrail, ServiceError};

/// Clients kept built, so that keys are not parsed again for every payment.
const CLIENTS_KEPT_MAX: usize = 1024;

/// Built clients by account, each with the update time of the account it was built from.
#[derive(Default)]
pub(crate) struct ClientCache {
    clients: Mutex<HashMap<ChannelAccountId, (i64, ChannelClient)>>,
}

impl ClientCache {
    fn get(&self, account: &ChannelAccount) -> Option<ChannelClient> {
        let clients = self.clients.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        clients.get(&account.id).filter(|(updated, _)| *updated == account.updated.unix_ms()).map(|(_, c)| c.clone())
    }

    fn keep(&self, account: &ChannelAccount, client: &ChannelClient) {
        let mut clients = self.clients.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if clients.len() >= CLIENTS_KEPT_MAX {
            clients.clear();
        }
        clients.insert(account.id.clone(), (account.updated.unix_ms(), client.clone()));
    }
}

impl Payrail {
    /// Routes `payment_method_type` to one of the caller's accounts of its channel.
    pub async fn set_channel_route(
        &self,
        caller: &Caller,
        payment_method_type: &str,
        account_id: &ChannelAccountId,
    ) -> Result<ChannelRoute, ServiceError> {
        let method = routable_method(payment_method_type)?;
        let (answering, account_id, now) = (caller.clone(), account_id.clone(), self.clock.now());
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    let account =
                        visible(&answering, channel_accounts::get(tx.conn(), &account_id).await?, "channel_account")?;
                    serves(&account, method)?;
                    let (merchant, livemode) = (&answering.merchant.id, answering.mode.is_live());
                    channel_accounts::set_route(tx.conn(), merchant, livemode, method, &account.id, now).await?;
                    Ok(ChannelRoute { payment_method_type: method, channel_account_id: account.id, updated: now })
                })
            })
            .await
    }

    /// The caller's routes, by payment method type.
    pub async fn list_channel_routes(&self, caller: &Caller) -> Result<Vec<ChannelRoute>, ServiceError> {
        let mut reader = self.store.reader().await?;
        Ok(channel_accounts::routes(reader.conn(), &caller.merchant.id, caller.mode.is_live()).await?)
    }

    /// Removes a route: the type goes back to the platform's account.
    pub async fn delete_channel_route(&self, caller: &Caller, payment_method_type: &str) -> Result<(), ServiceError> {
        let method = routable_method(payment_method_type)?;
        let (merchant, livemode) = (caller.merchant.id.clone(), caller.mode.is_live());
        let deleted = self
            .store
            .write(move |tx| {
                Box::pin(async move { channel_accounts::delete_route(tx.conn(), &merchant, livemode, method).await })
            })
            .await?;
        if deleted { Ok(()) } else { Err(Problem::resource_missing("channel_route", "payment_method_type").into()) }
    }

    /// The merchant account a new attempt of `payment` with `method` is charged through
    /// (in test mode, the merchant's sandbox account when it routed the method nowhere), or
    /// `None` for the platform's account of the caller's mode.
    pub(crate) async fn account_for_payment(
        &self,
        caller: &Caller,
        payment: &Payment,
        method: PaymentMethodType,
    ) -> Result<Option<(ChannelAccountId, ChannelClient)>, ServiceError> {
        let chosen = match &payment.channel_account_id {
            Some(id) => Some(id.clone()),
            None => {
                let mut reader = self.store.reader().await?;
                let (merchant, livemode) = (&caller.merchant.id, caller.mode.is_live());
                channel_accounts::route(reader.conn(), merchant, livemode, method).await?
            }
        };
        let Some(id) = chosen else { return self.sandbox_account_for(caller, method).await };
        let account = self.usable_account(caller, &id, Some(method)).await?;
        Ok(Some((account.id.clone(), self.cached_client(&account)?)))
    }

    /// The account chosen for or routed to a new payment, if it may charge it: the
    /// caller's, active, and (when the payment method is known already) of its channel.
    pub(crate) async fn usable_account(
        &self,
        caller: &Caller,
        id: &ChannelAccountId,
        method: Option<PaymentMethodType>,
    ) -> Result<ChannelAccount, ServiceError> {
        let account = {
            let mut reader = self.store.reader().await?;
            visible(caller, channel_accounts::get(reader.conn(), id).await?, "channel_account")?
        };
        if let Some(method) = method {
            serves(&account, method)?;
        }
        Ok(account)
    }

    /// The client of the account an attempt was charged through, deleted or not.
    pub(crate) async fn client_of_account(&self, id: &ChannelAccountId) -> Result<ChannelClient, ServiceError> {
        let account = {
            let mut reader = self.store.reader().await?;
            channel_accounts::get(reader.conn(), id).await?
        };
        let account =
            account.ok_or_else(|| ServiceError::Unexpected(anyhow::anyhow!("channel account {id} vanished")))?;
        self.cached_client(&account)
    }

    pub(super) fn cached_client(&self, account: &ChannelAccount) -> Result<ChannelClient, ServiceError> {
        if let Some(client) = self.account_clients.get(account) {
            return Ok(client);
        }
        let client = self.channel_client_of(account)?;
        self.account_clients.keep(account, &client);
        Ok(client)
    }
}

/// A payment method type that a channel account can charge.
fn routable_method(text: &str) -> Result<PaymentMethodType, Problem> {
    PaymentMethodType::parse(text).filter(|method| ChannelKind::for_method(*method).is_some()).ok_or_else(|| {
        let message = "payment_method_type must be a payment method type charged through a channel account";
        Problem::invalid_request("parameter_invalid", message).with_param("payment_method_type")
    })
}

/// Refuses an account of another channel than `method`'s.
fn serves(account: &ChannelAccount, method: PaymentMethodType) -> Result<(), Problem> {
    if ChannelKind::for_method(method) == Some(account.channel) {
        return Ok(());
    }
    let message =
        format!("{} payments cannot be charged through a {} account", method.as_str(), account.channel.as_str());
    Err(Problem::invalid_request("channel_account_mismatch", message).with_param("channel_account"))
}

/// A route as the API shows it.
pub fn channel_route_object(route: &ChannelRoute) -> Value {
    json!({
        "object": "channel_route",
        "payment_method_type": route.payment_method_type.as_str(),
        "channel_account": route.channel_account_id.as_str(),
        "updated": route.updated.unix_seconds(),
    })
}
