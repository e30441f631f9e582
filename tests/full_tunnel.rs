//! A full tunnel through wg-quick: the client's whole traffic goes through a WireGuard server
//! that forwards it to the outside, with `AllowedIPs = 0.0.0.0/0, ::/0` and wg-quick's policy
//! routing (an fwmark on the tunnel's own socket, a routing table for everything else, and a
//! `suppress_prefixlength 0` rule), the client brought up with
//! `WG_QUICK_USERSPACE_IMPLEMENTATION=ringtun wg-quick up ./IFNAME.conf`.
//!
//! The topology ([`net::FullTunnelNet`]) makes the fwmark matter: the server's endpoint is
//! reached only by the client's default route, which the full tunnel takes over. The server is
//! ringtun (`ringtun -c`), forwarding and masquerading; the outside is a namespace of its own.
//!
//! Each test walks one life cycle and checks at every step:
//! 1. before: the client reaches the server's address, not the outside;
//! 2. `wg-quick up`: the daemon runs, wg-quick's rules and table are there, unmarked traffic to
//!    the endpoint would go into the tunnel and marked traffic leaves on the veth;
//! 3. through the tunnel: ping and iperf3 to the outside, which sees the server's address as the
//!    source; the tunnel's datagrams to the endpoint leave the client on its veth and none goes
//!    into the tunnel interface (an nft counter per interface, which does count a datagram to the
//!    endpoint from a socket without the mark);
//! 4. `wg-quick down`: the interface, the daemon, its API socket, wg-quick's rules, table and nft
//!    table all go;
//! 5. up again, then `kill -9` of the daemon: the interface goes with it; what stays is listed
//!    (wg-quick's rules and nft table, which are wg-quick's, and the API socket file, which a
//!    killed process cannot remove), and the client still reaches the server's address;
//! 6. `wg-quick up` over those leftovers (the daemon must take over the stale socket), traffic,
//!    `wg-quick down`: clean again.
//!
//! wireguard-go runs the same life cycle as the control: it checks the harness, and that ringtun
//! as the server serves a full-tunnel client.
//!
//! Root tests are `#[ignore = "needs root"]`; the tools come from `scripts/setup.sh` (wg-quick,
//! wireguard-go, nft).

pub mod common;
mod wg_peer;

#[path = "full_tunnel/net.rs"]
mod net;
#[path = "full_tunnel/wg_quick.rs"]
mod wg_quick;

use common::*;
use net::*;
use std::net::{SocketAddr, UdpSocket};
use std::time::Duration;
use wg_peer::{InterfaceSpec, PeerSpec, keys};
use wg_quick::{PolicyState, TABLE, Userspace, daemon_pid, process_alive, wg_quick};

const SERVER_PORT: u16 = 51820;
/// How long an interface, a daemon or a socket file may take to go.
const GONE_TIMEOUT: Duration = Duration::from_secs(10);
const IPERF_PORT: u16 = 5201;
const OBSERVER_PORT: u16 = 7777;

/// The two configurations: the server's for `ringtun -c`, the client's for wg-quick (no DNS: it
/// would need resolvconf; no MTU: wg-quick derives it from the route to the endpoint).
fn configs() -> (InterfaceSpec, InterfaceSpec) {
    let (server_keys, client_keys) = (keys::keypair(), keys::keypair());
    let psk = keys::preshared_key();
    let mut server = InterfaceSpec::new(server_keys.private.clone());
    server.listen_port = Some(SERVER_PORT);
    server.addresses = vec![
        format!("{SERVER_TUNNEL}/24"),
        format!("{SERVER_TUNNEL6}/64"),
    ];
    let mut client_peer = PeerSpec::new(
        &client_keys.public,
        &[
            &format!("{CLIENT_TUNNEL}/32"),
            &format!("{CLIENT_TUNNEL6}/128"),
        ],
    );
    client_peer.preshared_key = Some(psk.clone());
    server.peers = vec![client_peer];

    let mut client = InterfaceSpec::new(client_keys.private.clone());
    client.addresses = vec![
        format!("{CLIENT_TUNNEL}/24"),
        format!("{CLIENT_TUNNEL6}/64"),
    ];
    let mut server_peer = PeerSpec::new(&server_keys.public, &["0.0.0.0/0", "::/0"]);
    server_peer.preshared_key = Some(psk);
    server_peer.endpoint = Some(SocketAddr::new(SERVER_PUBLIC.into(), SERVER_PORT));
    client.peers = vec![server_peer];
    (server, client)
}

