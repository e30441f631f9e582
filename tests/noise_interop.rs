//! `core::noise` against implementations nobody here wrote, wireguard-go and boringtun, live: both
//! handshake directions and transport data both ways, inside a network namespace each test creates
//! (loopback only; nothing leaves it) and removes, also on failure.
//!
//! Needs root, `wg`, `wireguard-go` and `boringtun-cli` (Debian: wireguard-tools, wireguard-go;
//! `cargo install boringtun-cli`):
//!     cargo test --test noise_interop -- --ignored --nocapture
//! With `RINGTUN_WRITE_VECTORS=1` they rewrite `tests/vectors/{wireguard_go,boringtun}.txt`, the
//! exchanged bytes and our secrets, which the unit tests in `core::noise::interop_vectors` replay
//! without root.
//!
//! Direction 1, the other side initiates: a ping through its interface makes it send an initiation
//! to our UDP socket; our responder consumes it, answers, and decrypts the ping that follows.
//! Direction 2, we initiate: it answers; we consume the response, send an ICMP echo request through
//! the tunnel and decrypt its echo reply.

use std::fmt::Write as _;
use std::net::{SocketAddr, UdpSocket};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant as StdInstant};

use ringtun::core::Instant;
use ringtun::core::noise::cookie::CookieChecker;
use ringtun::core::noise::messages::{
    INITIATION_LEN, Initiation, KEEPALIVE_LEN, MSG_INITIATION, MSG_RESPONSE, MSG_TRANSPORT,
    RESPONSE_LEN, Response, Transport,
};
use ringtun::core::noise::{
    Entropy, PeerCookie, PeerKeys, PresharedKey, SessionKeys, StaticIdentity, Tai64N,
    create_initiation, identify_initiation, transport,
};

const THEIR_PRIVATE: [u8; 32] = [0x31; 32];
const OUR_PRIVATE: [u8; 32] = [0x42; 32];
/// Our ephemeral private keys: for the response (direction 1) and the initiation (direction 2).
const OUR_RESPONSE_EPHEMERAL: [u8; 32] = [0x53; 32];
const OUR_INITIATION_EPHEMERAL: [u8; 32] = [0x64; 32];
const OUR_RESPONDER_INDEX: u32 = 0x0000_b0b0;
const OUR_INITIATOR_INDEX: u32 = 0x0000_a1a1;
/// 2026-01-01T00:00:00Z: any time works; the responder only compares it with earlier initiations.
const OUR_TIMESTAMP_UNIX_NS: u64 = 1_767_225_600_000_000_000;
const THEIR_PORT: u16 = 51820;
const OUR_PORT: u16 = 51821;
const THEIR_TUNNEL_IP: [u8; 4] = [10, 77, 0, 1];
const OUR_TUNNEL_IP: [u8; 4] = [10, 77, 0, 2];

/// Hands out the given bytes, as the driver's getrandom source would hand out fresh ones.
struct Fixed<'a>(&'a [u8]);
impl Entropy for Fixed<'_> {
    fn fill(&mut self, buf: &mut [u8]) {
        let (now, rest) = self.0.split_at(buf.len());
        buf.copy_from_slice(now);
        self.0 = rest;
    }
}

