//! The write path: every change to the database goes through [`Store::write`].
//!
//! On SQLite, durable commits are the bottleneck: each one waits for an fsync, and the
//! disk allows a few hundred a second. So one thread, the committer, takes every unit of
//! work queued while the previous commit was flushing, runs them in one transaction, each
//! inside its own savepoint, and commits once. It owns the writer connection and runs each
//! unit on itself, so a unit's statements execute directly, with no hand-off to another
//! thread per statement; a unit must therefore never call [`Store::write`] itself (it
//! would wait for the very thread running it). A unit that fails is rolled back to its
//! savepoint without disturbing the others; a unit's checks (a remaining balance, a
//! uniqueness rule) see the effects of the units before it, so two units in one batch can
//! never both spend the same remainder.
//!
//! Invariant: no caller hears "done" before the commit holding its work is durable. If
//! that commit fails, every unit in it fails.
//!
//! On PostgreSQL each unit runs in a transaction of its own: the server already shares
//! one WAL flush among concurrent commits, and its row locks let unrelated units run in
//! parallel, which a single committer would forbid.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::runtime::Handle;
use tokio::sync::{mpsc, oneshot};

use crate::conn::{Tx, TxInner};
use crate::{Store, StoreError};

/// The future a unit of work returns, borrowing the transaction it runs in.
pub type WriteFuture<'t, T, E> = Pin<Box<dyn Future<Output = Result<T, E>> + Send + 't>>;

/// Units queued for the committer, at most; beyond this, callers wait to enqueue.
pub(crate) const QUEUE_UNITS_MAX: usize = 4_096;
/// Units in one shared transaction, at most, so one commit's latency stays bounded.
const BATCH_UNITS_MAX: usize = 512;

/// A unit of work as the committer sees it, whatever its result type.
pub(crate) trait Unit: Send {
    /// Runs against the shared transaction; returns whether the unit succeeded and how to
    /// tell its caller the outcome once the commit's fate is known.
    fn run<'t>(self: Box<Self>, tx: &'t mut Tx) -> Pin<Box<dyn Future<Output = Ran> + Send + 't>>;
    /// Answers the caller without running: the shared transaction could not start.
    fn fail(self: Box<Self>, error: StoreError);
}

pub(crate) type Job = Box<dyn Unit>;

pub(crate) struct Ran {
    succeeded: bool,
    report: Box<dyn FnOnce(Option<StoreError>) + Send>,
}

struct WorkUnit<F, T, E> {
    work: F,
    reply: oneshot::Sender<Result<T, E>>,
}

impl<F, T, E> Unit for WorkUnit<F, T, E>
where
    F: for<'t> FnOnce(&'t mut Tx) -> WriteFuture<'t, T, E> + Send + 'static,
    T: Send + 'static,
    E: From<StoreError> + Send + 'static,
{
    fn run<'t>(self: Box<Self>, tx: &'t mut Tx) -> Pin<Box<dyn Future<Output = Ran> + Send + 't>> {
        let WorkUnit { work, reply } = *self;
        Box::pin(async move {
            if reply.is_closed() {
                // The caller gave up (its request timed out) before the unit started: it
                // was told nothing happened, so nothing may happen.
                return Ran { succeeded: false, report: Box::new(|_| {}) };
            }
            let outcome = CatchUnwind(work(tx)).await;
            let succeeded = matches!(outcome, Some(Ok(_)));
            let report = move |commit_error: Option<StoreError>| {
                let result = match (outcome, commit_error) {
                    (None, _) => Err(E::from(StoreError::CommitFailed("a write unit panicked".into()))),
                    (Some(Ok(_)), Some(error)) => Err(E::from(error)),
                    (Some(result), _) => result,
                };
                let _ = reply.send(result);
            };
            Ran { succeeded, report: Box::new(report) }
        })
    }

    fn fail(self: Box<Self>, error: StoreError) {
        let _ = self.reply.send(Err(E::from(error)));
    }
}

impl Store {
    /// Runs `work` in a write transaction and returns its result once it is durable. If
    /// `work` fails, none of its writes land.
    pub async fn write<T, E, F>(&self, work: F) -> Result<T, E>
    where
        F: for<'t> FnOnce(&'t mut Tx) -> WriteFuture<'t, T, E> + Send + 'static,
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        let Some(queue) = self.committer_queue() else {
            let mut tx = self.begin().await?;
            let value = work(&mut tx).await?;
            tx.commit().await?;
            return Ok(value);
        };
        let (reply, answer) = oneshot::channel();
        let unit: Job = Box::new(WorkUnit { work, reply });
        queue.send(Message::Unit(unit)).await.map_err(|_| E::from(StoreError::Database(sqlx::Error::PoolClosed)))?;
        answer.await.unwrap_or_else(|_| Err(E::from(StoreError::Database(sqlx::Error::PoolClosed))))
    }
}

/// What the committer's thread receives: a unit to run, or the order to close.
pub(crate) enum Message {
    Unit(Job),
    Close(oneshot::Sender<()>),
}

