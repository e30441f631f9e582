//! UDP tools on threads inside a namespace: [`UdpRelay`] (forwards between client and server,
//! counts, captures and replays, optionally reorders) and [`flood`] (junk datagrams), with the
//! kernel's count of datagrams a full socket buffer dropped.

use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use super::netns::in_netns;
use super::processes::ns_run_ok;

/// A tiny xorshift PRNG (tests only need variety, not quality).
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed | 1)
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    pub fn fill(&mut self, buf: &mut [u8]) {
        for b in buf {
            *b = self.next_u64() as u8;
        }
    }
}

/// How a [`UdpRelay`] forwards.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RelayMode {
    /// In order, as received.
    Plain,
    /// About one datagram in four (each direction) is held back and sent after the next one, or
    /// after 5 ms if no other comes: reordering without loss or duplication.
    Reorder,
}

#[derive(Default)]
struct RelayShared {
    stop: AtomicBool,
    client: Mutex<Option<SocketAddr>>,
    /// Client-to-server datagrams forwarded, all, and transport data with a payload (WireGuard
    /// type 4, longer than a keepalive's 32 bytes).
    up_all: AtomicU64,
    up_data: AtomicU64,
    down_all: AtomicU64,
    /// Set by `arm_capture`: the next client-to-server transport data datagram with a payload is
    /// copied into `captured` (and forwarded as usual).
    armed: AtomicBool,
    captured: Mutex<Option<Vec<u8>>>,
    replays_sent: AtomicU64,
}

/// A UDP relay between a ringtun client and server, run on threads with sockets inside a namespace
/// (normally the server's). The client is started with `-s <relay addr>`; the server sees the
/// relay's upstream socket as its peer, so replayed datagrams come from the genuine peer address.
pub struct UdpRelay {
    /// Where the client sends to.
    pub addr: SocketAddr,
    shared: Arc<RelayShared>,
    upstream: UdpSocket,
    threads: Vec<JoinHandle<()>>,
}

/// WireGuard's message types (the first byte; three reserved zero bytes follow).
pub const TYPE_INITIATION: u8 = 1;
pub const TYPE_RESPONSE: u8 = 2;
pub const TYPE_COOKIE_REPLY: u8 = 3;
pub const TYPE_DATA: u8 = 4;
/// Their lengths: the handshake messages' are fixed; data is at least a keepalive (16-byte header
/// and 16-byte tag, no payload).
pub const INITIATION_LEN: usize = 148;
pub const RESPONSE_LEN: usize = 92;
pub const COOKIE_REPLY_LEN: usize = 64;
pub const KEEPALIVE_LEN: usize = 32;

/// Transport data with a payload (not a keepalive): what a replay test wants to capture.
pub fn is_data_with_payload(d: &[u8]) -> bool {
    d.len() > KEEPALIVE_LEN && d[0] == TYPE_DATA
}

