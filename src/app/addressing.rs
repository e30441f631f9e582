//! Tunnel addressing, pure: prefixes, the default MTU, what the server pushes, and what each side
//! configures on its interface. No syscalls: everything here is unit-tested without root.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::AppError;
use crate::core::TunnelConfig;
use crate::core::wire::{V4Config, V6Config};
use crate::sys::iface::Settings;

/// An address with its prefix length, e.g. `10.89.0.1/24`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cidr {
    pub addr: IpAddr,
    pub prefix: u8,
}

impl Cidr {
    /// Whether `ip` lies in this prefix (same family, same leading `prefix` bits).
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => {
                let m = mask_u32(self.prefix);
                u32::from(n) & m == u32::from(a) & m
            }
            (IpAddr::V6(n), IpAddr::V6(a)) => {
                let m = mask_u128(self.prefix);
                u128::from(n) & m == u128::from(a) & m
            }
            _ => false,
        }
    }

    /// Whether the bits past the prefix are all zero (a network, as a route needs).
    pub fn host_bits_zero(&self) -> bool {
        match self.addr {
            IpAddr::V4(a) => u32::from(a) & !mask_u32(self.prefix) == 0,
            IpAddr::V6(a) => u128::from(a) & !mask_u128(self.prefix) == 0,
        }
    }

    /// The network this address lies in: the host bits cleared.
    pub fn network(&self) -> Cidr {
        let addr = match self.addr {
            IpAddr::V4(a) => IpAddr::V4(Ipv4Addr::from(u32::from(a) & mask_u32(self.prefix))),
            IpAddr::V6(a) => IpAddr::V6(Ipv6Addr::from(u128::from(a) & mask_u128(self.prefix))),
        };
        Cidr {
            addr,
            prefix: self.prefix,
        }
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

fn mask_u32(prefix: u8) -> u32 {
    match prefix {
        0 => 0,
        p if p >= 32 => u32::MAX,
        p => u32::MAX << (32 - u32::from(p)),
    }
}

fn mask_u128(prefix: u8) -> u128 {
    match prefix {
        0 => 0,
        p if p >= 128 => u128::MAX,
        p => u128::MAX << (128 - u32::from(p)),
    }
}

/// Server addressing when no `-a` is given.
pub const DEFAULT_SERVER_ADDRESS: Cidr = Cidr {
    addr: IpAddr::V4(Ipv4Addr::new(10, 89, 0, 1)),
    prefix: 24,
};

/// Smallest MTU of a tunnel that carries IPv6 (IPv6's minimum link MTU). The smallest MTU of any
/// tunnel is the protocol's, [`crate::core::wire::MIN_MTU`].
pub const MIN_MTU_V6: u16 = 1280;

/// Tunnel MTU that fits a 1500-byte underlay path:
/// 1500 − IP header (40 for IPv6, 20 for IPv4) − 8 (UDP) − 32 (ringtun: 16-byte header + 16-byte
/// tag) = 1420 over IPv6, 1440 over IPv4.
pub fn default_mtu(underlay_ipv6: bool) -> u16 {
    let ip_header = if underlay_ipv6 { 40 } else { 20 };
    1500 - ip_header - 8 - crate::core::DATA_OVERHEAD as u16
}

/// The server's addressing and what it pushes, from its `-a` (`addresses`) and `-p` (`peers`):
/// per family the peer given, else its own address + 1.
pub fn server_tunnel_config(
    addresses: &[Cidr],
    peers: &[IpAddr],
    mtu: u16,
) -> Result<TunnelConfig, AppError> {
    let mut cfg = TunnelConfig {
        mtu,
        ipv4: None,
        ipv6: None,
    };
    for a in addresses {
        let peer = peers
            .iter()
            .copied()
            .find(|p| p.is_ipv4() == a.addr.is_ipv4());
        let client = match peer {
            Some(p) => p,
            None => next_address(a).ok_or_else(|| {
                AppError(format!(
                    "-a {a}: no room for the client's address after {} in the prefix: give it \
                     with -p",
                    a.addr
                ))
            })?,
        };
        match (a.addr, client) {
            (IpAddr::V4(server), IpAddr::V4(client)) => {
                cfg.ipv4 = Some(V4Config {
                    client,
                    prefix: a.prefix,
                    server,
                })
            }
            (IpAddr::V6(server), IpAddr::V6(client)) => {
                if mtu < MIN_MTU_V6 {
                    return Err(AppError(format!(
                        "-a {a}: IPv6 needs an MTU of at least {MIN_MTU_V6} (have {mtu})"
                    )));
                }
                cfg.ipv6 = Some(V6Config {
                    client,
                    prefix: a.prefix,
                    server,
                })
            }
            _ => return Err(AppError(format!("-a {a}: peer of another family"))),
        }
    }
    Ok(cfg)
}

/// `a.addr + 1` if it is still inside the prefix and, for IPv4 below /31, not the broadcast.
fn next_address(a: &Cidr) -> Option<IpAddr> {
    let next: IpAddr = match a.addr {
        IpAddr::V4(v) => {
            let n = u32::from(v).checked_add(1)?;
            let host_bits = 32 - u32::from(a.prefix.min(32));
            if host_bits >= 2 && n & ((1u32 << host_bits) - 1) == (1u32 << host_bits) - 1 {
                return None;
            }
            Ipv4Addr::from(n).into()
        }
        IpAddr::V6(v) => Ipv6Addr::from(u128::from(v).checked_add(1)?).into(),
    };
    a.contains(next).then_some(next)
}

/// One side's interface configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Side {
    pub v4: Option<(Ipv4Addr, u8)>,
    pub v6: Option<(Ipv6Addr, u8)>,
    pub peer_v4: Option<Ipv4Addr>,
    pub peer_v6: Option<Ipv6Addr>,
    pub mtu: u16,
}

