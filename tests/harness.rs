//! Self-test of the integration-test harness (`tests/common`), without ringtun itself: namespaces
//! and veth, underlay pings, cleanup after drop (also after a panic), the UDP relay (forwarding,
//! capture and replay, reordering), the flooder, key files, iperf3 parsing and the process wrapper.
//! If these fail, the tunnel tests' failures say nothing about ringtun.

// `pub`: common's items are this crate's API, so the parts another test binary uses are not
// dead code here (see tests/common/mod.rs).
pub mod common;

use common::*;
use std::collections::HashSet;
use std::net::{SocketAddr, UdpSocket};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread;
use std::time::Duration;

#[test]
#[ignore = "needs root"]
fn harness_self_test() {
    let (namespaces, dir) = {
        let net = TestNet::with(Underlay::Dual);
        let (namespaces, dir) = net.resources();
        assert_eq!(namespaces.len(), 2);
        for ns in &namespaces {
            assert!(netns_exists(ns), "{ns} should exist");
            assert!(ns.len() <= 32 && ns.starts_with("rt-"), "{ns}");
        }
        assert!(net.server_dev.len() <= 15 && net.client_dev.len() <= 15);
        // Underlay both ways, both families.
        assert_ping(&net.client_ns, &net.server_ip.to_string(), 2);
        assert_ping(&net.server_ns, &net.client_ip.to_string(), 2);
        assert_ping(&net.client_ns, &net.server_ip6.unwrap().to_string(), 2);
        assert_ping(&net.server_ns, &net.client_ip6.unwrap().to_string(), 2);
        // Nothing is reachable but the peer: the namespaces have no default route.
        let r = ping(&net.client_ns, "10.89.0.1", 1, Duration::from_secs(1));
        assert_eq!(r.received, 0);
        // A process left in a namespace is killed by the drop.
        let out = run(&[
            "ip",
            "netns",
            "exec",
            &net.server_ns,
            "sh",
            "-c",
            "sleep 300 >/dev/null 2>&1 & echo $!",
        ]);
        assert!(out.status.success());
        (namespaces, dir)
    };
    for ns in &namespaces {
        assert!(!netns_exists(ns), "{ns} should be gone after drop");
    }
    assert!(!dir.exists(), "{} should be gone after drop", dir.display());
    let listed = run_ok(&["ip", "netns", "list"]);
    for ns in &namespaces {
        assert!(!listed.contains(ns.as_str()), "{ns} still listed");
    }
}