impl UdpRelay {
    /// Binds `listen` and a socket connected to `upstream`, both inside `ns`.
    pub fn start(ns: &str, listen: SocketAddr, upstream: SocketAddr, mode: RelayMode) -> UdpRelay {
        let (down_sock, up_sock) = in_netns(ns, move || {
            let d = UdpSocket::bind(listen).expect("relay: bind listen socket");
            let any: SocketAddr = if upstream.is_ipv4() {
                "0.0.0.0:0".parse().unwrap()
            } else {
                "[::]:0".parse().unwrap()
            };
            let u = UdpSocket::bind(any).expect("relay: bind upstream socket");
            u.connect(upstream).expect("relay: connect upstream");
            (d, u)
        });
        let addr = down_sock.local_addr().expect("relay addr");
        let timeout = match mode {
            RelayMode::Plain => Duration::from_millis(50),
            RelayMode::Reorder => Duration::from_millis(5),
        };
        down_sock.set_read_timeout(Some(timeout)).unwrap();
        up_sock.set_read_timeout(Some(timeout)).unwrap();
        let shared = Arc::new(RelayShared::default());
        let mut threads = Vec::new();

        // Client -> server.
        {
            let shared = shared.clone();
            let rx = down_sock.try_clone().unwrap();
            let tx = up_sock.try_clone().unwrap();
            threads.push(thread::spawn(move || {
                let mut rng = Rng::new(0x5eed_0001);
                let mut held: Option<(Vec<u8>, Instant)> = None;
                let mut buf = vec![0u8; 65536];
                while !shared.stop.load(Ordering::Relaxed) {
                    match rx.recv_from(&mut buf) {
                        Ok((n, from)) => {
                            *shared.client.lock().unwrap() = Some(from);
                            let d = &buf[..n];
                            if is_data_with_payload(d) && shared.armed.load(Ordering::SeqCst) {
                                let mut cap = shared.captured.lock().unwrap();
                                if cap.is_none() {
                                    *cap = Some(d.to_vec());
                                    shared.armed.store(false, Ordering::SeqCst);
                                }
                            }
                            if mode == RelayMode::Reorder && held.is_none() && rng.below(4) == 0 {
                                held = Some((d.to_vec(), Instant::now()));
                                continue;
                            }
                            count_up(&shared, d);
                            let _ = tx.send(d);
                            if let Some((h, _)) = held.take() {
                                count_up(&shared, &h);
                                let _ = tx.send(&h);
                            }
                        }
                        Err(_) => {
                            if let Some((h, _)) = held.take_if(|(_, t)| t.elapsed() >= timeout) {
                                count_up(&shared, &h);
                                let _ = tx.send(&h);
                            }
                        }
                    }
                }
            }));
        }
        // Server -> client.
        {
            let shared = shared.clone();
            let rx = up_sock.try_clone().unwrap();
            let tx = down_sock;
            threads.push(thread::spawn(move || {
                let mut rng = Rng::new(0x5eed_0002);
                let mut held: Option<(Vec<u8>, Instant, SocketAddr)> = None;
                let mut buf = vec![0u8; 65536];
                while !shared.stop.load(Ordering::Relaxed) {
                    match rx.recv(&mut buf) {
                        Ok(n) => {
                            let Some(to) = *shared.client.lock().unwrap() else {
                                continue;
                            };
                            let d = &buf[..n];
                            if mode == RelayMode::Reorder && held.is_none() && rng.below(4) == 0 {
                                held = Some((d.to_vec(), Instant::now(), to));
                                continue;
                            }
                            shared.down_all.fetch_add(1, Ordering::SeqCst);
                            let _ = tx.send_to(d, to);
                            if let Some((h, _, hto)) = held.take() {
                                shared.down_all.fetch_add(1, Ordering::SeqCst);
                                let _ = tx.send_to(&h, hto);
                            }
                        }
                        Err(_) => {
                            if let Some((h, _, hto)) =
                                held.take_if(|(_, t, _)| t.elapsed() >= timeout)
                            {
                                shared.down_all.fetch_add(1, Ordering::SeqCst);
                                let _ = tx.send_to(&h, hto);
                            }
                        }
                    }
                }
            }));
        }
        UdpRelay {
            addr,
            shared,
            upstream: up_sock,
            threads,
        }
    }

    /// Client-to-server transport data datagrams with a payload forwarded so far.
    pub fn forwarded_data(&self) -> u64 {
        self.shared.up_data.load(Ordering::SeqCst)
    }

    /// All datagrams forwarded (client to server, server to client).
    pub fn forwarded(&self) -> (u64, u64) {
        (
            self.shared.up_all.load(Ordering::SeqCst),
            self.shared.down_all.load(Ordering::SeqCst),
        )
    }

    /// Forgets any captured datagram and captures the next client-to-server data datagram.
    pub fn arm_capture(&self) {
        *self.shared.captured.lock().unwrap() = None;
        self.shared.armed.store(true, Ordering::SeqCst);
    }

    /// Waits for the armed capture.
    pub fn wait_captured(&self, timeout: Duration) -> Option<Vec<u8>> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Some(c) = self.shared.captured.lock().unwrap().clone() {
                return Some(c);
            }
            thread::sleep(Duration::from_millis(10));
        }
        None
    }

    /// Sends the captured datagram `times` more times to the server, from the relay's upstream
    /// socket (the address the server knows as its peer). Returns how many were sent.
    pub fn replay(&self, times: u32) -> u64 {
        let d = self
            .shared
            .captured
            .lock()
            .unwrap()
            .clone()
            .expect("replay: nothing captured");
        let mut sent = 0;
        for _ in 0..times {
            if self.upstream.send(&d).is_ok() {
                sent += 1;
                self.shared.replays_sent.fetch_add(1, Ordering::SeqCst);
            }
            thread::sleep(Duration::from_millis(20));
        }
        sent
    }

    pub fn replays_sent(&self) -> u64 {
        self.shared.replays_sent.load(Ordering::SeqCst)
    }
}

