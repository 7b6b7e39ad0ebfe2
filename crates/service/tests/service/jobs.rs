//! The job queue's guarantees, on every engine, with time moved by hand: retries follow
//! the backoff schedule up to the last attempt, panics and unknown kinds are failures, a
//! job whose worker died is claimed again when its lease runs out (and the old worker's
//! late outcome is dropped), instances never run one job twice at once, recurring jobs
//! are never doubled, and the payment sweep runs through the queue.

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use payrail_domain::payment::{CancellationReason, PaymentStatus};
use payrail_domain::{ApiKeySecret, Clock, JobId, Timestamp};
use payrail_service::jobs::{
    self, Backoff, JOB_LEASE_MS, Job, JobInput, JobRegistry, JobRunner, JobStatus, NewJob, NoJitter, Outcome,
    RunnerOptions, SWEEP_PAYMENTS, SWEEP_PAYMENTS_EVERY_MS,
};
use payrail_service::{ManualClock, NewPayment, Payrail, ServerKeys, ServiceError};
use payrail_store::Store;
use payrail_store::jobs as rows;
use payrail_testkit::{TestDatabase, on_each_backend};
use serde_json::json;

/// Retry delays in these tests: 1 s, 2 s, then 4 s for every later attempt.
const BACKOFF: Backoff = Backoff { base_ms: 1_000, cap_ms: 4_000 };

/// One server instance: its own store handle on the shared database, the shared clock.
async fn instance(db: &TestDatabase, clock: &ManualClock) -> Payrail {
    let store = Store::open(&db.url, &db.options).await.unwrap();
    store.migrate(clock.now()).await.unwrap();
    Payrail::new(store, Arc::new(clock.clone()), ServerKeys::generate())
}

fn clock() -> ManualClock {
    ManualClock::starting_at(Timestamp::from_unix_ms(1_780_000_000_000).unwrap())
}

fn runner(payrail: &Payrail, registry: &JobRegistry) -> JobRunner {
    let options = RunnerOptions { backoff: BACKOFF, jitter: Arc::new(NoJitter), ..RunnerOptions::default() };
    JobRunner::new(payrail.clone(), registry.clone(), options)
}

async fn enqueue(payrail: &Payrail, job: NewJob) -> JobId {
    let now = payrail.clock().now();
    let enqueued = payrail.store().write(move |tx| Box::pin(async move { jobs::enqueue(tx.conn(), job, now).await }));
    enqueued.await.unwrap().unwrap()
}

async fn get(payrail: &Payrail, id: &JobId) -> Option<Job> {
    let mut reader = payrail.store().reader().await.unwrap();
    rows::get(reader.conn(), id).await.unwrap()
}

async fn live(payrail: &Payrail, singleton_key: &str) -> Job {
    let mut reader = payrail.store().reader().await.unwrap();
    rows::get_by_singleton_key(reader.conn(), singleton_key).await.unwrap().unwrap()
}

fn outcome_of(ran: Option<jobs::Ran>) -> Outcome {
    ran.unwrap_or_else(|| panic!("no job was due")).outcome
}

/// A handler that counts its runs and fails while `failing` is set.
fn counting(
    runs: &Arc<AtomicU32>,
    failing: &Arc<AtomicBool>,
) -> impl Fn(Payrail, JobInput) -> HandlerResult + Send + Sync + use<> {
    let (runs, failing) = (Arc::clone(runs), Arc::clone(failing));
    move |_payrail, _input| {
        runs.fetch_add(1, Ordering::SeqCst);
        let fail = failing.load(Ordering::SeqCst);
        Box::pin(async move { if fail { Err(anyhow::anyhow!("provider down").into()) } else { Ok(()) } })
    }
}

type HandlerResult = std::pin::Pin<Box<dyn Future<Output = Result<(), ServiceError>> + Send>>;

#[tokio::test]
async fn a_job_that_succeeds_runs_once_with_its_payload_and_is_deleted() {
    on_each_backend(|db| async move {
        let clock = clock();
        let payrail = instance(&db, &clock).await;
        let seen = Arc::new(Mutex::new(Vec::new()));
        let mut registry = JobRegistry::empty();
        let record = Arc::clone(&seen);
        registry.register("test.record", move |_payrail, input: JobInput| {
            record.lock().unwrap().push((input.attempt, input.payload));
            async { Ok(()) }
        });
        let id = enqueue(&payrail, NewJob::new("test.record", json!({"n": 7}))).await;
        let ran = runner(&payrail, &registry).run_once().await.unwrap().unwrap();
        assert_eq!((ran.id.clone(), ran.attempt, ran.outcome), (id.clone(), 1, Outcome::Succeeded));
        assert_eq!(*seen.lock().unwrap(), [(1, json!({"n": 7}))]);
        assert!(get(&payrail, &id).await.is_none(), "a job that succeeded is deleted");
        assert!(runner(&payrail, &registry).run_once().await.unwrap().is_none());
    })
    .await;
}

