//! A safe wrapper around one `io_uring` for the data plane: the ring, the packet memory it reads
//! into and writes from, and the stable storage every in-flight request references.
//!
//! This file sets the ring up, queues the ring's own requests (the multishot reads, the signal
//! read, the timeout), submits, reaps, and drains on `Drop`. The rest, by job:
//!
//! - `layout.rs`: sizes and offsets of everything in the one memory region;
//! - `buffers.rs`: the handles a caller holds ([`Buf`], [`OutBuf`], [`ControlSlot`]) and their
//!   memory, and reading a received UDP buffer;
//! - `send.rs`: sends and writes of held memory (GSO splitting, send-slot `msghdr`s);
//! - `clients.rs`: the control socket's accept, and its clients' reads and replies;
//! - `completion.rs`: the `user_data` codec and what each completion gives back;
//! - `probe.rs`: the start-up check of the kernel's io_uring support;
//! - `availability.rs`: why `io_uring_setup` was refused (seccomp, sysctl, kernel) and the fix.
//!
//! # Memory invariant
//!
//! [`Uring`] owns every byte an in-flight SQE points to: the buffer rings and their buffers, the
//! control-datagram slots, the per-send-slot destination `sockaddr`s, the recvmsg `msghdr`, the
//! signalfd read buffer, the timeout `timespec`, and in offload mode the output buffers and the
//! send slots of sends from them (each slot holds its own `msghdr`, `iovec`, `UDP_SEGMENT` cmsg
//! and destination), and the control-socket clients' read buffers all live in one [`Region`] owned
//! by the `Uring`; a client's reply being sent is owned by its client slot.
//! Nothing is freed while a request that references it may still run: `Drop` cancels every request
//! (`IORING_ASYNC_CANCEL_ANY`), waits until the number of requests without their final CQE
//! (`inflight`) is zero, and only then lets the ring and the region go (if the kernel never
//! answered, the region is leaked instead of unmapped).
//!
//! # Offload mode
//!
//! With `vnet_hdr_len` set, the TUN ring's kernel headroom shrinks by the vnet header so that the
//! kernel writes `[virtio_net_hdr][IP packet]` with the IP packet still at `tun_headroom`: single
//! packets seal in place as in plain mode. UDP buffers get `recv_control_len` bytes of control room
//! after the name (the `UDP_GRO` cmsg; [`super::cmsg::parse_gro`]). Output buffers ([`OutBuf`])
//! hold TSO segments for GSO sends and coalesced packets for TUN writes.

use std::io;
use std::net::SocketAddr;
use std::os::fd::RawFd;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use io_uring::{IoUring, cqueue, opcode, squeue, types};

use super::buf_ring::{BufRing, Region};
use super::signal::SIGINFO_LEN;
use super::udp::socket_is_ipv6;

pub(crate) mod availability;
mod buffers;
mod clients;
mod completion;
mod layout;
mod probe;
mod send;
#[cfg(test)]
mod tests;

pub(crate) use buffers::{Buf, OutBuf};
pub(crate) use clients::ClientId;
pub(crate) use completion::{Completion, Op};
pub(crate) use layout::{CONTROL_SLOT_LEN, UringConfig};
pub(crate) use probe::{kernel_release, probe};

use completion::{MAX_OUT_BUFFERS, OUT_LEN_LIMIT, Tag};
use layout::{BGID_TUN, BGID_UDP, Layout, RECV_NAME_LEN};

/// The registered files (`register_files` order): requests name them by index.
const TUN_FIXED: types::Fixed = types::Fixed(0);
const UDP_FIXED: types::Fixed = types::Fixed(1);

static NEXT_RING_ID: AtomicU32 = AtomicU32::new(1);

/// How long [`Uring::drain`] waits for the last completions: rounds of one bounded wait each
/// (10 s in all; a kernel that has not answered by then gets the region leaked, not unmapped).
const DRAIN_ROUNDS: u32 = 1000;
const DRAIN_WAIT: Duration = Duration::from_millis(10);
/// CQEs taken per `reap` while draining.
const DRAIN_REAP_CHUNK: usize = 64;

