//! One worker's steps: claim a due job under a lease, run its handler, record what
//! happened.
//!
//! A handler runs in a task of its own, so a panic fails that attempt and nothing else.
//! The outcome is recorded under the claim the worker holds: if the lease ran out and
//! another worker claimed the job meanwhile, the late outcome is dropped and the newer
//! claim stands.

use std::sync::Arc;
use std::time::Duration;

use payrail_domain::{JobId, Timestamp};
use payrail_store::StoreError;
use payrail_store::jobs::{self as rows, Job};

use crate::jobs::{Backoff, Jitter, JobInput, JobRegistry, RandomJitter, recurring_job};
use crate::{Payrail, ServiceError};

/// How long a claim holds a job. Longer than any job should run (the longest, a payment
/// sweep, waits on the card network for at most 10 s per payment it resolves); a job
/// still running then is taken to be stuck, and another worker may claim it.
pub const JOB_LEASE_MS: i64 = 5 * 60 * 1000;
/// How long an idle worker waits before looking for due jobs again: the delay a job
/// enqueued for "now" can see.
pub const POLL_INTERVAL_MS: u64 = 1_000;

/// Lease, polling and retry settings.
#[derive(Clone)]
pub struct RunnerOptions {
    pub lease_ms: i64,
    pub poll_interval_ms: u64,
    pub backoff: Backoff,
    pub jitter: Arc<dyn Jitter>,
}

impl Default for RunnerOptions {
    fn default() -> RunnerOptions {
        RunnerOptions {
            lease_ms: JOB_LEASE_MS,
            poll_interval_ms: POLL_INTERVAL_MS,
            backoff: Backoff::STANDARD,
            jitter: Arc::new(RandomJitter),
        }
    }
}

/// What became of one run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The handler succeeded; the job is gone.
    Succeeded,
    /// The handler failed; the job runs again at `run_at`.
    Retrying { run_at: Timestamp, error: String },
    /// The handler failed on the last attempt; the job is dead.
    Dead { error: String },
    /// The lease ran out before the outcome was recorded and another worker has claimed
    /// the job since: nothing was recorded.
    Superseded,
}

/// One job run by [`JobRunner::run`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ran {
    pub id: JobId,
    pub kind: String,
    pub attempt: u32,
    pub outcome: Outcome,
}

/// Claims and runs jobs for one instance. Cheap to clone; every worker holds one.
#[derive(Clone)]
pub struct JobRunner {
    pub(super) payrail: Payrail,
    pub(super) registry: Arc<JobRegistry>,
    pub(super) options: Arc<RunnerOptions>,
}

impl JobRunner {
    pub fn new(payrail: Payrail, registry: JobRegistry, options: RunnerOptions) -> JobRunner {
        assert!(options.lease_ms > 0, "a lease must last");
        JobRunner { payrail, registry: Arc::new(registry), options: Arc::new(options) }
    }

    /// Claims the job due longest, if any, and runs it.
    pub async fn run_once(&self) -> Result<Option<Ran>, ServiceError> {
        match self.claim().await? {
            None => Ok(None),
            Some(job) => self.run(job).await.map(Some),
        }
    }

    /// Claims the job due longest, if any, under a lease of `lease_ms` from now.
    pub async fn claim(&self) -> Result<Option<Job>, ServiceError> {
        let now = self.payrail.clock.now();
        let lease_until = now.plus_ms(self.options.lease_ms);
        let mut claimed = self
            .payrail
            .store
            .write(move |tx| Box::pin(async move { rows::claim(tx.conn(), now, lease_until, 1).await }))
            .await?;
        Ok(claimed.pop())
    }

    /// Runs a claimed job and records the outcome under its claim. An error means the
    /// outcome could not be recorded; the lease then runs out and the job runs again.
    pub async fn run(&self, job: Job) -> Result<Ran, ServiceError> {
        let result = self.execute(&job).await;
        let outcome = self.finish(&job, result).await?;
        let (id, kind, attempt) = (&job.id, job.kind.as_str(), job.attempts);
        match &outcome {
            Outcome::Succeeded => tracing::debug!(job_id = %id, kind, attempt, "job succeeded"),
            Outcome::Retrying { run_at, error } => {
                tracing::warn!(job_id = %id, kind, attempt, %run_at, error = %error, "job failed; it will be retried");
            }
            Outcome::Dead { error } => {
                tracing::error!(job_id = %id, kind, attempt, error = %error, "job failed on its last attempt; it is dead");
            }
            Outcome::Superseded => {
                tracing::warn!(job_id = %id, kind, attempt, "job outlived its lease; another worker has claimed it");
            }
        }
        Ok(Ran { id: job.id, kind: job.kind, attempt, outcome })
    }

