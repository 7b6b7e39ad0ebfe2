//! An endpoint that has failed for as long as the retry schedule lasts is disabled, and an
//! event (`webhook_endpoint.disabled`) says so; its merchant enables it again when fixed.

use payrail_domain::webhook::{DisabledReason, EndpointStatus};
use payrail_domain::{Timestamp, WebhookEndpointId};
use payrail_store::deliveries::NotifyTarget;
use payrail_store::{Tx, deliveries, webhook_endpoints};

use crate::ServiceError;
use crate::payments::{Subject, record_object_event};
use crate::webhooks::endpoints::webhook_endpoint_object;

/// Called when a delivery to the endpoint has died: disables the endpoint if nothing has
/// reached it for `window_ms` (and it is older than that).
pub(crate) async fn disable_if_failing(
    tx: &mut Tx,
    endpoint_id: &WebhookEndpointId,
    window_ms: i64,
    now: Timestamp,
) -> Result<(), ServiceError> {
    let Some(mut endpoint) = webhook_endpoints::get(tx.conn(), endpoint_id).await? else { return Ok(()) };
    let failing_since = deliveries::last_success(tx.conn(), endpoint_id).await?.unwrap_or(endpoint.created);
    if endpoint.status != EndpointStatus::Enabled || now.ms_since(failing_since) < window_ms {
        return Ok(());
    }
    endpoint.status = EndpointStatus::Disabled;
    endpoint.disabled_reason = Some(DisabledReason::Failing);
    endpoint.updated = now;
    webhook_endpoints::update(tx.conn(), &endpoint).await?;
    tracing::warn!(endpoint_id = %endpoint.id, "a webhook endpoint failing for days was disabled");
    let subject = Subject {
        merchant_id: &endpoint.merchant_id,
        livemode: endpoint.livemode,
        object_id: endpoint.id.as_str(),
        notify: NotifyTarget::None,
    };
    let object = webhook_endpoint_object(&endpoint);
    record_object_event(tx.conn(), subject, object, "webhook_endpoint.disabled", now).await
}
