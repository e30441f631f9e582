//! Reading the TUN device: one multishot read (`IORING_OP_READ_MULTISHOT`, Linux 6.7) that stays
//! armed while the TUN ring has buffers, or, on a kernel without it, a chain of single-shot reads
//! (`IORING_OP_READ` with `IOSQE_BUFFER_SELECT`) from the same provided-buffer ring. Both complete
//! as `Op::TunRead` with a buffer taken from the TUN ring, so the caller handles them alike (its
//! `single` tells them apart, for the counters).
//!
//! # The chain
//!
//! The single-shot reads are hard-linked (`IOSQE_IO_HARDLINK`, whatever each one's result), so
//! the kernel starts each when the one before it has completed: a burst queued on the device is
//! drained read after read in one pass, as the multishot read would, and at most one read ever
//! waits on an empty device. Independent reads would all wait, and one packet would wake every
//! one of them: all but one would find nothing, and each such spurious wake-up costs a retry; after
//! too many (at the first, on kernels without the retries Linux 6.3 added) a read goes to an
//! io-wq worker thread and fails with -EAGAIN. A new chain starts when the last read of the previous one has completed
//! (the loop tops up once per batch of completions), so there is never a second waiter.
//!
//! A chain is never longer than the buffers left in the ring (each read takes one when it runs,
//! so one more would only end in -ENOBUFS), nor than the submission queue: a chain split across
//! two submissions would be two chains.

use io_uring::{opcode, squeue};

use super::completion::Tag;
use super::layout::BGID_TUN;
use super::{TUN_FIXED, Uring};

impl Uring {
    /// Arms the TUN read: the multishot read (a no-op if armed), or a chain of up to
    /// `tun_single_reads` single-shot reads if the previous chain has completed.
    pub fn arm_tun_read(&mut self) {
        if self.tun_single_reads > 0 {
            return self.start_tun_read_chain();
        }
        if self.tun_read_armed {
            return;
        }
        // The builder drops FIXED_FILE for ReadMulti in io-uring 0.7.15: add it back.
        let e = opcode::ReadMulti::new(TUN_FIXED, 0, BGID_TUN)
            .build()
            .flags(squeue::Flags::FIXED_FILE | squeue::Flags::BUFFER_SELECT)
            .user_data(Tag::TunRead.user_data(0));
        self.push(e);
        self.tun_read_armed = true;
    }

    fn start_tun_read_chain(&mut self) {
        if self.tun_reads_in_flight > 0 {
            return;
        }
        let sq_capacity = self.ring.submission().capacity();
        let n = usize::from(self.tun_single_reads)
            .min(self.tun.available() as usize)
            .min(sq_capacity);
        if n == 0 {
            return;
        }
        if sq_capacity - self.ring.submission().len() < n {
            // Hand the queued requests to the kernel first, so the whole chain fits.
            let _ = self.submit_inner(0);
        }
        // A whole buffer: the kernel reads at most this much into the one it selects.
        let len = self.layout.tun.kernel_len() as u32;
        for i in 0..n {
            let link = if i + 1 < n {
                squeue::Flags::IO_HARDLINK
            } else {
                // The last one links to nothing: the next request pushed is not part of it.
                squeue::Flags::empty()
            };
            let e = opcode::Read::new(TUN_FIXED, std::ptr::null_mut(), len)
                .buf_group(BGID_TUN)
                .build()
                .flags(squeue::Flags::BUFFER_SELECT | link)
                .user_data(Tag::TunReadOnce.user_data(0));
            self.push(e);
            self.tun_reads_in_flight += 1;
        }
    }

    /// Whether a TUN read is in flight (the multishot read, or a read of the chain).
    pub fn tun_read_armed(&self) -> bool {
        self.tun_read_armed || self.tun_reads_in_flight > 0
    }

    /// Single-shot TUN reads in flight (0 when the multishot read is used).
    pub fn tun_reads_in_flight(&self) -> u16 {
        self.tun_reads_in_flight
    }

    /// A single-shot TUN read completed.
    pub(super) fn tun_read_done(&mut self) {
        debug_assert!(self.tun_reads_in_flight > 0);
        self.tun_reads_in_flight = self.tun_reads_in_flight.saturating_sub(1);
    }
}
