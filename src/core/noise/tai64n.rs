//! TAI64N timestamps, the initiator's proof of freshness inside an initiation.
//!
//! 12 bytes big-endian: seconds since 1970 plus `2^62 + 10` (the TAI64 label of 1970-01-01 as
//! wireguard-go and the kernel write it), then nanoseconds. Byte order makes byte comparison equal
//! time comparison, which is how a responder rejects a replayed initiation: it accepts one from a
//! peer only if its timestamp is strictly newer than the last one accepted from that peer.
//!
//! The wall clock is an input (Unix nanoseconds). The nanoseconds are rounded down to a multiple of
//! 2^24 ns (about 16.8 ms), as the kernel and wireguard-go do: the timestamp travels encrypted but
//! the responder learns it, and a full-precision clock reading would let it fingerprint the host's
//! clock (offset and drift) and time other events precisely. 16.8 ms is below the 20 ms minimum
//! gap between two initiations a responder accepts from one peer (`INITIATION_MIN_INTERVAL`), so
//! the rounding never makes a legitimate retry look like a replay beyond what that limit does.

use super::consts::TIMESTAMP_LEN;
use crate::core::time::NANOS_PER_SEC;

/// The TAI64 label of the Unix epoch as WireGuard writes it: `2^62 + 10`. (TAI − UTC has been 37 s
/// since 2017; WireGuard fixed 10, and only the ordering matters.)
const UNIX_EPOCH_LABEL: u64 = (1 << 62) + 10;
/// Nanoseconds are rounded down to a multiple of this.
pub(crate) const WHITENING_GRANULARITY_NS: u32 = 1 << 24;

/// A TAI64N timestamp as it travels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct Tai64N([u8; TIMESTAMP_LEN]);

impl Tai64N {
    /// Older than any timestamp made from a clock: the starting "last accepted" value of a peer.
    pub const ZERO: Tai64N = Tai64N([0; TIMESTAMP_LEN]);

    /// The timestamp of a wall-clock reading, in nanoseconds since the Unix epoch.
    pub fn from_unix_nanos(unix_nanos: u64) -> Self {
        let seconds = unix_nanos / NANOS_PER_SEC;
        // Below 10^9 < 2^32.
        let nanos = (unix_nanos % NANOS_PER_SEC) as u32;
        let whitened = nanos - nanos % WHITENING_GRANULARITY_NS;
        let mut bytes = [0u8; TIMESTAMP_LEN];
        bytes[..8].copy_from_slice(&(UNIX_EPOCH_LABEL + seconds).to_be_bytes());
        bytes[8..].copy_from_slice(&whitened.to_be_bytes());
        Tai64N(bytes)
    }

    pub(crate) const fn from_bytes(bytes: [u8; TIMESTAMP_LEN]) -> Self {
        Tai64N(bytes)
    }

    pub(crate) const fn to_bytes(self) -> [u8; TIMESTAMP_LEN] {
        self.0
    }

    /// Strictly later than `other`: equal timestamps are a replay.
    pub fn is_newer_than(&self, other: &Tai64N) -> bool {
        self.0 > other.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_is_label_plus_seconds_then_whitened_nanos_big_endian() {
        // 2024-01-02T03:04:05.123456789Z = 1704164645 s.
        let t = Tai64N::from_unix_nanos(1_704_164_645_123_456_789);
        let bytes = t.to_bytes();
        assert_eq!(
            bytes[..8],
            (0x4000_0000_0000_000a_u64 + 1_704_164_645).to_be_bytes()
        );
        // 123456789 rounded down to a multiple of 16777216: 7 * 16777216 = 117440512.
        assert_eq!(bytes[8..], 117_440_512u32.to_be_bytes());
        assert_eq!(
            Tai64N::from_unix_nanos(0).to_bytes(),
            [0x40, 0, 0, 0, 0, 0, 0, 0x0a, 0, 0, 0, 0]
        );
        assert_eq!(Tai64N::from_bytes(bytes), t);
    }

    /// wireguard-go's `tai64n.stamp` for 2020-05-05T12:00:00.999999999Z: secs = 1588680000,
    /// nanos 999999999 &^ 0xffffff = 989855744 (0x3b000000).
    #[test]
    fn matches_wireguard_go_whitening() {
        let t = Tai64N::from_unix_nanos(1_588_680_000_999_999_999);
        assert_eq!(t.to_bytes()[8..], [0x3b, 0, 0, 0]);
    }

    #[test]
    fn newer_is_strict_and_follows_time() {
        let earlier = Tai64N::from_unix_nanos(1_000_000_000_000_000_000);
        let same_bucket = Tai64N::from_unix_nanos(1_000_000_000_010_000_000);
        let next_bucket = Tai64N::from_unix_nanos(1_000_000_000_020_000_000);
        let next_second = Tai64N::from_unix_nanos(1_000_000_001_000_000_000);
        assert!(!earlier.is_newer_than(&earlier), "a replay is not newer");
        assert!(
            !same_bucket.is_newer_than(&earlier),
            "within 16.8 ms rounds to the same"
        );
        assert!(next_bucket.is_newer_than(&earlier));
        assert!(next_second.is_newer_than(&next_bucket));
        assert!(!earlier.is_newer_than(&next_second));
        assert!(earlier.is_newer_than(&Tai64N::ZERO));
        // Seconds dominate nanoseconds (big-endian order).
        let a = Tai64N::from_bytes([0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0]);
        let b = Tai64N::from_bytes([0, 0, 0, 0, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff]);
        assert!(a.is_newer_than(&b));
    }

    #[test]
    fn extreme_clock_values_do_not_panic() {
        let late = Tai64N::from_unix_nanos(u64::MAX);
        assert!(late.is_newer_than(&Tai64N::from_unix_nanos(0)));
    }
}
