//! TCP offloads for a TUN device opened with `IFF_VNET_HDR` (after wireguard-go's
//! `tun/offload_linux.go`): every read and write carries a 10-byte `struct virtio_net_hdr` in front
//! of the IP packet.
//!
//! - TX ([`segment`]): the kernel hands us TCP super-packets (TSO, up to 64 KiB) which we cut into
//!   MTU-sized segments, each a complete IP packet with correct lengths and checksums, laid out back
//!   to back so that, once each is sealed in place, the lot is one UDP GSO send.
//! - RX ([`Coalescer`]): decrypted consecutive TCP segments of one flow are merged back into one
//!   super-packet (GRO) and written to the TUN with a GSO vnet header, so the kernel's stack walks
//!   one packet instead of forty.
//! - [`finish_checksum`]: a non-GSO packet read with `NEEDS_CSUM` (the kernel left the checksum to
//!   us, as to a NIC) gets it completed before it leaves the host.
//!
//! Pure functions on byte slices: no I/O, no allocation, no `unsafe`, and no panic on any input.
//! The bytes come from the TUN device and from decrypted datagrams, so the vnet header is never
//! trusted on its own: the IP and TCP headers are parsed and must agree with it.

use core::ops::Range;

pub use crate::net::vnet::{
    GSO_ECN, GSO_NONE, GSO_TCPV4, GSO_TCPV6, GSO_UDP, GSO_UDP_L4, VIRTIO_NET_HDR_F_DATA_VALID,
    VIRTIO_NET_HDR_F_NEEDS_CSUM, VNET_HDR_LEN, VnetHdr,
};

const PROTO_TCP: u8 = 6;
const IPV4_MIN_HLEN: usize = 20;
const IPV6_HLEN: usize = 40;
const TCP_MIN_HLEN: usize = 20;
const TCP_MAX_HLEN: usize = 60;
/// Offset of the checksum field in the TCP header (`csum_offset` of a TCP packet).
pub const TCP_CSUM_OFFSET: u16 = 16;
const TCP_FIN: u8 = 0x01;
const TCP_PSH: u8 = 0x08;
const TCP_CWR: u8 = 0x80;
const TCP_ACK: u8 = 0x10;
/// Largest IP packet (IPv4 total length; we also cap IPv6 super-packets there).
const MAX_IP_LEN: usize = 65535;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OffloadError {
    /// Shorter than a header it must contain.
    Truncated,
    /// A GSO type or protocol we don't segment (UDP, IPv6 extension headers, ...).
    Unsupported,
    /// Lengths, offsets or fields that are inconsistent with each other or with the vnet header.
    BadHeader,
    /// The output buffer cannot hold the result.
    TooSmall,
}

pub use crate::net::checksum;

fn be16(b: &[u8], at: usize) -> Option<u16> {
    let w = b.get(at..at.checked_add(2)?)?;
    Some(u16::from_be_bytes([*w.first()?, *w.get(1)?]))
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    let w: [u8; 4] = b.get(at..at.checked_add(4)?)?.try_into().ok()?;
    Some(u32::from_be_bytes(w))
}

/// Writes `v` big-endian at `at`; a no-op out of bounds (callers have checked the lengths).
fn put16(b: &mut [u8], at: usize, v: u16) {
    if let Some(w) = at.checked_add(2).and_then(|end| b.get_mut(at..end)) {
        w.copy_from_slice(&v.to_be_bytes());
    }
}

fn put32(b: &mut [u8], at: usize, v: u32) {
    if let Some(w) = at.checked_add(4).and_then(|end| b.get_mut(at..end)) {
        w.copy_from_slice(&v.to_be_bytes());
    }
}

/// Completes a non-GSO packet's L4 checksum as a NIC would for `NEEDS_CSUM` (CHECKSUM_PARTIAL):
/// the field at `csum_start + csum_offset` holds the pseudo-header sum; the checksum is computed
/// over `packet[csum_start..]` with it included and stored there. Without `NEEDS_CSUM` this does
/// nothing. A result of zero is stored as 0xffff, as the kernel does (zero means "no checksum" for
/// UDP, and the two are equal in one's complement for everything else).
pub fn finish_checksum(hdr: &VnetHdr, packet: &mut [u8]) -> Result<(), OffloadError> {
    if hdr.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM == 0 {
        return Ok(());
    }
    let start = usize::from(hdr.csum_start);
    let at = start + usize::from(hdr.csum_offset);
    if at + 2 > packet.len() {
        return Err(OffloadError::BadHeader);
    }
    let data = packet.get(start..).ok_or(OffloadError::BadHeader)?;
    // The field's current value (the pseudo-header sum) is summed with the rest.
    let mut c = !checksum::sum(data);
    if c == 0 {
        c = 0xffff;
    }
    put16(packet, at, c);
    Ok(())
}

/// The IP layer of a packet, checked against its own length fields.
#[derive(Clone, Copy, Debug)]
struct IpInfo {
    v6: bool,
    /// IP header length (IPv4 IHL * 4, IPv6 40: extension headers are not walked).
    hlen: usize,
    /// Total length from the header (IPv4 total length, IPv6 40 + payload length), <= the slice.
    len: usize,
    /// IPv4 protocol / IPv6 next header.
    proto: u8,
    /// IPv4 MF set or a non-zero fragment offset.
    fragment: bool,
}

fn parse_ip(p: &[u8]) -> Option<IpInfo> {
    let first = *p.first()?;
    match first >> 4 {
        4 => {
            let hlen = usize::from(first & 0x0f) * 4;
            let len = usize::from(be16(p, 2)?);
            let frag = be16(p, 6)?;
            if hlen < IPV4_MIN_HLEN || len < hlen || len > p.len() {
                return None;
            }
            Some(IpInfo {
                v6: false,
                hlen,
                len,
                proto: *p.get(9)?,
                fragment: frag & 0x3fff != 0,
            })
        }
        6 => {
            let len = IPV6_HLEN + usize::from(be16(p, 4)?);
            if len > p.len() {
                return None;
            }
            Some(IpInfo {
                v6: true,
                hlen: IPV6_HLEN,
                len,
                proto: *p.get(6)?,
                fragment: false,
            })
        }
        _ => None,
    }
}

/// TCP header length from the data offset of the header at `p[ip_hlen..]`, checked to fit.
fn tcp_hlen(p: &[u8], ip_hlen: usize) -> Option<usize> {
    let hlen = usize::from(*p.get(ip_hlen + 12)? >> 4) * 4;
    if !(TCP_MIN_HLEN..=TCP_MAX_HLEN).contains(&hlen) || ip_hlen + hlen > p.len() {
        return None;
    }
    Some(hlen)
}

