//! Sending one webhook delivery attempt to a [`CheckedTarget`] and recording what came back.
//!
//! Invariant: the connection goes to one of the target's checked addresses and nowhere
//! else. Each client resolves names only through [`CheckedAddresses`], which answers with
//! those addresses whatever it is asked; proxies from the environment are off (a proxy
//! would resolve the name itself); redirects are not followed.
//!
//! Invariant: everything is bounded: the whole exchange by `timeout_ms`, the body read by
//! [`SNIPPET_BYTES_MAX`] (the rest is dropped unread), deliveries in flight overall by
//! `concurrency_max` and per host by `concurrency_per_host_max`, and the hosts tracked.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use tokio::sync::Semaphore;

use super::target::CheckedTarget;

/// Most response bytes kept (and read) per attempt.
pub const SNIPPET_BYTES_MAX: usize = 1024;
/// Longest total timeout accepted; a receiver should answer in seconds and do its work later.
pub const TIMEOUT_MS_MAX: u64 = 60_000;
const CONNECT_TIMEOUT_MS_MAX: u64 = 5_000;
/// Most hosts with a limiter and a cached client. Idle ones are forgotten first.
const HOSTS_TRACKED_MAX: usize = 4096;
/// How long an idle keep-alive connection to a receiver is kept for the next delivery.
const IDLE_CONNECTION_MS: u64 = 30_000;
const USER_AGENT: &str = concat!("Payrail/", env!("CARGO_PKG_VERSION"));

/// Limits of a [`WebhookSender`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SenderConfig {
    /// Total time for one attempt, connecting to reading the snippet.
    pub timeout_ms: u64,
    pub concurrency_max: usize,
    /// So one slow receiver cannot take every slot.
    pub concurrency_per_host_max: usize,
}

impl Default for SenderConfig {
    fn default() -> SenderConfig {
        SenderConfig { timeout_ms: 10_000, concurrency_max: 64, concurrency_per_host_max: 4 }
    }
}

/// Why a sender could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SenderConfigError {
    #[error("timeout_ms must be between 1 and {TIMEOUT_MS_MAX}")]
    Timeout,
    #[error("concurrency_max must be at least 1 and concurrency_per_host_max between 1 and concurrency_max")]
    Concurrency,
}

/// What one attempt came to. It succeeded exactly when `error` is `None`, which happens
/// only with a 2xx `status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryResult {
    /// The receiver's HTTP status, if it answered.
    pub status: Option<u16>,
    /// From sending the request to the end of reading the snippet; time spent waiting
    /// for a free slot is not the receiver's and is left out.
    pub latency_ms: u64,
    /// The start of the response body, at most [`SNIPPET_BYTES_MAX`] bytes, cut on a
    /// character boundary (invalid UTF-8 replaced).
    pub snippet: String,
    /// A stable code: `status_not_2xx`, `redirect_not_followed`, `timeout`,
    /// `connection_failed`, `connection_lost`, `body_read_failed`, `request_invalid`,
    /// `client_not_built`, `sender_busy`.
    pub error: Option<String>,
}

impl DeliveryResult {
    pub fn succeeded(&self) -> bool {
        self.error.is_none()
    }

    /// An attempt that failed before anything was sent, for the reason `code`.
    pub fn failed_before_sending(code: &str) -> DeliveryResult {
        DeliveryResult { status: None, latency_ms: 0, snippet: String::new(), error: Some(code.to_owned()) }
    }
}

/// Sends webhook deliveries. Cheap to clone; clones share limits and connections.
#[derive(Clone)]
pub struct WebhookSender {
    inner: Arc<Inner>,
}

struct Inner {
    config: SenderConfig,
    overall: Arc<Semaphore>,
    hosts: Mutex<HashMap<String, HostSlot>>,
}

/// Per host: its limiter, and a client bound to the addresses last checked for it, so
/// that consecutive deliveries reuse a connection. A client is reused only for the very
/// same address set; any change builds a new one.
struct HostSlot {
    permits: Arc<Semaphore>,
    client: Option<(Vec<SocketAddr>, reqwest::Client)>,
}

