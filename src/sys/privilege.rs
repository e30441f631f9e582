//! Who ringtun runs as, and with which capabilities:
//!
//! - [`secure_start_refusal`]: a start that raised privileges through the binary (set-uid,
//!   set-gid, file capabilities) by a user other than root is refused, before anything else runs.
//! - [`lookup_user`]: the account `--user` names (its uid and primary group), read before anything
//!   is touched.
//! - [`drop_privileges`]: after set-up, the switch to that account, and to the capabilities the
//!   loop still needs (in the effective and permitted sets; none inheritable or ambient, the
//!   bounding set cut down where we may, and no new privileges ever), verified afterwards.
//!
//! Which capabilities the loop needs, and the log line, are the app's decision
//! (`app::privileges`); this module only does what it is asked and checks that it happened.

use std::ffi::CString;
use std::fmt;
use std::io;

/// A set of capabilities: bit N is capability N, as in `CapEff:` of `/proc/PID/status`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CapSet(u64);

/// The capabilities' names by number (`linux/capability.h`), for log lines.
const CAP_NAMES: [&str; 41] = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
];

impl CapSet {
    pub const EMPTY: CapSet = CapSet(0);
    pub const SETGID: CapSet = CapSet(1 << 6);
    pub const SETUID: CapSet = CapSet(1 << 7);
    pub const SETPCAP: CapSet = CapSet(1 << 8);
    pub const NET_BIND_SERVICE: CapSet = CapSet(1 << 10);
    pub const NET_ADMIN: CapSet = CapSet(1 << 12);

    pub const fn from_bits(bits: u64) -> CapSet {
        CapSet(bits)
    }

    pub const fn bits(self) -> u64 {
        self.0
    }

    pub const fn union(self, other: CapSet) -> CapSet {
        CapSet(self.0 | other.0)
    }

    pub const fn intersection(self, other: CapSet) -> CapSet {
        CapSet(self.0 & other.0)
    }

    /// Whether every capability of `other` is in this set.
    pub const fn contains(self, other: CapSet) -> bool {
        self.0 & other.0 == other.0
    }

    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The capability numbers in the set, lowest first.
    fn numbers(self) -> impl Iterator<Item = u32> {
        (0..64).filter(move |n| self.0 & (1 << n) != 0)
    }
}

/// `CAP_NET_BIND_SERVICE, CAP_NET_ADMIN`, or `no capabilities`.
impl fmt::Display for CapSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() {
            return f.write_str("no capabilities");
        }
        for (i, n) in self.numbers().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            match CAP_NAMES.get(n as usize) {
                Some(name) => f.write_str(name)?,
                None => write!(f, "capability {n}")?,
            }
        }
        Ok(())
    }
}

/// Why a start is refused, if it is: `secure` is the kernel's AT_SECURE (the exec raised
/// privileges: set-uid, set-gid, file capabilities, or a security module's transition), with the
/// real and effective ids. Root may start a privileged copy: it gains nothing by it.
fn refusal(secure: bool, ruid: u32, euid: u32, rgid: u32, egid: u32) -> Option<String> {
    if !secure || ruid == 0 {
        return None;
    }
    let (how, fix) = if ruid != euid || rgid != egid {
        (
            "set-uid or set-gid",
            "remove the bit (chmod u-s,g-s on the binary)",
        )
    } else {
        (
            "with file capabilities",
            "remove them (setcap -r on the binary)",
        )
    };
    Some(format!(
        "started {how} by uid {ruid}: that would let every local user create interfaces and \
         routes through ringtun, so it refuses to run: {fix}, and start ringtun as root, with \
         sudo, or from its systemd unit"
    ))
}

/// The line to refuse this start with, if it raised privileges for a user other than root (see
/// the module documentation).
pub fn secure_start_refusal() -> Option<String> {
    // SAFETY: getauxval reads the auxiliary vector the kernel gave the process; it takes no
    // pointers and returns 0 for an absent entry.
    let secure = unsafe { libc::getauxval(libc::AT_SECURE) } != 0;
    // SAFETY: getuid, geteuid, getgid and getegid take no arguments and cannot fail.
    let ids = unsafe {
        (
            libc::getuid(),
            libc::geteuid(),
            libc::getgid(),
            libc::getegid(),
        )
    };
    refusal(secure, ids.0, ids.1, ids.2, ids.3)
}

