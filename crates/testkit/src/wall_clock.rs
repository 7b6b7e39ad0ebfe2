//! The real time, for tests that talk to outside programs (providers' SDKs) which sign
//! and check with their own clocks, so a fixed test clock would put the two sides apart.

use payrail_domain::{Clock, Timestamp};

/// The system's wall clock.
pub struct WallClock;

impl Clock for WallClock {
    fn now(&self) -> Timestamp {
        let unix_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |elapsed| i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX));
        Timestamp::from_unix_ms(unix_ms).unwrap_or_else(|| panic!("the system clock is outside the supported range"))
    }
}
