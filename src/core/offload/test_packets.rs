//! Test packets for the offload tests: TCP/IP packets and super-packets built with an
//! independent naive checksum, and checks of what comes out.

use super::gso::{Segments, segment};
use crate::net::checksum;
use crate::net::ip::protocol::TCP;
use crate::net::tcp::flags::ACK;
use crate::net::vnet::{GSO_TCPV4, GSO_TCPV6, VIRTIO_NET_HDR_F_NEEDS_CSUM, VnetHdr};

/// Room left around each segment by `seg_all`, as the driver leaves it.
pub(crate) const HEAD: usize = 16;
pub(crate) const TAIL: usize = 16;

pub(crate) use crate::net::checksum::reference::{naive_sum, verifies};

pub(crate) fn naive_pseudo(p: &[u8], v6: bool, l4_len: usize) -> u16 {
    let mut b = Vec::new();
    if v6 {
        b.extend_from_slice(&p[8..40]);
        b.extend_from_slice(&(l4_len as u32).to_be_bytes());
        b.extend_from_slice(&[0, 0, 0, TCP]);
    } else {
        b.extend_from_slice(&p[12..20]);
        b.extend_from_slice(&[0, TCP]);
        b.extend_from_slice(&(l4_len as u16).to_be_bytes());
    }
    naive_sum(&b)
}

/// Checks a TCP/IP packet's IP header checksum (v4) and TCP checksum independently.
pub(crate) fn check_packet(p: &[u8]) -> (bool, usize) {
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
pub(crate) struct Tcp {
    pub(crate) v6: bool,
    pub(crate) ip_opts: usize,
    pub(crate) tcp_opts: Vec<u8>,
    pub(crate) seq: u32,
    pub(crate) ack: u32,
    pub(crate) flags: u8,
    pub(crate) window: u16,
    pub(crate) id: u16,
    pub(crate) df: bool,
    pub(crate) src_port: u16,
}

impl Default for Tcp {
    fn default() -> Self {
        Tcp {
            v6: false,
            ip_opts: 0,
            tcp_opts: Vec::new(),
            seq: 0xffff_f000,
            ack: 77,
            flags: ACK,
            window: 500,
            id: 0xfffe,
            df: true,
            src_port: 4000,
        }
    }
}

/// Timestamp option (NOP NOP TS), 12 bytes.
pub(crate) fn ts_opts() -> Vec<u8> {
    vec![1, 1, 8, 10, 0, 0, 1, 2, 0, 0, 3, 4]
}

/// Builds a TCP/IP packet with correct lengths and checksums.
pub(crate) fn build(t: &Tcp, payload: &[u8]) -> Vec<u8> {
    let ihl = if t.v6 { 40 } else { 20 + t.ip_opts };
    let thl = 20 + t.tcp_opts.len();
    let len = ihl + thl + payload.len();
    let mut p = vec![0u8; len];
    if t.v6 {
        p[0] = 0x60;
        p[1] = 0x01; // traffic class/flow label bits
        p[4..6].copy_from_slice(&((len - 40) as u16).to_be_bytes());
        p[6] = TCP;
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
        p[9] = TCP;
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
    let c = !checksum::add(naive_pseudo(&p, t.v6, len - ihl), naive_sum(&p[ihl..]));
    p[ihl + 16..ihl + 18].copy_from_slice(&c.to_be_bytes());
    assert!(check_packet(&p).0);
    p
}

pub(crate) fn payload(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 7 + i / 251) as u8).collect()
}

/// A super-packet as the kernel hands it over: full lengths, the TCP checksum field holding the
/// pseudo-header sum, and the matching vnet header.
pub(crate) fn super_packet(t: &Tcp, data: &[u8], gso: u16) -> (VnetHdr, Vec<u8>) {
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

pub(crate) fn seg_all(hdr: &VnetHdr, p: &[u8]) -> (Segments, Vec<u8>, Vec<Vec<u8>>) {
    let mut out = vec![0xaau8; 100_000];
    let s = segment(hdr, p, &mut out, HEAD, TAIL).unwrap();
    assert_eq!(s.stride, HEAD + s.seg_len + TAIL);
    let segs = (0..s.count)
        .map(|i| out[i * s.stride + HEAD..][..s.len_of(i)].to_vec())
        .collect();
    (s, out, segs)
}