/// An account to run as: its name, uid and primary group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Account {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
}

/// The account named `name` in the user database (getpwnam_r: /etc/passwd, or whatever NSS is
/// configured), `None` if there is none.
pub fn lookup_user(name: &str) -> io::Result<Option<Account>> {
    let c_name = CString::new(name)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "a user name without NUL"))?;
    // Entries are small; a database answering ERANGE at 1 MiB is broken, not large.
    const MAX_BUFFER: usize = 1 << 20;
    let mut buffer = vec![0 as libc::c_char; 1024];
    loop {
        // SAFETY: passwd is plain old data; all-zero is a valid value that getpwnam_r overwrites.
        let mut entry: libc::passwd = unsafe { std::mem::zeroed() };
        let mut result: *mut libc::passwd = std::ptr::null_mut();
        // SAFETY: `c_name` is NUL-terminated; `entry`, `buffer` (of the length passed) and
        // `result` are live and writable for the call; the strings it fills in point into
        // `buffer`, which we do not read through.
        let rc = unsafe {
            libc::getpwnam_r(
                c_name.as_ptr(),
                &mut entry,
                buffer.as_mut_ptr(),
                buffer.len(),
                &mut result,
            )
        };
        match rc {
            0 if result.is_null() => return Ok(None),
            0 => {
                return Ok(Some(Account {
                    name: name.to_owned(),
                    uid: entry.pw_uid,
                    gid: entry.pw_gid,
                }));
            }
            libc::ERANGE if buffer.len() < MAX_BUFFER => buffer.resize(buffer.len() * 2, 0),
            // Some C libraries report "no such user" as one of these instead of 0.
            libc::ENOENT | libc::ESRCH | libc::EBADF | libc::EPERM => return Ok(None),
            e => return Err(io::Error::from_raw_os_error(e)),
        }
    }
}

/// The capability sets of this thread (capget).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CapSets {
    pub effective: CapSet,
    pub permitted: CapSet,
    pub inheritable: CapSet,
}

/// `struct __user_cap_header_struct` of `linux/capability.h`.
#[repr(C)]
struct CapHeader {
    version: u32,
    pid: libc::c_int,
}

/// `struct __user_cap_data_struct`: one 32-bit half of each set.
#[repr(C)]
#[derive(Clone, Copy, Default)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

/// `_LINUX_CAPABILITY_VERSION_3`: 64-bit sets, as two [`CapData`].
const CAPABILITY_VERSION_3: u32 = 0x2008_0522;

fn cvt(rc: libc::c_long) -> io::Result<libc::c_long> {
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(rc)
    }
}

/// This thread's capability sets.
pub fn capabilities() -> io::Result<CapSets> {
    let mut header = CapHeader {
        version: CAPABILITY_VERSION_3,
        pid: 0,
    };
    let mut data = [CapData::default(); 2];
    // SAFETY: version 3 reads a header and writes two data structs, both live and writable, of
    // the kernel's layout (repr(C), three u32 each).
    cvt(unsafe {
        libc::syscall(
            libc::SYS_capget,
            &mut header as *mut CapHeader,
            data.as_mut_ptr(),
        )
    })?;
    let join =
        |f: fn(&CapData) -> u32| CapSet(u64::from(f(&data[0])) | u64::from(f(&data[1])) << 32);
    Ok(CapSets {
        effective: join(|d| d.effective),
        permitted: join(|d| d.permitted),
        inheritable: join(|d| d.inheritable),
    })
}

