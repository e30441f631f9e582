//! Where everything lives in the ring's one [`Region`](crate::sys::buf_ring::Region): the sizes
//! the caller asks for ([`UringConfig`]), the parts of a UDP receive buffer and of a send slot,
//! and the offset of every area ([`Layout`]). Whatever the kernel reads or writes in a fixed-size
//! place is checked to fit it by a `const` assertion.
//!
//! ```text
//! TUN ring entries | UDP ring entries | TUN slots | UDP slots | control slots | sockaddrs
//!   | recvmsg msghdr | recvmsg name | siginfo | timespec | output buffers | send slots
//!   | client read buffers
//! ```
//!
//! A UDP slot is `[io_uring_recvmsg_out][name][control room][datagram]`; a send slot is
//! `[msghdr][iovec][UDP_SEGMENT cmsg][destination]`.

use std::mem::size_of;

use io_uring::types;

use crate::sys::buf_ring::{CACHE_LINE, GroupLayout, RING_ENTRY_LEN, page_size, round_up};
use crate::sys::cmsg::{CMSG_ALIGN, UDP_SEGMENT_CMSG_SPACE};
use crate::sys::signal::SIGINFO_LEN;

/// `sizeof(struct io_uring_recvmsg_out)`: `namelen, controllen, payloadlen, flags` (u32 each).
pub(crate) const RECVMSG_OUT_LEN: usize = 4 * size_of::<u32>();
/// Bytes reserved for the peer's address in a UDP buffer.
pub(crate) const RECV_NAME_LEN: usize = 48;
const _: () = assert!(RECV_NAME_LEN >= size_of::<libc::sockaddr_in6>());
/// The recvmsg header and the name room at the start of a UDP buffer: the control room, if any,
/// starts here, then the datagram.
pub(crate) const RECV_HEADER_LEN: usize = RECVMSG_OUT_LEN + RECV_NAME_LEN;
// Without control room, the datagram starts on a cache line.
const _: () = assert!(RECV_HEADER_LEN == CACHE_LINE);
/// Bytes a UDP slot holds beyond the largest datagram it is sized for.
const UDP_SLOT_SPARE: usize = 64;

/// Size of one control-datagram slot.
pub(crate) const CONTROL_SLOT_LEN: usize = 256;

/// One send slot: the storage a sendmsg from an output buffer points to until it completes.
pub(crate) const SEND_SLOT_LEN: usize = 256;
/// Offsets in a send slot: msghdr, iovec, `UDP_SEGMENT` cmsg, destination `sockaddr_storage`.
pub(crate) const SEND_MSGHDR_OFF: usize = 0;
pub(crate) const SEND_IOV_OFF: usize = 64;
pub(crate) const SEND_CMSG_OFF: usize = 96;
pub(crate) const SEND_ADDR_OFF: usize = 128;
const _: () = {
    assert!(SEND_MSGHDR_OFF + size_of::<libc::msghdr>() <= SEND_IOV_OFF);
    assert!(SEND_IOV_OFF + size_of::<libc::iovec>() <= SEND_CMSG_OFF);
    assert!(SEND_CMSG_OFF % CMSG_ALIGN == 0);
    assert!(SEND_CMSG_OFF + UDP_SEGMENT_CMSG_SPACE <= SEND_ADDR_OFF);
    assert!(SEND_ADDR_OFF + size_of::<libc::sockaddr_storage>() <= SEND_SLOT_LEN);
    // Consecutive slots keep these offsets aligned.
    assert!(SEND_SLOT_LEN % CACHE_LINE == 0);
};

/// Buffer group ids of the two provided-buffer rings.
pub(crate) const BGID_TUN: u16 = 0;
pub(crate) const BGID_UDP: u16 = 1;

/// Sizes of the ring and of the packet memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct UringConfig {
    pub(crate) sq_entries: u32,
    pub(crate) cq_entries: u32,
    /// Buffers (= ring entries) for TUN reads; power of two.
    pub(crate) tun_buffers: u16,
    /// Buffers for UDP receives; power of two.
    pub(crate) udp_buffers: u16,
    /// Control-datagram slots (handshakes, keepalives) that can be in flight at once.
    pub(crate) control_slots: u16,
    /// Largest packet the TUN device gives us (the MTU, or 64 KiB with TSO).
    pub(crate) max_packet: usize,
    /// Bytes in front of a TUN packet: the transport header (16); the vnet header, if any, is
    /// written into its last `vnet_hdr_len` bytes.
    pub(crate) tun_headroom: usize,
    /// Bytes behind a TUN packet: the AEAD tag (16).
    pub(crate) tun_tailroom: usize,
    /// Bytes a datagram adds around an IP packet (header + tag); sizes the UDP buffers.
    pub(crate) datagram_overhead: usize,
    /// Offload mode: every TUN read starts with a `virtio_net_hdr` of this many bytes (0: plain
    /// mode). The kernel writes it into the last `vnet_hdr_len` bytes of the headroom, so the IP
    /// packet still starts `tun_headroom` bytes into the slot.
    pub(crate) vnet_hdr_len: usize,
    /// Control-message room per received datagram (for the `UDP_GRO` cmsg; 0: none). Multiple of 8.
    pub(crate) recv_control_len: usize,
    /// Largest UDP payload a receive buffer holds (0: `max_packet + datagram_overhead`); 65535
    /// with UDP GRO.
    pub(crate) max_datagram: usize,
    /// Output buffers (segmentation and coalescing) and their size (0: none).
    pub(crate) out_buffers: u16,
    pub(crate) out_len: usize,
    /// Send slots for sends from output buffers (each owns a msghdr, iovec, cmsg and sockaddr).
    pub(crate) send_slots: u16,
    /// Control-socket connections served at once (0: none), and the read buffer of each.
    pub(crate) client_slots: u16,
    pub(crate) client_buf_len: usize,
}

