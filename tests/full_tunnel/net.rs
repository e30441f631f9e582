//! [`FullTunnelNet`]: three namespaces for a full tunnel, one where the tunnel's own datagrams
//! would loop into the tunnel if nothing kept them out.
//!
//! ```text
//!  client ns                      server ns                          outside ns
//!  veth0 10.203.0.2/32  <---->  vethc 10.205.0.1/32   vetho 10.204.0.1/24  <---->  veth0 10.204.0.2/24
//!  default via 10.205.0.1        forwards tunnel -> vetho only,
//!  (the client's "ISP")          masquerades the tunnel's addresses
//! ```
//!
//! - The client reaches the server's endpoint, `10.205.0.1`, only by its default route, as a host
//!   reaches a server on the internet. With a full tunnel up, that default route is the tunnel's
//!   (wg-quick's policy routing), so the tunnel's UDP datagrams must carry the fwmark that sends
//!   them the old way, or they would go into the tunnel themselves.
//! - The server forwards only what comes out of its tunnel interface, to `vetho`, and masquerades
//!   it: the client cannot reach the outside in the clear, and the outside sees the server's
//!   `10.204.0.1` as the source.
//! - `10.204.0.2` stands for the internet. It exists only in the outside namespace, which has no
//!   route anywhere else: nothing leaves these namespaces.
//!
//! Names: namespaces `rt-<pid>-<n>-c`, `-s`, `-o` (the shape `scripts/test.sh` removes after a
//! killed run), tunnel interfaces `rtf<pid>-<k>` (unique on the machine: the userspace API
//! sockets of all namespaces share `/var/run/wireguard/`). Everything is removed on drop, also
//! after a panic: processes in the namespaces, the namespaces (with their rules, routes and nft
//! tables), the API socket files.

use crate::common::{link_exists, require_root, run, run_ok};
use crate::wg_peer::uapi;
use std::fs;
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::thread;

static NEXT_NET: AtomicU32 = AtomicU32::new(2000);
static NEXT_IF: AtomicU32 = AtomicU32::new(0);

/// The client's underlay address (a /32: no route to the server's address but the default).
pub const CLIENT_UNDERLAY: Ipv4Addr = Ipv4Addr::new(10, 203, 0, 2);
/// The server's address on the client's side: the endpoint, and the client's gateway.
pub const SERVER_PUBLIC: Ipv4Addr = Ipv4Addr::new(10, 205, 0, 1);
/// The server's address towards the outside (what the outside sees, masqueraded).
pub const SERVER_OUTSIDE: Ipv4Addr = Ipv4Addr::new(10, 204, 0, 1);
/// The address that stands for the internet.
pub const OUTSIDE: Ipv4Addr = Ipv4Addr::new(10, 204, 0, 2);
/// The tunnel's addresses: server and client, IPv4 and IPv6.
pub const SERVER_TUNNEL: &str = "10.78.0.1";
pub const CLIENT_TUNNEL: &str = "10.78.0.2";
pub const SERVER_TUNNEL6: &str = "fd78::1";
pub const CLIENT_TUNNEL6: &str = "fd78::2";
/// The tunnel's IPv4 subnet (what the server masquerades).
pub const TUNNEL_SUBNET: &str = "10.78.0.0/24";

pub struct FullTunnelNet {
    pub client_ns: String,
    pub server_ns: String,
    pub outside_ns: String,
    /// The tunnel interface names (and so the wg-quick file name of the client).
    pub client_if: String,
    pub server_if: String,
    /// Scratch directory for configuration files and logs.
    pub dir: PathBuf,
    created: Vec<String>,
}

