//! Test-only helpers with no production counterpart: directing a signal at one thread of this
//! process, and reading configuration back with iproute2's `ip`. Private namespaces, TUN devices,
//! addresses, socket buffers and signalfds come from the production code (`sys::private_netns`,
//! `sys::tun`, `sys::udp`, `sys::signal`). Nothing here is compiled outside `cfg(test)`.

use std::io;

/// The calling thread's id.
pub(crate) fn gettid() -> libc::pid_t {
    // SAFETY: gettid has no preconditions.
    unsafe { libc::gettid() }
}

/// Sends `sig` to thread `tid` of this process.
pub(crate) fn tgkill(tid: libc::pid_t, sig: libc::c_int) -> io::Result<()> {
    // SAFETY: signals a thread of our own process; the target blocks `sig` (signalfd).
    let rc = unsafe { libc::syscall(libc::SYS_tgkill, libc::getpid(), tid, sig) };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Runs iproute2's `ip` with `args` and returns its stdout. A child forked from the calling thread
/// inherits that thread's network namespace, so this reads back what a private namespace holds.
pub(crate) fn ip(args: &[&str]) -> String {
    let out = std::process::Command::new("ip")
        .args(args)
        .output()
        .expect("these tests use iproute2's `ip` to read the configuration back");
    assert!(out.status.success(), "ip {args:?}: {out:?}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}
