//! Time as the rest of Payrail sees it: UTC milliseconds since the Unix epoch, read from
//! an injected [`Clock`] so that expiry and retries can be tested without sleeping.

use std::fmt;

/// An instant in UTC, in whole milliseconds since the Unix epoch.
///
/// Invariant: never negative; Payrail has no business before 1970.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

impl Timestamp {
    /// Builds a timestamp from milliseconds since the epoch, refusing negative values.
    pub fn from_unix_ms(unix_ms: i64) -> Option<Timestamp> {
        (unix_ms >= 0).then_some(Timestamp(unix_ms))
    }

    pub fn unix_ms(self) -> i64 {
        self.0
    }

    /// Whole seconds, as the API presents times (`created`).
    pub fn unix_seconds(self) -> i64 {
        self.0 / 1000
    }

    /// This instant plus `duration_ms`, saturating rather than wrapping.
    pub fn plus_ms(self, duration_ms: i64) -> Timestamp {
        Timestamp(self.0.saturating_add(duration_ms).max(0))
    }

    /// Milliseconds from `earlier` to `self`; negative when `earlier` is later.
    pub fn ms_since(self, earlier: Timestamp) -> i64 {
        self.0.saturating_sub(earlier.0)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}ms", self.0)
    }
}

/// The source of "now" for every rule that depends on time.
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> Timestamp;
}
