//! Logging to stderr with a level, and a rate limiter for lines caused by network input.
//!
//! Every line starts with `ringtun: ` so that the daemon's output is recognisable in a journal and
//! so that tests can parse it. Lines caused by remote input (dropped datagrams) go through a
//! [`RateLimiter`] so that a flood cannot turn into a flood of log writes.
//!
//! Under systemd, when stderr is connected to the journal, each line also starts with its syslog
//! priority as `<N>` (`sd-daemon(3)`), which journald strips and records: `journalctl -p warning`
//! then finds ringtun's errors and warnings. Whether stderr is the journal is decided once, the
//! way `systemd.exec(5)` documents for `$JOURNAL_STREAM`: the variable holds the `DEVICE:INODE`
//! of the journal stream, and it must match stderr's own (a child whose stderr was redirected
//! inherits the variable but not the stream, and gets no prefixes).
//!
//! In the background (`ringtun IFNAME` without `-f`) stderr is `/dev/null`, and lines go to the
//! system log instead ([`to_syslog`]): `journalctl -t ringtun` or the syslog files show them.

use std::io::Write;
use std::os::fd::AsFd;
use std::os::unix::fs::MetadataExt;
use std::os::unix::net::UnixDatagram;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration;

use crate::core::Instant;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
#[repr(u8)]
pub(crate) enum Level {
    /// Errors and warnings only.
    Quiet = 0,
    /// Plus session events and stats.
    Normal = 1,
    /// Plus per-handshake detail.
    Verbose = 2,
}

static LEVEL: AtomicU8 = AtomicU8::new(Level::Normal as u8);

pub(crate) fn set_level(level: Level) {
    LEVEL.store(level as u8, Ordering::Relaxed);
}

/// From the CLI's verbosity count: 0 quiet, 1 normal, 2+ verbose.
pub(crate) fn set_verbosity(v: u8) {
    set_level(match v {
        0 => Level::Quiet,
        1 => Level::Normal,
        _ => Level::Verbose,
    });
}

pub(crate) fn level() -> Level {
    match LEVEL.load(Ordering::Relaxed) {
        0 => Level::Quiet,
        1 => Level::Normal,
        _ => Level::Verbose,
    }
}

pub(crate) fn enabled(l: Level) -> bool {
    level() >= l
}

/// A line's syslog priority (the numbers of `syslog(3)`), for the journal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Priority {
    Error = 3,
    Warning = 4,
    Info = 6,
    Debug = 7,
}

/// Writes one whole line `ringtun: MSG` at info priority; see [`line_at`].
pub(crate) fn line(args: std::fmt::Arguments<'_>) {
    line_at(Priority::Info, args)
}

/// Writes one whole line `ringtun: MSG` to stderr with a single write, so that lines never
/// interleave; prefixed with `<N>` when stderr is the journal. Errors writing to stderr are
/// ignored: there is nowhere left to report them. After [`to_syslog`], to the system log.
pub fn line_at(priority: Priority, args: std::fmt::Arguments<'_>) {
    if let Some(syslog) = SYSLOG.get() {
        // Non-blocking: a log daemon that falls behind loses lines rather than stalling the loop.
        let _ = syslog.send(format_syslog(std::process::id(), priority, args).as_bytes());
        return;
    }
    let s = format_line(stderr_is_journal(), priority, args);
    let _ = std::io::stderr().lock().write_all(s.as_bytes());
}

/// Room for a typical log line up front, so that most lines are formatted without growing.
const LINE_CAPACITY: usize = 96;
/// The system log's socket, once [`to_syslog`] connected it.
static SYSLOG: OnceLock<UnixDatagram> = OnceLock::new();
/// Where journald and syslog daemons read local messages.
pub const SYSLOG_SOCKET: &str = "/dev/log";
/// syslog(3)'s `LOG_DAEMON` facility, as it goes into `<PRI>`.
const FACILITY_DAEMON: u8 = 3 << 3;

/// Sends every line from now on to the system log ([`SYSLOG_SOCKET`]) instead of stderr. Fails,
/// changing nothing, where there is no log daemon.
pub fn to_syslog() -> std::io::Result<()> {
    let socket = UnixDatagram::unbound()?;
    socket.connect(SYSLOG_SOCKET)?;
    socket.set_nonblocking(true)?;
    let _ = SYSLOG.set(socket);
    Ok(())
}

/// One system-log message: `<PRI>ringtun[PID]: MSG` (RFC 3164's local form, which journald and
/// rsyslog both read), facility daemon.
pub fn format_syslog(pid: u32, priority: Priority, args: std::fmt::Arguments<'_>) -> String {
    format!(
        "<{}>ringtun[{pid}]: {args}",
        FACILITY_DAEMON | priority as u8
    )
}

/// The bytes of one log line: `[<N>]ringtun: MSG\n`.
pub(crate) fn format_line(
    journal: bool,
    priority: Priority,
    args: std::fmt::Arguments<'_>,
) -> String {
    let mut s = String::with_capacity(LINE_CAPACITY);
    if journal {
        let _ = std::fmt::Write::write_fmt(&mut s, format_args!("<{}>", priority as u8));
    }
    let _ = std::fmt::Write::write_fmt(&mut s, format_args!("ringtun: {args}\n"));
    s
}

/// The variable systemd sets when a service's stdout or stderr is connected to the journal.
pub(crate) const JOURNAL_STREAM: &str = "JOURNAL_STREAM";

