//! How long a node waits before dialling its coordinator again: exponential backoff with full jitter.
//!
//! The ceiling doubles after each failed dial, from [`MIN_WAIT`] up to [`MAX_WAIT`], and each wait is drawn
//! uniformly between zero and the ceiling. Without the draw, every worker that lost its coordinator at the same
//! moment (a coordinator restart) would dial again at the same moments, all of them at once each time; with it, the
//! dials of a thousand workers spread over the whole interval.

use std::time::Duration;

/// The ceiling of the first wait.
pub const MIN_WAIT: Duration = Duration::from_millis(200);
/// The highest ceiling: no wait is longer.
pub const MAX_WAIT: Duration = Duration::from_secs(5);

/// The waits between one node's dials.
#[derive(Debug)]
pub struct Backoff {
    /// The longest the next wait may be.
    ceiling: Duration,
    /// The random generator's state (xorshift64*; never zero).
    state: u64,
}

impl Default for Backoff {
    fn default() -> Self {
        Self::seeded(random_seed())
    }
}

impl Backoff {
    /// A backoff whose draws follow from `seed` (tests use a fixed one).
    pub fn seeded(seed: u64) -> Self {
        Self { ceiling: MIN_WAIT, state: seed | 1 }
    }

    /// The wait before the next dial, in `[0, ceiling]`; the ceiling then doubles, up to [`MAX_WAIT`].
    pub fn next_wait(&mut self) -> Duration {
        let ceiling = self.ceiling;
        self.ceiling = (ceiling * 2).min(MAX_WAIT);
        let nanos = u64::try_from(ceiling.as_nanos()).unwrap_or(u64::MAX);
        // A fraction of the ceiling in 1/2^32 steps: uniform enough, and no overflow.
        let fraction = self.draw() >> 32;
        Duration::from_nanos(((u128::from(nanos) * u128::from(fraction)) >> 32) as u64)
    }

    /// The wait after a connection ended, for every node that redials (the worker, and the simulated workers of
    /// the benchmarks): from the shortest ceiling again when that connection got as far as registering (`registered`),
    /// else under a ceiling doubled once more.
    pub fn after_session(&mut self, registered: bool) -> Duration {
        if registered {
            self.reset();
        }
        self.next_wait()
    }

    /// After a connection that got as far as registering: the next wait starts from the shortest ceiling again.
    pub fn reset(&mut self) {
        self.ceiling = MIN_WAIT;
    }

    /// The ceiling the next wait is drawn under.
    pub fn ceiling(&self) -> Duration {
        self.ceiling
    }

    fn draw(&mut self) -> u64 {
        let mut x = self.state;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.state = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

/// A seed that differs between processes and between calls: std's randomly keyed hasher over the time and pid.
fn random_seed() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u32(std::process::id());
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    hasher.write_u128(now.as_nanos());
    hasher.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ceiling_doubles_to_the_maximum_and_every_wait_stays_under_it() {
        let mut backoff = Backoff::seeded(7);
        let expected = [200, 400, 800, 1600, 3200, 5000, 5000, 5000];
        for ceiling_ms in expected {
            assert_eq!(backoff.ceiling(), Duration::from_millis(ceiling_ms));
            let wait = backoff.next_wait();
            assert!(wait <= Duration::from_millis(ceiling_ms), "{wait:?} over {ceiling_ms} ms");
        }
        backoff.reset();
        assert_eq!(backoff.ceiling(), MIN_WAIT);
    }

    #[test]
    fn waits_spread_over_the_whole_interval() {
        // 10,000 waits at the highest ceiling, in ten buckets of 500 ms: each holds about a tenth.
        let mut backoff = Backoff::seeded(12345);
        let mut buckets = [0u32; 10];
        let mut total = Duration::ZERO;
        for _ in 0..10_000 {
            backoff.ceiling = MAX_WAIT;
            let wait = backoff.next_wait();
            assert!(wait <= MAX_WAIT);
            total += wait;
            buckets[((wait.as_millis() / 500) as usize).min(9)] += 1;
        }
        for (i, count) in buckets.iter().enumerate() {
            assert!((800..=1200).contains(count), "bucket {i} holds {count} of 10,000: {buckets:?}");
        }
        let mean = total / 10_000;
        assert!(mean > Duration::from_millis(2300) && mean < Duration::from_millis(2700), "mean {mean:?}");
    }

    #[test]
    fn a_thousand_workers_that_lose_their_coordinator_at_once_do_not_dial_again_in_lockstep() {
        // Each was registered and lost its coordinator at the same moment; then two dials fail while it restarts.
        // Each draws its seed as a worker process does: were the seeds alike, so would every wait be.
        let mut workers: Vec<Backoff> = (0..1000).map(|_| Backoff::default()).collect();
        for (registered, ceiling) in [(true, MIN_WAIT), (false, MIN_WAIT * 2), (false, MIN_WAIT * 4)] {
            // The waits, counted in 10 ms steps over the window they are drawn in.
            let steps = (ceiling.as_millis() / 10) as usize;
            let mut per_step = vec![0u32; steps];
            for worker in &mut workers {
                let wait = worker.after_session(registered);
                assert!(wait <= ceiling, "a wait of {wait:?}, past {ceiling:?}");
                per_step[((wait.as_millis() / 10) as usize).min(steps - 1)] += 1;
            }
            // In lockstep all 1,000 would share one step; spread, each holds about 1000 / steps.
            let busiest = per_step.iter().max().copied().unwrap_or(0);
            let empty = per_step.iter().filter(|&&n| n == 0).count();
            assert!(busiest <= 3 * 1000 / steps as u32, "{busiest} of 1,000 waits in one 10 ms step: {per_step:?}");
            assert!(empty <= steps / 10, "{empty} of {steps} steps without a wait: {per_step:?}");
        }
    }

    #[test]
    fn two_workers_do_not_wait_alike() {
        let (mut a, mut b) = (Backoff::default(), Backoff::default());
        let same = (0..20).filter(|_| a.next_wait() == b.next_wait()).count();
        assert!(same < 2, "{same} of 20 waits equal");
    }
}