#[tokio::test]
async fn a_failing_job_is_retried_on_the_backoff_schedule_and_dead_after_its_last_attempt() {
    on_each_backend(|db| async move {
        let clock = clock();
        let payrail = instance(&db, &clock).await;
        let (runs, failing) = (Arc::new(AtomicU32::new(0)), Arc::new(AtomicBool::new(true)));
        let mut registry = JobRegistry::empty();
        registry.register("test.flaky", counting(&runs, &failing));
        let runner = runner(&payrail, &registry);
        let id = enqueue(&payrail, NewJob { attempts_max: 4, ..NewJob::new("test.flaky", json!(null)) }).await;
        for (attempt, delay_ms) in [(1, 1_000), (2, 2_000), (3, 4_000)] {
            let ran = runner.run_once().await.unwrap().unwrap();
            let expected = Outcome::Retrying { run_at: clock.now().plus_ms(delay_ms), error: "provider down".into() };
            assert_eq!((ran.attempt, ran.outcome), (attempt, expected));
            clock.advance_ms(delay_ms - 1);
            assert!(runner.run_once().await.unwrap().is_none(), "attempt {attempt}: retried before its time");
            clock.advance_ms(1);
        }
        assert_eq!(outcome_of(runner.run_once().await.unwrap()), Outcome::Dead { error: "provider down".into() });
        let dead = get(&payrail, &id).await.unwrap();
        assert_eq!(
            (dead.status, dead.attempts, dead.last_error.as_deref()),
            (JobStatus::Dead, 4, Some("provider down"))
        );
        clock.advance_ms(24 * 60 * 60 * 1000);
        assert!(runner.run_once().await.unwrap().is_none(), "a dead job is never claimed");
        assert_eq!(runs.load(Ordering::SeqCst), 4);
    })
    .await;
}

#[tokio::test]
async fn a_panicking_handler_fails_its_attempt_and_the_job_is_retried() {
    on_each_backend(|db| async move {
        let clock = clock();
        let payrail = instance(&db, &clock).await;
        let mut registry = JobRegistry::empty();
        registry.register("test.panics_once", |_payrail, input: JobInput| async move {
            assert!(input.attempt > 1, "a bug on the first attempt");
            Ok(())
        });
        let runner = runner(&payrail, &registry);
        let id = enqueue(&payrail, NewJob::new("test.panics_once", json!(null))).await;
        match outcome_of(runner.run_once().await.unwrap()) {
            Outcome::Retrying { error, .. } => {
                assert!(error.contains("panicked: a bug on the first attempt"), "{error}")
            }
            other => panic!("expected a retry, got {other:?}"),
        }
        let failed = get(&payrail, &id).await.unwrap();
        assert_eq!((failed.status, failed.attempts), (JobStatus::Pending, 1), "the panic counts as an attempt");
        assert!(failed.last_error.unwrap().contains("panicked"));
        clock.advance_ms(BACKOFF.base_ms);
        assert_eq!(outcome_of(runner.run_once().await.unwrap()), Outcome::Succeeded);
    })
    .await;
}

#[tokio::test]
async fn a_job_of_a_kind_no_handler_knows_fails_until_it_is_dead() {
    on_each_backend(|db| async move {
        let clock = clock();
        let payrail = instance(&db, &clock).await;
        let runner = runner(&payrail, &JobRegistry::empty());
        let id =
            enqueue(&payrail, NewJob { attempts_max: 2, ..NewJob::new("test.from_the_future", json!(null)) }).await;
        assert!(matches!(outcome_of(runner.run_once().await.unwrap()), Outcome::Retrying { .. }));
        clock.advance_ms(BACKOFF.base_ms);
        assert!(matches!(outcome_of(runner.run_once().await.unwrap()), Outcome::Dead { .. }));
        let error = get(&payrail, &id).await.unwrap().last_error.unwrap();
        assert!(error.contains("no handler for job kind \"test.from_the_future\""), "{error}");
    })
    .await;
}

