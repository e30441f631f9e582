//! ringtun where io_uring is refused: started under a seccomp filter that refuses
//! `io_uring_setup` as Docker's default profile does (`EPERM`) or Podman's (`ENOSYS`), it exits 1
//! with one line that names the seccomp filter and the fix, before touching any interface. No root
//! needed (an unprivileged process may install a filter on itself under `NO_NEW_PRIVS`).

use std::process::{Command, Stdio};

use ringtun::sys::deny_syscall::deny_in_child;

const RINGTUN: &str = env!("CARGO_BIN_EXE_ringtun");

/// Runs a server start under the filter; returns the exit code and stderr.
fn start_server_with_io_uring_refused(errno: i32) -> (i32, String) {
    // The configuration is checked before the kernel is probed, so give it a valid secret: the
    // only thing wrong is then io_uring.
    let dir = std::env::temp_dir().join(format!(
        "ringtun-availability-{}-{errno}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    let key = dir.join("key");
    let made = Command::new(RINGTUN)
        .arg("genkey")
        .arg(&key)
        .output()
        .expect("run ringtun genkey");
    assert!(made.status.success(), "genkey: {made:?}");
    let mut cmd = Command::new(RINGTUN);
    cmd.args(["-l", "51820", "-k"])
        .arg(&key)
        .stdin(Stdio::null())
        .env_remove("JOURNAL_STREAM")
        .env_remove("NOTIFY_SOCKET");
    deny_in_child(&mut cmd, libc::SYS_io_uring_setup, errno);
    let out = cmd.output().expect("run ringtun");
    let _ = std::fs::remove_dir_all(&dir);
    (
        out.status.code().expect("exited, not killed"),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn docker_like_filter_is_named_with_its_fix() {
    let (code, stderr) = start_server_with_io_uring_refused(libc::EPERM);
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("ringtun: error: io_uring_setup failed on kernel "),
        "{stderr}"
    );
    assert!(stderr.contains("Operation not permitted"), "{stderr}");
    assert!(
        stderr.contains("a seccomp filter blocks io_uring"),
        "{stderr}"
    );
    assert!(
        stderr.contains("--security-opt seccomp=unconfined"),
        "{stderr}"
    );
    assert!(!stderr.contains("key"), "the key was refused: {stderr}");
}

#[test]
fn podman_like_filter_is_seccomp_not_an_old_kernel() {
    let (code, stderr) = start_server_with_io_uring_refused(libc::ENOSYS);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("a seccomp filter blocks io_uring"),
        "{stderr}"
    );
    // This kernel has io_uring (it has the sysctl), so it is not blamed.
    if std::path::Path::new("/proc/sys/kernel/io_uring_disabled").exists() {
        assert!(!stderr.contains("CONFIG_IO_URING"), "{stderr}");
    }
}
