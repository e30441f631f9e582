//! The stock `wg` tool against a stand-in daemon built on this codec: a listener on
//! `/var/run/wireguard/<unique>.sock` that frames requests with [`Session`], records their bytes,
//! answers `get` with [`get_reply`] of a chosen snapshot and `set` with a chosen status.
//!
//! Checks that `wg` still sends the captured fixtures byte for byte, and that `wg show ... dump`,
//! `wg showconf` and `wg syncconf` read our get reply (ringtun's extra counters included) as
//! they read wireguard-go's. Needs root (the socket directory) and `wg` (wireguard-tools).

use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use super::fixtures::*;
use super::*;

const SOCKET_DIR: &str = "/var/run/wireguard";

/// A listener standing in for a WireGuard daemon; removes its socket when dropped.
struct FakeDaemon {
    name: String,
    path: PathBuf,
    stop: Arc<AtomicBool>,
    requests: Arc<Mutex<Vec<Vec<u8>>>>,
    thread: Option<JoinHandle<()>>,
}

impl FakeDaemon {
    fn start(snapshot: Snapshot, set_status: Result<(), Errno>) -> FakeDaemon {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        // Under IFNAMSIZ, and unique per test process and daemon.
        let name = format!(
            "rtu{}-{}",
            std::process::id() % 100_000,
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        std::fs::create_dir_all(SOCKET_DIR).expect("create /var/run/wireguard (needs root)");
        let path = Path::new(SOCKET_DIR).join(format!("{name}.sock"));
        let listener =
            UnixListener::bind(&path).unwrap_or_else(|e| panic!("bind {}: {e}", path.display()));
        let stop = Arc::new(AtomicBool::new(false));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let thread = {
            let (stop, requests) = (stop.clone(), requests.clone());
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    // `wg` first probes the socket with an empty connection: no request.
                    serve(stream.expect("accept"), &snapshot, set_status, &requests);
                }
            })
        };
        FakeDaemon {
            name,
            path,
            stop,
            requests,
            thread: Some(thread),
        }
    }

    fn wg(&self, args: &[&str]) -> Output {
        let args: Vec<&str> = args
            .iter()
            .map(|a| if *a == "IFACE" { self.name.as_str() } else { a })
            .collect();
        Command::new("wg")
            .args(&args)
            .output()
            .unwrap_or_else(|e| panic!("cannot run `wg` (install wireguard-tools): {e}"))
    }

    /// Runs `wg`, expects success, returns its standard output.
    fn wg_ok(&self, args: &[&str]) -> String {
        let out = self.wg(args);
        assert!(
            out.status.success(),
            "wg {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// The requests received since the last call, as sent.
    fn take_requests(&self) -> Vec<Vec<u8>> {
        std::mem::take(&mut *self.requests.lock().unwrap())
    }
}

impl Drop for FakeDaemon {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        // Wake the accept loop so that it sees `stop`.
        let _ = UnixStream::connect(&self.path);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Serves one connection, recording each request's bytes before replying to it (so a request is
/// recorded by the time `wg` exits).
fn serve(
    mut stream: UnixStream,
    snapshot: &Snapshot,
    set_status: Result<(), Errno>,
    requests: &Mutex<Vec<Vec<u8>>>,
) {
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut session = Session::new(Limits::default());
    let mut request = Vec::new();
    let mut buf = [0u8; 512];
    loop {
        let n = stream
            .read(&mut buf)
            .unwrap_or_else(|e| panic!("read from wg: {e}"));
        if n == 0 {
            if let Some(e) = session.finish() {
                panic!("wg closed inside a request: {e}");
            }
            return;
        }
        let mut chunk = &buf[..n];
        while !chunk.is_empty() && !session.is_closed() {
            let (used, outcome) = session.feed(chunk);
            request.extend_from_slice(&chunk[..used]);
            chunk = &chunk[used..];
            let reply = match outcome {
                None => continue,
                Some(Ok(Request::Get)) => get_reply(snapshot),
                Some(Ok(Request::Set(_))) => status_reply(set_status),
                Some(Err(e)) => panic!("wg sent a request we refuse: {e}"),
            };
            requests.lock().unwrap().push(std::mem::take(&mut request));
            stream.write_all(reply.as_bytes()).unwrap();
        }
    }
}

/// A scratch directory the root test runner removes if the test process dies.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Scratch {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "ringtun-test-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed) + 1000
        ));
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }

    fn file(&self, name: &str, contents: &str) -> String {
        let path = self.0.join(name);
        std::fs::write(&path, contents).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        path.to_str().unwrap().to_owned()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn public(hex: &str) -> PublicKey {
    PublicKey::from_hex(hex).unwrap()
}

/// What the syncconf fixture's interface runs: PEER (as in the file, but fewer allowed IPs) and
/// STALE_PEER (not in the file); with ringtun's counters in both sections.
fn running_snapshot() -> Snapshot {
    let mut peer = PeerSnapshot::new(public(PEER_PUBLIC_KEY_HEX));
    peer.preshared_key = Some(PresharedKey::from_hex(PRESHARED_KEY_HEX).unwrap());
    peer.endpoint = Endpoint::parse(b"[fd00::1]:51820");
    peer.last_handshake_time = Some(Duration::new(1_700_000_000, 5));
    peer.rx_bytes = 1000;
    peer.tx_bytes = 2000;
    peer.persistent_keepalive_interval = 25;
    peer.allowed_ips = vec![AllowedIp::parse(b"10.0.0.0/24").unwrap()];
    peer.counters = vec![Counter {
        name: "handshakes_completed".into(),
        value: 3,
    }];
    let mut stale = PeerSnapshot::new(PublicKey::from_bytes([0xab; 32]));
    stale.endpoint = Endpoint::parse(b"192.0.2.1:1");
    stale.allowed_ips = vec![AllowedIp::parse(b"10.9.0.0/16").unwrap()];
    Snapshot {
        private_key: Some(PrivateKey::from_hex(PRIVATE_KEY_HEX).unwrap()),
        listen_port: 51821,
        fwmark: 0x42,
        counters: vec![
            Counter {
                name: "drop_auth-failed".into(),
                value: 7,
            },
            Counter {
                name: "drop_replay".into(),
                value: 1,
            },
        ],
        peers: vec![peer, stale],
    }
}

#[test]
#[ignore = "needs root"]
fn wg_set_sends_the_captured_bytes() {
    let daemon = FakeDaemon::start(Snapshot::default(), Ok(()));
    let scratch = Scratch::new();
    let private = scratch.file("private", &format!("{PRIVATE_KEY_B64}\n"));
    let psk = scratch.file("psk", &format!("{PRESHARED_KEY_B64}\n"));
    let cases: [(Vec<&str>, &[u8]); 5] = [
        (
            vec![
                "set",
                "IFACE",
                "private-key",
                &private,
                "listen-port",
                "1234",
                "peer",
                PEER_PUBLIC_KEY_B64,
                "allowed-ips",
                "10.0.0.2/32,fd00::2/128",
                "endpoint",
                "127.0.0.1:51820",
                "persistent-keepalive",
                "25",
            ],
            WG_SET,
        ),
        (
            vec!["set", "IFACE", "peer", PEER_PUBLIC_KEY_B64, "remove"],
            WG_SET_REMOVE,
        ),
        (
            vec![
                "set",
                "IFACE",
                "fwmark",
                "off",
                "peer",
                OWN_PUBLIC_KEY_B64,
                "preshared-key",
                &psk,
            ],
            WG_SET_FWMARK_OFF_PSK,
        ),
        (
            vec![
                "set",
                "IFACE",
                "private-key",
                "/dev/null",
                "peer",
                OWN_PUBLIC_KEY_B64,
                "preshared-key",
                "/dev/null",
                "allowed-ips",
                "",
            ],
            WG_SET_ZERO_KEYS,
        ),
        (
            vec![
                "set",
                "IFACE",
                "listen-port",
                "0",
                "peer",
                OWN_PUBLIC_KEY_B64,
                "endpoint",
                "[fe80::1%lo]:1",
                "persistent-keepalive",
                "off",
            ],
            WG_SET_SCOPED_ENDPOINT,
        ),
    ];
    for (args, expected) in cases {
        daemon.wg_ok(&args);
        let got = daemon.take_requests();
        assert_eq!(got.len(), 1, "wg {args:?}");
        assert_eq!(
            String::from_utf8_lossy(&got[0]),
            String::from_utf8_lossy(expected),
            "wg {args:?}"
        );
    }
}

#[test]
#[ignore = "needs root"]
fn wg_setconf_and_syncconf_send_the_captured_bytes() {
    let scratch = Scratch::new();
    let conf = scratch.file("wg.conf", &setconf_file());

    let empty = FakeDaemon::start(Snapshot::default(), Ok(()));
    empty.wg_ok(&["setconf", "IFACE", &conf]);
    assert_eq!(empty.take_requests(), vec![WG_SETCONF.to_vec()]);
    // With no peers running, syncconf sends what setconf sends.
    empty.wg_ok(&["syncconf", "IFACE", &conf]);
    assert_eq!(
        empty.take_requests(),
        vec![WG_SHOW.to_vec(), WG_SETCONF.to_vec()]
    );

    // syncconf reads our get reply to find the peer to remove.
    let running = FakeDaemon::start(running_snapshot(), Ok(()));
    running.wg_ok(&["syncconf", "IFACE", &conf]);
    let got = running.take_requests();
    assert_eq!(got.len(), 2);
    assert_eq!(got[0], WG_SHOW);
    assert_eq!(
        String::from_utf8_lossy(&got[1]),
        String::from_utf8_lossy(WG_SYNCCONF)
    );
}

#[test]
#[ignore = "needs root"]
fn wg_show_dump_reads_our_get_reply() {
    let daemon = FakeDaemon::start(running_snapshot(), Ok(()));
    let dump = daemon.wg_ok(&["show", "IFACE", "dump"]);
    let expected = format!(
        "{PRIVATE_KEY_B64}\t{OWN_PUBLIC_KEY_B64}\t51821\t0x42\n\
         {PEER_PUBLIC_KEY_B64}\t{PRESHARED_KEY_B64}\t[fd00::1]:51820\t10.0.0.0/24\t1700000000\t1000\t2000\t25\n\
         {STALE_PEER_PUBLIC_KEY_B64}\t(none)\t192.0.2.1:1\t10.9.0.0/16\t0\t0\t0\toff\n"
    );
    assert_eq!(dump, expected);
    assert_eq!(daemon.take_requests(), vec![WG_SHOW.to_vec()]);
}

#[test]
#[ignore = "needs root"]
fn wg_showconf_reads_our_get_reply() {
    let daemon = FakeDaemon::start(running_snapshot(), Ok(()));
    let conf = daemon.wg_ok(&["showconf", "IFACE"]);
    let expected = format!(
        "[Interface]\nListenPort = 51821\nFwMark = 0x42\nPrivateKey = {PRIVATE_KEY_B64}\n\n\
         [Peer]\nPublicKey = {PEER_PUBLIC_KEY_B64}\nPresharedKey = {PRESHARED_KEY_B64}\n\
         AllowedIPs = 10.0.0.0/24\nEndpoint = [fd00::1]:51820\nPersistentKeepalive = 25\n\n\
         [Peer]\nPublicKey = {STALE_PEER_PUBLIC_KEY_B64}\nAllowedIPs = 10.9.0.0/16\nEndpoint = 192.0.2.1:1\n"
    );
    assert_eq!(conf, expected);
}

#[test]
#[ignore = "needs root"]
fn wg_prints_the_errno_of_a_refused_set() {
    let daemon = FakeDaemon::start(Snapshot::default(), Err(Errno::EADDRINUSE));
    let out = daemon.wg(&["set", "IFACE", "listen-port", "1"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("Address already in use"), "{stderr}");
}
