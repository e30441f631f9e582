//! The loop: wait for a batch of completions, process each, then do the per-batch work (timers,
//! control datagrams, events, re-arming) and submit everything with one io_uring_enter.
//!
//! Per packet the loop does no allocation, no syscall and no logging: a TUN packet is sealed in its
//! buffer and the same buffer is queued for sending; a datagram is opened in its buffer and the
//! decrypted packet is queued for writing to the TUN device from where it lies.
//!
//! The one exception is a packet that arrives alone: the only packet-carrying completion of its
//! wake-up's first chunk (so nothing queued is still unsubmitted ahead of it), typically after an
//! idle spell: a ping, a keystroke, the first packet of a burst. It goes out at once with one
//! `sendto`/`write` on its buffer instead of a queued request: there is nothing to batch it with,
//! the syscall count is the same (its request's completion would have cost an extra
//! io_uring_enter), and on cold caches the io_uring submission path costs ~9 µs more before the
//! datagram leaves (docs/BENCHMARKS.md, idle ping).
//!
//! Offload mode (`DriverConfig::offload`): TUN reads carry a vnet header. A single packet (its
//! checksum finished if the kernel left it partial) is still sealed in place; a TSO super-packet
//! is cut by `core::offload::segment` into an output buffer, each segment sealed in place there,
//! and the lot sent as UDP GSO trains. A received GRO train is opened datagram by datagram in its
//! buffer and the packets are coalesced (`core::offload::Coalescer`) into output buffers, one
//! TUN write per super-packet; a lone datagram is written from its buffer behind a zero vnet
//! header. Packets that need an output buffer when none is free wait, in order, while the queued
//! sends and writes are submitted early to free some (one extra io_uring_enter per batch at most
//! per drain, never per packet).

use std::collections::VecDeque;
use std::io;
use std::ops::Range;
use std::os::fd::AsRawFd;

use io_uring::cqueue;

use super::clock::{Clock, Timer};
use super::control::{self, CLIENT_BUF_LEN, Context, Control, ControlPlane, ControlServer};
use super::socket::UdpSocket;
use super::{DriverConfig, DriverError, DriverStats, Exit, Hooks, Io, Protocol, RingSizes};
use crate::core::offload::{self, Coalescer, TunRead, VNET_HDR_LEN, VnetHdr};
use crate::core::{DATA_HEADER_LEN, DropReason, Instant, Received, TAG_LEN};
use crate::sys::signal::SIGINFO_LEN;
use crate::sys::uring::{Buf, Completion, Op, OutBuf, Uring, UringConfig};

/// Completions taken from the CQ per `reap` (the CQ is drained in chunks of this size).
const REAP_CHUNK: usize = 256;
/// A multishot read that ends with an error (other than -ENOBUFS) this many times in a row,
/// without a packet in between, is fatal: re-arming it would spin.
const MAX_READ_FAILURES: u32 = 64;
/// Offload mode: the largest TSO super-packet / GRO train, and the size of an output buffer (a
/// 64 KiB super-packet cut into MTU-sized segments, each with header and tag room).
const MAX_SUPER_PACKET: usize = 65535;
const OUT_BUFFER_LEN: usize = 128 << 10;
/// Control-message room per received datagram: one `UDP_GRO` cmsg (24 bytes) and spare.
const RECV_CONTROL_LEN: usize = 64;
/// Output buffers that must be free to start on a TUN packet or a UDP receive (a GRO train
/// usually needs one, sometimes two).
const OUT_RESERVE: usize = 2;
/// Decrypted packets of a GRO train collected before they are coalesced.
const RX_BATCH: usize = 128;
/// Enough send slots for one output buffer sent datagram by datagram (GSO off).
const GSO_SLOTS_MIN: u16 = 64;
// The vnet header goes in the headroom in front of the IP packet.
const _: () = assert!(VNET_HDR_LEN <= DATA_HEADER_LEN);

/// [`super::run`] for any [`Protocol`], with explicit ring sizes.
pub fn run_with<P: Protocol>(
    proto: &mut P,
    io: Io,
    config: &DriverConfig,
    sizes: &RingSizes,
    clock: Clock,
    hooks: &mut dyn Hooks<P::Event>,
) -> Result<Exit, DriverError> {
    run_loop(proto, io, None, config, sizes, clock, hooks)
}

