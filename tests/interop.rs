//! Interop: WireGuard implementations nobody here wrote, wireguard-go and boringtun, talking
//! through tunnels between network namespaces, configured with the stock `wg` tool, against each
//! other (which checks the harness, `tests/wg_peer`) and against ringtun (`ringtun -c FILE`), the
//! same checks with ringtun on one end.
//!
//! Root tests are `#[ignore = "needs root"]` (`sudo ./scripts/test.sh` runs them); the tools come
//! from `scripts/setup.sh`, and a missing one fails the test naming that step.
//!
//! # The matrix
//!
//! "Client" and "server" are the ends of a [`Star`]: the client knows the server's endpoint, the
//! server learns the client's from its handshake. The initiator sends the first handshake.
//!
//! | initiator | responder | checks | test |
//! |---|---|---|---|
//! | wireguard-go (client) | boringtun (server) | H E P I T | `wireguard_go_initiates_to_boringtun` |
//! | boringtun (client) | wireguard-go (server) | H E P I T | `boringtun_initiates_to_wireguard_go` |
//! | wireguard-go (restarted server) | boringtun (client) | H P | `restarted_wireguard_go_server_initiates_to_boringtun` |
//! | boringtun (restarted server) | wireguard-go (client) | H P | `restarted_boringtun_server_initiates_to_wireguard_go` |
//! | boringtun (client, key unknown) | wireguard-go (server) | N | `unknown_key_gets_no_answer_from_wireguard_go` |
//! | wireguard-go (client, key unknown) | boringtun (server) | N | `unknown_key_gets_no_answer_from_boringtun` |
//! | boringtun, wireguard-go, boringtun (3 clients) | wireguard-go (server) | K P S | `three_clients_and_a_spoofed_source` |
//! | ringtun (client) | wireguard-go (server) | H E P I T | `ringtun_initiates_to_wireguard_go` |
//! | ringtun (client) | boringtun (server) | H E P I T | `ringtun_initiates_to_boringtun` |
//! | wireguard-go (client) | ringtun (server) | H E P I T | `wireguard_go_initiates_to_ringtun` |
//! | boringtun (client) | ringtun (server) | H E P I T | `boringtun_initiates_to_ringtun` |
//! | ringtun (client) | wireguard-go (server) | R | `traffic_flows_across_a_rekey` |
//! | ringtun (client) | boringtun (server) | R | `traffic_flows_across_a_rekey` |
//! | wireguard-go (client) | ringtun (server) | R | `traffic_flows_across_a_rekey` |
//! | boringtun (client) | ringtun (server) | R | `traffic_flows_across_a_rekey` |
//! | ringtun (restarted server) | wireguard-go (client) | H P | `restarted_ringtun_server_initiates_to_wireguard_go` |
//! | ringtun (restarted server) | boringtun (client) | H P | `restarted_ringtun_server_initiates_to_boringtun` |
//! | wireguard-go (client) | ringtun (restarted server) | A P | `wireguard_go_rehandshakes_with_restarted_ringtun` |
//! | boringtun (client) | ringtun (restarted server) | A P | `boringtun_rehandshakes_with_restarted_ringtun` |
//! | ringtun (restarted client) | wireguard-go (server) | H P | `restarted_ringtun_client_initiates_to_wireguard_go` |
//! | ringtun (restarted client) | boringtun (server) | H P | `restarted_ringtun_client_initiates_to_boringtun` |
//! | wireguard-go (restarted client) | ringtun (server) | H P | `restarted_wireguard_go_client_initiates_to_ringtun` |
//! | boringtun (restarted client) | ringtun (server) | H P | `restarted_boringtun_client_initiates_to_ringtun` |
//! | wireguard-go (restarted server) | ringtun (client) | H P | `restarted_wireguard_go_server_initiates_to_ringtun` |
//! | boringtun (restarted server) | ringtun (client) | H P | `restarted_boringtun_server_initiates_to_ringtun` |
//! | ringtun (client) | wireguard-go (restarted server) | A P | `ringtun_rehandshakes_with_restarted_wireguard_go` |
//! | ringtun (client) | boringtun (restarted server) | A P | `ringtun_rehandshakes_with_restarted_boringtun` |
//! | wireguard-go (client, moves) | ringtun (server) | M P | `wireguard_go_client_roams_and_ringtun_follows` |
//! | boringtun (client, moves) | ringtun (server) | M P | `boringtun_client_roams_and_ringtun_follows` |
//! | ringtun (client, moves) | wireguard-go (server) | M P | `ringtun_client_roams_and_wireguard_go_follows` |
//! | ringtun (client, moves) | boringtun (server) | M P | `ringtun_client_roams_and_boringtun_follows` |
//! | ringtun (client, key unknown) | wireguard-go (server) | N | `ringtun_key_unknown_to_wireguard_go_gets_no_answer` |
//! | ringtun (client, key unknown) | boringtun (server) | N | `ringtun_key_unknown_to_boringtun_gets_no_answer` |
//! | wireguard-go (client, key unknown) | ringtun (server) | N | `wireguard_go_key_unknown_to_ringtun_gets_no_answer` |
//! | boringtun (client, key unknown) | ringtun (server) | N | `boringtun_key_unknown_to_ringtun_gets_no_answer` |
//! | ringtun, boringtun, wireguard-go (3 clients) | wireguard-go (server) | K P S | `ringtun_among_three_clients_of_wireguard_go` |
//! | ringtun, wireguard-go, boringtun (3 clients) | boringtun (server) | K P S | `ringtun_among_three_clients_of_boringtun` |
//! | ringtun, wireguard-go, boringtun (3 clients) | ringtun (server) | K P S V | `three_clients_of_ringtun_and_spoofed_sources` |
//!
//! Checks: **H** handshake (the foreign ends report a latest handshake); **E** the responder
//! learned the initiator's endpoint from it (and had none before); **P** ping both ways; **I**
//! iperf3 TCP both ways, bytes arrive; **T** the foreign ends' transfer counters cover what iperf3
//! moved; **N** a client whose key the server does not have gets nothing back (no handshake, pings
//! fail, the server's namespace sends no UDP), and does once its key is added; **K** a persistent
//! keepalive brings the handshake up without traffic; **S** a packet with another client's inner
//! source address is authenticated but never reaches the server's TUN device (with ringtun as the
//! server: its `drop.source-not-allowed` counter moves, each client in turn sending as the next);
//! **R** a ping every half second from the initiator for 130 s, across the initiator's rekey at
//! REKEY_AFTER_TIME (120 s): at most 2 of 260 lost, the foreign end's latest handshake moved by
//! about 120 s, ringtun counted a second handshake and logged new session keys, and only the
//! initiator initiated; **A** after one end restarted, the end that kept running (and cannot
//! reach the other's new process under its old session) brings the tunnel back by its own timers
//! within 30 s; **M** the client's underlay address changes under a live session and the server
//! follows it (its `wg show` endpoint, or ringtun's "moved from … to …" line) without a new
//! handshake; **V** the server's view of its three clients is printed (`wg show` against ringtun's
//! control socket, and its counters) and names each of them.
//!
//! The ringtun rows other than H E P I T live in one file per scenario: `interop/rekey.rs`,
//! `interop/restart.rs`, `interop/roaming.rs`, `interop/strangers.rs` (N with ringtun as the
//! server) and `interop/several_clients.rs`. Restarting ringtun means SIGKILL and the same (or an
//! edited) file; "restarted server initiates" gives the restarted server the client's endpoint.
//!
//! # Writing a row
//!
//! ringtun gets the same configuration as the foreign ends, as a wg-quick style file, and runs
//! as a [`RingtunEnd`] (`ringtun -c FILE`: log, exit status, `SIGUSR1` counters, restart). The
//! functions the rows call:
//!
//! - `Star::new(n)`; `star.client_spec(i)` or `star.server_spec()`, to run on
//!   `star.net.clients[i]` or `star.net.server` (a [`Site`]: namespace `ns`, interface name
//!   `ifname`, `tunnel_ip`).
//! - `star.start_server(x)` / `star.start_client(i, x)`: the foreign end, a [`WgPeer`];
//!   `RingtunEnd::start(&star, site, name, &spec, &extra_args)`: ringtun.
//! - `check_client_initiated_tunnel(&star, server, client)`: H E P I T. The ringtun end is passed
//!   as `None` (its own view comes from its counters), the foreign one as `Some(&peer)`.
//! - `check_restarted_server_initiates(&star, &mut server, client)` and
//!   `check_unknown_key_gets_no_answer(&star, &mut server, client)`: they drive the server as a
//!   [`WgPeer`] (restart, `set_endpoint`, `remove_peer`/`add_peer`), so they serve the rows with
//!   ringtun as the client. With ringtun as the server the same steps are `RingtunEnd::restart`
//!   with an edited file.
//! - The steps themselves (`tests/wg_peer/checks.rs`): `establish`, `establish_within`,
//!   `assert_ping_both_ways`, `assert_iperf3_both_ways`, `assert_no_reply`, `ping_with_source`,
//!   `udp_counters`; [`WgPeer`]'s `expect_handshake`, `peer_status`, `transfer`,
//!   `tun_counters`; [`RingtunEnd`]'s `expect_peer_up`, `stats`, `view`; and
//!   `star.net.roam_client(i)`.
//!
//! "ringtun initiates to X", for example:
//!
//! ```text
//! let star = Star::new(1);
//! let server = star.start_server(x);
//! let mut ringtun = RingtunEnd::start(&star, &star.net.clients[0], "client",
//!     &star.client_spec(0), &[]);
//! check_client_initiated_tunnel(&star, Some(&server), None);
//! ringtun.process.assert_running();
//! ```

