//! Time for the core, and the one io_uring timeout that wakes the loop for the core's deadline.

use std::time::Duration;

use crate::core::Instant;
use crate::sys::uring::Uring;

/// Monotonic time since the loop started, as the core's [`Instant`].
pub struct Clock {
    start: std::time::Instant,
}

impl Clock {
    pub fn new() -> Clock {
        Clock {
            start: std::time::Instant::now(),
        }
    }

    pub fn now(&self) -> Instant {
        let ns = self.start.elapsed().as_nanos();
        Instant::from_nanos(u64::try_from(ns).unwrap_or(u64::MAX))
    }
}

impl Default for Clock {
    fn default() -> Self {
        Clock::new()
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
