//! The control socket served by the real loop, with a stand-in protocol that seals with a fixed
//! header and "tag", answers `get` with a fixed snapshot and records every `set`.
//!
//! The loop's TUN device is one end of a unix datagram socket pair (one datagram per packet, as a
//! TUN device gives them) and its UDP socket is on loopback, so these run without root; only the
//! test with the stock `wg` tool needs root (the socket directory `/var/run/wireguard`). As in
//! `tests.rs`, assertions are on bytes and counts, never on times.

use std::io::{Read, Write};
use std::net::{SocketAddr, UdpSocket};
use std::os::fd::OwnedFd;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::os::unix::net::{UnixDatagram, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

use super::clock::Clock;
use super::event_loop::run_with_control;
use super::*;
use crate::core::{Received, Transmit};
use crate::sys::control_socket::tests::Scratch;
use crate::sys::control_socket::{ControlSocket, ControlSocketError, SOCKET_MODE};
use crate::sys::{signal, testnet};
use crate::uapi::{
    AllowedIp, Counter, Endpoint, Errno, PeerSnapshot, PrivateKey, PublicKey, SetRequest, Snapshot,
    get_reply,
};

const HDR: [u8; 16] = *b"RINGTUN-CTRL-HDR";
const TAG: [u8; 16] = *b"ringtun-ctrl-tag";
const PRIVATE_KEY_HEX: &[u8] = b"e84b5a6d2717c1003a13b431570353dbaca9146cf150c5f8575680feba52027a";
/// The peer's public key: bytes 0..32, base64 `AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=`.
const PEER_KEY: [u8; 32] = {
    let mut k = [0u8; 32];
    let mut i = 0;
    while i < 32 {
        k[i] = i as u8;
        i += 1;
    }
    k
};
const PEER_KEY_BASE64: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
/// A `set` the stand-in refuses: this listen port.
const REFUSED_PORT: u16 = 1;

/// What `get` answers: an interface with a key, a port and one peer with everything set.
fn snapshot() -> Snapshot {
    let mut peer = PeerSnapshot::new(PublicKey::from_bytes(PEER_KEY));
    peer.endpoint = Endpoint::parse(b"192.0.2.7:51820");
    peer.last_handshake_time = Some(Duration::new(1_700_000_000, 5));
    peer.rx_bytes = 1234;
    peer.tx_bytes = 5678;
    peer.persistent_keepalive_interval = 25;
    peer.allowed_ips = vec![
        AllowedIp::parse(b"10.7.0.2/32").unwrap(),
        AllowedIp::parse(b"fd07::/64").unwrap(),
    ];
    Snapshot {
        private_key: PrivateKey::from_hex(PRIVATE_KEY_HEX).ok(),
        listen_port: 51820,
        fwmark: 0,
        counters: vec![Counter {
            name: "drop_replay".into(),
            value: 3,
        }],
        peers: vec![peer],
    }
}

/// What `get` answers with `big` set: far more than a socket buffer holds (about 1 MB).
fn big_snapshot() -> Snapshot {
    Snapshot {
        peers: (0..4000u32)
            .map(|i| {
                let mut key = [0u8; 32];
                key[..4].copy_from_slice(&i.to_be_bytes());
                PeerSnapshot::new(PublicKey::from_bytes(key))
            })
            .collect(),
        ..snapshot()
    }
}

/// Seals with HDR and TAG around the packet, opens what has them; answers the control socket.
struct StandIn {
    peer: SocketAddr,
    /// `get` answers [`big_snapshot`].
    big: bool,
    /// `set` applies `listen_port` and `fwmark` to the socket (else it only records them).
    apply_socket: bool,
    gets: u32,
    sets: Vec<SetRequest>,
    stats: Stats,
}

impl Protocol for StandIn {
    type Event = Event;
    const MAX_CONTROL_LEN: usize = 4;

    fn handle_datagram(&mut self, _now: Instant, _from: SocketAddr, d: &mut [u8]) -> Received {
        let n = d.len();
        if n >= 32 && d[..16] == HDR && d[n - 16..] == TAG {
            self.stats.rx_packets += 1;
            return Received::Deliver {
                start: 16,
                len: n - 32,
            };
        }
        Received::Dropped(DropReason::AuthFailed)
    }

    fn seal(&mut self, _now: Instant, buf: &mut [u8], len: usize) -> Result<Transmit, DropReason> {
        if buf.len() < len + 32 {
            return Err(DropReason::TooBig);
        }
        buf[..16].copy_from_slice(&HDR);
        buf[16 + len..32 + len].copy_from_slice(&TAG);
        self.stats.tx_packets += 1;
        Ok(Transmit {
            dst: self.peer,
            len: len + 32,
        })
    }

    fn poll_transmit(
        &mut self,
        _now: Instant,
        _wall: WallTime,
        _buf: &mut [u8],
    ) -> Option<Transmit> {
        None
    }
    fn poll_timeout(&self) -> Option<Instant> {
        None
    }
    fn handle_timeout(&mut self, _now: Instant) {}
    fn poll_event(&mut self) -> Option<Event> {
        None
    }
    fn stats(&self) -> &Stats {
        &self.stats
    }
}

impl Control for StandIn {
    fn get(&mut self, _now: Instant, _wall: WallTime) -> Snapshot {
        self.gets += 1;
        if self.big { big_snapshot() } else { snapshot() }
    }

    fn set(
        &mut self,
        _now: Instant,
        request: SetRequest,
        socket: &mut dyn SocketControl,
    ) -> Result<(), Errno> {
        let interface = &request.interface;
        let refused = interface.listen_port == Some(REFUSED_PORT);
        let applied = if self.apply_socket && !refused {
            socket
                .reconfigure(interface.listen_port, interface.fwmark)
                .map(drop)
                .map_err(|e| match e.kind() {
                    std::io::ErrorKind::AddrInUse => Errno::EADDRINUSE,
                    _ => Errno::EIO,
                })
        } else {
            Ok(())
        };
        self.sets.push(request);
        if refused {
            Err(Errno::EADDRINUSE)
        } else {
            applied
        }
    }
}

/// Keeps the last counters reported, and shares `control_timeouts` with the test thread.
#[derive(Default)]
struct LastStats {
    last: Option<DriverStats>,
    timeouts: Arc<AtomicU64>,
}

impl Hooks for LastStats {
    fn on_event(&mut self, _now: Instant, _event: &Event) -> Result<(), String> {
        Ok(())
    }
    fn on_drop(&mut self, _now: Instant, _reason: DropReason, _from: Option<SocketAddr>) {}
    fn on_stats(&mut self, _core: &Stats, driver: &DriverStats) {
        self.timeouts
            .store(driver.control_timeouts, Ordering::SeqCst);
        self.last = Some(driver.clone());
    }
}

type LoopResult = (Result<Exit, DriverError>, StandIn, LastStats);

/// The loop on its own thread, serving a control socket.
struct Served {
    tid: libc::pid_t,
    /// Taken by `stop`; a test that fails before stops the loop on drop (and so removes its
    /// socket file).
    handle: Option<JoinHandle<LoopResult>>,
    /// The test's end of the stand-in TUN device.
    tun: UnixDatagram,
    peer: UdpSocket,
    loop_addr: SocketAddr,
    path: PathBuf,
    timeouts: Arc<AtomicU64>,
}

impl Served {
    /// Binds the control socket of `name` in `dir`, lets `adjust` change the plane's bounds, and
    /// starts the loop.
    fn start(dir: &Path, name: &str, adjust: impl FnOnce(&mut ControlPlane)) -> Served {
        Served::start_with(dir, name, false, false, adjust)
    }

    /// As [`Served::start`]; `big`: `get` answers [`big_snapshot`]; `apply_socket`: `set`
    /// applies `listen_port` and `fwmark`.
    fn start_with(
        dir: &Path,
        name: &str,
        big: bool,
        apply_socket: bool,
        adjust: impl FnOnce(&mut ControlPlane),
    ) -> Served {
        let socket = ControlSocket::bind_in(dir, name).expect("bind the control socket");
        let path = socket.path().to_owned();
        let mut plane = ControlPlane::new(socket);
        adjust(&mut plane);
        let (tun_loop, tun) = UnixDatagram::pair().unwrap();
        tun_loop.set_nonblocking(true).unwrap();
        tun.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
        udp.set_nonblocking(true).unwrap();
        let loop_addr = udp.local_addr().unwrap();
        let peer = UdpSocket::bind("127.0.0.1:0").unwrap();
        peer.set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let peer_addr = peer.local_addr().unwrap();
        let timeouts = Arc::new(AtomicU64::new(0));
        let reported_timeouts = timeouts.clone();
        let (tid_tx, tid_rx) = mpsc::channel();
        let handle = std::thread::spawn(move || {
            let signals = signal::block_and_signalfd().unwrap();
            tid_tx.send(testnet::gettid()).unwrap();
            let mut proto = StandIn {
                peer: peer_addr,
                big,
                apply_socket,
                gets: 0,
                sets: Vec::new(),
                stats: Stats::default(),
            };
            let mut hooks = LastStats {
                last: None,
                timeouts: reported_timeouts,
            };
            let io = Io {
                tun: OwnedFd::from(tun_loop),
                udp: OwnedFd::from(udp),
                signals,
            };
            let sizes = RingSizes {
                sq_entries: 64,
                cq_entries: 256,
                tun_buffers: 16,
                udp_buffers: 16,
                control_slots: 4,
                out_buffers: 0,
                send_slots: 0,
                tun_single_reads: 16,
            };
            let config = DriverConfig {
                mtu: 1420,
                offload: false,
                features: super::features(),
            };
            let r = run_with_control(
                &mut proto,
                io,
                plane,
                &config,
                &sizes,
                Clock::new(),
                &mut hooks,
            );
            (r, proto, hooks)
        });
        Served {
            tid: tid_rx.recv().unwrap(),
            handle: Some(handle),
            tun,
            peer,
            loop_addr,
            path,
            timeouts,
        }
    }

    /// `control_timeouts` as of the last SIGUSR1 report.
    fn timeouts(&self) -> u64 {
        self.timeouts.load(Ordering::SeqCst)
    }

    fn connect(&self) -> UnixStream {
        let s = UnixStream::connect(&self.path).expect("connect to the control socket");
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        s
    }

    /// Sends `request` on a new connection and returns everything read until the loop closes it.
    fn ask(&self, request: &[u8]) -> Vec<u8> {
        let mut s = self.connect();
        s.write_all(request).unwrap();
        read_reply(&mut s)
    }

    /// One packet each way through the loop.
    fn forwards(&self, i: u32) {
        self.forwards_at(self.loop_addr, i)
    }

    /// One packet each way through the loop, whose socket is bound to `loop_addr`.
    fn forwards_at(&self, loop_addr: SocketAddr, i: u32) {
        let mut buf = [0u8; 2048];
        let packet = format!("packet {i} out");
        self.tun.send(packet.as_bytes()).unwrap();
        let (n, from) = self.peer.recv_from(&mut buf).expect("a sealed datagram");
        assert_eq!(from, loop_addr);
        assert_eq!(buf[..n], [&HDR[..], packet.as_bytes(), &TAG[..]].concat());
        let packet = format!("packet {i} in");
        let sealed = [&HDR[..], packet.as_bytes(), &TAG[..]].concat();
        self.peer.send_to(&sealed, loop_addr).unwrap();
        let n = self.tun.recv(&mut buf).expect("a packet on the TUN side");
        assert_eq!(&buf[..n], packet.as_bytes());
    }

    /// SIGTERM; the loop's result, the stand-in and the last counters.
    fn stop(mut self) -> (StandIn, DriverStats) {
        testnet::tgkill(self.tid, libc::SIGTERM).unwrap();
        let handle = self.handle.take().expect("running");
        let (r, proto, hooks) = handle.join().unwrap();
        assert_eq!(r.unwrap(), Exit::Signal(libc::SIGTERM));
        (proto, hooks.last.expect("counters reported at exit"))
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        if let Some(handle) = self.handle.take() {
            let _ = testnet::tgkill(self.tid, libc::SIGTERM);
            let _ = handle.join();
        }
    }
}

/// Everything `s` reads until the loop closes it. A close with request bytes left unread (after
/// a refused request) reaches the client as ECONNRESET after the reply, not as the end of file.
fn read_reply(s: &mut UnixStream) -> Vec<u8> {
    let mut reply = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return reply,
            Ok(n) => reply.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return reply,
            Err(e) => panic!("reading the reply: {e} (after {reply:?})"),
        }
    }
}

