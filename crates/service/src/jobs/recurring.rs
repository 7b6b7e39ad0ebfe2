//! The maintenance that runs on the queue as recurring jobs: the payment sweeps and the
//! pruning of idempotency keys.
//!
//! Each kind keeps one live job whatever the number of instances (its singleton key), so
//! the sweeps run about once per period across the whole deployment rather than once per
//! instance. They would be safe to run everywhere at once (every change is re-checked
//! under the payment's lock); running them once is only cheaper.

use crate::jobs::{JobInput, JobRegistry, JobRunner, recurring_job};
use crate::{Payrail, ServiceError, SweepReport};

/// Expires unpaid payments, releases old authorizations, resolves lost attempts and
/// settles pending refunds (`Payrail::sweep_payments`).
pub const SWEEP_PAYMENTS: &str = "payments.sweep";
/// Deletes idempotency keys past their retention.
pub const PRUNE_IDEMPOTENCY_KEYS: &str = "idempotency_keys.prune";

/// Between two payment sweeps: a payment expires at most this late.
pub const SWEEP_PAYMENTS_EVERY_MS: i64 = 10_000;
/// Between two prunings: keys are kept a day, so ten minutes late is no matter.
pub const PRUNE_IDEMPOTENCY_KEYS_EVERY_MS: i64 = 10 * 60 * 1000;
/// A maintenance run that keeps failing is given up soon: the next one is scheduled
/// anyway, and it redoes all the work the dead one left.
const MAINTENANCE_ATTEMPTS_MAX: u32 = 3;

impl JobRegistry {
    /// The handlers every `payrail serve` runs.
    pub fn standard() -> JobRegistry {
        let mut registry = JobRegistry::empty();
        registry.register_recurring(SWEEP_PAYMENTS, SWEEP_PAYMENTS_EVERY_MS, MAINTENANCE_ATTEMPTS_MAX, sweep_payments);
        registry.register_recurring(
            PRUNE_IDEMPOTENCY_KEYS,
            PRUNE_IDEMPOTENCY_KEYS_EVERY_MS,
            MAINTENANCE_ATTEMPTS_MAX,
            prune_idempotency_keys,
        );
        registry
    }
}

impl JobRunner {
    /// Schedules, to run at once, every recurring kind that has no live job: called when
    /// an instance starts, so a fresh database (or one whose job was deleted by hand)
    /// gets its maintenance. Instances starting together insert one job per kind.
    pub async fn ensure_recurring(&self) -> Result<(), ServiceError> {
        let now = self.payrail.clock.now();
        let due: Vec<_> = self.registry.recurring().map(|(kind, r)| recurring_job(kind, r, now)).collect();
        self.payrail
            .store
            .write(move |tx| {
                Box::pin(async move {
                    for job in due {
                        crate::jobs::enqueue(tx.conn(), job, now).await?;
                    }
                    Ok::<(), ServiceError>(())
                })
            })
            .await
    }
}

async fn sweep_payments(payrail: Payrail, _input: JobInput) -> Result<(), ServiceError> {
    let report = payrail.sweep_payments().await?;
    if report != SweepReport::default() {
        tracing::info!(?report, "payments swept");
    }
    Ok(())
}

async fn prune_idempotency_keys(payrail: Payrail, _input: JobInput) -> Result<(), ServiceError> {
    let pruned = payrail.prune_idempotency_keys().await?;
    if pruned > 0 {
        tracing::info!(pruned, "pruned expired idempotency keys");
    }
    Ok(())
}
