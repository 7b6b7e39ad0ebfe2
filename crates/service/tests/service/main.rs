//! Use cases across several instances on one database: first-start setup happens once,
//! and an instance holding other server keys refuses to start.

#![allow(clippy::unwrap_used)]

mod idempotency;
mod jobs;
mod verify;
mod webhook_signature;

use std::sync::Arc;

use payrail_domain::Timestamp;
use payrail_service::{Payrail, ServerKeys, SystemClock};
use payrail_store::Store;
use payrail_testkit::{TestDatabase, on_each_backend};

async fn instance(db: &TestDatabase, keys: ServerKeys) -> Payrail {
    let store = Store::open(&db.url, &db.options).await.unwrap();
    store.migrate(Timestamp::from_unix_ms(1).unwrap()).await.unwrap();
    Payrail::new(store, Arc::new(SystemClock), keys)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instances_starting_at_once_set_up_the_database_exactly_once() {
    on_each_backend(|db| async move {
        let key_text = ServerKeys::generate().to_text();
        let mut instances = Vec::new();
        for _ in 0..4 {
            instances.push(instance(&db, ServerKeys::parse(key_text.expose()).unwrap()).await);
        }
        let tasks: Vec<_> = instances
            .iter()
            .cloned()
            .map(|payrail| {
                tokio::spawn(async move {
                    payrail.verify_server_keys().await.unwrap();
                    payrail.bootstrap().await.unwrap()
                })
            })
            .collect();
        let mut created = Vec::new();
        for task in tasks {
            if let Some(bootstrapped) = task.await.unwrap() {
                created.push(bootstrapped);
            }
        }
        assert_eq!(created.len(), 1, "exactly one instance sets up the database");
        let merchants = instances[0].list_merchants(None, 100).await.unwrap();
        assert_eq!(merchants.len(), 1);
        // Every instance accepts the key the winner printed.
        for payrail in &instances {
            let secret = payrail_domain::ApiKeySecret::parse(created[0].demo_key.secret.expose()).unwrap();
            assert_eq!(payrail.authenticate(&secret).await.unwrap().merchant.id, merchants[0].id);
        }
    })
    .await;
}

#[tokio::test]
async fn an_instance_with_other_server_keys_refuses_to_start() {
    on_each_backend(|db| async move {
        let first = instance(&db, ServerKeys::generate()).await;
        first.verify_server_keys().await.unwrap();
        let stranger = instance(&db, ServerKeys::generate()).await;
        let error = stranger.verify_server_keys().await.unwrap_err().to_string();
        assert!(error.contains("server key does not match"), "{error}");
        // The first instance's check value is untouched.
        first.verify_server_keys().await.unwrap();
    })
    .await;
}
