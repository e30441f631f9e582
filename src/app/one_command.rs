//! The one-command mode's plan (`ringtun -l PORT` / `ringtun -s HOST:PORT`): one peer each side,
//! keys derived from the shared secret ([`crate::core::one_command`]), addresses by convention.
//!
//! - The server has the client as its peer, with no endpoint (it learns it from the client's
//!   handshake, and follows it when it moves), and AllowedIPs = the client's host addresses (each
//!   of its own addresses + 1, as /32 or /128) plus its `-r` networks.
//! - The client has the server as its peer, at the `-s` address, with AllowedIPs = the networks of
//!   its own addresses (the tunnel subnets) plus its `-r` networks, and a persistent keepalive
//!   only with `-K`.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use super::AppError;
use super::addressing::{InterfacePlan, next_address};
use super::plan::{Plan, Start};
use crate::cli::{Mode, Options};
use crate::core::device::{DeviceConfig, PeerConfig};
use crate::core::ip_prefix::IpPrefix;
use crate::core::one_command::{OneCommandKeys, SECRET_LEN};

/// The plan for a one-command `opts` (`-l` or `-s`) and the shared `secret`.
pub fn plan(opts: &Options, secret: &[u8; SECRET_LEN]) -> Result<Plan, AppError> {
    let OneCommandKeys {
        server_private,
        client_private,
        preshared,
    } = OneCommandKeys::derive(secret);
    let o = &opts.one_command;
    let mtu = opts.effective_mtu();
    let (private, peer_private, bind, start, mut peer_allowed, endpoint, keepalive) =
        match opts.mode {
            Mode::Listen(listen) => (
                server_private,
                client_private,
                listen,
                Start::Listen,
                client_host_addresses(&o.addresses)?,
                None,
                None,
            ),
            Mode::Connect(server) => (
                client_private,
                server_private,
                SocketAddr::new(wildcard_like(server.ip()), 0),
                Start::Connect(server),
                o.addresses.iter().map(IpPrefix::masked).collect(),
                Some(server),
                o.keepalive,
            ),
            Mode::ConfigFile(_) | Mode::Interface { .. } => {
                return Err(AppError::new(
                    "internal error: only -l and -s have a one-command plan",
                ));
            }
        };
    peer_allowed.extend(o.routes.iter().copied());
    let mut peer = PeerConfig::new(crate::core::one_command::public_key(&peer_private));
    drop(peer_private);
    peer.preshared_key = Some(preshared);
    peer.allowed_ips = peer_allowed;
    peer.endpoint = endpoint;
    peer.persistent_keepalive = keepalive;
    let interface = InterfacePlan::new(mtu, o.addresses.clone(), peer.allowed_ips.clone());
    let mut device = DeviceConfig::new(private);
    // The server's port is the one the client was told; the client's is any free one.
    device.listen_port = Some(bind.port()).filter(|&p| p != 0);
    device.peers.push(peer);
    Ok(Plan {
        device,
        interface,
        bind,
        start,
    })
}

/// The client's addresses as the server sees them: each of the server's + 1, as a host prefix.
fn client_host_addresses(server: &[IpPrefix]) -> Result<Vec<IpPrefix>, AppError> {
    server
        .iter()
        .map(|a| {
            next_address(a).map(IpPrefix::host).ok_or_else(|| {
                AppError::config(format!(
                    "-a {a}: no room for the client's address ({} + 1) in the prefix: choose \
                     another address, or write configuration files (ringtun --help)",
                    a.addr()
                ))
            })
        })
        .collect()
}

