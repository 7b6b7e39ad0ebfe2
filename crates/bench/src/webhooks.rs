//! The webhook scenario: how fast the outbox drains to a local receiver, and how long a
//! payment's `payment.succeeded` takes from the API's answer to the receiver.
//!
//! Two phases. Backlog: payments are made with the dispatcher stopped, then it starts and
//! the time until the receiver holds every delivery gives deliveries per second. Live:
//! with the dispatcher running, a few clients make payments, and each payment's latency
//! runs from its acknowledged response to the moment its event arrived.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

use crate::client::{Connection, post_request};

/// How long the deliveries of a phase may take to arrive before the run gives up.
const ARRIVAL_WAIT_MS_MAX: u64 = 120_000;
/// Clients making payments in the live phase: a steady flow, not a flood.
const LIVE_CLIENTS: usize = 4;

/// When each payment's event arrived, by payment id.
type Arrivals = Arc<Mutex<HashMap<String, Instant>>>;

/// A receiver on 127.0.0.1 that answers 200 and notes when each payment's event arrived.
pub struct Receiver {
    pub url: String,
    arrivals: Arrivals,
}

impl Receiver {
    pub async fn start() -> anyhow::Result<Receiver> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}/hook", listener.local_addr()?);
        let arrivals = Arrivals::default();
        let shared = Arc::clone(&arrivals);
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(serve(stream, Arc::clone(&shared)));
            }
        });
        Ok(Receiver { url, arrivals })
    }

    fn count(&self) -> usize {
        self.arrivals.lock().map_or(0, |arrivals| arrivals.len())
    }

    /// Waits until `expected` payments have arrived; the time it took, or an error.
    async fn wait_for(&self, expected: usize) -> anyhow::Result<Instant> {
        let deadline = Instant::now() + Duration::from_millis(ARRIVAL_WAIT_MS_MAX);
        while self.count() < expected {
            anyhow::ensure!(Instant::now() < deadline, "only {} of {expected} deliveries arrived", self.count());
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        Ok(Instant::now())
    }
}

/// One keep-alive connection from the dispatcher: requests until it closes.
async fn serve(stream: TcpStream, arrivals: Arrivals) {
    let (reader, mut writer) = stream.into_split();
    let mut reader = BufReader::new(reader);
    loop {
        let (mut length, mut line) = (0_usize, String::new());
        loop {
            line.clear();
            if reader.read_line(&mut line).await.unwrap_or(0) == 0 {
                return;
            }
            let trimmed = line.trim_end();
            if trimmed.is_empty() {
                break;
            }
            if let Some((name, value)) = trimmed.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).await.is_err() {
            return;
        }
        if let Some(payment_id) = payment_id_in(&body)
            && let Ok(mut arrivals) = arrivals.lock()
        {
            arrivals.entry(payment_id).or_insert_with(Instant::now);
        }
        if writer.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n").await.is_err() {
            return;
        }
    }
}

/// The payment id of a delivered `payment.succeeded` event: the first `"pay_…"` in it.
fn payment_id_in(body: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(body).ok()?;
    let start = text.find("\"id\":\"pay_")? + "\"id\":\"".len();
    let end = start + text[start..].find('"')?;
    Some(text[start..end].to_owned())
}

/// What the two phases measured.
pub struct WebhookResult {
    pub backlog: usize,
    pub drain: Duration,
    /// From each live payment's response to its event's arrival, sorted.
    pub latencies_us: Vec<u32>,
}

/// Registers the receiver for `payment.succeeded` with the demo merchant's key.
pub async fn register(address: SocketAddr, api_key: &str, receiver: &Receiver) -> anyhow::Result<()> {
    let body = format!(r#"{{"url":"{}","enabled_events":["payment.succeeded"]}}"#, receiver.url);
    let mut connection = Connection::open(address).await?;
    let response = connection.exchange(&post_request(address, "/v1/webhook_endpoints", Some(api_key), &body)).await?;
    anyhow::ensure!(response.status == 200, "creating the webhook endpoint answered {}", response.status);
    Ok(())
}

/// Makes `count` payments from `clients` connections; each acknowledged payment's id and
/// the moment its response arrived.
pub async fn make_payments(
    address: SocketAddr,
    api_key: &str,
    prefix: &'static str,
    count: usize,
    clients: usize,
) -> anyhow::Result<Vec<(String, Instant)>> {
    let mut tasks = tokio::task::JoinSet::new();
    for client in 0..clients {
        let api_key = api_key.to_owned();
        tasks.spawn(async move {
            let mut connection = Connection::open(address).await?;
            let mut made = Vec::new();
            for index in (client..count).step_by(clients) {
                let body = crate::scenarios::payment_body(&format!("{prefix}-{index}"));
                let response =
                    connection.exchange(&post_request(address, "/v1/payments", Some(&api_key), &body)).await?;
                let at = Instant::now();
                if response.status == 200
                    && let Some(id) = payment_id_in(response.body)
                {
                    made.push((id, at));
                }
            }
            Ok::<_, anyhow::Error>(made)
        });
    }
    let mut made = Vec::with_capacity(count);
    while let Some(done) = tasks.join_next().await {
        made.extend(done??);
    }
    Ok(made)
}

/// The backlog phase: `count` payments wait, then `start_dispatcher` is called and the
/// receiver timed until it holds them all.
pub async fn drain_backlog(
    address: SocketAddr,
    api_key: &str,
    receiver: &Receiver,
    count: usize,
    clients: usize,
    start_dispatcher: impl FnOnce(),
) -> anyhow::Result<(usize, Duration)> {
    let made = make_payments(address, api_key, "hook-backlog", count, clients).await?;
    let started = Instant::now();
    start_dispatcher();
    let arrived = receiver.wait_for(made.len()).await?;
    Ok((made.len(), arrived - started))
}

/// The live phase: `count` payments from a few clients while the dispatcher runs.
pub async fn live_latencies(
    address: SocketAddr,
    api_key: &str,
    receiver: &Receiver,
    count: usize,
) -> anyhow::Result<Vec<u32>> {
    let already = receiver.count();
    let made = make_payments(address, api_key, "hook-live", count, LIVE_CLIENTS).await?;
    receiver.wait_for(already + made.len()).await?;
    let arrivals = receiver.arrivals.lock().map_err(|_| anyhow::anyhow!("the receiver panicked"))?;
    let mut latencies: Vec<u32> = made
        .iter()
        .filter_map(|(id, acknowledged)| {
            arrivals.get(id).map(|arrived| arrived.saturating_duration_since(*acknowledged))
        })
        .map(|latency| u32::try_from(latency.as_micros()).unwrap_or(u32::MAX))
        .collect();
    latencies.sort_unstable();
    Ok(latencies)
}
