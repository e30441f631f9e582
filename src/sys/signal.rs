//! Signals as a file descriptor: SIGINT, SIGTERM, SIGUSR1 and SIGHUP are blocked and read from a
//! signalfd, so the io_uring loop sees them as ordinary completions.

use std::io;
use std::os::fd::{FromRawFd, OwnedFd};

/// The signals ringtun handles.
pub(crate) const HANDLED: [i32; 4] = [libc::SIGINT, libc::SIGTERM, libc::SIGUSR1, libc::SIGHUP];

/// Size of one `signalfd_siginfo` record, as read from the fd.
pub(crate) const SIGINFO_LEN: usize = std::mem::size_of::<libc::signalfd_siginfo>();

fn handled_set() -> io::Result<libc::sigset_t> {
    // SAFETY: sigset_t is plain data; sigemptyset fully initialises it before any read.
    let mut set: libc::sigset_t = unsafe { std::mem::zeroed() };
    // SAFETY: `set` is a valid, writable sigset_t.
    if unsafe { libc::sigemptyset(&mut set) } != 0 {
        return Err(io::Error::last_os_error());
    }
    for sig in HANDLED {
        // SAFETY: `set` is initialised and `sig` is a valid signal number.
        if unsafe { libc::sigaddset(&mut set, sig) } != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(set)
}

/// Blocks the handled signals on the calling thread (call it on the main thread before spawning
/// any, so that threads inherit the mask) and returns a non-blocking signalfd for them.
pub(crate) fn block_and_signalfd() -> io::Result<OwnedFd> {
    let set = handled_set()?;
    // SAFETY: `set` is an initialised sigset_t; a null old-set pointer is allowed.
    let rc = unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) };
    if rc != 0 {
        // pthread_sigmask returns the error number instead of setting errno.
        return Err(io::Error::from_raw_os_error(rc));
    }
    // SAFETY: -1 asks for a new fd; `set` is initialised; the flags are valid.
    let fd = unsafe { libc::signalfd(-1, &set, libc::SFD_NONBLOCK | libc::SFD_CLOEXEC) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: signalfd just returned this fd and nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// The signal number (`ssi_signo`) of a `signalfd_siginfo` record read from the fd; `None` when
/// fewer than a whole record's bytes are given.
#[cfg(test)]
pub(crate) fn signal_number(bytes: &[u8]) -> Option<i32> {
    if bytes.len() < SIGINFO_LEN {
        return None;
    }
    // ssi_signo is the first field, a u32 in native byte order.
    let signo = u32::from_ne_bytes(bytes.get(0..4)?.try_into().ok()?);
    i32::try_from(signo).ok()
}

/// The conventional name of a signal, for log lines ("SIGTERM").
pub(crate) fn name(signo: i32) -> &'static str {
    match signo {
        libc::SIGINT => "SIGINT",
        libc::SIGTERM => "SIGTERM",
        libc::SIGUSR1 => "SIGUSR1",
        libc::SIGHUP => "SIGHUP",
        _ => "signal",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn parses_signo_and_rejects_short() {
        assert_eq!(SIGINFO_LEN, 128);
        let mut rec = [0u8; SIGINFO_LEN];
        rec[0..4].copy_from_slice(&(libc::SIGUSR1 as u32).to_ne_bytes());
        assert_eq!(signal_number(&rec), Some(libc::SIGUSR1));
        assert_eq!(signal_number(&rec[..SIGINFO_LEN - 1]), None);
        assert_eq!(signal_number(&[]), None);
        assert_eq!(name(libc::SIGTERM), "SIGTERM");
    }

    #[test]
    fn signalfd_receives_a_blocked_signal() {
        // On its own thread: the mask is per-thread and the signal is directed at this thread.
        std::thread::spawn(|| {
            let fd = block_and_signalfd().unwrap();
            let me = crate::sys::testnet::gettid();
            crate::sys::testnet::tgkill(me, libc::SIGUSR1).unwrap();
            let mut f = std::fs::File::from(fd);
            let mut buf = [0u8; SIGINFO_LEN];
            f.read_exact(&mut buf).unwrap();
            assert_eq!(signal_number(&buf), Some(libc::SIGUSR1));
        })
        .join()
        .unwrap();
    }
}