/// Reads from `s` with a short timeout: `Some(n)` (0: closed) or `None` (still open, silent).
fn poll_read(s: &mut UnixStream) -> Option<usize> {
    s.set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    match s.read(&mut [0u8; 64]) {
        Ok(n) => Some(n),
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            ) =>
        {
            None
        }
        Err(e) => panic!("read: {e}"),
    }
}

/// A free UDP port on 127.0.0.1 (bound a moment, then given back).
fn free_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `listen_port` moves the loop to a new socket: traffic flows on the new port and no longer on
/// the old one; a port another socket holds is refused with EADDRINUSE and the socket in use keeps
/// working.
#[test]
fn listen_port_rebinds_the_socket_in_the_ring_and_a_taken_port_changes_nothing() {
    let scratch = Scratch::new();
    let lp = Served::start_with(&scratch.0, "rtc9", false, true, |_| {});
    lp.forwards(0);
    let port = free_port();
    let set = format!("set=1\nlisten_port={port}\n\n");
    assert_eq!(lp.ask(set.as_bytes()), b"errno=0\n\n");
    let moved: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    for i in 1..4 {
        lp.forwards_at(moved, i);
    }
    // The port bound already keeps its socket (`wg syncconf` sends it every time).
    assert_eq!(lp.ask(set.as_bytes()), b"errno=0\n\n");
    lp.forwards_at(moved, 9);
    // The old port is closed: a datagram to it reaches nobody.
    let sealed = [&HDR[..], b"to the old port", &TAG[..]].concat();
    let _ = lp.peer.send_to(&sealed, lp.loop_addr);
    lp.tun
        .set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    assert!(
        lp.tun.recv(&mut [0u8; 64]).is_err(),
        "delivered from the old port"
    );
    lp.tun
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();

    let holder = UdpSocket::bind("127.0.0.1:0").unwrap();
    let taken = holder.local_addr().unwrap().port();
    let set = format!("set=1\nlisten_port={taken}\n\n");
    assert_eq!(lp.ask(set.as_bytes()), b"errno=-98\n\n");
    lp.forwards_at(moved, 4);
    let (proto, d) = lp.stop();
    assert_eq!(proto.sets.len(), 3);
    assert_eq!(d.udp_recv_errors, 0, "the cancelled receive is no error");
}

