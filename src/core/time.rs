//! Time as the core sees it: a monotonic count of nanoseconds chosen by the caller ([`Instant`]),
//! and the wall clock ([`WallTime`]) where the protocol needs one.
//!
//! The core never reads a clock. The driver passes `Instant`s from CLOCK_MONOTONIC and the wall
//! time from CLOCK_REALTIME; tests and fuzzers pass simulated ones. Arithmetic saturates, so a
//! hostile or odd clock value cannot panic.

use core::time::Duration;

pub(crate) const NANOS_PER_SEC: u64 = 1_000_000_000;

/// A point on the caller's monotonic clock, in nanoseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Instant(u64);

impl Instant {
    pub const ZERO: Instant = Instant(0);

    pub const fn from_nanos(ns: u64) -> Self {
        Instant(ns)
    }

    pub(crate) const fn as_nanos(self) -> u64 {
        self.0
    }

    /// Time elapsed since `earlier`, zero if `earlier` is in the future.
    pub(crate) fn saturating_since(self, earlier: Instant) -> Duration {
        Duration::from_nanos(self.0.saturating_sub(earlier.0))
    }

    pub(crate) fn saturating_add(self, d: Duration) -> Instant {
        let ns = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        Instant(self.0.saturating_add(ns))
    }
}

impl core::ops::Add<Duration> for Instant {
    type Output = Instant;
    fn add(self, d: Duration) -> Instant {
        self.saturating_add(d)
    }
}

/// A reading of the wall clock: nanoseconds since the Unix epoch. WireGuard needs it for the
/// TAI64N timestamp of each initiation (which must grow across restarts, which the monotonic clock
/// does not) and `wg show` for the time of the last handshake. Read by the driver once per batch.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct WallTime(u64);

impl WallTime {
    pub const fn from_unix_nanos(ns: u64) -> Self {
        WallTime(ns)
    }

    pub const fn as_unix_nanos(self) -> u64 {
        self.0
    }

    /// The wall time at the monotonic `then`, given that `self` was read at the monotonic `now`
    /// (`then` in the future counts as `now`).
    pub(crate) fn at(self, now: Instant, then: Instant) -> WallTime {
        let ago = u64::try_from(now.saturating_since(then).as_nanos()).unwrap_or(u64::MAX);
        WallTime(self.0.saturating_sub(ago))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arithmetic_saturates() {
        let t = Instant::from_nanos(5);
        assert_eq!(t.saturating_since(Instant::from_nanos(10)), Duration::ZERO);
        assert_eq!(
            Instant::from_nanos(u64::MAX - 1) + Duration::from_secs(1),
            Instant::from_nanos(u64::MAX)
        );
        assert_eq!(
            Instant::from_nanos(10).saturating_since(t),
            Duration::from_nanos(5)
        );
    }

    #[test]
    fn wall_time_of_an_earlier_instant() {
        let wall = WallTime::from_unix_nanos(1_000);
        let now = Instant::from_nanos(500);
        assert_eq!(wall.at(now, Instant::from_nanos(200)).as_unix_nanos(), 700);
        assert_eq!(wall.at(now, Instant::from_nanos(900)), wall);
        assert_eq!(wall.at(now, Instant::ZERO).as_unix_nanos(), 500);
        assert_eq!(
            WallTime::from_unix_nanos(3).at(Instant::from_nanos(u64::MAX), Instant::ZERO),
            WallTime::from_unix_nanos(0)
        );
    }
}
