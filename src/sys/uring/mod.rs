//! A safe wrapper around one `io_uring` for the data plane: the ring, the packet memory it reads
//! into and writes from, and the stable storage every in-flight request references.
//!
//! # Memory invariant
//!
//! [`Uring`] owns every byte an in-flight SQE points to: the buffer rings and their buffers, the
//! control-datagram slots, the per-send-slot destination `sockaddr`s, the recvmsg `msghdr`, the
//! signalfd read buffer, the timeout `timespec`, and in offload mode the output buffers and the
//! send slots of sends from them (each slot holds its own `msghdr`, `iovec`, `UDP_SEGMENT` cmsg
//! and destination) all live in one [`Region`] owned by the `Uring`.
//! Nothing is freed while a request that references it may still run: `Drop` cancels every request
//! (`IORING_ASYNC_CANCEL_ANY`), waits until the number of requests without their final CQE
//! (`inflight`) is zero, and only then lets the ring and the region go (if the kernel never
//! answered, the region is leaked instead of unmapped).
//!
//! # Buffer ownership
//!
//! A buffer is in the kernel's ring, or held by the caller as a [`Buf`] (not `Clone`), or
//! referenced by an in-flight write/send (the `Buf` was consumed by `push_*`; the buffer returns to
//! its ring when that request completes). Only the holder of a `Buf` can get a slice of its memory,
//! so the kernel never writes memory Rust code has a reference to.
//!
//! # Offload mode
//!
//! With `vnet_hdr_len` set, the TUN ring's kernel headroom shrinks by the vnet header so that the
//! kernel writes `[virtio_net_hdr][IP packet]` with the IP packet still at `tun_headroom`: single
//! packets seal in place as in plain mode. UDP buffers get `recv_control_len` bytes of control room
//! after the name (the `UDP_GRO` cmsg; [`super::cmsg::parse_gro`]). Output buffers ([`OutBuf`]) are
//! reference counted: the caller's hold plus one per in-flight send or TUN write that reads them;
//! a buffer is free again when the count drops to zero. GSO sends are split at
//! [`GSO_MAX_SEGMENTS`] segments and [`GSO_MAX_BYTES`]; the first one the kernel refuses
//! (EIO/EINVAL) turns GSO off and later trains go out one datagram per send.

use std::io;
use std::net::SocketAddr;
use std::os::fd::RawFd;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use io_uring::{IoUring, cqueue, opcode, register::Probe, squeue, types};

use super::buf_ring::{BufRing, GroupLayout, Region, page_size, round_up};
use super::cmsg;
use super::signal::SIGINFO_LEN;
use super::sockaddr::{self, RawSockAddr};
use super::udp::{GSO_MAX_BYTES, GSO_MAX_SEGMENTS};

/// `sizeof(struct io_uring_recvmsg_out)`: `namelen, controllen, payloadlen, flags` (u32 each).
pub const RECVMSG_OUT_LEN: usize = 16;
/// Bytes reserved for the peer's address in a UDP buffer (>= sizeof(sockaddr_in6), and makes the
/// payload start 64 bytes into the buffer).
pub const RECV_NAME_LEN: usize = 48;
/// Offset of the datagram inside a UDP buffer.
pub const UDP_PAYLOAD_OFFSET: usize = RECVMSG_OUT_LEN + RECV_NAME_LEN;
/// Size of one control-datagram slot.
pub const CONTROL_SLOT_LEN: usize = 256;

const TUN_FIXED: types::Fixed = types::Fixed(0);
const UDP_FIXED: types::Fixed = types::Fixed(1);

const BGID_TUN: u16 = 0;
const BGID_UDP: u16 = 1;

/// Sizes of the ring and of the packet memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UringConfig {
    pub sq_entries: u32,
    pub cq_entries: u32,
    /// Buffers (= ring entries) for TUN reads; power of two.
    pub tun_buffers: u16,
    /// Buffers for UDP receives; power of two.
    pub udp_buffers: u16,
    /// Control-datagram slots (handshakes, keepalives) that can be in flight at once.
    pub control_slots: u16,
    /// Largest packet the TUN device gives us (the MTU, or 64 KiB with TSO).
    pub max_packet: usize,
    /// Bytes in front of a TUN packet: the transport header (16); the vnet header, if any, is
    /// written into its last `vnet_hdr_len` bytes.
    pub tun_headroom: usize,
    /// Bytes behind a TUN packet: the AEAD tag (16).
    pub tun_tailroom: usize,
    /// Bytes a datagram adds around an IP packet (header + tag); sizes the UDP buffers.
    pub datagram_overhead: usize,
    /// Offload mode: every TUN read starts with a `virtio_net_hdr` of this many bytes (0: plain
    /// mode). The kernel writes it into the last `vnet_hdr_len` bytes of the headroom, so the IP
    /// packet still starts `tun_headroom` bytes into the slot.
    pub vnet_hdr_len: usize,
    /// Control-message room per received datagram (for the `UDP_GRO` cmsg; 0: none). Multiple of 8.
    pub recv_control_len: usize,
    /// Largest UDP payload a receive buffer holds (0: `max_packet + datagram_overhead`); 65535
    /// with UDP GRO.
    pub max_datagram: usize,
    /// Output buffers (segmentation and coalescing) and their size (0: none).
    pub out_buffers: u16,
    pub out_len: usize,
    /// Send slots for sends from output buffers (each owns a msghdr, iovec, cmsg and sockaddr).
    pub send_slots: u16,
}

impl UringConfig {
    pub fn for_mtu(mtu: u16) -> UringConfig {
        UringConfig {
            sq_entries: 512,
            cq_entries: 4096,
            tun_buffers: 512,
            udp_buffers: 512,
            control_slots: 8,
            max_packet: usize::from(mtu),
            tun_headroom: 16,
            tun_tailroom: 16,
            datagram_overhead: 32,
            vnet_hdr_len: 0,
            recv_control_len: 0,
            max_datagram: 0,
            out_buffers: 0,
            out_len: 0,
            send_slots: 0,
        }
    }
}

/// Bytes per send slot: msghdr (56) + iovec (16) + cmsg (CMSG_SPACE(2) = 24) + sockaddr_storage.
const SEND_SLOT_LEN: usize = 256;
const SEND_IOV_OFF: usize = 64;
const SEND_CMSG_OFF: usize = 96;
const SEND_ADDR_OFF: usize = 128;

/// One received UDP buffer, split: sender, payload offset and length in the slot, and the GRO
/// segment size (0: one datagram).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Datagrams {
    pub from: SocketAddr,
    pub start: usize,
    pub len: usize,
    pub segment: usize,
}

/// An output buffer held by the caller (not `Clone`): see [`Uring::take_out`].
#[derive(Debug)]
#[must_use = "a dropped OutBuf leaks its buffer; release it"]
pub struct OutBuf {
    ring_id: u32,
    idx: u16,
}

/// Which buffer group a [`Buf`] belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Group {
    Tun,
    Udp,
}

/// A buffer taken out of a ring by a completion, held by the caller. Not `Clone`: whoever holds it
/// may touch the memory; giving it to `recycle` or a `push_*` gives the memory back.
#[derive(Debug)]
#[must_use = "a dropped Buf leaks its buffer; recycle it"]
pub struct Buf {
    ring_id: u32,
    group: Group,
    bid: u16,
    len: u32,
}

