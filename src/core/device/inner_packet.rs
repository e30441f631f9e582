//! The three facts the device reads from the IP packet it carries: its length (from its own header,
//! to cut off padding), its source (checked against the sending peer's AllowedIPs) and its
//! destination (which peer to send it to). Nothing else of the packet is the device's business.
//!
//! A stop-gap with named offsets until the `net::ip` / `net::ipv4` / `net::ipv6` header views of
//! the offload work are on main; then these three become calls to them.

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use core::ops::Range;

mod ipv4 {
    use core::ops::Range;
    pub(crate) const LENGTH: Range<usize> = 2..4;
    pub(crate) const SRC_ADDR: Range<usize> = 12..16;
    pub(crate) const DST_ADDR: Range<usize> = 16..20;
    pub(crate) const HEADER_LEN: usize = 20;
}

mod ipv6 {
    use core::ops::Range;
    pub(crate) const PAYLOAD_LEN: Range<usize> = 4..6;
    pub(crate) const SRC_ADDR: Range<usize> = 8..24;
    pub(crate) const DST_ADDR: Range<usize> = 24..40;
    pub(crate) const HEADER_LEN: usize = 40;
}

fn version(p: &[u8]) -> Option<u8> {
    p.first().map(|b| b >> 4)
}

fn u16_at(p: &[u8], field: Range<usize>) -> Option<u16> {
    let bytes: [u8; 2] = p.get(field)?.try_into().ok()?;
    Some(u16::from_be_bytes(bytes))
}

fn address(p: &[u8], v4: Range<usize>, v6: Range<usize>) -> Option<IpAddr> {
    match version(p)? {
        4 => {
            let a: [u8; 4] = p.get(v4)?.try_into().ok()?;
            Some(IpAddr::V4(Ipv4Addr::from(a)))
        }
        6 => {
            let a: [u8; 16] = p.get(v6)?.try_into().ok()?;
            Some(IpAddr::V6(Ipv6Addr::from(a)))
        }
        _ => None,
    }
}

/// Length of the IPv4 or IPv6 packet at the start of `p`, from its own header; `None` if `p` is not
/// one or is shorter than its header says.
pub(crate) fn packet_len(p: &[u8]) -> Option<usize> {
    match version(p)? {
        4 => {
            let total = usize::from(u16_at(p, ipv4::LENGTH)?);
            (ipv4::HEADER_LEN..=p.len())
                .contains(&total)
                .then_some(total)
        }
        6 => {
            let total = ipv6::HEADER_LEN + usize::from(u16_at(p, ipv6::PAYLOAD_LEN)?);
            (total <= p.len()).then_some(total)
        }
        _ => None,
    }
}

pub(crate) fn source(p: &[u8]) -> Option<IpAddr> {
    address(p, ipv4::SRC_ADDR, ipv6::SRC_ADDR)
}

pub(crate) fn destination(p: &[u8]) -> Option<IpAddr> {
    address(p, ipv4::DST_ADDR, ipv6::DST_ADDR)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv4_and_ipv6_fields() {
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
    fn anything_else_is_none_without_panicking() {
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
}
