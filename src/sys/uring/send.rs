//! Everything that moves held bytes out: UDP sends (data from TUN buffers, control datagrams,
//! trains from output buffers split into GSO sends, each with its `msghdr` built in a send slot)
//! and TUN writes (from UDP buffers and output buffers), queued on the ring; and the direct
//! `sendto` / `write` of a packet that came alone (when: `driver::event_loop`'s module docs).
//!
//! GSO sends are split at [`GSO_MAX_SEGMENTS`] segments and [`GSO_MAX_BYTES`]; the first one the
//! kernel refuses (EIO/EINVAL) turns GSO off and later trains go out one datagram per send.

use std::io;
use std::net::SocketAddr;

use io_uring::opcode;

use super::buffers::{Buf, ControlSlot, Group, OutBuf};
use super::completion::{Tag, out_write_index};
use super::layout::{SEND_ADDR_OFF, SEND_CMSG_OFF, SEND_IOV_OFF, SEND_MSGHDR_OFF, SEND_SLOT_LEN};
use super::{TUN_FIXED, UDP_FIXED, Uring};
use crate::sys::udp::{GSO_MAX_BYTES, GSO_MAX_SEGMENTS};
use crate::sys::{cmsg, sockaddr, tun, udp};

/// Datagrams per send of a train of `stride`-byte datagrams: as many as one GSO send may carry,
/// or one once GSO is off.
fn datagrams_per_send(stride: usize, gso: bool) -> usize {
    if gso {
        GSO_MAX_SEGMENTS.min(GSO_MAX_BYTES / stride).max(1)
    } else {
        1
    }
}

impl Uring {
    /// Writes `slot[start..start + len]` of a UDP buffer to the TUN device. The buffer returns to
    /// its ring when the write completes.
    pub(crate) fn push_tun_write(&mut self, buf: Buf, start: usize, len: usize) {
        let p = self.write_span(&buf, start, len);
        self.write_len[usize::from(buf.bid)] = len as u32;
        let e = opcode::Write::new(TUN_FIXED, p, len as u32)
            .build()
            .user_data(Tag::TunWrite.user_data(u32::from(buf.bid)));
        self.push(e);
    }

    /// Sends `slot[start..start + len]` of a TUN buffer to `dst`. The buffer returns to its ring
    /// when the send completes.
    pub(crate) fn push_udp_send(&mut self, buf: Buf, start: usize, len: usize, dst: &SocketAddr) {
        let p = self.send_span(&buf, start, len);
        let (addr, addr_len) = self.store_addr(usize::from(buf.bid), dst);
        let e = opcode::Send::new(UDP_FIXED, p, len as u32)
            .dest_addr(addr)
            .dest_addr_len(addr_len)
            .build()
            .user_data(Tag::UdpSend.user_data(u32::from(buf.bid)));
        self.push(e);
    }

    /// Sends `control[..len]` to `dst`; the slot is free again when the send completes.
    pub(crate) fn push_control_send(&mut self, slot: ControlSlot, len: usize, dst: &SocketAddr) {
        assert_eq!(slot.ring_id, self.id);
        let idx = usize::from(self.layout.tun.entries) + usize::from(slot.idx);
        let (addr, addr_len) = self.store_addr(idx, dst);
        let p = self.control_ptr(slot.idx, len);
        let e = opcode::Send::new(UDP_FIXED, p, len as u32)
            .dest_addr(addr)
            .dest_addr_len(addr_len)
            .build()
            .user_data(Tag::ControlSend.user_data(u32::from(slot.idx)));
        self.push(e);
    }

    /// The destination of a send in sockaddr slot `idx` (one per TUN buffer, then one per control
    /// slot), written only when it changed.
    fn store_addr(&mut self, idx: usize, dst: &SocketAddr) -> (*const libc::sockaddr, u32) {
        let size = std::mem::size_of::<libc::sockaddr_storage>();
        let p = self.region.ptr_at(self.layout.addrs + idx * size, size);
        let dst = sockaddr::for_socket(dst, self.udp_is_v6);
        if self.addr_cache[idx] != Some(dst) {
            let raw = sockaddr::to_raw(&dst);
            // SAFETY: slot `idx` is inside the region; no in-flight request references it (its
            // buffer or control slot is held by the caller, so its previous send completed).
            unsafe {
                p.cast::<libc::sockaddr_storage>()
                    .write_unaligned(raw.storage)
            };
            self.addr_cache[idx] = Some(dst);
        }
        (
            p.cast::<libc::sockaddr>().cast_const(),
            sockaddr::raw_len(&dst),
        )
    }

    /// Writes `out[off..off + len]` to the TUN device, keeping the caller's hold (more ranges
    /// behind it can be filled and written; see [`Uring::slot_and_out_from_mut`]).
    pub(crate) fn push_out_tun_write_at(&mut self, out: &OutBuf, off: usize, len: usize) {
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
        .user_data(Tag::OutWrite.user_data(out_write_index(out.idx, len)));
        self.push(e);
    }

    /// Whether sends with `UDP_SEGMENT` are still used (off after the kernel refused one).
    #[cfg(test)]
    pub(crate) fn gso_enabled(&self) -> bool {
        self.gso_enabled
    }