fn count_up(shared: &RelayShared, d: &[u8]) {
    shared.up_all.fetch_add(1, Ordering::SeqCst);
    if is_data_with_payload(d) {
        shared.up_data.fetch_add(1, Ordering::SeqCst);
    }
}

impl Drop for UdpRelay {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Relaxed);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

/// What [`flood`] sent.
#[derive(Clone, Copy, Debug, Default)]
pub struct FloodReport {
    pub sent: u64,
    /// Of those, datagrams shaped like a WireGuard message (type 1 to 4 with that type's length).
    pub shaped: u64,
}

/// Sends `count` junk datagrams from a socket inside `ns` to `target`: random lengths 0..1500 with
/// random content, and about half shaped like WireGuard messages (first byte 1 to 4, reserved
/// bytes zero, the exact handshake and cookie reply lengths or any data length), so they get past
/// the length checks to the MAC, index and tag checks. Paced a little so most reach the socket
/// rather than overflow it.
pub fn flood(ns: &str, target: SocketAddr, count: u64, seed: u64) -> FloodReport {
    let sock = in_netns(ns, move || {
        let any = if target.is_ipv4() {
            "0.0.0.0:0"
        } else {
            "[::]:0"
        };
        UdpSocket::bind(any).expect("flood: bind")
    });
    let mut rng = Rng::new(seed);
    let mut report = FloodReport::default();
    let mut buf = vec![0u8; 1500];
    for i in 0..count {
        let kind = rng.below(9);
        let len = match kind {
            0 => INITIATION_LEN,
            1 => RESPONSE_LEN,
            2 => COOKIE_REPLY_LEN,
            3 | 4 => KEEPALIVE_LEN + rng.below(1468) as usize, // data
            5 => rng.below(KEEPALIVE_LEN as u64) as usize,     // truncated
            _ => rng.below(1500) as usize,                     // anything
        };
        let d = &mut buf[..len];
        rng.fill(d);
        if kind <= 4 {
            d[0] = match kind {
                0 => TYPE_INITIATION,
                1 => TYPE_RESPONSE,
                2 => TYPE_COOKIE_REPLY,
                _ => TYPE_DATA,
            };
            d[1..4].fill(0);
            report.shaped += 1;
        } else if kind == 5 && len > 0 {
            d[0] = 1 + rng.below(4) as u8;
        }
        if sock.send_to(d, target).is_ok() {
            report.sent += 1;
        }
        if i % 64 == 63 {
            thread::sleep(Duration::from_millis(2));
        }
    }
    report
}

/// Datagrams the kernel of namespace `ns` dropped for a full UDP socket buffer, IPv4 and IPv6
/// together (`RcvbufErrors` in `/proc/net/snmp`, `Udp6RcvbufErrors` in `/proc/net/snmp6`), to
/// account for flood datagrams that never reached the socket. Compare two readings: the counters
/// are per namespace, not per socket.
pub fn udp_rcvbuf_errors(ns: &str) -> u64 {
    let snmp = ns_run_ok(ns, &["cat", "/proc/net/snmp"]);
    let mut udp = snmp.lines().filter(|l| l.starts_with("Udp:"));
    let v4 = match (udp.next(), udp.next()) {
        (Some(names), Some(values)) => names
            .split_whitespace()
            .zip(values.split_whitespace())
            .find(|(n, _)| *n == "RcvbufErrors")
            .and_then(|(_, v)| v.parse::<u64>().ok()),
        _ => None,
    };
    let snmp6 = ns_run_ok(ns, &["cat", "/proc/net/snmp6"]);
    let v6 = snmp6.lines().find_map(|l| {
        let mut f = l.split_whitespace();
        (f.next() == Some("Udp6RcvbufErrors")).then(|| f.next()?.parse::<u64>().ok())?
    });
    v4.expect("no Udp RcvbufErrors in /proc/net/snmp")
        + v6.expect("no Udp6RcvbufErrors in /proc/net/snmp6")
}
