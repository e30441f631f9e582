//! Going to the background after set-up, as `wireguard-go IFNAME` does: the command returns once
//! the interface and its control socket exist (wg-quick runs `wg setconf` right after it), and a
//! process of its own, in a session of its own, keeps serving them.
//!
//! [`background`] forks. The parent waits on a pipe until the child says it is ready (one byte,
//! [`Ready::signal`]) and exits 0, or 1 if the child ended first; it runs nothing else, and in
//! particular no destructor, since the interface and the socket file are the child's now. The
//! child starts a new session (no controlling terminal, so no SIGHUP when it closes), moves to
//! `/`, and puts `/dev/null` on stdin, stdout and stderr, so that no pipe of whoever started it
//! (`$(…)`, a test's captured output) stays open for as long as the interface lives.
//!
//! Forking is sound only while the process has one thread (a child of a threaded process may
//! only call async-signal-safe functions); [`background`] checks that first.

use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

/// The child's end of the pipe: [`Ready::signal`] tells the waiting parent to exit 0.
#[derive(Debug)]
pub struct Ready(File);

impl Ready {
    /// Tells the parent that the child runs; the parent then exits 0. Errors are ignored: a parent
    /// that went away has nobody left to tell.
    pub fn signal(mut self) {
        let _ = self.0.write_all(b"R");
    }
}

/// Forks into the background (see the module documentation). Returns in the child only.
pub fn background() -> io::Result<Ready> {
    let threads = threads()?;
    if threads != 1 {
        return Err(io::Error::other(format!(
            "cannot go to the background with {threads} threads running"
        )));
    }
    let (read_end, write_end) = pipe()?;
    // SAFETY: the process has one thread (checked above), so the child is a complete copy that
    // may run any code; fork takes no pointers.
    let pid = unsafe { libc::fork() };
    match pid {
        -1 => Err(io::Error::last_os_error()),
        0 => {
            drop(read_end);
            detach()?;
            Ok(Ready(File::from(write_end)))
        }
        _ => {
            drop(write_end);
            let mut byte = [0u8; 1];
            let status = match File::from(read_end).read(&mut byte) {
                Ok(1) => 0,
                _ => {
                    let _ = io::stderr().write_all(
                        b"ringtun: error: the background process ended before it was ready\n",
                    );
                    1
                }
            };
            // SAFETY: _exit ends the process at once, without running destructors or atexit
            // handlers: the interface and the control socket belong to the child.
            unsafe { libc::_exit(status) }
        }
    }
}

/// The child's side: a session of its own, `/` as its directory, `/dev/null` on fds 0, 1, 2.
fn detach() -> io::Result<()> {
    // SAFETY: setsid takes no arguments; the child of a fork is never a group leader.
    if unsafe { libc::setsid() } < 0 {
        return Err(io::Error::last_os_error());
    }
    std::env::set_current_dir("/")?;
    let null = File::options().read(true).write(true).open("/dev/null")?;
    for fd in 0..=2 {
        // SAFETY: both are open descriptors; dup2 replaces `fd` atomically and takes no pointers.
        if unsafe { libc::dup2(null.as_raw_fd(), fd) } < 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

/// A close-on-exec pipe: (read end, write end).
fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0 as libc::c_int; 2];
    // SAFETY: `fds` is a writable array of two ints, as pipe2 requires.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: pipe2 succeeded: both are open descriptors that nothing else owns.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// The process's thread count (`Threads:` in /proc/self/status).
pub(crate) fn threads() -> io::Result<u32> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("Threads:"))
        .and_then(|v| v.trim().parse().ok())
        .ok_or_else(|| io::Error::other("no thread count in /proc/self/status"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs `f` while a second thread of this test is alive, so that the process certainly has
    /// more than one (whatever the test harness does): `background` must then refuse, never fork.
    fn with_a_second_thread<T>(f: impl FnOnce() -> T) -> T {
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let waiter = std::thread::spawn(move || rx.recv());
        let r = f();
        drop(tx);
        let _ = waiter.join();
        r
    }

    #[test]
    fn threads_are_counted_and_forking_with_them_is_refused() {
        with_a_second_thread(|| {
            assert!(threads().unwrap() >= 2);
            let e = background().unwrap_err();
            assert!(e.to_string().contains("threads running"), "{e}");
        });
    }

    #[test]
    fn the_pipe_carries_the_ready_byte() {
        let (r, w) = pipe().unwrap();
        Ready(File::from(w)).signal();
        let mut got = Vec::new();
        File::from(r).read_to_end(&mut got).unwrap();
        assert_eq!(got, b"R");
    }
}
