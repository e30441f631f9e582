//! Roaming (M): the address the server sees the client at changes under a live session; the
//! client's next packets come from the new address, and the server, which authenticates them,
//! sends to that address from then on. Nothing is reconfigured and no new handshake is needed.
//!
//! How the client moves depends on who it is:
//! - ringtun moves its own address ([`WgNet::roam_client`]: the old one deleted, a new one added
//!   on the same link): its socket is not bound to an address, so the kernel picks the new one.
//! - wireguard-go and boringtun go behind a NAT whose mapping changes ([`WgNet::rebind_client`]:
//!   new address and port as the server sees them). Moving their own address, as ringtun's, gets
//!   neither a ping through within the handshake timeout: wireguard-go 0.0.20220316 keeps sending
//!   from the source address it last received on (its sticky socket), which the kernel refuses
//!   once deleted: it logs "Failed to send data packet: network is unreachable" for every
//!   packet, initiations too. boringtun 0.7.1 sends on a per-peer socket bound to the wildcard
//!   and connected to the peer, which fixed its source address when it connected.

use crate::common::*;
use crate::wg_peer::*;
use std::net::SocketAddr;

/// A foreign client's NAT mapping changes; ringtun, the server, follows.
fn client_roams_and_ringtun_follows(client_imp: WgImpl) {
    let star = Star::new(1);
    let (s, c) = (&star.net.server, &star.net.clients[0]);
    let client_pub = &star.client_keys[0].public;
    let mut ringtun = RingtunEnd::start(&star, s, "server", &star.server_spec(), &[]);
    let client = star.start_client(0, client_imp);
    establish(c, s);
    let old = star.net.client_endpoint(0, CLIENT_PORT);
    assert_eq!(
        ringtun.expect_peer_up(client_pub, HANDSHAKE_TIMEOUT),
        old.to_string()
    );

    let new = star.net.rebind_client(0, CLIENT_PORT);
    establish(c, s);
    ringtun.process.expect_log(
        &format!("peer {}… moved from {old} to {new}", &client_pub[..8]),
        HANDSHAKE_TIMEOUT,
    );
    // The server's packets reach the client: the old address is gone, so they went to the new.
    assert_ping_both_ways(s, c, 3);
    let stats = ringtun.stats();
    assert_eq!(
        stat(&stats, "handshakes_completed"),
        1,
        "roaming needs no new handshake: {stats:?}"
    );
    assert!(client.latest_handshake(&star.server_keys.public).is_some());
}

/// ringtun, the client, moves; the foreign server follows.
fn ringtun_roams_and_server_follows(server_imp: WgImpl) {
    let star = Star::new(1);
    let (s, c) = (&star.net.server, &star.net.clients[0]);
    let client_pub = &star.client_keys[0].public;
    let server = star.start_server(server_imp);
    let mut ringtun = RingtunEnd::start(&star, c, "client", &star.client_spec(0), &[]);
    establish(c, s);
    server.expect_handshake(client_pub, HANDSHAKE_TIMEOUT);
    assert_eq!(
        server.peer_status(client_pub).endpoint,
        Some(star.net.client_endpoint(0, CLIENT_PORT))
    );

    let new = SocketAddr::new(star.net.roam_client(0).into(), CLIENT_PORT);
    establish(c, s);
    let mut seen = None;
    let followed = wait_until(HANDSHAKE_TIMEOUT, || {
        seen = server.peer_status(client_pub).endpoint;
        seen == Some(new)
    });
    assert!(
        followed,
        "{server_imp} has the client at {seen:?}, not at {new}"
    );
    assert_ping_both_ways(s, c, 3);
    let stats = ringtun.stats();
    assert_eq!(
        stat(&stats, "handshakes_completed"),
        1,
        "roaming needs no new handshake: {stats:?}"
    );
}

#[test]
#[ignore = "needs root"]
fn wireguard_go_client_roams_and_ringtun_follows() {
    client_roams_and_ringtun_follows(WgImpl::WireguardGo);
}

#[test]
#[ignore = "needs root"]
fn boringtun_client_roams_and_ringtun_follows() {
    client_roams_and_ringtun_follows(WgImpl::Boringtun);
}

#[test]
#[ignore = "needs root"]
fn ringtun_client_roams_and_wireguard_go_follows() {
    ringtun_roams_and_server_follows(WgImpl::WireguardGo);
}

#[test]
#[ignore = "needs root"]
fn ringtun_client_roams_and_boringtun_follows() {
    ringtun_roams_and_server_follows(WgImpl::Boringtun);
}