/// Counters of the ring itself.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct UringStats {
    /// io_uring_enter calls.
    pub(crate) enters: u64,
    /// Enters forced because the SQ was full in the middle of a batch.
    pub(crate) sq_full: u64,
    /// GSO sends the kernel refused (EIO/EINVAL): GSO is off after the first.
    pub(crate) gso_refused: u64,
    /// Segments not sent for lack of a send slot.
    pub(crate) send_slot_drops: u64,
}

/// See the module documentation.
pub struct Uring {
    // Field order matters only for documentation: `Drop for Uring` drains every request first.
    ring: IoUring,
    /// Unmapped in `Drop` only once nothing in flight references it.
    region: std::mem::ManuallyDrop<Region>,
    layout: Layout,
    tun: BufRing,
    udp: BufRing,
    id: u32,
    tun_fd: RawFd,
    udp_fd: RawFd,
    signal_fd: RawFd,
    udp_is_v6: bool,
    /// Requests pushed whose final CQE has not been seen.
    inflight: u32,
    tun_read_armed: bool,
    udp_recv_armed: bool,
    /// Bytes queued per TUN write, indexed by UDP buffer id.
    write_len: Box<[u32]>,
    /// Last destination written into each sockaddr slot (skip re-encoding the same peer).
    addr_cache: Box<[Option<SocketAddr>]>,
    free_control: Vec<u16>,
    /// References to each output buffer (caller's hold + in-flight sends/writes).
    out_refs: Box<[u16]>,
    /// End of the last range of each output buffer that an in-flight request reads: the caller
    /// may still write behind it (see [`Uring::slot_and_out_from_mut`]).
    out_queued: Box<[u32]>,
    free_out: Vec<u16>,
    /// Output buffer of each send slot in flight.
    send_out: Box<[u16]>,
    free_sends: Vec<u16>,
    gso_enabled: bool,
    recv_control_len: usize,
    /// The control socket's accept and client connections.
    clients: clients::Clients,
    /// A timeout SQE that reads `timespec` has been pushed but not submitted.
    timespec_pending: bool,
    next_timeout_gen: u32,
    stats: UringStats,
}

impl Uring {
    /// Sets up the ring (single issuer, deferred task work: completions are processed only when this
    /// thread enters the kernel to wait, in one batch), registers `tun` and `udp` as fixed files
    /// and both buffer rings, and fills the rings with every buffer. Must be called on the thread
    /// that then drives it.
    pub(crate) fn new(
        config: &UringConfig,
        tun: RawFd,
        udp: RawFd,
        signals: RawFd,
    ) -> io::Result<Uring> {
        assert!(config.tun_buffers.is_power_of_two() && config.udp_buffers.is_power_of_two());
        assert!(config.control_slots > 0);
        assert!(
            usize::from(config.out_buffers) <= MAX_OUT_BUFFERS && config.out_len < OUT_LEN_LIMIT
        );
        let ring = IoUring::builder()
            .setup_cqsize(config.cq_entries)
            .setup_single_issuer()
            .setup_defer_taskrun()
            .setup_submit_all()
            .build(config.sq_entries)?;
        ring.submitter().register_files(&[tun, udp])?;
        let layout = Layout::new(config);
        let region = Region::new(layout.total)?;
        let mut tun_ring = BufRing::new(&region, layout.tun);
        let mut udp_ring = BufRing::new(&region, layout.udp);
        for r in [&tun_ring, &udp_ring] {
            // SAFETY: the ring entries lie in `region`, which the returned Uring owns and keeps
            // mapped until the ring fd is closed (Drop unregisters both groups first).
            unsafe {
                ring.submitter().register_buf_ring_with_flags(
                    r.ring_addr(),
                    r.entries(),
                    r.layout().bgid,
                    0,
                )?;
            }
        }
        for bid in 0..tun_ring.entries() {
            tun_ring.push(bid);
        }
        for bid in 0..udp_ring.entries() {
            udp_ring.push(bid);
        }
        tun_ring.publish();
        udp_ring.publish();
        let n_addrs = usize::from(config.tun_buffers) + usize::from(config.control_slots);
        let mut u = Uring {
            ring,
            region: std::mem::ManuallyDrop::new(region),
            layout,
            tun: tun_ring,
            udp: udp_ring,
            id: NEXT_RING_ID.fetch_add(1, Ordering::Relaxed),
            tun_fd: tun,
            udp_fd: udp,
            signal_fd: signals,
            udp_is_v6: socket_is_ipv6(udp),
            inflight: 0,
            tun_read_armed: false,
            udp_recv_armed: false,
            write_len: vec![0; usize::from(config.udp_buffers)].into_boxed_slice(),
            addr_cache: vec![None; n_addrs].into_boxed_slice(),
            free_control: (0..config.control_slots).rev().collect(),
            out_refs: vec![0; usize::from(config.out_buffers)].into_boxed_slice(),
            out_queued: vec![0; usize::from(config.out_buffers)].into_boxed_slice(),
            free_out: (0..config.out_buffers).rev().collect(),
            send_out: vec![0; usize::from(config.send_slots)].into_boxed_slice(),
            free_sends: (0..config.send_slots).rev().collect(),
            gso_enabled: true,
            recv_control_len: config.recv_control_len,
            clients: clients::Clients::new(config.client_slots),
            timespec_pending: false,
            next_timeout_gen: 0,
            stats: UringStats::default(),
        };
        u.init_msghdr();
        Ok(u)
    }

