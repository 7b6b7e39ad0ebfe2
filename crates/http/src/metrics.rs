//! Request metrics in Prometheus' text format, kept by hand: a counter per method, route
//! and status, and a latency histogram per route. No floats: durations are summed in
//! microseconds and printed as decimal seconds.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

/// Histogram bucket bounds in microseconds, with their `le` labels.
const BUCKETS_US: [(u64, &str); 12] = [
    (1_000, "0.001"),
    (2_500, "0.0025"),
    (5_000, "0.005"),
    (10_000, "0.01"),
    (25_000, "0.025"),
    (50_000, "0.05"),
    (100_000, "0.1"),
    (250_000, "0.25"),
    (500_000, "0.5"),
    (1_000_000, "1"),
    (2_500_000, "2.5"),
    (10_000_000, "10"),
];

#[derive(Default)]
struct Histogram {
    bucket_counts: [u64; BUCKETS_US.len()],
    count: u64,
    sum_us: u64,
}

#[derive(Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(String, String, u16), u64>>,
    latency: Mutex<BTreeMap<String, Histogram>>,
    connections_open: AtomicI64,
}

impl Metrics {
    pub fn record_request(&self, method: &str, route: &str, status: u16, elapsed: Duration) {
        let elapsed_us = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
        if let Ok(mut requests) = self.requests.lock() {
            *requests.entry((method.to_owned(), route.to_owned(), status)).or_default() += 1;
        }
        if let Ok(mut latency) = self.latency.lock() {
            let histogram = latency.entry(route.to_owned()).or_default();
            for (index, (bound_us, _)) in BUCKETS_US.iter().enumerate() {
                if elapsed_us <= *bound_us {
                    histogram.bucket_counts[index] += 1;
                }
            }
            histogram.count += 1;
            histogram.sum_us = histogram.sum_us.saturating_add(elapsed_us);
        }
    }

    pub fn connection_opened(&self) {
        self.connections_open.fetch_add(1, Ordering::Relaxed);
    }

    pub fn connection_closed(&self) {
        self.connections_open.fetch_sub(1, Ordering::Relaxed);
    }

    /// The Prometheus text exposition of everything recorded so far.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "# HELP payrail_build_info Payrail version.\n# TYPE payrail_build_info gauge");
        let _ = writeln!(out, "payrail_build_info{{version=\"{}\"}} 1", env!("CARGO_PKG_VERSION"));
        let _ = writeln!(out, "# HELP payrail_http_connections_open Client connections open now.");
        let _ = writeln!(out, "# TYPE payrail_http_connections_open gauge");
        let _ = writeln!(out, "payrail_http_connections_open {}", self.connections_open.load(Ordering::Relaxed));
        let _ = writeln!(out, "# HELP payrail_http_requests_total HTTP requests answered.");
        let _ = writeln!(out, "# TYPE payrail_http_requests_total counter");
        if let Ok(requests) = self.requests.lock() {
            for ((method, route, status), count) in requests.iter() {
                let _ = writeln!(
                    out,
                    "payrail_http_requests_total{{method=\"{method}\",route=\"{route}\",status=\"{status}\"}} {count}"
                );
            }
        }
        let _ = writeln!(out, "# HELP payrail_http_request_duration_seconds Time to answer a request.");
        let _ = writeln!(out, "# TYPE payrail_http_request_duration_seconds histogram");
        if let Ok(latency) = self.latency.lock() {
            for (route, histogram) in latency.iter() {
                render_histogram(&mut out, route, histogram);
            }
        }
        out
    }
}

fn render_histogram(out: &mut String, route: &str, histogram: &Histogram) {
    let name = "payrail_http_request_duration_seconds";
    for ((_, le), count) in BUCKETS_US.iter().zip(histogram.bucket_counts) {
        let _ = writeln!(out, "{name}_bucket{{route=\"{route}\",le=\"{le}\"}} {count}");
    }
    let _ = writeln!(out, "{name}_bucket{{route=\"{route}\",le=\"+Inf\"}} {}", histogram.count);
    let (seconds, micros) = (histogram.sum_us / 1_000_000, histogram.sum_us % 1_000_000);
    let _ = writeln!(out, "{name}_sum{{route=\"{route}\"}} {seconds}.{micros:06}");
    let _ = writeln!(out, "{name}_count{{route=\"{route}\"}} {}", histogram.count);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_buckets_are_cumulative_and_the_sum_is_exact() {
        let metrics = Metrics::default();
        metrics.record_request("GET", "/v1/account", 200, Duration::from_micros(3_000));
        metrics.record_request("GET", "/v1/account", 200, Duration::from_micros(2_000_000));
        metrics.record_request("GET", "/v1/account", 401, Duration::from_micros(500));
        let text = metrics.render();
        for line in [
            "payrail_http_requests_total{method=\"GET\",route=\"/v1/account\",status=\"200\"} 2",
            "payrail_http_requests_total{method=\"GET\",route=\"/v1/account\",status=\"401\"} 1",
            "payrail_http_request_duration_seconds_bucket{route=\"/v1/account\",le=\"0.001\"} 1",
            "payrail_http_request_duration_seconds_bucket{route=\"/v1/account\",le=\"0.005\"} 2",
            "payrail_http_request_duration_seconds_bucket{route=\"/v1/account\",le=\"2.5\"} 3",
            "payrail_http_request_duration_seconds_bucket{route=\"/v1/account\",le=\"+Inf\"} 3",
            "payrail_http_request_duration_seconds_sum{route=\"/v1/account\"} 2.003500",
            "payrail_http_request_duration_seconds_count{route=\"/v1/account\"} 3",
        ] {
            assert!(text.contains(line), "missing {line} in\n{text}");
        }
    }
}
