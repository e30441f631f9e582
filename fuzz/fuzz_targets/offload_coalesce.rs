//! RX coalescing on arbitrary packets, raw or TCP segments of a few flows built from the input.
//! Nothing may panic; `finish` stays inside `out`; a lone packet comes out byte for byte; a
//! super-packet has consistent lengths, a verifying IPv4 header checksum, a TCP checksum that
//! verifies once completed, and gso_size * (segments - 1) < payload <= gso_size * segments.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ringtun::core::offload::{Coalescer, finish_checksum};
use ringtun::net::checksum::reference::{fold, word_sum};
use ringtun::net::vnet::{
    GSO_TCPV4, GSO_TCPV6, VIRTIO_NET_HDR_F_NEEDS_CSUM, VNET_HDR_LEN, VnetHdr,
};

/// A TCP segment with valid checksums: flow (version, port), seq, payload length, flags, options.
fn tcp(v6: bool, port: u8, seq: u32, len: usize, flags: u8, opts: u8) -> Vec<u8> {
    let ihl = if v6 { 40 } else { 20 };
    let thl = 20 + 4 * usize::from(opts % 3);
    let total = ihl + thl + len;
    let mut p: Vec<u8> = (0..total).map(|i| (i as u8) ^ 0x5a).collect();
    if v6 {
        p[..8].copy_from_slice(&[0x60, 0, 0, 0, 0, 0, 6, 64]);
        p[4..6].copy_from_slice(&((total - 40) as u16).to_be_bytes());
    } else {
        p[..12].copy_from_slice(&[0x45, 0, 0, 0, 0, 0, 0x40, 0, 64, 6, 0, 0]);
        p[2..4].copy_from_slice(&(total as u16).to_be_bytes());
        let c = !(fold(word_sum(&p[..20])) as u16);
        p[10..12].copy_from_slice(&c.to_be_bytes());
    }
    let t = &mut p[ihl..];
    t[..4].copy_from_slice(&[0, port, 1, 187]);
    t[4..8].copy_from_slice(&seq.to_be_bytes());
    t[8..12].copy_from_slice(&[0, 0, 0, 9]);
    t[12] = ((thl / 4) as u8) << 4;
    t[13] = flags;
    t[14..20].copy_from_slice(&[1, 0, 0, 0, 0, 0]);
    let pseudo = if v6 {
        word_sum(&p[8..40])
    } else {
        word_sum(&p[12..20])
    } + 6
        + (total - ihl) as u64;
    let c = !(fold(pseudo + word_sum(&p[ihl..])) as u16);
    p[ihl + 16..ihl + 18].copy_from_slice(&c.to_be_bytes());
    p
}

fn check(out: &[u8], n: usize, segments: usize, pushed: &[u8]) {
    assert!(n <= out.len());
    if segments == 0 {
        assert_eq!(n, 0);
        return;
    }
    let hdr = VnetHdr::decode(out).unwrap();
    let p = &out[VNET_HDR_LEN..n];
    if segments == 1 {
        assert_eq!(hdr, VnetHdr::default());
        assert_eq!(p, pushed);
        return;
    }
    assert!(hdr.gso_type == GSO_TCPV4 || hdr.gso_type == GSO_TCPV6);
    assert_eq!(hdr.flags, VIRTIO_NET_HDR_F_NEEDS_CSUM);
    let v6 = hdr.gso_type == GSO_TCPV6;
    let ihl = usize::from(hdr.csum_start);
    assert_eq!(ihl, if v6 { 40 } else { 20 });
    let len = if v6 {
        40 + usize::from(u16::from_be_bytes([p[4], p[5]]))
    } else {
        assert_eq!(fold(word_sum(&p[..20])), 0xffff, "IPv4 header checksum");
        usize::from(u16::from_be_bytes([p[2], p[3]]))
    };
    assert_eq!(len, p.len());
    let payload = p.len() - usize::from(hdr.hdr_len);
    let gso = usize::from(hdr.gso_size);
    assert!(gso * (segments - 1) < payload && payload <= gso * segments);
    let mut q = p.to_vec();
    finish_checksum(&hdr, &mut q).unwrap();
    let pseudo = if v6 {
        word_sum(&q[8..40])
    } else {
        word_sum(&q[12..20])
    } + 6
        + (len - ihl) as u64;
    assert_eq!(
        fold(pseudo + word_sum(&q[ihl..])),
        0xffff,
        "TCP checksum once completed"
    );
}

fuzz_target!(|data: &[u8]| {
    let [o0, o1, rest @ ..] = data else { return };
    let mut out = vec![0u8; usize::from(u16::from_le_bytes([*o0, *o1])) + 1024];
    // Records: mode, then either raw `len bytes` or 3 parameter bytes of a generated segment.
    let mut packets = Vec::new();
    let mut seqs = [0u32; 4];
    let mut rest = rest;
    while let [mode, tail @ ..] = rest {
        if mode & 1 == 0 {
            let Some((&len, tail)) = tail.split_first() else {
                break;
            };
            let len = usize::from(len).min(tail.len());
            let (chunk, next) = tail.split_at(len);
            rest = next;
            packets.push(chunk.to_vec());
        } else {
            let [a, b, f, ..] = *tail else { break };
            rest = &tail[3..];
            let flow = usize::from(a & 3);
            let len = usize::from(b) * 8 + usize::from(mode >> 5);
            // Mostly consecutive, sometimes a repeat of the last byte.
            let seq = match a >> 6 {
                0 => seqs[flow].wrapping_sub(1),
                _ => seqs[flow],
            };
            seqs[flow] = seq.wrapping_add(len as u32);
            let flags = if f < 200 {
                0x10
            } else if f < 230 {
                0x18
            } else {
                f
            };
            packets.push(tcp(
                flow & 1 == 1,
                (flow >> 1) as u8,
                seq,
                len,
                flags,
                a >> 2 & 0xf,
            ));
        }
    }
    // Coalesce as the driver would: on refusal finish, check, start again with the refused packet
    // (dropped if even an empty builder refuses it).
    let mut next = 0;
    while next < packets.len() {
        let mut c = Coalescer::new(&mut out);
        let start = next;
        while next < packets.len() && c.push(&packets[next]) {
            next += 1;
        }
        if next == start {
            assert!(c.is_empty());
            next += 1;
        }
        let segments = c.segments();
        assert_eq!(segments, next - start - usize::from(c.is_empty()));
        let n = c.finish();
        check(&out, n, segments, &packets[start]);
    }
});