pub mod common;
mod wg_peer;

#[path = "interop/rekey.rs"]
mod rekey;
#[path = "interop/restart.rs"]
mod restart;
#[path = "interop/roaming.rs"]
mod roaming;
#[path = "interop/several_clients.rs"]
mod several_clients;
#[path = "interop/strangers.rs"]
mod strangers;

use common::*;
use wg_peer::*;

// ---------------------------------------------------------------------------------------------
// Harness checks that need no root
// ---------------------------------------------------------------------------------------------

/// The key tool derives public keys as X25519 does (RFC 7748 section 6.1, Alice).
#[test]
fn public_keys_match_rfc7748() {
    let alice = SecretKey::from_base64("dwdtCnMYpX08FsFyUbJmRd9ML4frwJkqsXf7pR25LCo=").unwrap();
    assert_eq!(
        wg_peer::keys::public_key(&alice),
        "hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo="
    );
    let bob = SecretKey::from_base64("XasIfmJKikt54X+Lg4AO5m87sSkmGLb9HC+LJ/+I4Os=").unwrap();
    assert_eq!(
        wg_peer::keys::public_key(&bob),
        "3p7bfXt9wbTTW2HC7OQ1Nz+DQ8hbeGdNrfx+FG+IK08="
    );
    let (a, b) = (wg_peer::keys::keypair(), wg_peer::keys::keypair());
    assert_ne!(a.public, b.public);
    assert_eq!(wg_peer::keys::public_key(&a.private), a.public);
    assert_ne!(
        wg_peer::keys::preshared_key(),
        wg_peer::keys::preshared_key()
    );
}

