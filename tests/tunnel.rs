//! Real-tunnel integration tests of the one-command mode (`ringtun -l` / `ringtun -s` with one
//! shared secret file): a server and a client in two network namespaces joined by a veth pair (see
//! `tests/common`). Each test has its own namespaces, so they run in parallel. They need root:
//! `sudo ./scripts/test.sh`. (Configuration files: `tests/config_file.rs`.)
//!
//! Throughput is printed, never asserted (the machine is shared); no assertion depends on timing
//! beyond generous timeouts.

// `pub`: common's items are this crate's API, so the parts another test binary uses are not
// dead code here (see tests/common/mod.rs).
pub mod common;

use common::*;
use std::net::SocketAddr;
use std::thread;
use std::time::Duration;

const SERVER_TUN: &str = "10.89.0.1";
const CLIENT_TUN: &str = "10.89.0.2";

/// Brings the client's session up: WireGuard handshakes when there is something to send, so the
/// client pings the server until both ends log their session (or `timeout` passes).
fn bring_up(net: &TestNet, server: &mut Ringtun, client: &mut Ringtun, timeout: Duration) {
    let up = wait_until(timeout, || {
        let _ = ping(&net.client_ns, SERVER_TUN, 1, Duration::from_secs(1));
        client.log_contains(SESSION_UP) || client.exited().is_some()
    });
    assert!(
        up,
        "no session within {timeout:?}\n--- client ---\n{}\n--- server ---\n{}",
        client.log(),
        server.log()
    );
    client.expect_log(SESSION_UP, SESSION_TIMEOUT);
    server.expect_log(SESSION_UP, SESSION_TIMEOUT);
}

/// A server with the default addressing and a client connected to it, both with the session up.
struct Pair {
    // Field order is drop order: the processes go before the namespaces.
    server: Ringtun,
    client: Ringtun,
    key: String,
    net: TestNet,
}

fn up_pair(underlay: Underlay, server_extra: &[&str], client_extra: &[&str]) -> Pair {
    let net = TestNet::with(underlay);
    let key = net.key("key");
    let port = PORT.to_string();
    let mut args = vec!["-l", &port, "-k", &key, "-a", "10.89.0.1/24"];
    args.extend_from_slice(server_extra);
    let mut server = net.server(&args);
    server.expect_log("listening on", SESSION_TIMEOUT);
    let mut c_args = vec![
        "-s".to_string(),
        net.server_endpoint(PORT),
        "-k".into(),
        key.clone(),
    ];
    c_args.extend(client_extra.iter().map(|a| a.to_string()));
    let c_args: Vec<&str> = c_args.iter().map(String::as_str).collect();
    let mut client = net.client(&c_args);
    bring_up(&net, &mut server, &mut client, SESSION_TIMEOUT);
    Pair {
        server,
        client,
        key,
        net,
    }
}

#[test]
#[ignore = "needs root"]
fn ping_through_the_tunnel_both_ways() {
    let mut p = up_pair(Underlay::V4, &[], &[]);
    // The client took the conventional address (the server's + 1) without being told.
    assert!(
        p.client.log_contains("address 10.89.0.2/24"),
        "client log should show its address:\n{}",
        p.client.log()
    );
    // The server learned where the client is from its handshake.
    assert!(
        p.server
            .log_contains(&format!("up at {}:", p.net.client_ip)),
        "{}",
        p.server.log()
    );
    let addr = ns_run_ok(&p.net.client_ns, &["ip", "addr", "show", "dev", "ringtun0"]);
    assert!(addr.contains("10.89.0.2/24"), "{addr}");
    assert_ping(&p.net.client_ns, SERVER_TUN, 5);
    assert_ping(&p.net.server_ns, CLIENT_TUN, 5);
    let s = p.server.sigusr1_stats();
    let c = p.client.sigusr1_stats();
    // 5 requests and 5 replies each way, at least.
    assert!(
        stat(&s, "rx_packets") >= 10 && stat(&s, "tx_packets") >= 10,
        "{s:?}"
    );
    assert!(
        stat(&c, "rx_packets") >= 10 && stat(&c, "tx_packets") >= 10,
        "{c:?}"
    );
    assert!(stat(&c, "handshakes_completed") >= 1, "{c:?}");
    p.server.assert_running();
    p.client.assert_running();
}

