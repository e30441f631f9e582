//! The kernel probe: before the loop starts, checks that io_uring is usable and supports every
//! operation and feature the data plane needs, so that an old or restricted kernel gets a
//! one-line error naming what is missing instead of a failure in the middle of the loop; and
//! reports the features the loop uses when the kernel has them and does without otherwise
//! ([`Features`]).
//!
//! What each feature needs, by kernel version, is in docs/DESIGN.md ("Kernel versions"): the
//! newest one required is `IORING_SETUP_DEFER_TASKRUN` (Linux 6.1), which also brings everything
//! older that cannot be probed by opcode (multishot recvmsg 6.0, multishot accept 5.19, a
//! destination address on `IORING_OP_SEND` 6.1).

use io_uring::{IoUring, cqueue, opcode, register::Probe, squeue};

use crate::sys::buf_ring::{RING_ENTRY_LEN, Region, page_size};

/// Size of the throwaway ring the probe sets up.
const PROBE_SQ_ENTRIES: u32 = 8;
const PROBE_CQ_ENTRIES: u32 = 16;
/// The provided-buffer ring registered once to see that the kernel takes one: any group id and
/// any small power-of-two size do (the probe's ring has no other group).
const PROBE_BGID: u16 = 7;
const PROBE_BUF_ENTRIES: u16 = 4;

/// The features the loop uses when it may, with what it does otherwise. `true`: use it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Features {
    /// `IORING_OP_READ_MULTISHOT` (Linux 6.7) on the TUN device; without it, chains of
    /// single-shot reads from the same buffer ring (`tun_reads.rs`).
    pub read_multishot: bool,
}

/// One optional feature: its name (as `RINGTUN_FORCE_FALLBACK` takes it), the kernel name and
/// version that brought it, and what the loop does without it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Optional {
    pub name: &'static str,
    pub kernel_name: &'static str,
    pub since: &'static str,
    pub instead: &'static str,
}

/// Every optional feature, in [`Features`] field order.
pub const OPTIONAL: [Optional; 1] = [Optional {
    name: "read_multishot",
    kernel_name: "IORING_OP_READ_MULTISHOT",
    since: "6.7",
    instead: "the TUN device is read with chains of single-shot reads",
}];

impl Features {
    /// Every optional feature used.
    pub const ALL: Features = Features {
        read_multishot: true,
    };
    /// None used: every fallback.
    pub const NONE: Features = Features {
        read_multishot: false,
    };

    fn flags(self) -> [bool; OPTIONAL.len()] {
        [self.read_multishot]
    }

    fn from_flags(f: [bool; OPTIONAL.len()]) -> Features {
        let [read_multishot] = f;
        Features { read_multishot }
    }

    /// The features of `self` that `other` has too.
    pub fn and(self, other: Features) -> Features {
        let (a, b) = (self.flags(), other.flags());
        Features::from_flags(std::array::from_fn(|i| a[i] && b[i]))
    }

    /// The optional features not used, in [`OPTIONAL`] order.
    pub fn missing(self) -> impl Iterator<Item = &'static Optional> {
        let f = self.flags();
        OPTIONAL.iter().zip(f).filter(|(_, on)| !on).map(|(o, _)| o)
    }

    /// The features left when the fallbacks named in `spec` are forced: `1` or `all` forces
    /// every one, else a comma-separated list of [`Optional::name`]s; empty or `0` forces none.
    /// The error is one line for the operator.
    pub fn forcing(spec: &str) -> Result<Features, String> {
        let spec = spec.trim();
        if spec.is_empty() || spec == "0" {
            return Ok(Features::ALL);
        }
        if spec == "1" || spec.eq_ignore_ascii_case("all") {
            return Ok(Features::NONE);
        }
        let mut flags = Features::ALL.flags();
        for name in spec.split(',').map(str::trim) {
            match OPTIONAL.iter().position(|o| o.name == name) {
                Some(i) => flags[i] = false,
                None => {
                    let known: Vec<&str> = OPTIONAL.iter().map(|o| o.name).collect();
                    let shown: String = name.chars().take(40).collect();
                    return Err(format!(
                        "unknown fallback {shown:?}: expected 1, all, or a comma-separated list \
                         of: {}",
                        known.join(", ")
                    ));
                }
            }
        }
        Ok(Features::from_flags(flags))
    }
}

/// The running kernel's release string (uname -r).
pub(crate) fn kernel_release() -> String {
    // SAFETY: utsname is plain old data; uname fills it.
    let mut u: libc::utsname = unsafe { std::mem::zeroed() };
    // SAFETY: `u` is valid for writes.
    if unsafe { libc::uname(&mut u) } != 0 {
        return "unknown".into();
    }
    let bytes: Vec<u8> = u
        .release
        .iter()
        .take_while(|&&c| c != 0)
        .map(|&c| c as u8)
        .collect();
    String::from_utf8_lossy(&bytes).into_owned()
}

/// What the kernel lacks, if anything, for the data plane.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ProbeFailure {
    pub(crate) feature: &'static str,
    pub(crate) detail: String,
    /// When `io_uring_setup` itself was refused: what blocks io_uring here and the fix
    /// ([`super::availability`]), if known.
    pub(crate) cause: Option<String>,
}