// ---------------------------------------------------------------------------------------------
// The checks, with each end either a foreign implementation (Some) or not (None: ringtun later)
// ---------------------------------------------------------------------------------------------

/// Client 0 of `star` initiates to the server: see the module docs for H E P I T. Returns what
/// iperf3 moved up (client to server) and down, for the counters of a ringtun end.
fn check_client_initiated_tunnel(
    star: &Star,
    server: Option<&WgPeer>,
    client: Option<&WgPeer>,
) -> (IperfResult, IperfResult) {
    let (s, c) = (&star.net.server, &star.net.clients[0]);
    let (server_pub, client_pub) = (&star.server_keys.public, &star.client_keys[0].public);
    if let Some(server) = server {
        let before = server.peer_status(client_pub);
        assert_eq!(
            before.endpoint, None,
            "the server must not be able to initiate"
        );
        assert_eq!(server.latest_handshake(client_pub), None);
    }
    establish(c, s);
    if let Some(server) = server {
        server.expect_handshake(client_pub, HANDSHAKE_TIMEOUT);
        assert_eq!(
            server.peer_status(client_pub).endpoint,
            Some(star.net.client_endpoint(0, CLIENT_PORT)),
            "the server should have learned the client's endpoint from its handshake"
        );
    }
    if let Some(client) = client {
        client.expect_handshake(server_pub, HANDSHAKE_TIMEOUT);
    }
    assert_ping_both_ways(c, s, 5);
    let (up, down) = assert_iperf3_both_ways(c, s);
    // What iperf3 received crossed the tunnel inside packets the ends counted (with headers).
    for (end, peer, rx_covers, tx_covers) in [
        (server, client_pub, &up, &down),
        (client, server_pub, &down, &up),
    ] {
        let Some(end) = end else { continue };
        let t = end.transfer(peer);
        assert!(
            t.rx >= rx_covers.received_bytes && t.tx >= tx_covers.received_bytes,
            "{} counted {t:?}; iperf3 received {} up, {} down",
            end.imp,
            up.received_bytes,
            down.received_bytes
        );
    }
    (up, down)
}