#[test]
#[ignore = "needs root"]
fn iperf3_tcp_moves_data() {
    let mut p = up_pair(Underlay::V4, &[], &[]);
    let _srv = Iperf3Server::start(&p.net.server_ns, SERVER_TUN, 5201);
    let s0 = p.server.sigusr1_stats();
    let r =
        iperf3_client(&p.net.client_ns, SERVER_TUN, 5201, 3, &[]).expect("iperf3 through tunnel");
    eprintln!(
        "iperf3 TCP through ringtun: {:.1} Mbit/s, {} retransmits, {} bytes",
        r.bits_per_second / 1e6,
        r.retransmits,
        r.received_bytes
    );
    assert!(r.sent_bytes > 0 && r.received_bytes > 0, "{r:?}");
    let s1 = p.server.sigusr1_stats();
    let c = p.client.sigusr1_stats();
    assert!(
        stat(&c, "tx_packets") > 0 && stat(&c, "rx_packets") > 0,
        "{c:?}"
    );
    // Everything iperf3 received came out of the server's TUN side of the tunnel, with headers.
    let rx = stat(&s1, "rx_bytes") - stat(&s0, "rx_bytes");
    assert!(
        rx >= r.received_bytes,
        "server rx_bytes grew by {rx}, iperf3 received {}",
        r.received_bytes
    );
    // Not `sent_bytes`: iperf3 counts bytes still queued in its socket when the run ends.
    assert!(stat(&c, "tx_bytes") >= r.received_bytes, "{c:?} vs {r:?}");
}

#[test]
#[ignore = "needs root"]
fn client_started_before_server_still_connects() {
    let net = TestNet::new();
    let key = net.key("key");
    let port = PORT.to_string();
    let mut client = net.client(&["-s", &net.server_endpoint(PORT), "-k", &key]);
    client.expect_log("connecting to", SESSION_TIMEOUT);
    // Traffic makes it try (and fail) a couple of times first.
    let r = ping(&net.client_ns, SERVER_TUN, 3, Duration::from_secs(4));
    assert_eq!(r.received, 0);
    client.assert_running();
    assert!(!client.log_contains(SESSION_UP));
    let s = client.sigusr1_stats();
    assert!(stat(&s, "handshakes_initiated") >= 1, "{s:?}");
    let mut server = net.server(&["-l", &port, "-k", &key]);
    // WireGuard retries every 5 s while there is traffic: the next try gets through.
    bring_up(&net, &mut server, &mut client, Duration::from_secs(40));
    assert_ping(&net.client_ns, SERVER_TUN, 3);
}

#[test]
#[ignore = "needs root"]
fn restarted_server_is_reconnected_without_restarting_the_client() {
    let mut p = up_pair(Underlay::V4, &[], &[]);
    assert_ping(&p.net.client_ns, SERVER_TUN, 2);
    let st = p.server.terminate(Duration::from_secs(10));
    assert!(st.success(), "server exit: {st}");
    let port = PORT.to_string();
    let key = p.key.clone();
    p.server = p
        .net
        .server(&["-l", &port, "-k", &key, "-a", "10.89.0.1/24"]);
    p.server.expect_log("listening on", SESSION_TIMEOUT);
    let before = stat(&p.client.sigusr1_stats(), "handshakes_completed");
    // Keep the client sending so it notices that nothing comes back (~15 s), then re-handshakes;
    // the restarted server's first session with it is its "up" line.
    let reconnected = wait_until(Duration::from_secs(45), || {
        let _ = ping(&p.net.client_ns, SERVER_TUN, 1, Duration::from_secs(1));
        p.server.log_contains(SESSION_UP)
    });
    assert!(
        reconnected,
        "client did not re-handshake with the restarted server\n--- client ---\n{}\n--- server ---\n{}",
        p.client.log(),
        p.server.log()
    );
    p.client.assert_running();
    assert_ping(&p.net.client_ns, SERVER_TUN, 3);
    let after = stat(&p.client.sigusr1_stats(), "handshakes_completed");
    assert!(after > before, "client handshakes {before} -> {after}");
}

