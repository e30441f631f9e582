//! Randomness as an input: the core performs no syscalls, so whatever needs random bytes (timer
//! jitter, handshake ephemerals, session indices) takes a source the caller owns.

/// A source of random bytes. The driver passes one seeded from getrandom(2); tests pass fixed ones.
pub trait Entropy {
    /// Overwrites all of `buf` with random bytes.
    fn fill(&mut self, buf: &mut [u8]);
}

impl Entropy for super::rng::Rng {
    fn fill(&mut self, buf: &mut [u8]) {
        super::rng::Rng::fill(self, buf);
    }
}

/// A uniformly distributed duration in `0..=max`, at nanosecond resolution.
pub fn random_duration_up_to(
    entropy: &mut impl Entropy,
    max: core::time::Duration,
) -> core::time::Duration {
    let mut bytes = [0u8; 8];
    entropy.fill(&mut bytes);
    let span = u64::try_from(max.as_nanos())
        .unwrap_or(u64::MAX)
        .saturating_add(1);
    // The modulo bias is below span / 2^64: for a third of a second, under 2^-34.
    core::time::Duration::from_nanos(u64::from_le_bytes(bytes) % span)
}

/// Test entropy: every 8-byte chunk of output is `0.to_le_bytes()`, so a jitter drawn from it is
/// `0 % (max + 1)` (0 gives no jitter at all).
#[cfg(test)]
pub(crate) struct FixedEntropy(pub u64);

#[cfg(test)]
impl Entropy for FixedEntropy {
    fn fill(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            chunk.copy_from_slice(&self.0.to_le_bytes()[..chunk.len()]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::time::Duration;

    struct Fixed(u8);
    impl Entropy for Fixed {
        fn fill(&mut self, buf: &mut [u8]) {
            buf.fill(self.0);
        }
    }

    #[test]
    fn durations_stay_within_the_bound() {
        let max = Duration::from_millis(333);
        assert_eq!(random_duration_up_to(&mut Fixed(0), max), Duration::ZERO);
        // All ones is u64::MAX; u64::MAX % (333 ms + 1 ns) is within the bound.
        assert!(random_duration_up_to(&mut Fixed(0xff), max) <= max);
        let mut rng = crate::core::rng::Rng::from_seed([3; 32]);
        let samples: Vec<Duration> = (0..1000)
            .map(|_| random_duration_up_to(&mut rng, max))
            .collect();
        assert!(samples.iter().all(|d| *d <= max));
        // Spread over the range, not stuck at one end.
        assert!(samples.iter().any(|d| *d < max / 4));
        assert!(samples.iter().any(|d| *d > max * 3 / 4));
        assert_eq!(
            random_duration_up_to(&mut Fixed(7), Duration::ZERO),
            Duration::ZERO
        );
    }
}
