//! When a delivery that was not acknowledged is tried again: exponential backoff with jitter. The wait doubles
//! from [`FIRST_RETRY`] up to [`LONGEST_WAIT`], and each wait is drawn between half of it and all of it ("equal
//! jitter"), so the deliveries of one burst that failed together do not all come back at the same moment. Over
//! the day a delivery is kept (`MAX_DELIVERY_AGE`) that is about 35 attempts.

use std::time::Duration;

/// The wait after the first failed attempt (before jitter).
pub const FIRST_RETRY: Duration = Duration::from_secs(2);
/// The longest wait between two attempts (before jitter).
pub const LONGEST_WAIT: Duration = Duration::from_secs(3600);

/// The wait after `failed` attempts (1 or more) failed, with `random` choosing where in its jitter range it falls.
pub fn delay(failed: u32, random: u64) -> Duration {
    let doublings = failed.saturating_sub(1).min(31);
    let full = FIRST_RETRY.saturating_mul(1u32 << doublings).min(LONGEST_WAIT);
    let half = full / 2;
    let span = (full - half).as_millis() as u64;
    half + Duration::from_millis(random % (span + 1))
}

/// [`delay`] with a random draw.
pub fn jittered(failed: u32) -> Duration {
    use ring::rand::SecureRandom;
    let mut bytes = [0u8; 8];
    let _ = ring::rand::SystemRandom::new().fill(&mut bytes);
    delay(failed, u64::from_le_bytes(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_wait_lies_between_half_and_all_of_its_doubling_and_the_doublings_stop_at_the_cap() {
        for (failed, full) in [(1, 2), (2, 4), (3, 8), (4, 16), (11, 2048), (12, 3600), (40, 3600), (u32::MAX, 3600)] {
            let full = Duration::from_secs(full);
            assert_eq!(delay(failed, 0), full / 2, "after {failed} failures, the least");
            assert_eq!(delay(failed, full.as_millis() as u64 - (full / 2).as_millis() as u64), full, "the most");
            assert_eq!(delay(failed, u64::MAX), delay(failed, u64::MAX % ((full - full / 2).as_millis() as u64 + 1)));
            for _ in 0..200 {
                let wait = jittered(failed);
                assert!(wait >= full / 2 && wait <= full, "after {failed} failures: {wait:?}");
            }
        }
        // Never no wait at all, even for a count of 0.
        assert_eq!(delay(0, 0), FIRST_RETRY / 2);
    }

    #[test]
    fn the_draws_spread_over_the_range() {
        let waits: std::collections::HashSet<Duration> = (0..50).map(|_| jittered(5)).collect();
        assert!(waits.len() > 10, "{waits:?}");
    }
}
