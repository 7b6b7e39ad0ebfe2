//! Delivering the outbox: claim due deliveries, sign each afresh, send it to the address
//! that was checked, log the attempt, and schedule the next or give up.
//!
//! Any number of instances dispatch at once: a claim leases a delivery (on PostgreSQL
//! with `SKIP LOCKED`), and an outcome is recorded only under the claim that made it, so
//! a delivery whose dispatcher died is claimed again when its lease runs out.

use payrail_channels::webhook::{DeliveryResult, check_url};
use payrail_domain::webhook::EndpointStatus;
use payrail_domain::{Mode, Secret, Timestamp};
use payrail_store::deliveries::{self, AttemptLog, Claimed, Next};
use payrail_store::events::{self, StoredEvent};
use payrail_store::webhook_endpoints;

use crate::objects::event_object;
use crate::random::random_bytes;
use crate::webhook_signature::{EVENT_ID_HEADER, SIGNATURE_HEADER, sign};
use crate::webhooks::{endpoint_health, notification_secret, secrets};
use crate::{Payrail, ServiceError};

/// Most deliveries one dispatch claims.
pub const DISPATCH_BATCH_MAX: u32 = 64;
/// A claim's lease outlasts the send's timeout by this much, so a live dispatcher always
/// records its outcome before another may claim the delivery again.
const LEASE_MARGIN_MS: i64 = 5_000;

/// One claimed delivery, ready to send.
struct Prepared {
    event: StoredEvent,
    url: String,
    secrets: Vec<Secret<String>>,
}

impl Payrail {
    /// Claims up to `limit` due deliveries and attempts them concurrently (within the
    /// sender's limits); returns how many were claimed.
    pub async fn dispatch_webhooks(&self, limit: u32) -> Result<usize, ServiceError> {
        let now = self.clock.now();
        let timeout_ms = i64::try_from(self.webhooks.options.sender.timeout_ms).unwrap_or(i64::MAX);
        let lease_until = now.plus_ms(timeout_ms.saturating_add(LEASE_MARGIN_MS));
        let limit = limit.clamp(1, DISPATCH_BATCH_MAX);
        let claimed = self
            .store
            .write(move |tx| Box::pin(async move { deliveries::claim(tx.conn(), now, lease_until, limit).await }))
            .await?;
        let count = claimed.len();
        let mut running = tokio::task::JoinSet::new();
        for claim in claimed {
            let payrail = self.clone();
            running.spawn(async move { payrail.attempt_delivery(claim).await });
        }
        while let Some(done) = running.join_next().await {
            match done {
                Ok(Ok(())) => {}
                Ok(Err(error)) => tracing::error!(error = %error, "a webhook delivery could not be recorded"),
                Err(error) => tracing::error!(error = %error, "a webhook delivery task failed"),
            }
        }
        Ok(count)
    }

    async fn attempt_delivery(&self, claim: Claimed) -> Result<(), ServiceError> {
        let started = self.clock.now();
        let schedule = &self.webhooks.options.schedule;
        // The last retry may come up to 10 % of its step late (jitter); a tenth of the whole
        // window covers that.
        let window_end = schedule.window_ms().saturating_add(schedule.window_ms() / 10);
        let result = if started.ms_since(claim.window_started) > window_end {
            // Paused (its endpoint disabled) past the end of its retry window.
            DeliveryResult::failed_before_sending("retry_window_passed")
        } else {
            match self.prepare(&claim, started).await? {
                Some(prepared) => self.send(&claim, prepared).await,
                None => DeliveryResult::failed_before_sending("destination_gone"),
            }
        };
        let now = self.clock.now();
        let next = if result.succeeded() {
            Next::Succeeded
        } else {
            schedule.next_attempt(claim.window_started, now, jitter_per_mille()).map_or(Next::Dead, Next::RetryAt)
        };
        let log = AttemptLog {
            attempted_at: started,
            status_code: result.status,
            latency_ms: i64::try_from(result.latency_ms).unwrap_or(i64::MAX),
            response_snippet: Some(result.snippet).filter(|snippet| !snippet.is_empty()),
            error: result.error,
        };
        let window_ms = schedule.window_ms();
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    if !deliveries::finish(tx.conn(), &claim, next, now).await? {
                        // Claimed again since (this lease ran out) or canceled: not ours to record.
                        return Ok(());
                    }
                    deliveries::log_attempt(tx.conn(), &claim, &log).await?;
                    if let (Next::Dead, Some(endpoint_id)) = (next, &claim.endpoint_id) {
                        endpoint_health::disable_if_failing(tx, endpoint_id, window_ms, now).await?;
                    }
                    Ok::<_, ServiceError>(())
                })
            })
            .await
    }

    /// The event, the URL and the signing secrets; `None` if the destination is gone.
    async fn prepare(&self, claim: &Claimed, now: Timestamp) -> Result<Option<Prepared>, ServiceError> {
        let (event, endpoint) = {
            let mut reader = self.store.reader().await?;
            let event = events::get(reader.conn(), &claim.event_id).await?;
            let endpoint = match &claim.endpoint_id {
                Some(id) => webhook_endpoints::get(reader.conn(), id).await?,
                None => None,
            };
            (event.ok_or_else(|| anyhow::anyhow!("event {} vanished", claim.event_id))?, endpoint)
        };
        if let Some(endpoint) = endpoint {
            if endpoint.status != EndpointStatus::Enabled {
                return Ok(None);
            }
            let secrets =
                secrets::signing(&self.keys, &endpoint.secret, endpoint.retiring.as_ref(), endpoint.id.as_str(), now)?;
            return Ok(Some(Prepared { event, url: endpoint.url, secrets }));
        }
        let Some(url) = claim.url.clone() else { return Ok(None) };
        let (keys, merchant_id, livemode) = (self.keys.clone(), event.merchant_id.clone(), event.livemode);
        let stored = self
            .store
            .write(move |tx| {
                Box::pin(async move { notification_secret::ensure(tx, &keys, &merchant_id, livemode, now).await })
            })
            .await?;
        let context = notification_secret::context_for(&event.merchant_id, event.livemode);
        let secrets = secrets::signing(&self.keys, &stored.secret, stored.retiring.as_ref(), &context, now)?;
        Ok(Some(Prepared { event, url, secrets }))
    }

    /// Checks the URL again (DNS may have changed), signs with the time of this attempt,
    /// and sends to the addresses just checked.
    async fn send(&self, claim: &Claimed, prepared: Prepared) -> DeliveryResult {
        let Prepared { event, url, secrets } = prepared;
        let mode = if event.livemode { Mode::Live } else { Mode::Test };
        let target = match check_url(&url, &self.webhooks.policy(mode)).await {
            Ok(target) => target,
            Err(refused) => return DeliveryResult::failed_before_sending(refused.code()),
        };
        let body = event_object(event.id.as_str(), &event.event_type, event.created_ms, event.livemode, &event.data);
        let body = body.to_string();
        let signing: Vec<&Secret<String>> = secrets.iter().collect();
        let signature = sign(body.as_bytes(), self.clock.now().unix_seconds(), &signing);
        let headers = [
            (SIGNATURE_HEADER, signature.as_str()),
            (EVENT_ID_HEADER, claim.event_id.as_str()),
            ("Content-Type", "application/json"),
        ];
        self.webhooks.sender.send(&target, &headers, body.as_bytes()).await
    }
}

/// A uniform draw in −100..=100 thousandths: ±10 % of a retry step.
fn jitter_per_mille() -> i64 {
    i64::from(u16::from_le_bytes(random_bytes::<2>()) % 201) - 100
}
