//! One flag value at a time: ports, socket addresses (the server's resolved once), prefixes and
//! interface names. Errors name the flag and the value.

use std::net::{IpAddr, Ipv6Addr, SocketAddr, ToSocketAddrs};

use super::{CliError, CliErrorKind};
use crate::core::ip_prefix::IpPrefix;

/// `-l [ADDR:]PORT`: a bare port binds the IPv6 wildcard (dual-stack).
pub fn listen_addr(s: &str) -> Result<SocketAddr, CliError> {
    const FLAG: &str = "-l/--listen";
    if !s.contains(':') {
        let port = parse_port(s, FLAG, s)?;
        return Ok(SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), port));
    }
    match s.parse::<SocketAddr>() {
        Ok(a) if a.port() == 0 => Err(CliError::usage(format!(
            "{FLAG} '{s}': port must be a number from 1 to 65535"
        ))),
        Ok(a) if a.ip().is_multicast() => Err(CliError::usage(format!(
            "{FLAG} '{s}': cannot listen on a multicast address"
        ))),
        Ok(a) => Ok(a),
        Err(_) => {
            let (host, port) = s.rsplit_once(':').unwrap_or((s, ""));
            parse_port(port, FLAG, s)?;
            Err(CliError::usage(format!(
                "{FLAG} '{s}': '{host}' is not an IP address (IPv6 goes in brackets: [::1]:{port})"
            )))
        }
    }
}

/// `-s HOST:PORT`: a literal address, or a name resolved here, once.
pub fn server_addr(s: &str) -> Result<SocketAddr, CliError> {
    const FLAG: &str = "-s/--server";
    if let Ok(a) = s.parse::<SocketAddr>() {
        if a.port() == 0 {
            return Err(CliError::usage(format!(
                "{FLAG} '{s}': port must be a number from 1 to 65535"
            )));
        }
        if a.ip().is_unspecified() || a.ip().is_multicast() {
            return Err(CliError::usage(format!(
                "{FLAG} '{s}': not a server address"
            )));
        }
        return Ok(a);
    }
    let Some((host, port)) = s.rsplit_once(':') else {
        return Err(CliError::usage(format!(
            "{FLAG} '{s}': expected HOST:PORT, e.g. vpn.example.org:51820"
        )));
    };
    let port = parse_port(port, FLAG, s)?;
    if host.is_empty() {
        return Err(CliError::usage(format!("{FLAG} '{s}': missing host")));
    }
    if host.contains(':') || host.contains('[') || host.contains(']') {
        return Err(CliError::usage(format!(
            "{FLAG} '{s}': IPv6 addresses go in brackets, e.g. [2001:db8::1]:{port}"
        )));
    }
    if host.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(CliError::usage(format!("{FLAG} '{s}': bad host name")));
    }
    // Resolved once, here: the tunnel's peer address does not follow later DNS changes.
    let resolved = (host, port).to_socket_addrs().map_err(|e| CliError {
        kind: CliErrorKind::Resolve,
        message: format!("{FLAG}: cannot resolve host '{host}': {e}"),
    })?;
    let addrs: Vec<SocketAddr> = resolved.collect();
    // Prefer IPv4 when both exist: it works on more networks, and the MTU figure is larger.
    addrs
        .iter()
        .find(|a| a.is_ipv4())
        .or_else(|| addrs.first())
        .copied()
        .ok_or_else(|| CliError {
            kind: CliErrorKind::Resolve,
            message: format!("{FLAG}: host '{host}' has no addresses"),
        })
}

fn parse_port(s: &str, flag: &str, whole: &str) -> Result<u16, CliError> {
    match s.parse::<u16>() {
        Ok(0) | Err(_) => Err(CliError::usage(format!(
            "{flag} '{whole}': port must be a number from 1 to 65535"
        ))),
        Ok(p) => Ok(p),
    }
}

/// `ADDR/PREFIX`; the prefix is required (the host bits are kept).
pub fn cidr(s: &str) -> Result<IpPrefix, String> {
    let Some((a, p)) = s.split_once('/') else {
        return Err("expected ADDR/PREFIX, e.g. 10.89.0.1/24 or fd89::1/64".to_string());
    };
    let addr: IpAddr = a
        .parse()
        .map_err(|_| format!("'{a}' is not an IP address"))?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    let prefix: u8 = p
        .parse()
        .ok()
        .filter(|&v| v <= max)
        .ok_or_else(|| format!("prefix '{p}' must be a number from 0 to {max}"))?;
    IpPrefix::new(addr, prefix)
        .ok_or_else(|| format!("prefix '{p}' must be a number from 0 to {max}"))
}

/// Interface names follow the kernel's rules, which live with the TUN device.
pub(crate) use crate::sys::tun::check_interface_name;