/// [`run_with`], also serving the control socket ([`super::control`]).
pub fn run_with_control<P: Protocol + Control>(
    proto: &mut P,
    io: Io,
    plane: ControlPlane,
    config: &DriverConfig,
    sizes: &RingSizes,
    clock: Clock,
    hooks: &mut dyn Hooks<P::Event>,
) -> Result<Exit, DriverError> {
    let server = ControlServer::new(plane, control::answer::<P>);
    run_loop(proto, io, Some(server), config, sizes, clock, hooks)
}

fn run_loop<P: Protocol>(
    proto: &mut P,
    io: Io,
    control: Option<ControlServer<P>>,
    config: &DriverConfig,
    sizes: &RingSizes,
    clock: Clock,
    hooks: &mut dyn Hooks<P::Event>,
) -> Result<Exit, DriverError> {
    // Control datagrams are written straight into the wrapper's control slots.
    const { assert!(crate::sys::uring::CONTROL_SLOT_LEN >= P::MAX_CONTROL_LEN) };
    let mut uc = UringConfig::for_mtu(config.mtu);
    uc.sq_entries = sizes.sq_entries;
    uc.cq_entries = sizes.cq_entries;
    uc.tun_buffers = sizes.tun_buffers;
    uc.udp_buffers = sizes.udp_buffers;
    uc.control_slots = sizes.control_slots;
    uc.tun_headroom = DATA_HEADER_LEN;
    uc.tun_tailroom = TAG_LEN;
    uc.datagram_overhead = DATA_HEADER_LEN + TAG_LEN;
    if config.offload {
        uc.vnet_hdr_len = VNET_HDR_LEN;
        uc.recv_control_len = RECV_CONTROL_LEN;
        uc.max_packet = MAX_SUPER_PACKET;
        uc.max_datagram = MAX_SUPER_PACKET;
        uc.out_buffers = sizes.out_buffers.max(OUT_RESERVE as u16 * 2);
        uc.out_len = OUT_BUFFER_LEN;
        uc.send_slots = sizes.send_slots.max(GSO_SLOTS_MIN);
    }
    if let Some(server) = &control {
        uc.client_slots = server.slots();
        uc.client_buf_len = CLIENT_BUF_LEN;
    }
    // The TUN and signal fds stay open until the Uring, declared after them, is dropped; the UDP
    // socket moves into the loop, after its ring in field order.
    let Io { tun, udp, signals } = io;
    let uring = Uring::new(&uc, tun.as_raw_fd(), udp.as_raw_fd(), signals.as_raw_fd())
        .map_err(DriverError::Setup)?;
    let mut lp = Loop {
        uring,
        proto,
        hooks,
        clock,
        timer: Timer::default(),
        stats: DriverStats::default(),
        tun_failures: 0,
        udp_failures: 0,
        offload: config.offload,
        pending: Vec::with_capacity(RX_BATCH),
        tx_backlog: VecDeque::with_capacity(usize::from(uc.tun_buffers)),
        rx_backlog: VecDeque::with_capacity(usize::from(uc.udp_buffers)),
        lone: false,
        control,
        udp: UdpSocket::new(udp, config.offload),
    };
    let r = lp.run();
    drop(lp);
    drop((tun, signals));
    r
}

struct Loop<'a, P: Protocol> {
    uring: Uring,
    proto: &'a mut P,
    hooks: &'a mut dyn Hooks<P::Event>,
    clock: Clock,
    timer: Timer,
    stats: DriverStats,
    /// Consecutive error completions of the TUN read / UDP receive (reset by any packet).
    tun_failures: u32,
    udp_failures: u32,
    /// TUN reads/writes carry a vnet header; GSO sends and GRO receives.
    offload: bool,
    /// Decrypted packets of the GRO train being processed: (offset in the slot, length).
    /// Capacity RX_BATCH, never exceeded (no allocation).
    pending: Vec<(usize, usize)>,
    /// Offload mode: TUN packets / UDP receives waiting for a free output buffer, in order
    /// (everything after the first waiting one waits too, so nothing is reordered). Bounded by
    /// the ring sizes, which are their capacities.
    tx_backlog: VecDeque<Buf>,
    rx_backlog: VecDeque<Buf>,
    /// The chunk being processed is the first of its wake-up and has exactly one packet-carrying
    /// completion: its packet is sent or written at once (see the module docs). Taken by the
    /// first use.
    lone: bool,
    /// The control socket, if the loop serves one. Dropped after `uring` (field order), so the
    /// socket stays open while the ring may still accept on it.
    control: Option<ControlServer<P>>,
    /// The UDP socket (a control request may replace it). Dropped after `uring`, as above.
    udp: UdpSocket,
}