/// Sets this thread's capability sets (capset).
fn set_capabilities(sets: CapSets) -> io::Result<()> {
    let mut header = CapHeader {
        version: CAPABILITY_VERSION_3,
        pid: 0,
    };
    let half = |i: u32| CapData {
        effective: (sets.effective.0 >> (32 * i)) as u32,
        permitted: (sets.permitted.0 >> (32 * i)) as u32,
        inheritable: (sets.inheritable.0 >> (32 * i)) as u32,
    };
    let data = [half(0), half(1)];
    // SAFETY: version 3 reads a header and two data structs of the kernel's layout, all live for
    // the call; the kernel writes nothing back on success.
    cvt(unsafe {
        libc::syscall(
            libc::SYS_capset,
            &mut header as *mut CapHeader,
            data.as_ptr(),
        )
    })
    .map(drop)
}

/// prctl with integer arguments only.
fn prctl(option: libc::c_int, arg2: libc::c_ulong, arg3: libc::c_ulong) -> io::Result<i32> {
    // SAFETY: every option used here takes integer arguments only (no pointers); unused ones are 0.
    let rc = unsafe { libc::prctl(option, arg2, arg3, 0 as libc::c_ulong, 0 as libc::c_ulong) };
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(rc)
    }
}

/// The capabilities in the bounding set (up to the kernel's last one).
pub fn bounding_set() -> io::Result<CapSet> {
    let mut set = CapSet::EMPTY;
    for n in 0..64u32 {
        match prctl(libc::PR_CAPBSET_READ, n.into(), 0) {
            Ok(1) => set.0 |= 1 << n,
            Ok(_) => {}
            // Past the kernel's last capability.
            Err(e) if e.raw_os_error() == Some(libc::EINVAL) => break,
            Err(e) => return Err(e),
        }
    }
    Ok(set)
}

/// What [`drop_privileges`] left the process with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Dropped {
    /// The capabilities kept (effective and permitted): those asked for that the process had.
    pub kept: CapSet,
    /// Whether the bounding set was cut down to `kept` (it needs CAP_SETPCAP).
    pub bounded: bool,
}

fn failed(step: &str) -> impl FnOnce(io::Error) -> io::Error + '_ {
    move |e| io::Error::new(e.kind(), format!("{step}: {e}"))
}

/// Switches to `user` if given (its uid, its primary group and no other), keeps of the
/// capabilities in `wanted` those the process has, in its effective and permitted sets, and no
/// others; clears the inheritable and ambient sets; cuts the bounding set down to them where
/// CAP_SETPCAP allows it; and sets no_new_privs. Then checks that all of it holds: an error means
/// the process must not go on (it may be half-way).
///
/// The process must have one thread: capabilities belong to a thread, and a second one would
/// keep its own.
pub fn drop_privileges(user: Option<&Account>, wanted: CapSet) -> io::Result<Dropped> {
    let threads = super::daemon::threads()?;
    if threads != 1 {
        return Err(io::Error::other(format!(
            "cannot drop privileges with {threads} threads running"
        )));
    }
    let had = capabilities().map_err(failed("capget"))?;
    let kept = wanted.intersection(had.permitted);
    // The bounding set first, while CAP_SETPCAP is still effective.
    let bounded = had.effective.contains(CapSet::SETPCAP);
    if bounded {
        let bounding = bounding_set().map_err(failed("reading the bounding set"))?;
        for n in bounding
            .numbers()
            .filter(|&n| !kept.contains(CapSet(1 << n)))
        {
            prctl(libc::PR_CAPBSET_DROP, n.into(), 0)
                .map_err(failed("dropping from the bounding set"))?;
        }
    }
    prctl(
        libc::PR_CAP_AMBIENT,
        libc::PR_CAP_AMBIENT_CLEAR_ALL as libc::c_ulong,
        0,
    )
    .map_err(failed("clearing the ambient capabilities"))?;
    if let Some(user) = user {
        switch_user(user)?;
    }
    set_capabilities(CapSets {
        effective: kept,
        permitted: kept,
        inheritable: CapSet::EMPTY,
    })
    .map_err(failed("capset"))?;
    if user.is_some() {
        prctl(libc::PR_SET_KEEPCAPS, 0, 0).map_err(failed("clearing keep-capabilities"))?;
    }
    prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0).map_err(failed("setting no_new_privs"))?;
    verify(user, kept, bounded)?;
    Ok(Dropped { kept, bounded })
}

