//! "Under load": when handshake messages arrive faster than the responder should spend CPU on
//! them, it stops processing those without a valid mac2 and answers them with a cookie reply
//! instead (paper §5.4.7). The kernel and wireguard-go call themselves under load when their
//! handshake queue is an eighth full; ringtun handles every datagram on one thread as it arrives,
//! so there is no queue to measure. It measures the rate instead.
//!
//! Counted: handshake messages whose mac1 is valid (anything else is dropped after one BLAKE2s,
//! which is cheap). Each can cost a responder up to four X25519 operations, about 150 µs on a
//! typical core, so more than `THRESHOLD` per `WINDOW` (1,024 a second) would take over 15 % of
//! the thread. Crossing it puts the device under load for `HOLD` after the last window that
//! crossed it, as the kernel does, so that load does not flap on and off with every window.
//! A big server (100,000 peers rekeying every two minutes is 833 handshakes a second) stays just
//! below; a flood goes above, and from then on only senders that can receive at their source
//! address (and so hold a cookie) get handshakes processed.

use core::time::Duration;

use crate::core::time::Instant;

/// Handshake messages with a valid mac1 per window above which the device is under load.
pub const THRESHOLD: u32 = 128;
pub(crate) const WINDOW: Duration = Duration::from_millis(125);
/// How long the device stays under load after a window crossed the threshold.
pub(crate) const HOLD: Duration = Duration::from_secs(1);

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct LoadMeter {
    window_start: Instant,
    count: u32,
    under_load_until: Option<Instant>,
}

impl LoadMeter {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// A handshake message with a valid mac1 arrived at `now`.
    pub(crate) fn record(&mut self, now: Instant) {
        if now.saturating_since(self.window_start) >= WINDOW || now < self.window_start {
            self.window_start = now;
            self.count = 0;
        }
        self.count = self.count.saturating_add(1);
        if self.count > THRESHOLD {
            self.under_load_until = Some(now + HOLD);
        }
    }

    pub(crate) fn is_under_load(&self, now: Instant) -> bool {
        self.under_load_until.is_some_and(|until| now < until)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: Instant = Instant::from_nanos(10_000_000_000);

    fn ms(m: u64) -> Instant {
        T0 + Duration::from_millis(m)
    }

    #[test]
    fn crossing_the_rate_starts_load_which_holds_for_a_second() {
        let mut m = LoadMeter::new();
        for _ in 0..THRESHOLD {
            m.record(T0);
        }
        assert!(!m.is_under_load(T0), "at the threshold, not above");
        m.record(ms(1));
        assert!(m.is_under_load(ms(1)));
        assert!(m.is_under_load(ms(1000)));
        assert!(!m.is_under_load(ms(1001)));
    }

    #[test]
    fn a_steady_rate_below_the_threshold_never_is_load() {
        let mut m = LoadMeter::new();
        // 1,000 a second, evenly: 125 per window.
        for i in 0..10_000u64 {
            let now = T0 + Duration::from_micros(i * 1000);
            m.record(now);
            assert!(!m.is_under_load(now), "at {i} ms");
        }
    }

    #[test]
    fn a_flood_keeps_it_under_load_while_it_lasts() {
        let mut m = LoadMeter::new();
        for i in 0..5_000u64 {
            // 5,000 a second for one second.
            let now = T0 + Duration::from_micros(i * 200);
            m.record(now);
        }
        assert!(m.is_under_load(ms(999)));
        assert!(m.is_under_load(ms(1500)));
        assert!(!m.is_under_load(ms(2100)));
    }
}
