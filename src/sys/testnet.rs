//! Test-only helpers with no production counterpart: directing a signal at one thread of this
//! process. Private namespaces, TUN devices, addresses, socket buffers and signalfds come from the
//! production code (`sys::private_netns`, `sys::tun`, `sys::udp`, `sys::signal`). Nothing here is
//! compiled outside `cfg(test)`.

use std::io;

/// The calling thread's id.
pub fn gettid() -> libc::pid_t {
    // SAFETY: gettid has no preconditions.
    unsafe { libc::gettid() }
}

/// Sends `sig` to thread `tid` of this process.
pub fn tgkill(tid: libc::pid_t, sig: libc::c_int) -> io::Result<()> {
    // SAFETY: signals a thread of our own process; the target blocks `sig` (signalfd).
    let rc = unsafe { libc::syscall(libc::SYS_tgkill, libc::getpid(), tid, sig) };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}
