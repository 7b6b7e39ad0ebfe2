//! The printed report: the setup once, then per scenario its counts, throughput and
//! latency percentiles. All arithmetic is on integers (microseconds, hundredths), so the
//! numbers are exact and the workspace's float lint has nothing to say.

use std::time::Duration;

use crate::database::FreshDatabase;
use crate::load::{LoadPlan, LoadResult, REQUESTS_MAX, Scenario};
use crate::server::{RunningServer, SANDBOX_CARD_NETWORK_PATH};
use crate::verify::PaymentCheck;
use crate::webhooks::WebhookResult;

/// The percentiles reported, in parts per ten thousand, with their labels.
const PERCENTILES: [(&str, u64); 4] = [("p50", 5_000), ("p90", 9_000), ("p99", 9_900), ("p99.9", 9_990)];

pub fn print_header(database: &FreshDatabase, plan: &LoadPlan, server: &RunningServer) {
    let cpus = std::thread::available_parallelism().map_or_else(|_| "unknown".to_owned(), |n| n.to_string());
    println!("payrail-bench: Payrail in-process at http://{}, load from the same process", server.address);
    println!("  engine        {}", database.describe());
    println!("  nproc         {cpus} (server and load generator share these CPUs)");
    println!("  concurrency   {} keep-alive HTTP/1.1 connections, one task each", plan.concurrency);
    println!(
        "  duration      {} s measured after {} s warmup, per scenario",
        plan.duration.as_secs(),
        plan.warmup.as_secs()
    );
    println!(
        "  server limits {} connections, {} database connections in the pool",
        server.connections_max, server.store_connections_max
    );
    println!("  card network  sandbox simulator at {SANDBOX_CARD_NETWORK_PATH} in the same server, called over HTTP");
}

pub fn print_scenario(scenario: &Scenario, result: &LoadResult) {
    let requests = u64::try_from(result.latencies_us.len()).unwrap_or(u64::MAX);
    println!();
    println!("scenario: {}", scenario.title);
    println!("  requests      {requests} ok in {} ms (warmup: {} ok)", result.elapsed.as_millis(), result.ok_warmup);
    println!("  errors        {} (warmup: {})", result.errors, result.errors_warmup);
    if let Some(error) = &result.first_error {
        println!("  first error   {error}");
    }
    if result.capped {
        println!("  note          stopped at the cap of {REQUESTS_MAX} requests before the duration ended");
    }
    let throughput = hundredths(per_second_hundredths(requests, result.elapsed));
    println!("  throughput    {throughput} {}/s", scenario.unit);
    let mut latency = String::new();
    for (label, parts_per_ten_thousand) in PERCENTILES {
        let value = percentile_us(&result.latencies_us, parts_per_ten_thousand);
        latency.push_str(&format!("{label} {}  ", milliseconds(value)));
    }
    latency.push_str(&format!("max {}", milliseconds(result.latencies_us.last().copied())));
    println!("  latency ms    {latency}");
}

/// The webhook scenario: how fast a backlog drained, and the live latencies.
pub fn print_webhooks(result: &WebhookResult) {
    let backlog = u64::try_from(result.backlog).unwrap_or(u64::MAX);
    println!();
    println!("scenario: webhooks, payment.succeeded to a local receiver (signed, SSRF-checked, logged)");
    println!("  backlog       {backlog} deliveries drained in {} ms", result.drain.as_millis());
    println!("  throughput    {} deliveries/s", hundredths(per_second_hundredths(backlog, result.drain)));
    let mut latency = String::new();
    for (label, parts_per_ten_thousand) in PERCENTILES {
        let value = percentile_us(&result.latencies_us, parts_per_ten_thousand);
        latency.push_str(&format!("{label} {}  ", milliseconds(value)));
    }
    latency.push_str(&format!("max {}", milliseconds(result.latencies_us.last().copied())));
    println!("  succeeded → delivered, ms ({} live payments)  {latency}", result.latencies_us.len());
}

pub fn print_payment_check(check: &PaymentCheck) {
    println!("  {}", check.describe());
}

/// The nearest-rank percentile of `sorted_us`: the smallest value with at least the given
/// share of values at or below it. `None` when nothing was measured.
fn percentile_us(sorted_us: &[u32], parts_per_ten_thousand: u64) -> Option<u32> {
    let count = u64::try_from(sorted_us.len()).ok()?;
    let rank = (count * parts_per_ten_thousand).div_ceil(10_000).max(1);
    let index = usize::try_from(rank - 1).ok()?;
    sorted_us.get(index).copied()
}

/// `count` per second over `elapsed`, in hundredths.
fn per_second_hundredths(count: u64, elapsed: Duration) -> u128 {
    let elapsed_us = elapsed.as_micros().max(1);
    u128::from(count) * 100_000_000 / elapsed_us
}

/// Microseconds as milliseconds with two decimals, rounded half up.
fn milliseconds(value_us: Option<u32>) -> String {
    value_us.map_or_else(|| "-".to_owned(), |us| hundredths((u128::from(us) + 5) / 10))
}

fn hundredths(value: u128) -> String {
    format!("{}.{:02}", value / 100, value % 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(sorted_us: &[u32], parts_per_ten_thousand: u64, expected: Option<u32>) {
        assert_eq!(
            percentile_us(sorted_us, parts_per_ten_thousand),
            expected,
            "{sorted_us:?} at {parts_per_ten_thousand}"
        );
    }

    #[test]
    fn percentiles_take_the_nearest_rank() {
        let hundred: Vec<u32> = (1..=100).collect();
        check(&hundred, 5_000, Some(50));
        check(&hundred, 9_000, Some(90));
        check(&hundred, 9_900, Some(99));
        check(&hundred, 9_990, Some(100));
        check(&[7], 5_000, Some(7));
        check(&[], 5_000, None);
    }

    #[test]
    fn milliseconds_print_with_two_rounded_decimals() {
        assert_eq!(milliseconds(Some(1_234)), "1.23");
        assert_eq!(milliseconds(Some(1_235)), "1.24");
        assert_eq!(milliseconds(Some(999_999)), "1000.00");
        assert_eq!(milliseconds(Some(4)), "0.00");
        assert_eq!(milliseconds(None), "-");
    }

    #[test]
    fn throughput_is_requests_per_second_in_hundredths() {
        assert_eq!(hundredths(per_second_hundredths(12_345, Duration::from_secs(10))), "1234.50");
        assert_eq!(hundredths(per_second_hundredths(0, Duration::ZERO)), "0.00");
    }
}
