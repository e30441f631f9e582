//! [`IpPrefix`]: an IP address with a prefix length, written `10.0.0.0/8` or `fd00::1/64`.
//!
//! Used for AllowedIPs entries (where only the network part counts: [`IpPrefix::masked`]) and for
//! interface addresses (where the host part is the address itself, so it is kept as written).

use core::fmt;
use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use core::str::FromStr;

/// An address and a prefix length no longer than the address (32 for IPv4, 128 for IPv6).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct IpPrefix {
    addr: IpAddr,
    len: u8,
}

/// Bits in an IPv4 address: its longest prefix.
pub(crate) const V4_BITS: u8 = Ipv4Addr::BITS as u8;
/// Bits in an IPv6 address: its longest prefix.
pub(crate) const V6_BITS: u8 = Ipv6Addr::BITS as u8;

/// Bits in an address of this family.
pub(crate) fn address_bits(addr: IpAddr) -> u8 {
    match addr {
        IpAddr::V4(_) => V4_BITS,
        IpAddr::V6(_) => V6_BITS,
    }
}

/// The top `len` bits of a `bits`-bit address as a mask (`len` <= `bits` <= 128).
fn mask_u128(len: u8, bits: u8) -> u128 {
    // checked_shl: a shift by the full width (len 0 of IPv6) would overflow; no bits remain then.
    let ones = u128::MAX
        .checked_shl(u128::BITS - u32::from(len))
        .unwrap_or(0);
    ones >> (u128::BITS - u32::from(bits))
}

impl IpPrefix {
    /// `None` if `len` is longer than the address.
    pub fn new(addr: IpAddr, len: u8) -> Option<Self> {
        (len <= address_bits(addr)).then_some(IpPrefix { addr, len })
    }

    /// The address alone: a /32 or /128.
    pub fn host(addr: IpAddr) -> Self {
        IpPrefix {
            addr,
            len: address_bits(addr),
        }
    }

    pub fn addr(&self) -> IpAddr {
        self.addr
    }

    /// The prefix length in bits.
    pub fn prefix_len(&self) -> u8 {
        self.len
    }

    pub(crate) fn is_ipv4(&self) -> bool {
        self.addr.is_ipv4()
    }

    /// The same prefix with the host bits cleared (`10.1.2.3/8` -> `10.0.0.0/8`), as WireGuard does
    /// with every AllowedIPs entry.
    pub fn masked(&self) -> Self {
        let addr = match self.addr {
            IpAddr::V4(a) => {
                // mask_u128 of 32-bit width fits in u32.
                let mask = mask_u128(self.len, V4_BITS) as u32;
                IpAddr::V4(Ipv4Addr::from(u32::from(a) & mask))
            }
            IpAddr::V6(a) => {
                IpAddr::V6(Ipv6Addr::from(u128::from(a) & mask_u128(self.len, V6_BITS)))
            }
        };
        IpPrefix {
            addr,
            len: self.len,
        }
    }

    /// Whether the host bits are all zero already (`wg` warns about entries where they are not).
    pub(crate) fn is_masked(&self) -> bool {
        self.masked() == *self
    }

    /// Whether `addr` lies inside this prefix (addresses of the other family never do).
    pub fn contains(&self, addr: IpAddr) -> bool {
        match (self.masked().addr, addr) {
            (IpAddr::V4(net), IpAddr::V4(a)) => {
                u32::from(a) & (mask_u128(self.len, V4_BITS) as u32) == u32::from(net)
            }
            (IpAddr::V6(net), IpAddr::V6(a)) => {
                u128::from(a) & mask_u128(self.len, V6_BITS) == u128::from(net)
            }
            _ => false,
        }
    }
}

impl fmt::Display for IpPrefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.len)
    }
}

/// Why text is not an `address[/length]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PrefixParseError {
    /// The part before `/` is not an IPv4 or IPv6 address.
    Address,
    /// The part after `/` is not a number, or is longer than the address.
    Length,
}

impl fmt::Display for PrefixParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PrefixParseError::Address => "not an IPv4 or IPv6 address",
            PrefixParseError::Length => {
                "prefix length is not a number from 0 to 32 (IPv4) or 128 (IPv6)"
            }
        })
    }
}

impl std::error::Error for PrefixParseError {}

/// `address` or `address/length`; without a length the prefix is the host alone, as in `wg` and
/// `ip address add`. The length is decimal digits only (leading zeros allowed, as `wg` does).
impl FromStr for IpPrefix {
    type Err = PrefixParseError;