#[test]
fn get_gets_the_snapshot_and_set_reaches_the_protocol() {
    let scratch = Scratch::new();
    let lp = Served::start(&scratch.0, "rtc0", |_| {});
    let expected = get_reply(&snapshot());
    assert_eq!(lp.ask(b"get=1\n\n"), expected.as_bytes());
    let set = format!(
        "set=1\nlisten_port=1234\npublic_key={}\nendpoint=[fd00::1]:51820\nallowed_ip=10.7.0.9/32\n\n",
        "ab".repeat(32)
    );
    assert_eq!(lp.ask(set.as_bytes()), b"errno=0\n\n");
    // The protocol's refusal is the reply's errno.
    let refused = format!("set=1\nlisten_port={REFUSED_PORT}\n\n");
    assert_eq!(lp.ask(refused.as_bytes()), b"errno=-98\n\n");
    let (proto, d) = lp.stop();
    assert_eq!(proto.gets, 1);
    assert_eq!(proto.sets.len(), 2);
    let first = &proto.sets[0];
    assert_eq!(first.interface.listen_port, Some(1234));
    assert_eq!(first.peers.len(), 1);
    assert_eq!(first.peers[0].public_key, PublicKey::from_bytes([0xab; 32]));
    assert_eq!(first.peers[0].endpoint, Endpoint::parse(b"[fd00::1]:51820"));
    assert_eq!(
        first.peers[0].allowed_ips,
        vec![AllowedIp::parse(b"10.7.0.9/32").unwrap()]
    );
    assert_eq!(
        (
            d.control_clients,
            d.control_requests,
            d.control_bad_requests
        ),
        (3, 3, 0),
        "{d:?}"
    );
    assert_eq!((d.control_refused, d.control_timeouts), (0, 0), "{d:?}");
}

