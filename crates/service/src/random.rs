//! Randomness from the operating system's CSPRNG, through aws-lc.

/// `N` random bytes. A failing system random source is not something to work around.
pub(crate) fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0_u8; N];
    aws_lc_rs::rand::fill(&mut bytes).unwrap_or_else(|_| panic!("the system random source failed"));
    bytes
}

/// Lowercase hex of `bytes`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The random part of a new id. Ids made in the same millisecond by this process get
/// increasing random parts, so they sort in the order they were made (events listed
/// newest first depend on it); a new millisecond starts from fresh randomness.
///
/// The last value is kept for each of the most recent milliseconds seen, not only the
/// latest one, so that clocks that interleave (tests run several, and a system clock may
/// step back) still get ordered ids within each millisecond.
pub(crate) fn id_random(now: payrail_domain::Timestamp) -> [u8; payrail_domain::id::ID_RANDOM_BYTES] {
    use std::sync::Mutex;
    const SLOTS: usize = 64;
    const RANDOM_BITS_MASK: u128 = (1 << 80) - 1;
    static RECENT: Mutex<([(i64, u128); SLOTS], usize)> = Mutex::new(([(-1, 0); SLOTS], 0));
    let mut recent = RECENT.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let (slots, next) = &mut *recent;
    let value = match slots.iter_mut().find(|(ms, _)| *ms == now.unix_ms()) {
        Some(slot) => {
            slot.1 = (slot.1 + 1) & RANDOM_BITS_MASK;
            slot.1
        }
        None => {
            let mut bytes = [0_u8; 16];
            bytes[6..].copy_from_slice(&random_bytes::<10>());
            // Leave headroom so increments within one millisecond rarely wrap.
            let fresh = u128::from_be_bytes(bytes) >> 1;
            slots[*next] = (now.unix_ms(), fresh);
            *next = (*next + 1) % SLOTS;
            fresh
        }
    };
    let mut random = [0_u8; payrail_domain::id::ID_RANDOM_BYTES];
    random.copy_from_slice(&value.to_be_bytes()[6..]);
    random
}

#[cfg(test)]
mod tests {
    use super::id_random;
    use payrail_domain::{EventId, Timestamp};

    #[test]
    fn ids_made_in_one_millisecond_sort_in_the_order_they_were_made() {
        let now = Timestamp::from_unix_ms(1_700_000_000_000).expect("valid");
        let ids: Vec<EventId> = (0..1000).map(|_| EventId::generate(now, id_random(now))).collect();
        assert!(ids.windows(2).all(|pair| pair[0] < pair[1]));
    }

    #[test]
    fn interleaved_clocks_still_get_ordered_ids_within_each_millisecond() {
        let (a, b) = (Timestamp::from_unix_ms(5_000).expect("valid"), Timestamp::from_unix_ms(9_000).expect("valid"));
        let mut from_a = Vec::new();
        for _ in 0..100 {
            from_a.push(EventId::generate(a, id_random(a)));
            let _ = EventId::generate(b, id_random(b));
        }
        assert!(from_a.windows(2).all(|pair| pair[0] < pair[1]));
    }
}
