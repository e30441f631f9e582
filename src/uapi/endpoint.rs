//! A peer's UDP endpoint as the protocol writes it: `a.b.c.d:port` or `[v6]:port`, the IPv6 form
//! optionally with a zone, `[fe80::1%eth0]:51820` (wg sends the interface name that getnameinfo
//! gives) or `[fe80::1%2]:51820` (an interface index).
//!
//! A numeric zone becomes the address's scope id. A named zone is kept as a [`ScopeName`] next to
//! the address, for the owner of the socket to resolve (`if_nametoindex`): this module does no I/O.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};

use super::request::parse_decimal;

/// Longest interface name Linux allows (IFNAMSIZ minus the terminating NUL).
pub const SCOPE_NAME_MAX: usize = 15;

#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Endpoint {
    addr: SocketAddr,
    scope_name: Option<ScopeName>,
}

/// The interface name of an IPv6 zone: 1 to 15 printable ASCII bytes, none of `%/:=[]` (`=` would
/// split a reply line for clients that split on every `=`).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ScopeName {
    bytes: [u8; SCOPE_NAME_MAX],
    len: u8,
}

impl ScopeName {
    pub fn new(name: &[u8]) -> Option<ScopeName> {
        let allowed = |b: &u8| b.is_ascii_graphic() && !b"%/:=[]".contains(b);
        if name.is_empty() || name.len() > SCOPE_NAME_MAX || !name.iter().all(allowed) {
            return None;
        }
        let mut bytes = [0u8; SCOPE_NAME_MAX];
        bytes[..name.len()].copy_from_slice(name);
        Some(ScopeName {
            bytes,
            len: name.len() as u8,
        })
    }

    pub fn as_str(&self) -> &str {
        // `new` admits printable ASCII only.
        std::str::from_utf8(&self.bytes[..usize::from(self.len)]).unwrap_or_default()
    }
}

impl fmt::Debug for ScopeName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.as_str())
    }
}

impl Endpoint {
    pub fn new(addr: SocketAddr) -> Endpoint {
        Endpoint {
            addr,
            scope_name: None,
        }
    }

    /// An IPv6 endpoint whose zone is an interface name; the address's own scope id is cleared
    /// (the name, once resolved, replaces it).
    pub fn with_scope_name(mut addr: SocketAddrV6, name: ScopeName) -> Endpoint {
        addr.set_scope_id(0);
        Endpoint {
            addr: SocketAddr::V6(addr),
            scope_name: Some(name),
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The zone's interface name, when it was given by name: resolve it to the scope id before
    /// using [`Endpoint::addr`].
    pub fn scope_name(&self) -> Option<&ScopeName> {
        self.scope_name.as_ref()
    }

    /// Parses the wire form; `None` for anything else (wireguard-go answers EINVAL). Brackets are
    /// required around IPv6 and refused around IPv4; the port is decimal, leading zeros allowed.
    pub fn parse(text: &[u8]) -> Option<Endpoint> {
        if let Some(rest) = text.strip_prefix(b"[") {
            let close = rest.iter().position(|&b| b == b']')?;
            let (inside, after) = (&rest[..close], &rest[close + 1..]);
            let port = parse_port(after.strip_prefix(b":")?)?;
            let (ip, zone) = match inside.iter().position(|&b| b == b'%') {
                Some(i) => (&inside[..i], Some(&inside[i + 1..])),
                None => (inside, None),
            };
            let ip: Ipv6Addr = std::str::from_utf8(ip).ok()?.parse().ok()?;
            let addr = SocketAddrV6::new(ip, port, 0, 0);
            match zone {
                None => Some(Endpoint::new(SocketAddr::V6(addr))),
                Some(z) if !z.is_empty() && z.iter().all(u8::is_ascii_digit) => {
                    let scope_id = u32::try_from(parse_decimal(z, u64::from(u32::MAX))?).ok()?;
                    Some(Endpoint::new(SocketAddr::V6(SocketAddrV6::new(
                        ip, port, 0, scope_id,
                    ))))
                }
                Some(z) => Some(Endpoint::with_scope_name(addr, ScopeName::new(z)?)),
            }
        } else {
            let colon = text.iter().rposition(|&b| b == b':')?;
            let ip: Ipv4Addr = std::str::from_utf8(&text[..colon]).ok()?.parse().ok()?;
            let port = parse_port(&text[colon + 1..])?;
            Some(Endpoint::new(SocketAddr::V4(SocketAddrV4::new(ip, port))))
        }
    }
}

fn parse_port(text: &[u8]) -> Option<u16> {
    u16::try_from(parse_decimal(text, u64::from(u16::MAX))?).ok()
}

/// The wire form, as wireguard-go prints it (`netip.AddrPort`): the zone by name if it has one,
/// else by a non-zero scope id.
impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.addr {
            SocketAddr::V4(a) => write!(f, "{}:{}", a.ip(), a.port()),
            SocketAddr::V6(a) => {
                write!(f, "[{}", a.ip())?;
                match (&self.scope_name, a.scope_id()) {
                    (Some(name), _) => write!(f, "%{}", name.as_str())?,
                    (None, 0) => {}
                    (None, id) => write!(f, "%{id}")?,
                }
                write!(f, "]:{}", a.port())
            }
        }
    }
}