/// The server (a foreign implementation) restarts, which loses its sessions and the client's
/// endpoint; given the endpoint, it initiates to the client itself (H P).
fn check_restarted_server_initiates(star: &Star, server: &mut WgPeer, client: Option<&WgPeer>) {
    let (s, c) = (&star.net.server, &star.net.clients[0]);
    let client_pub = &star.client_keys[0].public;
    establish(c, s);
    server.restart();
    assert_eq!(
        server.latest_handshake(client_pub),
        None,
        "a fresh process has no handshake"
    );
    server.set_endpoint(client_pub, star.net.client_endpoint(0, CLIENT_PORT));
    establish(s, c);
    server.expect_handshake(client_pub, HANDSHAKE_TIMEOUT);
    if let Some(client) = client {
        client.expect_handshake(&star.server_keys.public, HANDSHAKE_TIMEOUT);
    }
    assert_ping_both_ways(s, c, 3);
}

/// The server does not have client 0's key: the client's handshakes reach the server's socket and
/// get no answer at all. Once the key is added, the same client gets through (N).
fn check_unknown_key_gets_no_answer(star: &Star, server: &mut WgPeer, client: Option<&WgPeer>) {
    let (s, c) = (&star.net.server, &star.net.clients[0]);
    let client_pub = &star.client_keys[0].public;
    server.remove_peer(client_pub);
    assert!(server.dump().peer(client_pub).is_none());
    let udp0 = udp_counters(&s.ns);
    assert_no_reply(c, s, 3);
    let udp1 = udp_counters(&s.ns);
    assert!(
        udp1.in_datagrams > udp0.in_datagrams,
        "the client's handshake initiations should have reached the server: {udp0:?} -> {udp1:?}"
    );
    assert_eq!(
        udp1.out_datagrams, udp0.out_datagrams,
        "the server answered a key it does not have"
    );
    if let Some(client) = client {
        assert_eq!(client.latest_handshake(&star.server_keys.public), None);
    }
    // The control: the same client, answered once the server has its key.
    server.add_peer(star.client_as_peer(0));
    establish(c, s);
    server.expect_handshake(client_pub, HANDSHAKE_TIMEOUT);
}

// ---------------------------------------------------------------------------------------------
// wireguard-go and boringtun
// ---------------------------------------------------------------------------------------------

#[test]
#[ignore = "needs root"]
fn wireguard_go_initiates_to_boringtun() {
    let star = Star::new(1);
    let server = star.start_server(WgImpl::Boringtun);
    let client = star.start_client(0, WgImpl::WireguardGo);
    check_client_initiated_tunnel(&star, Some(&server), Some(&client));
}

