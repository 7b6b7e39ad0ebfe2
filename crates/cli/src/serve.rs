//! `payrail serve`: the HTTP server (with the sandbox card network, Alipay and WeChat Pay
//! mounted), the job workers (maintenance included) and the webhook dispatcher, until
//! SIGINT or SIGTERM.

use std::sync::Arc;
use std::time::Duration;

use std::net::{IpAddr, SocketAddr};

use anyhow::Context;
use payrail_channels::card_network::CardNetworkClient;
use payrail_domain::{Mode, Secret};
use payrail_http::{AppState, Metrics};
use payrail_sandbox::{CardNetwork, alipay_router, card_network_router, wechatpay_router};
use payrail_service::Bootstrapped;
use payrail_service::jobs::{JobRegistry, JobRunner, RunnerOptions};
use payrail_service::{Payrail, SystemClock};

use crate::config::Settings;
use crate::open::open_payrail;
use crate::sandbox_alipay::{SANDBOX_ALIPAY_PATH, with_sandbox_alipay};
use crate::sandbox_channels::{self, Simulators};
use crate::sandbox_wechatpay::{SANDBOX_WECHATPAY_PATH, with_sandbox_wechatpay};

/// Time allowed after the request timeout for responses to be written during shutdown.
const SHUTDOWN_GRACE_EXTRA_MS: u64 = 5_000;

pub async fn run(settings: &Settings) -> anyhow::Result<()> {
    let shutdown = shutdown_signal();
    let payrail = open_payrail(settings).await?;
    let listener = tokio::net::TcpListener::bind(&settings.listen.value)
        .await
        .with_context(|| format!("cannot listen on {}", settings.listen.value))?;
    let address = listener.local_addr()?;
    if let Some(bootstrapped) =
        payrail.bootstrap().await.map_err(|e| anyhow::anyhow!("first-start setup failed: {e}"))?
    {
        print_first_start(&bootstrapped, &address.to_string());
    }
    let base_url = local_base_url(address);
    let (payrail, card_network) = with_sandbox_card_network(payrail, &base_url)?;
    let (payrail, alipay) = with_sandbox_alipay(payrail, &base_url).await?;
    let (payrail, wechatpay) = with_sandbox_wechatpay(payrail, &base_url, address.ip()).await?;
    let simulators = Simulators { alipay: alipay.clone(), wechatpay: wechatpay.simulator.clone(), runs_secapi: true };
    let payrail = payrail.with_sandbox_channels(Arc::new(simulators));
    let (stop_background, background) = tokio::sync::watch::channel(false);
    let registering = sandbox_channels::keep_registering(payrail.clone(), background.clone());
    let metrics = Arc::new(Metrics::default());
    let state = AppState { payrail: payrail.clone(), limits: settings.limits.clone(), metrics: Arc::clone(&metrics) };
    let app = payrail_http::router_with_sandbox_credentials(state)
        .nest(SANDBOX_CARD_NETWORK_PATH, card_network_router(card_network))
        .nest(SANDBOX_ALIPAY_PATH, alipay_router(alipay))
        .nest(SANDBOX_WECHATPAY_PATH, wechatpay_router(wechatpay.simulator));
    tracing::info!(%address, "Payrail is listening");
    println!("Payrail is listening on http://{address} (API docs at http://{address}/docs)");

    let runner = JobRunner::new(payrail.clone(), JobRegistry::standard(), RunnerOptions::default());
    runner.ensure_recurring().await.map_err(|e| anyhow::anyhow!("cannot schedule the recurring jobs: {e}"))?;
    let workers = runner.start(usize::from(settings.job_workers.value));
    let dispatcher = tokio::spawn({
        let payrail = payrail.clone();
        async move { payrail.run_webhook_dispatcher(background).await }
    });
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let connections_max = settings.limits.connections_max;
    let server = tokio::spawn(payrail_http::serve(listener, app, connections_max, metrics, async {
        let _ = stopped.await;
    }));
    shutdown.await;
    tracing::info!("shutting down: no new connections, finishing requests in flight");
    let _ = stop.send(());
    let _ = stop_background.send(true);
    let grace = Duration::from_millis(settings.limits.request_timeout_ms + SHUTDOWN_GRACE_EXTRA_MS);
    // Requests, jobs and deliveries in hand finish side by side, within the same grace period.
    let (served, (), delivered) =
        tokio::join!(tokio::time::timeout(grace, server), workers.stop(grace), tokio::time::timeout(grace, dispatcher));
    if delivered.is_err() {
        tracing::warn!("webhook deliveries still in hand after the grace period were abandoned to their leases");
    }
    match served {
        Ok(Ok(result)) => result.context("the server failed")?,
        Ok(Err(join_error)) => return Err(anyhow::anyhow!("the server task failed: {join_error}")),
        Err(_) => tracing::warn!("requests still open after the grace period were abandoned"),
    }
    wechatpay.secapi.abort();
    registering.abort();
    payrail.store().close().await;
    tracing::info!("stopped");
    Ok(())
}

