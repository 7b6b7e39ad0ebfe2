//! Payrail in-process, wired as `payrail serve` wires it (open, migrate, check the keys,
//! bootstrap, mount the sandbox card network and send test-mode card payments to it over
//! HTTP, serve with the connection limit), but on 127.0.0.1 and a port the kernel picks, so
//! a run never collides with anything already listening.
//!
//! The card network and the Alipay simulator run in the same server, as in `payrail
//! serve`: each payment's call to them is a real HTTP round trip through the same listener
//! and connection limit, with Alipay's RSA2 signatures made and checked on both sides.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use payrail_channels::alipay::{AlipayClient, AlipayConfig};
use payrail_channels::card_network::CardNetworkClient;
use payrail_domain::{Clock, Mode, Secret};
use payrail_http::{AppState, Limits, Metrics};
use payrail_sandbox::{AlipaySandbox, CardNetwork, alipay_router, card_network_router};
use payrail_service::{Payrail, ServerKeys, SystemClock};
use payrail_store::Store;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::database::FreshDatabase;

/// How long requests in flight may take to finish once shutdown starts.
const SHUTDOWN_TIMEOUT_MS: u64 = 10_000;
/// Where the card network simulator is mounted, as `payrail serve` mounts it.
pub const SANDBOX_CARD_NETWORK_PATH: &str = "/sandbox/card-network";
/// How long Payrail waits for the card network, as `payrail serve` waits.
const CARD_NETWORK_TIMEOUT_MS: u64 = 10_000;
/// Where the Alipay simulator is mounted, as `payrail serve` mounts it.
pub const SANDBOX_ALIPAY_PATH: &str = "/sandbox/alipay";

pub struct RunningServer {
    pub address: SocketAddr,
    /// The demo merchant's test-mode secret (`sk_test_…`), the only copy.
    pub api_key: String,
    pub connections_max: usize,
    pub store_connections_max: u32,
    payrail: Payrail,
    stop: oneshot::Sender<()>,
    stop_dispatching: Option<tokio::sync::watch::Sender<bool>>,
    task: JoinHandle<std::io::Result<()>>,
}

pub async fn start(database: &FreshDatabase, keys: ServerKeys) -> anyhow::Result<RunningServer> {
    let options = database.store_options();
    let store = Store::open(database.url(), &options).await.context("cannot open the database")?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    store.migrate(clock.now()).await.context("cannot migrate the database")?;
    let payrail = Payrail::new(store, Arc::clone(&clock), keys);
    payrail.verify_server_keys().await.map_err(|error| anyhow::anyhow!("{error}"))?;
    let bootstrapped = payrail
        .bootstrap()
        .await
        .map_err(|error| anyhow::anyhow!("first-start setup failed: {error}"))?
        .context("the database was set up before; the benchmark needs a fresh one")?;
    let api_key = bootstrapped.demo_key.secret.expose().to_owned();

    // Bound first: the card network's URL, which the payments need, holds the port.
    let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.context("cannot listen")?;
    let address = listener.local_addr()?;
    let base_url = format!("http://{address}");
    let (payrail, card_network) = with_sandbox_card_network(payrail, &base_url, Arc::clone(&clock))?;
    let (payrail, alipay) = with_sandbox_alipay(payrail, &base_url, clock)?;

    let limits = Limits::default();
    let connections_max = limits.connections_max;
    let metrics = Arc::new(Metrics::default());
    let app = payrail_http::router(AppState { payrail: payrail.clone(), limits, metrics: Arc::clone(&metrics) })
        .nest(SANDBOX_CARD_NETWORK_PATH, card_network_router(card_network))
        .nest(SANDBOX_ALIPAY_PATH, alipay_router(alipay));
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(payrail_http::serve(listener, app, connections_max, metrics, async {
        let _ = stopped.await;
    }));
    Ok(RunningServer {
        address,
        api_key,
        connections_max,
        store_connections_max: options.connections_max,
        payrail,
        stop,
        stop_dispatching: None,
        task,
    })
}

/// Creates the card network simulator, for the caller to mount at `base_url` +
/// [`SANDBOX_CARD_NETWORK_PATH`], and sends test-mode card payments to it over HTTP, as
/// `payrail serve` does.
fn with_sandbox_card_network(
    payrail: Payrail,
    base_url: &str,
    clock: Arc<dyn Clock>,
) -> anyhow::Result<(Payrail, CardNetwork)> {
    let api_key = payrail_service::random_token();
    let network_url = format!("{base_url}{SANDBOX_CARD_NETWORK_PATH}");
    let network = CardNetwork::new(api_key.clone(), network_url.clone(), clock);
    let client = CardNetworkClient::new(&network_url, Secret::new(api_key), CARD_NETWORK_TIMEOUT_MS)
        .map_err(|error| anyhow::anyhow!("cannot set up the sandbox card channel: {error}"))?;
    Ok((payrail.with_card_network(Mode::Test, client).with_public_base_url(base_url), network))
}

/// Creates the Alipay simulator with one app, for the caller to mount at `base_url` +
/// [`SANDBOX_ALIPAY_PATH`], and makes it test mode's Alipay account.
fn with_sandbox_alipay(
    payrail: Payrail,
    base_url: &str,
    clock: Arc<dyn Clock>,
) -> anyhow::Result<(Payrail, AlipaySandbox)> {
    let sandbox = AlipaySandbox::with_limits(
        &format!("{base_url}{SANDBOX_ALIPAY_PATH}"),
        Arc::clone(&clock),
        AlipaySandbox::OBJECTS_MAX,
        1,
    )
    .map_err(|error| anyhow::anyhow!("cannot set up the sandbox Alipay: {error}"))?;
    let notify_prefix = format!("{base_url}/notify/alipay/");
    sandbox.allow_notify_urls_starting_with(&notify_prefix);
    let app = sandbox.create_app().map_err(|error| anyhow::anyhow!("cannot make the sandbox Alipay app: {error}"))?;
    let config = AlipayConfig {
        gateway_url: app.gateway_url,
        app_id: app.app_id,
        app_private_key: app.app_private_key_pem,
        alipay_public_key: app.alipay_public_key_pem,
        timeout_ms: CARD_NETWORK_TIMEOUT_MS,
    };
    let client = AlipayClient::new(&config, clock).map_err(|error| anyhow::anyhow!("cannot set up Alipay: {error}"))?;
    Ok((payrail.with_alipay(Mode::Test, client, &format!("{notify_prefix}test")), sandbox))
}

impl RunningServer {
    /// Starts delivering webhooks, as `payrail serve` does; they stop with the server.
    pub fn start_webhook_dispatcher(&mut self) {
        let (stop, stopping) = tokio::sync::watch::channel(false);
        let payrail = self.payrail.clone();
        tokio::spawn(async move { payrail.run_webhook_dispatcher(stopping).await });
        self.stop_dispatching = Some(stop);
    }

    /// Stops accepting, lets requests in flight finish, and closes the database pools.
    pub async fn stop(self) -> anyhow::Result<()> {
        if let Some(stop) = &self.stop_dispatching {
            let _ = stop.send(true);
        }
        let _ = self.stop.send(());
        match tokio::time::timeout(Duration::from_millis(SHUTDOWN_TIMEOUT_MS), self.task).await {
            Ok(Ok(result)) => result.context("the server failed")?,
            Ok(Err(join_error)) => anyhow::bail!("the server task failed: {join_error}"),
            Err(_) => anyhow::bail!("connections were still open {SHUTDOWN_TIMEOUT_MS} ms after shutdown began"),
        }
        self.payrail.store().close().await;
        Ok(())
    }
}
