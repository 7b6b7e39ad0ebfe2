//! Webhook endpoints as merchants configure them: which events an endpoint receives, its
//! state, and how long a rotated-out signing secret keeps signing.

use crate::payment::named_enum;
use crate::{MerchantId, Problem, Timestamp, WebhookEndpointId};

/// Every event type Payrail emits, the only names an endpoint may subscribe to.
pub const EVENT_TYPES: &[&str] = &[
    "payment.created",
    "payment.requires_action",
    "payment.requires_capture",
    "payment.succeeded",
    "payment.failed",
    "payment.canceled",
    "payment.captured",
    "payment.refunded",
    "payment.discrepancy",
    "refund.created",
    "refund.succeeded",
    "refund.failed",
    "webhook_endpoint.disabled",
];

/// The most event types one endpoint lists; more than there are, so any subset fits.
pub const ENABLED_EVENTS_MAX: usize = 64;
/// Endpoints one merchant may have per mode: each one multiplies every event's deliveries.
pub const ENDPOINTS_PER_MODE_MAX: u64 = 16;
pub const DESCRIPTION_LENGTH_MAX: usize = 500;
/// How long a replaced secret signs beside the new one, by default and at most.
pub const ROTATION_OVERLAP_MS_DEFAULT: i64 = 24 * 60 * 60 * 1000;
pub const ROTATION_OVERLAP_MS_MAX: i64 = 7 * 24 * 60 * 60 * 1000;

/// The events an endpoint receives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnabledEvents {
    All,
    Only(Vec<&'static str>),
}

impl EnabledEvents {
    /// `["*"]` for all, or known event types; duplicates collapse.
    pub fn parse(names: &[String]) -> Result<EnabledEvents, Problem> {
        let invalid = |message: &'static str| Problem::invalid_request("parameter_invalid", message);
        if names.is_empty() || names.len() > ENABLED_EVENTS_MAX {
            return Err(invalid("enabled_events must list between 1 and 64 event types").with_param("enabled_events"));
        }
        if names.iter().any(|name| name == "*") {
            return if names.len() == 1 {
                Ok(EnabledEvents::All)
            } else {
                Err(invalid("\"*\" stands alone in enabled_events").with_param("enabled_events"))
            };
        }
        let mut known = Vec::with_capacity(names.len());
        for name in names {
            let found = EVENT_TYPES.iter().find(|known| **known == name.as_str());
            let found = found
                .ok_or_else(|| invalid("enabled_events lists an unknown event type").with_param("enabled_events"))?;
            if !known.contains(found) {
                known.push(*found);
            }
        }
        known.sort_unstable();
        Ok(EnabledEvents::Only(known))
    }

    pub fn includes(&self, event_type: &str) -> bool {
        match self {
            EnabledEvents::All => true,
            EnabledEvents::Only(types) => types.contains(&event_type),
        }
    }

    /// As stored: `*`, or the types between commas (`,payment.succeeded,refund.created,`),
    /// so that SQL can match one type with `LIKE '%,' || type || ',%'`.
    pub fn to_stored(&self) -> String {
        match self {
            EnabledEvents::All => "*".to_owned(),
            EnabledEvents::Only(types) => format!(",{},", types.join(",")),
        }
    }

    pub fn from_stored(text: &str) -> Option<EnabledEvents> {
        if text == "*" {
            return Some(EnabledEvents::All);
        }
        let names: Vec<String> = text.strip_prefix(',')?.strip_suffix(',')?.split(',').map(str::to_owned).collect();
        EnabledEvents::parse(&names).ok()
    }

    /// As the API shows it.
    pub fn names(&self) -> Vec<&'static str> {
        match self {
            EnabledEvents::All => vec!["*"],
            EnabledEvents::Only(types) => types.clone(),
        }
    }
}

named_enum!(
    /// Whether an endpoint receives deliveries now. A disabled endpoint's deliveries wait;
    /// a deleted one's are canceled.
    EndpointStatus { Enabled = "enabled", Disabled = "disabled", Deleted = "deleted", }
);

named_enum!(
    /// Why an endpoint is disabled: its merchant said so, or it failed for days.
    DisabledReason { Merchant = "merchant", Failing = "failing", }
);

/// A signing secret as stored: sealed under the server key, never in clear, and the last
/// characters of the clear text so a merchant can tell secrets apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedSecret {
    pub ciphertext: String,
    pub hint: String,
}