#[test]
#[ignore = "needs root"]
fn boringtun_initiates_to_wireguard_go() {
    let star = Star::new(1);
    let server = star.start_server(WgImpl::WireguardGo);
    let client = star.start_client(0, WgImpl::Boringtun);
    check_client_initiated_tunnel(&star, Some(&server), Some(&client));
}

#[test]
#[ignore = "needs root"]
fn restarted_wireguard_go_server_initiates_to_boringtun() {
    let star = Star::new(1);
    let mut server = star.start_server(WgImpl::WireguardGo);
    let client = star.start_client(0, WgImpl::Boringtun);
    check_restarted_server_initiates(&star, &mut server, Some(&client));
}

#[test]
#[ignore = "needs root"]
fn restarted_boringtun_server_initiates_to_wireguard_go() {
    let star = Star::new(1);
    let mut server = star.start_server(WgImpl::Boringtun);
    let client = star.start_client(0, WgImpl::WireguardGo);
    check_restarted_server_initiates(&star, &mut server, Some(&client));
}

#[test]
#[ignore = "needs root"]
fn unknown_key_gets_no_answer_from_wireguard_go() {
    let star = Star::new(1);
    let mut server = star.start_server(WgImpl::WireguardGo);
    let client = star.start_client(0, WgImpl::Boringtun);
    check_unknown_key_gets_no_answer(&star, &mut server, Some(&client));
}

#[test]
#[ignore = "needs root"]
fn unknown_key_gets_no_answer_from_boringtun() {
    let star = Star::new(1);
    let mut server = star.start_server(WgImpl::Boringtun);
    let client = star.start_client(0, WgImpl::WireguardGo);
    check_unknown_key_gets_no_answer(&star, &mut server, Some(&client));
}

/// One wireguard-go server, three clients (boringtun, wireguard-go, boringtun) with a persistent
/// keepalive: each comes up without traffic (K) and pings both ways (P); then client 0 sends with
/// client 1's inner source address, which the server authenticates and drops (S).
#[test]
#[ignore = "needs root"]
fn three_clients_and_a_spoofed_source() {
    let star = Star::new(3);
    let server = star.start_server(WgImpl::WireguardGo);
    let clients: Vec<WgPeer> = [WgImpl::Boringtun, WgImpl::WireguardGo, WgImpl::Boringtun]
        .into_iter()
        .enumerate()
        .map(|(i, imp)| {
            let mut spec = star.client_spec(i);
            // boringtun sends its first keepalive (and so its first handshake) one interval
            // after start, wireguard-go at once: a short interval keeps the test short.
            spec.peers[0].persistent_keepalive = Some(1);
            star.start(&star.net.clients[i], imp, spec)
        })
        .collect();
    let s = &star.net.server;
    for (i, client) in clients.iter().enumerate() {
        server.expect_handshake(&star.client_keys[i].public, HANDSHAKE_TIMEOUT);
        client.expect_handshake(&star.server_keys.public, HANDSHAKE_TIMEOUT);
    }
    for c in &star.net.clients {
        assert_ping_both_ways(c, s, 3);
    }

    // Client 0 takes client 1's tunnel address as a second source address.
    let (a, b) = (&star.net.clients[0], &star.net.clients[1]);
    let a_pub = &star.client_keys[0].public;
    ns_run_ok(
        &a.ns,
        &["ip", "addr", "add", &b.tunnel_host(), "dev", &a.ifname],
    );
    let tun0 = server.tun_counters();
    let from_a0 = server.transfer(a_pub).rx;
    let spoofed = ping_with_source(a, &b.tunnel_ip.to_string(), s, 3);
    let tun1 = server.tun_counters();
    let from_a1 = server.transfer(a_pub).rx;
    assert_eq!(
        spoofed, 0,
        "a ping with client 1's source address from client 0 was answered"
    );
    // They did arrive, and decrypted under client 0's session (3 echo requests, 84 bytes each)...
    assert!(
        from_a1.saturating_sub(from_a0) >= 3 * 84,
        "the server counted {} bytes from client 0 during the spoofed pings",
        from_a1.saturating_sub(from_a0)
    );
    // ...but none reached the server's TUN device.
    assert_eq!(
        tun1.rx_packets, tun0.rx_packets,
        "spoofed packets were delivered: {tun0:?} -> {tun1:?}"
    );
    // Neither client is hurt.
    assert_ping(&a.ns, &s.tunnel_ip.to_string(), 2);
    assert_ping(&b.ns, &s.tunnel_ip.to_string(), 2);
}

