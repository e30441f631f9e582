//! Configuring the tunnel's network interface, behind one small safe API: MTU, queue length and
//! link state (`SIOC*` ioctls, [`super::tun`]), addresses and routes (rtnetlink,
//! [`super::netlink`]), and the per-interface IPv6 switch (the `disable_ipv6` sysctl).
//!
//! The program configures its interface only through this module, so the order the kernel needs
//! is kept in one place.

use std::io;
use std::net::IpAddr;

use super::{netlink, tun};

/// What an interface is given, applied by [`Interface::configure`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settings {
    pub(crate) mtu: u16,
    /// Addresses with their prefix length (host bits kept: the address itself), any number of
    /// either family (wg-quick's `Address` may list several).
    pub(crate) addresses: Vec<(IpAddr, u8)>,
    /// Networks routed out of the interface (host bits zero).
    pub(crate) routes: Vec<(IpAddr, u8)>,
}

/// A network interface (here: the TUN device's), by name and index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Interface {
    name: String,
    index: u32,
}

impl Interface {
    /// The freshly created TUN interface `name`: its transmit queue raised to
    /// [`tun::DEFAULT_TXQUEUELEN`], its MTU set to `mtu`, its index looked up.
    pub(crate) fn prepare(name: &str, mtu: u16) -> io::Result<Interface> {
        tun::set_txqueuelen(name, tun::DEFAULT_TXQUEUELEN)?;
        tun::set_mtu(name, mtu)?;
        Ok(Interface {
            name: name.to_owned(),
            index: tun::if_index(name)?,
        })
    }

    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    /// MTU, addresses, link up, routes. The order matters: IPv6 needs an MTU of at least 1280
    /// first (below it the kernel removes IPv6 from the interface), and routes need the link up.
    /// Errors are one line naming what failed.
    pub(crate) fn configure(&self, s: &Settings) -> io::Result<()> {
        tun::set_mtu(&self.name, s.mtu)?;
        if s.addresses.iter().any(|(a, _)| a.is_ipv6()) {
            netlink::ensure_ipv6_enabled(&self.name)?;
        }
        for &(addr, prefix) in &s.addresses {
            netlink::add_address(self.index, addr, prefix)?;
        }
        tun::set_up(&self.name)?;
        for &(dst, prefix) in &s.routes {
            netlink::add_route(self.index, dst, prefix)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sys::private_netns::run_isolated;
    use crate::sys::testnet::ip;
    use std::net::Ipv4Addr;

    #[test]
    #[ignore = "needs root"]
    fn prepare_and_configure_in_order() {
        run_isolated(|| {
            let t = tun::open("rtiface0").unwrap();
            let i = Interface::prepare(&t.name, 1400).unwrap();
            assert_eq!(i.name(), "rtiface0");
            assert_eq!(
                tun::txqueuelen("rtiface0").unwrap(),
                tun::DEFAULT_TXQUEUELEN
            );
            assert_eq!(tun::mtu("rtiface0").unwrap(), 1400);
            i.configure(&Settings {
                mtu: 1300,
                addresses: vec![
                    (Ipv4Addr::new(10, 77, 0, 1).into(), 24),
                    ("fd77::1".parse().unwrap(), 64),
                    (Ipv4Addr::new(10, 79, 0, 1).into(), 32),
                    ("fd79::1".parse().unwrap(), 128),
                ],
                routes: vec![("10.78.0.0".parse().unwrap(), 16)],
            })
            .unwrap();
            let link = ip(&["link", "show", "dev", "rtiface0"]);
            assert!(link.contains("mtu 1300") && link.contains(",UP"), "{link}");
            let addr = ip(&["addr", "show", "dev", "rtiface0"]);
            assert!(addr.contains("inet 10.77.0.1/24"), "{addr}");
            assert!(addr.contains("inet6 fd77::1/64"), "{addr}");
            assert!(addr.contains("inet 10.79.0.1/32"), "{addr}");
            assert!(addr.contains("inet6 fd79::1/128"), "{addr}");
            let r4 = ip(&["-4", "route", "show", "dev", "rtiface0"]);
            assert!(
                r4.contains("10.77.0.0/24 proto kernel scope link src 10.77.0.1"),
                "{r4}"
            );
            assert!(r4.contains("10.78.0.0/16 proto static"), "{r4}");
            // The same route again: the error names it, on one line.
            let e = i
                .configure(&Settings {
                    mtu: 1300,
                    addresses: Vec::new(),
                    routes: vec![("10.78.0.0".parse().unwrap(), 16)],
                })
                .unwrap_err()
                .to_string();
            assert!(e.starts_with("cannot add route 10.78.0.0/16"), "{e}");
            assert!(!e.contains('\n'), "{e}");
        });
    }
}
