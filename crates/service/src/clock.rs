//! Clocks: the system clock for production and a hand-moved one for tests.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use payrail_domain::{Clock, Timestamp};

/// Reads the operating system's clock. The only place Payrail does.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        let since_epoch = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
        let unix_ms = i64::try_from(since_epoch.as_millis()).unwrap_or(i64::MAX);
        Timestamp::from_unix_ms(unix_ms).unwrap_or_else(|| unreachable!("a duration is never negative"))
    }
}

/// A clock that moves only when told, so tests of expiry and retries need no sleeping.
#[derive(Debug, Clone)]
pub struct ManualClock {
    unix_ms: Arc<AtomicI64>,
}

impl ManualClock {
    pub fn starting_at(start: Timestamp) -> ManualClock {
        ManualClock { unix_ms: Arc::new(AtomicI64::new(start.unix_ms())) }
    }

    pub fn advance_ms(&self, duration_ms: i64) {
        assert!(duration_ms >= 0, "time does not run backwards");
        self.unix_ms.fetch_add(duration_ms, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        Timestamp::from_unix_ms(self.unix_ms.load(Ordering::SeqCst))
            .unwrap_or_else(|| unreachable!("starts non-negative and only grows"))
    }
}
