//! `payrail-bench`: starts Payrail in-process on a fresh database, drives it over real TCP
//! from the same process, and prints throughput and latency percentiles. One command, no
//! setup: `cargo bench -p payrail-bench`.
//!
//! Scenarios, in order: card payments created and confirmed in one request (the headline),
//! then `GET /v1/account`, then `GET /healthz`, then webhooks (a backlog of deliveries
//! drained to a local receiver, and the latency from a payment's answer to its event). After the payments, the database must hold
//! exactly as many succeeded payments as were acknowledged; otherwise the run fails.
//!
//! Boundary: a measuring tool, not part of the product. It reaches Payrail only through
//! the public API the `payrail` binary uses, sends traffic only to 127.0.0.1, and never
//! touches an existing database: SQLite lives in a temporary directory, and on PostgreSQL
//! a new schema is created for the run and dropped afterwards.
//!
//! Tracing is deliberately left without a subscriber: a log line per request would cost
//! more than some of the requests it describes and distort the numbers.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use payrail_service::ServerKeys;

use payrail_bench::database::FreshDatabase;
use payrail_bench::load::{LoadPlan, LoadResult, Scenario};
use payrail_bench::verify::{self, PaymentCheck};
use payrail_bench::{load, report, scenarios, server, webhooks};

/// The command line. Every limit is bounded so that a typo cannot start a run that never ends.
#[derive(Debug, Parser)]
#[command(name = "payrail-bench", about = "Benchmark Payrail in-process over real TCP on a fresh database")]
struct Args {
    /// A PostgreSQL server (postgres://…) to run on. The run creates its own schema there and
    /// drops it at the end; existing tables are never touched. Without it: SQLite in a
    /// temporary directory.
    #[arg(long)]
    database_url: Option<String>,
    /// A server key file (as `payrail keygen` writes). Without it a new key is generated,
    /// which always works because the database is always fresh.
    #[arg(long)]
    key_file: Option<PathBuf>,
    /// Client connections, each one task with one keep-alive HTTP/1.1 connection.
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u16).range(1..=512))]
    concurrency: u16,
    /// Measured seconds per scenario.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=3_600))]
    duration_s: u64,
    /// Unmeasured seconds before each scenario, to fill pools and caches.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u64).range(0..=600))]
    warmup_s: u64,
    /// Payments whose webhooks wait, then drain, in the webhook scenario.
    #[arg(long, default_value_t = 2_000, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    webhook_backlog: u64,
    /// Payments made one after another by a few clients to time webhook latency.
    #[arg(long, default_value_t = 400, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    webhook_live: u64,
    /// Passed by `cargo bench` to every bench target; accepted and ignored.
    #[arg(long, hide = true)]
    bench: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => return fail(&anyhow::anyhow!("cannot start the async runtime: {error}")),
    };
    match runtime.block_on(run(&args)) {
        Ok(outcome) if !outcome.payments.holds() => {
            eprintln!(
                "error: {}; the database disagrees with the responses or the ledger does not verify",
                outcome.payments.describe()
            );
            ExitCode::FAILURE
        }
        Ok(Outcome { errors_total: 0, .. }) => ExitCode::SUCCESS,
        Ok(Outcome { errors_total, .. }) => {
            eprintln!("error: {errors_total} request(s) failed; the numbers above are not trustworthy");
            ExitCode::FAILURE
        }
        Err(error) => fail(&error),
    }
}

/// What decides the exit code.
struct Outcome {
    /// Failed requests over every scenario, warmup included.
    errors_total: u64,
    payments: PaymentCheck,
}

fn fail(error: &anyhow::Error) -> ExitCode {
    eprintln!("error: {error:#}");
    ExitCode::FAILURE
}

/// Runs every scenario and returns how many requests failed and how the payments checked
/// out. The database is removed whatever happens, including Ctrl-C, so a PostgreSQL run
/// leaves no schema behind.
async fn run(args: &Args) -> anyhow::Result<Outcome> {
    let keys = match &args.key_file {
        // The error already names its cause; a context chain would print it twice.
        Some(path) => ServerKeys::load_file(path).map_err(|error| anyhow::anyhow!("{error}"))?,
        None => ServerKeys::generate(),
    };
    let database = FreshDatabase::create(args.database_url.as_deref()).await?;
    let outcome = tokio::select! {
        outcome = run_on(&database, keys, args) => outcome,
        interrupted = tokio::signal::ctrl_c() => match interrupted {
            Ok(()) => Err(anyhow::anyhow!("interrupted")),
            Err(error) => Err(anyhow::anyhow!("cannot listen for Ctrl-C: {error}")),
        },
    };
    if let Err(error) = database.remove().await {
        eprintln!("warning: {error:#}");
    }
    outcome
}

async fn run_on(database: &FreshDatabase, keys: ServerKeys, args: &Args) -> anyhow::Result<Outcome> {
    let mut server = server::start(database, keys).await?;
    let plan = LoadPlan {
        address: server.address,
        concurrency: args.concurrency,
        warmup: Duration::from_secs(args.warmup_s),
        duration: Duration::from_secs(args.duration_s),
    };
    report::print_header(database, &plan, &server);

    let payments = scenarios::create_and_confirm_payments(&server.api_key);
    let result = measure(&plan, &payments).await?;
    let mut errors_total = result.errors_total();
    // Every task has its response (or has given up) by now, so nothing is in flight but a
    // request abandoned after the client's timeout, which would show here as a mismatch.
    let payment_check = verify::check_payments(database, result.ok_total()).await?;
    report::print_payment_check(&payment_check);

    let qr_codes = scenarios::create_alipay_qr_payments(&server.api_key);
    errors_total = errors_total.saturating_add(measure(&plan, &qr_codes).await?.errors_total());
    for scenario in &scenarios::reads(&server.api_key) {
        errors_total = errors_total.saturating_add(measure(&plan, scenario).await?.errors_total());
    }
    report::print_webhooks(&measure_webhooks(&mut server, args).await?);
    server.stop().await.context("the server did not shut down cleanly")?;
    println!("server shut down gracefully");
    Ok(Outcome { errors_total, payments: payment_check })
}

/// The webhook scenario, after the others: a backlog drained, then live latencies.
async fn measure_webhooks(server: &mut server::RunningServer, args: &Args) -> anyhow::Result<webhooks::WebhookResult> {
    let (address, api_key) = (server.address, server.api_key.clone());
    let receiver = webhooks::Receiver::start().await?;
    webhooks::register(address, &api_key, &receiver).await?;
    let count = usize::try_from(args.webhook_backlog).unwrap_or(usize::MAX);
    let clients = usize::from(args.concurrency);
    let (backlog, drain) =
        webhooks::drain_backlog(address, &api_key, &receiver, count, clients, || server.start_webhook_dispatcher())
            .await?;
    let live = usize::try_from(args.webhook_live).unwrap_or(usize::MAX);
    let latencies_us = webhooks::live_latencies(address, &api_key, &receiver, live).await?;
    Ok(webhooks::WebhookResult { backlog, drain, latencies_us })
}

async fn measure(plan: &LoadPlan, scenario: &Scenario) -> anyhow::Result<LoadResult> {
    let result = load::run(plan, scenario).await?;
    report::print_scenario(scenario, &result);
    Ok(result)
}
