//! The store's own guarantees, on every configured engine: migrations apply once however
//! many processes race, SQLite is durable and single-writer without `SQLITE_BUSY`, and two
//! handles on one database (the CLI beside the server) can both write.

#![allow(clippy::unwrap_used)]

mod jobs;

use payrail_domain::{Merchant, MerchantId, MerchantName, MerchantStatus, Timestamp};
use payrail_store::{Conn, MIGRATIONS, Store, StoreError, merchants};
use payrail_testkit::{Backend, TestDatabase, on_each_backend};

fn at(ms: i64) -> Timestamp {
    Timestamp::from_unix_ms(ms).unwrap()
}

async fn open(db: &TestDatabase) -> Store {
    Store::open(&db.url, &db.options).await.unwrap()
}

async fn open_migrated(db: &TestDatabase) -> Store {
    let store = open(db).await;
    store.migrate(at(1)).await.unwrap();
    store
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrations_racing_from_several_processes_apply_each_version_once() {
    on_each_backend(|db| async move {
        let stores: Vec<Store> = open_several(4, || open(&db)).await;
        let tasks: Vec<_> =
            stores.iter().cloned().map(|store| tokio::spawn(async move { store.migrate(at(1)).await })).collect();
        let mut applied = Vec::new();
        for task in tasks {
            applied.extend(task.await.unwrap().unwrap());
        }
        let expected: Vec<i64> = MIGRATIONS.iter().map(|m| m.version).collect();
        assert_eq!(applied, expected, "each migration applied by exactly one process");
        assert!(stores[0].migrate(at(2)).await.unwrap().is_empty());
    })
    .await;
}

#[tokio::test]
async fn a_database_migrated_by_a_newer_version_is_refused() {
    on_each_backend(|db| async move {
        let store = open_migrated(&db).await;
        let mut tx = store.begin().await.unwrap();
        let sql = "INSERT INTO payrail_migrations (version, name, applied_at_ms) VALUES (999, 'future', 1)";
        match tx.conn() {
            Conn::Sqlite(c) => sqlx::query(sql).execute(&mut *c).await.map(drop),
            Conn::Postgres(c) => sqlx::query(sql).execute(&mut *c).await.map(drop),
            Conn::Direct(_) => unreachable!("Store::begin never gives the committer's connection"),
        }
        .unwrap();
        tx.commit().await.unwrap();
        match store.migrate(at(2)).await {
            Err(StoreError::SchemaTooNew { database: 999, .. }) => {}
            other => panic!("expected SchemaTooNew, got {other:?}"),
        }
    })
    .await;
}

#[tokio::test]
async fn sqlite_runs_in_wal_mode_with_full_sync_secure_delete_and_foreign_keys() {
    let db = TestDatabase::create(&Backend::Sqlite).await;
    let store = open(&db).await;
    let mut reader = store.reader().await.unwrap();
    let Conn::Sqlite(c) = reader.conn() else { unreachable!() };
    let journal: String = sqlx::query_scalar("PRAGMA journal_mode").fetch_one(&mut *c).await.unwrap();
    let synchronous: i64 = sqlx::query_scalar("PRAGMA synchronous").fetch_one(&mut *c).await.unwrap();
    let secure_delete: i64 = sqlx::query_scalar("PRAGMA secure_delete").fetch_one(&mut *c).await.unwrap();
    let foreign_keys: i64 = sqlx::query_scalar("PRAGMA foreign_keys").fetch_one(&mut *c).await.unwrap();
    assert_eq!((journal.as_str(), synchronous, secure_delete, foreign_keys), ("wal", 2, 1, 1));
}

/// Each writer reads, then writes, in one transaction: with deferred transactions on
/// SQLite this pattern fails with SQLITE_BUSY_SNAPSHOT under contention.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_handles_on_one_database_write_concurrently_without_busy_errors() {
    on_each_backend(|db| async move {
        let server = open_migrated(&db).await;
        let cli = open(&db).await;
        let writes_per_handle = 40;
        let tasks: Vec<_> = [server.clone(), cli.clone()]
            .into_iter()
            .enumerate()
            .map(|(handle, store)| {
                tokio::spawn(async move {
                    for index in 0..writes_per_handle {
                        let mut tx = store.begin().await.unwrap();
                        let _ = merchants::list(tx.conn(), None, 1).await.unwrap();
                        merchants::insert(tx.conn(), &merchant(handle * 1000 + index)).await.unwrap();
                        tx.commit().await.unwrap();
                    }
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
        let mut reader = server.reader().await.unwrap();
        assert_eq!(merchants::list(reader.conn(), None, 100).await.unwrap().len(), 80);
    })
    .await;
}

#[tokio::test]
async fn a_transaction_dropped_without_commit_leaves_nothing() {
    on_each_backend(|db| async move {
        let store = open_migrated(&db).await;
        let mut tx = store.begin().await.unwrap();
        merchants::insert(tx.conn(), &merchant(1)).await.unwrap();
        drop(tx);
        let mut reader = store.reader().await.unwrap();
        assert!(merchants::list(reader.conn(), None, 10).await.unwrap().is_empty());
    })
    .await;
}

#[tokio::test]
async fn a_duplicate_id_is_reported_as_a_unique_violation() {
    on_each_backend(|db| async move {
        let store = open_migrated(&db).await;
        let mut tx = store.begin().await.unwrap();
        merchants::insert(tx.conn(), &merchant(1)).await.unwrap();
        let error = merchants::insert(tx.conn(), &merchant(1)).await.unwrap_err();
        assert!(matches!(error, StoreError::UniqueViolation), "{error:?}");
    })
    .await;
}

fn merchant(seed: usize) -> Merchant {
    let mut random = [0_u8; 10];
    random[..8].copy_from_slice(&(seed as u64).to_be_bytes());
    Merchant {
        id: MerchantId::generate(at(1_700_000_000_000), random),
        name: MerchantName::parse("Shop").unwrap(),
        status: MerchantStatus::Active,
        created: at(1_700_000_000_000),
    }
}

/// `count` independent handles on one database, as separate processes would hold.
async fn open_several<F, Fut>(count: usize, make: F) -> Vec<Store>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Store>,
{
    let mut stores = Vec::with_capacity(count);
    for _ in 0..count {
        stores.push(make().await);
    }
    stores
}

/// Units written at once land together when they succeed, and one failing unit (here a
/// duplicate id) takes nothing else down with it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writes_succeed_or_fail_each_on_their_own() {
    on_each_backend(|db| async move {
        let store = open_migrated(&db).await;
        let first = merchant(0);
        store.write(move |tx| Box::pin(async move { merchants::insert(tx.conn(), &first).await })).await.unwrap();
        let tasks: Vec<_> = (0..64)
            .map(|index| {
                let store = store.clone();
                // Every odd unit reuses the id already stored, so it must fail.
                let candidate = if index % 2 == 1 { merchant(0) } else { merchant(index + 1) };
                tokio::spawn(async move {
                    store.write(move |tx| Box::pin(async move { merchants::insert(tx.conn(), &candidate).await })).await
                })
            })
            .collect();
        let mut outcomes = Vec::new();
        for task in tasks {
            outcomes.push(task.await.unwrap());
        }
        for (index, outcome) in outcomes.iter().enumerate() {
            match (index % 2, outcome) {
                (0, Ok(())) | (1, Err(StoreError::UniqueViolation)) => {}
                other => panic!("unit {index}: unexpected {other:?}"),
            }
        }
        let mut reader = store.reader().await.unwrap();
        assert_eq!(merchants::list(reader.conn(), None, 100).await.unwrap().len(), 33);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_unit_fails_alone() {
    on_each_backend(|db| async move {
        let store = open_migrated(&db).await;
        let panicking = store.clone();
        let doomed = tokio::spawn(async move {
            panicking
                .write(|tx| {
                    Box::pin(async move {
                        merchants::insert(tx.conn(), &merchant(1)).await?;
                        panic!("a bug in a use case");
                        #[allow(unreachable_code)]
                        Ok::<(), StoreError>(())
                    })
                })
                .await
        });
        let healthy = store.write(|tx| Box::pin(async move { merchants::insert(tx.conn(), &merchant(2)).await }));
        assert!(healthy.await.is_ok());
        // On PostgreSQL the panic unwinds through the caller's own task.
        assert!(doomed.await.map_or(true, |outcome| outcome.is_err()));
        let mut reader = store.reader().await.unwrap();
        let ids: Vec<MerchantId> =
            merchants::list(reader.conn(), None, 10).await.unwrap().into_iter().map(|m| m.id).collect();
        assert_eq!(ids, vec![merchant(2).id], "the panicking unit's insert was rolled back");
    })
    .await;
}

/// On SQLite, units sharing a commit run one after another inside it, so a check made by
/// one unit sees every earlier unit's writes: two units cannot both pass a
/// "nothing like this exists yet" check.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn units_sharing_a_sqlite_commit_see_each_others_writes() {
    let db = TestDatabase::create(&Backend::Sqlite).await;
    let store = open_migrated(&db).await;
    let tasks: Vec<_> = (0..50)
        .map(|index| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .write(move |tx| {
                        Box::pin(async move {
                            if merchants::list(tx.conn(), None, 1).await?.is_empty() {
                                merchants::insert(tx.conn(), &merchant(index)).await?;
                                return Ok::<bool, StoreError>(true);
                            }
                            Ok(false)
                        })
                    })
                    .await
            })
        })
        .collect();
    let mut inserted = 0;
    for task in tasks {
        inserted += usize::from(task.await.unwrap().unwrap());
    }
    assert_eq!(inserted, 1);
}