#[test]
fn a_request_written_byte_by_byte_is_answered() {
    let scratch = Scratch::new();
    let lp = Served::start(&scratch.0, "rtc1", |_| {});
    let mut s = lp.connect();
    let set = format!(
        "set=1\nprivate_key={}\nfwmark=7\n\n",
        std::str::from_utf8(PRIVATE_KEY_HEX).unwrap()
    );
    for (i, b) in set.bytes().enumerate() {
        s.write_all(&[b]).unwrap();
        if i % 16 == 0 {
            // Give the loop time to read what is there, so reads really come in small pieces.
            std::thread::sleep(Duration::from_millis(2));
        }
    }
    assert_eq!(read_reply(&mut s), b"errno=0\n\n");
    let (proto, d) = lp.stop();
    assert_eq!(proto.sets.len(), 1);
    assert_eq!(proto.sets[0].interface.fwmark, Some(7));
    assert!(proto.sets[0].interface.private_key.is_some());
    assert_eq!(d.control_requests, 1);
}

/// Malformed and oversize requests get the codec's errno; a client inside a long request holds
/// its slot while packets keep flowing both ways.
#[test]
fn bad_and_oversize_requests_are_refused_while_packets_flow() {
    const MAX_REQUEST: usize = 512;
    let scratch = Scratch::new();
    let lp = Served::start(&scratch.0, "rtc2", |p| p.limits.max_request = MAX_REQUEST);
    assert_eq!(lp.ask(b"hello=1\n\n"), b"errno=-71\n\n", "EPROTO");
    assert_eq!(
        lp.ask(b"set=1\nlisten_port=99999\n\n"),
        b"errno=-22\n\n",
        "EINVAL"
    );
    // Half a request, then packets, then the rest and more: over the bound.
    let mut s = lp.connect();
    let mut body = b"set=1\n".to_vec();
    while body.len() < MAX_REQUEST + 200 {
        body.extend_from_slice(b"listen_port=51820\n");
    }
    body.extend_from_slice(b"\n");
    s.write_all(&body[..MAX_REQUEST / 2]).unwrap();
    for i in 0..5 {
        lp.forwards(i);
    }
    s.write_all(&body[MAX_REQUEST / 2..]).unwrap();
    assert_eq!(
        read_reply(&mut s),
        b"errno=-90\n\n",
        "EMSGSIZE, then closed"
    );
    lp.forwards(5);
    // A client that ends its side inside a request: refused as cut short (EPROTO).
    let mut s = lp.connect();
    s.write_all(b"set=1\nlisten_port=5").unwrap();
    s.shutdown(std::net::Shutdown::Write).unwrap();
    assert_eq!(read_reply(&mut s), b"errno=-71\n\n");
    // A request right after is served as usual.
    assert_eq!(lp.ask(b"get=1\n\n"), get_reply(&snapshot()).as_bytes());
    let (proto, d) = lp.stop();
    assert!(
        proto.sets.is_empty(),
        "no refused request reached the protocol"
    );
    assert_eq!(proto.gets, 1);
    assert_eq!(
        (d.control_bad_requests, d.control_requests),
        (4, 1),
        "{d:?}"
    );
    assert_eq!(
        (d.tun_reads, d.udp_sends, d.udp_recvs, d.tun_writes),
        (6, 6, 6, 6),
        "{d:?}"
    );
}