#[test]
#[ignore = "needs root"]
fn wrong_key_never_brings_the_tunnel_up() {
    let net = TestNet::new();
    let server_key = net.key("server-key");
    let client_key = net.key("client-key");
    let port = PORT.to_string();
    let mut server = net.server(&["-l", &port, "-k", &server_key]);
    server.expect_log("listening on", SESSION_TIMEOUT);
    let mut client = net.client(&["-s", &net.server_endpoint(PORT), "-k", &client_key]);
    client.expect_log("connecting to", SESSION_TIMEOUT);
    // Traffic for a while: the client handshakes (at once, then every 5 s) and gets no answer.
    let r = ping(&net.client_ns, SERVER_TUN, 7, Duration::from_secs(10));
    assert_eq!(r.received, 0);
    // Another secret means other keys: the initiations are addressed (mac1) to another public key.
    server.expect_log("bad-mac1", SESSION_TIMEOUT);
    server.assert_running();
    client.assert_running();
    assert!(!server.log_contains(SESSION_UP), "{}", server.log());
    assert!(!client.log_contains(SESSION_UP), "{}", client.log());
    // The retry comes 5 s (plus up to 333 ms of jitter) after the first initiation: wait for it
    // rather than race it.
    client.expect_log("no handshake response from peer", SESSION_TIMEOUT);
    let mut s = server.sigusr1_stats();
    let retried = wait_until(SESSION_TIMEOUT, || {
        s = server.sigusr1_stats();
        stat(&s, "drop.bad-mac1") >= 2
    });
    assert!(retried, "{s:?}");
    assert_eq!(stat(&s, "handshakes_completed"), 0, "{s:?}");
    assert_eq!(stat(&s, "rx_packets"), 0, "{s:?}");
    let c = client.sigusr1_stats();
    assert_eq!(stat(&c, "handshakes_completed"), 0, "{c:?}");
    assert!(stat(&c, "handshakes_initiated") >= 2, "{c:?}");
}

#[test]
#[ignore = "needs root"]
fn flood_of_junk_does_not_stop_the_tunnel() {
    let mut p = up_pair(Underlay::V4, &[], &[]);
    let target = SocketAddr::new(p.net.server_ip.into(), PORT);
    let s0 = p.server.sigusr1_stats();
    let k0 = udp_rcvbuf_errors(&p.net.server_ns);
    let ns = p.net.client_ns.clone();
    const COUNT: u64 = 3000;
    // Flood from the client's namespace (another socket, so another source port) while pinging.
    let flooder = thread::spawn(move || flood(&ns, target, COUNT, 0x00f1_00d5));
    let during = ping_interval(
        &p.net.client_ns,
        SERVER_TUN,
        20,
        "0.05",
        Duration::from_secs(10),
    );
    let rep = flooder.join().unwrap();
    assert_eq!(rep.sent, COUNT);
    p.server.assert_running();
    p.client.assert_running();
    assert!(
        during.received >= during.transmitted / 2,
        "ping during the flood: {during:?}"
    );
    // After the flood the tunnel is as good as before.
    let after = ping(&p.net.client_ns, SERVER_TUN, 5, Duration::from_secs(8));
    assert!(after.received >= 4, "ping after the flood: {after:?}");
    let s1 = p.server.sigusr1_stats();
    let k1 = udp_rcvbuf_errors(&p.net.server_ns);
    let drops = total_drops(&s1) - total_drops(&s0);
    let kernel = k1 - k0;
    eprintln!(
        "flood: {COUNT} sent, {drops} dropped by ringtun, {kernel} by the kernel (full buffer); {s1:?}"
    );
    assert!(
        stat(&s1, "drop.malformed") > stat(&s0, "drop.malformed"),
        "{s1:?}"
    );
    // Every junk datagram that reached ringtun is counted as a drop of some reason (none can be
    // accepted); allow a margin for ones lost elsewhere.
    assert!(
        drops + kernel >= COUNT * 9 / 10,
        "only {drops} drops + {kernel} kernel drops for {COUNT} junk datagrams: {s1:?}"
    );
    assert!(drops > 0);
    // The junk did not reach the TUN device: rx grew only by the pings' packets.
    let rx = stat(&s1, "rx_packets") - stat(&s0, "rx_packets");
    assert!(
        rx <= u64::from(during.transmitted + after.transmitted) + 10,
        "rx_packets grew by {rx}"
    );
}

