//! The load generator: `concurrency` tasks, each with one keep-alive connection, sending
//! the same request back to back (a closed loop) through a warmup and a measured window.
//!
//! Every loop is bounded twice, by time and by a shared cap on requests, so a run always
//! stops by itself. Each task keeps its own latencies, merged once at the end, so that
//! measuring takes no lock on the hot path.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::task::JoinSet;

use crate::client::{self, Connection};

/// The most requests one scenario sends, warmup included, whatever the duration.
pub const REQUESTS_MAX: u64 = 50_000_000;
/// How long one request may take before it counts as failed.
const REQUEST_TIMEOUT_MS: u64 = 10_000;
/// The pause after a failed request, so a dead server is not hammered in a tight loop.
const ERROR_PAUSE_MS: u64 = 10;

pub struct LoadPlan {
    pub address: SocketAddr,
    pub concurrency: u16,
    pub warmup: Duration,
    pub duration: Duration,
}

pub struct Scenario {
    pub title: &'static str,
    pub path: &'static str,
    pub api_key: Option<String>,
}

/// What one scenario measured.
pub struct LoadResult {
    /// Latencies of the successful measured requests, in microseconds, sorted ascending.
    pub latencies_us: Vec<u32>,
    /// Failed requests (non-200 or I/O error) in the measured window.
    pub errors: u64,
    /// Failed requests during the warmup.
    pub errors_warmup: u64,
    /// The first failure seen, to say what went wrong.
    pub first_error: Option<String>,
    /// From the start of the measured window to the last measured response.
    pub elapsed: Duration,
    /// Whether [`REQUESTS_MAX`] stopped the run before the duration did.
    pub capped: bool,
}

impl LoadResult {
    pub fn errors_total(&self) -> u64 {
        self.errors.saturating_add(self.errors_warmup)
    }
}

/// When measuring starts and when sending stops, shared by every task.
#[derive(Clone, Copy)]
struct Window {
    measure_from: Instant,
    stop_at: Instant,
}

#[derive(Default)]
struct TaskResult {
    latencies_us: Vec<u32>,
    errors: u64,
    errors_warmup: u64,
    first_error: Option<String>,
    last_measured: Option<Instant>,
}

pub async fn run(plan: &LoadPlan, scenario: &Scenario) -> anyhow::Result<LoadResult> {
    let request: Arc<[u8]> = client::get_request(plan.address, scenario.path, scenario.api_key.as_deref()).into();
    let measure_from = Instant::now() + plan.warmup;
    let window = Window { measure_from, stop_at: measure_from + plan.duration };
    let requests_started = Arc::new(AtomicU64::new(0));
    let mut tasks = JoinSet::new();
    for _ in 0..plan.concurrency {
        tasks.spawn(send_until_done(plan.address, Arc::clone(&request), window, Arc::clone(&requests_started)));
    }
    let mut merged = TaskResult::default();
    while let Some(joined) = tasks.join_next().await {
        let task = joined.map_err(|error| anyhow::anyhow!("a load task failed: {error}"))?;
        merged.latencies_us.extend(task.latencies_us);
        merged.errors = merged.errors.saturating_add(task.errors);
        merged.errors_warmup = merged.errors_warmup.saturating_add(task.errors_warmup);
        merged.first_error = merged.first_error.or(task.first_error);
        merged.last_measured = merged.last_measured.max(task.last_measured);
    }
    merged.latencies_us.sort_unstable();
    let elapsed = merged.last_measured.map_or(plan.duration, |last| last.saturating_duration_since(measure_from));
    Ok(LoadResult {
        latencies_us: merged.latencies_us,
        errors: merged.errors,
        errors_warmup: merged.errors_warmup,
        first_error: merged.first_error,
        elapsed,
        capped: requests_started.load(Ordering::Relaxed) >= REQUESTS_MAX,
    })
}