/// The wildcard of `ip`'s family: a client's socket reaches its server over that family.
fn wildcard_like(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => Ipv4Addr::UNSPECIFIED.into(),
        IpAddr::V6(_) => Ipv6Addr::UNSPECIFIED.into(),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::app::addressing::tests::p;
    use crate::cli::{Command, parse};

    pub(crate) fn opts(s: &str) -> Options {
        let a: Vec<String> = s.split_whitespace().map(String::from).collect();
        match parse(&a).unwrap() {
            Command::Run(o) => o,
            c => panic!("{c:?}"),
        }
    }

    const SECRET: [u8; 32] = [7; 32];

    #[test]
    fn server_and_client_are_each_other_s_peer() {
        let server = plan(&opts("-l 51820"), &SECRET).unwrap();
        let client = plan(&opts("-s 192.0.2.1:51820"), &SECRET).unwrap();
        let keys = OneCommandKeys::derive(&SECRET);
        assert_eq!(server.device.private_key, keys.server_private);
        assert_eq!(client.device.private_key, keys.client_private);
        let (sp, cp) = (&server.device.peers[..], &client.device.peers[..]);
        assert_eq!(sp.len(), 1);
        assert_eq!(cp.len(), 1);
        assert_eq!(sp[0].public_key, keys.client_public());
        assert_eq!(cp[0].public_key, keys.server_public());
        assert_eq!(sp[0].preshared_key.as_ref(), Some(&keys.preshared));
        assert_eq!(cp[0].preshared_key.as_ref(), Some(&keys.preshared));
        assert_eq!(server.device.validate(), Ok(()));
        assert_eq!(client.device.validate(), Ok(()));

        // The server waits for the client's handshake, on the port it was given.
        assert_eq!(sp[0].endpoint, None);
        assert_eq!(server.device.listen_port, Some(51820));
        assert_eq!(server.bind, "[::]:51820".parse().unwrap());
        assert_eq!(server.start, Start::Listen);
        assert_eq!(sp[0].allowed_ips, vec![p("10.89.0.2/32")]);
        assert_eq!(server.interface.addresses, vec![p("10.89.0.1/24")]);
        assert_eq!(server.interface.mtu, 1420);
        assert!(server.interface.routes.is_empty());

        // The client knows where the server is; no keepalive unless asked.
        assert_eq!(cp[0].endpoint, Some("192.0.2.1:51820".parse().unwrap()));
        assert_eq!(cp[0].persistent_keepalive, None);
        assert_eq!(client.device.listen_port, None);
        assert_eq!(client.bind, "0.0.0.0:0".parse().unwrap());
        assert_eq!(cp[0].allowed_ips, vec![p("10.89.0.0/24")]);
        assert_eq!(client.interface.addresses, vec![p("10.89.0.2/24")]);
        assert_eq!(client.interface.mtu, 1420, "the server's, unpushed");
        assert!(client.interface.routes.is_empty());
    }

    #[test]
    fn addresses_routes_and_keepalive_from_the_flags() {
        let server = plan(
            &opts("-l 0.0.0.0:4000 -a 10.7.0.1/16 -a fd07::1/64 -r 192.168.5.0/24 -m 1300"),
            &SECRET,
        )
        .unwrap();
        assert_eq!(
            server.device.peers[0].allowed_ips,
            vec![p("10.7.0.2/32"), p("fd07::2/128"), p("192.168.5.0/24")]
        );
        assert_eq!(server.interface.routes, vec![p("192.168.5.0/24")]);
        assert_eq!(server.interface.mtu, 1300);
        assert_eq!(server.bind, "0.0.0.0:4000".parse().unwrap());

        let client = plan(
            &opts("-s [2001:db8::1]:4000 -a 10.7.0.2/16 -a fd07::2/64 -r 0.0.0.0/1 -K 25"),
            &SECRET,
        )
        .unwrap();
        let peer = &client.device.peers[0];
        assert_eq!(
            peer.allowed_ips,
            vec![p("10.7.0.0/16"), p("fd07::/64"), p("0.0.0.0/1")]
        );
        assert_eq!(peer.persistent_keepalive, Some(25));
        assert_eq!(client.bind, "[::]:0".parse().unwrap());
        assert_eq!(client.interface.routes, vec![p("0.0.0.0/1")]);
        assert_eq!(client.interface.mtu, 1420);
        assert_eq!(
            client.start,
            Start::Connect("[2001:db8::1]:4000".parse().unwrap())
        );
    }

    #[test]
    fn a_server_address_without_room_for_the_client_is_refused() {
        let e = plan(&opts("-l 1 -a 10.89.0.254/24"), &SECRET).unwrap_err();
        assert_eq!(e.status, 2);
        assert!(
            e.message
                .starts_with("-a 10.89.0.254/24: no room for the client's address")
        );
        assert!(plan(&opts("-l 1 -a 10.0.0.1/32"), &SECRET).is_err());
    }

    #[test]
    fn another_secret_gives_other_keys() {
        let a = plan(&opts("-l 1"), &SECRET).unwrap();
        let b = plan(&opts("-l 1"), &[8; 32]).unwrap();
        assert_ne!(a.device.private_key, b.device.private_key);
        assert_ne!(a.device.peers[0].public_key, b.device.peers[0].public_key);
    }
}