#[test]
#[ignore = "needs root"]
fn replayed_datagram_is_not_delivered_twice() {
    let net = TestNet::new();
    let key = net.key("key");
    let port = PORT.to_string();
    let mut server = net.server(&["-l", &port, "-k", &key, "-a", "10.89.0.1/24"]);
    server.expect_log("listening on", SESSION_TIMEOUT);
    // client -> relay (server namespace, port 40000) -> server.
    let relay = UdpRelay::start(
        &net.server_ns,
        SocketAddr::new(net.server_ip.into(), 40000),
        SocketAddr::new(net.server_ip.into(), PORT),
        RelayMode::Plain,
    );
    let mut client = net.client(&["-s", &relay.addr.to_string(), "-k", &key]);
    bring_up(&net, &mut server, &mut client, SESSION_TIMEOUT);
    assert_ping(&net.client_ns, SERVER_TUN, 2);

    // Capture one genuine data datagram (a ping request).
    relay.arm_capture();
    assert_ping(&net.client_ns, SERVER_TUN, 1);
    let captured = relay
        .wait_captured(Duration::from_secs(5))
        .expect("relay captured a data datagram");
    assert_eq!(captured[0], TYPE_DATA);
    assert!(captured.len() > KEEPALIVE_LEN);

    // A quiet point: no datagram forwarded for 300 ms before and after the stats snapshot, so the
    // snapshot and the relay's count agree.
    let quiet_snapshot = |server: &mut Ringtun| {
        for _ in 0..50 {
            let f0 = relay.forwarded_data();
            thread::sleep(Duration::from_millis(300));
            let s = server.sigusr1_stats();
            thread::sleep(Duration::from_millis(300));
            if relay.forwarded_data() == f0 {
                return (s, f0);
            }
        }
        panic!("no quiet moment on the tunnel to take a snapshot");
    };
    let (s0, f0) = quiet_snapshot(&mut server);

    // Replay it 5 times, with genuine pings around it.
    const REPLAYS: u32 = 5;
    let ns = net.client_ns.clone();
    let pinger = thread::spawn(move || ping(&ns, SERVER_TUN, 3, Duration::from_secs(6)));
    let sent = relay.replay(REPLAYS);
    let pings = pinger.join().unwrap();
    assert_eq!(sent, u64::from(REPLAYS));
    assert_eq!(
        pings.received, 3,
        "genuine pings around the replays: {pings:?}"
    );
    assert!(
        wait_until(Duration::from_secs(10), || {
            let s = server.sigusr1_stats();
            stat(&s, "drop.replay") >= stat(&s0, "drop.replay") + u64::from(REPLAYS)
        }),
        "server did not count the replays as drop.replay: {:?}",
        server.last_stats()
    );
    let (s1, f1) = quiet_snapshot(&mut server);

    let genuine = f1 - f0;
    let delivered = stat(&s1, "rx_packets") - stat(&s0, "rx_packets");
    let replay_drops = stat(&s1, "drop.replay") - stat(&s0, "drop.replay");
    // Drops of received datagrams for other reasons (e.g. an inner packet the server refuses);
    // no-session, too-big, no-route and no-endpoint are about packets from the TUN side, not from
    // the network.
    let inbound_drops = |s: &std::collections::HashMap<String, u64>| {
        total_drops(s)
            - stat(s, "drop.replay")
            - stat(s, "drop.no-session")
            - stat(s, "drop.too-big")
            - stat(s, "drop.no-route")
            - stat(s, "drop.no-endpoint")
    };
    let other_drops = inbound_drops(&s1) - inbound_drops(&s0);
    eprintln!(
        "replay: {genuine} genuine data datagrams forwarded, {sent} replays; server rx_packets +{delivered}, drop.replay +{replay_drops}, other drops +{other_drops}"
    );
    assert!(genuine >= 3, "the 3 pings went through the relay");
    assert!(delivered >= 3, "the 3 pings were delivered: {s1:?}");
    assert_eq!(replay_drops, u64::from(REPLAYS), "{s1:?}");
    // Every genuine datagram is delivered or (rarely) dropped for a reason of its own; had any
    // replay been delivered, or counted as something else, this would not add up.
    assert_eq!(
        delivered + other_drops,
        genuine,
        "server delivered {delivered} and dropped {other_drops} (not as replays) for {genuine} genuine datagrams and {sent} replays: {s1:?}"
    );
    server.assert_running();
    client.assert_running();
}