// ---------------------------------------------------------------------------------------------
// ringtun against wireguard-go and boringtun
// ---------------------------------------------------------------------------------------------

/// ringtun on `site` with `spec` as its configuration file (`ringtun -c`), listening.
fn start_ringtun(star: &Star, site: &Site, name: &str, spec: &InterfaceSpec) -> RingtunEnd {
    RingtunEnd::start(star, site, name, spec, &[])
}

/// The ringtun end's own view of H E T: its peer came up at `endpoint` (for a responder: learned
/// from the handshake), and its counters cover what iperf3 moved (`rx`, `tx`: what it received
/// and sent, inner bytes).
fn check_ringtun_end(
    ringtun: &mut RingtunEnd,
    peer_public: &str,
    endpoint: std::net::SocketAddr,
    rx: &IperfResult,
    tx: &IperfResult,
) {
    let up_at = ringtun.expect_peer_up(peer_public, HANDSHAKE_TIMEOUT);
    assert_eq!(up_at, endpoint.to_string());
    let s = ringtun.stats();
    assert!(stat(&s, "handshakes_completed") >= 1, "{s:?}");
    assert!(
        stat(&s, "rx_bytes") >= rx.received_bytes && stat(&s, "tx_bytes") >= tx.received_bytes,
        "ringtun counted {s:?}; iperf3 received {} in, {} out",
        rx.received_bytes,
        tx.received_bytes
    );
    ringtun.process.assert_running();
}

/// ringtun as client 0 initiates to a foreign server.
fn ringtun_initiates_to(server_imp: WgImpl) {
    let star = Star::new(1);
    let server = star.start_server(server_imp);
    let mut ringtun = start_ringtun(&star, &star.net.clients[0], "client", &star.client_spec(0));
    let (up, down) = check_client_initiated_tunnel(&star, Some(&server), None);
    let server_at = star.net.server_endpoint(0, SERVER_PORT);
    check_ringtun_end(
        &mut ringtun,
        &star.server_keys.public,
        server_at,
        &down,
        &up,
    );
}

/// A foreign client 0 initiates to ringtun as the server.
fn initiates_to_ringtun(client_imp: WgImpl) {
    let star = Star::new(1);
    let mut ringtun = start_ringtun(&star, &star.net.server, "server", &star.server_spec());
    let client = star.start_client(0, client_imp);
    assert!(
        !ringtun.process.log_contains("up at"),
        "the server must not be able to initiate"
    );
    let (up, down) = check_client_initiated_tunnel(&star, None, Some(&client));
    // E: the only endpoint ringtun can know the client by is the one its handshake came from.
    let client_at = star.net.client_endpoint(0, CLIENT_PORT);
    check_ringtun_end(
        &mut ringtun,
        &star.client_keys[0].public,
        client_at,
        &up,
        &down,
    );
}

#[test]
#[ignore = "needs root"]
fn ringtun_initiates_to_wireguard_go() {
    ringtun_initiates_to(WgImpl::WireguardGo);
}

#[test]
#[ignore = "needs root"]
fn ringtun_initiates_to_boringtun() {
    ringtun_initiates_to(WgImpl::Boringtun);
}

#[test]
#[ignore = "needs root"]
fn wireguard_go_initiates_to_ringtun() {
    initiates_to_ringtun(WgImpl::WireguardGo);
}

#[test]
#[ignore = "needs root"]
fn boringtun_initiates_to_ringtun() {
    initiates_to_ringtun(WgImpl::Boringtun);
}

