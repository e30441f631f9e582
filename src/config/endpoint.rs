//! A peer's `Endpoint`: `host:port`, `[IPv6]:port`, or an IPv6 address followed by `:port` without
//! brackets (the last colon separates the port, as in `wg`). Host names are kept as text: resolving
//! them is the caller's job, not the parser's.

use core::fmt;
use core::net::{IpAddr, Ipv6Addr};
use core::str::FromStr;

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum EndpointHost {
    Ip(IpAddr),
    /// A host name, or an IPv6 address with a zone (`fe80::1%eth0`), for the resolver.
    Name(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Endpoint {
    pub(crate) host: EndpointHost,
    pub(crate) port: u16,
}

impl Endpoint {
    /// The address, when the host is an address literal.
    #[cfg(test)]
    pub(crate) fn socket_addr(&self) -> Option<core::net::SocketAddr> {
        match self.host {
            EndpointHost::Ip(ip) => Some(core::net::SocketAddr::new(ip, self.port)),
            EndpointHost::Name(_) => None,
        }
    }
}

/// Longest DNS name (RFC 1035: 255 octets on the wire, 253 as text).
const MAX_NAME_LEN: usize = 253;

/// Letters, digits, `-`, `_` and `.`, not starting with `-` or `.`: enough for every name the
/// resolver accepts, and nothing that could be mistaken for an option or a path.
fn is_host_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_NAME_LEN
        && !name.starts_with(['-', '.'])
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// `fe80::1%eth0`: an IPv6 address and an interface name or number.
fn is_scoped_ipv6(text: &str) -> bool {
    match text.split_once('%') {
        Some((addr, zone)) => Ipv6Addr::from_str(addr).is_ok() && is_host_name(zone),
        None => false,
    }
}

fn parse_port(text: &str) -> Result<u16, &'static str> {
    if text.is_empty() {
        return Err("no port");
    }
    if !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err("the port is not a number (service names are not resolved)");
    }
    let significant = text.trim_start_matches('0');
    match significant.parse::<u16>() {
        Ok(port) if port > 0 && significant.len() <= u16::MAX.ilog10() as usize + 1 => Ok(port),
        _ => Err("the port is not from 1 to 65535"),
    }
}

impl FromStr for Endpoint {
    type Err = &'static str;

    /// `text` holds no white space (the config parser removes it, as `wg` does).
    fn from_str(text: &str) -> Result<Self, &'static str> {
        let (host_text, port_text, bracketed) = if let Some(rest) = text.strip_prefix('[') {
            let (host, after) = rest.split_once(']').ok_or("no closing ']'")?;
            let port = after.strip_prefix(':').ok_or("no ':' and port after ']'")?;
            (host, port, true)
        } else {
            let (host, port) = text.rsplit_once(':').ok_or("no ':' and port")?;
            (host, port, false)
        };
        let port = parse_port(port_text)?;
        let host = if let Ok(ip) = IpAddr::from_str(host_text) {
            EndpointHost::Ip(ip)
        } else if (bracketed && is_scoped_ipv6(host_text)) || is_host_name(host_text) {
            EndpointHost::Name(host_text.to_string())
        } else if host_text.contains(':') && !bracketed {
            return Err("an IPv6 address with a port needs brackets: [address]:port");
        } else {
            return Err("not an IP address or host name");
        };
        Ok(Endpoint { host, port })
    }
}

/// The form `wg showconf` prints: brackets around IPv6 (and scoped IPv6 names), none otherwise.
impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.host {
            EndpointHost::Ip(IpAddr::V6(a)) => write!(f, "[{a}]:{}", self.port),
            EndpointHost::Ip(IpAddr::V4(a)) => write!(f, "{a}:{}", self.port),
            EndpointHost::Name(n) if n.contains(':') => write!(f, "[{n}]:{}", self.port),
            EndpointHost::Name(n) => write!(f, "{n}:{}", self.port),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ep(s: &str) -> Endpoint {
        s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    fn ip(host: &str, port: u16) -> Endpoint {
        Endpoint {
            host: EndpointHost::Ip(host.parse().unwrap()),
            port,
        }
    }

    fn name(host: &str, port: u16) -> Endpoint {
        Endpoint {
            host: EndpointHost::Name(host.to_string()),
            port,
        }
    }

    #[test]
    fn the_wg_man_page_forms() {
        assert_eq!(ep("192.95.5.67:1234"), ip("192.95.5.67", 1234));
        assert_eq!(
            ep("[2607:5300:60:6b0::c05f:543]:2468"),
            ip("2607:5300:60:6b0::c05f:543", 2468)
        );
        assert_eq!(
            ep("test.wireguard.com:18981"),
            name("test.wireguard.com", 18981)
        );
        assert_eq!(
            ep("192.95.5.67:1234").socket_addr(),
            Some("192.95.5.67:1234".parse().unwrap())
        );
        assert_eq!(ep("test.wireguard.com:18981").socket_addr(), None);
    }

    #[test]
    fn other_accepted_forms() {
        // wg splits at the last colon, so an unbracketed IPv6 address works too.
        assert_eq!(ep("fd00::1:51820"), ip("fd00::1", 51820));
        assert_eq!(ep("[1.2.3.4]:5"), ip("1.2.3.4", 5));
        assert_eq!(ep("[vpn.example]:5"), name("vpn.example", 5));
        assert_eq!(ep("[fe80::1%eth0]:51820"), name("fe80::1%eth0", 51820));
        assert_eq!(ep("localhost:065535"), name("localhost", 65535));
        assert_eq!(ep("my_host-1.example.:1"), name("my_host-1.example.", 1));
    }

    #[test]
    fn rejected_forms() {
        for bad in [
            "",
            "1.2.3.4",
            "1.2.3.4:",
            "1.2.3.4:0",
            "1.2.3.4:65536",
            "1.2.3.4:99999999999999999999",
            "1.2.3.4:https",
            "1.2.3.4:+1",
            "[::1]",
            "[::1]51820",
            "[::1:51820",
            ":51820",
            "[]:51820",
            "-oProxy:22",
            ".example:1",
            "host/path:1",
            "ho st:1",
            "hôst:1",
            "fe80::1%eth0:51820",
            "[fe80::1%]:1",
            "[fe80::1%a/b]:1",
            "[host:x]:1",
        ] {
            assert!(bad.parse::<Endpoint>().is_err(), "{bad:?} accepted");
        }
        assert!("a".repeat(254).parse::<Endpoint>().is_err());
        assert!(format!("{}:1", "a".repeat(253)).parse::<Endpoint>().is_ok());
        assert_eq!(
            "fd00::1".parse::<Endpoint>(),
            Err("an IPv6 address with a port needs brackets: [address]:port")
        );
    }

    #[test]
    fn display_parses_back_to_the_same() {
        for s in [
            "192.95.5.67:1234",
            "[2607:5300:60:6b0::c05f:543]:2468",
            "test.wireguard.com:18981",
            "[fe80::1%eth0]:51820",
            "[::ffff:1.2.3.4]:1",
        ] {
            assert_eq!(ep(s).to_string(), s);
            assert_eq!(ep(&ep(s).to_string()), ep(s));
        }
        assert_eq!(ep("fd00::1:51820").to_string(), "[fd00::1]:51820");
    }
}