impl WebhookSender {
    pub fn new(config: SenderConfig) -> Result<WebhookSender, SenderConfigError> {
        if !(1..=TIMEOUT_MS_MAX).contains(&config.timeout_ms) {
            return Err(SenderConfigError::Timeout);
        }
        if config.concurrency_max == 0 || !(1..=config.concurrency_max).contains(&config.concurrency_per_host_max) {
            return Err(SenderConfigError::Concurrency);
        }
        let inner = Inner {
            config,
            overall: Arc::new(Semaphore::new(config.concurrency_max)),
            hosts: Mutex::new(HashMap::new()),
        };
        Ok(WebhookSender { inner: Arc::new(inner) })
    }

    /// POSTs `body` with `headers` to `target`, waiting for a free slot first. Never
    /// fails: every outcome is a [`DeliveryResult`].
    pub async fn send(&self, target: &CheckedTarget, headers: &[(&str, &str)], body: &[u8]) -> DeliveryResult {
        let Some(headers) = header_map(headers) else {
            return DeliveryResult::failed_before_sending("request_invalid");
        };
        let Some(host_permits) = self.host_permits(target) else {
            return DeliveryResult::failed_before_sending("sender_busy");
        };
        // The host's slot is taken before the overall one, so deliveries queued behind a
        // slow receiver do not hold overall slots other receivers could use.
        let Ok(_host_permit) = host_permits.acquire_owned().await else {
            unreachable!("a host's semaphore is never closed");
        };
        let Ok(_overall_permit) = Arc::clone(&self.inner.overall).acquire_owned().await else {
            unreachable!("the overall semaphore is never closed");
        };
        let Ok(client) = self.client_for(target) else {
            return DeliveryResult::failed_before_sending("client_not_built");
        };
        let request = client.post(target.parsed_url().clone()).headers(headers).body(body.to_vec());
        let started = Instant::now();
        let (status, snippet, error) = exchange(request).await;
        let latency_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        DeliveryResult { status, latency_ms, snippet, error: error.map(str::to_owned) }
    }

    /// The host's limiter; `None` when every tracked host is busy and no room is left.
    fn host_permits(&self, target: &CheckedTarget) -> Option<Arc<Semaphore>> {
        let mut hosts = self.inner.hosts.lock().unwrap_or_else(PoisonError::into_inner);
        if !hosts.contains_key(target.host()) && hosts.len() >= HOSTS_TRACKED_MAX {
            // A slot nobody holds or waits for has only the map's reference.
            hosts.retain(|_, slot| Arc::strong_count(&slot.permits) > 1);
            if hosts.len() >= HOSTS_TRACKED_MAX {
                return None;
            }
        }
        let slot = hosts.entry(target.host().to_owned()).or_insert_with(|| HostSlot {
            permits: Arc::new(Semaphore::new(self.inner.config.concurrency_per_host_max)),
            client: None,
        });
        Some(Arc::clone(&slot.permits))
    }

    /// The host's cached client if it is bound to exactly the target's addresses, else a
    /// new one so bound, cached in its place.
    fn client_for(&self, target: &CheckedTarget) -> Result<reqwest::Client, reqwest::Error> {
        let addresses = sorted(target.addresses());
        {
            let hosts = self.inner.hosts.lock().unwrap_or_else(PoisonError::into_inner);
            let cached = hosts.get(target.host()).and_then(|slot| slot.client.as_ref());
            if let Some((_, client)) = cached.filter(|(bound, _)| *bound == addresses) {
                return Ok(client.clone());
            }
        }
        let timeout_ms = self.inner.config.timeout_ms;
        let client = reqwest::Client::builder()
            .timeout(Duration::from_millis(timeout_ms))
            .connect_timeout(Duration::from_millis(timeout_ms.min(CONNECT_TIMEOUT_MS_MAX)))
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .dns_resolver(CheckedAddresses(target.addresses().to_vec()))
            .user_agent(USER_AGENT)
            .pool_max_idle_per_host(self.inner.config.concurrency_per_host_max)
            .pool_idle_timeout(Duration::from_millis(IDLE_CONNECTION_MS))
            .build()?;
        let mut hosts = self.inner.hosts.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(slot) = hosts.get_mut(target.host()) {
            slot.client = Some((addresses, client.clone()));
        }
        Ok(client)
    }
}

