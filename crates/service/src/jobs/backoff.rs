//! How long a failed job waits before its next attempt: doubling from a base up to a cap,
//! less a random part, so that jobs which failed together (a provider was down) do not all
//! come back in the same instant.
//!
//! The random part comes from a [`Jitter`] the runner is given, so tests choose it.

/// The wait after a first failure.
pub const BACKOFF_BASE_MS: i64 = 5_000;
/// The longest wait between two attempts, however many failed: an hour keeps a job that
/// fails for a day from being tried more than a couple of dozen times.
pub const BACKOFF_CAP_MS: i64 = 60 * 60 * 1000;
/// The random part takes at most a quarter off the delay: enough to spread a burst of
/// retries, not so much that the schedule stops doubling.
const JITTER_DIVISOR: i64 = 4;
/// Doublings beyond this cannot matter (the cap is reached long before) and would
/// overflow the shift.
const DOUBLINGS_MAX: u32 = 62;

/// A source of random offsets.
pub trait Jitter: Send + Sync + 'static {
    /// A number in `0..bound_ms`; `0` when `bound_ms` is not positive. A value outside the
    /// range is clamped by the caller, so a faulty source cannot stretch the schedule.
    fn below(&self, bound_ms: i64) -> i64;
}

/// Jitter from the operating system's random source: what production uses.
#[derive(Debug, Default, Clone, Copy)]
pub struct RandomJitter;

impl Jitter for RandomJitter {
    fn below(&self, bound_ms: i64) -> i64 {
        if bound_ms <= 0 {
            return 0;
        }
        // The modulo bias of 64 random bits over a bound of at most an hour in
        // milliseconds is far below anything a retry schedule could notice.
        let draw = u64::from_be_bytes(crate::random::random_bytes::<8>()) % bound_ms.unsigned_abs();
        i64::try_from(draw).unwrap_or(0)
    }
}

/// No jitter at all: every delay is exactly the doubling schedule. For tests.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoJitter;

impl Jitter for NoJitter {
    fn below(&self, _bound_ms: i64) -> i64 {
        0
    }
}

/// An exponential schedule with a cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    pub base_ms: i64,
    pub cap_ms: i64,
}

impl Backoff {
    pub const STANDARD: Backoff = Backoff { base_ms: BACKOFF_BASE_MS, cap_ms: BACKOFF_CAP_MS };

    /// The wait after failed attempt `attempt` (1 for the first): `base × 2^(attempt−1)`,
    /// at most the cap, less up to a quarter of it drawn from `jitter`.
    pub fn delay_ms(&self, attempt: u32, jitter: &dyn Jitter) -> i64 {
        let doublings = attempt.saturating_sub(1).min(DOUBLINGS_MAX);
        let delay = self.base_ms.saturating_mul(1_i64 << doublings).min(self.cap_ms).max(0);
        let window = delay / JITTER_DIVISOR;
        delay - jitter.below(window + 1).clamp(0, window)
    }
}

#[cfg(test)]
mod tests {
    use super::{Backoff, Jitter, NoJitter, RandomJitter};

    /// Always the largest offset allowed, or far beyond it.
    struct Extreme(i64);

    impl Jitter for Extreme {
        fn below(&self, bound_ms: i64) -> i64 {
            bound_ms.saturating_mul(self.0).saturating_sub(1)
        }
    }

    fn check(backoff: Backoff, jitter: &dyn Jitter, expected_ms: &[i64]) {
        let actual: Vec<i64> = (1..=u32::try_from(expected_ms.len()).unwrap_or(0))
            .map(|attempt| backoff.delay_ms(attempt, jitter))
            .collect();
        assert_eq!(actual, expected_ms);
    }

    #[test]
    fn delays_double_from_the_base_up_to_the_cap() {
        let backoff = Backoff { base_ms: 1_000, cap_ms: 10_000 };
        check(backoff, &NoJitter, &[1_000, 2_000, 4_000, 8_000, 10_000, 10_000]);
        assert_eq!(backoff.delay_ms(u32::MAX, &NoJitter), 10_000, "no overflow however many attempts");
        assert_eq!(backoff.delay_ms(0, &NoJitter), 1_000);
    }

    #[test]
    fn jitter_takes_at_most_a_quarter_off_even_from_a_faulty_source() {
        let backoff = Backoff { base_ms: 1_000, cap_ms: 10_000 };
        check(backoff, &Extreme(1), &[750, 1_500, 3_000, 6_000, 7_500]);
        check(backoff, &Extreme(1_000), &[750, 1_500, 3_000, 6_000, 7_500]);
        check(backoff, &Extreme(-5), &[1_000, 2_000, 4_000, 8_000, 10_000]);
    }

    #[test]
    fn random_jitter_stays_within_the_window() {
        let backoff = Backoff::STANDARD;
        for attempt in 1..12 {
            let full = backoff.delay_ms(attempt, &NoJitter);
            for _ in 0..50 {
                let delay = backoff.delay_ms(attempt, &RandomJitter);
                assert!((full - full / 4..=full).contains(&delay), "attempt {attempt}: {delay} of {full}");
            }
        }
        assert_eq!(RandomJitter.below(0), 0);
    }
}
