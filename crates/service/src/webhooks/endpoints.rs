//! Webhook endpoints: a merchant's URLs that receive its events, per mode, each with its
//! own signing secret (shown once, rotatable with an overlap).

use payrail_domain::payment_record::WebUrl;
use payrail_domain::webhook::{
    DisabledReason, ENDPOINTS_PER_MODE_MAX, EnabledEvents, EndpointStatus, WebhookEndpoint, parse_description,
};
use payrail_domain::{Problem, Secret, WebhookEndpointId};
use payrail_store::idempotency::Recording;
use payrail_store::{deliveries, webhook_endpoints};
use serde_json::{Value, json};

use crate::idempotency::{Answer, mark_answered, record_answer};
use crate::random::id_random;
use crate::webhooks::secrets;
use crate::{Caller, Payrail, ServiceError};

/// The most endpoints one list call returns.
pub const ENDPOINT_LIST_LIMIT_MAX: u32 = 100;

/// An endpoint with the only clear copy of a secret just made for it.
#[derive(Debug)]
pub struct EndpointWithSecret {
    pub endpoint: WebhookEndpoint,
    pub secret: Secret<String>,
}

impl EndpointWithSecret {
    /// The endpoint as the API shows it, with its secret this once.
    pub fn object(&self) -> Value {
        let mut object = webhook_endpoint_object(&self.endpoint);
        object["secret"] = Value::String(self.secret.expose().clone());
        object
    }
}

/// `POST /v1/webhook_endpoints`, and the changes `POST /v1/webhook_endpoints/{id}` may make.
#[derive(Debug, Default)]
pub struct EndpointInput {
    pub url: Option<String>,
    pub enabled_events: Option<Vec<String>>,
    /// `Some(None)` clears the description.
    pub description: Option<Option<String>>,
}

