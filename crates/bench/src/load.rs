//! The load generator: `concurrency` tasks, each with one keep-alive connection, sending
//! the scenario's request back to back (a closed loop) through a warmup and a measured
//! window. A `GET` is the same bytes every time; a `POST` gets a new body per request, so
//! that each can carry a unique field (a payment's `merchant_order_no`).
//!
//! Every loop is bounded twice, by time and by a shared cap on requests, so a run always
//! stops by itself. Each task keeps its own latencies, merged once at the end, so that
//! measuring takes no lock on the hot path.

use std::borrow::Cow;
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
/// How much of a failed response's body the report shows.
const BODY_SHOWN_BYTES_MAX: usize = 200;

pub struct LoadPlan {
    pub address: SocketAddr,
    pub concurrency: u16,
    pub warmup: Duration,
    pub duration: Duration,
}

/// Builds the JSON body of a task's `sequence`th request (warmup included), counted from 0
/// per task; the pair is unique within a scenario.
pub type BodyFn = fn(task: u16, sequence: u64) -> String;

pub struct Scenario {
    pub title: &'static str,
    /// What one successful request is called in the throughput line (`payments`, `requests`).
    pub unit: &'static str,
    pub path: &'static str,
    pub api_key: Option<String>,
    /// `Some` makes the scenario a `POST` with this body; `None` a `GET`.
    pub body: Option<BodyFn>,
    /// Text that a 200 response's body must contain for the request to count as a success.
    pub expected_in_body: Option<&'static str>,
}

/// What one scenario measured.
pub struct LoadResult {
    /// Latencies of the successful measured requests, in microseconds, sorted ascending.
    pub latencies_us: Vec<u32>,
    /// Failed requests (non-200 or I/O error) in the measured window.
    pub errors: u64,
    /// Failed requests during the warmup.
    pub errors_warmup: u64,
    /// Successful requests during the warmup.
    pub ok_warmup: u64,
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

    /// Successful requests, warmup included: what the server acknowledged.
    pub fn ok_total(&self) -> u64 {
        u64::try_from(self.latencies_us.len()).unwrap_or(u64::MAX).saturating_add(self.ok_warmup)
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
    ok_warmup: u64,
    first_error: Option<String>,
    last_measured: Option<Instant>,
}

/// Where a task's requests come from.
#[derive(Clone)]
enum Requests {
    /// The same bytes every time (a `GET`).
    Fixed(Arc<[u8]>),
    /// A new `POST` per request, its body built from the task and the request's sequence.
    Numbered { address: SocketAddr, path: &'static str, api_key: Option<Arc<str>>, body: BodyFn },
}

impl Requests {
    fn of(address: SocketAddr, scenario: &Scenario) -> Requests {
        let api_key = scenario.api_key.as_deref();
        match scenario.body {
            None => Requests::Fixed(client::get_request(address, scenario.path, api_key).into()),
            Some(body) => Requests::Numbered { address, path: scenario.path, api_key: api_key.map(Arc::from), body },
        }
    }