impl fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Endpoint({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(text: &str) -> Endpoint {
        let e = Endpoint::parse(text.as_bytes()).unwrap_or_else(|| panic!("{text} refused"));
        assert_eq!(e.to_string(), text);
        e
    }

    #[test]
    fn ipv4_and_ipv6_forms() {
        let e = round_trip("127.0.0.1:51820");
        assert_eq!(e.addr(), "127.0.0.1:51820".parse().unwrap());
        let e = round_trip("[fd00::1]:51820");
        assert_eq!(e.addr(), "[fd00::1]:51820".parse().unwrap());
        round_trip("[::ffff:1.2.3.4]:1");
        round_trip("0.0.0.0:0");
        round_trip("[::]:65535");
    }

    #[test]
    fn zones_by_index_and_by_name() {
        let e = round_trip("[fe80::1%2]:1");
        match e.addr() {
            SocketAddr::V6(a) => assert_eq!(a.scope_id(), 2),
            SocketAddr::V4(_) => panic!("v4"),
        }
        assert!(e.scope_name().is_none());
        let e = round_trip("[fe80::1%lo]:1");
        assert_eq!(e.scope_name().map(ScopeName::as_str), Some("lo"));
        round_trip("[fe80::1%enp0s31f6-long]:9");
        assert!(Endpoint::parse(b"[fe80::1%a-very-long-ifname]:1").is_none());
        assert!(Endpoint::parse(b"[fe80::1%]:1").is_none());
        assert!(Endpoint::parse(b"[fe80::1%4294967296]:1").is_none());
        assert!(Endpoint::parse(b"[fe80::1%a/b]:1").is_none());
    }

    #[test]
    fn leading_zeros_in_the_port_are_accepted_as_by_strconv() {
        let e = Endpoint::parse(b"10.0.0.1:0080").unwrap();
        assert_eq!(e.addr().port(), 80);
    }

    #[test]
    fn malformed_endpoints() {
        for bad in [
            "",
            ":",
            "1.2.3.4",
            "1.2.3.4:",
            "1.2.3.4:65536",
            "1.2.3.4:-1",
            "1.2.3.4:+1",
            "1.2.3.4: 1",
            "1.2.3:1",
            "01.2.3.4:1",
            "1.2.3.4%eth0:1",
            "[1.2.3.4]:1",
            "fd00::1:1",
            "[fd00::1]",
            "[fd00::1]:",
            "[fd00::1]1",
            "[fd00::1:1",
            "[fd00::g]:1",
            "example.com:1",
        ] {
            assert!(
                Endpoint::parse(bad.as_bytes()).is_none(),
                "{bad:?} accepted"
            );
        }
        assert!(Endpoint::parse(&[0xff, b':', b'1']).is_none());
    }
}
