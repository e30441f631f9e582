//! Why `io_uring_setup` was refused, and the one-line fix: a host can have a kernel with io_uring
//! and still not let ringtun use it.
//!
//! The usual causes, told apart by what the process can see of itself and of the kernel:
//!
//! - a seccomp filter (`Seccomp: 2` in `/proc/self/status`): Docker's and containerd's default
//!   profiles no longer allow io_uring (they answer `EPERM`; Podman's answers `ENOSYS`), and a
//!   systemd unit's `SystemCallFilter=` may leave it out;
//! - the `kernel.io_uring_disabled` sysctl (Linux >= 6.6): 2 refuses everyone, 1 everyone but
//!   `CAP_SYS_ADMIN` and members of the group `kernel.io_uring_group` (both `EPERM`);
//! - a kernel without io_uring at all (`ENOSYS`: older than 5.1, or built without
//!   `CONFIG_IO_URING`);
//! - anything else answering `EPERM` or `EACCES`: a security module such as SELinux, or a sandbox.
//!
//! [`diagnose`] decides from given facts (tested on given inputs); [`read_facts`] is the thin
//! reader of `/proc`; [`explain`] puts them together for an error at hand.

use std::fmt;
use std::io;

/// The file that shows a process's seccomp mode.
const STATUS_PATH: &str = "/proc/self/status";
const DISABLED_PATH: &str = "/proc/sys/kernel/io_uring_disabled";
const GROUP_PATH: &str = "/proc/sys/kernel/io_uring_group";

/// `Seccomp:` value of a process under a seccomp filter (`SECCOMP_MODE_FILTER`).
const SECCOMP_MODE_FILTER: u8 = 2;
/// `kernel.io_uring_disabled` values: refused to everyone, or to all but a group and root.
const DISABLED_FOR_ALL: u8 = 2;
const DISABLED_BUT_GROUP: u8 = 1;

/// What was seen when `io_uring_setup` failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct SetupFacts {
    /// The errno `io_uring_setup` returned.
    pub(crate) errno: i32,
    /// The `Seccomp:` field of `/proc/self/status` (0 none, 1 strict, 2 filter); `None` unknown.
    pub(crate) seccomp: Option<u8>,
    /// `kernel.io_uring_disabled`; `None` when the file is absent (a kernel before 6.6, or one
    /// without io_uring) or unreadable.
    pub(crate) io_uring_disabled: Option<u8>,
    /// `kernel.io_uring_group` when it names a group (the kernel's -1 means none).
    pub(crate) io_uring_group: Option<u32>,
}

/// One reason io_uring is unavailable, shown as what blocks it and the fix.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Cause {
    /// A seccomp filter refuses `io_uring_setup`.
    Seccomp,
    /// `kernel.io_uring_disabled = 2`.
    DisabledOnHost,
    /// `kernel.io_uring_disabled = 1`, and this process is neither in the group nor privileged.
    LimitedToGroup { group: Option<u32> },
    /// `ENOSYS` with nothing else to blame.
    NoKernelSupport,
    /// `EINVAL`: the kernel does not know the ring's set-up flags (DEFER_TASKRUN: Linux 6.1).
    SetupFlagsUnknown,
    /// `EPERM`/`EACCES` and none of the above: a security module or sandbox.
    Refused,
}

impl fmt::Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Cause::Seccomp => f.write_str(
                "a seccomp filter blocks io_uring (Docker/containerd default profile, or a \
                 systemd SystemCallFilter=): run the container with --security-opt \
                 seccomp=unconfined or a profile that allows io_uring_setup/enter/register \
                 (in a unit: SystemCallFilter=io_uring_setup io_uring_enter io_uring_register)",
            ),
            Cause::DisabledOnHost => f.write_str(
                "io_uring is disabled on this host (kernel.io_uring_disabled = 2): run \
                 sysctl kernel.io_uring_disabled=0 (persist it in /etc/sysctl.d/)",
            ),
            Cause::LimitedToGroup { group: Some(gid) } => write!(
                f,
                "io_uring is limited to group {gid} (kernel.io_uring_disabled = 1, \
                 kernel.io_uring_group = {gid}): run ringtun with that group (a unit: \
                 SupplementaryGroups=), or sysctl kernel.io_uring_disabled=0"
            ),
            Cause::LimitedToGroup { group: None } => f.write_str(
                "io_uring is limited to privileged processes (kernel.io_uring_disabled = 1, no \
                 kernel.io_uring_group): run sysctl kernel.io_uring_disabled=0, or set \
                 kernel.io_uring_group=GID and run ringtun with that group",
            ),
            Cause::NoKernelSupport => f.write_str(
                "this kernel has no io_uring (older than 5.1, or built without \
                 CONFIG_IO_URING): ringtun needs Linux >= 6.7 with io_uring",
            ),
            Cause::SetupFlagsUnknown => f.write_str(
                "this kernel lacks IORING_SETUP_DEFER_TASKRUN (Linux >= 6.1): ringtun needs \
                 Linux >= 6.7",
            ),
            Cause::Refused => f.write_str(
                "neither seccomp nor kernel.io_uring_disabled blocks io_uring, so a security \
                 module (SELinux, AppArmor) or a sandbox refuses it: see its audit log",
            ),
        }
    }
}

