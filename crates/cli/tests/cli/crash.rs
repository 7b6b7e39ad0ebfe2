//! The server killed with SIGKILL while clients create and confirm payments with
//! idempotency keys: afterwards every acknowledged payment exists once, with its amount,
//! nothing was charged twice, and the ledger verifies.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use payrail_testkit::on_each_backend;

use crate::helpers::{Setup, card_payment_body, test_key_in};
use crate::http::http_post;

const CLIENTS: usize = 4;
const PAYMENTS_PER_CLIENT: usize = 25;
/// Acknowledged payments after which the server is killed.
const KILL_AFTER_ACKNOWLEDGED: usize = 30;

fn payment_body(index: usize) -> String {
    card_payment_body(&format!("crash-{index}"), 1000 + index)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payments_acknowledged_before_a_kill_9_survive_it_exactly_once() {
    on_each_backend(|database| async move {
        let setup = Setup::new(database);
        // A short request timeout makes a key claimed by a killed request lapse quickly.
        let timeout = [("PAYRAIL_REQUEST_TIMEOUT_MS", "2000")];
        let mut server = setup.spawn_server(&timeout);
        server.wait_until_ready();
        let secret = test_key_in(&server.stdout()).expect("first start prints a key");
        let acknowledged: Arc<Mutex<BTreeMap<usize, String>>> = Arc::default();
        let port = server.port;
        let clients: Vec<_> = (0..CLIENTS)
            .map(|client| {
                let (secret, acknowledged) = (secret.clone(), Arc::clone(&acknowledged));
                std::thread::spawn(move || {
                    for offset in 0..PAYMENTS_PER_CLIENT {
                        let index = client * PAYMENTS_PER_CLIENT + offset;
                        let Ok(response) =
                            http_post(port, "/v1/payments", &secret, &format!("k-{index}"), &payment_body(index))
                        else {
                            return;
                        };
                        if response.status == 200 {
                            acknowledged
                                .lock()
                                .expect("lock")
                                .insert(index, response.json()["id"].as_str().expect("id").to_owned());
                        }
                    }
                })
            })
            .collect();
        for _ in 0..600 {
            if acknowledged.lock().expect("lock").len() >= KILL_AFTER_ACKNOWLEDGED {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        server.kill_hard();
        for client in clients {
            client.join().expect("client thread");
        }
        let acknowledged = acknowledged.lock().expect("lock").clone();
        assert!(
            acknowledged.len() >= KILL_AFTER_ACKNOWLEDGED,
            "too few payments before the kill: {}",
            acknowledged.len()
        );

        let mut restarted = setup.spawn_server(&timeout);
        restarted.wait_until_ready();
        // Clients retry what was not acknowledged, with the same keys.
        for index in (0..CLIENTS * PAYMENTS_PER_CLIENT).filter(|i| !acknowledged.contains_key(i)) {
            for _ in 0..40 {
                let response =
                    http_post(restarted.port, "/v1/payments", &secret, &format!("k-{index}"), &payment_body(index))
                        .expect("the restarted server answers");
                if response.status != 409 {
                    break;
                }
                std::thread::sleep(Duration::from_millis(250));
            }
        }
        for (index, id) in &acknowledged {
            let found = restarted.get(&format!("/v1/payments?merchant_order_no=crash-{index}"), Some(&secret)).json();
            let payments = found["data"].as_array().expect("a list");
            assert_eq!(payments.len(), 1, "order crash-{index}: {found}");
            assert_eq!(payments[0]["id"], id.as_str());
            assert_eq!(payments[0]["status"], "succeeded");
            assert_eq!(payments[0]["amount_captured"].as_i64(), i64::try_from(1000 + index).ok());
        }
        let succeeded = restarted.get("/v1/payments?status=succeeded&limit=100", Some(&secret)).json();
        let count = succeeded["data"].as_array().expect("a list").len();
        assert!(count >= acknowledged.len() && count <= CLIENTS * PAYMENTS_PER_CLIENT, "{count} succeeded");
        for log in [server.stderr(), restarted.stderr(), restarted.stdout()] {
            assert!(!log.contains("4242424242424242"), "a card number reached the logs");
        }
        restarted.stop();
        let verified = setup.run(&["ledger", "verify"]);
        assert!(verified.status.success(), "the ledger does not verify after the crash: {}", verified.describe());
    })
    .await;
}
