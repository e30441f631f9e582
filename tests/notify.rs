//! systemd's readiness protocol end to end: a real server started with `$NOTIFY_SOCKET` set (as a
//! `Type=notify` unit is) sends `READY=1` once its interface is up, a one-command client once its
//! first session with the server is up, and both `STOPPING=1` on SIGTERM, to a unix datagram
//! socket the test listens on in place of systemd. Needs root (namespaces,
//! TUN): `sudo ./scripts/test.sh --test notify`.

// `pub`: see tests/common/mod.rs.
pub mod common;

use common::*;
use std::io::ErrorKind;
use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::{SocketAddr, UnixDatagram};
use std::time::Duration;

/// The server's tunnel address (the one-command default), which the client pings.
const SERVER_TUN: &str = "10.89.0.1";

/// Waits for one notification datagram.
fn next_message(sock: &UnixDatagram, server: &Ringtun) -> String {
    sock.set_read_timeout(Some(SESSION_TIMEOUT)).unwrap();
    let mut buf = [0u8; 1024];
    let n = sock
        .recv(&mut buf)
        .unwrap_or_else(|e| panic!("no notification ({e}); server log:\n{}", server.log()));
    String::from_utf8(buf[..n].to_vec()).expect("notifications are text")
}

/// The next notification datagram if one arrives within `wait`.
fn message_within(sock: &UnixDatagram, wait: Duration) -> Option<String> {
    sock.set_read_timeout(Some(wait)).unwrap();
    let mut buf = [0u8; 1024];
    match sock.recv(&mut buf) {
        Ok(n) => Some(String::from_utf8(buf[..n].to_vec()).expect("notifications are text")),
        Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => None,
        Err(e) => panic!("notification socket: {e}"),
    }
}

/// Starts a server in `net`'s server namespace with `NOTIFY_SOCKET=value` (`env` execs ringtun,
/// so the pid the harness signals is ringtun's).
fn notified_server(net: &TestNet, value: &str) -> Ringtun {
    let key = net.key("key");
    let port = PORT.to_string();
    let socket = format!("NOTIFY_SOCKET={value}");
    let bin = ringtun_bin();
    Ringtun::spawn(
        &net.server_ns,
        net.dir.join("server.log"),
        "server",
        "env",
        &[&socket, &bin, "-l", &port, "-k", &key],
    )
}

/// The whole exchange: READY=1 (with the interface already there), then STOPPING=1 on SIGTERM.
fn assert_ready_then_stopping(net: &TestNet, listener: &UnixDatagram, mut server: Ringtun) {
    let ready = next_message(listener, &server);
    assert_eq!(
        ready,
        format!(
            "READY=1\nSTATUS=ringtun0: listening on [::]:{PORT} (address 10.89.0.1/24, mtu 1420)"
        ),
        "server log:\n{}",
        server.log()
    );
    assert!(
        link_exists(&net.server_ns, "ringtun0"),
        "READY=1 came before the interface existed"
    );
    assert!(server.log_contains("listening on"), "{}", server.log());
    let status = server.terminate(Duration::from_secs(10));
    assert!(status.success(), "exit {status}:\n{}", server.log());
    assert_eq!(
        next_message(listener, &server),
        "STOPPING=1\nSTATUS=exiting on SIGTERM"
    );
    assert!(!server.log_contains("cannot notify"), "{}", server.log());
}

#[test]
#[ignore = "needs root"]
fn server_notifies_a_socket_path() {
    let net = TestNet::new();
    let path = net.dir.join("notify");
    let listener = UnixDatagram::bind(&path).unwrap();
    let server = notified_server(&net, path.to_str().unwrap());
    assert_ready_then_stopping(&net, &listener, server);
}