/// A secret replaced by a rotation, signing beside the new one until `expires_at`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetiringSecret {
    pub ciphertext: String,
    pub expires_at: Timestamp,
}

/// A webhook endpoint as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookEndpoint {
    pub id: WebhookEndpointId,
    pub merchant_id: MerchantId,
    pub livemode: bool,
    pub url: String,
    pub description: Option<String>,
    pub enabled_events: EnabledEvents,
    pub status: EndpointStatus,
    pub disabled_reason: Option<DisabledReason>,
    pub secret: SealedSecret,
    pub retiring: Option<RetiringSecret>,
    pub created: Timestamp,
    pub updated: Timestamp,
}

impl WebhookEndpoint {
    /// The replaced secret, while it still signs at `now`.
    pub fn retiring_at(&self, now: Timestamp) -> Option<&RetiringSecret> {
        self.retiring.as_ref().filter(|retiring| now < retiring.expires_at)
    }
}

/// An endpoint's description: at most 500 characters, no control characters.
pub fn parse_description(text: &str) -> Result<String, Problem> {
    if text.chars().count() > DESCRIPTION_LENGTH_MAX || text.chars().any(char::is_control) {
        let message = "description must be at most 500 characters without control characters";
        return Err(Problem::invalid_request("parameter_invalid", message).with_param("description"));
    }
    Ok(text.to_owned())
}

/// How long the old secret keeps signing after a rotation, from `overlap_seconds`.
pub fn parse_overlap(overlap_seconds: Option<i64>) -> Result<i64, Problem> {
    let Some(seconds) = overlap_seconds else { return Ok(ROTATION_OVERLAP_MS_DEFAULT) };
    match seconds.checked_mul(1000) {
        Some(ms) if (0..=ROTATION_OVERLAP_MS_MAX).contains(&ms) => Ok(ms),
        _ => Err(Problem::invalid_request("parameter_invalid", "overlap_seconds must be between 0 and 604800")
            .with_param("overlap_seconds")),
    }
}

/// When a failed delivery is tried again: fixed offsets from the start of its retry
/// window (its first attempt, or a resend), each moved by up to ±10 % of the step before
/// it so that many deliveries failing together do not all return together. Offsets from
/// the window's start, not from the last attempt, so that a delivery paused while its
/// endpoint was disabled resumes where the schedule stands, and stops when it ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetrySchedule {
    /// Ascending offsets from the window's start, in milliseconds.
    offsets_ms: Vec<i64>,
}

/// The default schedule's steps, in minutes: the last retry comes about three days and
/// three hours after the first attempt.
const DEFAULT_STEPS_MINUTES: [i64; 11] = [1, 5, 30, 120, 300, 600, 600, 720, 720, 720, 720];
/// Most steps a configured schedule may have.
pub const RETRY_STEPS_MAX: usize = 64;
/// Jitter, in thousandths of a step: ±100 is ±10 %.
pub const JITTER_PER_MILLE_MAX: i64 = 100;

impl Default for RetrySchedule {
    fn default() -> RetrySchedule {
        RetrySchedule::from_steps_ms(&DEFAULT_STEPS_MINUTES.map(|minutes| minutes * 60_000))
            .unwrap_or_else(|| unreachable!("the default schedule is valid"))
    }
}

impl RetrySchedule {
    /// From the waits between attempts; each 1 ms to 7 days, at most 64 of them.
    pub fn from_steps_ms(steps_ms: &[i64]) -> Option<RetrySchedule> {
        let valid = !steps_ms.is_empty()
            && steps_ms.len() <= RETRY_STEPS_MAX
            && steps_ms.iter().all(|step| (1..=ROTATION_OVERLAP_MS_MAX).contains(step));
        let offsets_ms = steps_ms
            .iter()
            .scan(0_i64, |sum, step| {
                *sum += step;
                Some(*sum)
            })
            .collect();
        valid.then_some(RetrySchedule { offsets_ms })
    }

    /// How long after its window starts a delivery is last tried.
    pub fn window_ms(&self) -> i64 {
        self.offsets_ms.last().copied().unwrap_or(0)
    }

