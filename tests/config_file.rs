//! `ringtun -c FILE`: WireGuard configuration files. Two namespaces, each ringtun with its own
//! wg-quick style file and keys made by ringtun's own key tools; and the refusals that need no
//! namespace (a wg-quick key, an unknown key), which end before anything on the system changes.
//!
//! The tunnel tests need root: `sudo ./scripts/test.sh`.

// `pub`: see tests/tunnel.rs.
pub mod common;

use common::*;
use std::fs;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// Runs `ringtun ARGS` with `stdin` and returns (exit code, stdout, stderr).
fn ringtun(args: &[&str], stdin: &str) -> (i32, String, String) {
    run_with_stdin(&ringtun_bin(), args, stdin)
}

/// A key pair from `ringtun genkey` and `ringtun pubkey`.
fn keypair() -> (String, String) {
    let (code, private, err) = ringtun(&["genkey"], "");
    assert_eq!(code, 0, "genkey: {err}");
    let (code, public, err) = ringtun(&["pubkey"], &private);
    assert_eq!(code, 0, "pubkey: {err}");
    (private.trim().to_owned(), public.trim().to_owned())
}

/// Writes `text` to a new file at `path`, mode 0600 (it holds a private key).
fn write_private(path: &Path, text: &str) {
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .unwrap_or_else(|e| panic!("create {}: {e}", path.display()));
    f.write_all(text.as_bytes()).expect("write config");
}

/// A scratch directory for files of the tests that need no namespace.
struct Scratch(PathBuf);

impl Scratch {
    fn new(tag: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("ringtun-test-{}-cf{tag}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).expect("scratch dir");
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// Two hosts, each with its own wg-quick style file (its own key, the other's public key, a
/// preshared key, Address and MTU; the server a fixed ListenPort, the client an Endpoint): the
/// interfaces are named after the files, traffic flows both ways, and a network behind the client
/// (in its AllowedIPs on the server) gets a route on the server.
#[test]
#[ignore = "needs root"]
fn two_hosts_with_their_own_configuration_files() {
    let net = TestNet::new();
    let (server_private, server_public) = keypair();
    let (client_private, client_public) = keypair();
    assert_ne!(server_public, client_public);
    let (code, psk, err) = ringtun(&["genpsk"], "");
    assert_eq!(code, 0, "genpsk: {err}");
    let psk = psk.trim();

    let server_conf = net.dir.join("wgs.conf");
    write_private(
        &server_conf,
        &format!(
            "# the server\n[Interface]\nPrivateKey = {server_private}\nListenPort = {PORT}\n\
             Address = 10.90.0.1/24\nMTU = 1400\n\n\
             [Peer]\nPublicKey = {client_public}\nPresharedKey = {psk}\n\
             AllowedIPs = 10.90.0.2/32, 192.168.91.0/24\n"
        ),
    );
    let client_conf = net.dir.join("wgc.conf");
    write_private(
        &client_conf,
        &format!(
            "[Interface]\nPrivateKey = {client_private}\nAddress = 10.90.0.2/24\nMTU = 1400\n\n\
             [Peer]\nPublicKey = {server_public}\nPresharedKey = {psk}\n\
             AllowedIPs = 10.90.0.0/24\nEndpoint = {}\n",
            net.server_endpoint(PORT)
        ),
    );
    let mut server = net.server(&["-c", server_conf.to_str().unwrap()]);
    server.expect_log("listening on [::]:51820, 1 peer", SESSION_TIMEOUT);
    let mut client = net.client(&["-c", client_conf.to_str().unwrap()]);
    client.expect_log("listening on", SESSION_TIMEOUT);

    // Named after the files, given the files' addresses and MTU.
    let link = ns_run_ok(&net.server_ns, &["ip", "addr", "show", "dev", "wgs"]);
    assert!(
        link.contains("mtu 1400") && link.contains("inet 10.90.0.1/24"),
        "{link}"
    );
    let link = ns_run_ok(&net.client_ns, &["ip", "addr", "show", "dev", "wgc"]);
    assert!(
        link.contains("mtu 1400") && link.contains("inet 10.90.0.2/24"),
        "{link}"
    );
    let routes = ns_run_ok(&net.server_ns, &["ip", "-4", "route", "show", "dev", "wgs"]);
    assert!(routes.contains("192.168.91.0/24 proto static"), "{routes}");

    // WireGuard handshakes when there is something to send: the first ping brings it up.
    assert_ping(&net.client_ns, "10.90.0.1", 5);
    client.expect_log(
        &format!("peer {}… up at ", &server_public[..8]),
        SESSION_TIMEOUT,
    );
    server.expect_log(
        &format!("peer {}… up at ", &client_public[..8]),
        SESSION_TIMEOUT,
    );
    assert_ping(&net.server_ns, "10.90.0.2", 5);

    let _srv = Iperf3Server::start(&net.server_ns, "10.90.0.1", 5201);
    let r = iperf3_client(&net.client_ns, "10.90.0.1", 5201, 2, &[]).expect("iperf3 up");
    eprintln!(
        "iperf3 through ringtun -c: {:.1} Mbit/s, {} retransmits",
        r.bits_per_second / 1e6,
        r.retransmits
    );
    assert!(r.received_bytes > 0, "{r:?}");
    let r = iperf3_client(&net.client_ns, "10.90.0.1", 5201, 2, &["-R"]).expect("iperf3 down");
    assert!(r.received_bytes > 0, "{r:?}");

    let s = server.sigusr1_stats();
    assert!(stat(&s, "handshakes_completed") >= 1, "{s:?}");
    assert!(stat(&s, "rx_bytes") >= r.received_bytes / 100, "{s:?}");
    server.assert_running();
    client.assert_running();
    for end in [&server, &client] {
        // No key of either file reaches a log.
        for secret in [&server_private, &client_private, &psk.to_owned()] {
            assert!(!end.log().contains(&secret[..12]), "{}", end.log());
        }
    }
}

/// wg-quick's keys ringtun does not apply end the run before anything happens: one error line
/// naming file:line, the key and both ways out, and exit status 2.
#[test]
fn a_wg_quick_key_is_refused_with_one_line_and_status_2() {
    let dir = Scratch::new("wgq");
    let conf = dir.0.join("wg0.conf");
    let (private, _) = keypair();
    write_private(
        &conf,
        &format!("[Interface]\nPrivateKey = {private}\nAddress = 10.9.0.1/24\nDNS = 10.9.0.53\n"),
    );
    let (code, stdout, stderr) = ringtun(&["-c", conf.to_str().unwrap()], "");
    assert_eq!(code, 2, "{stderr}");
    assert_eq!(stdout, "");
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    assert_eq!(
        lines[0],
        format!(
            "ringtun: error: {}:4: DNS is a wg-quick setting: ringtun -c does not set DNS; run \
             this file with wg-quick (WG_QUICK_USERSPACE_IMPLEMENTATION=ringtun) or remove the line",
            conf.display()
        )
    );
    assert!(!stderr.contains(&private[..12]));

    // A key neither wg nor wg-quick knows: the same shape of refusal.
    let other = dir.0.join("wg1.conf");
    write_private(
        &other,
        &format!("[Interface]\nPrivateKey = {private}\nListenPrt = 1\n"),
    );
    let (code, _, stderr) = ringtun(&["-c", other.to_str().unwrap()], "");
    assert_eq!(code, 2, "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with(&format!(
            "ringtun: error: {}:3: unknown key",
            other.display()
        )),
        "{stderr}"
    );
    assert!(stderr.contains("[Interface]"), "{stderr}");
}