    /// Sends `out[..len]`, a train of datagrams of `stride` bytes each (the last may be shorter),
    /// to `dst`: as UDP GSO sends of at most [`GSO_MAX_SEGMENTS`] segments and
    /// [`GSO_MAX_BYTES`] bytes each, or one plain send per datagram once GSO is off. Consumes the
    /// caller's hold; the buffer is free when the last send completes. Returns the number of
    /// sends queued (datagrams without a free send slot are dropped and counted).
    pub(crate) fn push_out_sends(
        &mut self,
        out: OutBuf,
        len: usize,
        stride: usize,
        dst: &SocketAddr,
    ) -> usize {
        assert_eq!(out.ring_id, self.id, "output buffer of another ring");
        assert!(len <= self.layout.out_len && stride > 0);
        let chunk = datagrams_per_send(stride, self.gso_enabled) * stride;
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
    /// cmsg and destination. False if no send slot is free.
    pub(super) fn push_out_send(
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
        let raw = sockaddr::to_raw(&sockaddr::for_socket(dst, self.udp_is_v6));
        let iov = libc::iovec {
            iov_base: data.cast(),
            iov_len: len,
        };
        // SAFETY: msghdr is plain old data; all-zero is a valid value.
        let mut m: libc::msghdr = unsafe { std::mem::zeroed() };
        m.msg_name = base.wrapping_add(SEND_ADDR_OFF).cast();
        m.msg_namelen = raw.len;
        m.msg_iov = base.wrapping_add(SEND_IOV_OFF).cast();
        m.msg_iovlen = 1;
        let cmsg = segment.map(cmsg::udp_segment);
        if let Some(c) = &cmsg {
            m.msg_control = base.wrapping_add(SEND_CMSG_OFF).cast();
            m.msg_controllen = c.0.len() as _;
        }
        // SAFETY: the send slot (SEND_SLOT_LEN bytes at `base`) is inside the region and free (it
        // came off the free list: its previous send completed), so no request reads it; each
        // write stays inside its part of the slot (const-asserted in `layout`); unaligned writes.
        // The pointers stored point into the region, which outlives the request (module
        // invariant).
        unsafe {
            base.add(SEND_MSGHDR_OFF)
                .cast::<libc::msghdr>()
                .write_unaligned(m);
            base.add(SEND_IOV_OFF)
                .cast::<libc::iovec>()
                .write_unaligned(iov);
            if let Some(c) = cmsg {
                base.add(SEND_CMSG_OFF)
                    .cast::<cmsg::UdpSegmentCmsg>()
                    .write_unaligned(c);
            }
            base.add(SEND_ADDR_OFF)
                .cast::<libc::sockaddr_storage>()
                .write_unaligned(raw.storage);
        }
        let tag = if segment.is_some() {
            Tag::OutGsoSend
        } else {
            Tag::OutSend
        };
        let msg = base.wrapping_add(SEND_MSGHDR_OFF).cast::<libc::msghdr>();
        let e = opcode::SendMsg::new(UDP_FIXED, msg.cast_const())
            .build()
            .user_data(tag.user_data(u32::from(slot)));
        self.push(e);
        true
    }

    /// Send slots not in flight.
    #[cfg(test)]
    pub(crate) fn free_send_slots(&self) -> usize {
        self.free_sends.len()
    }

    /// Sends `slot[start..start + len]` of a TUN buffer to `dst` at once, with one `sendto`
    /// ([`udp::send_now`]) rather than a queued request, and gives the buffer back.
    pub(crate) fn send_now(
        &mut self,
        buf: Buf,
        start: usize,
        len: usize,
        dst: &SocketAddr,
    ) -> io::Result<()> {
        assert_eq!(
            buf.group,
            Group::Tun,
            "UDP data sends come from TUN buffers"
        );
        let (fd, dst) = (self.udp_fd, sockaddr::for_socket(dst, self.udp_is_v6));
        let sent = udp::send_now(fd, &self.slot_mut(&buf)[start..][..len], &dst);
        self.recycle(buf);
        sent
    }

    /// Writes `slot[start..start + len]` of a UDP buffer to the TUN device at once, with one
    /// `write` ([`tun::write_now`]), and gives the buffer back: [`Uring::send_now`]'s counterpart.
    pub(crate) fn write_tun_now(&mut self, buf: Buf, start: usize, len: usize) -> io::Result<()> {
        assert_eq!(buf.group, Group::Udp, "TUN writes come from UDP buffers");
        let fd = self.tun_fd;
        let written = tun::write_now(fd, &self.slot_mut(&buf)[start..][..len]);
        self.recycle(buf);
        written
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gso_sends_stay_within_the_kernel_limits() {
        assert_eq!(datagrams_per_send(800, true), 64);
        assert_eq!(datagrams_per_send(1400, true), 46);
        assert_eq!(datagrams_per_send(GSO_MAX_BYTES, true), 1);
        assert_eq!(datagrams_per_send(70_000, true), 1, "larger than a send");
        for stride in [1, 100, 576, 1024, 1280, 1452, 9000, 65_507] {
            let n = datagrams_per_send(stride, true);
            assert!((1..=GSO_MAX_SEGMENTS).contains(&n), "{stride}: {n}");
            assert!(n == 1 || n * stride <= GSO_MAX_BYTES, "{stride}: {n}");
            assert_eq!(datagrams_per_send(stride, false), 1);
        }
    }
}