#[tokio::test]
async fn a_job_whose_worker_died_is_claimed_again_after_its_lease_and_the_late_outcome_is_dropped() {
    on_each_backend(|db| async move {
        let clock = clock();
        let (runs, failing) = (Arc::new(AtomicU32::new(0)), Arc::new(AtomicBool::new(false)));
        let mut registry = JobRegistry::empty();
        registry.register("test.slow", counting(&runs, &failing));
        let (first, second) = (instance(&db, &clock).await, instance(&db, &clock).await);
        let (stalled, rescuer) = (runner(&first, &registry), runner(&second, &registry));
        let id = enqueue(&first, NewJob::new("test.slow", json!(null))).await;

        let old_claim = stalled.claim().await.unwrap().unwrap();
        clock.advance_ms(JOB_LEASE_MS - 1);
        assert!(rescuer.run_once().await.unwrap().is_none(), "the lease still holds");
        clock.advance_ms(1);
        let new_claim = rescuer.claim().await.unwrap().unwrap();
        assert_eq!((old_claim.attempts, new_claim.attempts), (1, 2));

        // The stalled worker wakes up, fails, and reports: nothing changes.
        failing.store(true, Ordering::SeqCst);
        assert_eq!(stalled.run(old_claim).await.unwrap().outcome, Outcome::Superseded);
        let row = get(&first, &id).await.unwrap();
        assert_eq!((row.status, row.attempts, row.last_error), (JobStatus::Running, 2, None));

        failing.store(false, Ordering::SeqCst);
        assert_eq!(rescuer.run(new_claim).await.unwrap().outcome, Outcome::Succeeded);
        assert!(get(&first, &id).await.is_none());
    })
    .await;
}