/// Folded pseudo-header sum for TCP over `l4_len` bytes, addresses taken from the IP header.
fn tcp_pseudo(p: &[u8], v6: bool, l4_len: usize) -> Option<u16> {
    if v6 {
        let src: &[u8; 16] = p.get(8..24)?.try_into().ok()?;
        let dst: &[u8; 16] = p.get(24..40)?.try_into().ok()?;
        Some(checksum::pseudo_header_v6(
            src,
            dst,
            PROTO_TCP,
            u32::try_from(l4_len).ok()?,
        ))
    } else {
        let src: &[u8; 4] = p.get(12..16)?.try_into().ok()?;
        let dst: &[u8; 4] = p.get(16..20)?.try_into().ok()?;
        Some(checksum::pseudo_header_v4(
            src,
            dst,
            PROTO_TCP,
            u16::try_from(l4_len).ok()?,
        ))
    }
}

/// Where [`segment`] put the segments: slot `i` starts at `out[i * stride]`, its IP packet at
/// `out[i * stride + headroom..][..len_of(i)]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Segments {
    pub count: usize,
    /// `headroom + seg_len + tailroom`: the UDP GSO segment size once sealed.
    pub stride: usize,
    /// IP length of every segment but the last: IP + TCP header + gso_size.
    pub seg_len: usize,
    /// IP length of the last segment (`<= seg_len`).
    pub last_len: usize,
}

// Arithmetic below saturates: the fields are public, and a hand-made `Segments` must not panic.
impl Segments {
    /// IP length of segment `i` (0 past the end).
    pub fn len_of(&self, i: usize) -> usize {
        if i >= self.count {
            0
        } else if i + 1 == self.count {
            self.last_len
        } else {
            self.seg_len
        }
    }

    /// Length of the whole sealed buffer, `out[..total_len()]`: every slot with its headroom and
    /// tailroom, the last one cut after its tailroom. This is the one UDP GSO send.
    pub fn total_len(&self) -> usize {
        self.span(0, self.count).len()
    }

    /// Sum of the IP lengths of all segments.
    pub fn ip_bytes(&self) -> usize {
        if self.count == 0 {
            return 0;
        }
        (self.count - 1)
            .saturating_mul(self.seg_len)
            .saturating_add(self.last_len)
    }

    /// Byte range of `out` holding the sealed segments `first..first + n` (clamped to the count):
    /// for a caller that must split the send, e.g. at the kernel's limit of 64 segments per UDP GSO
    /// send or of 64 KiB per datagram.
    pub fn span(&self, first: usize, n: usize) -> Range<usize> {
        let first = first.min(self.count);
        let end = first.saturating_add(n).min(self.count);
        let at = |i: usize| i.saturating_mul(self.stride);
        if end == first {
            return at(first)..at(first);
        }
        let room = self.stride.saturating_sub(self.seg_len);
        at(first)
            ..at(end - 1)
                .saturating_add(room)
                .saturating_add(self.len_of(end - 1))
    }
}

/// TX segmentation (software TSO) of a TCP super-packet, see the module docs and [`Segments`].
///
/// `packet` is the IP packet that followed the vnet header; `gso_type` must be TCPV4 or TCPV6
/// (the ECN bit allowed) and match the IP version. Per segment: IPv4 total length, ID (first + i)
/// and header checksum; IPv6 payload length; TCP sequence number (+ i * gso_size); FIN and PSH
/// only on the last segment, CWR only on the first; a full TCP checksum.
///
/// The vnet header is checked against the parsed headers: with `NEEDS_CSUM`, `csum_start` must be
/// the IP header length and `csum_offset` 16; `hdr_len` must cover the IP + TCP headers and not
/// exceed the packet (it may be larger than the headers: the kernel puts the skb's linear length
/// there, e.g. for forwarded packets, which is why wireguard-go does not trust it either).
/// Bytes after the IP length are ignored.
pub fn segment(
    hdr: &VnetHdr,
    packet: &[u8],
    out: &mut [u8],
    headroom: usize,
    tailroom: usize,
) -> Result<Segments, OffloadError> {
    use OffloadError::*;
    let want_v6 = match hdr.gso_type & !GSO_ECN {
        GSO_TCPV4 => false,
        GSO_TCPV6 => true,
        _ => return Err(Unsupported),
    };
    let ip = parse_ip(packet).ok_or(if packet.len() < IPV4_MIN_HLEN {
        Truncated
    } else {
        BadHeader
    })?;
    if ip.v6 != want_v6 || ip.fragment {
        return Err(BadHeader);
    }
    if ip.proto != PROTO_TCP {
        // Includes IPv6 extension headers, which we do not walk.
        return Err(Unsupported);
    }
    let packet = packet.get(..ip.len).ok_or(BadHeader)?;
    let hdrs = ip.hlen + tcp_hlen(packet, ip.hlen).ok_or(BadHeader)?;
    if hdr.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM != 0
        && (usize::from(hdr.csum_start) != ip.hlen || hdr.csum_offset != TCP_CSUM_OFFSET)
    {
        return Err(BadHeader);
    }
    let hdr_len = usize::from(hdr.hdr_len);
    if hdr_len < hdrs || hdr_len > packet.len() {
        return Err(BadHeader);
    }
    let gso = usize::from(hdr.gso_size);
    if gso == 0 {
        return Err(BadHeader);
    }
    let payload = packet.len() - hdrs;
    let count = payload.div_ceil(gso).max(1);
    let seg_len = hdrs + gso;
    let last_len = hdrs + (payload - (count - 1) * gso);
    let stride = headroom
        .checked_add(seg_len)
        .and_then(|s| s.checked_add(tailroom))
        .ok_or(TooSmall)?;
    let need = (count - 1)
        .checked_mul(stride)
        .and_then(|s| s.checked_add(headroom + last_len))
        .and_then(|s| s.checked_add(tailroom))
        .ok_or(TooSmall)?;
    if out.len() < need {
        return Err(TooSmall);
    }
    let (head, body) = packet.split_at_checked(hdrs).ok_or(BadHeader)?;
    let first_id = be16(head, 4).ok_or(BadHeader)?;
    let first_seq = be32(head, ip.hlen + 4).ok_or(BadHeader)?;
    let tcp_flags = *head.get(ip.hlen + 13).ok_or(BadHeader)?;
    for (i, chunk) in body
        .chunks(gso)
        .chain(body.is_empty().then_some(body))
        .enumerate()
    {
        let last = i + 1 == count;
        let len = hdrs + chunk.len();
        let start = i * stride + headroom;
        let seg = out.get_mut(start..start + len).ok_or(TooSmall)?;
        let (h, p) = seg.split_at_mut_checked(hdrs).ok_or(TooSmall)?;
        h.copy_from_slice(head);
        p.copy_from_slice(chunk);
        // Length fields fit 16 bits: a segment is never longer than the IP packet it came from.
        if ip.v6 {
            let payload_len = u16::try_from(len - IPV6_HLEN).map_err(|_| BadHeader)?;
            put16(seg, 4, payload_len);
        } else {
            put16(seg, 2, u16::try_from(len).map_err(|_| BadHeader)?);
            put16(seg, 4, first_id.wrapping_add(i as u16));
            put16(seg, 10, 0);
            let c = checksum::checksum(0, seg.get(..ip.hlen).ok_or(BadHeader)?);
            put16(seg, 10, c);
        }
        let t = ip.hlen;
        put32(seg, t + 4, first_seq.wrapping_add((i * gso) as u32));
        let mut flags = tcp_flags;
        if !last {
            flags &= !(TCP_FIN | TCP_PSH);
        }
        if i > 0 {
            flags &= !TCP_CWR;
        }
        if let Some(f) = seg.get_mut(t + 13) {
            *f = flags;
        }
        put16(seg, t + 16, 0);
        let pseudo = tcp_pseudo(seg, ip.v6, len - t).ok_or(BadHeader)?;
        let c = checksum::checksum(pseudo, seg.get(t..).ok_or(BadHeader)?);
        put16(seg, t + 16, c);
    }
    Ok(Segments {
        count,
        stride,
        seg_len,
        last_len,
    })
}

