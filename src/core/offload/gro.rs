//! RX: software GRO. Decrypted consecutive TCP segments of one flow are merged back into one
//! super-packet and written to the TUN device with a GSO vnet header, so the kernel's stack walks
//! one packet instead of forty. A packet that is not coalesced goes to the TUN device behind a
//! zero vnet header ([`write_plain_vnet_hdr`]).

use core::ops::Range;

use super::TCP_CSUM_OFFSET;
use crate::net::vnet::{GSO_TCPV4, GSO_TCPV6, VIRTIO_NET_HDR_F_NEEDS_CSUM, VNET_HDR_LEN, VnetHdr};
use crate::net::{ip, ipv4, ipv6, tcp};

/// Largest IP packet (IPv4 total length; we also cap IPv6 super-packets there).
const MAX_IP_LEN: usize = 65535;

/// Writes the vnet header of a packet that is not a super-packet and whose checksum is complete
/// (all zero) into the [`VNET_HDR_LEN`] bytes of `buf` before `packet_start`; returns where the
/// TUN write starts, `None` if there is no room in front of the packet.
pub(crate) fn write_plain_vnet_hdr(buf: &mut [u8], packet_start: usize) -> Option<usize> {
    let at = packet_start.checked_sub(VNET_HDR_LEN)?;
    buf.get_mut(at..packet_start)?
        .copy_from_slice(&VnetHdr::default().encode());
    Some(at)
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
    let ip = ip::parse(p)?;
    if ip.total_len() != p.len() || ip.protocol() != ip::protocol::TCP {
        return None;
    }
    if let ip::Packet::V4(v4) = &ip {
        // No options, and DF without MF or offset.
        if v4.header_len() != ipv4::HEADER_LEN || v4.flags_frag_off() != ipv4::FLAG_DF {
            return None;
        }
    }
    let ip_hlen = ip.header_len();
    let seg = tcp::Packet::new_checked(p.get(ip_hlen..)?).ok()?;
    let hdrs = ip_hlen + seg.header_len();
    let flags = seg.flags();
    if flags & !tcp::flags::PSH != tcp::flags::ACK || p.len() == hdrs {
        return None;
    }
    let pseudo = ip.pseudo_header_sum(ip::protocol::TCP, p.len() - ip_hlen)?;
    if !seg.verify_checksum(pseudo) {
        return None;
    }
    Some(TcpSeg {
        v6: ip.is_v6(),
        ip_hlen,
        hdrs,
        seq: seg.seq_number(),
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
        let psh = seg.flags & tcp::flags::PSH != 0;
        self.flow = Some(Flow {
            next_seq: seg.seq.wrapping_add(seg.payload as u32),
            open: !psh && seg.payload == flow.gso_size,
            psh,
            ..flow
        });
        true
    }

    fn start(&mut self, packet: &[u8]) -> bool {
        let valid = ip::parse(packet).is_some_and(|ip| ip.total_len() == packet.len());
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
            let psh = seg.flags & tcp::flags::PSH != 0;
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
                write_plain_vnet_hdr(self.out, VNET_HDR_LEN);
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
        // The headers are the first segment's, checked by `push`: the views cannot fail.
        let _ = fix_headers(p.get_mut(..len).unwrap_or_default(), &flow);
        VNET_HDR_LEN + len
    }

    /// Empties the builder for the next super-packet.
    #[cfg(test)]
    pub(crate) fn reset(&mut self) {
        self.len = 0;
        self.segments = 0;
        self.flow = None;
    }
}

/// The super-packet's headers for its new length: IPv4 total length and header checksum / IPv6
/// payload length, PSH if the last segment had it, and the TCP checksum field holding the
/// pseudo-header sum (the checksum is left to the kernel: `NEEDS_CSUM`).
fn fix_headers(p: &mut [u8], flow: &Flow) -> Option<()> {
    let len = p.len();
    let mut ip = ip::Packet::new_checked(&mut *p).ok()?;
    ip.set_total_len(len).ok()?;
    ip.fill_checksum();
    let pseudo = ip.pseudo_header_sum(ip::protocol::TCP, len - flow.ip_hlen)?;
    let mut seg = tcp::Packet::new_checked(p.get_mut(flow.ip_hlen..)?).ok()?;
    if flow.psh {
        seg.set_flags(seg.flags() | tcp::flags::PSH);
    }
    seg.set_checksum(pseudo);
    Some(())
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
        use ipv6::field::*;
        eq(VER_TC_FLOW) && eq(NEXT_HEADER..DST_ADDR.end)
    } else {
        use ipv4::field::*;
        eq(VER_IHL..DSCP_ECN + 1) && eq(TTL..PROTOCOL + 1) && eq(SRC_ADDR.start..DST_ADDR.end)
    };
    use tcp::field::*;
    let tcp_eq = |r: Range<usize>| eq(ip_hlen + r.start..ip_hlen + r.end);
    // Ack and data offset (with the reserved bits); window; urgent pointer and options.
    ip_same
        && tcp_eq(SRC_PORT.start..DST_PORT.end)
        && tcp_eq(ACK_NUM.start..DATA_OFF + 1)
        && tcp_eq(WINDOW)
        && eq(ip_hlen + URGENT.start..hdrs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::offload::test_packets::*;
    use crate::net::tcp::flags::{ACK, CWR, FIN, PSH, RST, SYN, URG};

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
                for flags in [ACK, ACK | PSH] {
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
            for f in [SYN, FIN, RST, URG, CWR, 0] {
                assert_eq!(
                    third(&|u| u.flags = ACK | f),
                    2 + usize::from(f == 0),
                    "{f}"
                );
            }
            assert_eq!(third(&|u| u.flags = PSH), 2, "PSH without ACK");
            // PSH is allowed and closes the super-packet.
            let mut v = stream(
                &Tcp {
                    flags: ACK | PSH,
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
                u.flags |= PSH;
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
                flags: ACK | PSH,
                ..Tcp::default()
            },
            Tcp {
                flags: SYN,
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

    #[test]
    fn plain_vnet_hdr_goes_in_front_of_the_packet() {
        let mut buf = [0xaau8; 30];
        assert_eq!(write_plain_vnet_hdr(&mut buf, 16), Some(6));
        assert_eq!(buf[6..16], [0; VNET_HDR_LEN]);
        assert!(buf[..6].iter().chain(&buf[16..]).all(|&b| b == 0xaa));
        assert_eq!(write_plain_vnet_hdr(&mut buf, VNET_HDR_LEN - 1), None);
        assert_eq!(write_plain_vnet_hdr(&mut buf, 31), None);
    }
}