/// A foreign server restarts and initiates to ringtun as client 0 (ringtun the responder).
fn restarted_server_initiates_to_ringtun(server_imp: WgImpl) {
    let star = Star::new(1);
    let mut server = star.start_server(server_imp);
    let mut ringtun = start_ringtun(&star, &star.net.clients[0], "client", &star.client_spec(0));
    check_restarted_server_initiates(&star, &mut server, None);
    ringtun.process.assert_running();
    let s = ringtun.stats();
    assert!(stat(&s, "handshakes_completed") >= 2, "{s:?}");
}

/// ringtun as client 0 with a key the foreign server does not have (N).
fn ringtun_key_unknown_gets_no_answer(server_imp: WgImpl) {
    let star = Star::new(1);
    let mut server = star.start_server(server_imp);
    let mut ringtun = start_ringtun(&star, &star.net.clients[0], "client", &star.client_spec(0));
    check_unknown_key_gets_no_answer(&star, &mut server, None);
    // Before the key was added nothing came back; after it, the session came up.
    assert_eq!(ringtun.process.log_count("up at"), 1, "{}", ringtun.log());
    ringtun.process.assert_running();
}

#[test]
#[ignore = "needs root"]
fn restarted_wireguard_go_server_initiates_to_ringtun() {
    restarted_server_initiates_to_ringtun(WgImpl::WireguardGo);
}

#[test]
#[ignore = "needs root"]
fn restarted_boringtun_server_initiates_to_ringtun() {
    restarted_server_initiates_to_ringtun(WgImpl::Boringtun);
}

#[test]
#[ignore = "needs root"]
fn ringtun_key_unknown_to_wireguard_go_gets_no_answer() {
    ringtun_key_unknown_gets_no_answer(WgImpl::WireguardGo);
}

#[test]
#[ignore = "needs root"]
fn ringtun_key_unknown_to_boringtun_gets_no_answer() {
    ringtun_key_unknown_gets_no_answer(WgImpl::Boringtun);
}

/// The wg-quick file written for ringtun is one the stock `wg-quick` reads: stripped of its
/// wg-quick keys (Address, MTU) it is exactly what the foreign peers get with `wg setconf`.
#[test]
#[ignore = "needs root"]
fn wg_quick_accepts_the_rendered_file() {
    require_root();
    let star = Star::new(2);
    for (name, spec) in [
        ("server", star.server_spec()),
        ("client", star.client_spec(1)),
    ] {
        assert!(spec.wg_quick_text().contains("Address = "));
        // wg-quick takes the interface name from the file name.
        let path = star.write_wg_quick(&format!("rtq{name}.conf"), &spec);
        let path_s = path.to_str().expect("utf-8 path");
        let wg_quick = wg_peer::tools::wg_quick();
        let out = run(&[wg_quick.to_str().expect("utf-8 path"), "strip", path_s]);
        assert!(
            out.status.success(),
            "wg-quick strip {name}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
        let stripped = String::from_utf8(out.stdout).expect("utf-8");
        assert_eq!(
            stripped.trim_end(),
            spec.setconf_text().trim_end(),
            "{name}"
        );
    }
}

#[test]
fn the_matrix_names_only_tests_that_exist() {
    // Every test named in the matrix above is a function of this file or of its row modules.
    let source = include_str!("interop.rs");
    let sources = [
        source,
        include_str!("interop/rekey.rs"),
        include_str!("interop/restart.rs"),
        include_str!("interop/roaming.rs"),
        include_str!("interop/several_clients.rs"),
        include_str!("interop/strangers.rs"),
    ];
    let rows: Vec<&str> = source.lines().filter(|l| l.starts_with("//! |")).collect();
    let named: Vec<&str> = rows
        .iter()
        .filter_map(|l| l.rsplit('|').nth(1))
        .filter_map(|cell| cell.trim().strip_prefix('`')?.strip_suffix('`'))
        .collect();
    // No blank rows: every row but the header and its rule names a test.
    assert_eq!(named.len(), rows.len() - 2, "{rows:#?}");
    assert!(named.len() >= 38, "{named:?}");
    for name in named {
        let test = format!("fn {name}() {{");
        assert!(
            sources.iter().any(|s| s.contains(&test)),
            "matrix names {name}, which is no test"
        );
    }
}
