//! A private network namespace for the calling thread (`unshare(CLONE_NEWNET)`), for tests that
//! create TUN devices, routes and sockets without touching the host's network. The namespace is
//! a per-thread attribute and disappears when the thread and its sockets are gone.

use std::io;

/// Moves the calling thread into a new, empty network namespace (only `lo`, down).
pub(crate) fn unshare_thread() -> io::Result<()> {
    // SAFETY: unshare(CLONE_NEWNET) only changes the calling thread's network namespace; it takes
    // no pointers.
    let rc = unsafe { libc::unshare(libc::CLONE_NEWNET) };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Whether the process runs with euid 0.
pub(crate) fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// Runs `f` on a new thread inside a fresh network namespace with `lo` up, and returns its result.
/// For root-only tests: panics with a clear message when not root, never skips silently.
pub(crate) fn run_isolated<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    assert!(
        is_root(),
        "this test needs root (CAP_NET_ADMIN and CAP_SYS_ADMIN) to create a private network namespace"
    );
    let handle = std::thread::spawn(move || {
        unshare_thread().expect("unshare(CLONE_NEWNET) failed");
        crate::sys::tun::set_up("lo").expect("bringing up lo in the private namespace");
        f()
    });
    match handle.join() {
        Ok(v) => v,
        Err(p) => std::panic::resume_unwind(p),
    }
}