#[test]
fn clients_over_the_limit_are_closed_at_once() {
    let scratch = Scratch::new();
    let lp = Served::start(&scratch.0, "rtc3", |p| {
        p.max_clients = 8;
        p.idle_timeout = Duration::from_secs(600);
    });
    let mut idle: Vec<UnixStream> = (0..9).map(|_| lp.connect()).collect();
    let mut ninth = idle.pop().unwrap();
    assert_eq!(
        poll_read(&mut ninth),
        Some(0),
        "the ninth is closed at once"
    );
    for s in &mut idle {
        assert_eq!(poll_read(s), None, "the first eight stay open");
    }
    lp.forwards(0);
    // One leaves; its slot serves the next client (once the loop has seen it go).
    drop(idle.pop());
    let served = (0..100).any(|_| {
        let reply = lp.ask(b"get=1\n\n");
        if reply.is_empty() {
            std::thread::sleep(Duration::from_millis(10));
        }
        !reply.is_empty()
    });
    assert!(served, "a freed slot serves a new client");
    let (_, d) = lp.stop();
    assert_eq!(d.control_clients, 9, "{d:?}");
    assert!(d.control_refused >= 1, "{d:?}");
    assert_eq!((d.control_requests, d.control_timeouts), (1, 0), "{d:?}");
}