impl Payrail {
    pub async fn create_webhook_endpoint(
        &self,
        caller: &Caller,
        input: EndpointInput,
    ) -> Result<EndpointWithSecret, ServiceError> {
        let missing = |param: &'static str| Problem::invalid_request("parameter_missing", "required").with_param(param);
        let url = self.checked_url(caller, input.url.as_deref().ok_or_else(|| missing("url"))?, "url").await?;
        let enabled_events = EnabledEvents::parse(&input.enabled_events.ok_or_else(|| missing("enabled_events"))?)?;
        let description = input.description.flatten().as_deref().map(parse_description).transpose()?;
        let now = self.clock.now();
        let id = WebhookEndpointId::generate(now, id_random(now));
        let (secret, clear) = secrets::fresh(&self.keys, id.as_str());
        let endpoint = WebhookEndpoint {
            id,
            merchant_id: caller.merchant.id.clone(),
            livemode: caller.mode.is_live(),
            url: url.as_str().to_owned(),
            description,
            enabled_events,
            status: EndpointStatus::Enabled,
            disabled_reason: None,
            secret,
            retiring: None,
            created: now,
            updated: now,
        };
        let created = EndpointWithSecret { endpoint, secret: clear };
        let (answer, stored, answering) = (created.object(), created.endpoint.clone(), caller.clone());
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    let count = webhook_endpoints::count(tx.conn(), &stored.merchant_id, stored.livemode).await?;
                    if count >= ENDPOINTS_PER_MODE_MAX {
                        let message = "a merchant may have at most 16 webhook endpoints per mode";
                        return Err(Problem::invalid_request("webhook_endpoints_limit", message).into());
                    }
                    webhook_endpoints::insert(tx.conn(), &stored).await?;
                    record_answer(tx, &answering, Answer::Object(&answer), Recording::Final).await
                })
            })
            .await?;
        mark_answered(caller);
        Ok(created)
    }

    pub async fn get_webhook_endpoint(
        &self,
        caller: &Caller,
        id: &WebhookEndpointId,
    ) -> Result<WebhookEndpoint, ServiceError> {
        let mut reader = self.store.reader().await?;
        visible(caller, webhook_endpoints::get(reader.conn(), id).await?)
    }

    /// Oldest first, a page at a time.
    pub async fn list_webhook_endpoints(
        &self,
        caller: &Caller,
        starting_after: Option<&WebhookEndpointId>,
        limit: u32,
    ) -> Result<Vec<WebhookEndpoint>, ServiceError> {
        let limit = limit.clamp(1, ENDPOINT_LIST_LIMIT_MAX + 1);
        let mut reader = self.store.reader().await?;
        let livemode = caller.mode.is_live();
        Ok(webhook_endpoints::list(reader.conn(), &caller.merchant.id, livemode, starting_after, limit).await?)
    }

    /// Changes the URL, the events or the description.
    pub async fn update_webhook_endpoint(
        &self,
        caller: &Caller,
        id: &WebhookEndpointId,
        input: EndpointInput,
    ) -> Result<WebhookEndpoint, ServiceError> {
        let url = match input.url.as_deref() {
            Some(url) => Some(self.checked_url(caller, url, "url").await?),
            None => None,
        };
        let events = input.enabled_events.as_deref().map(EnabledEvents::parse).transpose()?;
        let description = input.description.map(|d| d.as_deref().map(parse_description).transpose()).transpose()?;
        self.change_endpoint(caller, id, move |endpoint| {
            if let Some(url) = url {
                endpoint.url = url.as_str().to_owned();
            }
            if let Some(events) = events {
                endpoint.enabled_events = events;
            }
            if let Some(description) = description {
                endpoint.description = description;
            }
            Ok(())
        })
        .await
    }

    /// Pauses (`enabled: false`) or resumes an endpoint's deliveries.
    pub async fn set_webhook_endpoint_enabled(
        &self,
        caller: &Caller,
        id: &WebhookEndpointId,
        enabled: bool,
    ) -> Result<WebhookEndpoint, ServiceError> {
        self.change_endpoint(caller, id, move |endpoint| {
            endpoint.status = if enabled { EndpointStatus::Enabled } else { EndpointStatus::Disabled };
            endpoint.disabled_reason = (!enabled).then_some(DisabledReason::Merchant);
            Ok(())
        })
        .await
    }

    /// Deletes an endpoint: it receives nothing more, and its pending deliveries are canceled.
    pub async fn delete_webhook_endpoint(
        &self,
        caller: &Caller,
        id: &WebhookEndpointId,
    ) -> Result<WebhookEndpoint, ServiceError> {
        self.change_endpoint(caller, id, |endpoint| {
            endpoint.status = EndpointStatus::Deleted;
            Ok(())
        })
        .await
    }

    /// Replaces the signing secret; the old one keeps signing for `overlap_ms`.
    pub async fn rotate_webhook_secret(
        &self,
        caller: &Caller,
        id: &WebhookEndpointId,
        overlap_ms: i64,
    ) -> Result<EndpointWithSecret, ServiceError> {
        let now = self.clock.now();
        let (secret, clear) = secrets::fresh(&self.keys, id.as_str());
        let endpoint = self
            .change_endpoint(caller, id, move |endpoint| {
                endpoint.retiring = secrets::retire(&endpoint.secret, now, overlap_ms);
                endpoint.secret = secret;
                Ok(())
            })
            .await?;
        Ok(EndpointWithSecret { endpoint, secret: clear })
    }

    /// Applies `change` to a visible endpoint under the write lock and stores it; a deleted
    /// endpoint's pending deliveries are canceled in the same unit.
    async fn change_endpoint(
        &self,
        caller: &Caller,
        id: &WebhookEndpointId,
        change: impl FnOnce(&mut WebhookEndpoint) -> Result<(), ServiceError> + Send + 'static,
    ) -> Result<WebhookEndpoint, ServiceError> {
        let (caller, id, now) = (caller.clone(), id.clone(), self.clock.now());
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    let mut endpoint = visible(&caller, webhook_endpoints::get(tx.conn(), &id).await?)?;
                    change(&mut endpoint)?;
                    endpoint.updated = now;
                    webhook_endpoints::update(tx.conn(), &endpoint).await?;
                    if endpoint.status == EndpointStatus::Deleted {
                        deliveries::cancel_for_endpoint(tx.conn(), &id, now).await?;
                    }
                    Ok(endpoint)
                })
            })
            .await
    }

    /// A URL Payrail may deliver to in the caller's mode.
    async fn checked_url(&self, caller: &Caller, url: &str, param: &'static str) -> Result<WebUrl, ServiceError> {
        let url = WebUrl::parse(url, param)?;
        self.check_delivery_url(&url, caller.mode, param).await?;
        Ok(url)
    }
}

/// The endpoint if the caller may see it: its merchant's, in its mode, not deleted.
fn visible(caller: &Caller, endpoint: Option<WebhookEndpoint>) -> Result<WebhookEndpoint, ServiceError> {
    endpoint
        .filter(|e| {
            e.merchant_id == caller.merchant.id
                && e.livemode == caller.mode.is_live()
                && e.status != EndpointStatus::Deleted
        })
        .ok_or_else(|| Problem::resource_missing("webhook_endpoint", "id").into())
}

/// The endpoint as the API shows it; never its secret, only the secret's last characters.
pub fn webhook_endpoint_object(endpoint: &WebhookEndpoint) -> Value {
    json!({
        "id": endpoint.id.as_str(),
        "object": "webhook_endpoint",
        "url": endpoint.url,
        "description": endpoint.description,
        "enabled_events": endpoint.enabled_events.names(),
        "status": endpoint.status.as_str(),
        "disabled_reason": endpoint.disabled_reason.map(DisabledReason::as_str),
        "secret_hint": endpoint.secret.hint,
        "livemode": endpoint.livemode,
        "created": endpoint.created.unix_seconds(),
    })
}
