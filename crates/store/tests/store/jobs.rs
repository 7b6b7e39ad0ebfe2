//! The job queue's rows: a singleton key admits one live job, claims go to due jobs oldest
//! first, and a claim whose lease ran out and was taken over can no longer finish its job.

use payrail_domain::JobId;
use payrail_store::jobs::{self, Claim, Job, JobStatus, NewJob};
use payrail_store::{Store, StoreError};
use payrail_testkit::on_each_backend;

use crate::{at, open_migrated};

const LEASE_MS: i64 = 60_000;

fn new_job(seed: u8, run_at_ms: i64, singleton_key: Option<&str>) -> NewJob {
    NewJob {
        id: JobId::generate(at(1_000), [seed; 10]),
        kind: "test.job".into(),
        payload: format!("{{\"seed\":{seed}}}"),
        singleton_key: singleton_key.map(str::to_owned),
        attempts_max: 3,
        run_at: at(run_at_ms),
    }
}

async fn enqueue(store: &Store, job: NewJob) -> bool {
    store.write(move |tx| Box::pin(async move { jobs::enqueue(tx.conn(), &job, at(1_000)).await })).await.unwrap()
}

async fn claim(store: &Store, now_ms: i64, limit: u32) -> Vec<Job> {
    store
        .write(move |tx| {
            Box::pin(async move { jobs::claim(tx.conn(), at(now_ms), at(now_ms + LEASE_MS), limit).await })
        })
        .await
        .unwrap()
}

async fn complete(store: &Store, claim: Claim) -> bool {
    store.write(move |tx| Box::pin(async move { jobs::complete(tx.conn(), &claim).await })).await.unwrap()
}

async fn get(store: &Store, id: &JobId) -> Option<Job> {
    let mut reader = store.reader().await.unwrap();
    jobs::get(reader.conn(), id).await.unwrap()
}

#[tokio::test]
async fn a_singleton_key_admits_one_live_job_and_is_given_up_when_the_job_ends() {
    on_each_backend(|db| async move {
        let store = open_migrated(&db).await;
        assert!(enqueue(&store, new_job(1, 1_000, Some("recurring:x"))).await);
        assert!(!enqueue(&store, new_job(2, 1_000, Some("recurring:x"))).await, "a second copy is refused");
        assert!(enqueue(&store, new_job(3, 1_000, None)).await && enqueue(&store, new_job(4, 1_000, None)).await);
        let mut reader = store.reader().await.unwrap();
        let live = jobs::get_by_singleton_key(reader.conn(), "recurring:x").await.unwrap().unwrap();
        drop(reader);
        assert_eq!(live.id, new_job(1, 0, None).id);
        assert!(get(&store, &new_job(2, 0, None).id).await.is_none());

        // Claimed (running) it still holds the key; buried, it gives the key up.
        let claimed = claim(&store, 1_000, 10).await;
        assert_eq!(claimed.len(), 3);
        assert!(!enqueue(&store, new_job(5, 1_000, Some("recurring:x"))).await);
        let buried = claimed[0].claim();
        assert_eq!(buried.id, live.id);
        let ok =
            store.write(move |tx| Box::pin(async move { jobs::bury(tx.conn(), &buried, "boom", at(2_000)).await }));
        assert!(ok.await.unwrap());
        let dead = get(&store, &live.id).await.unwrap();
        assert_eq!(
            (dead.status, dead.singleton_key, dead.last_error.as_deref()),
            (JobStatus::Dead, None, Some("boom"))
        );
        assert!(enqueue(&store, new_job(6, 1_000, Some("recurring:x"))).await);
    })
    .await;
}

#[tokio::test]
async fn claims_take_due_jobs_oldest_first_and_leave_the_rest() {
    on_each_backend(|db| async move {
        let store = open_migrated(&db).await;
        for (seed, run_at_ms) in [(1, 5_000), (2, 3_000), (3, 9_000), (4, 4_000)] {
            assert!(enqueue(&store, new_job(seed, run_at_ms, None)).await);
        }
        let first = claim(&store, 5_000, 2).await;
        let seeds: Vec<&str> = first.iter().map(|job| job.payload.as_str()).collect();
        assert_eq!(seeds, [r#"{"seed":2}"#, r#"{"seed":4}"#]);
        for job in &first {
            assert_eq!(
                (job.status, job.attempts, job.lease_until),
                (JobStatus::Running, 1, Some(at(5_000 + LEASE_MS)))
            );
        }
        assert_eq!(claim(&store, 5_000, 10).await.len(), 1, "only seed 1 is still due and unclaimed");
        assert!(claim(&store, 5_000, 10).await.is_empty());
        assert_eq!(claim(&store, 9_000, 10).await.len(), 1, "seed 3 comes due");
    })
    .await;
}

#[tokio::test]
async fn a_claim_whose_lease_ran_out_and_was_taken_over_cannot_finish_the_job() {
    on_each_backend(|db| async move {
        let store = open_migrated(&db).await;
        assert!(enqueue(&store, new_job(1, 1_000, None)).await);
        let old = claim(&store, 1_000, 1).await.remove(0).claim();
        assert!(claim(&store, 1_000 + LEASE_MS - 1, 1).await.is_empty(), "the lease still holds");
        let new = claim(&store, 1_000 + LEASE_MS, 1).await.remove(0).claim();
        assert_eq!((old.attempt, new.attempt), (1, 2));

        let (late_retry, late_bury) = (old.clone(), old.clone());
        let stale = store
            .write(move |tx| {
                Box::pin(async move {
                    let retried = jobs::retry(tx.conn(), &late_retry, at(99_000), "late", at(70_000)).await?;
                    let buried = jobs::bury(tx.conn(), &late_bury, "late", at(70_000)).await?;
                    Ok::<_, StoreError>([retried, buried])
                })
            })
            .await
            .unwrap();
        assert_eq!(stale, [false, false]);
        assert!(!complete(&store, old).await);
        let row = get(&store, &new.id).await.unwrap();
        assert_eq!((row.status, row.attempts, row.last_error), (JobStatus::Running, 2, None), "the new claim stands");

        assert!(complete(&store, new.clone()).await);
        assert!(get(&store, &new.id).await.is_none(), "a job that succeeded is deleted");
    })
    .await;
}

#[tokio::test]
async fn a_retried_job_waits_until_its_new_time_and_keeps_its_error() {
    on_each_backend(|db| async move {
        let store = open_migrated(&db).await;
        assert!(enqueue(&store, new_job(1, 1_000, None)).await);
        let first = claim(&store, 1_000, 1).await.remove(0).claim();
        let long_error = "x".repeat(jobs::LAST_ERROR_CHARS_MAX * 2);
        let retried = store.write(move |tx| {
            Box::pin(async move { jobs::retry(tx.conn(), &first, at(8_000), &long_error, at(2_000)).await })
        });
        assert!(retried.await.unwrap());
        let row = get(&store, &new_job(1, 0, None).id).await.unwrap();
        assert_eq!((row.status, row.run_at, row.lease_until), (JobStatus::Pending, at(8_000), None));
        assert_eq!(row.last_error.map(|e| e.len()), Some(jobs::LAST_ERROR_CHARS_MAX), "the error is bounded");
        assert!(claim(&store, 7_999, 1).await.is_empty());
        assert_eq!(claim(&store, 8_000, 1).await[0].attempts, 2);
    })
    .await;
}