#[test]
fn idle_clients_are_closed_after_the_time_limit() {
    let scratch = Scratch::new();
    let lp = Served::start(&scratch.0, "rtc4", |p| {
        p.idle_timeout = Duration::from_millis(200);
    });
    let mut silent = lp.connect();
    let mut halfway = lp.connect();
    halfway.write_all(b"set=1\nlisten_po").unwrap();
    let mut buf = [0u8; 16];
    assert_eq!(silent.read(&mut buf).unwrap(), 0, "closed without a reply");
    assert_eq!(halfway.read(&mut buf).unwrap(), 0, "closed without a reply");
    lp.forwards(0);
    let (proto, d) = lp.stop();
    assert!(proto.sets.is_empty());
    assert_eq!((d.control_clients, d.control_timeouts), (2, 2), "{d:?}");
    assert!(d.timer_wakeups >= 1, "the loop's timeout woke it: {d:?}");
}

/// A client that asks for a long reply and reads none of it: the send waits in the ring (the loop
/// goes on forwarding) until the time limit cancels it and closes the connection.
#[test]
fn a_client_that_reads_no_reply_is_closed_after_the_time_limit() {
    let scratch = Scratch::new();
    let lp = Served::start_with(&scratch.0, "rtc6", true, false, |p| {
        p.idle_timeout = Duration::from_millis(300);
    });
    let full = get_reply(&big_snapshot()).as_bytes().len();
    let mut s = lp.connect();
    s.write_all(b"get=1\n\n").unwrap();
    for i in 0..3 {
        lp.forwards(i);
    }
    // Wait for the loop to give up on this client (its counter says so), reading nothing.
    let mut gave_up = false;
    for _ in 0..100 {
        std::thread::sleep(Duration::from_millis(50));
        testnet::tgkill(lp.tid, libc::SIGUSR1).unwrap();
        std::thread::sleep(Duration::from_millis(20));
        if lp.timeouts() >= 1 {
            gave_up = true;
            break;
        }
    }
    assert!(gave_up, "the loop never timed the client out");
    lp.forwards(3);
    let got = read_reply(&mut s);
    assert!(got.len() < full, "{} of {full} bytes", got.len());
    assert!(get_reply(&big_snapshot()).as_bytes().starts_with(&got));
    let (_, d) = lp.stop();
    assert_eq!((d.control_requests, d.control_timeouts), (1, 1), "{d:?}");
}

