//! Three `payrail serve` processes on one PostgreSQL database and a receiver counting
//! webhook deliveries: with no failures every event arrives exactly once; with one
//! process killed mid-run, the others deliver everything (at least once).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use payrail_testkit::{Backend, TestDatabase, backends};

use crate::helpers::{Setup, card_payment_body, test_key_in};
use crate::http::{http_get, http_post};
use crate::receiver::Receiver;
use crate::server::Server;

const INSTANCES: usize = 3;
const CLIENTS: usize = 6;
const FIRST_PHASE_PAYMENTS: usize = 1_200;
const SECOND_PHASE_PAYMENTS: usize = 600;
/// Acknowledged payments of the second phase after which one instance is killed.
const KILL_AFTER: usize = 150;
/// How long the deliveries may take to arrive, at most.
const DELIVERY_WAIT_MS_MAX: u64 = 120_000;

fn payment_body(index: usize) -> String {
    card_payment_body(&format!("multi-{index}"), 100 + index)
}

/// Creates payments `range` from `CLIENTS` threads, each spreading its requests over the
/// instances still listed in `ports`; counts the acknowledged ones.
fn create_payments(
    ports: &Arc<Mutex<Vec<u16>>>,
    secret: &str,
    range: std::ops::Range<usize>,
    acknowledged: &Arc<AtomicUsize>,
) -> Vec<std::thread::JoinHandle<()>> {
    let next = Arc::new(AtomicUsize::new(range.start));
    (0..CLIENTS)
        .map(|_| {
            let (ports, secret, next, acknowledged, end) =
                (Arc::clone(ports), secret.to_owned(), Arc::clone(&next), Arc::clone(acknowledged), range.end);
            std::thread::spawn(move || {
                loop {
                    let index = next.fetch_add(1, Ordering::SeqCst);
                    if index >= end {
                        return;
                    }
                    let port = {
                        let ports = ports.lock().expect("lock");
                        ports[index % ports.len()]
                    };
                    let key = format!("multi-{index}");
                    if http_post(port, "/v1/payments", &secret, &key, &payment_body(index))
                        .is_ok_and(|r| r.status == 200)
                    {
                        acknowledged.fetch_add(1, Ordering::SeqCst);
                    }
                }
            })
        })
        .collect()
}

/// The ids of every `payment.succeeded` event, read page by page.
fn succeeded_events(port: u16, secret: &str) -> Vec<String> {
    let (mut ids, mut after) = (Vec::new(), String::new());
    loop {
        let path = format!("/v1/events?limit=100{after}");
        let page = http_get(port, &path, Some(secret)).expect("list events").json();
        let data = page["data"].as_array().expect("a list").clone();
        for event in &data {
            if event["type"] == "payment.succeeded" {
                ids.push(event["id"].as_str().expect("id").to_owned());
            }
        }
        match data.last() {
            Some(last) if page["has_more"] == true => {
                after = format!("&starting_after={}", last["id"].as_str().expect("id"))
            }
            _ => return ids,
        }
    }
}

/// Waits until the receiver has every one of `ids` (or the bound passes), then returns
/// how often each arrived.
fn wait_for(receiver: &Receiver, ids: &[String]) -> Vec<u32> {
    let deadline = Instant::now() + Duration::from_millis(DELIVERY_WAIT_MS_MAX);
    loop {
        let counts: Vec<u32> = {
            let counts = receiver.counts.lock().expect("lock");
            ids.iter().map(|id| counts.get(id).copied().unwrap_or(0)).collect()
        };
        if counts.iter().all(|count| *count > 0) || Instant::now() > deadline {
            return counts;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_instances_deliver_every_event_once_and_go_on_when_one_is_killed() {
    let Some(postgres) = backends().into_iter().find(|backend| matches!(backend, Backend::Postgres { .. })) else {
        eprintln!("skipped: several instances share a PostgreSQL database, and none is configured");
        return;
    };
    let setup = Setup::new(TestDatabase::create(&postgres).await);
    let receiver = Receiver::start();
    let settings = [("PAYRAIL_WEBHOOK_TIMEOUT_MS", "2000"), ("PAYRAIL_REQUEST_TIMEOUT_MS", "5000")];
    let mut servers: Vec<Server> = Vec::new();
    for _ in 0..INSTANCES {
        let mut server = setup.spawn_server(&settings);
        server.wait_until_ready();
        servers.push(server);
    }
    let secret = servers.iter().find_map(|server| test_key_in(&server.stdout())).expect("one instance set up");
    let endpoint = format!(r#"{{"url":"{}","enabled_events":["payment.succeeded"]}}"#, receiver.url);
    let created = http_post(servers[0].port, "/v1/webhook_endpoints", &secret, "endpoint", &endpoint).expect("create");
    assert_eq!(created.status, 200, "{}", created.body);

    let ports = Arc::new(Mutex::new(servers.iter().map(|server| server.port).collect::<Vec<u16>>()));
    let acknowledged = Arc::new(AtomicUsize::new(0));
    for client in create_payments(&ports, &secret, 0..FIRST_PHASE_PAYMENTS, &acknowledged) {
        client.join().expect("client");
    }
    let events = succeeded_events(servers[0].port, &secret);
    let acknowledged = acknowledged.load(Ordering::SeqCst);
    assert!(events.len() >= acknowledged, "{} payment.succeeded events for {acknowledged} payments", events.len());
    let counts = wait_for(&receiver, &events);
    assert!(
        counts.iter().all(|count| *count == 1),
        "with no failures, each event arrives exactly once: {:?}",
        receiver.totals()
    );

    // Second phase: one instance dies while payments are being made and delivered.
    let second = Arc::new(AtomicUsize::new(0));
    let clients =
        create_payments(&ports, &secret, FIRST_PHASE_PAYMENTS..FIRST_PHASE_PAYMENTS + SECOND_PHASE_PAYMENTS, &second);
    while second.load(Ordering::SeqCst) < KILL_AFTER {
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut killed = servers.pop().expect("three servers");
    ports.lock().expect("lock").retain(|port| *port != killed.port);
    killed.kill_hard();
    for client in clients {
        client.join().expect("client");
    }
    let events = succeeded_events(servers[0].port, &secret);
    assert!(events.len() >= FIRST_PHASE_PAYMENTS + second.load(Ordering::SeqCst), "acknowledged payments exist");
    let counts = wait_for(&receiver, &events);
    let missing = counts.iter().filter(|count| **count == 0).count();
    assert_eq!(missing, 0, "{missing} of {} events never arrived after a kill", events.len());
    for server in servers {
        server.stop();
    }
}
