//! The memory a caller can hold: buffers taken out of the rings by a completion ([`Buf`]),
//! output buffers ([`OutBuf`]) and control-datagram slots ([`ControlSlot`]), how to get a slice
//! of each, how to give each back, and how to read a received UDP buffer.
//!
//! A ring buffer is in the kernel's ring, or held by the caller as a [`Buf`] (not `Clone`), or
//! referenced by an in-flight write/send (the `Buf` was consumed by `push_*`; the buffer returns to
//! its ring when that request completes). Only the holder of a handle can get a slice of its
//! memory, so the kernel never writes memory Rust code has a reference to.
//!
//! Output buffers are reference counted: the caller's hold plus one per in-flight send or TUN
//! write that reads them; a buffer is free again when the count drops to zero.

use std::net::SocketAddr;

use super::Uring;
use super::layout::{CONTROL_SLOT_LEN, RECV_HEADER_LEN, RECV_NAME_LEN, RECVMSG_OUT_LEN};
use crate::sys::{cmsg, sockaddr};

/// Which buffer group a [`Buf`] belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Group {
    Tun,
    Udp,
}

/// A buffer taken out of a ring by a completion, held by the caller. Not `Clone`: whoever holds it
/// may touch the memory; giving it to `recycle` or a `push_*` gives the memory back.
#[derive(Debug)]
#[must_use = "a dropped Buf leaks its buffer; recycle it"]
pub(crate) struct Buf {
    pub(super) ring_id: u32,
    pub(super) group: Group,
    pub(super) bid: u16,
    pub(super) len: u32,
}

impl Buf {
    /// Bytes the kernel wrote (the CQE result).
    pub(crate) fn len(&self) -> usize {
        self.len as usize
    }
}

/// An output buffer held by the caller (not `Clone`): see [`Uring::take_out`].
#[derive(Debug)]
#[must_use = "a dropped OutBuf leaks its buffer; release it"]
pub(crate) struct OutBuf {
    pub(super) ring_id: u32,
    pub(super) idx: u16,
}

/// A control-datagram slot held by the caller.
#[derive(Debug)]
#[must_use = "a dropped ControlSlot is lost; send it or release it"]
pub(crate) struct ControlSlot {
    pub(super) ring_id: u32,
    pub(super) idx: u16,
}

/// One received UDP buffer, split: sender, payload offset and length in the slot, and the GRO
/// segment size (0: one datagram).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ReceivedTrain {
    pub(crate) from: SocketAddr,
    pub(crate) start: usize,
    pub(crate) len: usize,
    pub(crate) segment: usize,
}

/// Fields of the `struct io_uring_recvmsg_out` at the start of a UDP buffer (u32, native order).
mod recvmsg_out {
    use std::ops::Range;
    pub(crate) const NAMELEN: Range<usize> = 0..4;
    pub(crate) const CONTROLLEN: Range<usize> = 4..8;
    pub(crate) const PAYLOADLEN: Range<usize> = 8..12;
    pub(crate) const FLAGS: Range<usize> = 12..16;
}
const _: () = assert!(recvmsg_out::FLAGS.end == RECVMSG_OUT_LEN);

impl Uring {
    /// Buffers of `group` the kernel may still fill.
    #[cfg(test)]
    pub(crate) fn available(&self, group: Group) -> u32 {
        match group {
            Group::Tun => self.tun.available(),
            Group::Udp => self.udp.available(),
        }
    }

    /// Start and length of a held buffer's slot.
    fn slot_ptr(&self, buf: &Buf) -> (*mut u8, usize) {
        assert_eq!(buf.ring_id, self.id, "buffer of another ring");
        match buf.group {
            Group::Tun => (self.tun.slot_ptr(buf.bid), self.layout.tun.slot_len),
            Group::Udp => (self.udp.slot_ptr(buf.bid), self.layout.udp.slot_len),
        }
    }

    /// The whole slot of a held buffer, from its first byte (before the headroom). For a TUN buffer
    /// the packet is at `[headroom..headroom + buf.len()]`; for a UDP buffer see
    /// [`Uring::received_datagram`].
    pub(crate) fn slot_mut(&mut self, buf: &Buf) -> &mut [u8] {
        let (p, len) = self.slot_ptr(buf);
        // SAFETY: the slot lies in the region (slot_ptr checks the id); the caller holds the only
        // `Buf` for it, so the kernel does not own it and no other slice to it exists (the returned
        // slice borrows `self` mutably, and `buf` cannot be recycled while it lives).
        unsafe { std::slice::from_raw_parts_mut(p, len) }
    }