    fn from_str(text: &str) -> Result<Self, PrefixParseError> {
        let (addr_text, len_text) = match text.split_once('/') {
            Some((a, l)) => (a, Some(l)),
            None => (text, None),
        };
        let addr = IpAddr::from_str(addr_text).map_err(|_| PrefixParseError::Address)?;
        let Some(len_text) = len_text else {
            return Ok(IpPrefix::host(addr));
        };
        if len_text.is_empty() || !len_text.bytes().all(|b| b.is_ascii_digit()) {
            return Err(PrefixParseError::Length);
        }
        let significant = len_text.trim_start_matches('0');
        // More significant digits than u8::MAX has are over 128 whatever they are.
        if significant.len() > u8::MAX.ilog10() as usize + 1 {
            return Err(PrefixParseError::Length);
        }
        let len = significant.parse::<u16>().unwrap_or(0);
        u8::try_from(len)
            .ok()
            .and_then(|len| IpPrefix::new(addr, len))
            .ok_or(PrefixParseError::Length)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> IpPrefix {
        s.parse().unwrap()
    }

    #[test]
    fn parses_with_and_without_length() {
        assert_eq!(p("10.0.0.0/8").addr(), IpAddr::from([10, 0, 0, 0]));
        assert_eq!(p("10.0.0.0/8").prefix_len(), 8);
        assert_eq!(p("10.1.2.3").prefix_len(), 32);
        assert_eq!(p("fd00::1").prefix_len(), 128);
        assert_eq!(p("::/0").prefix_len(), 0);
        assert_eq!(p("0.0.0.0/0").prefix_len(), 0);
        assert_eq!(p("10.0.0.0/008").prefix_len(), 8);
        assert_eq!(p("::ffff:1.2.3.4/128").prefix_len(), 128);
        assert_eq!(p("1.2.3.4/32"), IpPrefix::host(IpAddr::from([1, 2, 3, 4])));
    }

    #[test]
    fn rejects_bad_text() {
        use PrefixParseError::*;
        for (text, err) in [
            ("", Address),
            ("10.0.0/8", Address),
            ("10.0.0.256/8", Address),
            ("010.0.0.1/8", Address),
            ("fd00:::1/64", Address),
            ("host.example/32", Address),
            (" 10.0.0.1/8", Address),
            ("10.0.0.0/", Length),
            ("10.0.0.0/33", Length),
            ("fd00::/129", Length),
            ("10.0.0.0/+8", Length),
            ("10.0.0.0/-1", Length),
            ("10.0.0.0/8/8", Length),
            ("10.0.0.0/ 8", Length),
            ("10.0.0.0/99999999999999999999999", Length),
            ("10.0.0.0/0256", Length),
            ("10.0.0.0/٣", Length),
        ] {
            assert_eq!(text.parse::<IpPrefix>(), Err(err), "{text:?}");
        }
        assert!(IpPrefix::new(IpAddr::from([0u8; 4]), 33).is_none());
        assert!(IpPrefix::new(IpAddr::from([0u8; 16]), 129).is_none());
        assert!(IpPrefix::new(IpAddr::from([0u8; 16]), 128).is_some());
    }

    #[test]
    fn masks_host_bits() {
        assert_eq!(p("10.1.2.3/8").masked(), p("10.0.0.0/8"));
        assert_eq!(p("10.1.2.3/0").masked(), p("0.0.0.0/0"));
        assert_eq!(p("10.1.2.3/32").masked(), p("10.1.2.3/32"));
        assert_eq!(p("10.1.2.255/25").masked(), p("10.1.2.128/25"));
        assert_eq!(p("fd00:1:2:3:4:5:6:7/64").masked(), p("fd00:1:2:3::/64"));
        assert_eq!(p("ffff::ffff/1").masked(), p("8000::/1"));
        assert_eq!(p("ffff::ffff/0").masked(), p("::/0"));
        assert_eq!(p("ffff::ffff/127").masked(), p("ffff::fffe/127"));
        assert!(p("10.0.0.0/8").is_masked());
        assert!(!p("10.0.0.1/8").is_masked());
    }

    #[test]
    fn contains_by_family_and_bits() {
        let net = p("192.168.4.0/22");
        assert!(net.contains(IpAddr::from([192, 168, 7, 255])));
        assert!(net.contains(IpAddr::from([192, 168, 4, 0])));
        assert!(!net.contains(IpAddr::from([192, 168, 8, 0])));
        assert!(!net.contains(IpAddr::from([192, 168, 3, 255])));
        assert!(p("0.0.0.0/0").contains(IpAddr::from([1, 2, 3, 4])));
        assert!(!p("0.0.0.0/0").contains("::1".parse().unwrap()));
        assert!(p("::/0").contains("::1".parse().unwrap()));
        assert!(!p("::/0").contains(IpAddr::from([1, 2, 3, 4])));
        assert!(p("fd00::/8").contains("fdff::1".parse().unwrap()));
        assert!(!p("fd00::/8").contains("fe00::1".parse().unwrap()));
    }

    #[test]
    fn display_round_trips() {
        for s in [
            "10.0.0.1/24",
            "0.0.0.0/0",
            "fd00::1/64",
            "::/0",
            "2001:db8::/32",
        ] {
            assert_eq!(p(s).to_string(), s);
        }
        assert_eq!(p("10.0.0.1").to_string(), "10.0.0.1/32");
    }
}