/// Whether stderr is the journal's stream (decided at the first call, then remembered).
pub(crate) fn stderr_is_journal() -> bool {
    static JOURNAL: OnceLock<bool> = OnceLock::new();
    *JOURNAL.get_or_init(|| {
        let Some(value) = std::env::var_os(JOURNAL_STREAM) else {
            return false;
        };
        match (value.to_str(), stderr_device_inode()) {
            (Some(v), Some((dev, ino))) => journal_stream_matches(v, dev, ino),
            _ => false,
        }
    })
}

/// Whether a `$JOURNAL_STREAM` value (`DEVICE:INODE`, both decimal) names the file `dev`, `ino`.
/// A malformed value matches nothing.
pub(crate) fn journal_stream_matches(value: &str, dev: u64, ino: u64) -> bool {
    let Some((d, i)) = value.split_once(':') else {
        return false;
    };
    matches!((d.parse::<u64>(), i.parse::<u64>()), (Ok(d), Ok(i)) if d == dev && i == ino)
}

/// Device and inode of what fd 2 refers to (fstat of a duplicate: the same open file), or `None`
/// when stderr is closed.
pub(crate) fn stderr_device_inode() -> Option<(u64, u64)> {
    let fd = std::io::stderr().as_fd().try_clone_to_owned().ok()?;
    let meta = std::fs::File::from(fd).metadata().ok()?;
    Some((meta.dev(), meta.ino()))
}

/// `ringtun: error: …`, always shown.
#[macro_export]
macro_rules! log_error {
    ($($t:tt)*) => {
        $crate::log::line_at(
            $crate::log::Priority::Error,
            format_args!("error: {}", format_args!($($t)*)),
        )
    };
}

/// `ringtun: warning: …`, always shown.
#[macro_export]
macro_rules! log_warn {
    ($($t:tt)*) => {
        $crate::log::line_at(
            $crate::log::Priority::Warning,
            format_args!("warning: {}", format_args!($($t)*)),
        )
    };
}

/// `ringtun: …`, unless quiet.
#[macro_export]
macro_rules! log_info {
    ($($t:tt)*) => {
        if $crate::log::enabled($crate::log::Level::Normal) {
            $crate::log::line_at($crate::log::Priority::Info, format_args!($($t)*))
        }
    };
}

/// `ringtun: …`, only when verbose.
#[macro_export]
macro_rules! log_debug {
    ($($t:tt)*) => {
        if $crate::log::enabled($crate::log::Level::Verbose) {
            $crate::log::line_at($crate::log::Priority::Debug, format_args!($($t)*))
        }
    };
}

/// At most `burst` lines per `interval` for each key; lines over the limit are counted, and the
/// next allowed line reports how many were suppressed. Sans-IO: the caller passes the time.
#[derive(Debug)]
pub(crate) struct RateLimiter {
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
pub(crate) enum Verdict {
    /// Log it; `suppressed` lines of this key were dropped since the last one logged.
    Allow { suppressed: u64 },
    /// Do not log it (it has been counted).
    Suppress,
}

impl RateLimiter {
    /// `keys` distinct keys (e.g. `DropReason::COUNT`), `burst` lines each per `interval`.
    pub(crate) fn new(keys: usize, burst: u32, interval: Duration) -> Self {
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
    pub(crate) fn check(&mut self, key: usize, now: Instant) -> Verdict {
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
pub(crate) fn suppressed_suffix(suppressed: u64) -> String {
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
    fn syslog_messages_carry_facility_priority_and_pid() {
        assert_eq!(
            format_syslog(42, Priority::Warning, format_args!("warning: x")),
            "<28>ringtun[42]: warning: x"
        );
        assert_eq!(
            format_syslog(7, Priority::Info, format_args!("up")),
            "<30>ringtun[7]: up"
        );
    }

    #[test]
    fn journal_lines_carry_their_priority() {
        let cases = [
            (Priority::Error, "<3>"),
            (Priority::Warning, "<4>"),
            (Priority::Info, "<6>"),
            (Priority::Debug, "<7>"),
        ];
        for (priority, prefix) in cases {
            assert_eq!(
                format_line(true, priority, format_args!("x {}", 1)),
                format!("{prefix}ringtun: x 1\n")
            );
            assert_eq!(
                format_line(false, priority, format_args!("x {}", 1)),
                "ringtun: x 1\n"
            );
        }
    }

    #[test]
    fn journal_stream_must_name_this_device_and_inode() {
        assert!(journal_stream_matches("64769:1234567", 64769, 1234567));
        assert!(journal_stream_matches("0:1", 0, 1));
        assert!(!journal_stream_matches("64769:1234567", 64769, 1234568));
        assert!(!journal_stream_matches("64769:1234567", 64770, 1234567));
        for malformed in [
            "", ":", "64769", "64769:", ":1234567", "x:1", "1:2:3", " 1:2", "-1:2",
        ] {
            assert!(!journal_stream_matches(malformed, 1, 2), "{malformed:?}");
        }
        // Beyond u64: malformed, not wrapped.
        assert!(!journal_stream_matches("18446744073709551616:2", 0, 2));
    }

    #[test]
    fn stderr_device_and_inode_are_those_of_the_open_file() {
        // Whatever the test runner made fd 2, fstat of it must agree with a stat through
        // /proc/self/fd/2, which names the same open file.
        let (dev, ino) = stderr_device_inode().expect("the test runner has a stderr");
        let meta = std::fs::metadata("/proc/self/fd/2").unwrap();
        assert_eq!((dev, ino), (meta.dev(), meta.ino()));
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