impl Side {
    /// What the interface is given for this side, with `routes` (`-r`) through the tunnel.
    pub fn settings(&self, routes: &[Cidr]) -> Settings {
        Settings {
            mtu: self.mtu,
            ipv4: self.v4,
            ipv6: self.v6,
            routes: routes.iter().map(|r| (r.addr, r.prefix)).collect(),
        }
    }
}

/// This side's view of a tunnel config: the server's half (`server`) or the client's.
pub fn own_side(cfg: &TunnelConfig, server: bool) -> Side {
    let pick4 = |c: &V4Config| {
        if server {
            (c.server, c.client)
        } else {
            (c.client, c.server)
        }
    };
    let pick6 = |c: &V6Config| {
        if server {
            (c.server, c.client)
        } else {
            (c.client, c.server)
        }
    };
    Side {
        v4: cfg.ipv4.as_ref().map(|c| (pick4(c).0, c.prefix)),
        v6: cfg.ipv6.as_ref().map(|c| (pick6(c).0, c.prefix)),
        peer_v4: cfg.ipv4.as_ref().map(|c| pick4(c).1),
        peer_v6: cfg.ipv6.as_ref().map(|c| pick6(c).1),
        mtu: cfg.mtu,
    }
}

/// The client's configuration from the pushed one: a client given its own address (`-a`,
/// `addresses`) keeps it, its own `-p` (`peers`) and `-m` (`mtu`) likewise; a pushed MTU above
/// `max_mtu` (what the driver's buffers were sized for) is lowered to it. Also returns warnings
/// for the log.
pub fn client_side(
    addresses: &[Cidr],
    peers: &[IpAddr],
    mtu: Option<u16>,
    pushed: &TunnelConfig,
    max_mtu: u16,
) -> (Side, Vec<String>) {
    let mut warnings = Vec::new();
    let mut s = own_side(pushed, false);
    for a in addresses {
        match a.addr {
            IpAddr::V4(v) => s.v4 = Some((v, a.prefix)),
            IpAddr::V6(v) => s.v6 = Some((v, a.prefix)),
        }
    }
    for p in peers {
        match p {
            IpAddr::V4(v) => s.peer_v4 = Some(*v),
            IpAddr::V6(v) => s.peer_v6 = Some(*v),
        }
    }
    s.mtu = match mtu {
        Some(m) => m,
        None if pushed.mtu > max_mtu => {
            warnings.push(format!(
                "the server pushed mtu {}, more than this client's {max_mtu}: using {max_mtu} \
                 (give -m to raise it)",
                pushed.mtu
            ));
            max_mtu
        }
        None => pushed.mtu,
    };
    if s.v6.is_some() && s.mtu < MIN_MTU_V6 {
        warnings.push(format!(
            "mtu {} is below IPv6's minimum of {MIN_MTU_V6}: not configuring IPv6",
            s.mtu
        ));
        s.v6 = None;
        s.peer_v6 = None;
    }
    (s, warnings)
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::app::report::describe_side;
    use crate::cli::{Command, Options, parse};

    pub(in crate::app) fn opts(s: &str) -> Options {
        let a: Vec<String> = s.split_whitespace().map(String::from).collect();
        match parse(&a).unwrap() {
            Command::Run(o) => o,
            c => panic!("{c:?}"),
        }
    }

    fn server_config(s: &str, mtu: u16) -> Result<TunnelConfig, AppError> {
        let o = opts(s);
        server_tunnel_config(&o.addresses, &o.peers, mtu)
    }

    fn client(s: &str, pushed: &TunnelConfig, max_mtu: u16) -> (Side, Vec<String>) {
        let o = opts(s);
        client_side(&o.addresses, &o.peers, o.mtu, pushed, max_mtu)
    }

    fn cidr(s: &str) -> Cidr {
        let (a, p) = s.split_once('/').unwrap();
        Cidr {
            addr: a.parse().unwrap(),
            prefix: p.parse().unwrap(),
        }
    }

    #[test]
    fn default_mtu_arithmetic() {
        assert_eq!(default_mtu(true), 1420);
        assert_eq!(default_mtu(false), 1440);
    }

    #[test]
    fn server_pushes_address_plus_one_or_peer() {
        let c = server_config("-l 1 -a 10.89.0.1/24 -a fd89::1/64", 1420).unwrap();
        assert_eq!(c.mtu, 1420);
        let v4 = c.ipv4.unwrap();
        assert_eq!(
            (v4.server, v4.client, v4.prefix),
            (
                "10.89.0.1".parse().unwrap(),
                "10.89.0.2".parse().unwrap(),
                24
            )
        );
        let v6 = c.ipv6.unwrap();
        assert_eq!(v6.client, "fd89::2".parse::<Ipv6Addr>().unwrap());
        let c = server_config("-l 1 -p 10.89.0.77", 1440).unwrap();
        assert_eq!(
            c.ipv4.unwrap().client,
            "10.89.0.77".parse::<Ipv4Addr>().unwrap()
        );
        assert!(c.ipv6.is_none());
        // No room after the address: a clear error suggesting -p.
        let e = server_config("-l 1 -a 10.89.0.254/24", 1440).unwrap_err();
        assert!(e.0.contains("give it with -p"), "{e}");
        assert!(server_config("-l 1 -a 10.89.0.255/24", 1440).is_err());
        assert!(server_config("-l 1 -a 10.0.0.0/31", 1440).is_ok());
        assert!(server_config("-l 1 -a 10.0.0.1/32", 1440).is_err());
        assert!(server_config("-l 1 -a 255.255.255.255/0", 1440).is_err());
        assert!(server_config("-l 1 -a fd::1/64", 1000).is_err());
    }

    pub(in crate::app) fn pushed() -> TunnelConfig {
        server_config("-l 1 -a 10.89.0.1/24 -a fd89::1/64", 1420).unwrap()
    }

    #[test]
    fn client_takes_push_unless_given_its_own() {
        let (s, w) = client("-s 192.0.2.1:1", &pushed(), 1440);
        assert!(w.is_empty());
        assert_eq!(s.v4, Some(("10.89.0.2".parse().unwrap(), 24)));
        assert_eq!(s.peer_v4, Some("10.89.0.1".parse().unwrap()));
        assert_eq!(s.v6, Some(("fd89::2".parse().unwrap(), 64)));
        assert_eq!(s.mtu, 1420);
        assert_eq!(
            describe_side(&s),
            "(address 10.89.0.2/24 fd89::2/64, peer 10.89.0.1 fd89::1, mtu 1420)"
        );
        let (s, _) = client(
            "-s 192.0.2.1:1 -a 10.89.0.9/24 -p 10.89.0.1 -m 1300",
            &pushed(),
            1300,
        );
        assert_eq!(s.v4, Some(("10.89.0.9".parse().unwrap(), 24)));
        assert_eq!(s.v6, Some(("fd89::2".parse().unwrap(), 64)));
        assert_eq!(s.mtu, 1300);
        // A pushed MTU above the client's buffers is lowered, with a warning.
        let mut big = pushed();
        big.mtu = 9000;
        let (s, w) = client("-s 192.0.2.1:1", &big, 1440);
        assert_eq!(s.mtu, 1440);
        assert!(w[0].contains("pushed mtu 9000"), "{w:?}");
        // Below 1280 IPv6 is left out.
        let (s, w) = client("-s 192.0.2.1:1 -m 1000", &pushed(), 1000);
        assert!(s.v6.is_none() && s.v4.is_some());
        assert!(w[0].contains("not configuring IPv6"));
    }

    #[test]
    fn side_settings_carry_addresses_mtu_and_routes() {
        let s = own_side(&pushed(), true);
        let routes = [cidr("192.168.77.0/24"), cidr("2001:db8:7::/48")];
        assert_eq!(
            s.settings(&routes),
            Settings {
                mtu: 1420,
                ipv4: Some((Ipv4Addr::new(10, 89, 0, 1), 24)),
                ipv6: Some(("fd89::1".parse().unwrap(), 64)),
                routes: vec![
                    ("192.168.77.0".parse().unwrap(), 24),
                    ("2001:db8:7::".parse().unwrap(), 48)
                ],
            }
        );
    }

    #[test]
    fn cidr_helpers() {
        assert!(cidr("10.0.0.0/8").contains("10.255.1.1".parse().unwrap()));
        assert!(!cidr("10.0.0.0/8").contains("11.0.0.1".parse().unwrap()));
        assert!(!cidr("10.0.0.0/8").contains("::1".parse().unwrap()));
        assert!(cidr("0.0.0.0/0").contains("1.2.3.4".parse().unwrap()));
        assert!(cidr("fd00::/8").contains("fdff::1".parse().unwrap()));
        assert!(cidr("::/0").host_bits_zero());
        assert!(cidr("1.2.3.4/32").host_bits_zero());
        assert_eq!(cidr("fd89::1/64").to_string(), "fd89::1/64");
        assert_eq!(cidr("192.168.1.1/16").network(), cidr("192.168.0.0/16"));
        assert_eq!(cidr("2001:db8::1/64").network(), cidr("2001:db8::/64"));
        assert_eq!(cidr("10.1.2.3/0").network(), cidr("0.0.0.0/0"));
    }
}