/// Starts the committer on a thread of its own, owning `connection`, and returns its
/// queue. Units run on that thread: their statements execute directly on the connection,
/// with no hand-off per statement, and `runtime` drives anything else a unit awaits.
pub(crate) fn start_committer(
    connection: rusqlite::Connection,
    runtime: tokio::runtime::Handle,
) -> Result<mpsc::Sender<Message>, StoreError> {
    let (queue, receiver) = mpsc::channel(QUEUE_UNITS_MAX);
    std::thread::Builder::new()
        .name("payrail-committer".into())
        .spawn(move || run_committer(connection, receiver, &runtime))
        .map_err(|error| StoreError::Configuration(format!("cannot start the committer thread: {error}")))?;
    Ok(queue)
}

fn run_committer(connection: rusqlite::Connection, mut receiver: mpsc::Receiver<Message>, runtime: &Handle) {
    let mut connection = Some(connection);
    let mut batch = Vec::with_capacity(BATCH_UNITS_MAX);
    while let Some(first) = receiver.blocking_recv() {
        let mut closing = None;
        for message in std::iter::once(first).chain(std::iter::from_fn(|| receiver.try_recv().ok())) {
            match message {
                Message::Unit(unit) => batch.push(unit),
                Message::Close(done) => closing = Some(done),
            }
            if batch.len() == BATCH_UNITS_MAX || closing.is_some() {
                break;
            }
        }
        if let Some(held) = connection.take() {
            connection = Some(commit_batch(held, std::mem::take(&mut batch), runtime));
        }
        if let Some(done) = closing {
            // Units queued after the close are refused: their senders see the queue closed.
            receiver.close();
            drop(connection.take());
            let _ = done.send(());
        }
    }
}

type Report = Box<dyn FnOnce(Option<StoreError>) + Send>;

/// Runs `batch` in one transaction, each unit in its own savepoint, commits once, and
/// hands the connection back.
fn commit_batch(connection: rusqlite::Connection, batch: Vec<Job>, runtime: &Handle) -> rusqlite::Connection {
    if batch.is_empty() {
        return connection;
    }
    if let Err(error) = connection.execute_batch("BEGIN IMMEDIATE") {
        let error = crate::direct::from_sqlite(error);
        tracing::warn!(error = %error, units = batch.len(), "cannot begin the shared write transaction");
        batch.into_iter().for_each(|unit| unit.fail(shared(&error)));
        return connection;
    }
    let mut tx = Tx(TxInner::Shared(connection));
    let mut reports: Vec<Report> = Vec::with_capacity(batch.len());
    let mut units = batch.into_iter();
    let mut broken = None;
    for unit in units.by_ref() {
        if let Err(error) = savepoint(&mut tx, "SAVEPOINT unit") {
            broken = Some((Some(unit), error));
            break;
        }
        let ran = runtime.block_on(unit.run(&mut tx));
        let close = if ran.succeeded { "RELEASE unit" } else { "ROLLBACK TO unit; RELEASE unit" };
        reports.push(ran.report);
        if let Err(error) = savepoint(&mut tx, close) {
            broken = Some((None, error));
            break;
        }
    }
    let TxInner::Shared(connection) = tx.0 else { unreachable!("the committer's transaction is shared") };
    if let Some((current, error)) = broken {
        // The transaction is unusable: nothing in it may be committed.
        let _ = connection.execute_batch("ROLLBACK");
        abandon(reports, units, current, &error);
        return connection;
    }
    let committed = connection.execute_batch("COMMIT").map_err(crate::direct::from_sqlite).err();
    if let Some(error) = &committed {
        tracing::error!(error = %error, units = reports.len(), "the shared commit failed");
        let _ = connection.execute_batch("ROLLBACK");
    }
    for report in reports {
        report(committed.as_ref().map(shared));
    }
    connection
}

/// Fails every unit of a batch whose transaction broke: those that ran and those that
/// had not yet started.
fn abandon(reports: Vec<Report>, rest: std::vec::IntoIter<Job>, current: Option<Job>, error: &StoreError) {
    tracing::error!(error = %error, "a shared write transaction broke; its units are rolled back");
    reports.into_iter().for_each(|report| report(Some(shared(error))));
    current.into_iter().chain(rest).for_each(|unit| unit.fail(shared(error)));
}

fn savepoint(tx: &mut Tx, statement: &'static str) -> Result<(), StoreError> {
    match &tx.0 {
        TxInner::Shared(connection) => connection.execute_batch(statement).map_err(crate::direct::from_sqlite),
        _ => Err(StoreError::Configuration("savepoints belong to the shared transaction".into())),
    }
}

/// A `sqlx::Error` is not `Clone`, yet every unit of a failed batch needs an error: each
/// gets one that keeps the classification that matters, busy (retry) or not.
fn shared(error: &StoreError) -> StoreError {
    if error.is_transient() { StoreError::Busy } else { StoreError::CommitFailed(error.to_string()) }
}

/// Catches a panic inside a unit so it fails that unit alone, not the committer.
struct CatchUnwind<F>(F);

impl<F: Future + Unpin> Future for CatchUnwind<F> {
    type Output = Option<F::Output>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<F::Output>> {
        match std::panic::catch_unwind(AssertUnwindSafe(|| Pin::new(&mut self.0).poll(cx))) {
            Ok(Poll::Ready(value)) => Poll::Ready(Some(value)),
            Ok(Poll::Pending) => Poll::Pending,
            Err(_) => Poll::Ready(None),
        }
    }
}