    fn request(&self, task: u16, sequence: u64) -> Cow<'_, [u8]> {
        match self {
            Requests::Fixed(bytes) => Cow::Borrowed(bytes),
            Requests::Numbered { address, path, api_key, body } => {
                Cow::Owned(client::post_request(*address, path, api_key.as_deref(), &body(task, sequence)))
            }
        }
    }
}

/// How one exchange ended.
enum Outcome {
    Success,
    /// A complete response that does not count as a success; the connection stays usable.
    Refused(String),
    /// An I/O error or a timeout, after which the connection's state is unknown.
    Broken(String),
}

pub async fn run(plan: &LoadPlan, scenario: &Scenario) -> anyhow::Result<LoadResult> {
    let requests = Requests::of(plan.address, scenario);
    let expected_in_body: Option<Arc<[u8]>> = scenario.expected_in_body.map(|text| text.as_bytes().into());
    let measure_from = Instant::now() + plan.warmup;
    let window = Window { measure_from, stop_at: measure_from + plan.duration };
    let requests_started = Arc::new(AtomicU64::new(0));
    let mut tasks = JoinSet::new();
    for task in 0..plan.concurrency {
        let client = TaskClient {
            task,
            address: plan.address,
            requests: requests.clone(),
            expected_in_body: expected_in_body.clone(),
        };
        tasks.spawn(send_until_done(client, window, Arc::clone(&requests_started)));
    }
    let mut merged = TaskResult::default();
    while let Some(joined) = tasks.join_next().await {
        let task = joined.map_err(|error| anyhow::anyhow!("a load task failed: {error}"))?;
        merged.latencies_us.extend(task.latencies_us);
        merged.errors = merged.errors.saturating_add(task.errors);
        merged.errors_warmup = merged.errors_warmup.saturating_add(task.errors_warmup);
        merged.ok_warmup = merged.ok_warmup.saturating_add(task.ok_warmup);
        merged.first_error = merged.first_error.or(task.first_error);
        merged.last_measured = merged.last_measured.max(task.last_measured);
    }
    merged.latencies_us.sort_unstable();
    let elapsed = merged.last_measured.map_or(plan.duration, |last| last.saturating_duration_since(measure_from));
    Ok(LoadResult {
        latencies_us: merged.latencies_us,
        errors: merged.errors,
        errors_warmup: merged.errors_warmup,
        ok_warmup: merged.ok_warmup,
        first_error: merged.first_error,
        elapsed,
        capped: requests_started.load(Ordering::Relaxed) >= REQUESTS_MAX,
    })
}

/// One client: sends requests back to back until the window closes or the cap is reached.
/// A request counts as measured when it starts inside the window; the last one may finish
/// just after the window closes, which `elapsed` accounts for.
async fn send_until_done(client: TaskClient, window: Window, requests_started: Arc<AtomicU64>) -> TaskResult {
    let mut result = TaskResult::default();
    let mut connection: Option<Connection> = None;
    for sequence in 0_u64.. {
        // Built before the clock starts: the request's cost is the load generator's, not the server's.
        let request = client.requests.request(client.task, sequence);
        let started = Instant::now();
        if started >= window.stop_at || requests_started.fetch_add(1, Ordering::Relaxed) >= REQUESTS_MAX {
            break;
        }
        let measured = started >= window.measure_from;
        let outcome =
            tokio::time::timeout(Duration::from_millis(REQUEST_TIMEOUT_MS), client.exchange(&mut connection, &request))
                .await
                .unwrap_or_else(|_| Outcome::Broken(format!("no response within {REQUEST_TIMEOUT_MS} ms")));
        let finished = Instant::now();
        let failure = match outcome {
            Outcome::Success => None,
            Outcome::Refused(error) => Some(error),
            Outcome::Broken(error) => {
                connection = None;
                Some(error)
            }
        };
        if measured {
            result.last_measured = Some(finished);
        }
        match failure {
            None if measured => result.latencies_us.push(micros(finished - started)),
            None => result.ok_warmup += 1,
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

/// What one task needs to send its requests and judge the responses.
struct TaskClient {
    task: u16,
    address: SocketAddr,
    requests: Requests,
    expected_in_body: Option<Arc<[u8]>>,
}

impl TaskClient {
    /// Sends one request on `connection`, connecting first if there is none.
    async fn exchange(&self, connection: &mut Option<Connection>, request: &[u8]) -> Outcome {
        let open = match connection {
            Some(open) => open,
            None => match Connection::open(self.address).await {
                Ok(opened) => connection.insert(opened),
                Err(error) => return Outcome::Broken(format!("connect: {error}")),
            },
        };
        let response = match open.exchange(request).await {
            Ok(response) => response,
            Err(error) => return Outcome::Broken(error.to_string()),
        };
        let outcome = self.judge(response.status, response.body);
        if !response.keep_alive {
            *connection = None;
        }
        outcome
    }

    fn judge(&self, status: u16, body: &[u8]) -> Outcome {
        let expected = self.expected_in_body.as_deref().unwrap_or_default();
        if status == 200 && (expected.is_empty() || body.windows(expected.len()).any(|window| window == expected)) {
            return Outcome::Success;
        }
        // The start of the body names the error (`{"error":{"code":…`) or the payment's state.
        let shown = &body[..body.len().min(BODY_SHOWN_BYTES_MAX)];
        Outcome::Refused(format!("status {status}: {}", String::from_utf8_lossy(shown)))
    }
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

    fn numbered(task: u16, sequence: u64) -> String {
        format!(r#"{{"merchant_order_no":"test-{task}-{sequence}"}}"#)
    }

    /// Runs a short scenario against a server that always sends `response`.
    async fn check(response: &'static str, body: Option<BodyFn>, expected_in_body: Option<&'static str>, ok: bool) {
        let address = answering(response).await;
        let plan = LoadPlan { address, concurrency: 2, warmup: Duration::ZERO, duration: Duration::from_millis(200) };
        let api_key = Some("sk_test_x".to_owned());
        let scenario = Scenario { title: "test", unit: "requests", path: "/", api_key, body, expected_in_body };
        let result = run(&plan, &scenario).await.expect("load runs");
        if ok {
            assert!(result.errors == 0 && !result.latencies_us.is_empty(), "{:?}", result.first_error);
            assert!(result.latencies_us.is_sorted());
            assert_eq!(result.ok_total(), u64::try_from(result.latencies_us.len()).expect("fits"));
        } else {
            assert!(result.errors > 0 && result.latencies_us.is_empty(), "{:?}", result.first_error);
            assert_eq!(result.ok_total(), 0);
        }
    }

    #[tokio::test]
    async fn ok_responses_are_measured_and_every_other_status_is_an_error() {
        check("HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}", None, None, true).await;
        check("HTTP/1.1 500 Internal Server Error\r\ncontent-length: 2\r\n\r\n{}", None, None, false).await;
        check("HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\n", None, None, false).await;
    }

    #[tokio::test]
    async fn a_200_counts_only_when_its_body_holds_the_expected_text() {
        let succeeded = "HTTP/1.1 200 OK\r\ncontent-length: 22\r\n\r\n{\"status\":\"succeeded\"}";
        let processing = "HTTP/1.1 200 OK\r\ncontent-length: 23\r\n\r\n{\"status\":\"processing\"}";
        let expected = Some(r#""status":"succeeded""#);
        check(succeeded, Some(numbered), expected, true).await;
        check(processing, Some(numbered), expected, false).await;
        check(succeeded, None, expected, true).await;
    }
}