    /// Runs the handler; `Err` holds why the attempt failed.
    async fn execute(&self, job: &Job) -> Result<(), String> {
        if job.attempts > job.attempts_max {
            // Claimed again only because the lease of its last attempt ran out.
            return Err("the lease of the last attempt ran out: its worker died or stalled".into());
        }
        let Some(handler) = self.registry.handler(&job.kind) else {
            return Err(format!("no handler for job kind {:?} in this version", job.kind));
        };
        let payload = serde_json::from_str(&job.payload).map_err(|e| format!("the payload is not JSON: {e}"))?;
        let input = JobInput { id: job.id.clone(), attempt: job.attempts, payload };
        let payrail = self.payrail.clone();
        // A task of its own: a panic, even while the handler builds its future, ends that
        // task alone and reaches us as a `JoinError`.
        let task = tokio::spawn(async move { handler(payrail, input).await });
        let abort = task.abort_handle();
        // Past its lease another worker may already run the job again; this attempt's
        // result would be dropped anyway, so stop it.
        let lease = Duration::from_millis(self.options.lease_ms.unsigned_abs());
        match tokio::time::timeout(lease, task).await {
            Ok(Ok(result)) => result.map_err(|error| format!("{error:#}")),
            Ok(Err(join_error)) if join_error.is_panic() => {
                Err(format!("the handler panicked: {}", panic_message(join_error.into_panic().as_ref())))
            }
            Ok(Err(_)) => Err("the handler was cancelled".into()),
            Err(_) => {
                abort.abort();
                Err("the handler ran past its lease".into())
            }
        }
    }

    /// Records the outcome of `job`'s run, in one write unit with the next run of a
    /// recurring kind, so a recurring chain is neither broken nor doubled.
    async fn finish(&self, job: &Job, result: Result<(), String>) -> Result<Outcome, ServiceError> {
        let now = self.payrail.clock.now();
        let outcome = match result {
            Ok(()) => Outcome::Succeeded,
            Err(error) if job.attempts < job.attempts_max => {
                let delay_ms = self.options.backoff.delay_ms(job.attempts, self.options.jitter.as_ref());
                Outcome::Retrying { run_at: now.plus_ms(delay_ms), error }
            }
            Err(error) => Outcome::Dead { error },
        };
        let next = match (&outcome, self.registry.recurrence(&job.kind)) {
            (Outcome::Succeeded | Outcome::Dead { .. }, Some((kind, recurrence))) => {
                Some(recurring_job(kind, recurrence, now.plus_ms(recurrence.every_ms)))
            }
            _ => None,
        };
        let claim = job.claim();
        let recorded = self
            .payrail
            .store
            .write(move |tx| {
                Box::pin(async move {
                    let recorded = match &outcome {
                        Outcome::Succeeded => rows::complete(tx.conn(), &claim).await?,
                        Outcome::Retrying { run_at, error } => {
                            rows::retry(tx.conn(), &claim, *run_at, error, now).await?
                        }
                        Outcome::Dead { error } => rows::bury(tx.conn(), &claim, error, now).await?,
                        Outcome::Superseded => false,
                    };
                    if let (true, Some(next)) = (recorded, next) {
                        crate::jobs::enqueue(tx.conn(), next, now).await?;
                    }
                    Ok::<_, StoreError>(recorded.then_some(outcome))
                })
            })
            .await?;
        Ok(recorded.unwrap_or(Outcome::Superseded))
    }
}

/// The text a panic carried, when it carried text.
fn panic_message(payload: &(dyn std::any::Any + Send)) -> &str {
    payload
        .downcast_ref::<&'static str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(no message)")
}
