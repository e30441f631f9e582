//! A client whose key ringtun, the server, does not have (N): its handshake initiations reach the
//! server's socket and nothing at all comes back (no response, no cookie reply), as the
//! foreign-server rows check for wireguard-go and boringtun. The control: ringtun started again
//! with the client's key in its file answers the same client.

use crate::common::*;
use crate::wg_peer::*;

fn key_unknown_to_ringtun_gets_no_answer(client_imp: WgImpl) {
    let star = Star::new(1);
    let (s, c) = (&star.net.server, &star.net.clients[0]);
    let server_pub = &star.server_keys.public;
    let mut without = star.server_spec();
    without.peers.clear();
    let mut ringtun = RingtunEnd::start(&star, s, "server", &without, &[]);
    let client = star.start_client(0, client_imp);

    let udp0 = udp_counters(&s.ns);
    assert_no_reply(c, s, 3);
    let udp1 = udp_counters(&s.ns);
    assert!(
        udp1.in_datagrams > udp0.in_datagrams,
        "the client's handshake initiations should have reached the server: {udp0:?} -> {udp1:?}"
    );
    assert_eq!(
        udp1.out_datagrams, udp0.out_datagrams,
        "ringtun answered a key it does not have"
    );
    assert_eq!(client.latest_handshake(server_pub), None);
    let stats = ringtun.stats();
    assert!(
        stat(&stats, "drop.unknown-peer") >= 1,
        "the initiations should have been dropped as from an unknown peer: {stats:?}"
    );
    assert_eq!(stat(&stats, "handshakes_completed"), 0, "{stats:?}");

    // The control: the same client, answered once the file has its key.
    ringtun.restart(Some(&star.server_spec()));
    establish(c, s);
    client.expect_handshake(server_pub, HANDSHAKE_TIMEOUT);
    ringtun.expect_peer_up(&star.client_keys[0].public, HANDSHAKE_TIMEOUT);
}

#[test]
#[ignore = "needs root"]
fn wireguard_go_key_unknown_to_ringtun_gets_no_answer() {
    key_unknown_to_ringtun_gets_no_answer(WgImpl::WireguardGo);
}

#[test]
#[ignore = "needs root"]
fn boringtun_key_unknown_to_ringtun_gets_no_answer() {
    key_unknown_to_ringtun_gets_no_answer(WgImpl::Boringtun);
}
