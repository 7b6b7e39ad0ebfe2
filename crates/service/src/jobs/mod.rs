//! The job queue: background work as rows in the database, run by workers on every
//! instance.
//!
//! A use case that wants work done later calls [`enqueue`] with the connection of the
//! write unit it is already in (`jobs::enqueue(tx.conn(), …)`), so the job exists if and
//! only if the change that caused it was committed (the outbox). A [`JobRunner`] claims due
//! jobs under a lease, runs the handler registered for the job's kind, and records the
//! outcome: success deletes the row, a failure (an error, a panic, an unknown kind) waits
//! on the [`Backoff`] schedule, and the last allowed failure leaves the job dead.
//!
//! Invariant: a job may run more than once (a worker can die after its handler finished
//! but before the outcome was recorded), so every handler must be safe to repeat.

mod backoff;
mod recurring;
mod runner;
mod workers;

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use payrail_domain::{JobId, Timestamp};
use payrail_store::jobs as rows;
use payrail_store::{Conn, StoreError};

use crate::{Payrail, ServiceError};

pub use backoff::{BACKOFF_BASE_MS, BACKOFF_CAP_MS, Backoff, Jitter, NoJitter, RandomJitter};
pub use payrail_store::jobs::{Job, JobStatus, LAST_ERROR_CHARS_MAX};
pub use recurring::{PRUNE_IDEMPOTENCY_KEYS, PRUNE_IDEMPOTENCY_KEYS_EVERY_MS, SWEEP_PAYMENTS, SWEEP_PAYMENTS_EVERY_MS};
pub use runner::{JOB_LEASE_MS, JobRunner, Outcome, POLL_INTERVAL_MS, Ran, RunnerOptions};
pub use workers::Workers;

/// Attempts a job gets unless its enqueuer asks otherwise. With the standard backoff the
/// last of ten comes about forty minutes after the first.
pub const ATTEMPTS_MAX_DEFAULT: u32 = 10;

/// A job to enqueue.
#[derive(Debug, Clone, PartialEq)]
pub struct NewJob {
    /// Which registered handler runs it.
    pub kind: &'static str,
    /// The handler's input.
    pub payload: serde_json::Value,
    /// While a pending or running job holds this key, enqueueing another with it does
    /// nothing.
    pub singleton_key: Option<String>,
    pub attempts_max: u32,
    /// `None`: as soon as a worker is free.
    pub run_at: Option<Timestamp>,
}

impl NewJob {
    /// A job of `kind` to run at once, with the default number of attempts.
    pub fn new(kind: &'static str, payload: serde_json::Value) -> NewJob {
        NewJob { kind, payload, singleton_key: None, attempts_max: ATTEMPTS_MAX_DEFAULT, run_at: None }
    }
}

/// Adds `job` to the queue within the write unit `conn` belongs to. Returns its id, or
/// `None` when a live job already holds its singleton key.
pub async fn enqueue(conn: Conn<'_>, job: NewJob, now: Timestamp) -> Result<Option<JobId>, StoreError> {
    assert!(job.attempts_max >= 1, "a job of kind {} would never run", job.kind);
    let row = rows::NewJob {
        id: JobId::generate(now, crate::random::id_random(now)),
        kind: job.kind.to_owned(),
        payload: job.payload.to_string(),
        singleton_key: job.singleton_key,
        attempts_max: job.attempts_max,
        run_at: job.run_at.unwrap_or(now),
    };
    Ok(rows::enqueue(conn, &row, now).await?.then_some(row.id))
}

/// What a handler is given besides the service.
#[derive(Debug, Clone, PartialEq)]
pub struct JobInput {
    pub id: JobId,
    /// 1 on the first run, 2 on the first retry, and so on.
    pub attempt: u32,
    pub payload: serde_json::Value,
}

/// The future a handler returns.
pub type HandlerFuture = Pin<Box<dyn Future<Output = Result<(), ServiceError>> + Send>>;

type Handler = Arc<dyn Fn(Payrail, JobInput) -> HandlerFuture + Send + Sync>;

/// How a recurring kind is scheduled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Recurrence {
    /// From the end of one run to the start of the next.
    pub every_ms: i64,
    pub attempts_max: u32,
}

#[derive(Clone)]
struct Kind {
    handler: Handler,
    recurrence: Option<Recurrence>,
}

/// The handlers this instance runs, by kind. A job whose kind is missing (enqueued by a
/// newer version, say) fails like any other job, so it is retried and, if no instance
/// ever knows it, ends dead rather than crashing a worker.
#[derive(Clone, Default)]
pub struct JobRegistry {
    kinds: HashMap<&'static str, Kind>,
}

impl JobRegistry {
    /// A registry without any handler.
    pub fn empty() -> JobRegistry {
        JobRegistry::default()
    }

    /// Runs `handler` for jobs of `kind`.
    pub fn register<F, Fut>(&mut self, kind: &'static str, handler: F)
    where
        F: Fn(Payrail, JobInput) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), ServiceError>> + Send + 'static,
    {
        self.insert(kind, handler, None);
    }

    /// Runs `handler` for `kind`, and keeps one job of that kind scheduled: at start (see
    /// [`JobRunner::ensure_recurring`]) and `every_ms` after each run ends, whether it
    /// succeeded or died.
    pub fn register_recurring<F, Fut>(&mut self, kind: &'static str, every_ms: i64, attempts_max: u32, handler: F)
    where
        F: Fn(Payrail, JobInput) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), ServiceError>> + Send + 'static,
    {
        assert!(every_ms > 0 && attempts_max >= 1, "recurring kind {kind} must run again and at least once");
        self.insert(kind, handler, Some(Recurrence { every_ms, attempts_max }));
    }

    fn insert<F, Fut>(&mut self, kind: &'static str, handler: F, recurrence: Option<Recurrence>)
    where
        F: Fn(Payrail, JobInput) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), ServiceError>> + Send + 'static,
    {
        let handler: Handler = Arc::new(move |payrail, input| Box::pin(handler(payrail, input)));
        let previous = self.kinds.insert(kind, Kind { handler, recurrence });
        assert!(previous.is_none(), "job kind {kind} registered twice");
    }

    fn handler(&self, kind: &str) -> Option<Handler> {
        self.kinds.get(kind).map(|k| Arc::clone(&k.handler))
    }

    /// The schedule of a recurring kind, with the kind's name as registered.
    fn recurrence(&self, kind: &str) -> Option<(&'static str, Recurrence)> {
        self.kinds.get_key_value(kind).and_then(|(name, k)| k.recurrence.map(|r| (*name, r)))
    }

    fn recurring(&self) -> impl Iterator<Item = (&'static str, Recurrence)> + '_ {
        self.kinds.iter().filter_map(|(kind, k)| k.recurrence.map(|r| (*kind, r)))
    }
}

/// The next run of a recurring kind. Its singleton key is the kind itself, prefixed so it
/// cannot meet a key some other job uses.
fn recurring_job(kind: &'static str, recurrence: Recurrence, run_at: Timestamp) -> NewJob {
    NewJob {
        singleton_key: Some(format!("recurring:{kind}")),
        attempts_max: recurrence.attempts_max,
        run_at: Some(run_at),
        ..NewJob::new(kind, serde_json::Value::Null)
    }
}