/// Abstract socket names belong to a network namespace: the listener is made inside the server's.
#[test]
#[ignore = "needs root"]
fn server_notifies_an_abstract_socket() {
    let net = TestNet::new();
    let name = format!("ringtun-test-notify-{}-{}", std::process::id(), net.id);
    let bound = name.clone();
    let listener = in_netns(&net.server_ns, move || {
        UnixDatagram::bind_addr(&SocketAddr::from_abstract_name(bound.as_bytes()).unwrap()).unwrap()
    });
    let server = notified_server(&net, &format!("@{name}"));
    assert_ready_then_stopping(&net, &listener, server);
}

/// A `NOTIFY_SOCKET` nobody listens on costs a warning, not the tunnel.
#[test]
#[ignore = "needs root"]
fn unreachable_notify_socket_is_a_warning() {
    let net = TestNet::new();
    let absent = net.dir.join("nobody-listens");
    let mut server = notified_server(&net, absent.to_str().unwrap());
    server.expect_log("cannot notify the service manager", SESSION_TIMEOUT);
    server.assert_running();
    assert!(link_exists(&net.server_ns, "ringtun0"));
    let status = server.terminate(Duration::from_secs(10));
    assert!(status.success(), "exit {status}:\n{}", server.log());
}

/// The one-command client is ready only once its session with the server is up: not while no
/// server answers (though its interface is up and it tries to handshake), and then once, naming
/// the server, after the server started; STOPPING=1 on SIGTERM as the server.
#[test]
#[ignore = "needs root"]
fn client_is_ready_once_its_first_session_is_up() {
    let net = TestNet::new();
    let key = net.key("key");
    let path = net.dir.join("client-notify");
    let listener = UnixDatagram::bind(&path).unwrap();
    let endpoint = net.server_endpoint(PORT);
    let socket = format!("NOTIFY_SOCKET={}", path.display());
    let bin = ringtun_bin();
    let mut client = Ringtun::spawn(
        &net.client_ns,
        net.dir.join("client.log"),
        "client",
        "env",
        &[&socket, &bin, "-s", &endpoint, "-k", &key],
    );
    client.expect_log("connecting to", SESSION_TIMEOUT);
    assert!(link_exists(&net.client_ns, "ringtun0"));
    // Traffic makes it send a handshake that nobody answers: still not ready.
    let _ = ping(&net.client_ns, SERVER_TUN, 1, Duration::from_secs(1));
    assert_eq!(
        message_within(&listener, Duration::from_millis(1500)),
        None,
        "ready without a server; client log:\n{}",
        client.log()
    );
    client.assert_running();
    assert!(!client.log_contains(SESSION_UP), "{}", client.log());

    let port = PORT.to_string();
    let mut server = net.server(&["-l", &port, "-k", &key]);
    // WireGuard handshakes when there is something to send (and retries every 5 s).
    let mut ready = None;
    let got = wait_until(Duration::from_secs(40), || {
        let _ = ping(&net.client_ns, SERVER_TUN, 1, Duration::from_secs(1));
        ready = message_within(&listener, Duration::from_millis(200));
        ready.is_some() || client.exited().is_some()
    });
    assert!(
        got && ready.is_some(),
        "no READY=1\n--- client ---\n{}\n--- server ---\n{}",
        client.log(),
        server.log()
    );
    assert_eq!(
        ready.unwrap(),
        format!("READY=1\nSTATUS=ringtun0: connected to {endpoint}"),
        "{}",
        client.log()
    );
    // The session needed the server's answer, and the client logged it before saying so.
    assert!(server.log_contains("listening on"), "{}", server.log());
    assert!(client.log_contains(SESSION_UP), "{}", client.log());
    // Once: more traffic (and its session) sends nothing more.
    let _ = ping(&net.client_ns, SERVER_TUN, 2, Duration::from_secs(2));
    assert_eq!(message_within(&listener, Duration::from_millis(500)), None);

    let status = client.terminate(Duration::from_secs(10));
    assert!(status.success(), "exit {status}:\n{}", client.log());
    assert_eq!(
        next_message(&listener, &client),
        "STOPPING=1\nSTATUS=exiting on SIGTERM"
    );
    assert!(!client.log_contains("cannot notify"), "{}", client.log());
    server.assert_running();
}
