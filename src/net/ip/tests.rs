use super::*;
use crate::net::tcp;

/// An IPv4 packet with a bare 20-byte header in front of `body`.
fn ip_packet(body: &[u8]) -> Vec<u8> {
    let total = 20 + body.len();
    let mut p = vec![0u8; total];
    p[0] = 0x45;
    p[2..4].copy_from_slice(&(total as u16).to_be_bytes());
    p[20..].copy_from_slice(body);
    p
}

#[test]
fn packet_len_checks_headers() {
    assert_eq!(packet_len(&[]), None);
    assert_eq!(packet_len(&ip_packet(b"12")), Some(22));
    assert_eq!(packet_len(&[0x45, 0, 0, 19]), None);
    let mut short = ip_packet(b"1234");
    short.truncate(22);
    assert_eq!(packet_len(&short), None);
    assert_eq!(packet_len(&[0x60, 0, 0]), None);
    // Padding after the packet is not part of it.
    let mut padded = ip_packet(b"12");
    padded.extend_from_slice(&[0; 5]);
    assert_eq!(packet_len(&padded), Some(22));
    let mut v6 = vec![0u8; 45];
    v6[0] = 0x60;
    v6[5] = 5;
    assert_eq!(packet_len(&v6), Some(45));
    v6[5] = 6;
    assert_eq!(packet_len(&v6), None);
    assert_eq!(packet_len(&[0x50; 60]), None, "version 5");
}

#[test]
fn parse_cuts_and_checks_the_header() {
    let mut p = ip_packet(b"12");
    p.push(0xee);
    let ip = parse(&p).unwrap();
    assert!(!ip.is_v6());
    assert_eq!((ip.header_len(), ip.total_len()), (20, 22));
    assert_eq!(ip.into_inner(), &p[..22]);
    // A header length beyond the total length: packet_len accepts it, the view does not.
    p[0] = 0x46;
    assert_eq!(packet_len(&p), Some(22));
    assert!(parse(&p).is_none());
    p[0] = 0x44;
    assert!(parse(&p).is_none());
    assert!(matches!(
        Packet::new_checked(&[0x70u8; 40][..]),
        Err(Error::Malformed)
    ));
    assert!(matches!(
        Packet::new_checked(&[][..]),
        Err(Error::Truncated)
    ));
}

#[test]
fn set_total_len_refuses_what_the_header_cannot_hold() {
    let mut p = ip_packet(b"");
    let mut ip = Packet::new_checked(&mut p[..]).unwrap();
    assert_eq!(ip.set_total_len(65536), Err(Error::Malformed));
    assert_eq!(ip.set_total_len(65535), Ok(()));
    assert_eq!(ip.total_len(), 65535);
    let mut p = [0u8; 40];
    p[0] = 0x60;
    let mut ip = Packet::new_checked(&mut p[..]).unwrap();
    assert_eq!(ip.set_total_len(39), Err(Error::Malformed));
    assert_eq!(ip.set_total_len(40 + 65536), Err(Error::Malformed));
    assert_eq!(ip.set_total_len(40 + 65535), Ok(()));
    assert_eq!(ip.total_len(), 40 + 65535);
    assert_eq!(ip.pseudo_header_sum(protocol::TCP, 1 << 32), None);
}

/// The raw-offset parsing the offload code did before the views (the model): IP version, header
/// length, total length, protocol, fragment; then the TCP header length.
#[derive(Debug, PartialEq)]
struct Model {
    v6: bool,
    hlen: usize,
    len: usize,
    proto: u8,
    fragment: bool,
    tcp: Option<(usize, u16, u16, u32, u32, u8, u16)>,
}

fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*b.get(at)?, *b.get(at + 1)?]))
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn model(p: &[u8]) -> Option<Model> {
    let first = *p.first()?;
    let (v6, hlen, len, proto, fragment) = match first >> 4 {
        4 => {
            let hlen = usize::from(first & 0x0f) * 4;
            let len = usize::from(be16(p, 2)?);
            let frag = be16(p, 6)?;
            if hlen < 20 || len < hlen || len > p.len() {
                return None;
            }
            (false, hlen, len, *p.get(9)?, frag & 0x3fff != 0)
        }
        6 => {
            let len = 40 + usize::from(be16(p, 4)?);
            if len > p.len() {
                return None;
            }
            (true, 40, len, *p.get(6)?, false)
        }
        _ => return None,
    };
    let p = &p[..len];
    let tcp = p.get(hlen + 12).and_then(|&b| {
        let thl = usize::from(b >> 4) * 4;
        if !(20..=60).contains(&thl) || hlen + thl > p.len() {
            return None;
        }
        let t = hlen;
        Some((
            thl,
            be16(p, t)?,
            be16(p, t + 2)?,
            be32(p, t + 4)?,
            be32(p, t + 8)?,
            *p.get(t + 13)?,
            be16(p, t + 14)?,
        ))
    });
    Some(Model {
        v6,
        hlen,
        len,
        proto,
        fragment,
        tcp,
    })
}

