//! `payrail serve`: the HTTP server, until SIGINT or SIGTERM.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use payrail_http::{AppState, Metrics};
use payrail_service::Bootstrapped;

use crate::config::Settings;
use crate::open::open_payrail;

/// Time allowed after the request timeout for responses to be written during shutdown.
const SHUTDOWN_GRACE_EXTRA_MS: u64 = 5_000;

pub async fn run(settings: &Settings) -> anyhow::Result<()> {
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
    let metrics = Arc::new(Metrics::default());
    let state = AppState { payrail: payrail.clone(), limits: settings.limits.clone(), metrics: Arc::clone(&metrics) };
    let app = payrail_http::router(state);
    tracing::info!(%address, "Payrail is listening");
    println!("Payrail is listening on http://{address} (API docs at http://{address}/docs)");

    let pruner = tokio::spawn(prune_idempotency_keys(payrail.clone()));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let connections_max = settings.limits.connections_max;
    let server = tokio::spawn(payrail_http::serve(listener, app, connections_max, metrics, async {
        let _ = stopped.await;
    }));
    shutdown_signal().await;
    tracing::info!("shutting down: no new connections, finishing requests in flight");
    let _ = stop.send(());
    let grace = Duration::from_millis(settings.limits.request_timeout_ms + SHUTDOWN_GRACE_EXTRA_MS);
    match tokio::time::timeout(grace, server).await {
        Ok(Ok(result)) => result.context("the server failed")?,
        Ok(Err(join_error)) => return Err(anyhow::anyhow!("the server task failed: {join_error}")),
        Err(_) => tracing::warn!("requests still open after the grace period were abandoned"),
    }
    pruner.abort();
    payrail.store().close().await;
    tracing::info!("stopped");
    Ok(())
}

/// How often idempotency keys past their retention are deleted.
const PRUNE_INTERVAL_MS: u64 = 10 * 60 * 1000;

/// Deletes old idempotency keys now and then. (It moves to the job queue when there is one.)
async fn prune_idempotency_keys(payrail: payrail_service::Payrail) {
    let mut interval = tokio::time::interval(Duration::from_millis(PRUNE_INTERVAL_MS));
    loop {
        interval.tick().await;
        match payrail.prune_idempotency_keys().await {
            Ok(0) => {}
            Ok(pruned) => tracing::info!(pruned, "pruned expired idempotency keys"),
            Err(error) => tracing::warn!(error = %error, "could not prune idempotency keys"),
        }
    }
}

async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {},
        () = terminate => {},
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
