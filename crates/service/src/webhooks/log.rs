//! The delivery log of an event, and resending it.

use payrail_domain::{EventId, Problem};
use payrail_store::deliveries::{self, DeliveryView};
use payrail_store::events;
use serde_json::{Value, json};

use crate::{Caller, Payrail, ServiceError};

impl Payrail {
    /// Every delivery of one of the caller's events, with each attempt.
    pub async fn event_deliveries(&self, caller: &Caller, id: &EventId) -> Result<Vec<DeliveryView>, ServiceError> {
        let mut reader = self.store.reader().await?;
        let event = events::get(reader.conn(), id).await?;
        if !event.is_some_and(|e| e.merchant_id == caller.merchant.id && e.livemode == caller.mode.is_live()) {
            return Err(Problem::resource_missing("event", "id").into());
        }
        Ok(deliveries::list_for_event(reader.conn(), id).await?)
    }

    /// Makes an event's deliveries due now, with a fresh retry window (a delivery being
    /// attempted right now is left to finish). Returns the deliveries.
    pub async fn resend_event(&self, caller: &Caller, id: &EventId) -> Result<Vec<DeliveryView>, ServiceError> {
        self.event_deliveries(caller, id).await?;
        let (event_id, now) = (id.clone(), self.clock.now());
        self.store
            .write(move |tx| Box::pin(async move { deliveries::resend(tx.conn(), &event_id, now).await }))
            .await?;
        self.event_deliveries(caller, id).await
    }
}

/// A delivery as the API shows it.
pub fn delivery_object(view: &DeliveryView) -> Value {
    let attempts: Vec<Value> = view
        .log
        .iter()
        .map(|attempt| {
            json!({
                "attempted_at": attempt.attempted_at.unix_seconds(),
                "status_code": attempt.status_code,
                "latency_ms": attempt.latency_ms,
                "response_snippet": attempt.response_snippet,
                "error": attempt.error,
            })
        })
        .collect();
    json!({
        "object": "webhook_delivery",
        "destination": view.target,
        "webhook_endpoint": view.endpoint_id,
        "status": view.status,
        "attempt_count": view.attempts,
        "next_attempt_at": view.next_attempt_at.map(|at| at.unix_seconds()),
        "attempts": attempts,
    })
}