/// One client: sends requests back to back until the window closes or the cap is reached.
/// A request counts as measured when it starts inside the window; the last one may finish
/// just after the window closes, which `elapsed` accounts for.
async fn send_until_done(
    address: SocketAddr,
    request: Arc<[u8]>,
    window: Window,
    requests_started: Arc<AtomicU64>,
) -> TaskResult {
    let mut result = TaskResult::default();
    let mut connection: Option<Connection> = None;
    loop {
        let started = Instant::now();
        if started >= window.stop_at || requests_started.fetch_add(1, Ordering::Relaxed) >= REQUESTS_MAX {
            break;
        }
        let measured = started >= window.measure_from;
        let outcome = tokio::time::timeout(
            Duration::from_millis(REQUEST_TIMEOUT_MS),
            exchange(&mut connection, address, &request),
        )
        .await
        .unwrap_or_else(|_| Err(format!("no response within {REQUEST_TIMEOUT_MS} ms")));
        let finished = Instant::now();
        let failure = match outcome {
            Ok(200) => None,
            Ok(status) => Some(format!("status {status}")),
            Err(error) => {
                // After an I/O error or a timeout the connection's state is unknown.
                connection = None;
                Some(error)
            }
        };
        if measured {
            result.last_measured = Some(finished);
        }
        match failure {
            None if measured => result.latencies_us.push(micros(finished - started)),
            None => {}
            Some(error) => {
                if measured {
                    result.errors += 1;
                } else {
                    result.errors_warmup += 1;
                }
                result.first_error.get_or_insert(error);
                tokio::time::sleep(Duration::from_millis(ERROR_PAUSE_MS)).await;
            }
        }
    }
    result
}

/// Sends one request on `connection`, connecting first if there is none; returns the status.
async fn exchange(connection: &mut Option<Connection>, address: SocketAddr, request: &[u8]) -> Result<u16, String> {
    let open = match connection {
        Some(open) => open,
        None => connection.insert(Connection::open(address).await.map_err(|error| format!("connect: {error}"))?),
    };
    let response = open.exchange(request).await.map_err(|error| error.to_string())?;
    if !response.keep_alive {
        *connection = None;
    }
    Ok(response.status)
}

/// A duration in whole microseconds; a request cannot outlast the timeout, so it fits.
fn micros(duration: Duration) -> u32 {
    u32::try_from(duration.as_micros()).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    use super::*;

    /// A server that answers every request on every connection with `response`.
    async fn answering(response: &'static str) -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let address = listener.local_addr().expect("address");
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let mut buffer = Vec::new();
                    while stream.read_buf(&mut buffer).await.is_ok_and(|read| read > 0) {
                        while let Some(at) = buffer.windows(4).position(|window| window == b"\r\n\r\n") {
                            buffer.drain(..at + 4);
                            if stream.write_all(response.as_bytes()).await.is_err() {
                                return;
                            }
                        }
                    }
                });
            }
        });
        address
    }

    async fn check(response: &'static str, expect_errors: bool) {
        let address = answering(response).await;
        let plan = LoadPlan { address, concurrency: 2, warmup: Duration::ZERO, duration: Duration::from_millis(200) };
        let scenario = Scenario { title: "test", path: "/", api_key: Some("sk_test_x".to_owned()) };
        let result = run(&plan, &scenario).await.expect("load runs");
        if expect_errors {
            assert!(result.errors > 0 && result.latencies_us.is_empty(), "{:?}", result.first_error);
        } else {
            assert!(result.errors == 0 && !result.latencies_us.is_empty(), "{:?}", result.first_error);
            assert!(result.latencies_us.is_sorted());
        }
    }

    #[tokio::test]
    async fn ok_responses_are_measured_and_every_other_status_is_an_error() {
        check("HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}", false).await;
        check("HTTP/1.1 500 Internal Server Error\r\ncontent-length: 2\r\n\r\n{}", true).await;
        check("HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\n", true).await;
    }
}
