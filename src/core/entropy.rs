//! Randomness as an input: whatever in the core needs random bytes (handshake ephemerals, cookie
//! secrets and nonces, receiver indices, timer jitter, hash keys) takes them from the caller, at the
//! moment it needs them.
//!
//! The core keeps no generator of its own. A generator held in memory would be copied by a VM
//! snapshot, and every restored copy would then draw the same ephemeral keys, indices and nonces.
//! Asking the caller each time lets the driver read the kernel's pool (getrandom(2),
//! `crate::sys::random::SysEntropy`), which the kernel reseeds on restore (vmgenid), while tests
//! pass a deterministic source.

use core::time::Duration;

/// A source of cryptographically secure random bytes.
pub trait Entropy {
    /// Fills all of `buf` with fresh random bytes. Implementations must not fail silently: a source
    /// that cannot deliver must not return (the driver treats getrandom(2) failure as fatal).
    fn fill(&mut self, buf: &mut [u8]);
}

impl<E: Entropy + ?Sized> Entropy for &mut E {
    fn fill(&mut self, buf: &mut [u8]) {
        (**self).fill(buf);
    }
}

/// A uniformly distributed 32-bit number (a receiver index).
pub(crate) fn random_u32(entropy: &mut (impl Entropy + ?Sized)) -> u32 {
    let mut bytes = [0u8; size_of::<u32>()];
    entropy.fill(&mut bytes);
    u32::from_le_bytes(bytes)
}

/// A uniformly distributed duration in `0..=max`, at nanosecond resolution.
pub(crate) fn random_duration_up_to(
    entropy: &mut (impl Entropy + ?Sized),
    max: Duration,
) -> Duration {
    let mut bytes = [0u8; size_of::<u64>()];
    entropy.fill(&mut bytes);
    let span = u64::try_from(max.as_nanos())
        .unwrap_or(u64::MAX)
        .saturating_add(1);
    // The modulo bias is below span / 2^64: for a third of a second, under 2^-34.
    Duration::from_nanos(u64::from_le_bytes(bytes) % span)
}

/// Test entropy: deterministic, distinct bytes from a seed (splitmix64). Owned by the test and
/// passed in, like the driver's getrandom(2) source; never a generator the core keeps. Also what
/// the benchmarks and fuzz targets draw from (feature `test-util`).
#[cfg(any(test, feature = "test-util"))]
#[doc(hidden)]
#[derive(Clone, Debug)]
pub struct TestEntropy {
    state: u64,
}

#[cfg(any(test, feature = "test-util"))]
impl TestEntropy {
    pub fn new(seed: u64) -> Self {
        TestEntropy {
            state: seed ^ 0x5eed_0f7e_5700,
        }
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    #[cfg(test)]
    pub(crate) fn next_u32(&mut self) -> u32 {
        (self.next_u64() >> 32) as u32
    }
}

#[cfg(any(test, feature = "test-util"))]
impl Entropy for TestEntropy {
    fn fill(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            let word = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&word[..chunk.len()]);
        }
    }
}

/// Test entropy: every 8-byte chunk of output is `self.0.to_le_bytes()`, so a jitter drawn from it
/// is `self.0 % (max + 1)` (0 gives no jitter at all).
#[cfg(test)]
pub(crate) struct ConstantEntropy(pub u64);

#[cfg(test)]
impl Entropy for ConstantEntropy {
    fn fill(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            chunk.copy_from_slice(&self.0.to_le_bytes()[..chunk.len()]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let mut entropy = TestEntropy::new(3);
        let samples: Vec<Duration> = (0..1000)
            .map(|_| random_duration_up_to(&mut entropy, max))
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

    #[test]
    fn test_entropy_is_deterministic_per_seed_and_fills_odd_lengths() {
        let draw = |seed| {
            let mut b = [0u8; 37];
            TestEntropy::new(seed).fill(&mut b);
            b
        };
        assert_eq!(draw(1), draw(1));
        assert_ne!(draw(1), draw(2));
        assert!(draw(1)[32..].iter().any(|&b| b != 0));
        assert_eq!(random_u32(&mut Fixed(1)), 0x0101_0101);
    }
}
