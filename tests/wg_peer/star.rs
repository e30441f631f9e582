//! [`Star`]: the keys and configurations of one server and N clients on a [`WgNet`], each client
//! a peer of the server only, with a preshared key per client. The clients know the server's
//! endpoint; the server knows no client's, so a client always initiates unless a test gives the
//! server an endpoint ([`WgPeer::set_endpoint`]).
//!
//! A foreign implementation is started on a site with [`Star::start_server`] or
//! [`Star::start_client`]; ringtun gets the same configuration as a file from
//! [`Star::write_wg_quick`], so either end of any tunnel can be either implementation.

use super::config::{InterfaceSpec, PeerSpec};
use super::keys::{self, Keypair, SecretKey};
use super::peer::{WgImpl, WgPeer};
use super::topology::{Site, WgNet};
use std::path::PathBuf;

/// The server's listen port.
pub const SERVER_PORT: u16 = 51820;
/// Every client's listen port (fixed, so that the server can be given a client's endpoint).
pub const CLIENT_PORT: u16 = 51821;
/// Tunnel MTU: WireGuard's usual 1420 (1500 - 80), written out so every implementation agrees.
pub const TUNNEL_MTU: u32 = 1420;

pub struct Star {
    pub net: WgNet,
    pub server_keys: Keypair,
    pub client_keys: Vec<Keypair>,
    /// The preshared key between the server and client `i`.
    pub psks: Vec<SecretKey>,
}

impl Star {
    /// A fresh [`WgNet`] with `clients` clients, and fresh keys for everyone.
    pub fn new(clients: usize) -> Star {
        let net = WgNet::new(clients);
        Star {
            server_keys: keys::keypair(),
            client_keys: (0..clients).map(|_| keys::keypair()).collect(),
            psks: (0..clients).map(|_| keys::preshared_key()).collect(),
            net,
        }
    }

    /// Client `i` as the server's peer: its key, the shared PSK, its tunnel address only.
    pub fn client_as_peer(&self, i: usize) -> PeerSpec {
        let mut p = PeerSpec::new(
            &self.client_keys[i].public,
            &[&self.net.clients[i].tunnel_host()],
        );
        p.preshared_key = Some(self.psks[i].clone());
        p
    }

    /// The server as client `i`'s peer: the whole tunnel subnet, and where to find it.
    pub fn server_as_peer(&self, i: usize) -> PeerSpec {
        let subnet = format!(
            "{}/{}",
            tunnel_network(&self.net.server),
            super::TUNNEL_PREFIX
        );
        let mut p = PeerSpec::new(&self.server_keys.public, &[&subnet]);
        p.preshared_key = Some(self.psks[i].clone());
        p.endpoint = Some(self.net.server_endpoint(i, SERVER_PORT));
        p
    }

    /// The server's interface: every client a peer.
    pub fn server_spec(&self) -> InterfaceSpec {
        let mut spec = self.site_spec(&self.net.server, &self.server_keys, SERVER_PORT);
        spec.peers = (0..self.client_keys.len())
            .map(|i| self.client_as_peer(i))
            .collect();
        spec
    }

    /// Client `i`'s interface: the server its one peer.
    pub fn client_spec(&self, i: usize) -> InterfaceSpec {
        let mut spec = self.site_spec(&self.net.clients[i], &self.client_keys[i], CLIENT_PORT);
        spec.peers = vec![self.server_as_peer(i)];
        spec
    }

    fn site_spec(&self, site: &Site, keys: &Keypair, port: u16) -> InterfaceSpec {
        let mut spec = InterfaceSpec::new(keys.private.clone());
        spec.listen_port = Some(port);
        spec.addresses = vec![site.tunnel_cidr()];
        spec.mtu = Some(TUNNEL_MTU);
        spec
    }

    /// Starts `imp` as the server with [`server_spec`](Self::server_spec).
    pub fn start_server(&self, imp: WgImpl) -> WgPeer {
        self.start(&self.net.server, imp, self.server_spec())
    }

    /// Starts `imp` as client `i` with [`client_spec`](Self::client_spec).
    pub fn start_client(&self, i: usize, imp: WgImpl) -> WgPeer {
        self.start(&self.net.clients[i], imp, self.client_spec(i))
    }

    /// Starts `imp` on `site` with any configuration.
    pub fn start(&self, site: &Site, imp: WgImpl, spec: InterfaceSpec) -> WgPeer {
        WgPeer::start(imp, &site.ns, &site.ifname, &self.net.dir, spec)
    }

    /// Writes `spec` as a wg-quick style file in the scratch dir (mode 0600) and returns its path:
    /// the `-c` argument for ringtun.
    pub fn write_wg_quick(&self, name: &str, spec: &InterfaceSpec) -> PathBuf {
        let path = self.net.file(name);
        spec.write_wg_quick(&path);
        path
    }
}

/// The network address of a site's tunnel subnet (`10.77.0.0` for `10.77.0.1/24`).
fn tunnel_network(site: &Site) -> std::net::Ipv4Addr {
    let mask = u32::MAX << (32 - u32::from(super::TUNNEL_PREFIX));
    (u32::from(site.tunnel_ip) & mask).into()
}
