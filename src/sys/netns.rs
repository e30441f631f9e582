//! Moving the calling thread into a named network namespace (as `ip netns` creates them).
//!
//! Used by integration tests to run a UDP relay or a flooder inside a test's namespace from a thread
//! of the test process. A network namespace is a per-thread attribute, so the rest of the process
//! is unaffected.

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;

/// Moves the current thread into `/run/netns/NAME`.
pub fn enter(name: &str) -> io::Result<()> {
    if name.contains('/') {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "namespace name contains '/'",
        ));
    }
    let file = File::open(format!("/run/netns/{name}"))?;
    // SAFETY: `file` is an open namespace file for the duration of the call; setns only changes the
    // calling thread's network namespace.
    let rc = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}