/// A counter of a device in a namespace (`/sys/class/net/DEV/statistics/NAME`).
fn dev_counter(ns: &str, dev: &str, name: &str) -> u64 {
    ns_run_ok(
        ns,
        &["cat", &format!("/sys/class/net/{dev}/statistics/{name}")],
    )
    .trim()
    .parse()
    .unwrap_or_else(|_| panic!("{dev}/{name}: not a number"))
}

/// The source address the outside sees for a UDP datagram the client sends it.
fn source_seen_outside(net: &FullTunnelNet) -> SocketAddr {
    let listener = in_netns(&net.outside_ns, || {
        let s = UdpSocket::bind((OUTSIDE, OBSERVER_PORT)).expect("bind in the outside namespace");
        s.set_read_timeout(Some(Duration::from_secs(5)))
            .expect("timeout");
        s
    });
    let sender = in_netns(&net.client_ns, || {
        UdpSocket::bind("0.0.0.0:0").expect("bind in the client namespace")
    });
    sender
        .send_to(b"who am I", (OUTSIDE, OBSERVER_PORT))
        .expect("send from the client");
    let mut buf = [0u8; 64];
    let (n, from) = listener
        .recv_from(&mut buf)
        .expect("the outside got nothing from the client");
    assert_eq!(&buf[..n], b"who am I");
    from
}

/// `ip route get DST [mark MARK]` in `ns`: the line naming the device.
fn route_get(ns: &str, dst: &str, mark: Option<u32>) -> String {
    let mark = mark.map(|m| m.to_string());
    let mut args = vec!["ip", "route", "get", dst];
    if let Some(m) = &mark {
        args.extend(["mark", m]);
    }
    ns_run_ok(ns, &args).lines().next().unwrap_or("").to_owned()
}

/// `wg show IFNAME fwmark` in the client's namespace.
fn fwmark(net: &FullTunnelNet) -> String {
    let wg = wg_peer::tools::wg();
    ns_run_ok(
        &net.client_ns,
        &[
            wg.to_str().expect("utf-8 path"),
            "show",
            &net.client_if,
            "fwmark",
        ],
    )
    .trim()
    .to_owned()
}

fn up(net: &FullTunnelNet, userspace: Userspace, conf: &std::path::Path) -> u32 {
    let (ok, out) = wg_quick(&net.client_ns, userspace, "up", conf);
    assert!(ok, "wg-quick up with {userspace:?} failed:\n{out}");
    eprintln!("--- wg-quick up ({userspace:?}) ---\n{out}---");
    daemon_pid(&net.client_ns, userspace.comm())
        .unwrap_or_else(|| panic!("no {} running after wg-quick up:\n{out}", userspace.comm()))
}

/// Step 3: traffic to the outside through the tunnel, and none of the tunnel's datagrams loop.
fn check_through_the_tunnel(net: &FullTunnelNet, server: &mut Ringtun) {
    let (c, o) = (&net.client_ns, &net.outside_ns);
    // The first packet starts the handshake; give it a few tries.
    let first = wait_until(Duration::from_secs(12), || {
        ping(c, &OUTSIDE.to_string(), 1, Duration::from_secs(1)).received == 1
    });
    assert!(first, "the outside is not reachable through the tunnel");
    assert_ping(c, &OUTSIDE.to_string(), 3);
    assert_ping(c, SERVER_TUNNEL, 2);
    assert_ping(c, SERVER_TUNNEL6, 2);
    assert_eq!(
        source_seen_outside(net).ip(),
        std::net::IpAddr::from(SERVER_OUTSIDE),
        "the outside should see the server's address (masqueraded)"
    );
    let _iperf = Iperf3Server::start(o, &OUTSIDE.to_string(), IPERF_PORT);
    for (direction, extra) in [("up", &[][..]), ("down", &["-R"][..])] {
        let r = iperf3_client(c, &OUTSIDE.to_string(), IPERF_PORT, 2, extra)
            .unwrap_or_else(|e| panic!("iperf3 {direction} to the outside: {e}"));
        eprintln!(
            "iperf3 {direction} through the full tunnel: {:.0} Mbit/s",
            r.bits_per_second / 1e6
        );
        assert!(r.received_bytes > 0, "iperf3 {direction}: {r:?}");
    }

    // No loop: the tunnel's datagrams to the server's endpoint leave on the veth, none goes
    // into the tunnel interface (where it would be sealed again, and again). Counted by an nft
    // rule on the interface each leaves by, while 20 pings cross the tunnel.
    const PINGS: u64 = 20;
    net.count_endpoint_datagrams(SERVER_PORT);
    let if_tx0 = dev_counter(c, &net.client_if, "tx_packets");
    let server_rx0 = stat(&server.sigusr1_stats(), "rx_packets");
    let r = ping_interval(
        c,
        &OUTSIDE.to_string(),
        PINGS as u32,
        "0.05",
        Duration::from_secs(10),
    );
    assert_eq!(u64::from(r.received), PINGS, "{r:?}");
    let if_tx = dev_counter(c, &net.client_if, "tx_packets") - if_tx0;
    let server_rx = stat(&server.sigusr1_stats(), "rx_packets") - server_rx0;
    let (via_veth, via_tunnel) = net.endpoint_datagrams();
    eprintln!(
        "{PINGS} pings: {if_tx} packets into the tunnel interface; datagrams to the endpoint: \
         {via_veth} out of the veth, {via_tunnel} into the tunnel; {server_rx} decrypted by the \
         server"
    );
    assert!(if_tx >= PINGS, "only {if_tx} packets went into the tunnel");
    assert_eq!(
        via_tunnel, 0,
        "the tunnel's own datagrams went into the tunnel"
    );
    assert!(
        via_veth >= PINGS,
        "only {via_veth} datagrams to the endpoint left on the veth"
    );
    assert!(server_rx >= PINGS, "the server decrypted {server_rx}");
}