/// A TCP segment that may take part in coalescing (see [`Coalescer::push`]).
#[derive(Clone, Copy, Debug)]
struct TcpSeg {
    v6: bool,
    ip_hlen: usize,
    /// IP + TCP header length.
    hdrs: usize,
    seq: u32,
    flags: u8,
    payload: usize,
}

/// Parses `p` (exactly one IP packet) as a TCP segment that may be coalesced: IPv4 without options,
/// with DF and not a fragment, or IPv6 without extension headers; flags ACK, or ACK|PSH; a
/// non-empty payload; and a TCP checksum that verifies. The kernel does not verify the checksum
/// of a packet we write with `NEEDS_CSUM` (it is CHECKSUM_PARTIAL, like a locally built one), so a
/// segment corrupted before the peer sealed it must not hide in a super-packet: it is left alone
/// and the kernel checks it.
fn coalescable(p: &[u8]) -> Option<TcpSeg> {
    let ip = parse_ip(p)?;
    if ip.len != p.len() || ip.proto != PROTO_TCP {
        return None;
    }
    if !ip.v6 {
        // IHL 5 (no options) and DF without MF or offset.
        if ip.hlen != IPV4_MIN_HLEN || be16(p, 6)? != 0x4000 {
            return None;
        }
    }
    let hdrs = ip.hlen + tcp_hlen(p, ip.hlen)?;
    let flags = *p.get(ip.hlen + 13)?;
    if flags & !TCP_PSH != TCP_ACK || p.len() == hdrs {
        return None;
    }
    let pseudo = tcp_pseudo(p, ip.v6, p.len() - ip.hlen)?;
    if checksum::add(pseudo, checksum::sum(p.get(ip.hlen..)?)) != 0xffff {
        return None;
    }
    Some(TcpSeg {
        v6: ip.v6,
        ip_hlen: ip.hlen,
        hdrs,
        seq: be32(p, ip.hlen + 4)?,
        flags,
        payload: p.len() - hdrs,
    })
}

/// The flow being coalesced: what the next segment must match.
#[derive(Clone, Copy, Debug)]
struct Flow {
    v6: bool,
    ip_hlen: usize,
    hdrs: usize,
    gso_size: usize,
    next_seq: u32,
    /// False once a short or PSH segment was added: nothing may follow it.
    open: bool,
    /// The last segment had PSH (set on the super-packet by `finish`).
    psh: bool,
}

/// RX coalescing (software GRO) into a caller's buffer: `out[..VNET_HDR_LEN]` receives the vnet
/// header and the super-packet follows. See [`push`](Self::push) and [`finish`](Self::finish).
pub struct Coalescer<'a> {
    out: &'a mut [u8],
    /// IP bytes in `out` after the vnet header.
    len: usize,
    segments: usize,
    /// `Some` while further segments may be appended (the first packet was a coalescable TCP
    /// segment); stays `Some` after the flow closes, for `finish`.
    flow: Option<Flow>,
}

impl<'a> Coalescer<'a> {
    pub fn new(out: &'a mut [u8]) -> Self {
        Coalescer {
            out,
            len: 0,
            segments: 0,
            flow: None,
        }
    }

    /// Pushes a decrypted IP packet (exactly one: its length fields must match the slice). Copies
    /// it in and returns true if it continues the current super-packet: same IP version,
    /// addresses, TOS/traffic class, flow label, TTL/hop limit, ports, ack, window, TCP header
    /// length and option bytes; IPv4 without options and with DF / IPv6 without extension headers;
    /// flags only ACK (PSH allowed, then it is the last); `seq` == previous seq + previous
    /// payload; every segment but the last exactly gso_size of payload (the first sets it); a
    /// non-empty payload with a valid TCP checksum; room in `out`, and at most 65535 bytes of IP
    /// packet. An empty builder takes any valid IPv4/IPv6 packet that fits, TCP or not.
    ///
    /// Returns false and copies nothing otherwise: then `finish`, write, `reset` and push again.
    /// A packet refused by an *empty* builder is not a valid IP packet or does not fit `out`:
    /// drop it.
    pub fn push(&mut self, packet: &[u8]) -> bool {
        if self.segments == 0 {
            return self.start(packet);
        }
        let Some(flow) = self.flow.filter(|f| f.open) else {
            return false;
        };
        let Some(seg) = coalescable(packet) else {
            return false;
        };
        if seg.v6 != flow.v6
            || seg.hdrs != flow.hdrs
            || seg.seq != flow.next_seq
            || seg.payload > flow.gso_size
        {
            return false;
        }
        let new_len = self.len + seg.payload;
        if new_len > MAX_IP_LEN || VNET_HDR_LEN + new_len > self.out.len() {
            return false;
        }
        let Some(first) = self.out.get(VNET_HDR_LEN..VNET_HDR_LEN + flow.hdrs) else {
            return false;
        };
        if !same_flow(first, packet, flow.v6, flow.ip_hlen, flow.hdrs) {
            return false;
        }
        let (Some(dst), Some(src)) = (
            self.out
                .get_mut(VNET_HDR_LEN + self.len..VNET_HDR_LEN + new_len),
            packet.get(seg.hdrs..),
        ) else {
            return false;
        };
        dst.copy_from_slice(src);
        self.len = new_len;
        self.segments += 1;
        let psh = seg.flags & TCP_PSH != 0;
        self.flow = Some(Flow {
            next_seq: seg.seq.wrapping_add(seg.payload as u32),
            open: !psh && seg.payload == flow.gso_size,
            psh,
            ..flow
        });
        true
    }