#[test]
#[ignore = "needs root"]
fn cleanup_after_panic() {
    let names = Arc::new(std::sync::Mutex::new(Vec::new()));
    let names2 = names.clone();
    let dir = Arc::new(std::sync::Mutex::new(None));
    let dir2 = dir.clone();
    let result = thread::spawn(move || {
        let net = TestNet::new();
        let (namespaces, dir) = net.resources();
        names2.lock().unwrap().extend(namespaces);
        *dir2.lock().unwrap() = Some(dir);
        panic!("deliberate panic inside a test (expected in this self-test)");
    })
    .join();
    assert!(result.is_err());
    let names = names.lock().unwrap();
    assert_eq!(names.len(), 2);
    for ns in names.iter() {
        assert!(!netns_exists(ns), "{ns} should be removed after a panic");
    }
    // After a panic the scratch dir (keys, logs) is kept for inspection; this panic was deliberate.
    let dir = dir.lock().unwrap().take().unwrap();
    assert!(dir.exists());
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
#[ignore = "needs root"]
fn parallel_testnets_do_not_clash() {
    let nets: Vec<TestNet> = (0..3).map(|_| TestNet::new()).collect();
    let mut subnets = HashSet::new();
    let mut names = HashSet::new();
    for n in &nets {
        assert!(
            subnets.insert(n.server_ip),
            "duplicate subnet {}",
            n.server_ip
        );
        assert!(names.insert(n.server_ns.clone()));
        assert!(names.insert(n.client_ns.clone()));
        assert_ping(&n.client_ns, &n.server_ip.to_string(), 1);
    }
}

#[test]
#[ignore = "needs root"]
fn key_file_is_private_base64() {
    let net = TestNet::new();
    let key = net.key("key");
    let meta = std::fs::metadata(&key).unwrap();
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    let text = std::fs::read_to_string(&key).unwrap();
    assert!(text.ends_with("=\n"), "{text:?}");
    let b64 = text.trim_end();
    assert_eq!(b64.len(), 44);
    assert!(
        b64[..43]
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/')
    );
    assert_ne!(
        b64,
        std::fs::read_to_string(net.key("other"))
            .unwrap()
            .trim_end()
    );
}

/// The harness's own base64 encoder against RFC 4648's test vectors.
#[test]
fn base64_matches_rfc4648() {
    for (input, output) in [
        ("", ""),
        ("f", "Zg=="),
        ("fo", "Zm8="),
        ("foo", "Zm9v"),
        ("foob", "Zm9vYg=="),
        ("fooba", "Zm9vYmE="),
        ("foobar", "Zm9vYmFy"),
    ] {
        assert_eq!(base64(input.as_bytes()), output);
    }
}

/// Counts datagrams and echoes them back, on a socket inside `ns`.
fn echo_server(ns: &str, bind: SocketAddr) -> (SocketAddr, Arc<AtomicU64>, Arc<AtomicBool>) {
    let sock = in_netns(ns, move || UdpSocket::bind(bind).unwrap());
    sock.set_read_timeout(Some(Duration::from_millis(50)))
        .unwrap();
    let addr = sock.local_addr().unwrap();
    let count = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let (c, s) = (count.clone(), stop.clone());
    thread::spawn(move || {
        let mut buf = [0u8; 2048];
        while !s.load(Ordering::Relaxed) {
            if let Ok((n, from)) = sock.recv_from(&mut buf) {
                c.fetch_add(1, Ordering::SeqCst);
                let _ = sock.send_to(&buf[..n], from);
            }
        }
    });
    (addr, count, stop)
}

fn data_datagram(seq: u32) -> Vec<u8> {
    let mut d = vec![TYPE_DATA, 0, 0, 0];
    d.extend_from_slice(&seq.to_le_bytes());
    d.resize(80, 0xab);
    d
}

#[test]
#[ignore = "needs root"]
fn relay_forwards_captures_and_replays() {
    let net = TestNet::new();
    let (echo, received, stop) =
        echo_server(&net.server_ns, SocketAddr::new(net.server_ip.into(), 40000));
    let relay = UdpRelay::start(
        &net.server_ns,
        SocketAddr::new(net.server_ip.into(), 40001),
        echo,
        RelayMode::Plain,
    );
    let client = in_netns(&net.client_ns, || UdpSocket::bind("0.0.0.0:0").unwrap());
    client
        .set_read_timeout(Some(Duration::from_secs(2)))
        .unwrap();
    let mut buf = [0u8; 2048];
    // A keepalive-sized datagram is forwarded but not counted as data.
    let mut keepalive = [0u8; KEEPALIVE_LEN];
    keepalive[0] = TYPE_DATA;
    client.send_to(&keepalive, relay.addr).unwrap();
    assert_eq!(client.recv(&mut buf).unwrap(), 32);
    assert_eq!(relay.forwarded_data(), 0);
    for seq in 0..5 {
        client.send_to(&data_datagram(seq), relay.addr).unwrap();
        let n = client.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], &data_datagram(seq)[..], "echo through relay");
    }
    assert_eq!(relay.forwarded_data(), 5);
    relay.arm_capture();
    client.send_to(&data_datagram(77), relay.addr).unwrap();
    client.recv(&mut buf).unwrap();
    let cap = relay
        .wait_captured(Duration::from_secs(2))
        .expect("captured");
    assert_eq!(cap, data_datagram(77));
    let before = received.load(Ordering::SeqCst);
    assert_eq!(relay.replay(4), 4);
    assert!(wait_until(Duration::from_secs(2), || received
        .load(Ordering::SeqCst)
        == before + 4));
    // Replays are not counted as forwarded data: the relay's count is of genuine datagrams only.
    assert_eq!(relay.forwarded_data(), 6);
    assert_eq!(relay.replays_sent(), 4);
    // The echoes of the replays come back to the client through the relay.
    for _ in 0..4 {
        let n = client.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], &cap[..]);
    }
    stop.store(true, Ordering::Relaxed);
}