    fn init_msghdr(&mut self) {
        let name = self
            .region
            .ptr_at(self.layout.name_dummy, RECV_NAME_LEN)
            .cast::<libc::c_void>();
        // SAFETY: msghdr is plain old data; all-zero is a valid value.
        let mut m: libc::msghdr = unsafe { std::mem::zeroed() };
        m.msg_name = name;
        m.msg_namelen = RECV_NAME_LEN as libc::socklen_t;
        // Multishot recvmsg uses only the lengths of the template: the control messages land in
        // each buffer after the name.
        m.msg_controllen = self.recv_control_len as _;

        let p = self
            .region
            .ptr_at(self.layout.msghdr, std::mem::size_of::<libc::msghdr>());
        // SAFETY: `p` is inside the region, not referenced by any request yet; unaligned write.
        unsafe { p.cast::<libc::msghdr>().write_unaligned(m) };
    }

    pub(crate) fn stats(&self) -> UringStats {
        self.stats
    }

    #[cfg(test)]
    pub(crate) fn inflight(&self) -> u32 {
        self.inflight
    }

    fn push(&mut self, entry: squeue::Entry) {
        loop {
            // SAFETY: every entry built in this module (`uring/`) points only into `self.region` (or
            // at nothing), which outlives the request (module invariant).
            let pushed = unsafe { self.ring.submission().push(&entry) };
            if pushed.is_ok() {
                self.inflight += 1;
                return;
            }
            // SQ full in the middle of a batch: hand what we have to the kernel.
            self.stats.sq_full += 1;
            match self.submit_inner(0) {
                Ok(_) => {}
                // Transient: completions backed up, or kernel memory short. Waiting for one
                // completion makes progress without spinning.
                Err(e)
                    if matches!(
                        e.raw_os_error(),
                        Some(libc::EBUSY) | Some(libc::EAGAIN) | Some(libc::EINTR)
                    ) =>
                {
                    let _ = self.ring.submitter().submit_and_wait(1);
                }
                // The ring itself is broken (EBADF, EFAULT...): nothing can be submitted again,
                // and a request queued here would reference memory we could not account for.
                Err(e) => panic!("io_uring_enter failed with a full submission queue: {e}"),
            }
        }
    }