#[tokio::test]
async fn a_job_whose_worker_died_on_its_last_attempt_is_dead_without_running_again() {
    on_each_backend(|db| async move {
        let clock = clock();
        let (runs, failing) = (Arc::new(AtomicU32::new(0)), Arc::new(AtomicBool::new(false)));
        let mut registry = JobRegistry::empty();
        registry.register("test.once", counting(&runs, &failing));
        let payrail = instance(&db, &clock).await;
        let runner = runner(&payrail, &registry);
        let id = enqueue(&payrail, NewJob { attempts_max: 1, ..NewJob::new("test.once", json!(null)) }).await;
        let _abandoned = runner.claim().await.unwrap().unwrap();
        clock.advance_ms(JOB_LEASE_MS);
        match outcome_of(runner.run_once().await.unwrap()) {
            Outcome::Dead { error } => assert!(error.contains("lease of the last attempt ran out"), "{error}"),
            other => panic!("expected a dead job, got {other:?}"),
        }
        assert_eq!((get(&payrail, &id).await.unwrap().status, runs.load(Ordering::SeqCst)), (JobStatus::Dead, 0));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn four_instances_sharing_a_database_run_each_of_200_jobs_exactly_once() {
    on_each_backend(|db| async move {
        let clock = clock();
        let runs: Arc<Vec<AtomicU32>> = Arc::new((0..200).map(|_| AtomicU32::new(0)).collect());
        let mut registry = JobRegistry::empty();
        let counts = Arc::clone(&runs);
        registry.register("test.count", move |_payrail, input: JobInput| {
            let index = usize::try_from(input.payload["n"].as_u64().unwrap()).unwrap();
            counts[index].fetch_add(1, Ordering::SeqCst);
            async { Ok(()) }
        });
        let mut instances = Vec::new();
        for _ in 0..4 {
            instances.push(instance(&db, &clock).await);
        }
        let now = clock.now();
        let enqueued = instances[0].store().write(move |tx| {
            Box::pin(async move {
                for n in 0..200 {
                    jobs::enqueue(tx.conn(), NewJob::new("test.count", json!({"n": n})), now).await?;
                }
                Ok::<_, payrail_store::StoreError>(())
            })
        });
        enqueued.await.unwrap();
        let workers: Vec<_> = instances
            .iter()
            .map(|payrail| {
                let runner = runner(payrail, &registry);
                tokio::spawn(async move {
                    let mut outcomes = Vec::new();
                    while let Some(ran) = runner.run_once().await.unwrap() {
                        outcomes.push(ran.outcome);
                    }
                    outcomes
                })
            })
            .collect();
        let mut outcomes = Vec::new();
        for worker in workers {
            outcomes.extend(worker.await.unwrap());
        }
        assert_eq!(outcomes.len(), 200);
        assert!(outcomes.iter().all(|outcome| *outcome == Outcome::Succeeded), "{outcomes:?}");
        let counts: Vec<u32> = runs.iter().map(|count| count.load(Ordering::SeqCst)).collect();
        assert!(counts.iter().all(|&count| count == 1), "runs per job: {counts:?}");
    })
    .await;
}

#[tokio::test]
async fn a_recurring_job_is_scheduled_once_by_many_instances_and_again_after_each_run() {
    on_each_backend(|db| async move {
        let clock = clock();
        let (runs, failing) = (Arc::new(AtomicU32::new(0)), Arc::new(AtomicBool::new(false)));
        let mut registry = JobRegistry::empty();
        registry.register_recurring("test.tick", 30_000, 2, counting(&runs, &failing));
        let (first, second) = (instance(&db, &clock).await, instance(&db, &clock).await);
        let runners = [runner(&first, &registry), runner(&second, &registry)];
        for runner in runners.iter().chain(&runners) {
            runner.ensure_recurring().await.unwrap();
        }
        let scheduled = live(&first, "recurring:test.tick").await;
        assert_eq!((scheduled.run_at, count_jobs(&first).await), (clock.now(), 1));

        assert_eq!(outcome_of(runners[1].run_once().await.unwrap()), Outcome::Succeeded);
        let next = live(&first, "recurring:test.tick").await;
        assert_ne!(next.id, scheduled.id);
        assert_eq!((next.run_at, next.attempts, count_jobs(&first).await), (clock.now().plus_ms(30_000), 0, 1));
        runners[0].ensure_recurring().await.unwrap();
        assert!(runners[0].run_once().await.unwrap().is_none(), "not due, and not doubled by a restart");

        // A run that dies does not end the chain.
        clock.advance_ms(30_000);
        failing.store(true, Ordering::SeqCst);
        assert!(matches!(outcome_of(runners[0].run_once().await.unwrap()), Outcome::Retrying { .. }));
        clock.advance_ms(BACKOFF.base_ms);
        assert!(matches!(outcome_of(runners[1].run_once().await.unwrap()), Outcome::Dead { .. }));
        let after_death = live(&first, "recurring:test.tick").await;
        assert_eq!((after_death.run_at, count_jobs(&first).await), (clock.now().plus_ms(30_000), 2));
        assert_eq!(runs.load(Ordering::SeqCst), 3);
    })
    .await;
}

/// Jobs of every status.
async fn count_jobs(payrail: &Payrail) -> i64 {
    let mut reader = payrail.store().reader().await.unwrap();
    let sql = "SELECT COUNT(*) FROM jobs";
    match reader.conn() {
        payrail_store::Conn::Sqlite(c) => sqlx::query_scalar(sql).fetch_one(&mut *c).await.unwrap(),
        payrail_store::Conn::Postgres(c) => sqlx::query_scalar(sql).fetch_one(&mut *c).await.unwrap(),
        payrail_store::Conn::Direct(_) => unreachable!("a reader is never the committer's connection"),
    }
}

#[tokio::test]
async fn an_unpaid_payment_past_its_deadline_is_canceled_as_expired_by_the_sweep_job() {
    on_each_backend(|db| async move {
        let clock = clock();
        let payrail = instance(&db, &clock).await;
        payrail.verify_server_keys().await.unwrap();
        let secret = payrail.bootstrap().await.unwrap().unwrap().demo_key.secret;
        let caller = payrail.authenticate(&ApiKeySecret::parse(secret.expose()).unwrap()).await.unwrap();
        let order = NewPayment {
            amount_minor: 100,
            currency: "usd".into(),
            merchant_order_no: "exp-1".into(),
            ..NewPayment::default()
        };
        let payment = payrail.create_payment(&caller, order).await.unwrap();
        let runner = runner(&payrail, &JobRegistry::standard());
        runner.ensure_recurring().await.unwrap();
        clock.advance_ms(payment.expires_at.ms_since(clock.now()));

        let mut kinds = Vec::new();
        while let Some(ran) = runner.run_once().await.unwrap() {
            assert_eq!(ran.outcome, Outcome::Succeeded, "{}", ran.kind);
            kinds.push(ran.kind);
        }
        assert!(kinds.iter().any(|kind| kind == SWEEP_PAYMENTS), "{kinds:?}");
        let payment = payrail.get_payment(&caller, &payment.id).await.unwrap();
        assert_eq!(
            (payment.status, payment.cancellation_reason),
            (PaymentStatus::Canceled, Some(CancellationReason::Expired))
        );
        let next = live(&payrail, &format!("recurring:{SWEEP_PAYMENTS}")).await;
        assert_eq!(next.run_at, clock.now().plus_ms(SWEEP_PAYMENTS_EVERY_MS));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn started_workers_run_due_jobs_and_finish_them_before_stopping() {
    on_each_backend(|db| async move {
        let clock = clock();
        let payrail = instance(&db, &clock).await;
        let (started, mut running) = tokio::sync::mpsc::unbounded_channel();
        let mut registry = JobRegistry::empty();
        registry.register("test.signal", move |_payrail, input: JobInput| {
            let _ = started.send(input.id);
            async { Ok(()) }
        });
        let id = enqueue(&payrail, NewJob::new("test.signal", json!(null))).await;
        let workers = runner(&payrail, &registry).start(2);
        assert_eq!(running.recv().await, Some(id.clone()));
        workers.stop(Duration::from_secs(60)).await;
        assert!(get(&payrail, &id).await.is_none(), "the job in hand was finished and recorded");
    })
    .await;
}