    fn start(&mut self, packet: &[u8]) -> bool {
        let valid = parse_ip(packet).is_some_and(|ip| ip.len == packet.len());
        let Some(dst) = self
            .out
            .get_mut(VNET_HDR_LEN..)
            .and_then(|o| o.get_mut(..packet.len()))
        else {
            return false;
        };
        if !valid {
            return false;
        }
        dst.copy_from_slice(packet);
        self.len = packet.len();
        self.segments = 1;
        self.flow = coalescable(packet).map(|seg| {
            let psh = seg.flags & TCP_PSH != 0;
            Flow {
                v6: seg.v6,
                ip_hlen: seg.ip_hlen,
                hdrs: seg.hdrs,
                gso_size: seg.payload,
                next_seq: seg.seq.wrapping_add(seg.payload as u32),
                open: !psh,
                psh,
            }
        });
        true
    }

    pub fn is_empty(&self) -> bool {
        self.segments == 0
    }

    /// Number of packets pushed since the last reset.
    pub fn segments(&self) -> usize {
        self.segments
    }

    /// Writes the vnet header and fixes up the super-packet; returns the number of bytes of `out`
    /// to write to the TUN (vnet header included), 0 when empty.
    ///
    /// One packet: a zero vnet header and the packet byte for byte as pushed. Several: GSO
    /// TCPV4/TCPV6 with gso_size and hdr_len, NEEDS_CSUM with csum_start = IP header length and
    /// csum_offset = 16, the TCP checksum field set to the folded pseudo-header sum over the new
    /// length (the kernel completes or verifies it, as for a NIC's CHECKSUM_PARTIAL), IPv4 total
    /// length and header checksum / IPv6 payload length, and PSH if the last segment had it.
    /// Call [`reset`](Self::reset) before pushing again.
    pub fn finish(&mut self) -> usize {
        if self.segments == 0 {
            return 0;
        }
        let flow = match self.flow {
            Some(flow) if self.segments > 1 => flow,
            _ => {
                if let Some(h) = self.out.get_mut(..VNET_HDR_LEN) {
                    h.copy_from_slice(&VnetHdr::default().encode());
                }
                return VNET_HDR_LEN + self.len;
            }
        };
        // All fit 16 bits: `push` keeps len <= 65535 and headers are at most 100 bytes.
        let hdr = VnetHdr {
            flags: VIRTIO_NET_HDR_F_NEEDS_CSUM,
            gso_type: if flow.v6 { GSO_TCPV6 } else { GSO_TCPV4 },
            hdr_len: flow.hdrs as u16,
            gso_size: flow.gso_size as u16,
            csum_start: flow.ip_hlen as u16,
            csum_offset: TCP_CSUM_OFFSET,
        };
        let len = self.len;
        let Some((vnet, p)) = self.out.split_at_mut_checked(VNET_HDR_LEN) else {
            return 0;
        };
        vnet.copy_from_slice(&hdr.encode());
        let t = flow.ip_hlen;
        if flow.v6 {
            put16(p, 4, (len - IPV6_HLEN) as u16);
        } else {
            put16(p, 2, len as u16);
            put16(p, 10, 0);
            let c = checksum::checksum(0, p.get(..t).unwrap_or_default());
            put16(p, 10, c);
        }
        if flow.psh {
            if let Some(f) = p.get_mut(t + 13) {
                *f |= TCP_PSH;
            }
        }
        let pseudo = tcp_pseudo(p, flow.v6, len - t).unwrap_or(0);
        put16(p, t + 16, pseudo);
        VNET_HDR_LEN + len
    }

    /// Empties the builder for the next super-packet.
    pub fn reset(&mut self) {
        self.len = 0;
        self.segments = 0;
        self.flow = None;
    }
}