fn views(p: &[u8]) -> Option<Model> {
    let ip = parse(p)?;
    let tcp = ip
        .clone()
        .into_inner()
        .get(ip.header_len()..)
        .and_then(|seg| tcp::Packet::new_checked(seg).ok())
        .map(|t| {
            (
                t.header_len(),
                t.src_port(),
                t.dst_port(),
                t.seq_number(),
                t.ack_number(),
                t.flags(),
                t.window(),
            )
        });
    Some(Model {
        v6: ip.is_v6(),
        hlen: ip.header_len(),
        len: ip.total_len(),
        proto: ip.protocol(),
        fragment: ip.is_fragment(),
        tcp,
    })
}

/// xorshift64: a fixed sequence, so a failure reproduces.
fn next(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

/// Random packets, mostly near-valid TCP/IP headers with a few random bytes changed, and some
/// pure noise: the views accept exactly what the raw-offset model accepts, with equal fields.
#[test]
fn views_agree_with_raw_offsets_on_random_packets() {
    let mut s = 0x9e37_79b9_7f4a_7c15u64;
    let mut accepted = [0usize; 2];
    for round in 0..200_000 {
        let r = next(&mut s);
        let len = (r % 120) as usize;
        let mut p: Vec<u8> = (0..len).map(|_| next(&mut s) as u8).collect();
        if round % 8 != 0 && len > 0 {
            let v6 = r >> 32 & 1 == 1;
            let hlen = if v6 {
                40
            } else {
                20 + 4 * (r >> 40 & 3) as usize
            };
            let thl = 20 + 4 * (r >> 44 & 3) as usize;
            p[0] = if v6 { 0x60 } else { 0x40 | (hlen / 4) as u8 };
            let total = hlen + thl + (r >> 48 & 7) as usize;
            let field = if v6 { total.wrapping_sub(40) } else { total };
            if p.len() >= 6 {
                p[if v6 { 4 } else { 2 }..][..2].copy_from_slice(&(field as u16).to_be_bytes());
            }
            if let Some(b) = p.get_mut(hlen + 12) {
                *b = ((thl / 4) as u8) << 4 | (r >> 56 & 0xf) as u8;
            }
            for _ in 0..(r >> 60) % 3 {
                let at = next(&mut s) as usize % len;
                p[at] ^= next(&mut s) as u8;
            }
        }
        let want = model(&p);
        if let Some(m) = &want {
            accepted[usize::from(m.tcp.is_some())] += 1;
        }
        assert_eq!(views(&p), want, "{p:02x?}");
    }
    // The generator reaches both outcomes often enough for the comparison to mean something.
    assert!(accepted[0] > 500 && accepted[1] > 10_000, "{accepted:?}");
}

// The three facts the WireGuard device reads from the packet it carries.
#[test]
fn source_destination_and_len_of_ipv4_and_ipv6() {
    let mut v4 = [0u8; 24];
    v4[0] = 0x45;
    v4[2..4].copy_from_slice(&24u16.to_be_bytes());
    v4[12..16].copy_from_slice(&[10, 0, 0, 1]);
    v4[16..20].copy_from_slice(&[10, 0, 0, 2]);
    assert_eq!(packet_len(&v4), Some(24));
    assert_eq!(source(&v4), Some("10.0.0.1".parse().unwrap()));
    assert_eq!(destination(&v4), Some("10.0.0.2".parse().unwrap()));
    assert_eq!(packet_len(&v4[..23]), None, "shorter than it says");
    let mut padded = [0u8; 32];
    padded[..24].copy_from_slice(&v4);
    assert_eq!(packet_len(&padded), Some(24), "padding is cut off");

    let mut v6 = [0u8; 48];
    v6[0] = 0x60;
    v6[4..6].copy_from_slice(&8u16.to_be_bytes());
    v6[23] = 1;
    v6[39] = 2;
    assert_eq!(packet_len(&v6), Some(48));
    assert_eq!(source(&v6), Some("::1".parse().unwrap()));
    assert_eq!(destination(&v6), Some("::2".parse().unwrap()));
}

#[test]
fn source_destination_and_len_of_anything_else_are_none() {
    for len in 0..48 {
        for first in [0x00u8, 0x45, 0x60, 0xff] {
            let mut p = vec![0xffu8; len];
            if let Some(b) = p.first_mut() {
                *b = first;
            }
            let _ = (packet_len(&p), source(&p), destination(&p));
        }
    }
    assert_eq!(destination(&[0x45; 19]), None);
    assert_eq!(destination(&[0x50; 40]), None);
    let mut short_total = [0u8; 20];
    short_total[0] = 0x45;
    short_total[3] = 19;
    assert_eq!(packet_len(&short_total), None);
}