#[test]
#[ignore = "needs root"]
fn relay_reorders_without_loss() {
    let net = TestNet::new();
    let sink = in_netns(&net.server_ns, || UdpSocket::bind("0.0.0.0:40000").unwrap());
    sink.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    let relay = UdpRelay::start(
        &net.server_ns,
        SocketAddr::new(net.server_ip.into(), 40001),
        SocketAddr::new(net.server_ip.into(), 40000),
        RelayMode::Reorder,
    );
    let client = in_netns(&net.client_ns, || UdpSocket::bind("0.0.0.0:0").unwrap());
    let relay_addr = relay.addr;
    // Send on another thread while this one reads, so the sink's buffer never overflows.
    let sender = thread::spawn(move || {
        for seq in 0..300u32 {
            client.send_to(&data_datagram(seq), relay_addr).unwrap();
            if seq % 4 == 0 {
                thread::sleep(Duration::from_millis(1));
            }
        }
    });
    let mut got = Vec::new();
    let mut buf = [0u8; 2048];
    while got.len() < 300 {
        let n = match sink.recv(&mut buf) {
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => {
                let (up, down) = relay.forwarded();
                panic!(
                    "{} of 300 arrived ({e}); relay forwarded {up} up, {down} down; got {got:?}",
                    got.len()
                );
            }
            Ok(n) => n,
        };
        assert_eq!(n, 80);
        got.push(u32::from_le_bytes(buf[4..8].try_into().unwrap()));
    }
    sender.join().unwrap();
    let mut sorted = got.clone();
    sorted.sort_unstable();
    assert_eq!(
        sorted,
        (0..300).collect::<Vec<_>>(),
        "no loss, no duplicates"
    );
    let out_of_order = got.windows(2).filter(|w| w[1] < w[0]).count();
    assert!(out_of_order > 10, "only {out_of_order} reorderings");
}

#[test]
#[ignore = "needs root"]
fn flooder_reaches_a_socket_in_the_namespace() {
    let net = TestNet::with(Underlay::Dual);
    for target_ip in [
        std::net::IpAddr::from(net.server_ip),
        net.server_ip6.unwrap().into(),
    ] {
        let (addr, received, stop) = echo_server(&net.server_ns, SocketAddr::new(target_ip, 40000));
        let dropped_before = udp_rcvbuf_errors(&net.server_ns);
        let rep = flood(&net.client_ns, addr, 1000, 42);
        assert_eq!(rep.sent, 1000);
        assert!(rep.shaped > 300, "{rep:?}");
        // On a loaded host the echo thread can stall long enough for its buffer to overflow;
        // those datagrams reached the socket too, so they count.
        let mut seen = (0, 0);
        let all_arrived = wait_until(Duration::from_secs(3), || {
            seen = (
                received.load(Ordering::SeqCst),
                udp_rcvbuf_errors(&net.server_ns) - dropped_before,
            );
            seen.0 + seen.1 >= 1000
        });
        assert!(
            all_arrived,
            "{target_ip}: {} received, {} dropped for a full buffer, of 1000",
            seen.0, seen.1
        );
        stop.store(true, Ordering::Relaxed);
        thread::sleep(Duration::from_millis(100));
    }
}