#[test]
#[ignore = "needs root"]
fn reordered_packets_still_get_through() {
    let net = TestNet::new();
    let key = net.key("key");
    let port = PORT.to_string();
    let mut server = net.server(&["-l", &port, "-k", &key, "-a", "10.89.0.1/24"]);
    server.expect_log("listening on", SESSION_TIMEOUT);
    let netem_args = ["delay", "5ms", "reorder", "25%", "50%"];
    let netem_ok = netem(&net.server_ns, &net.server_dev, &netem_args)
        .and_then(|_| netem(&net.client_ns, &net.client_dev, &netem_args));
    // Without netem in the kernel, a relay reorders instead (one datagram in four held back).
    let relay;
    let endpoint = match netem_ok {
        Ok(()) => net.server_endpoint(PORT),
        Err(e) => {
            eprintln!("netem unavailable ({e}): reordering with a UDP relay instead");
            relay = UdpRelay::start(
                &net.server_ns,
                SocketAddr::new(net.server_ip.into(), 40000),
                SocketAddr::new(net.server_ip.into(), PORT),
                RelayMode::Reorder,
            );
            relay.addr.to_string()
        }
    };
    let mut client = net.client(&["-s", &endpoint, "-k", &key]);
    bring_up(&net, &mut server, &mut client, SESSION_TIMEOUT);

    let r = ping_interval(
        &net.client_ns,
        SERVER_TUN,
        60,
        "0.02",
        Duration::from_secs(15),
    );
    assert!(r.received >= 54, "ping over a reordering path: {r:?}");
    let _srv = Iperf3Server::start(&net.server_ns, SERVER_TUN, 5201);
    let t = iperf3_client(&net.client_ns, SERVER_TUN, 5201, 2, &[]).expect("iperf3");
    eprintln!(
        "iperf3 over a reordering path: {:.1} Mbit/s, {} retransmits",
        t.bits_per_second / 1e6,
        t.retransmits
    );
    assert!(t.received_bytes > 0, "{t:?}");
    // (No replay assertion after iperf3: at high rates a 5 ms netem delay can displace packets by
    // more than any replay window, and dropping those is correct.)
    server.assert_running();
    client.assert_running();
}

#[test]
#[ignore = "needs root"]
fn ipv6_inside_the_tunnel() {
    // No configuration is pushed: each side names both of its addresses.
    let mut p = up_pair(
        Underlay::V4,
        &["-a", "fd89::1/64"],
        &["-a", "10.89.0.2/24", "-a", "fd89::2/64"],
    );
    let a = ns_run_ok(
        &p.net.client_ns,
        &["ip", "-6", "addr", "show", "dev", "ringtun0"],
    );
    assert!(a.contains("fd89::2/64"), "{a}");
    assert_ping(&p.net.server_ns, "fd89::2", 3);
    assert_ping(&p.net.client_ns, "fd89::1", 3);
    assert_ping(&p.net.client_ns, SERVER_TUN, 2);
    p.server.assert_running();
}