/// Whether `p`'s headers match the first segment's (`first`, `hdrs` bytes) on every field that
/// must be equal for the segments to be one stream: everything but the lengths, IPv4 ID and
/// checksums, TCP sequence number, flags and checksum. TOS and TTL (traffic class, flow label and
/// hop limit) must match as in the kernel's GRO, so no ECN CE mark is lost; the window too, so
/// the merged packet carries the current one.
fn same_flow(first: &[u8], p: &[u8], v6: bool, ip_hlen: usize, hdrs: usize) -> bool {
    let eq = |r: Range<usize>| match (first.get(r.clone()), p.get(r)) {
        (Some(a), Some(b)) => a == b,
        _ => false,
    };
    let ip_same = if v6 {
        // Version, traffic class, flow label; next header, hop limit, addresses.
        eq(0..4) && eq(6..40)
    } else {
        // Version/IHL, TOS; TTL, protocol; addresses.
        eq(0..2) && eq(8..10) && eq(12..20)
    };
    let t = ip_hlen;
    // Ports; ack, data offset; window, urgent pointer, options.
    ip_same && eq(t..t + 4) && eq(t + 8..t + 13) && eq(t + 14..t + 16) && eq(t + 18..hdrs)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reference checksum: big-endian words one at a time, folded at the end.
    fn naive_sum(data: &[u8]) -> u16 {
        let mut s: u64 = 0;
        for (i, b) in data.iter().enumerate() {
            s += if i % 2 == 0 {
                u64::from(*b) << 8
            } else {
                u64::from(*b)
            };
        }
        while s > 0xffff {
            s = (s & 0xffff) + (s >> 16);
        }
        s as u16
    }

    /// True if a checksummed region (the field included) sums to 0xffff.
    fn verifies(initial: u16, data: &[u8]) -> bool {
        let mut s = u64::from(initial) + u64::from(naive_sum(data));
        while s > 0xffff {
            s = (s & 0xffff) + (s >> 16);
        }
        s == 0xffff
    }

    fn naive_pseudo(p: &[u8], v6: bool, l4_len: usize) -> u16 {
        let mut b = Vec::new();
        if v6 {
            b.extend_from_slice(&p[8..40]);
            b.extend_from_slice(&(l4_len as u32).to_be_bytes());
            b.extend_from_slice(&[0, 0, 0, PROTO_TCP]);
        } else {
            b.extend_from_slice(&p[12..20]);
            b.extend_from_slice(&[0, PROTO_TCP]);
            b.extend_from_slice(&(l4_len as u16).to_be_bytes());
        }
        naive_sum(&b)
    }

    /// Checks a TCP/IP packet's IP header checksum (v4) and TCP checksum independently.
    fn check_packet(p: &[u8]) -> (bool, usize) {
        let v6 = p[0] >> 4 == 6;
        let ihl = if v6 { 40 } else { usize::from(p[0] & 15) * 4 };
        let len = if v6 {
            40 + usize::from(u16::from_be_bytes([p[4], p[5]]))
        } else {
            usize::from(u16::from_be_bytes([p[2], p[3]]))
        };
        assert_eq!(len, p.len(), "IP length field");
        if !v6 {
            assert!(verifies(0, &p[..ihl]), "IPv4 header checksum");
        }
        (verifies(naive_pseudo(p, v6, len - ihl), &p[ihl..]), ihl)
    }

    #[derive(Clone)]
    struct Tcp {
        v6: bool,
        ip_opts: usize,
        tcp_opts: Vec<u8>,
        seq: u32,
        ack: u32,
        flags: u8,
        window: u16,
        id: u16,
        df: bool,
        src_port: u16,
    }

    impl Default for Tcp {
        fn default() -> Self {
            Tcp {
                v6: false,
                ip_opts: 0,
                tcp_opts: Vec::new(),
                seq: 0xffff_f000,
                ack: 77,
                flags: TCP_ACK,
                window: 500,
                id: 0xfffe,
                df: true,
                src_port: 4000,
            }
        }
    }

    /// Timestamp option (NOP NOP TS), 12 bytes.
    fn ts_opts() -> Vec<u8> {
        vec![1, 1, 8, 10, 0, 0, 1, 2, 0, 0, 3, 4]
    }

    /// Builds a TCP/IP packet with correct lengths and checksums.
    fn build(t: &Tcp, payload: &[u8]) -> Vec<u8> {
        let ihl = if t.v6 { 40 } else { 20 + t.ip_opts };
        let thl = 20 + t.tcp_opts.len();
        let len = ihl + thl + payload.len();
        let mut p = vec![0u8; len];
        if t.v6 {
            p[0] = 0x60;
            p[1] = 0x01; // traffic class/flow label bits
            p[4..6].copy_from_slice(&((len - 40) as u16).to_be_bytes());
            p[6] = PROTO_TCP;
            p[7] = 64;
            p[8..24].copy_from_slice(&[0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
            p[24..40].copy_from_slice(&[0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]);
        } else {
            p[0] = 0x40 | (ihl / 4) as u8;
            p[2..4].copy_from_slice(&(len as u16).to_be_bytes());
            p[4..6].copy_from_slice(&t.id.to_be_bytes());
            if t.df {
                p[6] = 0x40;
            }
            p[8] = 64;
            p[9] = PROTO_TCP;
            p[12..16].copy_from_slice(&[10, 0, 0, 1]);
            p[16..20].copy_from_slice(&[10, 0, 0, 2]);
            for (i, b) in p[20..ihl].iter_mut().enumerate() {
                *b = if i == 0 { 1 } else { 0 }; // NOP then EOL padding
            }
            let c = !naive_sum(&p[..ihl]);
            p[10..12].copy_from_slice(&c.to_be_bytes());
        }
        let h = &mut p[ihl..];
        h[0..2].copy_from_slice(&t.src_port.to_be_bytes());
        h[2..4].copy_from_slice(&443u16.to_be_bytes());
        h[4..8].copy_from_slice(&t.seq.to_be_bytes());
        h[8..12].copy_from_slice(&t.ack.to_be_bytes());
        h[12] = ((thl / 4) as u8) << 4;
        h[13] = t.flags;
        h[14..16].copy_from_slice(&t.window.to_be_bytes());
        h[20..thl].copy_from_slice(&t.tcp_opts);
        h[thl..].copy_from_slice(payload);
        let c = !super::checksum::add(naive_pseudo(&p, t.v6, len - ihl), naive_sum(&p[ihl..]));
        p[ihl + 16..ihl + 18].copy_from_slice(&c.to_be_bytes());
        assert!(check_packet(&p).0);
        p
    }

    fn payload(n: usize) -> Vec<u8> {
        (0..n).map(|i| (i * 7 + i / 251) as u8).collect()
    }

    /// A super-packet as the kernel hands it over: full lengths, the TCP checksum field holding the
    /// pseudo-header sum, and the matching vnet header.
    fn super_packet(t: &Tcp, data: &[u8], gso: u16) -> (VnetHdr, Vec<u8>) {
        let mut p = build(t, data);
        let ihl = if t.v6 { 40 } else { 20 + t.ip_opts };
        let thl = 20 + t.tcp_opts.len();
        let ps = naive_pseudo(&p, t.v6, p.len() - ihl);
        p[ihl + 16..ihl + 18].copy_from_slice(&ps.to_be_bytes());
        let hdr = VnetHdr {
            flags: VIRTIO_NET_HDR_F_NEEDS_CSUM,
            gso_type: if t.v6 { GSO_TCPV6 } else { GSO_TCPV4 },
            hdr_len: (ihl + thl) as u16,
            gso_size: gso,
            csum_start: ihl as u16,
            csum_offset: 16,
        };
        (hdr, p)
    }

    const TCP_SYN: u8 = 0x02;
    const TCP_RST: u8 = 0x04;
    const TCP_URG: u8 = 0x20;

    const HEAD: usize = 16;
    const TAIL: usize = 16;

    fn seg_all(hdr: &VnetHdr, p: &[u8]) -> (Segments, Vec<u8>, Vec<Vec<u8>>) {
        let mut out = vec![0xaau8; 100_000];
        let s = segment(hdr, p, &mut out, HEAD, TAIL).unwrap();
        assert_eq!(s.stride, HEAD + s.seg_len + TAIL);
        let segs = (0..s.count)
            .map(|i| out[i * s.stride + HEAD..][..s.len_of(i)].to_vec())
            .collect();
        (s, out, segs)
    }

    #[test]
    fn vnet_hdr_roundtrip() {
        let h = VnetHdr {
            flags: 1,
            gso_type: GSO_TCPV6 | GSO_ECN,
            hdr_len: 0x1234,
            gso_size: 1380,
            csum_start: 40,
            csum_offset: 16,
        };
        let b = h.encode();
        assert_eq!(b[4..6], 1380u16.to_le_bytes());
        assert_eq!(VnetHdr::decode(&b), Some(h));
        assert_eq!(VnetHdr::decode(&b[..9]), None);
    }

    #[test]
    fn finish_checksum_completes_partial() {
        let t = Tcp::default();
        let good = build(&t, &payload(333));
        let (mut hdr, mut p) = super_packet(&t, &payload(333), 1000);
        hdr.gso_type = GSO_NONE;
        finish_checksum(&hdr, &mut p).unwrap();
        assert_eq!(p, good);
        // Without NEEDS_CSUM nothing changes.
        let before = p.clone();
        finish_checksum(&VnetHdr::default(), &mut p).unwrap();
        assert_eq!(p, before);
        hdr.csum_offset = 400;
        assert_eq!(finish_checksum(&hdr, &mut p), Err(OffloadError::BadHeader));
        hdr.csum_start = u16::MAX;
        hdr.csum_offset = u16::MAX;
        assert_eq!(finish_checksum(&hdr, &mut p), Err(OffloadError::BadHeader));
    }

    fn check_segments(t: &Tcp, data: &[u8], gso: usize) {
        let (hdr, p) = super_packet(t, data, gso as u16);
        let (s, out, segs) = seg_all(&hdr, &p);
        let count = data.len().div_ceil(gso).max(1);
        assert_eq!(s.count, count);
        let hdrs = usize::from(hdr.hdr_len);
        assert_eq!(s.seg_len, hdrs + gso);
        assert_eq!(s.last_len, hdrs + data.len() - (count - 1) * gso);
        assert_eq!(s.ip_bytes(), hdrs * count + data.len());
        assert_eq!(
            s.total_len(),
            (count - 1) * s.stride + HEAD + s.last_len + TAIL
        );
        // Untouched outside the packets: head- and tailroom are the caller's.
        for i in 0..count {
            assert!(out[i * s.stride..][..HEAD].iter().all(|&b| b == 0xaa));
        }
        let ihl = usize::from(hdr.csum_start);
        let mut joined = Vec::new();
        for (i, seg) in segs.iter().enumerate() {
            let (ok, got_ihl) = check_packet(seg);
            assert!(ok, "TCP checksum of segment {i}");
            assert_eq!(got_ihl, ihl);
            // Headers equal to the original but for the fields we fix.
            let tcp = &seg[ihl..];
            let seq = u32::from_be_bytes(tcp[4..8].try_into().unwrap());
            assert_eq!(seq, t.seq.wrapping_add((i * gso) as u32));
            let last = i + 1 == count;
            let flags = tcp[13];
            let mut want = t.flags;
            if !last {
                want &= !(TCP_FIN | TCP_PSH);
            }
            if i > 0 {
                want &= !TCP_CWR;
            }
            assert_eq!(flags, want, "flags of segment {i}");
            if !t.v6 {
                let id = u16::from_be_bytes([seg[4], seg[5]]);
                assert_eq!(id, t.id.wrapping_add(i as u16));
                assert_eq!(seg[12..20], p[12..20]);
                assert_eq!(seg[20..ihl], p[20..ihl]);
            } else {
                assert_eq!(seg[..4], p[..4]);
                assert_eq!(seg[6..40], p[6..40]);
            }
            assert_eq!(tcp[..4], p[ihl..ihl + 4]);
            assert_eq!(tcp[8..13], p[ihl + 8..ihl + 13]);
            assert_eq!(tcp[14..16], p[ihl + 14..ihl + 16]);
            assert_eq!(tcp[20..hdrs - ihl], p[ihl + 20..hdrs]);
            joined.extend_from_slice(&seg[hdrs..]);
        }
        assert_eq!(joined, data);
    }

    #[test]
    fn segment_v4_v6_with_and_without_options() {
        for v6 in [false, true] {
            for tcp_opts in [Vec::new(), ts_opts()] {
                let t = Tcp {
                    v6,
                    tcp_opts: tcp_opts.clone(),
                    ..Tcp::default()
                };
                check_segments(&t, &payload(5000), 1000); // exactly divides
                check_segments(&t, &payload(5001), 1000); // last has one byte
                check_segments(&t, &payload(65535 - 80 - 12), 1368); // near the maximum
                check_segments(&t, &payload(999), 1000); // one short segment
                check_segments(&t, &payload(0), 1000); // a bare header
            }
        }
        check_segments(
            &Tcp {
                ip_opts: 8,
                ..Tcp::default()
            },
            &payload(3000),
            1400,
        );
    }

    #[test]
    fn segment_flags_placement() {
        let all = TCP_FIN | TCP_PSH | TCP_ACK | TCP_CWR;
        for v6 in [false, true] {
            let t = Tcp {
                v6,
                flags: all,
                ..Tcp::default()
            };
            check_segments(&t, &payload(4500), 1000);
            let (mut hdr, p) = super_packet(&t, &payload(4500), 1000);
            hdr.gso_type |= GSO_ECN;
            let (_, _, segs) = seg_all(&hdr, &p);
            let ihl = usize::from(hdr.csum_start);
            assert_eq!(segs[0][ihl + 13], TCP_ACK | TCP_CWR);
            assert_eq!(segs[1][ihl + 13], TCP_ACK);
            assert_eq!(segs[4][ihl + 13], TCP_ACK | TCP_FIN | TCP_PSH);
        }
    }

    #[test]
    fn segment_trusts_hdr_len_only_as_a_bound() {
        // The kernel may report the skb's linear length in hdr_len (forwarded packets).
        let t = Tcp::default();
        let (mut hdr, p) = super_packet(&t, &payload(3000), 1000);
        hdr.hdr_len = 1500;
        assert_eq!(
            segment(&hdr, &p, &mut [0u8; 4000], 0, 0).map(|s| s.count),
            Ok(3)
        );
        // Without NEEDS_CSUM the csum fields are ignored.
        hdr.flags = 0;
        hdr.csum_start = 0;
        assert!(segment(&hdr, &p, &mut [0u8; 4000], 0, 0).is_ok());
    }

    #[test]
    fn segment_refuses() {
        use OffloadError::*;
        let t = Tcp {
            tcp_opts: ts_opts(),
            ..Tcp::default()
        };
        let (hdr, p) = super_packet(&t, &payload(3000), 1000);
        let mut out = vec![0u8; 10_000];
        let mut run = |h: VnetHdr, p: &[u8]| segment(&h, p, &mut out, HEAD, TAIL);
        assert!(run(hdr, &p).is_ok());
        for (gso_type, e) in [
            (GSO_NONE, Unsupported),
            (GSO_UDP, Unsupported),
            (GSO_UDP_L4, Unsupported),
            (GSO_TCPV6, BadHeader),
        ] {
            assert_eq!(run(VnetHdr { gso_type, ..hdr }, &p), Err(e), "{gso_type}");
        }
        assert_eq!(run(VnetHdr { gso_size: 0, ..hdr }, &p), Err(BadHeader));
        assert_eq!(
            run(
                VnetHdr {
                    hdr_len: hdr.hdr_len - 1,
                    ..hdr
                },
                &p
            ),
            Err(BadHeader)
        );
        assert_eq!(run(VnetHdr { hdr_len: 20, ..hdr }, &p), Err(BadHeader));
        assert_eq!(
            run(
                VnetHdr {
                    hdr_len: 4000,
                    ..hdr
                },
                &p
            ),
            Err(BadHeader)
        );
        assert_eq!(
            run(
                VnetHdr {
                    csum_start: 24,
                    ..hdr
                },
                &p
            ),
            Err(BadHeader)
        );
        assert_eq!(
            run(
                VnetHdr {
                    csum_offset: 6,
                    ..hdr
                },
                &p
            ),
            Err(BadHeader)
        );
        assert_eq!(run(hdr, &p[..19]), Err(Truncated));
        // IP length larger than what was read.
        assert_eq!(run(hdr, &p[..p.len() - 1]), Err(BadHeader));
        // Bad TCP data offset.
        let mut q = p.clone();
        q[20 + 12] = 0x40;
        assert_eq!(run(hdr, &q), Err(BadHeader));
        // Not TCP.
        let mut q = p.clone();
        q[9] = 17;
        assert_eq!(run(hdr, &q), Err(Unsupported));
        // A fragment.
        let mut q = p.clone();
        q[6] = 0x20;
        assert_eq!(run(hdr, &q), Err(BadHeader));
        // IPv6 with an extension header.
        let t6 = Tcp {
            v6: true,
            ..Tcp::default()
        };
        let (hdr6, mut p6) = super_packet(&t6, &payload(3000), 1000);
        assert!(run(hdr6, &p6).is_ok());
        p6[6] = 0; // hop-by-hop
        assert_eq!(run(hdr6, &p6), Err(Unsupported));
        // Output too small, by one byte.
        let need = 2 * (HEAD + 1000 + 52 + TAIL) + HEAD + 1052 + TAIL;
        let mut out = vec![0u8; need];
        assert!(segment(&hdr, &p, &mut out, HEAD, TAIL).is_ok());
        assert_eq!(
            segment(&hdr, &p, &mut out[..need - 1], HEAD, TAIL),
            Err(TooSmall)
        );
        assert_eq!(segment(&hdr, &p, &mut out, usize::MAX, 1), Err(TooSmall));
    }

    #[test]
    fn segments_span() {
        let s = Segments {
            count: 3,
            stride: 132,
            seg_len: 100,
            last_len: 50,
        };
        assert_eq!(s.span(0, 3), 0..2 * 132 + 32 + 50);
        assert_eq!(s.total_len(), 2 * 132 + 82);
        assert_eq!(s.span(0, 2), 0..132 + 132);
        assert_eq!(s.span(2, 5), 264..264 + 82);
        assert_eq!(s.span(3, 1), 396..396);
        assert_eq!(s.len_of(3), 0);
        assert_eq!(s.len_of(usize::MAX), 0);
        let odd = Segments {
            count: usize::MAX,
            stride: 1,
            seg_len: 9,
            last_len: usize::MAX,
        };
        let _ = (odd.total_len(), odd.ip_bytes(), odd.span(usize::MAX - 1, 9));
    }

    /// Segments a super-packet and coalesces the segments back; the result must equal the
    /// original (headers, payload, lengths) but for the checksum field and PSH placement.
    fn roundtrip(t: &Tcp, data: &[u8], gso: usize) {
        let (hdr, p) = super_packet(t, data, gso as u16);
        let (s, _, segs) = seg_all(&hdr, &p);
        let mut buf = vec![0u8; 70_000];
        let mut c = Coalescer::new(&mut buf);
        for seg in &segs {
            assert!(c.push(seg));
        }
        assert_eq!(c.segments(), s.count);
        let n = c.finish();
        let got = VnetHdr::decode(&buf).unwrap();
        let sp = &buf[VNET_HDR_LEN..n];
        if s.count == 1 {
            assert_eq!(got, VnetHdr::default());
            assert_eq!(sp, &segs[0][..]);
            return;
        }
        assert_eq!(got, hdr, "vnet header");
        assert_eq!(sp.len(), p.len());
        let ihl = usize::from(hdr.csum_start);
        // Everything equal but the IPv4 ID/checksum (the first segment's ID), TCP checksum.
        assert_eq!(
            sp[ihl + 16..ihl + 18],
            p[ihl + 16..ihl + 18],
            "pseudo-header sum"
        );
        assert_eq!(sp, &p[..], "super-packet");
        assert!(check_packet_ip(sp));
    }

    fn check_packet_ip(p: &[u8]) -> bool {
        p[0] >> 4 == 6 || verifies(0, &p[..usize::from(p[0] & 15) * 4])
    }

    #[test]
    fn coalesce_roundtrip() {
        for v6 in [false, true] {
            for tcp_opts in [Vec::new(), ts_opts()] {
                for flags in [TCP_ACK, TCP_ACK | TCP_PSH] {
                    let t = Tcp {
                        v6,
                        tcp_opts: tcp_opts.clone(),
                        flags,
                        ..Tcp::default()
                    };
                    roundtrip(&t, &payload(5000), 1000);
                    roundtrip(&t, &payload(5001), 1000);
                    roundtrip(&t, &payload(65535 - 80 - 12), 1368);
                    roundtrip(&t, &payload(999), 1000);
                }
            }
        }
    }

    /// Pushes `pkts` into a fresh coalescer; returns how many were taken before the first refusal.
    fn taken(pkts: &[Vec<u8>]) -> usize {
        let mut buf = vec![0u8; 70_000];
        let mut c = Coalescer::new(&mut buf);
        pkts.iter().take_while(|p| c.push(p)).count()
    }

    fn stream(t: &Tcp, sizes: &[usize]) -> Vec<Vec<u8>> {
        let mut seq = t.seq;
        sizes
            .iter()
            .map(|&n| {
                let p = build(&Tcp { seq, ..t.clone() }, &payload(n));
                seq = seq.wrapping_add(n as u32);
                p
            })
            .collect()
    }

    #[test]
    fn coalesce_refuses() {
        for v6 in [false, true] {
            let t = Tcp {
                v6,
                tcp_opts: ts_opts(),
                ..Tcp::default()
            };
            let ok = stream(&t, &[100, 100, 100]);
            assert_eq!(taken(&ok), 3);
            let ihl = if v6 { 40 } else { 20 };
            // Rebuild the third packet with a change; it must be refused.
            let third = |f: &dyn Fn(&mut Tcp)| {
                let mut u = Tcp {
                    seq: t.seq.wrapping_add(200),
                    ..t.clone()
                };
                f(&mut u);
                let mut v = ok.clone();
                v[2] = build(&u, &payload(100));
                taken(&v)
            };
            assert_eq!(third(&|_| {}), 3);
            assert_eq!(third(&|u| u.src_port = 4001), 2, "other flow");
            assert_eq!(third(&|u| u.seq += 1), 2, "seq gap");
            assert_eq!(third(&|u| u.seq -= 100), 2, "retransmission");
            assert_eq!(third(&|u| u.ack += 1), 2, "ack differs");
            assert_eq!(third(&|u| u.window += 1), 2, "window differs");
            assert_eq!(third(&|u| u.tcp_opts[11] ^= 1), 2, "options differ");
            assert_eq!(
                third(&|u| u.tcp_opts = Vec::new()),
                2,
                "header length differs"
            );
            assert_eq!(third(&|u| u.v6 = !v6), 2, "IP version differs");
            for f in [TCP_SYN, TCP_FIN, TCP_RST, TCP_URG, TCP_CWR, 0] {
                assert_eq!(
                    third(&|u| u.flags = TCP_ACK | f),
                    2 + usize::from(f == 0),
                    "{f}"
                );
            }
            assert_eq!(third(&|u| u.flags = TCP_PSH), 2, "PSH without ACK");
            // PSH is allowed and closes the super-packet.
            let mut v = stream(
                &Tcp {
                    flags: TCP_ACK | TCP_PSH,
                    ..t.clone()
                },
                &[100],
            );
            assert_eq!(taken(&[ok[0].clone(), v.remove(0), ok[2].clone()]), 1);
            let pshed = {
                let mut u = Tcp {
                    seq: t.seq.wrapping_add(100),
                    ..t.clone()
                };
                u.flags |= TCP_PSH;
                build(&u, &payload(100))
            };
            let after = build(
                &Tcp {
                    seq: t.seq.wrapping_add(200),
                    ..t.clone()
                },
                &payload(100),
            );
            assert_eq!(
                taken(&[ok[0].clone(), pshed, after]),
                2,
                "nothing after PSH"
            );
            // A short segment ends it, a longer one is refused.
            assert_eq!(taken(&stream(&t, &[100, 50, 50])), 2);
            assert_eq!(taken(&stream(&t, &[100, 101])), 1);
            assert_eq!(taken(&stream(&t, &[100, 0])), 1, "empty payload");
            // A corrupted TCP checksum is not coalesced.
            let mut v = ok.clone();
            v[1][ihl + 16] ^= 1;
            assert_eq!(taken(&v), 1);
            // A packet whose IP length does not match the slice is not coalesced.
            let mut v = ok.clone();
            v[1].push(0);
            assert_eq!(taken(&v), 1);
            // Non-TCP after TCP.
            let mut v = ok.clone();
            v[1][if v6 { 6 } else { 9 }] = 17;
            assert_eq!(taken(&v), 1);
            // Different TOS / traffic class (an ECN CE mark must not be lost).
            let mut v = ok.clone();
            v[2][1] ^= 3;
            if !v6 {
                v[2][10..12].fill(0);
                let c = !naive_sum(&v[2][..20]);
                v[2][10..12].copy_from_slice(&c.to_be_bytes());
            }
            assert_eq!(taken(&v), 2);
        }
        // IPv4 with options or without DF starts a builder but takes nothing more.
        let t = Tcp {
            ip_opts: 4,
            ..Tcp::default()
        };
        assert_eq!(taken(&stream(&t, &[100, 100])), 1);
        let t = Tcp {
            df: false,
            ..Tcp::default()
        };
        assert_eq!(taken(&stream(&t, &[100, 100])), 1);
        // IPv6 extension header (next header not TCP): no coalescing.
        let mut v = stream(
            &Tcp {
                v6: true,
                ..Tcp::default()
            },
            &[100, 100],
        );
        v[0][6] = 0;
        v[1][6] = 0;
        assert_eq!(taken(&v), 1);
    }

    #[test]
    fn coalesce_limits() {
        let t = Tcp::default();
        let pkts = stream(&t, &[1000; 70]);
        // 65 packets of 1000 bytes + 40 header bytes: 65 * 1000 + 40 > 65535.
        assert_eq!(taken(&pkts), 65);
        // Room in `out`.
        let mut buf = vec![0u8; VNET_HDR_LEN + 1040 + 2500];
        let mut c = Coalescer::new(&mut buf);
        assert_eq!(pkts.iter().take_while(|p| c.push(p)).count(), 3);
        let n = c.finish();
        assert_eq!(n, VNET_HDR_LEN + 3040);
        // Empty builder: invalid packets and those that do not fit are refused.
        let mut small = [0u8; 100];
        let mut c = Coalescer::new(&mut small);
        assert!(c.is_empty());
        assert_eq!(c.finish(), 0);
        assert!(!c.push(&pkts[0]));
        assert!(!c.push(&[0x45, 0, 0, 20]));
        assert!(!c.push(&[]));
        let mut udp = build(&t, &payload(10));
        udp[9] = 17;
        assert!(c.push(&udp));
        assert!(!c.push(&udp), "non-TCP starts but never continues");
        assert_eq!(c.finish(), VNET_HDR_LEN + udp.len());
        c.reset();
        assert!(c.is_empty());
        assert!(c.push(&udp));
    }

    #[test]
    fn coalesce_single_packet_unchanged() {
        for t in [
            Tcp::default(),
            Tcp {
                v6: true,
                tcp_opts: ts_opts(),
                flags: TCP_ACK | TCP_PSH,
                ..Tcp::default()
            },
            Tcp {
                flags: TCP_SYN,
                ..Tcp::default()
            },
        ] {
            let p = build(&t, &payload(300));
            let mut buf = vec![0xeeu8; 2000];
            let mut c = Coalescer::new(&mut buf);
            assert!(c.push(&p));
            let n = c.finish();
            assert_eq!(n, VNET_HDR_LEN + p.len());
            assert_eq!(buf[..VNET_HDR_LEN], [0; VNET_HDR_LEN]);
            assert_eq!(buf[VNET_HDR_LEN..n], p[..]);
        }
    }

    #[test]
    fn coalesce_after_reset_starts_new_flow() {
        let t = Tcp::default();
        let pkts = stream(&t, &[500, 500, 500, 500]);
        let mut buf = vec![0u8; 70_000];
        let mut c = Coalescer::new(&mut buf);
        assert!(c.push(&pkts[0]) && c.push(&pkts[1]));
        let other = build(
            &Tcp {
                src_port: 9,
                ..t.clone()
            },
            &payload(500),
        );
        assert!(!c.push(&other));
        assert_eq!(c.finish(), VNET_HDR_LEN + 40 + 1000);
        c.reset();
        assert!(c.push(&other));
        assert!(!c.push(&pkts[2]));
    }
}