impl Buf {
    pub fn group(&self) -> Group {
        self.group
    }
    pub fn bid(&self) -> u16 {
        self.bid
    }
    /// Bytes the kernel wrote (the CQE result).
    pub fn len(&self) -> usize {
        self.len as usize
    }
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// A control-datagram slot held by the caller.
#[derive(Debug)]
#[must_use = "a dropped ControlSlot is lost; send it or release it"]
pub struct ControlSlot {
    ring_id: u32,
    idx: u16,
}

/// Which request a completion belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    TunRead,
    UdpRecv,
    /// A write to the TUN device; `expected` bytes were queued (the buffer is back in its ring).
    TunWrite {
        expected: u32,
    },
    /// A UDP send (data or control; the buffer or slot is free again).
    UdpSend {
        control: bool,
    },
    /// A send from an output buffer (`gso`: with a `UDP_SEGMENT` cmsg). A GSO send that failed
    /// with EIO/EINVAL has turned GSO off (see [`Uring::gso_enabled`]).
    OutSend {
        gso: bool,
    },
    /// A TUN write from an output buffer.
    OutWrite {
        expected: u32,
    },
    Signal,
    Timeout {
        generation: u32,
    },
    TimeoutRemove,
    Cancel,
}

/// One completion, decoded. `result` is the CQE result (negative errno on error).
#[derive(Debug)]
pub struct Completion {
    pub op: Op,
    pub result: i32,
    /// IORING_CQE_F_MORE: a multishot request stays armed.
    pub more: bool,
    /// IORING_CQE_F_BUFFER: the buffer the kernel filled.
    pub buf: Option<Buf>,
}

// user_data: op in the high 32 bits, index in the low 32.
const UD_TUN_READ: u64 = 1;
const UD_UDP_RECV: u64 = 2;
const UD_TUN_WRITE: u64 = 3;
const UD_UDP_SEND: u64 = 4;
const UD_CTRL_SEND: u64 = 5;
const UD_SIGNAL: u64 = 6;
const UD_TIMEOUT: u64 = 7;
const UD_TIMEOUT_REMOVE: u64 = 8;
const UD_CANCEL: u64 = 9;
const UD_OUT_SEND: u64 = 10;
const UD_OUT_GSO_SEND: u64 = 11;
const UD_OUT_WRITE: u64 = 12;
/// An output-buffer TUN write carries its buffer index in the low bits of the user data index
/// and its length (< 2^20) above them.
const OUT_IDX_BITS: u32 = 12;

fn ud(op: u64, idx: u32) -> u64 {
    (op << 32) | u64::from(idx)
}

/// Offsets of everything inside the one region.
#[derive(Clone, Copy, Debug)]
struct Layout {
    tun: GroupLayout,
    udp: GroupLayout,
    control: usize,
    /// `(tun_buffers + control_slots)` destination sockaddrs (128 bytes each).
    addrs: usize,
    msghdr: usize,
    name_dummy: usize,
    siginfo: usize,
    timespec: usize,
    out: usize,
    out_len: usize,
    sends: usize,
    /// Payload offset in a UDP buffer (after the recvmsg header, name and control room).
    udp_payload: usize,
    total: usize,
}

impl Layout {
    fn new(c: &UringConfig) -> Layout {
        let page = page_size();
        assert!(c.vnet_hdr_len <= c.tun_headroom && c.recv_control_len % 8 == 0);
        let tun_slot = round_up(
            c.tun_headroom + c.max_packet + c.tun_tailroom + c.vnet_hdr_len,
            64,
        );
        let udp_payload = UDP_PAYLOAD_OFFSET + c.recv_control_len;
        let max_datagram = if c.max_datagram > 0 {
            c.max_datagram
        } else {
            c.max_packet + c.datagram_overhead
        };
        let udp_slot = round_up(udp_payload + max_datagram + 64, 64);
        let tun_ring = 0;
        let udp_ring = round_up(usize::from(c.tun_buffers) * 16, page);
        let tun_slots = udp_ring + round_up(usize::from(c.udp_buffers) * 16, page);
        let udp_slots = round_up(tun_slots + usize::from(c.tun_buffers) * tun_slot, page);
        let control = round_up(udp_slots + usize::from(c.udp_buffers) * udp_slot, page);
        let addrs = control + usize::from(c.control_slots) * CONTROL_SLOT_LEN;
        let n_addrs = usize::from(c.tun_buffers) + usize::from(c.control_slots);
        let msghdr = addrs + n_addrs * std::mem::size_of::<libc::sockaddr_storage>();
        let name_dummy = round_up(msghdr + std::mem::size_of::<libc::msghdr>(), 64);
        let siginfo = name_dummy + 64;
        let timespec = siginfo + SIGINFO_LEN;
        let out_len = round_up(c.out_len, 64);
        let out = round_up(timespec + 64, page);
        let sends = out + usize::from(c.out_buffers) * out_len;
        let total = sends + usize::from(c.send_slots) * SEND_SLOT_LEN;
        Layout {
            tun: GroupLayout {
                bgid: BGID_TUN,
                entries: c.tun_buffers,
                ring_offset: tun_ring,
                slots_offset: tun_slots,
                slot_len: tun_slot,
                headroom: c.tun_headroom - c.vnet_hdr_len,
                tailroom: c.tun_tailroom,
            },
            udp: GroupLayout {
                bgid: BGID_UDP,
                entries: c.udp_buffers,
                ring_offset: udp_ring,
                slots_offset: udp_slots,
                slot_len: udp_slot,
                headroom: 0,
                tailroom: 0,
            },
            control,
            addrs,
            msghdr,
            name_dummy,
            siginfo,
            timespec,
            out,
            out_len,
            sends,
            udp_payload,
            total,
        }
    }
}

static NEXT_RING_ID: AtomicU32 = AtomicU32::new(1);