    /// Headroom of TUN buffers: the packet starts this far into the slot.
    pub(crate) fn tun_headroom(&self) -> usize {
        self.layout.tun.headroom
    }

    /// Splits a received UDP buffer: the sender and the datagram's offset and length in the slot.
    /// `None` if the datagram or the name was truncated or the header is inconsistent. (A GRO
    /// train is returned whole: see [`Uring::received_train`].)
    pub(crate) fn received_datagram(&mut self, buf: &Buf) -> Option<(SocketAddr, usize, usize)> {
        self.received_train(buf).map(|d| (d.from, d.start, d.len))
    }

    /// Splits a received UDP buffer (layout `io_uring_recvmsg_out`, name room, control room,
    /// payload), with the `UDP_GRO` segment size if the kernel coalesced several datagrams.
    pub(crate) fn received_train(&mut self, buf: &Buf) -> Option<ReceivedTrain> {
        assert_eq!(buf.group, Group::Udp);
        let total = buf.len();
        let payload_off = self.layout.udp_payload;
        let ctl_room = self.recv_control_len;
        let slot = self.slot_mut(buf);
        if total < payload_off || total > slot.len() {
            return None;
        }
        let field = |f: std::ops::Range<usize>| u32::from_ne_bytes(slot[f].try_into().unwrap());
        let namelen = field(recvmsg_out::NAMELEN);
        let controllen = field(recvmsg_out::CONTROLLEN);
        let payloadlen = field(recvmsg_out::PAYLOADLEN);
        let flags = field(recvmsg_out::FLAGS);
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
            let c = RECV_HEADER_LEN;
            cmsg::parse_gro(&slot[c..c + ctl]).map_or(0, usize::from)
        } else {
            0
        };
        Some(ReceivedTrain {
            from,
            start: payload_off,
            len,
            segment,
        })
    }

    /// Gives a held buffer back to its ring (visible to the kernel at the next submit).
    pub(crate) fn recycle(&mut self, buf: Buf) {
        assert_eq!(buf.ring_id, self.id, "buffer of another ring");
        match buf.group {
            Group::Tun => self.tun.push(buf.bid),
            Group::Udp => self.udp.push(buf.bid),
        }
    }

    /// Start of `slot[start..start + len]` of a TUN buffer about to be sent (checked to lie in the
    /// slot).
    pub(super) fn send_span(&self, buf: &Buf, start: usize, len: usize) -> *mut u8 {
        assert_eq!(
            buf.group,
            Group::Tun,
            "UDP data sends come from TUN buffers"
        );
        self.span(buf, start, len)
    }

    /// Start of `slot[start..start + len]` of a UDP buffer about to be written to the TUN device
    /// (checked to lie in the slot).
    pub(super) fn write_span(&self, buf: &Buf, start: usize, len: usize) -> *mut u8 {
        assert_eq!(buf.group, Group::Udp, "TUN writes come from UDP buffers");
        self.span(buf, start, len)
    }

    fn span(&self, buf: &Buf, start: usize, len: usize) -> *mut u8 {
        let (p, slot_len) = self.slot_ptr(buf);
        assert!(start.checked_add(len).is_some_and(|e| e <= slot_len));
        p.wrapping_add(start)
    }

    /// A free output buffer (all of it writable by the caller), if any.
    pub(crate) fn take_out(&mut self) -> Option<OutBuf> {
        let idx = self.free_out.pop()?;
        self.out_refs[usize::from(idx)] = 1;
        self.out_queued[usize::from(idx)] = 0;
        Some(OutBuf {
            ring_id: self.id,
            idx,
        })
    }

    /// Drops the caller's hold on an output buffer: it is free once its sends/writes complete.
    pub(crate) fn release_out(&mut self, out: OutBuf) {
        assert_eq!(out.ring_id, self.id, "output buffer of another ring");
        self.unref_out(out.idx);
    }

    /// Drops one reference to output buffer `idx` (a hold, or a completed send/write).
    pub(super) fn unref_out(&mut self, idx: u16) {
        let r = &mut self.out_refs[usize::from(idx)];
        debug_assert!(*r > 0);
        *r = r.saturating_sub(1);
        if *r == 0 {
            self.free_out.push(idx);
        }
    }

    /// Output buffers not held and not in flight.
    pub(crate) fn free_outs(&self) -> usize {
        self.free_out.len()
    }

    pub(crate) fn out_len(&self) -> usize {
        self.layout.out_len
    }

    pub(super) fn out_ptr(&self, idx: u16) -> *mut u8 {
        let len = self.layout.out_len;
        self.region
            .ptr_at(self.layout.out + usize::from(idx) * len, len)
    }

    /// A held output buffer's memory. Only valid while no send/write from it is in flight, which
    /// is the case while the caller has not pushed any (the driver fills, then sends).
    pub(crate) fn out_mut(&mut self, out: &OutBuf) -> &mut [u8] {
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
    pub(crate) fn slot_and_out_mut(&mut self, buf: &Buf, out: &OutBuf) -> (&mut [u8], &mut [u8]) {
        assert_eq!(out.ring_id, self.id, "output buffer of another ring");
        assert_eq!(self.out_refs[usize::from(out.idx)], 1);
        let (sp, slot_len) = self.slot_ptr(buf);
        let op = self.out_ptr(out.idx);
        // SAFETY: both lie in the region and do not overlap (slots and output buffers are separate
        // areas of the layout); the caller holds both handles, so the kernel owns neither; both
        // slices borrow `self` mutably.
        unsafe {
            (
                std::slice::from_raw_parts_mut(sp, slot_len),
                std::slice::from_raw_parts_mut(op, self.layout.out_len),
            )
        }
    }

    /// As [`Uring::slot_and_out_mut`], for the part of the output buffer from `from` on, which
    /// must lie behind every range already queued for writing (those are read by the kernel).
    pub(crate) fn slot_and_out_from_mut(
        &mut self,
        buf: &Buf,
        out: &OutBuf,
        from: usize,
    ) -> (&mut [u8], &mut [u8]) {
        assert_eq!(out.ring_id, self.id, "output buffer of another ring");
        assert!(from <= self.layout.out_len);
        assert!(
            from >= self.out_queued[usize::from(out.idx)] as usize,
            "output range still queued"
        );
        let (sp, slot_len) = self.slot_ptr(buf);
        let op = self.out_ptr(out.idx).wrapping_add(from);
        // SAFETY: both lie in the region and do not overlap (separate areas of the layout); the
        // caller holds both handles; in-flight requests on the output buffer only read ranges
        // ending at or before `from` (checked above), so the kernel touches no byte of either
        // slice; both borrow `self` mutably.
        unsafe {
            (
                std::slice::from_raw_parts_mut(sp, slot_len),
                std::slice::from_raw_parts_mut(op, self.layout.out_len - from),
            )
        }
    }

    /// A free control slot, if any.
    pub(crate) fn take_control_slot(&mut self) -> Option<ControlSlot> {
        self.free_control.pop().map(|idx| ControlSlot {
            ring_id: self.id,
            idx,
        })
    }

    pub(crate) fn release_control_slot(&mut self, slot: ControlSlot) {
        assert_eq!(slot.ring_id, self.id);
        self.free_control.push(slot.idx);
    }

    /// Start of the first `len` bytes of control slot `idx`.
    pub(super) fn control_ptr(&self, idx: u16, len: usize) -> *mut u8 {
        assert!(len <= CONTROL_SLOT_LEN);
        self.region.ptr_at(
            self.layout.control + usize::from(idx) * CONTROL_SLOT_LEN,
            len,
        )
    }

    pub(crate) fn control_mut(&mut self, slot: &ControlSlot) -> &mut [u8] {
        assert_eq!(slot.ring_id, self.id);
        let p = self.control_ptr(slot.idx, CONTROL_SLOT_LEN);
        // SAFETY: the slot is inside the region and held by the caller (no send references it).
        unsafe { std::slice::from_raw_parts_mut(p, CONTROL_SLOT_LEN) }
    }
}
