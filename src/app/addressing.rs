//! Tunnel addressing, pure: the default MTU, the one-command mode's address convention, and what
//! the interface is given (addresses, MTU, routes from the peers' AllowedIPs). No syscalls:
//! everything here is unit-tested without root.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::core::ip_prefix::IpPrefix;
use crate::sys::iface::Settings;

/// The one-command server's address when no `-a` is given: 10.89.0.1/24.
pub fn default_server_address() -> IpPrefix {
    v4_24(Ipv4Addr::new(10, 89, 0, 1))
}

/// The one-command client's address when no `-a` is given: the server's + 1, 10.89.0.2/24.
pub fn default_client_address() -> IpPrefix {
    v4_24(Ipv4Addr::new(10, 89, 0, 2))
}

fn v4_24(addr: Ipv4Addr) -> IpPrefix {
    // 24 fits an IPv4 address, so `new` cannot refuse it; the fallback only avoids a panic path.
    IpPrefix::new(addr.into(), 24).unwrap_or(IpPrefix::host(addr.into()))
}

/// Smallest tunnel MTU accepted (IPv4's minimum datagram every host must take).
pub const MIN_MTU: u16 = 576;

/// Smallest MTU of a tunnel that carries IPv6 (IPv6's minimum link MTU).
pub const MIN_MTU_V6: u16 = 1280;

/// Tunnel MTU that fits a 1500-byte underlay path:
/// 1500 − IP header (40 for IPv6, 20 for IPv4) − 8 (UDP) − 32 (WireGuard: 16-byte data message
/// header + 16-byte tag) = 1420 over IPv6, 1440 over IPv4.
pub fn default_mtu(underlay_ipv6: bool) -> u16 {
    let ip_header = if underlay_ipv6 { 40 } else { 20 };
    1500 - ip_header - 8 - crate::core::DATA_OVERHEAD as u16
}

/// The address after `a`'s (`a.addr + 1`) if it is still inside the prefix and, for IPv4 below
/// /31, not the broadcast: the one-command client's address, given the server's.
pub fn next_address(a: &IpPrefix) -> Option<IpAddr> {
    let next: IpAddr = match a.addr() {
        IpAddr::V4(v) => {
            let n = u32::from(v).checked_add(1)?;
            let host_bits = 32 - u32::from(a.prefix_len().min(32));
            if host_bits >= 2 && n & ((1u32 << host_bits) - 1) == (1u32 << host_bits) - 1 {
                return None;
            }
            Ipv4Addr::from(n).into()
        }
        IpAddr::V6(v) => Ipv6Addr::from(u128::from(v).checked_add(1)?).into(),
    };
    a.contains(next).then_some(next)
}

/// What the interface is given: addresses, MTU, link up, and routes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InterfacePlan {
    pub mtu: u16,
    /// Addresses with their prefix length (host bits kept).
    pub addresses: Vec<IpPrefix>,
    /// Networks routed into the tunnel (host bits zero), each once.
    pub routes: Vec<IpPrefix>,
    /// `0.0.0.0/0` and `::/0` among the AllowedIPs: not routed (see [`routes_for`]).
    pub full_tunnel: Vec<IpPrefix>,
}

impl InterfacePlan {
    /// The plan for `addresses` and `mtu`, routing the peers' `allowed_ips` (see [`routes_for`]).
    pub fn new(
        mtu: u16,
        addresses: Vec<IpPrefix>,
        allowed_ips: impl IntoIterator<Item = IpPrefix>,
    ) -> Self {
        let (routes, full_tunnel) = routes_for(&addresses, allowed_ips);
        InterfacePlan {
            mtu,
            addresses,
            routes,
            full_tunnel,
        }
    }

    pub fn settings(&self) -> Settings {
        Settings {
            mtu: self.mtu,
            addresses: self
                .addresses
                .iter()
                .map(|a| (a.addr(), a.prefix_len()))
                .collect(),
            routes: self
                .routes
                .iter()
                .map(|r| (r.addr(), r.prefix_len()))
                .collect(),
        }
    }

    /// `address 10.0.0.1/24 fd00::1/64, mtu 1420, routes 10.1.0.0/16` for the log.
    pub fn describe(&self) -> String {
        let list = |v: &[IpPrefix]| {
            if v.is_empty() {
                "none".to_string()
            } else {
                v.iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(" ")
            }
        };
        let mut s = format!("address {}, mtu {}", list(&self.addresses), self.mtu);
        if !self.routes.is_empty() {
            s.push_str(&format!(", routes {}", list(&self.routes)));
        }
        s
    }
}

/// Whether `inner` lies wholly inside `outer`'s network.
fn covers(outer: &IpPrefix, inner: &IpPrefix) -> bool {
    outer.is_ipv4() == inner.is_ipv4()
        && inner.prefix_len() >= outer.prefix_len()
        && outer.contains(inner.addr())
}