/// The causes that explain `facts`, most likely first (a filter in a container and the host's
/// sysctl can both be in the way, and both need fixing). Empty when the errno is not one that
/// availability explains (e.g. `ENOMEM`).
pub(crate) fn diagnose(facts: &SetupFacts) -> Vec<Cause> {
    let filtered = facts.seccomp == Some(SECCOMP_MODE_FILTER);
    let mut causes = Vec::with_capacity(2);
    match facts.errno {
        libc::EPERM | libc::EACCES => {
            if filtered {
                causes.push(Cause::Seccomp);
            }
            // The sysctl answers EPERM only; EACCES comes from elsewhere.
            if facts.errno == libc::EPERM {
                match facts.io_uring_disabled {
                    Some(DISABLED_FOR_ALL) => causes.push(Cause::DisabledOnHost),
                    Some(DISABLED_BUT_GROUP) => causes.push(Cause::LimitedToGroup {
                        group: facts.io_uring_group,
                    }),
                    _ => {}
                }
            }
            if causes.is_empty() {
                causes.push(Cause::Refused);
            }
        }
        libc::ENOSYS => {
            if filtered {
                causes.push(Cause::Seccomp);
            }
            // The sysctl exists only in a kernel built with io_uring: then ENOSYS came from the
            // filter, not from the kernel.
            if !filtered || facts.io_uring_disabled.is_none() {
                causes.push(Cause::NoKernelSupport);
            }
        }
        libc::EINVAL => causes.push(Cause::SetupFlagsUnknown),
        _ => {}
    }
    causes
}

/// The causes as one line: `CAUSE; and CAUSE`.
pub(crate) fn describe(causes: &[Cause]) -> Option<String> {
    let mut it = causes.iter();
    let first = it.next()?;
    let mut s = first.to_string();
    for c in it {
        s.push_str("; and ");
        s.push_str(&c.to_string());
    }
    Some(s)
}

/// The `Seccomp:` mode in a `/proc/PID/status` text.
pub(crate) fn seccomp_mode(status: &str) -> Option<u8> {
    status
        .lines()
        .find_map(|l| l.strip_prefix("Seccomp:"))
        .and_then(|v| v.trim().parse().ok())
}

/// A sysctl's text (`"1\n"`) as a number.
pub(crate) fn sysctl_value<T: std::str::FromStr>(text: &str) -> Option<T> {
    text.trim().parse().ok()
}

/// Reads what [`diagnose`] needs about this process and kernel (missing files are `None`).
pub(crate) fn read_facts(errno: i32) -> SetupFacts {
    let read = |p: &str| std::fs::read_to_string(p).ok();
    SetupFacts {
        errno,
        seccomp: read(STATUS_PATH).as_deref().and_then(seccomp_mode),
        io_uring_disabled: read(DISABLED_PATH).as_deref().and_then(sysctl_value),
        io_uring_group: read(GROUP_PATH)
            .as_deref()
            .and_then(sysctl_value::<i64>)
            .and_then(|g| u32::try_from(g).ok()),
    }
}