/// Sends the request and reads at most [`SNIPPET_BYTES_MAX`] bytes of the answer.
async fn exchange(request: reqwest::RequestBuilder) -> (Option<u16>, String, Option<&'static str>) {
    let mut response = match request.send().await {
        Ok(response) => response,
        Err(error) => return (None, String::new(), Some(transport_error(&error))),
    };
    let status = response.status();
    let mut kept = Vec::with_capacity(SNIPPET_BYTES_MAX);
    let mut read_error = None;
    while kept.len() < SNIPPET_BYTES_MAX {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                let room = SNIPPET_BYTES_MAX - kept.len();
                kept.extend_from_slice(&chunk[..chunk.len().min(room)]);
            }
            Ok(None) => break,
            Err(error) => {
                read_error = Some(if error.is_timeout() { "timeout" } else { "body_read_failed" });
                break;
            }
        }
    }
    // Dropping the response unread closes the connection instead of draining a body that
    // may be endless.
    drop(response);
    let error = read_error.or(if status.is_success() {
        None
    } else if status.is_redirection() {
        Some("redirect_not_followed")
    } else {
        Some("status_not_2xx")
    });
    (Some(status.as_u16()), snippet(&kept), error)
}

/// What a transport failure is called. A timeout is named first, since a connect timeout
/// is both.
fn transport_error(error: &reqwest::Error) -> &'static str {
    if error.is_timeout() {
        "timeout"
    } else if error.is_connect() {
        "connection_failed"
    } else if error.is_builder() {
        "request_invalid"
    } else {
        "connection_lost"
    }
}

/// At most [`SNIPPET_BYTES_MAX`] bytes of `bytes` as text. A character cut in two at the
/// end is dropped rather than shown as a replacement character; invalid bytes elsewhere
/// are replaced, and the result is cut back on a character boundary to stay in bounds.
pub(crate) fn snippet(bytes: &[u8]) -> String {
    let bytes = &bytes[..bytes.len().min(SNIPPET_BYTES_MAX)];
    let complete = match std::str::from_utf8(bytes) {
        Err(error) if error.error_len().is_none() => &bytes[..error.valid_up_to()],
        _ => bytes,
    };
    let mut text = String::from_utf8_lossy(complete).into_owned();
    text.truncate(text.floor_char_boundary(SNIPPET_BYTES_MAX));
    text
}

fn header_map(headers: &[(&str, &str)]) -> Option<HeaderMap> {
    let mut map = HeaderMap::with_capacity(headers.len());
    for (name, value) in headers {
        map.append(HeaderName::from_bytes(name.as_bytes()).ok()?, HeaderValue::from_str(value).ok()?);
    }
    Some(map)
}

fn sorted(addresses: &[SocketAddr]) -> Vec<SocketAddr> {
    let mut sorted = addresses.to_vec();
    sorted.sort_unstable();
    sorted
}

/// The only resolver a webhook client has: it answers every name with the addresses
/// checked for the target, so no lookup happens between the check and the connection.
struct CheckedAddresses(Vec<SocketAddr>);

impl reqwest::dns::Resolve for CheckedAddresses {
    fn resolve(&self, _name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let addresses: reqwest::dns::Addrs = Box::new(self.0.clone().into_iter());
        Box::pin(std::future::ready(Ok(addresses)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snippets_stay_within_bounds_and_on_character_boundaries() {
        assert_eq!(snippet(b"ok"), "ok");
        let euros = "€".repeat(400); // 1200 bytes; 341 whole characters fit in 1024.
        let cut = snippet(euros.as_bytes());
        assert_eq!(cut, "€".repeat(341));
        let mut invalid = vec![0xff_u8; SNIPPET_BYTES_MAX];
        invalid[0] = b'a';
        let replaced = snippet(&invalid);
        assert!(replaced.len() <= SNIPPET_BYTES_MAX && replaced.starts_with('a'), "{}", replaced.len());
    }

    #[test]
    fn configurations_are_bounded() {
        let config = SenderConfig::default();
        assert!(WebhookSender::new(config).is_ok());
        for bad in [
            SenderConfig { timeout_ms: 0, ..config },
            SenderConfig { timeout_ms: TIMEOUT_MS_MAX + 1, ..config },
            SenderConfig { concurrency_max: 0, ..config },
            SenderConfig { concurrency_per_host_max: 0, ..config },
            SenderConfig { concurrency_per_host_max: config.concurrency_max + 1, ..config },
        ] {
            assert!(WebhookSender::new(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn invalid_header_names_or_values_are_refused_before_sending() {
        assert!(header_map(&[("Payrail-Event-Id", "evt_1")]).is_some());
        assert!(header_map(&[("bad name", "x")]).is_none());
        assert!(header_map(&[("X-Ok", "line\nbreak")]).is_none());
    }
}