    /// Arms the multishot read on the TUN device (a no-op if armed).
    pub(crate) fn arm_tun_read(&mut self) {
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

    /// Arms the multishot recvmsg on the UDP socket (a no-op if armed).
    pub(crate) fn arm_udp_recv(&mut self) {
        if self.udp_recv_armed {
            return;
        }
        let msg = self
            .region
            .ptr_at(self.layout.msghdr, std::mem::size_of::<libc::msghdr>())
            .cast::<libc::msghdr>();
        let e = opcode::RecvMsgMulti::new(UDP_FIXED, msg, BGID_UDP)
            .build()
            .user_data(Tag::UdpRecv.user_data(0));
        self.push(e);
        self.udp_recv_armed = true;
    }

    /// Puts the socket `udp` in the place of the UDP socket (a new port): requests pushed from now
    /// on use it, and the multishot receive on the old one is cancelled; its final completion
    /// (-ECANCELED) ends it and [`Uring::rearm_reads`] arms it again, on `udp`. Requests already
    /// in flight on the old socket hold their own reference to it, so the caller may close it once
    /// this returns; `udp` must stay open while the ring uses it (as the sockets given to `new`).
    /// On error nothing changed.
    pub fn replace_udp(&mut self, udp: RawFd) -> io::Result<()> {
        self.ring
            .submitter()
            .register_files_update(UDP_FIXED.0, &[udp])?;
        self.udp_fd = udp;
        self.udp_is_v6 = socket_is_ipv6(udp);
        if self.udp_recv_armed {
            let e = opcode::AsyncCancel::new(Tag::UdpRecv.user_data(0))
                .build()
                .user_data(Tag::Cancel.user_data(0));
            self.push(e);
        }
        Ok(())
    }

    /// Re-arms any multishot read that ended, if its ring has buffers to give. Returns true if a
    /// multishot is still not armed (waiting for buffers to come back).
    pub(crate) fn rearm_reads(&mut self) -> bool {
        if !self.tun_read_armed && self.tun.available() > 0 {
            self.arm_tun_read();
        }
        if !self.udp_recv_armed && self.udp.available() > 0 {
            self.arm_udp_recv();
        }
        !(self.tun_read_armed && self.udp_recv_armed)
    }

    #[cfg(test)]
    pub(crate) fn udp_recv_armed(&self) -> bool {
        self.udp_recv_armed
    }

    /// Reads one `signalfd_siginfo` from the signalfd; see [`Uring::signal_number`].
    pub(crate) fn push_signal_read(&mut self) {
        let p = self.region.ptr_at(self.layout.siginfo, SIGINFO_LEN);
        let e = opcode::Read::new(types::Fd(self.signal_fd), p, SIGINFO_LEN as u32)
            .build()
            .user_data(Tag::Signal.user_data(0));
        self.push(e);
    }

    /// `ssi_signo` (the first field) of the last signal read (valid after a `Signal` completion of
    /// [`SIGINFO_LEN`] bytes).
    pub(crate) fn signal_number(&self) -> u32 {
        let p = self
            .region
            .ptr_at(self.layout.siginfo, std::mem::size_of::<u32>());
        // SAFETY: inside the region; the signal read that wrote it has completed (the caller saw
        // its CQE) and no new one is in flight between that CQE and this call in the driver.
        unsafe { p.cast::<u32>().read_unaligned() }
    }

    /// A one-shot timeout firing `after` from now. Returns its generation (reported in the
    /// completion and used to remove it).
    pub(crate) fn push_timeout(&mut self, after: Duration) -> u32 {
        if self.timespec_pending {
            // The kernel copies the timespec at submission: submit the earlier one first.
            let _ = self.submit_inner(0);
        }
        let ts = types::Timespec::new()
            .sec(after.as_secs())
            .nsec(after.subsec_nanos());
        let p = self
            .region
            .ptr_at(self.layout.timespec, std::mem::size_of::<types::Timespec>());
        // SAFETY: inside the region; no submitted-but-unprepared request reads it (checked above).
        unsafe { p.cast::<types::Timespec>().write_unaligned(ts) };
        self.next_timeout_gen = self.next_timeout_gen.wrapping_add(1);
        let generation = self.next_timeout_gen;
        let e = opcode::Timeout::new(p.cast::<types::Timespec>().cast_const())
            .build()
            .user_data(Tag::Timeout.user_data(generation));
        self.push(e);
        self.timespec_pending = true;
        generation
    }

    pub(crate) fn push_timeout_remove(&mut self, generation: u32) {
        let e = opcode::TimeoutRemove::new(Tag::Timeout.user_data(generation))
            .build()
            .user_data(Tag::TimeoutRemove.user_data(0));
        self.push(e);
    }

    fn submit_inner(&mut self, want: usize) -> io::Result<usize> {
        self.tun.publish();
        self.udp.publish();
        self.stats.enters += 1;
        let r = self.ring.submit_and_wait(want);
        if r.is_ok() {
            self.timespec_pending = false;
        }
        r
    }

    /// Publishes recycled buffers, submits every queued SQE and waits for at least `want`
    /// completions. EINTR and EBUSY (completions backed up) are not errors.
    pub(crate) fn submit_and_wait(&mut self, want: usize) -> io::Result<()> {
        match self.submit_inner(want) {
            Ok(_) => Ok(()),
            Err(e)
                if matches!(
                    e.raw_os_error(),
                    Some(libc::EINTR) | Some(libc::EBUSY) | Some(libc::ETIME)
                ) =>
            {
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    /// Replaces `out`'s contents with up to `out.capacity()` CQEs from the completion queue
    /// (no allocation: the capacity is never exceeded); returns how many.
    pub(crate) fn reap(&mut self, out: &mut Vec<cqueue::Entry>) -> usize {
        out.clear();
        let cap = out.capacity().max(1);
        let mut cq = self.ring.completion();
        while out.len() < cap {
            match cq.next() {
                Some(e) => out.push(e),
                None => break,
            }
        }
        out.len()
    }

    /// Cancels everything and waits (bounded) for the final CQE of every request. Returns true if
    /// nothing is in flight any more. Called by `Drop`.
    pub(crate) fn drain(&mut self) -> bool {
        let e = opcode::AsyncCancel2::new(types::CancelBuilder::any())
            .build()
            .user_data(Tag::Cancel.user_data(0));
        // SAFETY: a cancel request references no memory.
        let pushed = unsafe { self.ring.submission().push(&e).is_ok() };
        if pushed {
            self.inflight += 1;
        }
        let mut cqes = Vec::with_capacity(DRAIN_REAP_CHUNK);
        for _ in 0..DRAIN_ROUNDS {
            if self.inflight == 0 {
                return true;
            }
            let ts = types::Timespec::from(DRAIN_WAIT);
            let args = types::SubmitArgs::new().timespec(&ts);
            let _ = self.ring.submitter().submit_with_args(1, &args);
            self.reap(&mut cqes);
            for c in &cqes {
                if let Ok(Completion { buf: Some(b), .. }) = self.complete(c) {
                    self.recycle(b);
                }
            }
        }
        self.inflight == 0
    }
}

impl Drop for Uring {
    fn drop(&mut self) {
        if self.drain() {
            // The ring's own teardown after close is asynchronous: without this, the registered TUN
            // file (and so the interface) could outlive the process by a moment.
            let _ = self.ring.submitter().unregister_files();
            let _ = self.ring.submitter().unregister_buf_ring(BGID_TUN);
            let _ = self.ring.submitter().unregister_buf_ring(BGID_UDP);
            // SAFETY: every request has posted its final CQE, so no kernel operation references
            // the region; `self.region` is not used after this point.
            unsafe { std::mem::ManuallyDrop::drop(&mut self.region) };
        } else {
            // Some request never completed: the region (and any client reply) is leaked rather
            // than freed under the kernel's feet.
            self.leak_client_replies();
        }
    }
}
