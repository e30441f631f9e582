//! The loop: wait for a batch of completions, process each, then do the per-batch work (timers,
//! control datagrams, events, re-arming) and submit everything with one io_uring_enter.
//!
//! Per packet the loop does no allocation, no syscall and no logging: a TUN packet is sealed in its
//! buffer and the same buffer is queued for sending; a datagram is opened in its buffer and the
//! decrypted packet is queued for writing to the TUN device from where it lies.

use std::io;
use std::os::fd::AsRawFd;

use io_uring::cqueue;

use super::clock::{Clock, Timer};
use super::{DriverConfig, DriverError, DriverStats, Exit, Hooks, Io, Protocol, RingSizes};
use crate::core::{DATA_HEADER_LEN, DropReason, Instant, Received, TAG_LEN};
use crate::sys::uring::{Buf, Completion, Op, Uring, UringConfig};

// Control datagrams are written straight into the wrapper's control slots.
const _: () =
    assert!(crate::sys::uring::CONTROL_SLOT_LEN >= crate::core::endpoint::MAX_CONTROL_LEN);

/// Completions taken from the CQ per `reap` (the CQ is drained in chunks of this size).
const REAP_CHUNK: usize = 256;
/// A multishot read that ends with an error (other than -ENOBUFS) this many times in a row,
/// without a packet in between, is fatal: re-arming it would spin.
const MAX_READ_FAILURES: u32 = 64;
/// `sizeof(struct signalfd_siginfo)`.
const SIGINFO_LEN: i32 = 128;

/// [`super::run`] for any [`Protocol`], with explicit ring sizes.
pub fn run_with<P: Protocol>(
    proto: &mut P,
    io: Io,
    config: &DriverConfig,
    sizes: &RingSizes,
    hooks: &mut dyn Hooks,
) -> Result<Exit, DriverError> {
    let mut uc = UringConfig::for_mtu(config.mtu);
    uc.sq_entries = sizes.sq_entries;
    uc.cq_entries = sizes.cq_entries;
    uc.tun_buffers = sizes.tun_buffers;
    uc.udp_buffers = sizes.udp_buffers;
    uc.control_slots = sizes.control_slots;
    uc.tun_headroom = DATA_HEADER_LEN;
    uc.tun_tailroom = TAG_LEN;
    uc.datagram_overhead = DATA_HEADER_LEN + TAG_LEN;
    // `io` stays alive (and its fds open) until the Uring, declared after it, is dropped.
    let uring = Uring::new(
        &uc,
        io.tun.as_raw_fd(),
        io.udp.as_raw_fd(),
        io.signals.as_raw_fd(),
    )
    .map_err(DriverError::Setup)?;
    let mut lp = Loop {
        uring,
        proto,
        hooks,
        clock: Clock::new(),
        timer: Timer::default(),
        stats: DriverStats::default(),
        tun_failures: 0,
        udp_failures: 0,
    };
    let r = lp.run();
    drop(lp);
    drop(io);
    r
}

struct Loop<'a, P: Protocol> {
    uring: Uring,
    proto: &'a mut P,
    hooks: &'a mut dyn Hooks,
    clock: Clock,
    timer: Timer,
    stats: DriverStats,
    /// Consecutive error completions of the TUN read / UDP receive (reset by any packet).
    tun_failures: u32,
    udp_failures: u32,
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
        let mut cqes: Vec<cqueue::Entry> = Vec::with_capacity(REAP_CHUNK);
        loop {
            let now = self.clock.now();
            self.after_batch(now);
            self.uring.submit_and_wait(1).map_err(DriverError::Submit)?;
            self.stats.batches += 1;
            let now = self.clock.now();
            let mut done: Option<Result<Exit, DriverError>> = None;
            while self.uring.reap(&mut cqes) > 0 {
                for e in &cqes {
                    let c = self.uring.complete(e);
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
            }
            self.stats.submits = self.uring.stats().enters;
            if let Some(r) = done {
                self.report_stats();
                return r;
            }
        }
    }

    /// Timers, control datagrams, events, re-arming: once per batch.
    fn after_batch(&mut self, now: Instant) {
        // Bounded: a core that keeps asking for the past does not stall the loop.
        for _ in 0..4 {
            match self.proto.poll_timeout() {
                Some(d) if d <= now => self.proto.handle_timeout(now),
                _ => break,
            }
        }
        while let Some(slot) = self.uring.take_control_slot() {
            match self.proto.poll_transmit(now, self.uring.control_mut(&slot)) {
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
            self.hooks.on_event(now, &ev);
        }
        let deadline = self.proto.poll_timeout();
        self.timer.sync(&mut self.uring, deadline, now);
        self.uring.rearm_reads();
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
            Op::Signal => return self.signal(c.result),
            Op::Timeout { generation } => {
                if self.timer.completed(generation) && c.result == -libc::ETIME {
                    self.stats.timer_wakeups += 1;
                }
            }
            Op::TimeoutRemove | Op::Cancel => {}
        }
        Ok(None)
    }

    #[inline]
    fn tun_packet(&mut self, now: Instant, buf: Buf) {
        self.stats.tun_reads += 1;
        let len = buf.len();
        if len == 0 {
            self.uring.recycle(buf);
            return;
        }
        // The packet sits at `headroom`; the core wants it at DATA_HEADER_LEN of its slice.
        let base = self.uring.tun_headroom() - DATA_HEADER_LEN;
        let slot = self.uring.slot_mut(&buf);
        match self.proto.seal(now, &mut slot[base..], len) {
            Ok(t) => self.uring.push_udp_send(buf, base, t.len, &t.dst),
            Err(reason) => {
                self.hooks.on_drop(now, reason, None);
                self.uring.recycle(buf);
            }
        }
    }

    #[inline]
    fn datagram(&mut self, now: Instant, buf: Buf) {
        self.stats.udp_recvs += 1;
        let Some((from, start, len)) = self.uring.datagram(&buf) else {
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
            Received::Deliver { start: s, len: l }
                if s.checked_add(l).is_some_and(|e| e <= len) =>
            {
                self.uring.push_tun_write(buf, start + s, l);
            }
            Received::Deliver { .. } | Received::Control => self.uring.recycle(buf),
            Received::Dropped(reason) => {
                self.hooks.on_drop(now, reason, Some(from));
                self.uring.recycle(buf);
            }
        }
    }

    fn signal(&mut self, result: i32) -> Result<Option<Exit>, DriverError> {
        if result == SIGINFO_LEN {
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
        self.hooks.on_stats(self.proto.stats(), &self.stats);
    }
}