/// What blocks io_uring, with the fix, for an `io_uring_setup` error; `None` when the error is
/// not about availability.
pub(crate) fn explain(error: &io::Error) -> Option<String> {
    let errno = error.raw_os_error()?;
    describe(&diagnose(&read_facts(errno)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(errno: i32, seccomp: u8, disabled: Option<u8>) -> SetupFacts {
        SetupFacts {
            errno,
            seccomp: Some(seccomp),
            io_uring_disabled: disabled,
            io_uring_group: None,
        }
    }

    #[test]
    fn docker_default_profile_is_seccomp() {
        // Docker and containerd answer EPERM, Podman ENOSYS; the host allows io_uring.
        for errno in [libc::EPERM, libc::ENOSYS, libc::EACCES] {
            assert_eq!(
                diagnose(&facts(errno, 2, Some(0))),
                [Cause::Seccomp],
                "{errno}"
            );
        }
        let line = describe(&[Cause::Seccomp]).unwrap();
        assert!(line.contains("--security-opt seccomp=unconfined"), "{line}");
        assert!(line.contains("io_uring_setup/enter/register"), "{line}");
    }

    #[test]
    fn sysctl_disabled_names_the_sysctl_and_the_fix() {
        assert_eq!(
            diagnose(&facts(libc::EPERM, 0, Some(2))),
            [Cause::DisabledOnHost]
        );
        let line = Cause::DisabledOnHost.to_string();
        assert!(line.contains("sysctl kernel.io_uring_disabled=0"), "{line}");
        assert!(line.contains("= 2"), "{line}");
    }

    #[test]
    fn sysctl_group_mode_names_the_group() {
        let mut f = facts(libc::EPERM, 0, Some(1));
        assert_eq!(diagnose(&f), [Cause::LimitedToGroup { group: None }]);
        let none = Cause::LimitedToGroup { group: None }.to_string();
        assert!(none.contains("kernel.io_uring_group=GID"), "{none}");
        assert!(none.contains("sysctl kernel.io_uring_disabled=0"), "{none}");
        f.io_uring_group = Some(1234);
        assert_eq!(diagnose(&f), [Cause::LimitedToGroup { group: Some(1234) }]);
        let some = diagnose(&f)[0].to_string();
        assert!(some.contains("group 1234") && some.contains("SupplementaryGroups="));
    }

    #[test]
    fn filter_and_sysctl_together_are_both_named() {
        let causes = diagnose(&facts(libc::EPERM, 2, Some(2)));
        assert_eq!(causes, [Cause::Seccomp, Cause::DisabledOnHost]);
        let line = describe(&causes).unwrap();
        assert!(line.contains("seccomp") && line.contains("; and io_uring is disabled"));
        assert!(!line.contains('\n'));
    }

    #[test]
    fn enosys_is_the_kernel_unless_a_filter_can_explain_it() {
        // No filter: the kernel. No sysctl file either: an old or io_uring-less kernel.
        assert_eq!(
            diagnose(&facts(libc::ENOSYS, 0, None)),
            [Cause::NoKernelSupport]
        );
        assert_eq!(
            diagnose(&facts(libc::ENOSYS, 0, Some(0))),
            [Cause::NoKernelSupport]
        );
        // A filter, and no sysctl to prove the kernel has io_uring: either.
        assert_eq!(
            diagnose(&facts(libc::ENOSYS, 2, None)),
            [Cause::Seccomp, Cause::NoKernelSupport]
        );
        assert!(
            Cause::NoKernelSupport
                .to_string()
                .contains("CONFIG_IO_URING")
        );
    }

    #[test]
    fn eperm_with_nothing_to_blame_is_a_security_module() {
        for f in [
            facts(libc::EPERM, 0, Some(0)),
            facts(libc::EPERM, 0, None),
            facts(libc::EACCES, 0, Some(2)),
            SetupFacts {
                errno: libc::EPERM,
                seccomp: None,
                io_uring_disabled: None,
                io_uring_group: None,
            },
        ] {
            assert_eq!(diagnose(&f), [Cause::Refused], "{f:?}");
        }
        // Strict mode (1) is not a filter; it would have killed the process anyway.
        assert_eq!(diagnose(&facts(libc::EPERM, 1, Some(0))), [Cause::Refused]);
    }

    #[test]
    fn other_errors_are_not_about_availability() {
        assert_eq!(
            diagnose(&facts(libc::EINVAL, 0, Some(0))),
            [Cause::SetupFlagsUnknown]
        );
        assert!(diagnose(&facts(libc::ENOMEM, 2, Some(2))).is_empty());
        assert_eq!(describe(&[]), None);
        assert_eq!(explain(&io::Error::other("not an errno")), None);
    }

    #[test]
    fn parses_status_and_sysctl_text() {
        let status = "Name:\tringtun\nNoNewPrivs:\t1\nSeccomp:\t2\nSeccomp_filters:\t1\n";
        assert_eq!(seccomp_mode(status), Some(2));
        assert_eq!(seccomp_mode("Seccomp_filters:\t1\n"), None);
        assert_eq!(seccomp_mode("Seccomp:\tx\n"), None);
        assert_eq!(sysctl_value::<u8>("1\n"), Some(1));
        assert_eq!(sysctl_value::<i64>("-1\n"), Some(-1));
        assert_eq!(sysctl_value::<u8>(""), None);
    }

    #[test]
    fn reads_this_process_and_kernel() {
        let f = read_facts(libc::EPERM);
        assert_eq!(f.errno, libc::EPERM);
        // Every Linux since 3.8 shows the field.
        assert!(f.seccomp.is_some(), "{f:?}");
        let sysctl = std::fs::read_to_string(DISABLED_PATH).ok();
        assert_eq!(
            f.io_uring_disabled,
            sysctl.as_deref().and_then(sysctl_value),
            "{f:?}"
        );
    }
}