#[test]
#[ignore = "needs root"]
fn iperf3_over_veth_is_parsed() {
    let net = TestNet::new();
    let _srv = Iperf3Server::start(&net.server_ns, &net.server_ip.to_string(), 5201);
    let tcp = iperf3_client(&net.client_ns, &net.server_ip.to_string(), 5201, 1, &[]).unwrap();
    assert!(tcp.sent_bytes > 0 && tcp.received_bytes > 0, "{tcp:?}");
    assert!(tcp.bits_per_second > 0.0);
    let udp = iperf3_client(
        &net.client_ns,
        &net.server_ip.to_string(),
        5201,
        1,
        &["-u", "-b", "50M"],
    )
    .unwrap();
    assert!(udp.sent_bytes > 0 && udp.lost_percent.is_some(), "{udp:?}");
    assert!(parse_iperf3("{\"error\": \"unable to connect\"}").is_err());
}

#[test]
fn json_parser() {
    let j = Json::parse(r#"{"a": [1, 2.5e3, -3], "b": {"c": "x\"y\u00e9"}, "d": true, "e": null}"#)
        .unwrap();
    assert_eq!(
        j.get("b").unwrap().get("c"),
        Some(&Json::Str("x\"yé".into()))
    );
    assert_eq!(
        j.get("a"),
        Some(&Json::Arr(vec![
            Json::Num(1.0),
            Json::Num(2500.0),
            Json::Num(-3.0)
        ]))
    );
    assert!(Json::parse("{\"a\": }").is_err());
}

/// The process wrapper against a stand-in that talks like ringtun: log waiting, SIGUSR1 stats,
/// SIGTERM exit status.
#[test]
#[ignore = "needs root"]
fn process_wrapper_with_a_fake_ringtun() {
    let net = TestNet::new();
    let script = net.dir.join("fake-ringtun.sh");
    std::fs::write(
        &script,
        r#"#!/bin/bash
n=0
trap 'n=$((n+1)); echo "ringtun: stats: tx_packets=$n rx_packets=7 drop.replay=2 udp_recvs=9" >&2' USR1
trap 'echo "ringtun: exiting on SIGTERM" >&2; exit 0' TERM
echo "ringtun: ringtun0: listening on [::]:51820 (address 10.89.0.1/24, mtu 1420)" >&2
sleep 0.3
echo "ringtun: peer xTIBA5rb… up at 10.0.0.2:4000" >&2
while true; do sleep 0.05; done
"#,
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let mut p = Ringtun::spawn(
        &net.server_ns,
        net.dir.join("fake.log"),
        "fake",
        script.to_str().unwrap(),
        &[],
    );
    p.expect_log(SESSION_UP, Duration::from_secs(5));
    assert!(p.log_contains("listening on"));
    let s1 = p.sigusr1_stats();
    assert_eq!(stat(&s1, "tx_packets"), 1);
    assert_eq!(stat(&s1, "drop.replay"), 2);
    assert_eq!(total_drops(&s1), 2);
    let s2 = p.sigusr1_stats();
    assert_eq!(stat(&s2, "tx_packets"), 2);
    assert_eq!(stat(&s2, "absent"), 0);
    assert!(!p.wait_for_log("never printed", Duration::from_millis(200)));
    let st = p.terminate(Duration::from_secs(5));
    assert!(st.success(), "{st}");
    assert!(p.log_contains("exiting on SIGTERM"));
    assert!(Path::new(&p.log_path).exists());
}

#[test]
#[ignore = "needs root"]
fn netem_helper_reports_missing_kernel_support() {
    let net = TestNet::new();
    match netem(&net.server_ns, &net.server_dev, &["delay", "5ms"]) {
        Ok(()) => {
            let q = ns_run_ok(
                &net.server_ns,
                &["tc", "qdisc", "show", "dev", &net.server_dev],
            );
            assert!(q.contains("netem"), "{q}");
        }
        Err(e) => {
            eprintln!(
                "note: netem unavailable on this kernel ({e}); tests use the reordering relay"
            );
            assert!(!e.is_empty());
        }
    }
}
