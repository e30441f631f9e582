//! TX segmentation on arbitrary input: an arbitrary vnet header and packet, or a valid TCP
//! super-packet built from the input and then mutated. `segment` must never panic, and when it
//! succeeds every segment must be a valid IP packet: length fields equal to `len_of(i)`, IPv4
//! header checksum and TCP checksum verifying (checked with an independent naive checksum),
//! sequence numbers advancing by gso_size, and everything inside `out`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ringtun::core::offload::segment;
use ringtun::net::checksum::reference::{fold, word_sum};
use ringtun::net::vnet::{GSO_TCPV4, GSO_TCPV6, VNET_HDR_LEN, VnetHdr};

fn tcp_ok(p: &[u8], v6: bool, ihl: usize) -> bool {
    let l4 = (p.len() - ihl) as u64;
    let pseudo = if v6 {
        word_sum(&p[8..40]) + l4 + 6
    } else {
        word_sum(&p[12..20]) + l4 + 6
    };
    fold(pseudo + word_sum(&p[ihl..])) == 0xffff
}

/// A valid super-packet from a few input bytes: version, options, payload size, gso_size, flags.
fn build(params: &[u8]) -> Option<(VnetHdr, Vec<u8>)> {
    let [kind, opts, l0, l1, g0, g1, flags, ..] = *params else {
        return None;
    };
    let v6 = kind & 1 == 1;
    let ihl = if v6 {
        40
    } else {
        20 + 4 * usize::from((kind >> 1) % 11)
    };
    let thl = 20 + 4 * usize::from(opts % 11);
    let payload = usize::from(u16::from_le_bytes([l0, l1])) % (65535 - ihl - thl + 1);
    let len = ihl + thl + payload;
    let mut p: Vec<u8> = (0..len).map(|i| (i as u8).wrapping_mul(kind | 1)).collect();
    if v6 {
        p[0] = 0x60;
        p[4..6].copy_from_slice(&((len - 40) as u16).to_be_bytes());
        p[6] = 6;
    } else {
        p[0] = 0x40 | (ihl / 4) as u8;
        p[2..4].copy_from_slice(&(len as u16).to_be_bytes());
        p[6] = 0x40;
        p[7] = 0;
        p[9] = 6;
    }
    p[ihl + 12] = ((thl / 4) as u8) << 4;
    p[ihl + 13] = flags;
    let hdr = VnetHdr {
        flags: 1,
        gso_type: if v6 { GSO_TCPV6 } else { GSO_TCPV4 } | (kind & 0x80),
        hdr_len: (ihl + thl) as u16,
        gso_size: u16::from_le_bytes([g0, g1]),
        csum_start: ihl as u16,
        csum_offset: 16,
    };
    Some((hdr, p))
}

fuzz_target!(|data: &[u8]| {
    let [mode, head, tail, o0, o1, rest @ ..] = data else {
        return;
    };
    let (hdr, mut packet) = if mode & 1 == 0 {
        let Some(hdr) = VnetHdr::decode(rest) else {
            return;
        };
        (hdr, rest[VNET_HDR_LEN..].to_vec())
    } else {
        let Some(built) = build(rest) else { return };
        built
    };
    if mode & 1 == 1 {
        // Mutations: (position, xor) pairs after the 7 parameter bytes.
        for m in rest
            .get(7..)
            .unwrap_or_default()
            .chunks_exact(3)
            .take(usize::from(mode >> 1))
        {
            if !packet.is_empty() {
                let at = usize::from(u16::from_le_bytes([m[0], m[1]])) % packet.len();
                packet[at] ^= m[2];
            }
        }
    }
    let headroom = usize::from(*head % 64);
    let tailroom = usize::from(*tail % 64);
    let out_len = if mode & 2 == 0 {
        200_000
    } else {
        usize::from(u16::from_le_bytes([*o0, *o1])) * 4
    };
    let mut out = vec![0u8; out_len];
    let Ok(s) = segment(&hdr, &packet, &mut out, headroom, tailroom) else {
        return;
    };
    assert!(s.count >= 1);
    assert!(s.total_len() <= out.len());
    assert_eq!(s.stride, headroom + s.seg_len + tailroom);
    assert!(s.last_len <= s.seg_len);
    let gso = usize::from(hdr.gso_size);
    let v6 = packet[0] >> 4 == 6;
    let ihl = if v6 {
        40
    } else {
        usize::from(packet[0] & 15) * 4
    };
    let seq0 = u32::from_be_bytes(packet[ihl + 4..ihl + 8].try_into().unwrap());
    let mut payload = 0;
    for i in 0..s.count {
        let seg = &out[i * s.stride + headroom..][..s.len_of(i)];
        assert_eq!(seg[0] >> 4, if v6 { 6 } else { 4 });
        let len = if v6 {
            40 + usize::from(u16::from_be_bytes([seg[4], seg[5]]))
        } else {
            assert_eq!(usize::from(seg[0] & 15) * 4, ihl);
            assert_eq!(fold(word_sum(&seg[..ihl])), 0xffff, "IPv4 header checksum");
            usize::from(u16::from_be_bytes([seg[2], seg[3]]))
        };
        assert_eq!(len, seg.len(), "IP length of segment {i}");
        assert!(tcp_ok(seg, v6, ihl), "TCP checksum of segment {i}");
        let seq = u32::from_be_bytes(seg[ihl + 4..ihl + 8].try_into().unwrap());
        assert_eq!(seq, seq0.wrapping_add((i * gso) as u32));
        let thl = usize::from(seg[ihl + 12] >> 4) * 4;
        let p = seg.len() - ihl - thl;
        assert!(p <= gso && (p == gso || i + 1 == s.count));
        payload += p;
    }
    assert!(payload <= packet.len());
});