/// Counters of the ring itself.
#[derive(Clone, Copy, Debug, Default)]
pub struct UringStats {
    /// io_uring_enter calls.
    pub enters: u64,
    /// Enters forced because the SQ was full in the middle of a batch.
    pub sq_full: u64,
    /// GSO sends the kernel refused (EIO/EINVAL): GSO is off after the first.
    pub gso_refused: u64,
    /// Segments not sent for lack of a send slot.
    pub send_slot_drops: u64,
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
    pub fn new(config: &UringConfig, tun: RawFd, udp: RawFd, signals: RawFd) -> io::Result<Uring> {
        assert!(config.tun_buffers.is_power_of_two() && config.udp_buffers.is_power_of_two());
        assert!(config.control_slots > 0);
        assert!(usize::from(config.out_buffers) <= 1 << OUT_IDX_BITS && config.out_len < 1 << 20);
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

    pub fn stats(&self) -> UringStats {
        self.stats
    }

    pub fn inflight(&self) -> u32 {
        self.inflight
    }

    /// Raw fds given to `new` (for diagnostics).
    pub fn fds(&self) -> (RawFd, RawFd, RawFd) {
        (self.tun_fd, self.udp_fd, self.signal_fd)
    }

    fn push(&mut self, entry: squeue::Entry) {
        loop {
            // SAFETY: every entry built in this file points only into `self.region` (or at nothing),
            // which outlives the request (module invariant).
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
    pub fn arm_tun_read(&mut self) {
        if self.tun_read_armed {
            return;
        }
        // The builder drops FIXED_FILE for ReadMulti in io-uring 0.7.15: add it back.
        let e = opcode::ReadMulti::new(TUN_FIXED, 0, BGID_TUN)
            .build()
            .flags(squeue::Flags::FIXED_FILE | squeue::Flags::BUFFER_SELECT)
            .user_data(ud(UD_TUN_READ, 0));
        self.push(e);
        self.tun_read_armed = true;
    }

    /// Arms the multishot recvmsg on the UDP socket (a no-op if armed).
    pub fn arm_udp_recv(&mut self) {
        if self.udp_recv_armed {
            return;
        }
        let msg = self
            .region
            .ptr_at(self.layout.msghdr, std::mem::size_of::<libc::msghdr>())
            .cast::<libc::msghdr>();
        let e = opcode::RecvMsgMulti::new(UDP_FIXED, msg, BGID_UDP)
            .build()
            .user_data(ud(UD_UDP_RECV, 0));
        self.push(e);
        self.udp_recv_armed = true;
    }

    /// Re-arms any multishot read that ended, if its ring has buffers to give. Returns true if a
    /// multishot is still not armed (waiting for buffers to come back).
    pub fn rearm_reads(&mut self) -> bool {
        if !self.tun_read_armed && self.tun.available() > 0 {
            self.arm_tun_read();
        }
        if !self.udp_recv_armed && self.udp.available() > 0 {
            self.arm_udp_recv();
        }
        !(self.tun_read_armed && self.udp_recv_armed)
    }

    pub fn tun_read_armed(&self) -> bool {
        self.tun_read_armed
    }
    pub fn udp_recv_armed(&self) -> bool {
        self.udp_recv_armed
    }
    pub fn available(&self, group: Group) -> u32 {
        match group {
            Group::Tun => self.tun.available(),
            Group::Udp => self.udp.available(),
        }
    }

    /// Reads one `signalfd_siginfo` from the signalfd; see [`Uring::signal_number`].
    pub fn push_signal_read(&mut self) {
        let p = self.region.ptr_at(self.layout.siginfo, SIGINFO_LEN);
        let e = opcode::Read::new(types::Fd(self.signal_fd), p, SIGINFO_LEN as u32)
            .build()
            .user_data(ud(UD_SIGNAL, 0));
        self.push(e);
    }

    /// `ssi_signo` (the first field) of the last signal read (valid after a `Signal` completion of
    /// [`SIGINFO_LEN`] bytes).
    pub fn signal_number(&self) -> u32 {
        let p = self.region.ptr_at(self.layout.siginfo, 4);
        // SAFETY: inside the region; the signal read that wrote it has completed (the caller saw
        // its CQE) and no new one is in flight between that CQE and this call in the driver.
        unsafe { p.cast::<u32>().read_unaligned() }
    }

    /// A one-shot timeout firing `after` from now. Returns its generation (reported in the
    /// completion and used to remove it).
    pub fn push_timeout(&mut self, after: Duration) -> u32 {
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
            .user_data(ud(UD_TIMEOUT, generation));
        self.push(e);
        self.timespec_pending = true;
        generation
    }

    pub fn push_timeout_remove(&mut self, generation: u32) {
        let e = opcode::TimeoutRemove::new(ud(UD_TIMEOUT, generation))
            .build()
            .user_data(ud(UD_TIMEOUT_REMOVE, 0));
        self.push(e);
    }

    /// The whole slot of a held buffer, from its first byte (before the headroom). For a TUN buffer
    /// the packet is at `[headroom..headroom + buf.len()]`; for a UDP buffer see [`Uring::datagram`].
    pub fn slot_mut(&mut self, buf: &Buf) -> &mut [u8] {
        assert_eq!(buf.ring_id, self.id, "buffer of another ring");
        let (ring, layout) = match buf.group {
            Group::Tun => (&self.tun, self.layout.tun),
            Group::Udp => (&self.udp, self.layout.udp),
        };
        let p = ring.slot_ptr(buf.bid);
        // SAFETY: the slot lies in the region (slot_ptr checks the id); the caller holds the only
        // `Buf` for it, so the kernel does not own it and no other slice to it exists (the returned
        // slice borrows `self` mutably, and `buf` cannot be recycled while it lives).
        unsafe { std::slice::from_raw_parts_mut(p, layout.slot_len) }
    }

    /// Headroom of TUN buffers: the packet starts this far into the slot.
    pub fn tun_headroom(&self) -> usize {
        self.layout.tun.headroom
    }

    /// Splits a received UDP buffer: the sender and the datagram's offset and length in the slot.
    /// `None` if the datagram or the name was truncated or the header is inconsistent. (A GRO
    /// batch is returned whole: see [`Uring::datagrams`].)
    pub fn datagram(&mut self, buf: &Buf) -> Option<(SocketAddr, usize, usize)> {
        self.datagrams(buf).map(|d| (d.from, d.start, d.len))
    }

    /// Splits a received UDP buffer (layout `io_uring_recvmsg_out`, name room, control room,
    /// payload), with the `UDP_GRO` segment size if the kernel coalesced several datagrams.
    pub fn datagrams(&mut self, buf: &Buf) -> Option<Datagrams> {
        assert_eq!(buf.group, Group::Udp);
        let total = buf.len();
        let payload_off = self.layout.udp_payload;
        let ctl_room = self.recv_control_len;
        let slot = self.slot_mut(buf);
        if total < payload_off || total > slot.len() {
            return None;
        }
        let word = |i: usize| u32::from_ne_bytes(slot[i * 4..i * 4 + 4].try_into().unwrap());
        let (namelen, controllen, payloadlen, flags) = (word(0), word(1), word(2), word(3));
        if flags & (libc::MSG_TRUNC as u32 | libc::MSG_CTRUNC as u32) != 0 {
            return None;
        }
        let namelen = (namelen as usize).min(RECV_NAME_LEN);
        let from = sockaddr::from_bytes(&slot[RECVMSG_OUT_LEN..RECVMSG_OUT_LEN + namelen])?;
        let len = payloadlen as usize;
        if payload_off + len != total {
            return None;
        }
        let ctl = (controllen as usize).min(ctl_room);
        let segment = if ctl > 0 {
            let c = UDP_PAYLOAD_OFFSET;
            cmsg::parse_gro(&slot[c..c + ctl]).map_or(0, usize::from)
        } else {
            0
        };
        Some(Datagrams {
            from,
            start: payload_off,
            len,
            segment,
        })
    }

    /// A free output buffer (all of it writable by the caller), if any.
    pub fn take_out(&mut self) -> Option<OutBuf> {
        let idx = self.free_out.pop()?;
        self.out_refs[usize::from(idx)] = 1;
        self.out_queued[usize::from(idx)] = 0;
        Some(OutBuf {
            ring_id: self.id,
            idx,
        })
    }

    /// Drops the caller's hold on an output buffer: it is free once its sends/writes complete.
    pub fn release_out(&mut self, out: OutBuf) {
        assert_eq!(out.ring_id, self.id, "output buffer of another ring");
        self.unref_out(out.idx);
    }

    fn unref_out(&mut self, idx: u16) {
        let r = &mut self.out_refs[usize::from(idx)];
        debug_assert!(*r > 0);
        *r = r.saturating_sub(1);
        if *r == 0 {
            self.free_out.push(idx);
        }
    }

    /// Output buffers not held and not in flight.
    pub fn free_outs(&self) -> usize {
        self.free_out.len()
    }

    pub fn out_len(&self) -> usize {
        self.layout.out_len
    }

    fn out_ptr(&self, idx: u16) -> *mut u8 {
        let len = self.layout.out_len;
        self.region
            .ptr_at(self.layout.out + usize::from(idx) * len, len)
    }

    /// A held output buffer's memory. Only valid while no send/write from it is in flight, which
    /// is the case while the caller has not pushed any (the driver fills, then sends).
    pub fn out_mut(&mut self, out: &OutBuf) -> &mut [u8] {
        assert_eq!(out.ring_id, self.id, "output buffer of another ring");
        assert_eq!(
            self.out_refs[usize::from(out.idx)],
            1,
            "output buffer already has requests in flight"
        );
        let p = self.out_ptr(out.idx);
        // SAFETY: inside the region; the caller holds the only OutBuf for it and no request
        // references it (refcount 1, checked above); the slice borrows `self` mutably.
        unsafe { std::slice::from_raw_parts_mut(p, self.layout.out_len) }
    }

    /// A held buffer's slot and a held output buffer's memory at once (disjoint parts of the
    /// region), for copying between them.
    pub fn slot_and_out_mut(&mut self, buf: &Buf, out: &OutBuf) -> (&mut [u8], &mut [u8]) {
        assert_eq!(buf.ring_id, self.id, "buffer of another ring");
        assert_eq!(out.ring_id, self.id, "output buffer of another ring");
        assert_eq!(self.out_refs[usize::from(out.idx)], 1);
        let (ring, layout) = match buf.group {
            Group::Tun => (&self.tun, self.layout.tun),
            Group::Udp => (&self.udp, self.layout.udp),
        };
        let sp = ring.slot_ptr(buf.bid);
        let op = self.out_ptr(out.idx);
        // SAFETY: both lie in the region and do not overlap (slots and output buffers are separate
        // areas of the layout); the caller holds both handles, so the kernel owns neither; both
        // slices borrow `self` mutably.
        unsafe {
            (
                std::slice::from_raw_parts_mut(sp, layout.slot_len),
                std::slice::from_raw_parts_mut(op, self.layout.out_len),
            )
        }
    }

    /// As [`Uring::slot_and_out_mut`], for the part of the output buffer from `from` on, which
    /// must lie behind every range already queued for writing (those are read by the kernel).
    pub fn slot_and_out_from_mut(
        &mut self,
        buf: &Buf,
        out: &OutBuf,
        from: usize,
    ) -> (&mut [u8], &mut [u8]) {
        assert_eq!(buf.ring_id, self.id, "buffer of another ring");
        assert_eq!(out.ring_id, self.id, "output buffer of another ring");
        assert!(from <= self.layout.out_len);
        assert!(
            from >= self.out_queued[usize::from(out.idx)] as usize,
            "output range still queued"
        );
        let (ring, layout) = match buf.group {
            Group::Tun => (&self.tun, self.layout.tun),
            Group::Udp => (&self.udp, self.layout.udp),
        };
        let sp = ring.slot_ptr(buf.bid);
        let op = self.out_ptr(out.idx).wrapping_add(from);
        // SAFETY: both lie in the region and do not overlap (separate areas of the layout); the
        // caller holds both handles; in-flight requests on the output buffer only read ranges
        // ending at or before `from` (checked above), so the kernel touches no byte of either
        // slice; both borrow `self` mutably.
        unsafe {
            (
                std::slice::from_raw_parts_mut(sp, layout.slot_len),
                std::slice::from_raw_parts_mut(op, self.layout.out_len - from),
            )
        }
    }

    /// Writes `out[off..off + len]` to the TUN device, keeping the caller's hold (more ranges
    /// behind it can be filled and written; see [`Uring::slot_and_out_from_mut`]).
    pub fn push_out_tun_write_at(&mut self, out: &OutBuf, off: usize, len: usize) {
        assert_eq!(out.ring_id, self.id, "output buffer of another ring");
        let i = usize::from(out.idx);
        assert!(off >= self.out_queued[i] as usize);
        assert!(
            off.checked_add(len)
                .is_some_and(|e| e <= self.layout.out_len)
        );
        self.out_refs[i] += 1;
        self.out_queued[i] = (off + len) as u32;
        let e = opcode::Write::new(
            TUN_FIXED,
            self.out_ptr(out.idx).wrapping_add(off),
            len as u32,
        )
        .build()
        .user_data(ud(
            UD_OUT_WRITE,
            (len as u32) << OUT_IDX_BITS | u32::from(out.idx),
        ));
        self.push(e);
    }

    /// Whether sends with `UDP_SEGMENT` are still used (off after the kernel refused one).
    pub fn gso_enabled(&self) -> bool {
        self.gso_enabled
    }

    pub fn set_gso_enabled(&mut self, on: bool) {
        self.gso_enabled = on;
    }

    /// Writes `out[..len]` to the TUN device; consumes the caller's hold.
    pub fn push_out_tun_write(&mut self, out: OutBuf, len: usize) {
        assert_eq!(out.ring_id, self.id, "output buffer of another ring");
        assert!(len <= self.layout.out_len);
        self.push_out_tun_write_at(&out, 0, len);
        self.release_out(out);
    }

    /// Sends `out[..len]`, a train of datagrams of `stride` bytes each (the last may be shorter),
    /// to `dst`: as UDP GSO sends of at most [`GSO_MAX_SEGMENTS`] segments and
    /// [`GSO_MAX_BYTES`] bytes each, or one plain send per datagram once GSO is off. Consumes the
    /// caller's hold; the buffer is free when the last send completes. Returns the number of
    /// sends queued (datagrams without a free send slot are dropped and counted).
    pub fn push_out_sends(
        &mut self,
        out: OutBuf,
        len: usize,
        stride: usize,
        dst: &SocketAddr,
    ) -> usize {
        assert_eq!(out.ring_id, self.id, "output buffer of another ring");
        assert!(len <= self.layout.out_len && stride > 0);
        let per_send = if self.gso_enabled {
            GSO_MAX_SEGMENTS.min(GSO_MAX_BYTES / stride).max(1)
        } else {
            1
        };
        let chunk = per_send * stride;
        let mut off = 0;
        let mut sends = 0;
        while off < len {
            let n = chunk.min(len - off);
            let gso = n > stride;
            if !self.push_out_send(out.idx, off, n, gso.then_some(stride as u16), dst) {
                self.stats.send_slot_drops += 1;
            } else {
                sends += 1;
            }
            off += n;
        }
        self.release_out(out);
        sends
    }

    /// One sendmsg from output buffer `idx`, through a send slot that holds its msghdr, iovec,
    /// cmsg and destination.
    fn push_out_send(
        &mut self,
        idx: u16,
        off: usize,
        len: usize,
        segment: Option<u16>,
        dst: &SocketAddr,
    ) -> bool {
        let Some(slot) = self.free_sends.pop() else {
            return false;
        };
        self.send_out[usize::from(slot)] = idx;
        self.out_refs[usize::from(idx)] += 1;
        let base = self.region.ptr_at(
            self.layout.sends + usize::from(slot) * SEND_SLOT_LEN,
            SEND_SLOT_LEN,
        );
        let data = self.out_ptr(idx).wrapping_add(off);
        let dst = sockaddr::for_socket(dst, self.udp_is_v6);
        let raw: RawSockAddr = sockaddr::to_raw(&dst);
        let addr_len = match dst {
            SocketAddr::V4(_) => std::mem::size_of::<libc::sockaddr_in>(),
            SocketAddr::V6(_) => std::mem::size_of::<libc::sockaddr_in6>(),
        };
        let iov = libc::iovec {
            iov_base: data.cast(),
            iov_len: len,
        };
        // SAFETY: msghdr is plain old data; all-zero is a valid value.
        let mut m: libc::msghdr = unsafe { std::mem::zeroed() };
        m.msg_name = base.wrapping_add(SEND_ADDR_OFF).cast();
        m.msg_namelen = addr_len as libc::socklen_t;
        m.msg_iov = base.wrapping_add(SEND_IOV_OFF).cast();
        m.msg_iovlen = 1;
        let cmsg = segment.map(cmsg::udp_segment);
        if cmsg.is_some() {
            m.msg_control = base.wrapping_add(SEND_CMSG_OFF).cast();
            m.msg_controllen = cmsg::UDP_SEGMENT_CMSG_SPACE as _;
        }
        // SAFETY: the send slot (SEND_SLOT_LEN bytes at `base`) is inside the region and free (it
        // came off the free list: its previous send completed), so no request reads it; the four
        // writes stay inside it (msghdr 56 < 64, iovec 16 at 64, cmsg 24 at 96, sockaddr_storage
        // 128 at 128); unaligned writes. The pointers stored point into the region, which
        // outlives the request (module invariant).
        unsafe {
            base.cast::<libc::msghdr>().write_unaligned(m);
            base.add(SEND_IOV_OFF)
                .cast::<libc::iovec>()
                .write_unaligned(iov);
            if let Some(c) = cmsg {
                std::ptr::copy_nonoverlapping(c.0.as_ptr(), base.add(SEND_CMSG_OFF), c.0.len());
            }
            base.add(SEND_ADDR_OFF)
                .cast::<libc::sockaddr_storage>()
                .write_unaligned(raw.storage);
        }
        let op = if segment.is_some() {
            UD_OUT_GSO_SEND
        } else {
            UD_OUT_SEND
        };
        let e = opcode::SendMsg::new(UDP_FIXED, base.cast::<libc::msghdr>().cast_const())
            .build()
            .user_data(ud(op, u32::from(slot)));
        self.push(e);
        true
    }

    /// Send slots not in flight.
    pub fn free_send_slots(&self) -> usize {
        self.free_sends.len()
    }

    /// Gives a held buffer back to its ring (visible to the kernel at the next submit).
    pub fn recycle(&mut self, buf: Buf) {
        assert_eq!(buf.ring_id, self.id, "buffer of another ring");
        match buf.group {
            Group::Tun => self.tun.push(buf.bid),
            Group::Udp => self.udp.push(buf.bid),
        }
    }

    /// Writes `slot[start..start + len]` of a UDP buffer to the TUN device. The buffer returns to
    /// its ring when the write completes.
    pub fn push_tun_write(&mut self, buf: Buf, start: usize, len: usize) {
        let p = self.write_span(&buf, start, len);
        self.write_len[usize::from(buf.bid)] = len as u32;
        let e = opcode::Write::new(TUN_FIXED, p, len as u32)
            .build()
            .user_data(ud(UD_TUN_WRITE, u32::from(buf.bid)));
        self.push(e);
    }

    /// Start of `slot[start..start + len]` of a TUN buffer about to be sent (checked to lie in the
    /// slot).
    fn send_span(&self, buf: &Buf, start: usize, len: usize) -> *mut u8 {
        assert_eq!(buf.ring_id, self.id, "buffer of another ring");
        assert_eq!(
            buf.group,
            Group::Tun,
            "UDP data sends come from TUN buffers"
        );
        assert!(
            start
                .checked_add(len)
                .is_some_and(|e| e <= self.layout.tun.slot_len)
        );
        self.tun.slot_ptr(buf.bid).wrapping_add(start)
    }

    /// Start of `slot[start..start + len]` of a UDP buffer about to be written to the TUN device
    /// (checked to lie in the slot).
    fn write_span(&self, buf: &Buf, start: usize, len: usize) -> *mut u8 {
        assert_eq!(buf.ring_id, self.id, "buffer of another ring");
        assert_eq!(buf.group, Group::Udp, "TUN writes come from UDP buffers");
        assert!(
            start
                .checked_add(len)
                .is_some_and(|e| e <= self.layout.udp.slot_len)
        );
        self.udp.slot_ptr(buf.bid).wrapping_add(start)
    }

    fn store_addr(&mut self, idx: usize, dst: &SocketAddr) -> (*const libc::sockaddr, u32) {
        let size = std::mem::size_of::<libc::sockaddr_storage>();
        let p = self.region.ptr_at(self.layout.addrs + idx * size, size);
        let dst = sockaddr::for_socket(dst, self.udp_is_v6);
        if self.addr_cache[idx] != Some(dst) {
            let raw: RawSockAddr = sockaddr::to_raw(&dst);
            // SAFETY: slot `idx` is inside the region; no in-flight request references it (its
            // buffer or control slot is held by the caller, so its previous send completed).
            unsafe {
                p.cast::<libc::sockaddr_storage>()
                    .write_unaligned(raw.storage)
            };
            self.addr_cache[idx] = Some(dst);
        }
        let len = match dst {
            SocketAddr::V4(_) => std::mem::size_of::<libc::sockaddr_in>(),
            SocketAddr::V6(_) => std::mem::size_of::<libc::sockaddr_in6>(),
        };
        (p.cast::<libc::sockaddr>().cast_const(), len as u32)
    }

    /// Sends `slot[start..start + len]` of a TUN buffer to `dst`. The buffer returns to its ring
    /// when the send completes.
    pub fn push_udp_send(&mut self, buf: Buf, start: usize, len: usize, dst: &SocketAddr) {
        let p = self.send_span(&buf, start, len);
        let (addr, addr_len) = self.store_addr(usize::from(buf.bid), dst);
        let e = opcode::Send::new(UDP_FIXED, p, len as u32)
            .dest_addr(addr)
            .dest_addr_len(addr_len)
            .build()
            .user_data(ud(UD_UDP_SEND, u32::from(buf.bid)));
        self.push(e);
    }

    /// Sends `slot[start..start + len]` of a TUN buffer to `dst` at once, with one `sendto`
    /// rather than a queued request, and gives the buffer back. For a packet that came alone
    /// (see [`Uring::carries_packet`]): there is nothing to batch it with, and after an idle
    /// spell the cold `io_uring_enter` submission costs ~9 µs more than `sendto` before the
    /// datagram leaves (docs/BENCHMARKS.md). Never blocks (MSG_DONTWAIT).
    pub fn send_now(
        &mut self,
        buf: Buf,
        start: usize,
        len: usize,
        dst: &SocketAddr,
    ) -> io::Result<()> {
        let p = self.send_span(&buf, start, len);
        let raw = sockaddr::to_raw(&sockaddr::for_socket(dst, self.udp_is_v6));
        // SAFETY: `p..p + len` lies inside the slot of a buffer this caller holds (checked by
        // `send_span`), so nothing else writes it during the call; `raw` is a valid sockaddr of
        // `raw.len` bytes on the stack; the call does not keep either pointer.
        let n = unsafe {
            libc::sendto(
                self.udp_fd,
                p.cast(),
                len,
                libc::MSG_DONTWAIT,
                raw.as_ptr(),
                raw.len,
            )
        };
        self.recycle(buf);
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// Writes `slot[start..start + len]` of a UDP buffer to the TUN device at once, with one
    /// `write`, and gives the buffer back: [`Uring::send_now`]'s counterpart for a lone datagram.
    /// A TUN write is all or nothing; the descriptor is non-blocking.
    pub fn write_tun_now(&mut self, buf: Buf, start: usize, len: usize) -> io::Result<()> {
        let p = self.write_span(&buf, start, len);
        // SAFETY: `p..p + len` lies inside the slot of a buffer this caller holds (checked by
        // `write_span`); the call only reads it and does not keep the pointer.
        let n = unsafe { libc::write(self.tun_fd, p.cast(), len) };
        self.recycle(buf);
        match n {
            n if n < 0 => Err(io::Error::last_os_error()),
            n if n as usize != len => Err(io::ErrorKind::WriteZero.into()),
            _ => Ok(()),
        }
    }

    /// Whether a completion delivers a packet or datagram to process (a TUN read or UDP receive
    /// with a buffer), as opposed to the completion of something this loop sent.
    pub fn carries_packet(e: &cqueue::Entry) -> bool {
        let op = e.user_data() >> 32;
        (op == UD_TUN_READ || op == UD_UDP_RECV)
            && e.result() > 0
            && cqueue::buffer_select(e.flags()).is_some()
    }

    /// A free control slot, if any.
    pub fn take_control_slot(&mut self) -> Option<ControlSlot> {
        self.free_control.pop().map(|idx| ControlSlot {
            ring_id: self.id,
            idx,
        })
    }

    pub fn release_control_slot(&mut self, slot: ControlSlot) {
        assert_eq!(slot.ring_id, self.id);
        self.free_control.push(slot.idx);
    }

    pub fn control_mut(&mut self, slot: &ControlSlot) -> &mut [u8] {
        assert_eq!(slot.ring_id, self.id);
        let p = self.region.ptr_at(
            self.layout.control + usize::from(slot.idx) * CONTROL_SLOT_LEN,
            CONTROL_SLOT_LEN,
        );
        // SAFETY: the slot is inside the region and held by the caller (no send references it).
        unsafe { std::slice::from_raw_parts_mut(p, CONTROL_SLOT_LEN) }
    }

    /// Sends `control[..len]` to `dst`; the slot is free again when the send completes.
    pub fn push_control_send(&mut self, slot: ControlSlot, len: usize, dst: &SocketAddr) {
        assert_eq!(slot.ring_id, self.id);
        assert!(len <= CONTROL_SLOT_LEN);
        let idx = usize::from(self.layout.tun.entries) + usize::from(slot.idx);
        let (addr, addr_len) = self.store_addr(idx, dst);
        let p = self.region.ptr_at(
            self.layout.control + usize::from(slot.idx) * CONTROL_SLOT_LEN,
            len,
        );
        let e = opcode::Send::new(UDP_FIXED, p, len as u32)
            .dest_addr(addr)
            .dest_addr_len(addr_len)
            .build()
            .user_data(ud(UD_CTRL_SEND, u32::from(slot.idx)));
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
    pub fn submit_and_wait(&mut self, want: usize) -> io::Result<()> {
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
    pub fn reap(&mut self, out: &mut Vec<cqueue::Entry>) -> usize {
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

    /// Decodes one CQE and does the wrapper's part: buffer bookkeeping, returning the buffer of a
    /// finished write/send to its ring, freeing a control slot, noting ended multishots.
    pub fn complete(&mut self, e: &cqueue::Entry) -> Completion {
        let user_data = e.user_data();
        let (op, idx) = ((user_data >> 32), user_data as u32);
        let result = e.result();
        let flags = e.flags();
        let more = cqueue::more(flags);
        if !more {
            self.inflight = self.inflight.saturating_sub(1);
        }
        let take = |this: &mut Uring, group: Group| -> Option<Buf> {
            let bid = cqueue::buffer_select(flags)?;
            match group {
                Group::Tun => this.tun.taken(),
                Group::Udp => this.udp.taken(),
            }
            Some(Buf {
                ring_id: this.id,
                group,
                bid,
                len: result.max(0) as u32,
            })
        };
        let (op, buf) = match op {
            UD_TUN_READ => {
                if !more {
                    self.tun_read_armed = false;
                }
                (Op::TunRead, take(self, Group::Tun))
            }
            UD_UDP_RECV => {
                if !more {
                    self.udp_recv_armed = false;
                }
                (Op::UdpRecv, take(self, Group::Udp))
            }
            UD_TUN_WRITE => {
                let bid = idx as u16;
                self.udp.push(bid);
                (
                    Op::TunWrite {
                        expected: self.write_len[usize::from(bid)],
                    },
                    None,
                )
            }
            UD_UDP_SEND => {
                self.tun.push(idx as u16);
                (Op::UdpSend { control: false }, None)
            }
            UD_CTRL_SEND => {
                self.free_control.push(idx as u16);
                (Op::UdpSend { control: true }, None)
            }
            UD_OUT_SEND | UD_OUT_GSO_SEND => {
                let slot = idx as u16;
                let out = self.send_out[usize::from(slot)];
                self.free_sends.push(slot);
                self.unref_out(out);
                let gso = op == UD_OUT_GSO_SEND;
                if gso && (result == -libc::EIO || result == -libc::EINVAL) {
                    self.stats.gso_refused += 1;
                    self.gso_enabled = false;
                }
                (Op::OutSend { gso }, None)
            }
            UD_OUT_WRITE => {
                let out = (idx & ((1 << OUT_IDX_BITS) - 1)) as u16;
                let expected = idx >> OUT_IDX_BITS;
                self.unref_out(out);
                (Op::OutWrite { expected }, None)
            }
            UD_SIGNAL => (Op::Signal, None),
            UD_TIMEOUT => (Op::Timeout { generation: idx }, None),
            UD_TIMEOUT_REMOVE => (Op::TimeoutRemove, None),
            _ => (Op::Cancel, None),
        };
        Completion {
            op,
            result,
            more,
            buf,
        }
    }

    /// Cancels everything and waits (bounded) for the final CQE of every request. Returns true if
    /// nothing is in flight any more. Called by `Drop`.
    pub fn drain(&mut self) -> bool {
        let e = opcode::AsyncCancel2::new(types::CancelBuilder::any())
            .build()
            .user_data(ud(UD_CANCEL, 0));
        // SAFETY: a cancel request references no memory.
        let pushed = unsafe { self.ring.submission().push(&e).is_ok() };
        if pushed {
            self.inflight += 1;
        }
        let mut cqes = Vec::with_capacity(64);
        for _ in 0..1000 {
            if self.inflight == 0 {
                return true;
            }
            let ts = types::Timespec::new().nsec(10_000_000);
            let args = types::SubmitArgs::new().timespec(&ts);
            let _ = self.ring.submitter().submit_with_args(1, &args);
            self.reap(&mut cqes);
            for c in &cqes {
                if let Some(b) = self.complete(c).buf {
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
        }
        // Otherwise some request never completed: the region is leaked rather than unmapped
        // under the kernel's feet.
    }
}

/// Whether `fd` is an AF_INET6 socket (IPv4 peers then need IPv4-mapped addresses).
pub fn socket_is_ipv6(fd: RawFd) -> bool {
    let mut domain: libc::c_int = 0;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: `domain` and `len` are valid for writes of the sizes given.
    let rc = unsafe {
        libc::getsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_DOMAIN,
            (&mut domain as *mut libc::c_int).cast(),
            &mut len,
        )
    };
    rc == 0 && domain == libc::AF_INET6
}

/// The running kernel's release string (uname -r).
pub fn kernel_release() -> String {
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
pub struct ProbeFailure {
    pub feature: &'static str,
    pub detail: String,
}

/// Checks that io_uring is usable and supports every operation the loop uses.
pub fn probe() -> Result<(), ProbeFailure> {
    let fail = |feature, detail: String| ProbeFailure { feature, detail };
    let ring = match IoUring::<squeue::Entry, cqueue::Entry>::builder()
        .setup_cqsize(16)
        .setup_single_issuer()
        .setup_defer_taskrun()
        .build(8)
    {
        Ok(r) => r,
        Err(e) => {
            let why = match e.raw_os_error() {
                Some(libc::EPERM) => {
                    let sysctl = std::fs::read_to_string("/proc/sys/kernel/io_uring_disabled")
                        .map(|s| s.trim().to_string())
                        .unwrap_or_else(|_| "?".into());
                    format!("{e} (kernel.io_uring_disabled = {sysctl})")
                }
                Some(libc::ENOSYS) => format!("{e} (kernel built without io_uring)"),
                Some(libc::EINVAL) => {
                    format!("{e} (IORING_SETUP_DEFER_TASKRUN needs Linux >= 6.1)")
                }
                _ => e.to_string(),
            };
            return Err(fail("io_uring_setup", why));
        }
    };
    let mut p = Probe::new();
    if let Err(e) = ring.submitter().register_probe(&mut p) {
        return Err(fail("IORING_REGISTER_PROBE", e.to_string()));
    }
    let ops: [(u8, &'static str); 9] = [
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
    ];
    for (code, name) in ops {
        if !p.is_supported(code) {
            return Err(fail(name, "opcode not supported".into()));
        }
    }
    // A provided-buffer ring, registered and unregistered again.
    let region = Region::new(page_size()).map_err(|e| fail("mmap", e.to_string()))?;
    // SAFETY: the 4-entry ring lies in `region`, which outlives the registration (unregistered
    // below, and the ring fd is closed before `region` is dropped at the end of this function).
    let reg = unsafe {
        ring.submitter()
            .register_buf_ring_with_flags(region.ptr_at(0, 64) as u64, 4, 7, 0)
    };
    if let Err(e) = reg {
        return Err(fail(
            "IORING_REGISTER_PBUF_RING (Linux >= 5.19)",
            e.to_string(),
        ));
    }
    let _ = ring.submitter().unregister_buf_ring(7);
    drop(ring);
    drop(region);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::UdpSocket;
    use std::os::fd::AsRawFd;

    #[test]
    fn probe_passes_on_this_kernel() {
        probe().unwrap();
        assert!(!kernel_release().is_empty());
    }

    #[test]
    fn layout_keeps_headroom_and_alignment() {
        let c = UringConfig::for_mtu(1420);
        let l = Layout::new(&c);
        assert!(l.tun.slot_len >= 16 + 1420 + 16);
        assert_eq!(l.tun.kernel_len(), l.tun.slot_len - 32);
        assert!(l.udp.kernel_len() >= UDP_PAYLOAD_OFFSET + 1420 + 32);
        assert_eq!(l.tun.slots_offset % 64, 0);
        assert_eq!(l.udp.slots_offset % page_size(), 0);
        assert_eq!(l.udp.ring_offset % page_size(), 0);
        assert!(l.total > l.timespec);
        // 64 KiB super-packets (TSO) with a virtio_net_hdr of headroom fit by parameters only.
        let mut big = c;
        big.max_packet = 65535;
        big.tun_headroom = 16 + 12;
        big.tun_buffers = 64;
        big.udp_buffers = 64;
        let l = Layout::new(&big);
        assert!(l.tun.kernel_len() >= 65535);
    }

    /// Recvmsg multishot over loopback through the UDP ring with 4 buffers: more datagrams than
    /// buffers end the multishot with ENOBUFS; recycling and re-arming receives the rest.
    #[test]
    fn udp_ring_recycles_and_rearms_after_enobufs() {
        let a = UdpSocket::bind("127.0.0.1:0").unwrap();
        let b = UdpSocket::bind("127.0.0.1:0").unwrap();
        let mut c = UringConfig::for_mtu(1420);
        c.tun_buffers = 4;
        c.udp_buffers = 4;
        // A's fd stands in for the TUN fd (never read from in this test).
        let sig = UdpSocket::bind("127.0.0.1:0").unwrap();
        let mut u = Uring::new(&c, sig.as_raw_fd(), a.as_raw_fd(), sig.as_raw_fd()).unwrap();
        let dst = a.local_addr().unwrap();
        for i in 0..10u8 {
            b.send_to(&[i; 100], dst).unwrap();
        }
        u.arm_udp_recv();
        let mut got = Vec::new();
        let mut enobufs = 0;
        let mut cqes = Vec::with_capacity(16);
        for _ in 0..100 {
            if got.len() == 10 {
                break;
            }
            u.submit_and_wait(1).unwrap();
            let n = u.reap(&mut cqes);
            let mut held = Vec::new();
            for e in &cqes[..n] {
                let c = u.complete(e);
                assert_eq!(c.op, Op::UdpRecv);
                if c.result == -libc::ENOBUFS {
                    enobufs += 1;
                }
                if let Some(b) = c.buf {
                    held.push(b);
                }
            }
            // Hold all buffers until the batch ends, then check and recycle them.
            for buf in held {
                let (from, start, len) = u.datagram(&buf).unwrap();
                assert_eq!(from, b.local_addr().unwrap());
                let slot = u.slot_mut(&buf);
                assert_eq!(len, 100);
                got.push(slot[start]);
                assert!(slot[start..start + len].iter().all(|&x| x == slot[start]));
                u.recycle(buf);
            }
            u.rearm_reads();
        }
        assert_eq!(got, (0..10).collect::<Vec<u8>>());
        assert!(
            enobufs >= 1,
            "4 buffers for 10 queued datagrams must run out"
        );
        assert_eq!(u.available(Group::Udp), 4);
    }

    #[test]
    fn drain_cancels_every_request() {
        let a = UdpSocket::bind("127.0.0.1:0").unwrap();
        let mut c = UringConfig::for_mtu(1420);
        c.tun_buffers = 4;
        c.udp_buffers = 4;
        let mut u = Uring::new(&c, a.as_raw_fd(), a.as_raw_fd(), a.as_raw_fd()).unwrap();
        u.arm_udp_recv();
        let g = u.push_timeout(Duration::from_secs(3600));
        u.push_timeout_remove(g.wrapping_add(100)); // a timeout that does not exist: -ENOENT
        u.submit_and_wait(1).unwrap();
        assert!(u.inflight() >= 2, "recv and timeout still pending");
        assert!(u.drain());
        assert_eq!(u.inflight(), 0);
        assert!(!u.udp_recv_armed());
    }

    /// A dual-stack IPv6 socket: sends to an IPv4 peer go out as IPv4-mapped, and the sender of
    /// a received datagram comes back as plain IPv4.
    #[test]
    fn dual_stack_socket_talks_to_ipv4_peers() {
        let a = UdpSocket::bind("[::]:0").unwrap();
        let b = UdpSocket::bind("127.0.0.1:0").unwrap();
        b.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        assert!(socket_is_ipv6(a.as_raw_fd()));
        let mut c = UringConfig::for_mtu(1420);
        c.tun_buffers = 4;
        c.udp_buffers = 4;
        let mut u = Uring::new(&c, a.as_raw_fd(), a.as_raw_fd(), a.as_raw_fd()).unwrap();
        let slot = u.take_control_slot().unwrap();
        u.control_mut(&slot)[..2].copy_from_slice(b"hi");
        u.push_control_send(slot, 2, &b.local_addr().unwrap());
        u.submit_and_wait(1).unwrap();
        let mut rx = [0u8; 8];
        let (n, _) = b.recv_from(&mut rx).unwrap();
        assert_eq!(&rx[..n], b"hi");
        let a_port = a.local_addr().unwrap().port();
        b.send_to(b"yo", ("127.0.0.1", a_port)).unwrap();
        u.arm_udp_recv();
        let mut cqes = Vec::with_capacity(8);
        let mut got = None;
        for _ in 0..10 {
            u.submit_and_wait(1).unwrap();
            u.reap(&mut cqes);
            for e in &cqes {
                if let Some(buf) = u.complete(e).buf {
                    let (from, start, len) = u.datagram(&buf).unwrap();
                    got = Some((from, u.slot_mut(&buf)[start..start + len].to_vec()));
                    u.recycle(buf);
                }
            }
            if got.is_some() {
                break;
            }
        }
        assert_eq!(got, Some((b.local_addr().unwrap(), b"yo".to_vec())));
    }

    #[test]
    fn control_slots_run_out_and_come_back() {
        let a = UdpSocket::bind("127.0.0.1:0").unwrap();
        let b = UdpSocket::bind("127.0.0.1:0").unwrap();
        b.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut c = UringConfig::for_mtu(1420);
        c.tun_buffers = 4;
        c.udp_buffers = 4;
        c.control_slots = 2;
        let mut u = Uring::new(&c, a.as_raw_fd(), a.as_raw_fd(), a.as_raw_fd()).unwrap();
        let s1 = u.take_control_slot().unwrap();
        let s2 = u.take_control_slot().unwrap();
        assert!(u.take_control_slot().is_none());
        let dst = b.local_addr().unwrap();
        u.control_mut(&s1)[..3].copy_from_slice(b"one");
        u.push_control_send(s1, 3, &dst);
        u.release_control_slot(s2);
        u.submit_and_wait(1).unwrap();
        let mut cqes = Vec::with_capacity(4);
        let n = u.reap(&mut cqes);
        assert_eq!(n, 1);
        let done = u.complete(&cqes[0]);
        assert_eq!(done.op, Op::UdpSend { control: true });
        assert_eq!(done.result, 3);
        let mut rx = [0u8; 16];
        let (len, from) = b.recv_from(&mut rx).unwrap();
        assert_eq!((&rx[..len], from), (&b"one"[..], a.local_addr().unwrap()));
        assert!(u.take_control_slot().is_some());
        assert!(u.take_control_slot().is_some());
        assert_eq!(u.inflight(), 0);
    }

    fn offload_config() -> UringConfig {
        let mut c = UringConfig::for_mtu(1420);
        c.tun_buffers = 4;
        c.udp_buffers = 4;
        c.vnet_hdr_len = 10;
        c.recv_control_len = 64;
        c.max_packet = 65535;
        c.max_datagram = 65535;
        c.out_buffers = 2;
        c.out_len = 128 << 10;
        c.send_slots = 8;
        c
    }

    fn run_until_idle(u: &mut Uring, mut on: impl FnMut(&mut Uring, Completion)) {
        let mut cqes = Vec::with_capacity(64);
        for _ in 0..200 {
            if u.inflight() == 0 || (u.inflight() == 1 && u.udp_recv_armed()) {
                return;
            }
            u.submit_and_wait(1).unwrap();
            u.reap(&mut cqes);
            for e in &cqes {
                let c = u.complete(e);
                on(u, c);
            }
        }
        panic!("requests still in flight: {}", u.inflight());
    }

    /// A GSO train from an output buffer to the ring's own GRO socket on loopback: the storage of
    /// each send (msghdr, iovec, cmsg, address in the send slot) stays valid until it completes,
    /// the buffer comes back only after its last send, and the receive side reports the train
    /// with its segment size.
    #[test]
    fn gso_train_is_sent_from_slot_storage_and_received_as_gro() {
        let a = UdpSocket::bind("127.0.0.1:0").unwrap();
        crate::sys::udp::enable_gro(&std::os::fd::OwnedFd::from(a.try_clone().unwrap())).unwrap();
        let c = offload_config();
        let mut u = Uring::new(&c, a.as_raw_fd(), a.as_raw_fd(), a.as_raw_fd()).unwrap();
        assert!(u.layout.tun.kernel_len() >= 65535 + 10);
        assert_eq!(
            u.layout.tun.headroom, 6,
            "vnet header right before the IP packet"
        );
        let dst = a.local_addr().unwrap();
        let stride = 800;
        // 150 datagrams: three GSO sends (64 + 64 + 22 segments; 64 * 800 < 65507).
        let n = 150;
        let total = (n - 1) * stride + 300;
        let out = u.take_out().unwrap();
        for (i, b) in u.out_mut(&out)[..total].iter_mut().enumerate() {
            *b = (i / stride) as u8;
        }
        assert_eq!(u.free_outs(), 1);
        let sends = u.push_out_sends(out, total, stride, &dst);
        assert_eq!(sends, 3);
        assert_eq!(u.free_send_slots(), 5);
        assert_eq!(u.free_outs(), 1, "held by its sends");
        u.arm_udp_recv();
        let mut got: Vec<(usize, usize)> = Vec::new(); // (len, segment)
        let mut bytes = Vec::new();
        let mut sent = 0;
        let mut cqes = Vec::with_capacity(64);
        for _ in 0..100 {
            if bytes.len() >= total && sent == 3 {
                break;
            }
            u.submit_and_wait(1).unwrap();
            u.reap(&mut cqes);
            for e in &cqes {
                let comp = u.complete(e);
                match comp.op {
                    Op::OutSend { gso } => {
                        assert!(gso);
                        assert!(comp.result > 0, "send failed: {}", comp.result);
                        sent += 1;
                    }
                    Op::UdpRecv => {
                        if let Some(b) = comp.buf {
                            let d = u.datagrams(&b).unwrap();
                            assert_eq!(d.from, dst);
                            got.push((d.len, d.segment));
                            bytes.extend_from_slice(&u.slot_mut(&b)[d.start..d.start + d.len]);
                            u.recycle(b);
                        }
                    }
                    op => panic!("unexpected {op:?}"),
                }
            }
            u.rearm_reads();
        }
        assert_eq!(sent, 3);
        assert_eq!(bytes.len(), total, "{got:?}");
        for (i, b) in bytes.iter().enumerate() {
            assert_eq!(*b, (i / stride) as u8);
        }
        assert!(
            got.iter().any(|&(len, seg)| seg == stride && len > stride),
            "GRO trains with their segment size: {got:?}"
        );
        assert_eq!(u.free_outs(), 2);
        assert_eq!(u.free_send_slots(), 8);
    }

    /// A GSO send the kernel refuses (more segments than UDP_MAX_SEGMENTS, 64 or 128 depending
    /// on the kernel: EINVAL) turns GSO off; later trains
    /// go out one datagram per send.
    #[test]
    fn refused_gso_falls_back_to_plain_sends() {
        let a = UdpSocket::bind("127.0.0.1:0").unwrap();
        let b = UdpSocket::bind("127.0.0.1:0").unwrap();
        b.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let c = offload_config();
        let mut u = Uring::new(&c, a.as_raw_fd(), a.as_raw_fd(), a.as_raw_fd()).unwrap();
        let dst = b.local_addr().unwrap();
        let out = u.take_out().unwrap();
        let idx = out.idx;
        assert!(u.push_out_send(idx, 0, 200 * 100, Some(100), &dst));
        u.release_out(out);
        let mut results = Vec::new();
        run_until_idle(&mut u, |_, c| results.push((c.op, c.result)));
        assert_eq!(results, vec![(Op::OutSend { gso: true }, -libc::EINVAL)]);
        assert!(!u.gso_enabled());
        assert_eq!(u.stats().gso_refused, 1);
        assert_eq!(u.free_outs(), 2);
        let out = u.take_out().unwrap();
        u.out_mut(&out)[..250].fill(9);
        assert_eq!(u.push_out_sends(out, 250, 100, &dst), 3);
        let mut lens = Vec::new();
        run_until_idle(&mut u, |_, c| {
            assert_eq!(c.op, Op::OutSend { gso: false });
            lens.push(c.result);
        });
        assert_eq!(lens, vec![100, 100, 50]);
        let mut rx = [0u8; 256];
        for want in [100, 100, 50] {
            assert_eq!(b.recv(&mut rx).unwrap(), want);
        }
        assert_eq!(u.free_outs(), 2);
    }
}
