//! Restarts with ringtun on one end: either side killed and started again with the same keys.
//!
//! - The restarted end initiates (H P): it has no session, so the first packet it sends starts a
//!   handshake, which the other end accepts although it still holds the old session.
//! - The end that kept running finds out by itself (A P): what it sends under the old session is
//!   dropped by the new process, and its own timers start a new handshake once nothing has come
//!   back for KEEPALIVE_TIMEOUT + REKEY_TIMEOUT (15 s, plus up to a third of a second of jitter).
//!
//! ringtun is killed with SIGKILL (nothing said to the peer, as in a crash); the foreign ends stop
//! on SIGTERM, which tells the peer nothing either (WireGuard has no goodbye).

use crate::common::*;
use crate::wg_peer::*;
use std::time::{Duration, SystemTime};

/// How long a tunnel may take to come back by the surviving end's timers: the 15 s above, the
/// retransmission 5 s later if the first initiation crossed the restart, and slack for a slow
/// machine.
const TIMER_RECOVERY: Duration = Duration::from_secs(30);

/// wireguard-go reports handshakes in whole seconds: to tell a new handshake from the one before,
/// the next must come in a later second. Waits out the rest of the second `t` was in.
fn next_second_after(t: SystemTime) {
    let due = t + Duration::from_secs(1);
    while SystemTime::now() < due {
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Waits until `peer` reports a handshake with `public` later than `before`.
fn expect_newer_handshake(peer: &WgPeer, public: &str, before: SystemTime) -> SystemTime {
    let mut latest = None;
    let newer = wait_until(HANDSHAKE_TIMEOUT, || {
        latest = peer.latest_handshake(public);
        latest.is_some_and(|t| t > before)
    });
    assert!(
        newer,
        "{} on {}: latest handshake {latest:?}, not after {before:?}",
        peer.imp, peer.ifname
    );
    latest.expect("checked")
}

/// ringtun, the server, is killed and started again with the client's endpoint added to its file,
/// and initiates to the foreign client, which still holds the old session (H P).
fn restarted_ringtun_server_initiates(client_imp: WgImpl) {
    let star = Star::new(1);
    let (s, c) = (&star.net.server, &star.net.clients[0]);
    let server_pub = &star.server_keys.public;
    let mut ringtun = RingtunEnd::start(&star, s, "server", &star.server_spec(), &[]);
    let client = star.start_client(0, client_imp);
    establish(c, s);
    let first = client.expect_handshake(server_pub, HANDSHAKE_TIMEOUT);
    next_second_after(first);

    let mut spec = star.server_spec();
    let client_at = star.net.client_endpoint(0, CLIENT_PORT);
    spec.peers[0].endpoint = Some(client_at);
    ringtun.restart(Some(&spec));
    establish(s, c);
    expect_newer_handshake(&client, server_pub, first);
    let up_at = ringtun.expect_peer_up(&star.client_keys[0].public, HANDSHAKE_TIMEOUT);
    assert_eq!(up_at, client_at.to_string());
    assert_ping_both_ways(s, c, 3);
    let stats = ringtun.stats();
    assert!(
        stat(&stats, "handshakes_initiated") >= 1,
        "the new process did not initiate: {stats:?}"
    );
}

/// ringtun, the server, is killed and started again with the same file (which has no endpoint for
/// the client, so it cannot initiate): the foreign client's timers bring the tunnel back (A P).
fn rehandshakes_with_restarted_ringtun(client_imp: WgImpl) {
    let star = Star::new(1);
    let (s, c) = (&star.net.server, &star.net.clients[0]);
    let server_pub = &star.server_keys.public;
    let mut ringtun = RingtunEnd::start(&star, s, "server", &star.server_spec(), &[]);
    let client = star.start_client(0, client_imp);
    establish(c, s);
    let first = client.expect_handshake(server_pub, HANDSHAKE_TIMEOUT);
    next_second_after(first);

    ringtun.restart(None);
    let took = establish_within(c, s, TIMER_RECOVERY);
    eprintln!("{client_imp} came back to the restarted ringtun after {took:?}");
    expect_newer_handshake(&client, server_pub, first);
    ringtun.expect_peer_up(&star.client_keys[0].public, HANDSHAKE_TIMEOUT);
    assert_ping_both_ways(c, s, 3);
    let stats = ringtun.stats();
    // The client's pings under the old session reached the new process, which did not know them.
    assert!(
        stat(&stats, "drop.unknown-session") >= 1,
        "the old session's packets were not seen: {stats:?}"
    );
    assert_eq!(
        stat(&stats, "handshakes_initiated"),
        0,
        "ringtun had no endpoint to initiate to: {stats:?}"
    );
}

/// ringtun, the client, is killed and started again: it initiates to the foreign server, which
/// still holds the old session (H P).
fn restarted_ringtun_client_initiates(server_imp: WgImpl) {
    let star = Star::new(1);
    let (s, c) = (&star.net.server, &star.net.clients[0]);
    let client_pub = &star.client_keys[0].public;
    let server = star.start_server(server_imp);
    let mut ringtun = RingtunEnd::start(&star, c, "client", &star.client_spec(0), &[]);
    establish(c, s);
    let first = server.expect_handshake(client_pub, HANDSHAKE_TIMEOUT);
    next_second_after(first);

    ringtun.restart(None);
    establish(c, s);
    expect_newer_handshake(&server, client_pub, first);
    let up_at = ringtun.expect_peer_up(&star.server_keys.public, HANDSHAKE_TIMEOUT);
    assert_eq!(up_at, star.net.server_endpoint(0, SERVER_PORT).to_string());
    assert_ping_both_ways(c, s, 3);
}

/// The foreign server restarts without the client's endpoint (so it cannot initiate): ringtun's
/// timers, the client's, bring the tunnel back (A P).
fn ringtun_rehandshakes_with_restarted(server_imp: WgImpl) {
    let star = Star::new(1);
    let (s, c) = (&star.net.server, &star.net.clients[0]);
    let client_pub = &star.client_keys[0].public;
    let mut server = star.start_server(server_imp);
    let mut ringtun = RingtunEnd::start(&star, c, "client", &star.client_spec(0), &[]);
    establish(c, s);
    server.expect_handshake(client_pub, HANDSHAKE_TIMEOUT);

    server.restart();
    assert_eq!(server.latest_handshake(client_pub), None);
    assert_eq!(server.peer_status(client_pub).endpoint, None);
    let took = establish_within(c, s, TIMER_RECOVERY);
    eprintln!("ringtun came back to the restarted {server_imp} after {took:?}");
    server.expect_handshake(client_pub, HANDSHAKE_TIMEOUT);
    assert_ping_both_ways(c, s, 3);
    let stats = ringtun.stats();
    assert!(
        stat(&stats, "handshakes_initiated") >= 2 && stat(&stats, "handshakes_completed") >= 2,
        "{stats:?}"
    );
}

/// The foreign client restarts and initiates to ringtun, which still holds the old session (H P).
fn restarted_client_initiates_to_ringtun(client_imp: WgImpl) {
    let star = Star::new(1);
    let (s, c) = (&star.net.server, &star.net.clients[0]);
    let server_pub = &star.server_keys.public;
    let mut ringtun = RingtunEnd::start(&star, s, "server", &star.server_spec(), &[]);
    let mut client = star.start_client(0, client_imp);
    establish(c, s);
    client.expect_handshake(server_pub, HANDSHAKE_TIMEOUT);

    client.restart();
    assert_eq!(client.latest_handshake(server_pub), None);
    establish(c, s);
    client.expect_handshake(server_pub, HANDSHAKE_TIMEOUT);
    assert_ping_both_ways(c, s, 3);
    let stats = ringtun.stats();
    assert!(stat(&stats, "handshakes_completed") >= 2, "{stats:?}");
    assert_eq!(
        stat(&stats, "drop.handshake-replay"),
        0,
        "the new process's initiation was taken for a replay: {stats:?}"
    );
}

#[test]
#[ignore = "needs root"]
fn restarted_ringtun_server_initiates_to_wireguard_go() {
    restarted_ringtun_server_initiates(WgImpl::WireguardGo);
}

#[test]
#[ignore = "needs root"]
fn restarted_ringtun_server_initiates_to_boringtun() {
    restarted_ringtun_server_initiates(WgImpl::Boringtun);
}

#[test]
#[ignore = "needs root"]
fn wireguard_go_rehandshakes_with_restarted_ringtun() {
    rehandshakes_with_restarted_ringtun(WgImpl::WireguardGo);
}

#[test]
#[ignore = "needs root"]
fn boringtun_rehandshakes_with_restarted_ringtun() {
    rehandshakes_with_restarted_ringtun(WgImpl::Boringtun);
}

#[test]
#[ignore = "needs root"]
fn restarted_ringtun_client_initiates_to_wireguard_go() {
    restarted_ringtun_client_initiates(WgImpl::WireguardGo);
}

#[test]
#[ignore = "needs root"]
fn restarted_ringtun_client_initiates_to_boringtun() {
    restarted_ringtun_client_initiates(WgImpl::Boringtun);
}

#[test]
#[ignore = "needs root"]
fn ringtun_rehandshakes_with_restarted_wireguard_go() {
    ringtun_rehandshakes_with_restarted(WgImpl::WireguardGo);
}

#[test]
#[ignore = "needs root"]
fn ringtun_rehandshakes_with_restarted_boringtun() {
    ringtun_rehandshakes_with_restarted(WgImpl::Boringtun);
}

#[test]
#[ignore = "needs root"]
fn restarted_wireguard_go_client_initiates_to_ringtun() {
    restarted_client_initiates_to_ringtun(WgImpl::WireguardGo);
}

#[test]
#[ignore = "needs root"]
fn restarted_boringtun_client_initiates_to_ringtun() {
    restarted_client_initiates_to_ringtun(WgImpl::Boringtun);
}