    /// When to try again after a failure at `now` in a window started at `window_started`;
    /// `None` when the schedule has run out (the delivery is dead). `jitter_per_mille` is
    /// clamped to ±100.
    pub fn next_attempt(&self, window_started: Timestamp, now: Timestamp, jitter_per_mille: i64) -> Option<Timestamp> {
        let elapsed = now.ms_since(window_started);
        let index = self.offsets_ms.iter().position(|offset| *offset > elapsed)?;
        let step = self.offsets_ms[index] - index.checked_sub(1).map_or(0, |before| self.offsets_ms[before]);
        let jitter = step * jitter_per_mille.clamp(-JITTER_PER_MILLE_MAX, JITTER_PER_MILLE_MAX) / 1000;
        Some(window_started.plus_ms(self.offsets_ms[index] + jitter).max(now))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|name| (*name).to_owned()).collect()
    }

    #[test]
    fn enabled_events_are_all_or_known_types_and_round_trip_through_storage() {
        assert_eq!(EnabledEvents::parse(&names(&["*"])), Ok(EnabledEvents::All));
        let some =
            EnabledEvents::parse(&names(&["refund.created", "payment.succeeded", "refund.created"])).expect("valid");
        assert_eq!(some.names(), ["payment.succeeded", "refund.created"]);
        assert_eq!(some.to_stored(), ",payment.succeeded,refund.created,");
        assert_eq!(EnabledEvents::from_stored(&some.to_stored()), Some(some.clone()));
        assert_eq!(EnabledEvents::from_stored("*"), Some(EnabledEvents::All));
        assert!(
            some.includes("refund.created") && !some.includes("payment.failed") && EnabledEvents::All.includes("x")
        );
        for bad in [vec![], names(&["payment.paid"]), names(&["*", "payment.succeeded"]), vec!["a".to_owned(); 65]] {
            assert_eq!(EnabledEvents::parse(&bad).map_err(|p| p.code), Err("parameter_invalid"), "{bad:?}");
        }
        assert_eq!(EnabledEvents::from_stored("payment.succeeded"), None);
    }

    #[test]
    fn descriptions_and_overlaps_are_bounded() {
        assert!(parse_description(&"d".repeat(500)).is_ok());
        assert!(parse_description(&"d".repeat(501)).is_err());
        assert!(parse_description("line\nbreak").is_err());
        assert_eq!(parse_overlap(None), Ok(ROTATION_OVERLAP_MS_DEFAULT));
        assert_eq!(parse_overlap(Some(0)), Ok(0));
        assert_eq!(parse_overlap(Some(604_800)), Ok(ROTATION_OVERLAP_MS_MAX));
        for bad in [-1, 604_801, i64::MAX] {
            assert_eq!(parse_overlap(Some(bad)).map_err(|p| p.param), Err(Some("overlap_seconds".into())));
        }
    }

    #[test]
    fn the_default_schedule_retries_for_more_than_three_days_with_bounded_jitter() {
        let schedule = RetrySchedule::default();
        assert!(schedule.window_ms() >= 3 * 24 * 60 * 60 * 1000, "{}", schedule.window_ms());
        let start = Timestamp::from_unix_ms(1_000_000).expect("valid");
        assert_eq!(schedule.next_attempt(start, start, 0), Some(start.plus_ms(60_000)));
        assert_eq!(schedule.next_attempt(start, start, 100), Some(start.plus_ms(66_000)), "+10 % of one minute");
        assert_eq!(schedule.next_attempt(start, start, -5_000), Some(start.plus_ms(54_000)), "clamped to -10 %");
        let after_first_retry = start.plus_ms(60_000);
        assert_eq!(schedule.next_attempt(start, after_first_retry, 0), Some(start.plus_ms(6 * 60_000)));
        // Resumed long after (a disabled endpoint enabled again): the schedule goes on from there.
        let resumed = start.plus_ms(24 * 60 * 60 * 1000);
        assert!(schedule.next_attempt(start, resumed, 0).expect("valid") > resumed);
        assert_eq!(schedule.next_attempt(start, start.plus_ms(schedule.window_ms()), 0), None, "ran out");
        let short = RetrySchedule::from_steps_ms(&[100, 200]).expect("valid");
        assert_eq!(
            (short.window_ms(), short.next_attempt(start, start.plus_ms(150), 0)),
            (300, Some(start.plus_ms(300)))
        );
        for bad in [&[][..], &[0][..], &[-1][..], &[ROTATION_OVERLAP_MS_MAX + 1][..], &[1; 65][..]] {
            assert_eq!(RetrySchedule::from_steps_ms(bad), None, "{bad:?}");
        }
    }
}
