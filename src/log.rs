//! Logging to stderr with a level, and a rate limiter for lines caused by network input.
//!
//! Every line starts with `ringtun: ` so that the daemon's output is recognisable in a journal and
//! so that tests can parse it. Lines caused by remote input (dropped datagrams) go through a
//! [`RateLimiter`] so that a flood cannot turn into a flood of log writes.

use std::io::Write;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration;

use crate::core::Instant;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
#[repr(u8)]
pub enum Level {
    /// Errors and warnings only.
    Quiet = 0,
    /// Plus session events and stats.
    Normal = 1,
    /// Plus per-handshake detail.
    Verbose = 2,
}

static LEVEL: AtomicU8 = AtomicU8::new(Level::Normal as u8);

pub fn set_level(level: Level) {
    LEVEL.store(level as u8, Ordering::Relaxed);
}

/// From the CLI's verbosity count: 0 quiet, 1 normal, 2+ verbose.
pub fn set_verbosity(v: u8) {
    set_level(match v {
        0 => Level::Quiet,
        1 => Level::Normal,
        _ => Level::Verbose,
    });
}

pub fn level() -> Level {
    match LEVEL.load(Ordering::Relaxed) {
        0 => Level::Quiet,
        1 => Level::Normal,
        _ => Level::Verbose,
    }
}

pub fn enabled(l: Level) -> bool {
    level() >= l
}

/// Writes one whole line `ringtun: MSG` to stderr with a single write, so that lines never
/// interleave. Errors writing to stderr are ignored: there is nowhere left to report them.
pub fn line(args: std::fmt::Arguments<'_>) {
    let mut s = String::with_capacity(96);
    let _ = std::fmt::Write::write_fmt(&mut s, format_args!("ringtun: {args}\n"));
    let _ = std::io::stderr().lock().write_all(s.as_bytes());
}

/// `ringtun: error: …`, always shown.
#[macro_export]
macro_rules! log_error {
    ($($t:tt)*) => { $crate::log::line(format_args!("error: {}", format_args!($($t)*))) };
}

/// `ringtun: warning: …`, always shown.
#[macro_export]
macro_rules! log_warn {
    ($($t:tt)*) => { $crate::log::line(format_args!("warning: {}", format_args!($($t)*))) };
}

/// `ringtun: …`, unless quiet.
#[macro_export]
macro_rules! log_info {
    ($($t:tt)*) => {
        if $crate::log::enabled($crate::log::Level::Normal) {
            $crate::log::line(format_args!($($t)*))
        }
    };
}

/// `ringtun: …`, only when verbose.
#[macro_export]
macro_rules! log_debug {
    ($($t:tt)*) => {
        if $crate::log::enabled($crate::log::Level::Verbose) {
            $crate::log::line(format_args!($($t)*))
        }
    };
}

/// At most `burst` lines per `interval` for each key; lines over the limit are counted, and the
/// next allowed line reports how many were suppressed. Sans-IO: the caller passes the time.
#[derive(Debug)]
pub struct RateLimiter {
    interval: Duration,
    burst: u32,
    slots: Vec<Slot>,
}

#[derive(Clone, Copy, Debug)]
struct Slot {
    window_start: Option<Instant>,
    used: u32,
    suppressed: u64,
}

/// What the limiter decided about one line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Log it; `suppressed` lines of this key were dropped since the last one logged.
    Allow { suppressed: u64 },
    /// Do not log it (it has been counted).
    Suppress,
}

impl RateLimiter {
    /// `keys` distinct keys (e.g. `DropReason::COUNT`), `burst` lines each per `interval`.
    pub fn new(keys: usize, burst: u32, interval: Duration) -> Self {
        RateLimiter {
            interval,
            burst: burst.max(1),
            slots: vec![
                Slot {
                    window_start: None,
                    used: 0,
                    suppressed: 0
                };
                keys
            ],
        }
    }

    /// Decides about one line for `key` at `now`. An out-of-range key is always suppressed.
    pub fn check(&mut self, key: usize, now: Instant) -> Verdict {
        let interval = self.interval;
        let burst = self.burst;
        let Some(slot) = self.slots.get_mut(key) else {
            return Verdict::Suppress;
        };
        let new_window = match slot.window_start {
            None => true,
            Some(start) => now.saturating_since(start) >= interval,
        };
        if new_window {
            slot.window_start = Some(now);
            slot.used = 0;
        }
        if slot.used < burst {
            slot.used += 1;
            let suppressed = std::mem::take(&mut slot.suppressed);
            Verdict::Allow { suppressed }
        } else {
            slot.suppressed = slot.suppressed.saturating_add(1);
            Verdict::Suppress
        }
    }
}

/// The suffix for an allowed line: empty, or ` (N similar lines suppressed)` (always "lines", so
/// that one pattern matches every count).
pub fn suppressed_suffix(suppressed: u64) -> String {
    match suppressed {
        0 => String::new(),
        n => format!(" ({n} similar lines suppressed)"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(ms: u64) -> Instant {
        Instant::from_nanos(ms * 1_000_000)
    }

    #[test]
    fn burst_then_suppress_then_report() {
        let mut rl = RateLimiter::new(2, 3, Duration::from_secs(1));
        for i in 0..3 {
            assert_eq!(rl.check(0, t(i)), Verdict::Allow { suppressed: 0 });
        }
        for i in 3..10 {
            assert_eq!(rl.check(0, t(i)), Verdict::Suppress);
        }
        // Another key has its own budget.
        assert_eq!(rl.check(1, t(10)), Verdict::Allow { suppressed: 0 });
        // Still inside the window.
        assert_eq!(rl.check(0, t(999)), Verdict::Suppress);
        // Next window: allowed, and reports the 8 suppressed ones exactly once.
        assert_eq!(rl.check(0, t(1000)), Verdict::Allow { suppressed: 8 });
        assert_eq!(rl.check(0, t(1001)), Verdict::Allow { suppressed: 0 });
    }

    #[test]
    fn out_of_range_key_and_backwards_clock_do_not_panic() {
        let mut rl = RateLimiter::new(1, 1, Duration::from_secs(10));
        assert_eq!(rl.check(5, t(0)), Verdict::Suppress);
        assert_eq!(rl.check(0, t(5000)), Verdict::Allow { suppressed: 0 });
        // A clock going backwards stays in the current window.
        assert_eq!(rl.check(0, t(1)), Verdict::Suppress);
        assert_eq!(rl.check(0, t(15_000)), Verdict::Allow { suppressed: 1 });
    }

    #[test]
    fn suffix_wording() {
        assert_eq!(suppressed_suffix(0), "");
        assert_eq!(suppressed_suffix(1), " (1 similar lines suppressed)");
        assert_eq!(suppressed_suffix(7), " (7 similar lines suppressed)");
    }

    #[test]
    fn levels() {
        // The only test touching the global level, so parallel tests do not race on it.
        set_verbosity(0);
        assert!(!enabled(Level::Normal));
        set_verbosity(2);
        assert!(enabled(Level::Verbose));
        set_verbosity(1);
        assert!(enabled(Level::Normal) && !enabled(Level::Verbose));
    }
}