impl UringConfig {
    pub(crate) fn for_mtu(mtu: u16) -> UringConfig {
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
            client_slots: 0,
            client_buf_len: 0,
        }
    }
}

/// Offsets of everything inside the one region.
#[derive(Clone, Copy, Debug)]
pub(super) struct Layout {
    pub(super) tun: GroupLayout,
    pub(super) udp: GroupLayout,
    pub(super) control: usize,
    /// `(tun_buffers + control_slots)` destination sockaddrs (128 bytes each).
    pub(super) addrs: usize,
    /// The multishot recvmsg's template `msghdr`, and the name buffer it points to (only its
    /// length matters: each name lands in its UDP buffer).
    pub(super) msghdr: usize,
    pub(super) name_dummy: usize,
    /// One `signalfd_siginfo` read from the signalfd.
    pub(super) siginfo: usize,
    /// The timeout's `timespec`.
    pub(super) timespec: usize,
    /// Output buffers (`out_len` bytes each, a multiple of a cache line), then the send slots.
    pub(super) out: usize,
    pub(super) out_len: usize,
    pub(super) sends: usize,
    /// Read buffers of the control-socket clients (`client_buf_len` bytes each, a multiple of a
    /// cache line).
    pub(super) clients: usize,
    pub(super) client_buf_len: usize,
    /// Payload offset in a UDP buffer (after the recvmsg header, name and control room).
    pub(super) udp_payload: usize,
    pub(super) total: usize,
}

impl Layout {
    pub(super) fn new(c: &UringConfig) -> Layout {
        let page = page_size();
        assert!(c.vnet_hdr_len <= c.tun_headroom && c.recv_control_len % CMSG_ALIGN == 0);
        let tun_slot = round_up(
            c.tun_headroom + c.max_packet + c.tun_tailroom + c.vnet_hdr_len,
            CACHE_LINE,
        );
        let udp_payload = RECV_HEADER_LEN + c.recv_control_len;
        let max_datagram = if c.max_datagram > 0 {
            c.max_datagram
        } else {
            c.max_packet + c.datagram_overhead
        };
        let udp_slot = round_up(udp_payload + max_datagram + UDP_SLOT_SPARE, CACHE_LINE);
        let tun_ring = 0;
        let udp_ring = round_up(usize::from(c.tun_buffers) * RING_ENTRY_LEN, page);
        let tun_slots = udp_ring + round_up(usize::from(c.udp_buffers) * RING_ENTRY_LEN, page);
        let udp_slots = round_up(tun_slots + usize::from(c.tun_buffers) * tun_slot, page);
        let control = round_up(udp_slots + usize::from(c.udp_buffers) * udp_slot, page);
        let addrs = control + usize::from(c.control_slots) * CONTROL_SLOT_LEN;
        let n_addrs = usize::from(c.tun_buffers) + usize::from(c.control_slots);
        let msghdr = addrs + n_addrs * size_of::<libc::sockaddr_storage>();
        let name_dummy = round_up(msghdr + size_of::<libc::msghdr>(), CACHE_LINE);
        let siginfo = name_dummy + round_up(RECV_NAME_LEN, CACHE_LINE);
        let timespec = siginfo + SIGINFO_LEN;
        let out_len = round_up(c.out_len, CACHE_LINE);
        let out = round_up(
            timespec + round_up(size_of::<types::Timespec>(), CACHE_LINE),
            page,
        );
        let sends = out + usize::from(c.out_buffers) * out_len;
        let clients = sends + usize::from(c.send_slots) * SEND_SLOT_LEN;
        let client_buf_len = round_up(c.client_buf_len, CACHE_LINE);
        let total = clients + usize::from(c.client_slots) * client_buf_len;
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
            clients,
            client_buf_len,
            udp_payload,
            total,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_keeps_headroom_and_alignment() {
        let c = UringConfig::for_mtu(1420);
        let l = Layout::new(&c);
        assert!(l.tun.slot_len >= 16 + 1420 + 16);
        assert_eq!(l.tun.kernel_len(), l.tun.slot_len - 32);
        assert!(l.udp.kernel_len() >= RECV_HEADER_LEN + 1420 + 32);
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
}
