//! TX: software TSO. A TCP super-packet read from the TUN device is cut into MTU-sized segments,
//! each a complete IP packet with its own lengths and checksums, laid out back to back in an output
//! buffer so that, once each is sealed in place, the lot is one UDP GSO send. Also
//! [`finish_checksum`], the NIC's job for a lone packet read with `NEEDS_CSUM`.

use core::ops::Range;

use super::{OffloadError, TCP_CSUM_OFFSET};
use crate::net::vnet::{GSO_ECN, GSO_TCPV4, GSO_TCPV6, VIRTIO_NET_HDR_F_NEEDS_CSUM, VnetHdr};
use crate::net::{checksum, ip, ipv4, tcp};

/// Width of an L4 checksum field.
const CSUM_FIELD_LEN: usize = 2;

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
    if at + CSUM_FIELD_LEN > packet.len() {
        return Err(OffloadError::BadHeader);
    }
    let data = packet.get(start..).ok_or(OffloadError::BadHeader)?;
    // The field's current value (the pseudo-header sum) is summed with the rest.
    let mut c = !checksum::sum(data);
    if c == 0 {
        c = checksum::ALL_ONES;
    }
    if let Some(field) = packet.get_mut(at..at + CSUM_FIELD_LEN) {
        field.copy_from_slice(&c.to_be_bytes());
    }
    Ok(())
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
    #[cfg(test)]
    pub(crate) fn ip_bytes(&self) -> usize {
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
    pub(crate) fn span(&self, first: usize, n: usize) -> Range<usize> {
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
    let ip = ip::parse(packet).ok_or(if packet.len() < ipv4::HEADER_LEN {
        Truncated
    } else {
        BadHeader
    })?;
    if ip.is_v6() != want_v6 || ip.is_fragment() {
        return Err(BadHeader);
    }
    if ip.protocol() != ip::protocol::TCP {
        // Includes IPv6 extension headers, which we do not walk.
        return Err(Unsupported);
    }
    let ip_hlen = ip.header_len();
    let first_id = match &ip {
        ip::Packet::V4(v4) => v4.ident(),
        ip::Packet::V6(_) => 0,
    };
    // The IP packet, cut to its length.
    let packet = ip.into_inner();
    let tcp_hdr = packet
        .get(ip_hlen..)
        .and_then(|t| tcp::Packet::new_checked(t).ok())
        .ok_or(BadHeader)?;
    let hdrs = ip_hlen + tcp_hdr.header_len();
    if hdr.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM != 0
        && (usize::from(hdr.csum_start) != ip_hlen || hdr.csum_offset != TCP_CSUM_OFFSET)
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
    let first_seq = tcp_hdr.seq_number();
    let tcp_flags = tcp_hdr.flags();
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
        let mut ip = ip::Packet::new_checked(&mut *seg).map_err(|_| BadHeader)?;
        // Fits: a segment is never longer than the IP packet it came from.
        ip.set_total_len(len).map_err(|_| BadHeader)?;
        if let ip::Packet::V4(v4) = &mut ip {
            v4.set_ident(first_id.wrapping_add(i as u16));
        }
        ip.fill_checksum();
        let pseudo = ip
            .pseudo_header_sum(ip::protocol::TCP, len - ip_hlen)
            .ok_or(BadHeader)?;
        let mut flags = tcp_flags;
        if !last {
            flags &= !(tcp::flags::FIN | tcp::flags::PSH);
        }
        if i > 0 {
            flags &= !tcp::flags::CWR;
        }
        let mut t = seg
            .get_mut(ip_hlen..)
            .and_then(|t| tcp::Packet::new_checked(t).ok())
            .ok_or(BadHeader)?;
        t.set_seq_number(first_seq.wrapping_add((i * gso) as u32));
        t.set_flags(flags);
        t.fill_checksum(pseudo);
    }
    Ok(Segments {
        count,
        stride,
        seg_len,
        last_len,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::offload::test_packets::*;
    use crate::net::tcp::flags::{ACK, CWR, FIN, PSH};
    use crate::net::vnet::{GSO_NONE, GSO_UDP, GSO_UDP_L4};

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
                want &= !(FIN | PSH);
            }
            if i > 0 {
                want &= !CWR;
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
        let all = FIN | PSH | ACK | CWR;
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
            assert_eq!(segs[0][ihl + 13], ACK | CWR);
            assert_eq!(segs[1][ihl + 13], ACK);
            assert_eq!(segs[4][ihl + 13], ACK | FIN | PSH);
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
}
