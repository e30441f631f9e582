//! The kernel probe: before the loop starts, checks that io_uring is usable and supports every
//! operation and feature the data plane uses, so that an old or restricted kernel gets a
//! one-line error naming what is missing instead of a failure in the middle of the loop.

use io_uring::{IoUring, cqueue, opcode, register::Probe, squeue};

use crate::sys::buf_ring::{RING_ENTRY_LEN, Region, page_size};

/// Size of the throwaway ring the probe sets up.
const PROBE_SQ_ENTRIES: u32 = 8;
const PROBE_CQ_ENTRIES: u32 = 16;
/// The provided-buffer ring registered once to see that the kernel takes one: any group id and
/// any small power-of-two size do (the probe's ring has no other group).
const PROBE_BGID: u16 = 7;
const PROBE_BUF_ENTRIES: u16 = 4;

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

/// Checks that io_uring is usable and supports every operation the loop uses.
pub(crate) fn probe() -> Result<(), ProbeFailure> {
    let fail = |feature, detail: String| ProbeFailure {
        feature,
        detail,
        cause: None,
    };
    let ring = match IoUring::<squeue::Entry, cqueue::Entry>::builder()
        .setup_cqsize(PROBE_CQ_ENTRIES)
        .setup_single_issuer()
        .setup_defer_taskrun()
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
    // The control socket's multishot accept (IORING_ACCEPT_MULTISHOT, Linux 5.19) needs no check
    // of its own: READ_MULTISHOT, checked first, came later (6.7).
    let ops: [(u8, &'static str); 11] = [
        (
            opcode::ReadMulti::CODE,
            "IORING_OP_READ_MULTISHOT (Linux >= 6.7)",
        ),
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
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probe_passes_on_this_kernel() {
        probe().unwrap();
        assert!(!kernel_release().is_empty());
    }
}
