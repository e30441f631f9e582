//! [`WgNet`]: one server namespace and N client namespaces, each client joined to the server by
//! its own veth pair, for tunnels between WireGuard implementations.
//!
//! Underlay (the veth links): client `i` is `10.202.i.2/24` on `veth0` in its namespace, and the
//! server is `10.202.i.1/24` on `veth<i>` in its own. Tunnel addresses: the server `10.77.0.1`,
//! client `i` `10.77.0.(2 + i)`, all in `10.77.0.0/24`. A client that roams moves to (or is
//! translated to) `10.202.i.3`. Those addresses exist only inside the namespaces made here, which
//! have no default route: nothing can leave them.
//!
//! Names: namespaces `rt-<pid>-<n>-s` (server) and `rt-<pid>-<n>-ca`, `-cb`, … (clients), the
//! scratch dir `$TMPDIR/ringtun-test-<pid>-<n>`, the shapes `scripts/test.sh` removes after a
//! killed run; `n` counts from 1000 so it never meets `tests/common`'s `TestNet` numbers in the
//! same process. Tunnel interfaces are `rtw<pid>-<k>`: unique on the whole machine, because the
//! userspace API sockets of all namespaces share `/var/run/wireguard/`.
//!
//! Everything is removed on drop, also after a panic (the scratch dir is then kept and named).

use super::uapi;
use crate::common::{require_root, run, run_ok};
use std::fs;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::thread;

static NEXT_NET: AtomicU32 = AtomicU32::new(1000);
static NEXT_IF: AtomicU32 = AtomicU32::new(0);

/// The source port a client's datagrams get after [`WgNet::rebind_client`].
pub const REBOUND_PORT: u16 = 40000;

/// Prefix length of the tunnel addresses.
pub const TUNNEL_PREFIX: u8 = 24;

/// One tunnel end: its namespace, the name its tunnel interface gets, and its tunnel address.
#[derive(Clone, Debug)]
pub struct Site {
    pub ns: String,
    pub ifname: String,
    pub tunnel_ip: Ipv4Addr,
}

impl Site {
    /// The tunnel address with its prefix, e.g. `10.77.0.1/24`.
    pub fn tunnel_cidr(&self) -> String {
        format!("{}/{TUNNEL_PREFIX}", self.tunnel_ip)
    }

    /// The tunnel address alone, e.g. `10.77.0.1/32` (what the other end's AllowedIPs name).
    pub fn tunnel_host(&self) -> String {
        format!("{}/32", self.tunnel_ip)
    }
}

/// A server and `clients.len()` clients. See the module docs for the addressing.
pub struct WgNet {
    pub server: Site,
    pub clients: Vec<Site>,
    /// Scratch directory for logs and config files.
    pub dir: PathBuf,
    created: Vec<String>,
}

