//! One server, three clients of different implementations at once, each with its own key and
//! preshared key and a persistent keepalive: each comes up without traffic (K) and pings both
//! ways (P); a client that sends with another client's inner source address is authenticated, and
//! its packets are dropped before the server's TUN device (S) while the others keep working. With
//! ringtun as the server its view of the three is printed at the end (V).

use crate::common::*;
use crate::wg_peer::*;

/// What runs on a site.
#[derive(Clone, Copy, Debug)]
enum Imp {
    Ringtun,
    Foreign(WgImpl),
}

impl std::fmt::Display for Imp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Imp::Ringtun => f.write_str("ringtun"),
            Imp::Foreign(imp) => imp.fmt(f),
        }
    }
}

/// A running end of either kind.
enum End {
    Ringtun(RingtunEnd),
    Foreign(WgPeer),
}

impl End {
    fn start(star: &Star, site: &Site, imp: Imp, name: &str, spec: InterfaceSpec) -> End {
        match imp {
            Imp::Ringtun => End::Ringtun(RingtunEnd::start(star, site, name, &spec, &[])),
            Imp::Foreign(imp) => End::Foreign(star.start(site, imp, spec)),
        }
    }

    /// K from this end's side: a session with `peer_public` within the handshake timeout.
    fn expect_session(&mut self, peer_public: &str) {
        match self {
            End::Ringtun(r) => {
                r.expect_peer_up(peer_public, HANDSHAKE_TIMEOUT);
            }
            End::Foreign(f) => {
                f.expect_handshake(peer_public, HANDSHAKE_TIMEOUT);
            }
        }
    }
}

/// The clients' configurations: [`Star::client_spec`] with a keepalive every second (boringtun
/// sends its first one an interval after start, the others at once).
fn keepalive_spec(star: &Star, i: usize) -> InterfaceSpec {
    let mut spec = star.client_spec(i);
    spec.peers[0].persistent_keepalive = Some(1);
    spec
}

/// Starts the three clients and checks K and P with the server already running; `server_sees`
/// waits for the server's session with a client's public key.
fn start_clients(star: &Star, imps: [Imp; 3], mut server_sees: impl FnMut(&str)) -> Vec<End> {
    let mut clients: Vec<End> = imps
        .into_iter()
        .enumerate()
        .map(|(i, imp)| {
            let site = &star.net.clients[i];
            End::start(
                star,
                site,
                imp,
                &format!("client{i}"),
                keepalive_spec(star, i),
            )
        })
        .collect();
    for (i, client) in clients.iter_mut().enumerate() {
        server_sees(&star.client_keys[i].public);
        client.expect_session(&star.server_keys.public);
    }
    for c in &star.net.clients {
        assert_ping_both_ways(c, &star.net.server, 3);
    }
    clients
}

/// Client `a` sends 3 pings to the server with client `b`'s tunnel address as their source (an
/// extra address on `a`'s interface, removed again); returns how many were answered.
fn spoof(star: &Star, a: usize, b: usize) -> u32 {
    let (a, b) = (&star.net.clients[a], &star.net.clients[b]);
    let extra = b.tunnel_host();
    ns_run_ok(&a.ns, &["ip", "addr", "add", &extra, "dev", &a.ifname]);
    let answered = ping_with_source(a, &b.tunnel_ip.to_string(), &star.net.server, 3);
    ns_run_ok(&a.ns, &["ip", "addr", "del", &extra, "dev", &a.ifname]);
    answered
}

/// Every client still reaches the server.
fn all_still_work(star: &Star) {
    for c in &star.net.clients {
        assert_ping(&c.ns, &star.net.server.tunnel_ip.to_string(), 2);
    }
}

/// ringtun serves a ringtun, a wireguard-go and a boringtun client; each in turn sends with the
/// next one's source address, which ringtun counts as `source-not-allowed`.
#[test]
#[ignore = "needs root"]
fn three_clients_of_ringtun_and_spoofed_sources() {
    let star = Star::new(3);
    let mut server = RingtunEnd::start(&star, &star.net.server, "server", &star.server_spec(), &[]);
    let imps = [
        Imp::Ringtun,
        Imp::Foreign(WgImpl::WireguardGo),
        Imp::Foreign(WgImpl::Boringtun),
    ];
    let _clients = start_clients(&star, imps, |client| {
        server.expect_peer_up(client, HANDSHAKE_TIMEOUT);
    });

    for (a, imp) in imps.iter().enumerate() {
        let b = (a + 1) % 3;
        let before = server.stat("drop.source-not-allowed");
        let answered = spoof(&star, a, b);
        let after = server.stat("drop.source-not-allowed");
        assert_eq!(
            answered, 0,
            "{imp} (client {a}) sending as client {b}: answered"
        );
        assert!(
            after - before >= 3,
            "{imp} (client {a}) sending as client {b}: source-not-allowed {before} -> {after}"
        );
        all_still_work(&star);
    }

    let view = server.view();
    for (i, key) in star.client_keys.iter().enumerate() {
        let short = &key.public[..8];
        assert!(
            view.contains(short),
            "client {i} ({short}…) missing from the view:\n{view}"
        );
    }
    let legend: Vec<String> = imps
        .iter()
        .zip(&star.client_keys)
        .enumerate()
        .map(|(i, (imp, key))| format!("client {i}: {imp}, key {}…", &key.public[..8]))
        .collect();
    println!(
        "--- the server's view, ringtun with three clients ---\n{}\n{view}--- end ---",
        legend.join("\n")
    );
    server.process.assert_running();
}

/// A foreign server with ringtun among its three clients; ringtun (client 0) sends with client 1's
/// source address, which the server decrypts and drops.
fn ringtun_among_three_clients_of(server_imp: WgImpl, others: [WgImpl; 2]) {
    let star = Star::new(3);
    let server = star.start_server(server_imp);
    let imps = [
        Imp::Ringtun,
        Imp::Foreign(others[0]),
        Imp::Foreign(others[1]),
    ];
    let _clients = start_clients(&star, imps, |client| {
        server.expect_handshake(client, HANDSHAKE_TIMEOUT);
    });

    let ringtun_pub = &star.client_keys[0].public;
    let tun0 = server.tun_counters();
    let from_ringtun0 = server.transfer(ringtun_pub).rx;
    let answered = spoof(&star, 0, 1);
    let tun1 = server.tun_counters();
    let from_ringtun1 = server.transfer(ringtun_pub).rx;
    assert_eq!(answered, 0, "ringtun sending as client 1 was answered");
    // They arrived and decrypted under ringtun's session (3 echo requests, 84 bytes each)...
    assert!(
        from_ringtun1.saturating_sub(from_ringtun0) >= 3 * 84,
        "{server_imp} counted {} bytes from ringtun during the spoofed pings",
        from_ringtun1.saturating_sub(from_ringtun0)
    );
    // ...but none reached the server's TUN device.
    assert_eq!(
        tun1.rx_packets, tun0.rx_packets,
        "spoofed packets were delivered: {tun0:?} -> {tun1:?}"
    );
    all_still_work(&star);
}

#[test]
#[ignore = "needs root"]
fn ringtun_among_three_clients_of_wireguard_go() {
    ringtun_among_three_clients_of(
        WgImpl::WireguardGo,
        [WgImpl::Boringtun, WgImpl::WireguardGo],
    );
}

#[test]
#[ignore = "needs root"]
fn ringtun_among_three_clients_of_boringtun() {
    ringtun_among_three_clients_of(WgImpl::Boringtun, [WgImpl::WireguardGo, WgImpl::Boringtun]);
}