fn run(args: &[&str]) -> String {
    let out = Command::new(args[0]).args(&args[1..]).output().unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn base64(bytes: &[u8; 32]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let word = chunk
            .iter()
            .enumerate()
            .fold(0u32, |w, (i, b)| w | u32::from(*b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(word >> (18 - 6 * i) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// The other implementation: a userspace daemon configured through `wg` (UAPI).
struct Implementation {
    name: &'static str,
    /// Short tag for the namespace and interface names.
    tag: &'static str,
    /// Command and flags before the interface name; `{dir}` is the test's temporary directory.
    command: &'static [&'static str],
    vector: &'static str,
    /// Whether `wg show latest-handshakes` gives the Unix time of the handshake. boringtun 0.7
    /// reports the time elapsed since it instead (`device/api.rs`), which is 0 right after one.
    reports_handshake_time: bool,
}

const WIREGUARD_GO: Implementation = Implementation {
    name: "wireguard-go",
    tag: "wg",
    command: &["wireguard-go", "-f"],
    vector: "tests/vectors/wireguard_go.txt",
    reports_handshake_time: true,
};

const BORINGTUN: Implementation = Implementation {
    name: "boringtun",
    tag: "bt",
    command: &[
        "boringtun-cli",
        "-f",
        "--disable-drop-privileges",
        "-l",
        "{dir}/boringtun.log",
    ],
    vector: "tests/vectors/boringtun.txt",
    reports_handshake_time: false,
};

/// The test's namespace and the daemon in it; removed on drop, also after a panic.
struct Namespace {
    name: String,
    interface: String,
    dir: PathBuf,
    daemon: Option<Child>,
}

impl Namespace {
    fn create(implementation: &Implementation) -> Namespace {
        let pid = std::process::id();
        let tag = implementation.tag;
        let ns = Namespace {
            name: format!("ntest-{pid}-{tag}"),
            interface: format!("nt{tag}{}", pid % 100_000),
            dir: std::env::temp_dir().join(format!("ntest-{pid}-{tag}")),
            daemon: None,
        };
        run(&["ip", "netns", "add", &ns.name]);
        run(&["ip", "-n", &ns.name, "link", "set", "lo", "up"]);
        std::fs::create_dir_all(&ns.dir).unwrap();
        ns
    }

    fn exec(&self, args: &[&str]) -> String {
        let mut full = vec!["ip", "netns", "exec", &self.name];
        full.extend_from_slice(args);
        run(&full)
    }

    /// Starts the daemon on a new interface and configures it: our peer, at our socket.
    fn start(&mut self, implementation: &Implementation, our_public: &[u8; 32]) {
        let dir = self.dir.to_str().unwrap();
        let command: Vec<String> = implementation
            .command
            .iter()
            .map(|arg| arg.replace("{dir}", dir))
            .collect();
        let child = Command::new("ip")
            .args(["netns", "exec", &self.name])
            .args(&command)
            .arg(&self.interface)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("{} is installed: {e}", implementation.name));
        self.daemon = Some(child);
        let socket = PathBuf::from(format!("/var/run/wireguard/{}.sock", self.interface));
        let deadline = StdInstant::now() + Duration::from_secs(10);
        while !socket.exists() {
            assert!(
                StdInstant::now() < deadline,
                "{} did not start",
                implementation.name
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        let key_file = self.dir.join("wg.key");
        std::fs::write(&key_file, base64(&THEIR_PRIVATE)).unwrap();
        self.exec(&[
            "wg",
            "set",
            &self.interface,
            "private-key",
            key_file.to_str().unwrap(),
            "listen-port",
            &THEIR_PORT.to_string(),
            "peer",
            &base64(our_public),
            "allowed-ips",
            "10.77.0.2/32",
            "endpoint",
            &format!("127.0.0.1:{OUR_PORT}"),
        ]);
        self.exec(&["ip", "addr", "add", "10.77.0.1/24", "dev", &self.interface]);
        self.exec(&["ip", "link", "set", &self.interface, "up"]);
    }
}

impl Drop for Namespace {
    fn drop(&mut self) {
        if let Some(mut child) = self.daemon.take() {
            // Deleting its interface makes the daemon exit by itself and remove its UAPI socket;
            // kill it only if it has not after two seconds.
            let _ = Command::new("ip")
                .args(["-n", &self.name, "link", "del", &self.interface])
                .status();
            let deadline = StdInstant::now() + Duration::from_secs(2);
            while matches!(child.try_wait(), Ok(None)) && StdInstant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = std::fs::remove_file(format!("/var/run/wireguard/{}.sock", self.interface));
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The next datagram of `msg_type` (others, such as handshake retries, are skipped).
fn receive(socket: &UdpSocket, msg_type: u8) -> (Vec<u8>, SocketAddr) {
    let deadline = StdInstant::now() + Duration::from_secs(10);
    let mut buf = [0u8; 2048];
    loop {
        assert!(
            StdInstant::now() < deadline,
            "no message of type {msg_type}"
        );
        match socket.recv_from(&mut buf) {
            Ok((len, from)) if buf[0] == msg_type => return (buf[..len].to_vec(), from),
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {}
            Err(e) => panic!("recv: {e}"),
        }
    }
}

fn checksum(bytes: &[u8]) -> u16 {
    let mut sum: u32 = bytes
        .chunks(2)
        .map(|pair| u32::from(u16::from_be_bytes([pair[0], *pair.get(1).unwrap_or(&0)])))
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// An IPv4 ICMP echo request from us to the other side's address inside the tunnel.
fn echo_request() -> Vec<u8> {
    let mut icmp = vec![8, 0, 0, 0, 0x12, 0x34, 0, 1];
    icmp.extend_from_slice(b"ringtun noise interop");
    let sum = checksum(&icmp);
    icmp[2..4].copy_from_slice(&sum.to_be_bytes());
    let total = (20 + icmp.len()) as u16;
    let mut ip = vec![0x45, 0, 0, 0, 0, 1, 0x40, 0, 64, 1, 0, 0];
    ip[2..4].copy_from_slice(&total.to_be_bytes());
    ip.extend_from_slice(&OUR_TUNNEL_IP);
    ip.extend_from_slice(&THEIR_TUNNEL_IP);
    let sum = checksum(&ip);
    ip[10..12].copy_from_slice(&sum.to_be_bytes());
    ip.extend_from_slice(&icmp);
    ip
}

/// Decrypts a transport message for `keys` and returns the inner packet.
fn open_data(keys: &SessionKeys, mut datagram: Vec<u8>) -> Vec<u8> {
    let mut message = Transport::new_checked(&mut datagram[..]).unwrap();
    assert_eq!(message.receiver_index(), keys.local_index());
    transport::open(keys.receive_key(), &mut message)
        .expect("the other side's data decrypts")
        .to_vec()
}

fn assert_icmp(packet: &[u8], from: [u8; 4], to: [u8; 4], icmp_type: u8) {
    assert_eq!(packet[0] >> 4, 4, "IPv4");
    assert_eq!(packet[9], 1, "ICMP");
    assert_eq!(packet[12..16], from);
    assert_eq!(packet[16..20], to);
    assert_eq!(packet[20], icmp_type);
}

#[test]
#[ignore = "needs root, wireguard-go and wg"]
fn handshakes_and_data_with_wireguard_go() {
    handshakes_and_data_with(&WIREGUARD_GO);
}

#[test]
#[ignore = "needs root, boringtun-cli and wg"]
fn handshakes_and_data_with_boringtun() {
    handshakes_and_data_with(&BORINGTUN);
}

/// The effective uid is 0 (read from /proc, so this test needs no unsafe call of its own).
fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .and_then(|l| l.split_whitespace().nth(1).map(|euid| euid == "0"))
        })
        .unwrap_or(false)
}

fn handshakes_and_data_with(implementation: &Implementation) {
    assert!(
        is_root(),
        "this test needs root to create a network namespace"
    );
    let identity = StaticIdentity::from_private_bytes(OUR_PRIVATE);
    let their_identity = StaticIdentity::from_private_bytes(THEIR_PRIVATE);
    let peer = PeerKeys::new(
        &identity,
        *their_identity.public_key(),
        PresharedKey::none(),
    )
    .unwrap();
    let mut ns = Namespace::create(implementation);
    ns.start(implementation, identity.public_key().as_bytes());

    let name = ns.name.clone();
    let vector = std::thread::scope(|scope| {
        scope
            .spawn(|| {
                ringtun::sys::netns::enter(&name).unwrap();
                let socket = UdpSocket::bind(("127.0.0.1", OUR_PORT)).unwrap();
                socket
                    .set_read_timeout(Some(Duration::from_millis(200)))
                    .unwrap();
                let mut vector = String::new();
                let mut record = |name: &str, bytes: &[u8]| {
                    let _ = writeln!(vector, "{name} = {}", hex(bytes));
                };
                record("their_private", &THEIR_PRIVATE);
                record("our_private", &OUR_PRIVATE);

                // Direction 1: the other side initiates when it has a packet for us.
                let mut ping = Command::new("ip")
                    .args([
                        "netns",
                        "exec",
                        &name,
                        "ping",
                        "-c",
                        "1",
                        "-W",
                        "5",
                        "10.77.0.2",
                    ])
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()
                    .unwrap();
                let (initiation, their_address) = receive(&socket, MSG_INITIATION);
                assert_eq!(initiation.len(), INITIATION_LEN);
                let view = Initiation::new_checked(&initiation[..]).unwrap();
                assert!(CookieChecker::check_mac1(&identity, &view), "its mac1");
                let identified = identify_initiation(&identity, &view).unwrap();
                assert_eq!(identified.remote_static(), their_identity.public_key());
                let consumed = identified.open_timestamp(&peer).unwrap();
                assert!(consumed.timestamp().is_newer_than(&Tai64N::ZERO));
                let mut response = [0u8; RESPONSE_LEN];
                let responder_keys = consumed
                    .create_response(
                        &peer,
                        &mut PeerCookie::new(),
                        OUR_RESPONDER_INDEX,
                        Instant::ZERO,
                        &mut Fixed(&OUR_RESPONSE_EPHEMERAL),
                        &mut response,
                    )
                    .unwrap();
                socket.send_to(&response, their_address).unwrap();
                // The ping, after any keepalive (boringtun sends one first).
                let data = loop {
                    let (bytes, _) = receive(&socket, MSG_TRANSPORT);
                    if bytes.len() > KEEPALIVE_LEN {
                        break bytes;
                    }
                };
                let packet = open_data(&responder_keys, data.clone());
                assert_icmp(&packet, THEIR_TUNNEL_IP, OUR_TUNNEL_IP, 8);
                // No echo reply comes (we do not answer the ping); stop waiting for one.
                let _ = ping.kill();
                let _ = ping.wait();
                record("their_initiation", &initiation);
                record("our_response_ephemeral", &OUR_RESPONSE_EPHEMERAL);
                record("our_responder_index", &OUR_RESPONDER_INDEX.to_le_bytes());
                record("our_response", &response);
                record("their_data", &data);

                // Direction 2: we initiate.
                let mut cookie = PeerCookie::new();
                let mut initiation = [0u8; INITIATION_LEN];
                let state = create_initiation(
                    &peer,
                    &mut cookie,
                    OUR_INITIATOR_INDEX,
                    Tai64N::from_unix_nanos(OUR_TIMESTAMP_UNIX_NS),
                    Instant::ZERO,
                    &mut Fixed(&OUR_INITIATION_EPHEMERAL),
                    &mut initiation,
                )
                .unwrap();
                socket.send_to(&initiation, their_address).unwrap();
                let (response, _) = loop {
                    let (bytes, from) = receive(&socket, MSG_RESPONSE);
                    if bytes.get(8..12) == Some(&OUR_INITIATOR_INDEX.to_le_bytes()[..]) {
                        break (bytes, from);
                    }
                };
                let view = Response::new_checked(&response[..]).unwrap();
                assert!(
                    CookieChecker::check_mac1(&identity, &view),
                    "mac1 of the response"
                );
                let keys = state.consume_response(&identity, &peer, &view).unwrap();
                let request = echo_request();
                let mut datagram = vec![0u8; 16 + request.len() + 16];
                datagram[16..16 + request.len()].copy_from_slice(&request);
                transport::seal(keys.send_key(), keys.remote_index(), 0, &mut datagram).unwrap();
                socket.send_to(&datagram, their_address).unwrap();
                let reply = loop {
                    let (bytes, _) = receive(&socket, MSG_TRANSPORT);
                    if bytes.len() > KEEPALIVE_LEN
                        && bytes.get(4..8) == Some(&OUR_INITIATOR_INDEX.to_le_bytes()[..])
                    {
                        break bytes;
                    }
                };
                let packet = open_data(&keys, reply.clone());
                assert_icmp(&packet, THEIR_TUNNEL_IP, OUR_TUNNEL_IP, 0);
                assert_eq!(
                    packet[24..28],
                    [0x12, 0x34, 0, 1],
                    "our echo's id and sequence"
                );
                record("our_initiation_ephemeral", &OUR_INITIATION_EPHEMERAL);
                record("our_initiator_index", &OUR_INITIATOR_INDEX.to_le_bytes());
                record(
                    "our_timestamp_unix_ns",
                    &OUR_TIMESTAMP_UNIX_NS.to_le_bytes(),
                );
                record("our_initiation", &initiation);
                record("their_response", &response);
                record("our_data", &datagram);
                record("their_data_reply", &reply);
                vector
            })
            .join()
            .unwrap()
    });

    if implementation.reports_handshake_time {
        let handshakes = ns.exec(&["wg", "show", &ns.interface, "latest-handshakes"]);
        let latest: u64 = handshakes
            .split_whitespace()
            .nth(1)
            .unwrap()
            .parse()
            .unwrap();
        assert!(
            latest > 0,
            "{} records a completed handshake: {handshakes}",
            implementation.name
        );
    }
    let transfer = ns.exec(&["wg", "show", &ns.interface, "transfer"]);
    let received: u64 = transfer.split_whitespace().nth(1).unwrap().parse().unwrap();
    assert!(
        received > 0,
        "{} received our data: {transfer}",
        implementation.name
    );

    if std::env::var_os("RINGTUN_WRITE_VECTORS").is_some() {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(implementation.vector);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let header = format!(
            "# Exchanged with {} by tests/noise_interop.rs (RINGTUN_WRITE_VECTORS=1).\n\
             # Replayed by src/core/noise/interop_vectors.rs. Integers little-endian.\n",
            implementation.name
        );
        std::fs::write(&path, format!("{header}{vector}")).unwrap();
        eprintln!("wrote {}", path.display());
    }
}
