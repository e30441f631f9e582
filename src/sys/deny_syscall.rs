//! Tests only: start a child process under a seccomp filter that makes one system call fail with a
//! chosen errno, the way a container's default seccomp profile refuses `io_uring_setup`. Lets the
//! tests see ringtun's refusal message on a host that has io_uring, without touching the host's
//! sysctls (which other processes share).

use std::io;
use std::os::unix::process::CommandExt;
use std::process::Command;

/// `AUDIT_ARCH_*` of the build target (`linux/audit.h`): the filter only judges calls made with
/// this architecture's numbering.
#[cfg(target_arch = "x86_64")]
const AUDIT_ARCH: u32 = 0xC000_003E;
#[cfg(target_arch = "aarch64")]
const AUDIT_ARCH: u32 = 0xC000_00B7;

/// Offsets in `struct seccomp_data`: `nr` (int) then `arch` (u32).
const OFFSET_NR: u32 = 0;
const OFFSET_ARCH: u32 = 4;

const fn stmt(code: u32, k: u32) -> libc::sock_filter {
    libc::sock_filter {
        code: code as u16,
        jt: 0,
        jf: 0,
        k,
    }
}

const fn jump_eq(k: u32, jt: u8, jf: u8) -> libc::sock_filter {
    libc::sock_filter {
        code: (libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K) as u16,
        jt,
        jf,
        k,
    }
}

/// The classic-BPF program: calls of another architecture and every other call pass; `syscall`
/// returns `-errno`.
fn program(syscall: libc::c_long, errno: i32) -> [libc::sock_filter; 6] {
    let load = libc::BPF_LD | libc::BPF_W | libc::BPF_ABS;
    let ret = libc::BPF_RET | libc::BPF_K;
    [
        stmt(load, OFFSET_ARCH),
        jump_eq(AUDIT_ARCH, 0, 3),
        stmt(load, OFFSET_NR),
        jump_eq(syscall as u32, 0, 1),
        stmt(
            ret,
            libc::SECCOMP_RET_ERRNO | (errno as u32 & libc::SECCOMP_RET_DATA),
        ),
        stmt(ret, libc::SECCOMP_RET_ALLOW),
    ]
}

/// Makes `cmd`'s process (after fork, before exec) install a filter under which `syscall` fails
/// with `errno`; `NO_NEW_PRIVS` first, as an unprivileged filter needs.
pub fn deny_in_child(cmd: &mut Command, syscall: libc::c_long, errno: i32) {
    let filter = program(syscall, errno);
    // SAFETY: the closure runs in the forked child before exec and only calls prctl(2), which
    // is async-signal-safe, with pointers into `filter`, which the closure owns (moved in) and
    // which is alive for the call; it allocates nothing and takes no locks.
    unsafe {
        cmd.pre_exec(move || {
            let prog = libc::sock_fprog {
                len: filter.len() as u16,
                filter: filter.as_ptr().cast_mut(),
            };
            // prctl is variadic and the kernel reads whole words: pass every argument as one.
            let (one, zero): (libc::c_ulong, libc::c_ulong) = (1, 0);
            if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, one, zero, zero, zero) != 0
                || libc::prctl(
                    libc::PR_SET_SECCOMP,
                    libc::c_ulong::from(libc::SECCOMP_MODE_FILTER),
                    &prog as *const libc::sock_fprog,
                ) != 0
            {
                return Err(io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A shell started with the filter runs (only the one call is refused) and is under it
    /// (`Seccomp: 2`). That the call itself fails is tested on ringtun (tests/availability.rs).
    #[test]
    fn child_runs_under_the_filter() {
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "grep '^Seccomp:' /proc/self/status"]);
        deny_in_child(&mut cmd, libc::SYS_io_uring_setup, libc::EPERM);
        let out = cmd.output().unwrap();
        assert!(out.status.success(), "{out:?}");
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "Seccomp:\t2");
    }
}