/// Checks that io_uring is usable and supports every operation the loop needs; returns the
/// optional features the kernel has.
pub(crate) fn probe() -> Result<Features, ProbeFailure> {
    let fail = |feature, detail: String| ProbeFailure {
        feature,
        detail,
        cause: None,
    };
    // The set-up flags of the real ring (`Uring::new`): EINVAL names DEFER_TASKRUN, the newest.
    let ring = match IoUring::<squeue::Entry, cqueue::Entry>::builder()
        .setup_cqsize(PROBE_CQ_ENTRIES)
        .setup_single_issuer()
        .setup_defer_taskrun()
        .setup_submit_all()
        .build(PROBE_SQ_ENTRIES)
    {
        Ok(r) => r,
        Err(e) => {
            return Err(ProbeFailure {
                feature: "io_uring_setup",
                cause: super::availability::explain(&e),
                detail: e.to_string(),
            });
        }
    };
    let mut p = Probe::new();
    if let Err(e) = ring.submitter().register_probe(&mut p) {
        return Err(fail("IORING_REGISTER_PROBE", e.to_string()));
    }
    // All older than DEFER_TASKRUN (6.1), checked anyway: a kernel may be built or patched
    // without some.
    let ops: [(u8, &'static str); 10] = [
        (opcode::RecvMsgMulti::CODE, "IORING_OP_RECVMSG"),
        (opcode::SendMsg::CODE, "IORING_OP_SENDMSG"),
        (opcode::Send::CODE, "IORING_OP_SEND"),
        (opcode::Write::CODE, "IORING_OP_WRITE"),
        (opcode::Read::CODE, "IORING_OP_READ"),
        (opcode::Timeout::CODE, "IORING_OP_TIMEOUT"),
        (opcode::TimeoutRemove::CODE, "IORING_OP_TIMEOUT_REMOVE"),
        (opcode::AsyncCancel2::CODE, "IORING_OP_ASYNC_CANCEL"),
        (opcode::AcceptMulti::CODE, "IORING_OP_ACCEPT"),
        (opcode::Recv::CODE, "IORING_OP_RECV"),
    ];
    for (code, name) in ops {
        if !p.is_supported(code) {
            return Err(fail(name, "opcode not supported".into()));
        }
    }
    // A provided-buffer ring, registered and unregistered again.
    let region = Region::new(page_size()).map_err(|e| fail("mmap", e.to_string()))?;
    let ring_len = usize::from(PROBE_BUF_ENTRIES) * RING_ENTRY_LEN;
    let ring_addr = region.ptr_at(0, ring_len) as u64;
    // SAFETY: the ring's PROBE_BUF_ENTRIES entries lie in `region` (ptr_at checks the length),
    // which outlives the registration (unregistered below, and the ring fd is closed before
    // `region` is dropped at the end of this function).
    let reg = unsafe {
        ring.submitter()
            .register_buf_ring_with_flags(ring_addr, PROBE_BUF_ENTRIES, PROBE_BGID, 0)
    };
    if let Err(e) = reg {
        return Err(fail(
            "IORING_REGISTER_PBUF_RING (Linux >= 5.19)",
            e.to_string(),
        ));
    }
    let _ = ring.submitter().unregister_buf_ring(PROBE_BGID);
    drop(ring);
    drop(region);
    Ok(Features {
        read_multishot: p.is_supported(opcode::ReadMulti::CODE),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probe_passes_on_this_kernel() {
        probe().unwrap();
        assert!(!kernel_release().is_empty());
    }

    #[test]
    fn forcing_names_fallbacks() {
        assert_eq!(Features::forcing(""), Ok(Features::ALL));
        assert_eq!(Features::forcing("  "), Ok(Features::ALL));
        assert_eq!(Features::forcing("0"), Ok(Features::ALL));
        for all in ["1", "all", "ALL", " all "] {
            assert_eq!(Features::forcing(all), Ok(Features::NONE), "{all:?}");
        }
        assert_eq!(
            Features::forcing("read_multishot"),
            Ok(Features {
                read_multishot: false
            })
        );
        assert_eq!(
            Features::forcing("read_multishot, read_multishot"),
            Ok(Features::NONE)
        );
        let e = Features::forcing("read_multishot,sendzc").unwrap_err();
        assert_eq!(
            e,
            "unknown fallback \"sendzc\": expected 1, all, or a comma-separated list of: \
             read_multishot"
        );
        for bad in ["2", "yes", "read_multishot,", "x".repeat(1000).as_str()] {
            let e = Features::forcing(bad).unwrap_err();
            assert!(
                e.starts_with("unknown fallback") && e.len() < 200,
                "{bad:?}: {e}"
            );
        }
    }

    #[test]
    fn missing_lists_the_fallbacks_in_use() {
        assert_eq!(Features::ALL.missing().count(), 0);
        let names: Vec<&str> = Features::NONE.missing().map(|o| o.name).collect();
        assert_eq!(names, ["read_multishot"]);
        assert_eq!(Features::ALL.and(Features::NONE), Features::NONE);
        assert_eq!(Features::ALL.and(Features::ALL), Features::ALL);
        for o in OPTIONAL {
            assert!(o.kernel_name.starts_with("IORING_") && o.since.starts_with('6'));
        }
    }
}