impl FullTunnelNet {
    pub fn new() -> FullTunnelNet {
        require_root();
        let pid = std::process::id();
        let n = NEXT_NET.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("ringtun-test-{pid}-{n}"));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).expect("create test dir");
        let mut net = FullTunnelNet {
            client_ns: format!("rt-{pid}-{n}-c"),
            server_ns: format!("rt-{pid}-{n}-s"),
            outside_ns: format!("rt-{pid}-{n}-o"),
            client_if: unique_ifname(),
            server_if: unique_ifname(),
            dir,
            created: Vec::new(),
        };
        // From here on a panic drops `net`, which removes whatever was created so far.
        for ns in [
            net.client_ns.clone(),
            net.server_ns.clone(),
            net.outside_ns.clone(),
        ] {
            run_ok(&["ip", "netns", "add", &ns]);
            net.created.push(ns.clone());
            net.ip(&ns, &["link", "set", "lo", "up"]);
        }
        let (c, s, o) = (
            net.client_ns.clone(),
            net.server_ns.clone(),
            net.outside_ns.clone(),
        );
        veth(&s, "vethc", &c, "veth0");
        veth(&s, "vetho", &o, "veth0");
        // Client: a /32, its gateway on the link, and nothing else.
        net.ip(
            &c,
            &[
                "addr",
                "add",
                &format!("{CLIENT_UNDERLAY}/32"),
                "dev",
                "veth0",
            ],
        );
        net.ip(
            &c,
            &[
                "route",
                "add",
                "default",
                "via",
                &SERVER_PUBLIC.to_string(),
                "dev",
                "veth0",
                "onlink",
            ],
        );
        // Server: its public address towards the client, a route back to the client's.
        net.ip(
            &s,
            &[
                "addr",
                "add",
                &format!("{SERVER_PUBLIC}/32"),
                "dev",
                "vethc",
            ],
        );
        net.ip(
            &s,
            &[
                "route",
                "add",
                &format!("{CLIENT_UNDERLAY}/32"),
                "dev",
                "vethc",
            ],
        );
        net.ip(
            &s,
            &[
                "addr",
                "add",
                &format!("{SERVER_OUTSIDE}/24"),
                "dev",
                "vetho",
            ],
        );
        // Outside: its address on the link to the server, no route anywhere else.
        net.ip(
            &o,
            &["addr", "add", &format!("{OUTSIDE}/24"), "dev", "veth0"],
        );
        net
    }

    /// The server forwards what leaves its tunnel interface to the outside (and the answers
    /// back), nothing else, and masquerades the tunnel's addresses. Needs the tunnel interface's
    /// name only as a string: the rules may exist before it does.
    pub fn server_forwards_and_masquerades(&self) {
        let s = &self.server_ns;
        run_ok(&[
            "ip",
            "netns",
            "exec",
            s,
            "sysctl",
            "-q",
            "-w",
            "net.ipv4.ip_forward=1",
        ]);
        let tun = &self.server_if;
        let nft = crate::wg_peer::tools::nft();
        let nft = nft.to_str().expect("utf-8 path");
        for command in [
            "add table ip gateway".to_owned(),
            "add chain ip gateway forward { type filter hook forward priority 0 ; policy drop ; }"
                .to_owned(),
            format!("add rule ip gateway forward iifname \"{tun}\" oifname \"vetho\" accept"),
            format!(
                "add rule ip gateway forward iifname \"vetho\" oifname \"{tun}\" ct state established,related accept"
            ),
            "add chain ip gateway postrouting { type nat hook postrouting priority 100 ; }"
                .to_owned(),
            format!(
                "add rule ip gateway postrouting ip saddr {TUNNEL_SUBNET} oifname \"vetho\" masquerade"
            ),
        ] {
            run_ok(&["ip", "netns", "exec", s, nft, &command]);
        }
    }

    /// Starts counting, in the client's namespace, the UDP datagrams to the server's endpoint by
    /// the interface they leave on: the veth, or the tunnel interface (a loop). Read with
    /// [`endpoint_datagrams`](Self::endpoint_datagrams).
    pub fn count_endpoint_datagrams(&self, port: u16) {
        let tun = &self.client_if;
        let nft = crate::wg_peer::tools::nft();
        let nft = nft.to_str().expect("utf-8 path");
        let _ = run(&[
            "ip",
            "netns",
            "exec",
            &self.client_ns,
            nft,
            "delete table ip watch",
        ]);
        let to_endpoint = format!("ip daddr {SERVER_PUBLIC} udp dport {port}");
        for command in [
            "add table ip watch".to_owned(),
            "add chain ip watch post { type filter hook postrouting priority 0 ; }".to_owned(),
            format!(
                "add rule ip watch post oifname \"veth0\" {to_endpoint} counter comment \"veth\""
            ),
            format!(
                "add rule ip watch post oifname \"{tun}\" {to_endpoint} counter comment \"tunnel\""
            ),
        ] {
            run_ok(&["ip", "netns", "exec", &self.client_ns, nft, &command]);
        }
    }

    /// Datagrams to the endpoint counted since [`count_endpoint_datagrams`](Self::count_endpoint_datagrams):
    /// (out of the veth, into the tunnel interface).
    pub fn endpoint_datagrams(&self) -> (u64, u64) {
        let nft = crate::wg_peer::tools::nft();
        let text = run_ok(&[
            "ip",
            "netns",
            "exec",
            &self.client_ns,
            nft.to_str().expect("utf-8 path"),
            "list table ip watch",
        ]);
        let packets = |tag: &str| -> u64 {
            let line = text
                .lines()
                .find(|l| l.contains(&format!("comment \"{tag}\"")))
                .unwrap_or_else(|| panic!("no {tag} counter in:\n{text}"));
            let mut words = line.split_whitespace();
            words
                .by_ref()
                .find(|w| *w == "packets")
                .and_then(|_| words.next())
                .and_then(|n| n.parse().ok())
                .unwrap_or_else(|| panic!("no packet count in {line:?}"))
        };
        (packets("veth"), packets("tunnel"))
    }

    /// A path in the scratch dir.
    pub fn file(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// Whether the client's tunnel interface exists.
    pub fn client_if_exists(&self) -> bool {
        link_exists(&self.client_ns, &self.client_if)
    }

    fn ip(&self, ns: &str, args: &[&str]) {
        let mut full = vec!["ip", "-n", ns];
        full.extend_from_slice(args);
        run_ok(&full);
    }
}

/// A veth pair with one end in each namespace, both up with MTU 1500.
fn veth(ns_a: &str, dev_a: &str, ns_b: &str, dev_b: &str) {
    run_ok(&[
        "ip", "link", "add", dev_a, "netns", ns_a, "type", "veth", "peer", "name", dev_b, "netns",
        ns_b,
    ]);
    for (ns, dev) in [(ns_a, dev_a), (ns_b, dev_b)] {
        run_ok(&["ip", "-n", ns, "link", "set", dev, "mtu", "1500", "up"]);
    }
}

fn unique_ifname() -> String {
    let k = NEXT_IF.fetch_add(1, Ordering::Relaxed);
    let name = format!("rtf{}-{k}", std::process::id());
    assert!(name.len() <= 15, "interface name {name:?} too long");
    name
}

impl Drop for FullTunnelNet {
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
        for ifname in [&self.client_if, &self.server_if] {
            let _ = fs::remove_file(uapi::socket_path(ifname));
        }
        if thread::panicking() {
            eprintln!("test files kept in {}", self.dir.display());
        } else {
            let _ = fs::remove_dir_all(&self.dir);
        }
    }
}