/// uid, gid and groups to `user`'s, keeping the permitted capabilities across the uid change
/// (KEEPCAPS) for the capset that follows.
fn switch_user(user: &Account) -> io::Result<()> {
    prctl(libc::PR_SET_KEEPCAPS, 1, 0).map_err(failed("keeping capabilities"))?;
    let groups = [user.gid];
    // SAFETY: `groups` is a live array of the length passed; the C library's setgroups,
    // setresgid and setresuid apply to every thread of the process (there is one).
    let rc = unsafe { libc::setgroups(groups.len(), groups.as_ptr()) };
    cvt(rc.into()).map_err(failed("setgroups"))?;
    // SAFETY: integer arguments only.
    let rc = unsafe { libc::setresgid(user.gid, user.gid, user.gid) };
    cvt(rc.into()).map_err(failed("setresgid"))?;
    // SAFETY: integer arguments only.
    let rc = unsafe { libc::setresuid(user.uid, user.uid, user.uid) };
    cvt(rc.into()).map_err(failed("setresuid"))?;
    Ok(())
}

/// Everything [`drop_privileges`] did, read back from the kernel.
fn verify(user: Option<&Account>, kept: CapSet, bounded: bool) -> io::Result<()> {
    let wrong = |what: String| Err(io::Error::other(format!("privileges not dropped: {what}")));
    let now = capabilities()?;
    let expected = CapSets {
        effective: kept,
        permitted: kept,
        inheritable: CapSet::EMPTY,
    };
    if now != expected {
        return wrong(format!("capabilities are {now:?}, not {expected:?}"));
    }
    // (No ambient capability can remain: the ambient set is always within the inheritable one.)
    if bounded {
        let bounding = bounding_set()?;
        if bounding != kept {
            return wrong(format!("the bounding set is {bounding:?}, not {kept:?}"));
        }
    }
    if prctl(libc::PR_GET_NO_NEW_PRIVS, 0, 0)? != 1 {
        return wrong("no_new_privs is not set".into());
    }
    let Some(user) = user else {
        return Ok(());
    };
    let (mut r, mut e, mut s) = (0, 0, 0);
    // SAFETY: three live, writable ids.
    cvt(unsafe { libc::getresuid(&mut r, &mut e, &mut s) }.into())?;
    if (r, e, s) != (user.uid, user.uid, user.uid) {
        return wrong(format!("uids are {r} {e} {s}"));
    }
    // SAFETY: three live, writable ids.
    cvt(unsafe { libc::getresgid(&mut r, &mut e, &mut s) }.into())?;
    if (r, e, s) != (user.gid, user.gid, user.gid) {
        return wrong(format!("gids are {r} {e} {s}"));
    }
    let mut groups = [0 as libc::gid_t; 2];
    // SAFETY: `groups` is live and writable for the length passed.
    let n =
        cvt(unsafe { libc::getgroups(groups.len() as libc::c_int, groups.as_mut_ptr()) }.into())
            // EINVAL: more groups than fit, so more than the one.
            .map_err(|_| io::Error::other("privileges not dropped: supplementary groups remain"))?;
    if groups[..n as usize] != [user.gid] {
        return wrong(format!("groups are {:?}", &groups[..n as usize]));
    }
    if user.uid != 0 {
        // SAFETY: integer argument only; it must fail (and if not, the caller ends the process).
        if unsafe { libc::setuid(0) } == 0 {
            return wrong("setuid(0) succeeded".into());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capability_sets_name_their_members() {
        let both = CapSet::NET_ADMIN.union(CapSet::NET_BIND_SERVICE);
        assert_eq!(both.bits(), 0x1400);
        assert_eq!(both.to_string(), "CAP_NET_BIND_SERVICE, CAP_NET_ADMIN");
        assert_eq!(CapSet::EMPTY.to_string(), "no capabilities");
        assert_eq!(
            CapSet::from_bits(1 << 40).to_string(),
            "CAP_CHECKPOINT_RESTORE"
        );
        assert_eq!(CapSet::from_bits(1 << 41).to_string(), "capability 41");
        assert!(both.contains(CapSet::NET_ADMIN));
        assert!(!CapSet::NET_ADMIN.contains(both));
        assert_eq!(both.intersection(CapSet::NET_ADMIN), CapSet::NET_ADMIN);
        assert_eq!(CAP_NAMES[12], "CAP_NET_ADMIN");
        assert_eq!(CAP_NAMES[10], "CAP_NET_BIND_SERVICE");
        assert_eq!(CAP_NAMES[8], "CAP_SETPCAP");
    }

    #[test]
    fn privileged_starts_by_other_users_are_refused() {
        // An ordinary start, and root starting a set-uid or file-capability copy: run.
        assert_eq!(refusal(false, 1000, 1000, 1000, 1000), None);
        assert_eq!(refusal(true, 0, 0, 0, 0), None);
        assert_eq!(refusal(true, 0, 0, 0, 50), None);
        // Ambient capabilities (systemd's unit) do not set AT_SECURE.
        assert_eq!(refusal(false, 61999, 61999, 61999, 61999), None);
        let setuid = refusal(true, 1000, 0, 1000, 1000).unwrap();
        assert!(
            setuid.starts_with("started set-uid or set-gid by uid 1000"),
            "{setuid}"
        );
        assert!(setuid.contains("chmod u-s,g-s"), "{setuid}");
        let setgid = refusal(true, 1000, 1000, 1000, 0).unwrap();
        assert!(setgid.contains("set-gid"), "{setgid}");
        let fcaps = refusal(true, 65534, 65534, 65534, 65534).unwrap();
        assert!(
            fcaps.starts_with("started with file capabilities by uid 65534"),
            "{fcaps}"
        );
        assert!(fcaps.contains("setcap -r"), "{fcaps}");
        for line in [setuid, fcaps] {
            assert!(
                line.contains("as root, with sudo, or from its systemd unit"),
                "{line}"
            );
            assert!(!line.contains('\n'));
        }
    }

    #[test]
    fn this_test_was_not_started_privileged() {
        assert_eq!(secure_start_refusal(), None);
    }

    #[test]
    fn users_are_found_by_name_or_not_at_all() {
        let root = lookup_user("root").unwrap().unwrap();
        assert_eq!((root.uid, root.gid), (0, 0));
        assert_eq!(root.name, "root");
        assert_eq!(lookup_user("ringtun-no-such-user-x7").unwrap(), None);
        assert!(lookup_user("a\0b").is_err());
    }

    /// capget agrees with what the kernel reports in /proc for this thread.
    #[test]
    fn capabilities_read_back_as_proc_shows_them() {
        let status = std::fs::read_to_string("/proc/thread-self/status").unwrap();
        let field = |name: &str| {
            let v = status.lines().find_map(|l| l.strip_prefix(name)).unwrap();
            CapSet::from_bits(u64::from_str_radix(v.trim(), 16).unwrap())
        };
        let sets = capabilities().unwrap();
        assert_eq!(sets.effective, field("CapEff:"));
        assert_eq!(sets.permitted, field("CapPrm:"));
        assert_eq!(sets.inheritable, field("CapInh:"));
        assert_eq!(bounding_set().unwrap(), field("CapBnd:"));
    }

    /// With more than one thread, nothing is dropped (a second thread would keep its own).
    #[test]
    fn dropping_with_threads_is_refused() {
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let waiter = std::thread::spawn(move || rx.recv());
        let before = capabilities().unwrap();
        let e = drop_privileges(None, CapSet::EMPTY).unwrap_err();
        drop(tx);
        let _ = waiter.join();
        assert!(e.to_string().contains("threads running"), "{e}");
        assert_eq!(capabilities().unwrap(), before);
    }
}