/// Whether exactly one of `cqes` carries a packet (stops looking at the second).
fn holds_one_packet(cqes: &[cqueue::Entry]) -> bool {
    cqes.iter()
        .filter(|e| Uring::carries_packet(e))
        .take(2)
        .count()
        == 1
}

/// The packet a `Received::Deliver { start, len }` names, checked to lie inside the datagram of
/// `datagram_len` bytes it came from; `None` if it does not (a core bug, never trusted).
fn delivered(start: usize, len: usize, datagram_len: usize) -> Option<Range<usize>> {
    let end = start.checked_add(len)?;
    (end <= datagram_len).then_some(start..end)
}

fn earliest(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

fn read_failed(count: &mut u32, what: &'static str, result: i32) -> Result<(), DriverError> {
    *count += 1;
    if *count >= MAX_READ_FAILURES {
        return Err(DriverError::Read {
            what,
            error: io::Error::from_raw_os_error(-result),
        });
    }
    Ok(())
}

impl<P: Protocol> Loop<'_, P> {
    fn run(&mut self) -> Result<Exit, DriverError> {
        self.uring.arm_tun_read();
        self.uring.arm_udp_recv();
        self.uring.push_signal_read();
        if let Some(control) = &mut self.control {
            control.start(&mut self.uring);
        }
        let mut cqes: Vec<cqueue::Entry> = Vec::with_capacity(REAP_CHUNK);
        loop {
            let now = self.clock.now();
            if let Err(e) = self.after_batch(now) {
                return self.finish(Err(e));
            }
            self.uring.submit_and_wait(1).map_err(DriverError::Submit)?;
            self.stats.batches += 1;
            let now = self.clock.now();
            let mut done: Option<Result<Exit, DriverError>> = None;
            // Only the wake-up's first chunk may hold a lone packet: after it, sends and writes of
            // earlier chunks wait unsubmitted in the SQ, and a direct send would overtake them.
            let mut first_chunk = true;
            while self.uring.reap(&mut cqes) > 0 {
                self.lone = std::mem::take(&mut first_chunk) && holds_one_packet(&cqes);
                for e in &cqes {
                    let Ok(c) = self.uring.complete(e) else {
                        self.stats.unknown_completions += 1;
                        continue;
                    };
                    if done.is_some() {
                        // Leaving: every reaped CQE is still accounted for, buffers go back.
                        if let Some(b) = c.buf {
                            self.uring.recycle(b);
                        }
                        continue;
                    }
                    match self.handle(now, c) {
                        Ok(None) => {}
                        Ok(Some(exit)) => done = Some(Ok(exit)),
                        Err(e) => done = Some(Err(e)),
                    }
                }
                self.lone = false;
                if done.is_none() {
                    self.drain_backlog(now);
                }
            }
            self.stats.submits = self.uring.stats().enters;
            if let Some(r) = done {
                return self.finish(r);
            }
        }
    }

    /// Leaving with `r`: waiting buffers go back, and the counters are reported once more. The
    /// caller drops the ring, which cancels and waits for whatever is still in flight.
    fn finish(&mut self, r: Result<Exit, DriverError>) -> Result<Exit, DriverError> {
        for b in self.tx_backlog.drain(..).chain(self.rx_backlog.drain(..)) {
            self.uring.recycle(b);
        }
        self.report_stats();
        r
    }

    /// Timers, control datagrams, events, re-arming: once per batch. A hook's error ends the
    /// loop (the rest of the batch's work is left undone).
    fn after_batch(&mut self, now: Instant) -> Result<(), DriverError> {
        // Bounded: a core that keeps asking for the past does not stall the loop.
        for _ in 0..4 {
            match self.proto.poll_timeout() {
                Some(d) if d <= now => self.proto.handle_timeout(now),
                _ => break,
            }
        }
        let wall = self.clock.wall();
        while let Some(slot) = self.uring.take_control_slot() {
            match self
                .proto
                .poll_transmit(now, wall, self.uring.control_mut(&slot))
            {
                Some(t) => {
                    self.uring.push_control_send(slot, t.len, &t.dst);
                    self.stats.control_sends += 1;
                }
                None => {
                    self.uring.release_control_slot(slot);
                    break;
                }
            }
        }
        while let Some(ev) = self.proto.poll_event() {
            self.hooks
                .on_event(now, &ev)
                .map_err(DriverError::Interface)?;
        }
        let mut deadline = self.proto.poll_timeout();
        if let Some(control) = &mut self.control {
            control.after_batch(now, &mut self.uring, &mut self.stats);
            deadline = earliest(deadline, control.poll_timeout());
        }
        self.timer.sync(&mut self.uring, deadline, now);
        self.uring.rearm_reads();
        Ok(())
    }

    fn handle(&mut self, now: Instant, c: Completion) -> Result<Option<Exit>, DriverError> {
        match c.op {
            // Without IORING_CQE_F_MORE a multishot has ended; `after_batch` re-arms it once its
            // ring has buffers again (after -ENOBUFS: once some came back).
            Op::TunRead => match c.buf {
                Some(buf) => {
                    self.tun_failures = 0;
                    self.tun_packet(now, buf);
                }
                None if c.result == -libc::ENOBUFS => self.stats.out_of_buffers += 1,
                None if c.result == -libc::EBADFD => return Ok(Some(Exit::InterfaceDeleted)),
                None if c.result < 0 => {
                    self.stats.tun_read_errors += 1;
                    read_failed(&mut self.tun_failures, "reading the TUN device", c.result)?;
                }
                None => {}
            },
            Op::UdpRecv => match c.buf {
                Some(buf) => {
                    self.udp_failures = 0;
                    self.datagram(now, buf);
                }
                None if c.result == -libc::ENOBUFS => self.stats.out_of_buffers += 1,
                // Cancelled on the socket a control request replaced: re-armed on the new one.
                None if c.result == -libc::ECANCELED => {}
                None if c.result < 0 => {
                    self.stats.udp_recv_errors += 1;
                    read_failed(
                        &mut self.udp_failures,
                        "receiving on the UDP socket",
                        c.result,
                    )?;
                }
                None => {}
            },
            Op::TunWrite { expected } => {
                // A TUN write is all or nothing: anything else is an error.
                if c.result >= 0 && c.result as u32 == expected {
                    self.stats.tun_writes += 1;
                } else {
                    self.stats.tun_write_errors += 1;
                }
            }
            Op::UdpSend { control: _ } => {
                // EAGAIN, ENOBUFS, ECONNREFUSED, EHOSTUNREACH, ENETUNREACH, ...: count, drop, go on.
                if c.result >= 0 {
                    self.stats.udp_sends += 1;
                } else {
                    self.stats.udp_send_errors += 1;
                }
            }
            Op::OutSend { gso: _ } => {
                if c.result >= 0 {
                    self.stats.out_sends += 1;
                } else {
                    self.stats.udp_send_errors += 1;
                }
            }
            Op::OutWrite { expected } => {
                if c.result >= 0 && c.result as u32 == expected {
                    self.stats.tun_writes += 1;
                } else {
                    self.stats.tun_write_errors += 1;
                }
            }
            Op::Signal => return self.signal(c.result),
            Op::Timeout { generation } => {
                if self.timer.completed(generation) && c.result == -libc::ETIME {
                    self.stats.timer_wakeups += 1;
                }
            }
            Op::TimeoutRemove | Op::Cancel => {}
            Op::Accept { .. } | Op::ClientRead { .. } | Op::ClientSend { .. } => {
                if let Some(control) = &mut self.control {
                    let cx = Context {
                        now,
                        wall: self.clock.wall(),
                        udp: &mut self.udp,
                    };
                    control.complete(cx, &c, &mut self.uring, self.proto, &mut self.stats);
                }
            }
        }
        Ok(None)
    }

    #[inline]
    fn tun_packet(&mut self, now: Instant, buf: Buf) {
        self.stats.tun_reads += 1;
        if self.offload {
            if !self.tx_backlog.is_empty() || self.uring.free_outs() < OUT_RESERVE {
                return self.tx_backlog.push_back(buf);
            }
            return self.tun_packet_vnet(now, buf);
        }
        let len = buf.len();
        if len == 0 {
            self.uring.recycle(buf);
            return;
        }
        // The packet sits at `headroom`; the core wants it at DATA_HEADER_LEN of its slice.
        let base = self.uring.tun_headroom() - DATA_HEADER_LEN;
        let slot = self.uring.slot_mut(&buf);
        match self.proto.seal(now, &mut slot[base..], len) {
            Ok(t) => self.send_packet(buf, base, t.len, &t.dst),
            Err(reason) => {
                self.hooks.on_drop(now, reason, None);
                self.uring.recycle(buf);
            }
        }
    }

    #[inline]
    fn datagram(&mut self, now: Instant, buf: Buf) {
        self.stats.udp_recvs += 1;
        if self.offload {
            if !self.rx_backlog.is_empty() || self.uring.free_outs() < OUT_RESERVE {
                return self.rx_backlog.push_back(buf);
            }
            return self.datagram_vnet(now, buf);
        }
        let Some((from, start, len)) = self.uring.received_datagram(&buf) else {
            // Truncated (larger than a buffer) or a malformed recvmsg header.
            self.stats.udp_recv_errors += 1;
            self.hooks.on_drop(now, DropReason::Malformed, None);
            self.uring.recycle(buf);
            return;
        };
        let slot = self.uring.slot_mut(&buf);
        match self
            .proto
            .handle_datagram(now, from, &mut slot[start..start + len])
        {
            Received::Deliver { start: s, len: l } => match delivered(s, l, len) {
                Some(p) => self.write_packet(buf, start + p.start, p.len()),
                None => self.uring.recycle(buf),
            },
            Received::Control => self.uring.recycle(buf),
            Received::Dropped(reason) => {
                self.hooks.on_drop(now, reason, Some(from));
                self.uring.recycle(buf);
            }
        }
    }

    /// Sends a sealed packet that lies in its TUN buffer: at once if it came alone, else queued.
    fn send_packet(&mut self, buf: Buf, start: usize, len: usize, dst: &std::net::SocketAddr) {
        if !std::mem::take(&mut self.lone) {
            return self.uring.push_udp_send(buf, start, len, dst);
        }
        self.stats.direct_sends += 1;
        // Errors as for a queued send: EAGAIN, ENOBUFS, ECONNREFUSED, ...: count, drop, go on.
        match self.uring.send_now(buf, start, len, dst) {
            Ok(()) => self.stats.udp_sends += 1,
            Err(_) => self.stats.udp_send_errors += 1,
        }
    }

    /// Writes an opened packet that lies in its UDP buffer to the TUN device: at once if it came
    /// alone, else queued.
    fn write_packet(&mut self, buf: Buf, start: usize, len: usize) {
        if !std::mem::take(&mut self.lone) {
            return self.uring.push_tun_write(buf, start, len);
        }
        self.stats.direct_writes += 1;
        match self.uring.write_tun_now(buf, start, len) {
            Ok(()) => self.stats.tun_writes += 1,
            Err(_) => self.stats.tun_write_errors += 1,
        }
    }

    /// Processes waiting packets while output buffers are free; if some still wait, submits what
    /// is queued so that in-flight sends and writes complete and free theirs (their completions
    /// are reaped by the caller's loop, which calls this again).
    fn drain_backlog(&mut self, now: Instant) {
        while self.uring.free_outs() >= OUT_RESERVE {
            if let Some(b) = self.tx_backlog.pop_front() {
                self.tun_packet_vnet(now, b);
            } else if let Some(b) = self.rx_backlog.pop_front() {
                self.datagram_vnet(now, b);
            } else {
                break;
            }
        }
        if !self.tx_backlog.is_empty() || !self.rx_backlog.is_empty() {
            self.stats.backlog_submits += 1;
            let _ = self.uring.submit_and_wait(0);
        }
    }

    fn offload_drop(&mut self, buf: Buf) {
        self.stats.offload_drops += 1;
        self.uring.recycle(buf);
    }

    /// Offload mode, TX: `[vnet header][IP packet]` at `tun_headroom()` of the slot, so that the
    /// IP packet starts at DATA_HEADER_LEN. What to do is the core's call ([`offload::classify`]):
    /// a lone packet is sealed in place (its checksum finished first if the kernel left it
    /// partial), a TSO super-packet is segmented and sent by [`Self::send_super_packet`].
    fn tun_packet_vnet(&mut self, now: Instant, buf: Buf) {
        let (h, len) = (self.uring.tun_headroom(), buf.len());
        let slot = self.uring.slot_mut(&buf);
        let verdict = offload::classify(&slot[h..h + len]);
        // After the vnet header: at DATA_HEADER_LEN of the slot, where `seal` wants it.
        let ip = h + VNET_HDR_LEN..h + len;
        match verdict {
            TunRead::Drop => self.offload_drop(buf),
            TunRead::SuperPacket(hdr) => self.send_super_packet(now, buf, &hdr, ip),
            TunRead::NeedsChecksum(hdr)
                if offload::finish_checksum(&hdr, &mut slot[ip.clone()]).is_err() =>
            {
                self.offload_drop(buf)
            }
            TunRead::Packet | TunRead::NeedsChecksum(_) => {
                match self.proto.seal(now, slot, ip.len()) {
                    Ok(t) => self.send_packet(buf, 0, t.len, &t.dst),
                    Err(reason) => {
                        self.hooks.on_drop(now, reason, None);
                        self.uring.recycle(buf);
                    }
                }
            }
        }
    }

    /// Cuts the TSO super-packet at `ip` of `buf`'s slot into segments in an output buffer
    /// ([`offload::segment`]), seals each in place there and sends the lot as GSO trains.
    fn send_super_packet(&mut self, now: Instant, buf: Buf, hdr: &VnetHdr, ip: Range<usize>) {
        let Some(out) = self.uring.take_out() else {
            return self.offload_drop(buf);
        };
        let (slot, ob) = self.uring.slot_and_out_mut(&buf, &out);
        let r = offload::segment(hdr, &slot[ip], ob, DATA_HEADER_LEN, TAG_LEN);
        self.uring.recycle(buf);
        let segs = match r {
            Ok(s) if s.count > 0 => s,
            _ => {
                self.stats.offload_drops += 1;
                self.uring.release_out(out);
                return;
            }
        };
        self.stats.tso_packets += 1;
        let ob = self.uring.out_mut(&out);
        let mut dst = None;
        let mut ok = true;
        for i in 0..segs.count {
            let l = segs.len_of(i);
            let Some(seg) = ob.get_mut(i * segs.stride..) else {
                ok = false;
                break;
            };
            match self.proto.seal(now, seg, l) {
                Ok(t)
                    if t.len == DATA_HEADER_LEN + l + TAG_LEN && dst.is_none_or(|d| d == t.dst) =>
                {
                    dst = Some(t.dst)
                }
                Ok(_) => {
                    ok = false;
                    break;
                }
                Err(reason) => {
                    self.hooks.on_drop(now, reason, None);
                    ok = false;
                    break;
                }
            }
        }
        match dst {
            Some(dst) if ok => {
                self.stats.tso_segments += segs.count as u64;
                self.uring
                    .push_out_sends(out, segs.total_len(), segs.stride, &dst);
            }
            _ => {
                self.stats.offload_drops += 1;
                self.uring.release_out(out);
            }
        }
    }

    /// Offload mode, RX: one datagram is opened in place and written to the TUN device from its
    /// buffer behind a zero vnet header (in the room of the transport header); a GRO train is
    /// opened datagram by datagram and the packets are coalesced into output buffers.
    fn datagram_vnet(&mut self, now: Instant, buf: Buf) {
        let Some(d) = self.uring.received_train(&buf) else {
            self.stats.udp_recv_errors += 1;
            self.hooks.on_drop(now, DropReason::Malformed, None);
            self.uring.recycle(buf);
            return;
        };
        if d.segment == 0 || d.len <= d.segment {
            let slot = self.uring.slot_mut(&buf);
            let datagram = &mut slot[d.start..d.start + d.len];
            match self.proto.handle_datagram(now, d.from, datagram) {
                Received::Deliver { start: s, len: l } => {
                    // The vnet header goes in front of the packet, inside the datagram.
                    match delivered(s, l, d.len)
                        .and_then(|p| offload::write_plain_vnet_hdr(datagram, p.start))
                    {
                        Some(at) => self.write_packet(buf, d.start + at, l + VNET_HDR_LEN),
                        None => self.offload_drop(buf),
                    }
                }
                Received::Control => self.uring.recycle(buf),
                Received::Dropped(reason) => {
                    self.hooks.on_drop(now, reason, Some(d.from));
                    self.uring.recycle(buf);
                }
            }
            return;
        }
        self.stats.gro_batches += 1;
        let mut off = 0;
        while off < d.len {
            self.pending.clear();
            let slot = self.uring.slot_mut(&buf);
            while off < d.len && self.pending.len() < RX_BATCH {
                let n = d.segment.min(d.len - off);
                let at = d.start + off;
                off += n;
                self.stats.gro_datagrams += 1;
                match self
                    .proto
                    .handle_datagram(now, d.from, &mut slot[at..at + n])
                {
                    Received::Deliver { start: s, len: l } => match delivered(s, l, n) {
                        Some(p) => self.pending.push((at + p.start, p.len())),
                        None => self.stats.offload_drops += 1,
                    },
                    Received::Control => {}
                    Received::Dropped(reason) => self.hooks.on_drop(now, reason, Some(d.from)),
                }
            }
            self.coalesce_pending(&buf);
        }
        self.uring.recycle(buf);
    }

    /// Coalesces the packets in `pending` (inside `buf`) into output buffers and queues their
    /// TUN writes: one super-packet after another in the same output buffer (each its own
    /// write), a new buffer only when one is full.
    fn coalesce_pending(&mut self, buf: &Buf) {
        let mut i = 0;
        let mut cur: Option<(OutBuf, usize)> = None;
        while i < self.pending.len() {
            let (out, off) = match cur.take() {
                Some(c) => c,
                None => match self.uring.take_out() {
                    Some(o) => (o, 0),
                    None => {
                        self.stats.offload_drops += (self.pending.len() - i) as u64;
                        return;
                    }
                },
            };
            let (slot, ob) = self.uring.slot_and_out_from_mut(buf, &out, off);
            let mut co = Coalescer::new(ob);
            while let Some(&(at, l)) = self.pending.get(i) {
                if co.push(&slot[at..at + l]) {
                    i += 1;
                } else {
                    break;
                }
            }
            if co.is_empty() {
                if off == 0 {
                    // Refused by an empty builder with the whole buffer: not a valid packet.
                    self.stats.offload_drops += 1;
                    i += 1;
                    cur = Some((out, off));
                } else {
                    // No room left behind the queued writes: next buffer.
                    self.uring.release_out(out);
                }
                continue;
            }
            let n = co.finish();
            self.stats.coalesced_writes += 1;
            self.uring.push_out_tun_write_at(&out, off, n);
            let next = off + n.next_multiple_of(64);
            if next + VNET_HDR_LEN < self.uring.out_len() {
                cur = Some((out, next));
            } else {
                self.uring.release_out(out);
            }
        }
        if let Some((out, _)) = cur {
            self.uring.release_out(out);
        }
    }

    fn signal(&mut self, result: i32) -> Result<Option<Exit>, DriverError> {
        if usize::try_from(result) == Ok(SIGINFO_LEN) {
            let signo = self.uring.signal_number() as i32;
            match signo {
                libc::SIGINT | libc::SIGTERM => return Ok(Some(Exit::Signal(signo))),
                libc::SIGUSR1 => self.report_stats(),
                _ => {}
            }
        } else if result < 0 && result != -libc::EAGAIN && result != -libc::EINTR {
            return Err(DriverError::Signals(io::Error::from_raw_os_error(-result)));
        }
        self.uring.push_signal_read();
        Ok(None)
    }

    fn report_stats(&mut self) {
        self.stats.submits = self.uring.stats().enters;
        self.stats.gso_refused = self.uring.stats().gso_refused;
        self.stats.send_slot_drops = self.uring.stats().send_slot_drops;
        self.hooks.on_stats(self.proto.stats(), &self.stats);
    }
}