#[test]
fn the_socket_is_owner_only_refuses_a_second_instance_and_goes_with_the_loop() {
    let scratch = Scratch::new();
    let lp = Served::start(&scratch.0, "rtc5", |_| {});
    let meta = std::fs::symlink_metadata(&lp.path).unwrap();
    assert!(meta.file_type().is_socket());
    assert_eq!(meta.mode() & 0o7777, SOCKET_MODE);
    // A second instance on the same name: the loop answers its probe, so it refuses.
    let e = ControlSocket::bind_in(&scratch.0, "rtc5").unwrap_err();
    assert!(matches!(e, ControlSocketError::InUse(_)), "{e:?}");
    let line = e.to_string();
    assert!(
        line.ends_with("rtc5.sock is in use: another process serves this interface")
            && !line.contains('\n'),
        "{line}"
    );
    // Still served after the probe.
    assert_eq!(lp.ask(b"get=1\n\n"), get_reply(&snapshot()).as_bytes());
    let path = lp.path.clone();
    let (_, d) = lp.stop();
    assert!(!path.exists(), "the socket goes when the loop ends");
    assert_eq!(d.control_clients, 2, "the probe and the get: {d:?}");
    assert_eq!(
        d.control_bad_requests, 0,
        "an empty connection is no bad request"
    );
}

/// The stock `wg` against the loop: `wg show` reads the stand-in's snapshot, `wg set` reaches it.
#[test]
#[ignore = "needs root"]
fn wg_show_and_wg_set_talk_to_the_loop() {
    assert!(
        crate::sys::private_netns::is_root(),
        "this test needs root: it serves a socket in /var/run/wireguard"
    );
    let name = format!("rtc{}", std::process::id() % 1_000_000);
    let lp = Served::start(
        Path::new(crate::sys::control_socket::SOCKET_DIR),
        &name,
        |_| {},
    );
    let wg = |args: &[&str]| {
        let out = std::process::Command::new("wg")
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("cannot run `wg` (install wireguard-tools): {e}"));
        assert!(
            out.status.success(),
            "wg {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let shown = wg(&["show", &name]);
    for line in [
        format!("interface: {name}"),
        "listening port: 51820".to_owned(),
        format!("peer: {PEER_KEY_BASE64}"),
        "endpoint: 192.0.2.7:51820".to_owned(),
        "allowed ips: 10.7.0.2/32, fd07::/64".to_owned(),
        "persistent keepalive: every 25 seconds".to_owned(),
    ] {
        assert!(shown.contains(&line), "{line:?} not in:\n{shown}");
    }
    let dump = wg(&["show", &name, "dump"]);
    assert!(
        dump.contains(&format!(
            "{PEER_KEY_BASE64}\t(none)\t192.0.2.7:51820\t10.7.0.2/32,fd07::/64\t1700000000\t1234\t5678\t25"
        )),
        "{dump}"
    );
    wg(&["set", &name, "listen-port", "1234"]);
    let path = lp.path.clone();
    let (proto, d) = lp.stop();
    assert!(!path.exists(), "the socket goes when the loop ends");
    assert_eq!(proto.sets.len(), 1);
    assert_eq!(proto.sets[0].interface.listen_port, Some(1234));
    assert!(proto.sets[0].peers.is_empty());
    assert_eq!(proto.gets, 2);
    assert_eq!(d.control_requests, 3, "{d:?}");
    assert_eq!(d.control_bad_requests, 0, "{d:?}");
}