/// The routes for the peers' `allowed_ips`, as wg-quick adds them: each entry (host bits cleared)
/// once, leaving out what an interface address's own prefix already routes here (the kernel adds
/// that route with the address). `0.0.0.0/0` and `::/0` are returned apart and not routed: a
/// default route into the tunnel would carry the tunnel's own datagrams too, unless policy
/// routing (wg-quick's fwmark rules) keeps them out.
pub fn routes_for(
    addresses: &[IpPrefix],
    allowed_ips: impl IntoIterator<Item = IpPrefix>,
) -> (Vec<IpPrefix>, Vec<IpPrefix>) {
    let own: Vec<IpPrefix> = addresses.iter().map(IpPrefix::masked).collect();
    let mut routes: Vec<IpPrefix> = Vec::new();
    let mut full_tunnel: Vec<IpPrefix> = Vec::new();
    for allowed in allowed_ips {
        let net = allowed.masked();
        if net.prefix_len() == 0 {
            if !full_tunnel.contains(&net) {
                full_tunnel.push(net);
            }
        } else if !own.iter().any(|o| covers(o, &net)) && !routes.contains(&net) {
            routes.push(net);
        }
    }
    (routes, full_tunnel)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn p(s: &str) -> IpPrefix {
        s.parse().unwrap()
    }

    #[test]
    fn default_mtu_arithmetic() {
        assert_eq!(default_mtu(true), 1420);
        assert_eq!(default_mtu(false), 1440);
    }

    #[test]
    fn defaults_are_the_convention() {
        assert_eq!(default_server_address(), p("10.89.0.1/24"));
        assert_eq!(default_client_address(), p("10.89.0.2/24"));
        assert_eq!(
            next_address(&default_server_address()),
            Some(default_client_address().addr())
        );
    }

    #[test]
    fn next_address_stays_inside_the_prefix() {
        assert_eq!(
            next_address(&p("fd89::1/64")),
            Some("fd89::2".parse().unwrap())
        );
        assert_eq!(next_address(&p("10.89.0.254/24")), None, "broadcast");
        assert_eq!(next_address(&p("10.89.0.255/24")), None);
        assert_eq!(
            next_address(&p("10.0.0.0/31")),
            Some("10.0.0.1".parse().unwrap())
        );
        assert_eq!(next_address(&p("10.0.0.1/32")), None);
        assert_eq!(next_address(&p("255.255.255.255/0")), None);
        assert_eq!(
            next_address(&p("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/0")),
            None
        );
    }

    #[test]
    fn routes_leave_out_what_the_address_prefix_covers() {
        let own = [p("10.0.0.1/24"), p("fd00::1/64")];
        let allowed = [
            p("10.0.0.2/32"),    // inside 10.0.0.0/24: the kernel's prefix route has it
            p("10.0.0.0/24"),    // the same network
            p("10.0.0.0/16"),    // wider: routed
            p("192.168.7.9/24"), // host bits cleared
            p("192.168.7.0/24"), // the same again: once
            p("fd00::2/128"),
            p("fd01::/64"),
            p("0.0.0.0/0"),
            p("::/0"),
            p("::/0"),
        ];
        let (routes, full) = routes_for(&own, allowed);
        assert_eq!(
            routes,
            vec![p("10.0.0.0/16"), p("192.168.7.0/24"), p("fd01::/64")]
        );
        assert_eq!(full, vec![p("0.0.0.0/0"), p("::/0")]);
        // No address at all: everything but the defaults is routed.
        let (routes, _) = routes_for(&[], [p("10.0.0.2/32"), p("0.0.0.0/0")]);
        assert_eq!(routes, vec![p("10.0.0.2/32")]);
        // An address of the other family covers nothing.
        let (routes, _) = routes_for(&[p("fd00::1/8")], [p("10.0.0.0/8")]);
        assert_eq!(routes, vec![p("10.0.0.0/8")]);
    }

    #[test]
    fn plan_settings_and_description() {
        let plan = InterfacePlan::new(
            1420,
            vec![p("10.89.0.1/24"), p("fd89::1/64")],
            [p("10.89.0.2/32"), p("192.168.77.0/24"), p("0.0.0.0/0")],
        );
        assert_eq!(
            plan.settings(),
            Settings {
                mtu: 1420,
                addresses: vec![
                    ("10.89.0.1".parse().unwrap(), 24),
                    ("fd89::1".parse().unwrap(), 64)
                ],
                routes: vec![("192.168.77.0".parse().unwrap(), 24)],
            }
        );
        assert_eq!(plan.full_tunnel, vec![p("0.0.0.0/0")]);
        assert_eq!(
            plan.describe(),
            "address 10.89.0.1/24 fd89::1/64, mtu 1420, routes 192.168.77.0/24"
        );
        let bare = InterfacePlan::new(1400, Vec::new(), []);
        assert_eq!(bare.describe(), "address none, mtu 1400");
    }
}