/// Where the card network simulator is mounted; test-mode card payments go there.
const SANDBOX_CARD_NETWORK_PATH: &str = "/sandbox/card-network";
/// How long Payrail waits for the card network before treating an attempt as unknown.
const CARD_NETWORK_TIMEOUT_MS: u64 = 10_000;

/// The address this server answers on, as a URL other local processes (and the server
/// itself) can use.
pub(crate) fn local_base_url(address: SocketAddr) -> String {
    let ip = if address.ip().is_unspecified() { IpAddr::from([127, 0, 0, 1]) } else { address.ip() };
    format!("http://{}", SocketAddr::new(ip, address.port()))
}

/// Mounts the card network simulator in this server and sends test-mode card payments to
/// it over HTTP, as live ones would go to an acquirer. The simulator notifies this server's
/// test account of refunds that settle later, signed with a secret made for this run.
fn with_sandbox_card_network(payrail: Payrail, base_url: &str) -> anyhow::Result<(Payrail, CardNetwork)> {
    let (api_key, notification_secret) = (payrail_service::random_token(), payrail_service::random_token());
    let network_url = format!("{base_url}{SANDBOX_CARD_NETWORK_PATH}");
    let network = CardNetwork::new(api_key.clone(), network_url.clone(), Arc::new(SystemClock))
        .with_notifications(&format!("{base_url}/notify/card_network/test"), Secret::new(notification_secret.clone()))
        .map_err(|e| anyhow::anyhow!("cannot set up the sandbox card network: {e}"))?;
    let client = CardNetworkClient::new(&network_url, Secret::new(api_key), CARD_NETWORK_TIMEOUT_MS)
        .map_err(|e| anyhow::anyhow!("cannot set up the sandbox card channel: {e}"))?
        .with_notification_secret(Secret::new(notification_secret));
    Ok((payrail.with_card_network(Mode::Test, client).with_public_base_url(base_url), network))
}

/// Listens for SIGINT and SIGTERM from the moment it is called, not from the first poll:
/// a signal that arrives while the server is still starting must stop it gracefully, not
/// kill it with the default action.
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let listeners = signal(SignalKind::interrupt()).and_then(|i| Ok((i, signal(SignalKind::terminate())?)));
        async move {
            match listeners {
                Ok((mut interrupt, mut terminate)) => {
                    tokio::select! {
                        _ = interrupt.recv() => {},
                        _ = terminate.recv() => {},
                    }
                }
                Err(_) => {
                    let _ = tokio::signal::ctrl_c().await;
                }
            }
        }
    }
    #[cfg(not(unix))]
    async {
        let _ = tokio::signal::ctrl_c().await;
    }
}

fn print_first_start(bootstrapped: &Bootstrapped, address: &str) {
    let secret = bootstrapped.demo_key.secret.expose();
    println!(
        "\n================================================================================\n\
         Payrail is set up. These secrets are shown ONCE: copy them now.\n\n\
         \x20 Operator account   {} / {}\n\
         \x20 Demo merchant      {} ({})\n\
         \x20 Test API key       {}\n\n\
         Try it:\n\
         \x20 curl http://{address}/v1/account -H \"Authorization: Bearer {secret}\"\n\
         ================================================================================\n",
        bootstrapped.operator_email,
        bootstrapped.operator_password.expose(),
        bootstrapped.demo_merchant.id,
        bootstrapped.demo_merchant.name.as_str(),
        secret,
    );
}
