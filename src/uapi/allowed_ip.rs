//! One AllowedIPs entry as the protocol writes it: `address/prefix-length`.

use std::fmt;
use std::net::IpAddr;

/// An address and a prefix length that fits it (at most 32 for IPv4, 128 for IPv6). The host bits
/// are kept as sent; whoever inserts the entry into the routing table masks them.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct AllowedIp {
    addr: IpAddr,
    cidr: u8,
}

impl AllowedIp {
    pub fn new(addr: IpAddr, cidr: u8) -> Option<AllowedIp> {
        let max = if addr.is_ipv4() { 32 } else { 128 };
        (cidr <= max).then_some(AllowedIp { addr, cidr })
    }

    pub fn addr(&self) -> IpAddr {
        self.addr
    }

    pub fn cidr(&self) -> u8 {
        self.cidr
    }

    /// Parses `addr/len` as Go's `netip.ParsePrefix` does: the last `/` splits, the length is
    /// decimal without sign or leading zero, IPv6 zones are refused.
    pub fn parse(text: &[u8]) -> Option<AllowedIp> {
        let slash = text.iter().rposition(|&b| b == b'/')?;
        let (addr, bits) = (&text[..slash], &text[slash + 1..]);
        let addr: IpAddr = std::str::from_utf8(addr).ok()?.parse().ok()?;
        let well_formed = match bits {
            [b'0'] => true,
            [b'1'..=b'9', rest @ ..] => rest.len() <= 2 && rest.iter().all(u8::is_ascii_digit),
            _ => false,
        };
        if !well_formed {
            return None;
        }
        let cidr = bits.iter().fold(0u16, |n, d| n * 10 + u16::from(d - b'0'));
        AllowedIp::new(addr, u8::try_from(cidr).ok()?)
    }
}

impl fmt::Display for AllowedIp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.cidr)
    }
}

impl fmt::Debug for AllowedIp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AllowedIp({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        for text in [
            "10.0.0.2/32",
            "fd00::2/128",
            "0.0.0.0/0",
            "::/0",
            "10.0.0.1/24",
            "::ffff:1.2.3.4/96",
        ] {
            let a = AllowedIp::parse(text.as_bytes()).unwrap_or_else(|| panic!("{text} refused"));
            assert_eq!(a.to_string(), text);
        }
        let a = AllowedIp::parse(b"192.168.1.0/24").unwrap();
        assert_eq!(a.addr(), IpAddr::from([192, 168, 1, 0]));
        assert_eq!(a.cidr(), 24);
    }

    #[test]
    fn refuses_what_netip_refuses() {
        for bad in [
            "",
            "/",
            "10.0.0.1",
            "10.0.0.1/",
            "10.0.0.1/33",
            "::/129",
            "10.0.0.1/08",
            "10.0.0.1/+8",
            "10.0.0.1/-0",
            "10.0.0.1/1000",
            "10.0.0.1/ 8",
            "fe80::1%eth0/64",
            "10.0.0.256/32",
            "10.0.0.1/8/8",
            "010.0.0.1/8",
            "10.0.0.1/32 ",
        ] {
            assert!(
                AllowedIp::parse(bad.as_bytes()).is_none(),
                "{bad:?} accepted"
            );
        }
        assert!(AllowedIp::new(IpAddr::from([1, 2, 3, 4]), 33).is_none());
        assert!(AllowedIp::new(IpAddr::from([0u16; 8]), 128).is_some());
    }
}