impl WgNet {
    /// A server and `clients` clients (1 to 26), links up and addressed.
    pub fn new(clients: usize) -> WgNet {
        require_root();
        assert!(
            (1..=26).contains(&clients),
            "WgNet: 1 to 26 clients, not {clients}"
        );
        let pid = std::process::id();
        let n = NEXT_NET.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("ringtun-test-{pid}-{n}"));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).expect("create test dir");
        let site = |suffix: &str, tunnel_ip| Site {
            ns: format!("rt-{pid}-{n}-{suffix}"),
            ifname: unique_ifname(),
            tunnel_ip,
        };
        let mut net = WgNet {
            server: site("s", Ipv4Addr::new(10, 77, 0, 1)),
            clients: (0..clients)
                .map(|i| {
                    let letter = char::from(b'a' + i as u8);
                    site(&format!("c{letter}"), Ipv4Addr::new(10, 77, 0, 2 + i as u8))
                })
                .collect(),
            dir,
            created: Vec::new(),
        };
        // From here on a panic drops `net`, which removes whatever was created so far.
        let all: Vec<String> = std::iter::once(&net.server)
            .chain(&net.clients)
            .map(|s| s.ns.clone())
            .collect();
        for ns in all {
            run_ok(&["ip", "netns", "add", &ns]);
            net.created.push(ns.clone());
            run_ok(&["ip", "-n", &ns, "link", "set", "lo", "up"]);
        }
        for i in 0..clients {
            let (server_dev, client) = (format!("veth{i}"), net.clients[i].ns.clone());
            run_ok(&[
                "ip",
                "link",
                "add",
                &server_dev,
                "netns",
                &net.server.ns,
                "type",
                "veth",
                "peer",
                "name",
                "veth0",
                "netns",
                &client,
            ]);
            for (ns, dev, ip) in [
                (&net.server.ns, server_dev.as_str(), net.server_underlay(i)),
                (&client, "veth0", net.client_underlay(i)),
            ] {
                run_ok(&[
                    "ip",
                    "-n",
                    ns,
                    "addr",
                    "add",
                    &format!("{ip}/24"),
                    "dev",
                    dev,
                ]);
                run_ok(&["ip", "-n", ns, "link", "set", dev, "mtu", "1500", "up"]);
            }
        }
        net
    }

    /// The server's address on client `i`'s link.
    pub fn server_underlay(&self, i: usize) -> Ipv4Addr {
        Ipv4Addr::new(10, 202, i as u8, 1)
    }

    /// Client `i`'s address on its link.
    pub fn client_underlay(&self, i: usize) -> Ipv4Addr {
        Ipv4Addr::new(10, 202, i as u8, 2)
    }

    /// Where client `i` reaches the server's `port`.
    pub fn server_endpoint(&self, i: usize, port: u16) -> SocketAddr {
        SocketAddr::new(self.server_underlay(i).into(), port)
    }

    /// Where the server reaches client `i`'s `port`.
    pub fn client_endpoint(&self, i: usize, port: u16) -> SocketAddr {
        SocketAddr::new(self.client_underlay(i).into(), port)
    }

    /// Client `i` moves on its link: its address `10.202.i.2` is replaced by `10.202.i.3` (the
    /// old one deleted first, so nothing is sent from it afterwards; the prefix and so the route
    /// to the server stay). Returns the new address. Once per client, and not with
    /// [`rebind_client`](Self::rebind_client).
    pub fn roam_client(&self, i: usize) -> Ipv4Addr {
        let (old, new) = (self.client_underlay(i), self.roamed_client_underlay(i));
        let ns = &self.clients[i].ns;
        let cidr = |ip: Ipv4Addr| format!("{ip}/24");
        run_ok(&["ip", "-n", ns, "addr", "del", &cidr(old), "dev", "veth0"]);
        run_ok(&["ip", "-n", ns, "addr", "add", &cidr(new), "dev", "veth0"]);
        new
    }

    /// Client `i` goes behind a NAT whose mapping is new: from now on what it sends from UDP
    /// `port` leaves its namespace from `10.202.i.3`, port [`REBOUND_PORT`], and the answers are
    /// translated back. The client itself keeps its address and socket, as a host behind a NAT
    /// that forgot its mapping does. (An nft `snat` in the client's namespace: the kernel tracks
    /// no connection there before it, so the next datagram starts a fresh, translated one.)
    /// Returns the address the server sees now. Once per client, and not with
    /// [`roam_client`](Self::roam_client).
    pub fn rebind_client(&self, i: usize, port: u16) -> SocketAddr {
        let ns = &self.clients[i].ns;
        let outside = self.roamed_client_underlay(i);
        // The outside address must answer ARP: it is a second address of the link.
        run_ok(&[
            "ip",
            "-n",
            ns,
            "addr",
            "add",
            &format!("{outside}/24"),
            "dev",
            "veth0",
        ]);
        let nft = super::tools::nft();
        let nft = nft.to_str().expect("utf-8 path");
        for command in [
            "add table ip rebind".to_owned(),
            "add chain ip rebind post { type nat hook postrouting priority 100 ; }".to_owned(),
            format!(
                "add rule ip rebind post oifname \"veth0\" udp sport {port} snat to {outside}:{REBOUND_PORT}"
            ),
        ] {
            run_ok(&["ip", "netns", "exec", ns, nft, &command]);
        }
        SocketAddr::new(outside.into(), REBOUND_PORT)
    }

    /// Client `i`'s new address after [`roam_client`](Self::roam_client) or
    /// [`rebind_client`](Self::rebind_client).
    pub fn roamed_client_underlay(&self, i: usize) -> Ipv4Addr {
        Ipv4Addr::new(10, 202, i as u8, 3)
    }

    /// A path in the scratch dir.
    pub fn file(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }
}

fn unique_ifname() -> String {
    let k = NEXT_IF.fetch_add(1, Ordering::Relaxed);
    let name = format!("rtw{}-{k}", std::process::id());
    assert!(name.len() <= 15, "interface name {name:?} too long");
    name
}

impl Drop for WgNet {
    fn drop(&mut self) {
        // Processes first: a daemon outlives a deleted namespace, keeping its socket.
        for ns in &self.created {
            let out = run(&["ip", "netns", "pids", ns]);
            for pid in String::from_utf8_lossy(&out.stdout).split_whitespace() {
                let _ = run(&["kill", "-KILL", pid]);
            }
        }
        for ns in &self.created {
            let out = run(&["ip", "netns", "del", ns]);
            if !out.status.success() {
                eprintln!(
                    "warning: ip netns del {ns}: {}",
                    String::from_utf8_lossy(&out.stderr).trim()
                );
            }
        }
        for site in std::iter::once(&self.server).chain(&self.clients) {
            let _ = fs::remove_file(uapi::socket_path(&site.ifname));
        }
        if thread::panicking() {
            eprintln!("test files kept in {}", self.dir.display());
        } else {
            let _ = fs::remove_dir_all(&self.dir);
        }
    }
}