#[test]
#[ignore = "needs root"]
fn ipv6_underlay() {
    let net = TestNet::with(Underlay::Dual);
    let key = net.key("key");
    let listen = format!("[::]:{PORT}");
    let mut server = net.server(&["-l", &listen, "-k", &key, "-a", "10.89.0.1/24"]);
    server.expect_log("listening on", SESSION_TIMEOUT);
    let mut client = net.client(&["-s", &net.server_endpoint6(PORT), "-k", &key]);
    bring_up(&net, &mut server, &mut client, SESSION_TIMEOUT);
    assert_ping(&net.client_ns, SERVER_TUN, 3);
    assert_ping(&net.server_ns, CLIENT_TUN, 3);
    // Over an IPv6 underlay the default MTU leaves room for the 40-byte IPv6 header.
    let link = ns_run_ok(&net.client_ns, &["ip", "link", "show", "dev", "ringtun0"]);
    assert!(link.contains("mtu 1420"), "{link}");
}

#[test]
#[ignore = "needs root"]
fn sigterm_ends_both_sides_cleanly() {
    let mut p = up_pair(Underlay::V4, &[], &[]);
    assert_ping(&p.net.client_ns, SERVER_TUN, 2);
    assert!(link_exists(&p.net.server_ns, "ringtun0"));
    assert!(link_exists(&p.net.client_ns, "ringtun0"));
    let cs = p.client.terminate(Duration::from_secs(10));
    let ss = p.server.terminate(Duration::from_secs(10));
    assert!(cs.success(), "client exit: {cs}\n{}", p.client.log());
    assert!(ss.success(), "server exit: {ss}\n{}", p.server.log());
    for r in [&p.client, &p.server] {
        assert!(
            r.log_contains("exiting on SIGTERM"),
            "{}:\n{}",
            r.label,
            r.log()
        );
        let stats = r
            .last_stats()
            .unwrap_or_else(|| panic!("{} printed no stats at exit:\n{}", r.label, r.log()));
        assert!(stat(&stats, "tx_packets") >= 2, "{}: {stats:?}", r.label);
    }
    assert!(
        !link_exists(&p.net.server_ns, "ringtun0"),
        "server's ringtun0 still there"
    );
    assert!(
        !link_exists(&p.net.client_ns, "ringtun0"),
        "client's ringtun0 still there"
    );
}

/// A client whose interface cannot be configured stops with exit status 1 and one error line, and
/// its interface is gone.
#[test]
#[ignore = "needs root"]
fn client_interface_failure_ends_it_with_one_error_line() {
    let net = TestNet::new();
    let key = net.key("key");
    let port = PORT.to_string();
    let mut server = net.server(&["-l", &port, "-k", &key]);
    server.expect_log("listening on", SESSION_TIMEOUT);
    // The client's namespace routes 10.200.0.0/16 already (elsewhere): its -r cannot be added.
    ns_run_ok(
        &net.client_ns,
        &[
            "ip",
            "route",
            "add",
            "10.200.0.0/16",
            "dev",
            &net.client_dev,
        ],
    );
    let mut client = net.client(&[
        "-s",
        &net.server_endpoint(PORT),
        "-k",
        &key,
        "-r",
        "10.200.0.0/16",
    ]);
    let exited = wait_until(SESSION_TIMEOUT, || client.exited().is_some());
    assert!(exited, "client still running:\n{}", client.log());
    let st = client.exited().unwrap();
    let log = client.log();
    assert_eq!(st.code(), Some(1), "client exit: {st}\n{log}");
    let errors: Vec<&str> = log
        .lines()
        .filter(|l| l.starts_with("ringtun: error:"))
        .collect();
    assert_eq!(errors.len(), 1, "{log}");
    assert!(
        errors[0].starts_with(
            "ringtun: error: interface set-up failed: ringtun0: cannot add route 10.200.0.0/16: \
             the same route already exists"
        ),
        "{log}"
    );
    assert!(
        !link_exists(&net.client_ns, "ringtun0"),
        "client's ringtun0 still there"
    );
    server.assert_running();
}
