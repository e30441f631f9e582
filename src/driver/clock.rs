//! Time for the core, and the one io_uring timeout that wakes the loop for the core's deadline.

use std::time::Duration;

use crate::core::Instant;
use crate::core::time::WallTime;
use crate::sys::uring::Uring;

/// The process's one monotonic origin: every [`Instant`] the core sees is a reading of it. The
/// program creates it once (`app::run`), reads the endpoint's first instant from it, and hands it
/// to the loop; nothing else creates one, so core and driver agree on what an instant means.
#[derive(Debug)]
pub struct Clock {
    origin: std::time::Instant,
}

impl Clock {
    /// Starts the clock: [`Clock::now`] counts from here.
    #[allow(clippy::new_without_default)] // Deliberately no `Default`: a second origin is a bug.
    pub fn new() -> Clock {
        Clock {
            origin: std::time::Instant::now(),
        }
    }

    /// Nanoseconds since the origin (saturating; a process will not run 584 years).
    pub fn now(&self) -> Instant {
        let ns = self.origin.elapsed().as_nanos();
        Instant::from_nanos(u64::try_from(ns).unwrap_or(u64::MAX))
    }

    /// The wall clock (CLOCK_REALTIME) now, for the protocol's timestamps. A clock set before 1970
    /// reads as the epoch.
    pub fn wall(&self) -> WallTime {
        let since_epoch = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        WallTime::from_unix_nanos(u64::try_from(since_epoch.as_nanos()).unwrap_or(u64::MAX))
    }
}

/// The armed timeout, if any. At most one timeout request is armed: a later core deadline keeps
/// the armed (earlier) one, which then wakes the loop early and is re-armed for the new deadline;
/// an earlier deadline removes the armed one and arms a new one. So a timeout is submitted only
/// when the deadline moves earlier or after one fired, never per packet.
#[derive(Default)]
pub struct Timer {
    armed: Option<(u32, Instant)>,
}

impl Timer {
    /// Makes sure the loop wakes at `deadline` (`now` < `deadline`).
    pub fn sync(&mut self, uring: &mut Uring, deadline: Option<Instant>, now: Instant) {
        let Some(deadline) = deadline else {
            return;
        };
        match self.armed {
            Some((_, armed)) if armed <= deadline => {}
            Some((generation, _)) => {
                uring.push_timeout_remove(generation);
                self.arm(uring, deadline, now);
            }
            None => self.arm(uring, deadline, now),
        }
    }

    fn arm(&mut self, uring: &mut Uring, deadline: Instant, now: Instant) {
        let after = deadline.saturating_since(now).max(Duration::from_micros(1));
        let generation = uring.push_timeout(after);
        self.armed = Some((generation, deadline));
    }

    /// A timeout request completed (fired, or removed). Returns true if it was the armed one.
    pub fn completed(&mut self, generation: u32) -> bool {
        match self.armed {
            Some((g, _)) if g == generation => {
                self.armed = None;
                true
            }
            _ => false,
        }
    }

    pub fn armed(&self) -> Option<Instant> {
        self.armed.map(|(_, d)| d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readings_are_monotonic_from_one_origin() {
        let c = Clock::new();
        let a = c.now();
        let b = c.now();
        assert!(b >= a);
    }

    #[test]
    fn wall_clock_is_after_2020() {
        assert!(Clock::new().wall().as_unix_nanos() > 1_577_836_800_000_000_000);
    }
}