/// The control of the loop check: a datagram to the endpoint from a socket without the fwmark
/// (one of the test's own) is routed into the tunnel, and the counter sees it there. (The daemon
/// sealing it and sending it on, marked, ends it: one datagram, not a loop.)
fn check_an_unmarked_datagram_goes_into_the_tunnel(net: &FullTunnelNet) {
    net.count_endpoint_datagrams(SERVER_PORT);
    let socket = in_netns(&net.client_ns, || {
        UdpSocket::bind("0.0.0.0:0").expect("bind in the client namespace")
    });
    socket
        .send_to(b"not from the tunnel", (SERVER_PUBLIC, SERVER_PORT))
        .expect("send to the endpoint");
    let mut counts = (0, 0);
    let seen = wait_until(Duration::from_secs(5), || {
        counts = net.endpoint_datagrams();
        counts.1 == 1
    });
    assert!(
        seen,
        "an unmarked datagram to the endpoint: {} out of the veth, {} into the tunnel; \
         expected 1 into the tunnel",
        counts.0, counts.1
    );
}

/// The whole life cycle (see the module docs) with `userspace` under wg-quick on the client.
fn full_tunnel_life_cycle(userspace: Userspace) {
    let net = FullTunnelNet::new();
    let c = &net.client_ns;
    let (server_spec, client_spec) = configs();

    // 1. Before: the server's address by the default route, the outside not at all.
    net.server_forwards_and_masquerades();
    assert_ping(c, &SERVER_PUBLIC.to_string(), 1);
    assert_eq!(
        ping(c, &OUTSIDE.to_string(), 1, Duration::from_secs(1)).received,
        0,
        "the client reaches the outside without a tunnel"
    );
    assert!(PolicyState::read(c, &net.client_if).is_clean());

    let server_conf = net.file("server.conf");
    server_spec.write_wg_quick(&server_conf);
    let mut server = Ringtun::spawn(
        &net.server_ns,
        net.file("ringtun-server.log"),
        "ringtun server",
        &ringtun_bin(),
        &[
            "-c",
            server_conf.to_str().expect("utf-8 path"),
            "-i",
            &net.server_if,
        ],
    );
    server.expect_log("listening on", Duration::from_secs(10));
    // wg-quick names the interface after the file.
    let conf = net.file(&format!("{}.conf", net.client_if));
    client_spec.write_wg_quick(&conf);

    // 2. Up.
    let pid = up(&net, userspace, &conf);
    let state = PolicyState::read(c, &net.client_if);
    eprintln!("after wg-quick up:\n{}", state.describe());
    assert!(state.interface && state.socket_file, "{}", state.describe());
    assert_eq!(fwmark(&net), format!("0x{TABLE:x}"));
    for family in ["-4", "-6"] {
        for rule in [
            format!("not from all fwmark 0x{TABLE:x} lookup {TABLE}"),
            "from all lookup main suppress_prefixlength 0".to_owned(),
        ] {
            assert!(
                state
                    .rules
                    .iter()
                    .any(|r| r.starts_with(&format!("ip {family} rule")) && r.contains(&rule)),
                "no {family} rule {rule:?}:\n{}",
                state.describe()
            );
        }
    }
    assert_eq!(state.nft_tables.len(), 2, "{}", state.describe());
    let endpoint = SERVER_PUBLIC.to_string();
    let unmarked = route_get(c, &endpoint, None);
    let marked = route_get(c, &endpoint, Some(TABLE));
    assert!(
        unmarked.contains(&format!("dev {}", net.client_if)),
        "unmarked traffic to the endpoint should be the tunnel's: {unmarked}"
    );
    assert!(
        marked.contains("dev veth0"),
        "marked traffic to the endpoint should leave on the veth: {marked}"
    );

    // 3. Through the tunnel.
    check_through_the_tunnel(&net, &mut server);
    check_an_unmarked_datagram_goes_into_the_tunnel(&net);

    // 4. Down: everything goes.
    let (ok, out) = wg_quick(c, userspace, "down", &conf);
    assert!(ok, "wg-quick down failed:\n{out}");
    eprintln!("--- wg-quick down ---\n{out}---");
    assert!(
        wait_until(GONE_TIMEOUT, || !process_alive(pid)),
        "{} (pid {pid}) still runs after wg-quick down",
        userspace.comm()
    );
    let mut state = PolicyState::default();
    let clean = wait_until(GONE_TIMEOUT, || {
        state = PolicyState::read(c, &net.client_if);
        state.is_clean()
    });
    assert!(clean, "after wg-quick down:\n{}", state.describe());
    assert_eq!(
        ping(c, &OUTSIDE.to_string(), 1, Duration::from_secs(1)).received,
        0,
        "the outside is reachable without the tunnel"
    );

    // 5. Up again, then kill -9 the daemon.
    let pid = up(&net, userspace, &conf);
    let first = wait_until(Duration::from_secs(12), || {
        ping(c, &OUTSIDE.to_string(), 1, Duration::from_secs(1)).received == 1
    });
    assert!(first, "the outside is not reachable after the second up");
    run_ok(&["kill", "-KILL", &pid.to_string()]);
    assert!(
        wait_until(GONE_TIMEOUT, || !process_alive(pid)),
        "{} (pid {pid}) survived SIGKILL",
        userspace.comm()
    );
    assert!(
        wait_until(GONE_TIMEOUT, || !net.client_if_exists()),
        "the interface outlived its daemon"
    );
    let left = PolicyState::read(c, &net.client_if);
    println!(
        "--- left behind by kill -9 of {} under wg-quick ---\n{}\n---",
        userspace.comm(),
        left.describe()
    );
    // wg-quick's rules and nft table stay (they are wg-quick's; `wg-quick down` removes them,
    // below); the routes of its table went with the interface.
    assert_eq!(left.rules.len(), 4, "{}", left.describe());
    assert_eq!(left.nft_tables.len(), 2, "{}", left.describe());
    assert!(left.table_routes.is_empty(), "{}", left.describe());
    // A killed process cannot remove its API socket file: the next start must take it over (6).
    assert!(left.socket_file, "{}", left.describe());
    // With its table empty the rules fall through to the main table: the client is not cut off.
    assert_ping(c, &SERVER_PUBLIC.to_string(), 1);

    // 6. Up over the leftovers, traffic, down: clean.
    let pid = up(&net, userspace, &conf);
    check_through_the_tunnel(&net, &mut server);
    let (ok, out) = wg_quick(c, userspace, "down", &conf);
    assert!(ok, "wg-quick down after the restart failed:\n{out}");
    assert!(wait_until(GONE_TIMEOUT, || !process_alive(pid)));
    let clean = wait_until(GONE_TIMEOUT, || {
        state = PolicyState::read(c, &net.client_if);
        state.is_clean()
    });
    assert!(
        clean,
        "after up over the leftovers and down:\n{}",
        state.describe()
    );
    server.assert_running();
}

#[test]
#[ignore = "needs root"]
fn wireguard_go_full_tunnel_through_ringtun_under_wg_quick() {
    full_tunnel_life_cycle(Userspace::WireguardGo);
}

#[test]
#[ignore = "needs root"]
fn ringtun_full_tunnel_under_wg_quick() {
    full_tunnel_life_cycle(Userspace::Ringtun);
}
