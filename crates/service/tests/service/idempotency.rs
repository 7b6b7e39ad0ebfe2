//! A request's answer is recorded in the unit that commits its effects, so a request that
//! dies after changing something is answered on retry, never run a second time.

use std::time::Duration;

use payrail_channels::card_network::CardNetworkClient;
use payrail_domain::idempotency::IdempotencyKey;
use payrail_domain::{ApiKeySecret, Clock, Mode, Secret};
use payrail_service::{
    Caller, CardInput, Cursor, IdempotencyClaim, NewPayment, PaymentFilter, PaymentMethodInput, Payrail, ServerKeys,
};
use payrail_testkit::on_each_backend;
use serde_json::Value;

use crate::instance;

/// The demo merchant's test-mode caller, running under `key` (claimed with a lease that
/// lapses at once).
async fn caller_with_key(payrail: &Payrail, key: &IdempotencyKey) -> Caller {
    payrail.verify_server_keys().await.unwrap();
    let bootstrapped = payrail.bootstrap().await.unwrap().unwrap();
    let secret = ApiKeySecret::parse(bootstrapped.demo_key.secret.expose()).unwrap();
    let caller = payrail.authenticate(&secret).await.unwrap();
    let IdempotencyClaim::Run(running) = claim(payrail, &caller, key).await else { panic!("a fresh key is claimed") };
    Caller { idempotency: Some(running), ..caller }
}

fn order(number: &str, card: Option<CardInput>) -> NewPayment {
    NewPayment {
        amount_minor: 1_000,
        currency: "usd".into(),
        merchant_order_no: number.into(),
        confirm: card.is_some(),
        payment_method: card.map(PaymentMethodInput::Card),
        ..NewPayment::default()
    }
}

/// Claims `key` with a lease that lapses at once: the request holding it is presumed dead.
async fn claim(payrail: &Payrail, caller: &Caller, key: &IdempotencyKey) -> IdempotencyClaim {
    payrail.claim_idempotency_key(caller, key, None, "fingerprint".into(), 0).await.unwrap()
}

/// A card network that accepts connections and never answers: its URL and its task.
async fn silent_network() -> (String, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    (url, task)
}

fn replayed(claim: IdempotencyClaim) -> (u16, Value) {
    match claim {
        IdempotencyClaim::Replay(stored) => (stored.status, serde_json::from_str(&stored.body).unwrap()),
        IdempotencyClaim::Run(_) => panic!("the request would run a second time"),
    }
}

#[tokio::test]
async fn a_request_that_dies_after_committing_is_replayed_not_run_again() {
    on_each_backend(|db| async move {
        let payrail = instance(&db, ServerKeys::generate()).await;
        let key = IdempotencyKey::parse("create-1").unwrap();
        let caller = caller_with_key(&payrail, &key).await;
        assert!(matches!(claim(&payrail, &caller, &key).await, IdempotencyClaim::Run(_)));
        let created = payrail.create_payment(&caller, order("idem-1", None)).await.unwrap();
        assert!(caller.idempotency.as_ref().unwrap().is_answered());
        // The HTTP layer never got to store the response: the answer is there regardless.
        let (status, body) = replayed(claim(&payrail, &caller, &key).await);
        assert_eq!((status, body["id"].as_str()), (200, Some(created.id.as_str())));
    })
    .await;
}

#[tokio::test]
async fn a_charge_that_dies_waiting_for_the_network_answers_with_the_payment_in_processing() {
    on_each_backend(|db| async move {
        let (url, silent) = silent_network().await;
        let client = CardNetworkClient::new(&url, Secret::new("key".into()), 60_000).unwrap();
        let payrail = instance(&db, ServerKeys::generate()).await.with_card_network(Mode::Test, client);
        let key = IdempotencyKey::parse("charge-1").unwrap();
        let caller = caller_with_key(&payrail, &key).await;
        assert!(matches!(claim(&payrail, &caller, &key).await, IdempotencyClaim::Run(_)));
        let card = CardInput {
            number: Secret::new("4242424242424242".into()),
            exp_month: 12,
            exp_year: 2040,
            cvc: Secret::new("123".into()),
        };
        let charging = tokio::spawn({
            let (payrail, caller) = (payrail.clone(), caller.clone());
            async move { payrail.create_payment(&caller, order("idem-2", Some(card))).await }
        });
        let processing = loop {
            let page = payrail.list_payments(&caller, &PaymentFilter::default(), &Cursor::First, 10).await.unwrap();
            if let Some(payment) = page.payments.first() {
                break payment.clone();
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        };
        // The process dies while the network holds the request.
        charging.abort();
        silent.abort();
        assert!(!caller.idempotency.as_ref().unwrap().is_answered());
        let (status, body) = replayed(claim(&payrail, &caller, &key).await);
        assert_eq!((status, body["id"].as_str()), (200, Some(processing.id.as_str())));
        assert_eq!(body["status"], "processing", "{body}");
    })
    .await;
}

#[tokio::test]
async fn a_payment_stuck_in_processing_is_queried_less_and_less_often() {
    on_each_backend(|db| async move {
        let (url, silent) = silent_network().await;
        let clock = payrail_service::ManualClock::starting_at(
            payrail_domain::Timestamp::from_unix_ms(1_800_000_000_000).unwrap(),
        );
        let store = payrail_store::Store::open(&db.url, &db.options).await.unwrap();
        store.migrate(clock.now()).await.unwrap();
        let client = CardNetworkClient::new(&url, Secret::new("key".into()), 200).unwrap();
        let payrail = Payrail::new(store, std::sync::Arc::new(clock.clone()), ServerKeys::generate())
            .with_card_network(Mode::Test, client);
        let key = IdempotencyKey::parse("stuck-1").unwrap();
        let caller = caller_with_key(&payrail, &key).await;
        let card = CardInput {
            number: Secret::new("4242424242424242".into()),
            exp_month: 12,
            exp_year: 2040,
            cvc: Secret::new("123".into()),
        };
        // The network never answers the charge nor the query after it: the payment is processing.
        let paid = payrail.create_payment(&caller, order("stuck-1", Some(card))).await.unwrap();
        assert_eq!(paid.status, payrail_domain::payment::PaymentStatus::Processing);
        let due = |payrail: Payrail| async move {
            let mut reader = payrail.store().reader().await.unwrap();
            let statuses = [payrail_domain::payment::PaymentStatus::Processing];
            let now = payrail.clock().now();
            payrail_store::payments::due(
                reader.conn(),
                &statuses,
                payrail_store::payments::SweepClock::NextQuery,
                now,
                10,
            )
            .await
            .unwrap()
            .len()
        };
        for (advance_ms, expected_due) in [(59_000, 0), (2_000, 1)] {
            clock.advance_ms(advance_ms);
            assert_eq!(due(payrail.clone()).await, expected_due);
        }
        // The sweep asks, hears nothing, and waits as long as the payment has waited so far.
        assert_eq!(payrail.sweep_payments().await.unwrap().attempts_resolved, 0);
        for (advance_ms, expected_due) in [(60_000, 0), (2_000, 1)] {
            clock.advance_ms(advance_ms);
            assert_eq!(due(payrail.clone()).await, expected_due, "after {advance_ms} ms more");
        }
        payrail.sweep_payments().await.unwrap();
        for (advance_ms, expected_due) in [(120_000, 0), (5_000, 1)] {
            clock.advance_ms(advance_ms);
            assert_eq!(due(payrail.clone()).await, expected_due, "the wait doubled");
        }
        silent.abort();
    })
    .await;
}
