//! A merchant's webhook receiver on a real local socket: it records what arrives and
//! answers with the status it is told to.

use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;

/// One request as the receiver saw it.
#[derive(Debug, Clone)]
pub struct Received {
    pub headers: HeaderMap,
    pub body: String,
}

#[derive(Clone, Default)]
struct Shared {
    received: Arc<Mutex<Vec<Received>>>,
    status: Arc<AtomicU16>,
}

pub struct Receiver {
    pub url: String,
    shared: Shared,
}

impl Receiver {
    /// Listening on 127.0.0.1, answering 200 at `/hook` until told otherwise.
    pub async fn start() -> Receiver {
        let shared = Shared { status: Arc::new(AtomicU16::new(200)), ..Shared::default() };
        let router = Router::new().route("/hook", post(receive)).with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, router).await });
        Receiver { url, shared }
    }

    pub fn answer(&self, status: u16) {
        self.shared.status.store(status, Ordering::SeqCst);
    }

    pub fn received(&self) -> Vec<Received> {
        self.shared.received.lock().unwrap().clone()
    }
}

async fn receive(State(shared): State<Shared>, headers: HeaderMap, body: Bytes) -> (StatusCode, String) {
    let body = String::from_utf8_lossy(&body).into_owned();
    shared.received.lock().unwrap().push(Received { headers, body });
    let status = StatusCode::from_u16(shared.status.load(Ordering::SeqCst)).unwrap();
    // A long answer, so the log's snippet is seen to be cut at 1 KiB.
    (status, "r".repeat(2_000))
}
