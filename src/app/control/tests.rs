//! `wg set` requests against a real device (simulated entropy, no sockets): what each key does,
//! that a refused request changes nothing, and what `get` reports.

use std::io;
use std::net::SocketAddr;

use super::apply::apply;
use super::snapshot::snapshot;
use super::*;
use crate::core::device::{DeviceConfig, PeerConfig};
use crate::core::entropy::TestEntropy;
use crate::core::ip_prefix::IpPrefix;
use crate::core::keys::{PresharedKey, PrivateKey};
use crate::core::noise::StaticIdentity;
use crate::uapi::{Request, parse_request};

/// The socket as a `set` sees it: a port, a mark, and whether the next change fails.
struct FakeSocket {
    port: u16,
    fwmark: u32,
    refuse: Option<io::ErrorKind>,
    calls: usize,
}

impl FakeSocket {
    fn new() -> FakeSocket {
        FakeSocket {
            port: 40000,
            fwmark: 0,
            refuse: None,
            calls: 0,
        }
    }
}

impl SocketControl for FakeSocket {
    fn port(&self) -> u16 {
        self.port
    }
    fn fwmark(&self) -> u32 {
        self.fwmark
    }
    fn reconfigure(&mut self, port: Option<u16>, fwmark: Option<u32>) -> io::Result<u16> {
        self.calls += 1;
        if let Some(kind) = self.refuse {
            return Err(io::Error::new(kind, "refused by the test"));
        }
        if let Some(p) = port {
            self.port = if p == 0 { 40001 } else { p };
        }
        if let Some(m) = fwmark {
            self.fwmark = m;
        }
        Ok(self.port)
    }
}

fn private(n: u8) -> PrivateKey {
    PrivateKey::from_random([n; 32])
}

fn public(n: u8) -> PublicKey {
    *StaticIdentity::new(&private(n)).public_key()
}

fn prefix(s: &str) -> IpPrefix {
    s.parse().unwrap()
}

/// An interface with key 1 and peers 2 and 3 (a /32 each, peer 2 with an endpoint).
fn device() -> Device<TestEntropy> {
    let mut config = DeviceConfig::new(private(1));
    let mut two = PeerConfig::new(public(2));
    two.allowed_ips = vec![prefix("10.0.0.2/32")];
    two.endpoint = Some("192.0.2.2:51820".parse().unwrap());
    let mut three = PeerConfig::new(public(3));
    three.allowed_ips = vec![prefix("10.0.0.3/32")];
    config.peers = vec![two, three];
    Device::new(&config, TestEntropy::new(1)).unwrap()
}

fn no_scopes(_: &str) -> Option<u32> {
    None
}

/// `set=1` with `body` (lines, each ending in `\n`).
fn request(body: &str) -> SetRequest {
    match parse_request(format!("set=1\n{body}\n").as_bytes(), &Default::default()) {
        Ok(Request::Set(set)) => set,
        other => panic!("{body:?}: {other:?}"),
    }
}

fn set(
    device: &mut Device<TestEntropy>,
    socket: &mut FakeSocket,
    body: &str,
) -> Result<super::apply::Summary, super::apply::Refusal> {
    apply(device, request(body), socket, no_scopes)
}

fn hex(key: &PublicKey) -> String {
    key.to_hex()
}

fn allowed(device: &Device<TestEntropy>, key: &PublicKey) -> Vec<IpPrefix> {
    let id = device.peer_id(key).expect("peer exists");
    device.peer_allowed_ips(id).collect()
}

#[test]
fn setconf_replaces_everything() {
    let mut d = device();
    let mut socket = FakeSocket::new();
    let body = format!(
        "private_key={}\nlisten_port=51820\nfwmark=66\nreplace_peers=true\n\
         public_key={}\nallowed_ip=10.1.0.4/32\nallowed_ip=fd01::/64\n\
         public_key={}\npreshared_key={}\nendpoint=[fd00::9]:1\npersistent_keepalive_interval=25\n",
        private(9).to_hex().as_str(),
        hex(&public(4)),
        hex(&public(5)),
        PresharedKey::from_bytes([7; 32]).to_hex().as_str(),
    );
    let summary = set(&mut d, &mut socket, &body).unwrap();
    assert_eq!(
        summary.to_string(),
        "new private key, listening on port 51820, fwmark 0x42, 2 peers added, 2 peers removed"
    );
    assert_eq!(d.public_key(), &public(9));
    assert_eq!((d.listen_port(), d.fwmark()), (Some(51820), Some(66)));
    assert_eq!((socket.port, socket.fwmark), (51820, 66));
    assert_eq!(d.peer_count(), 2);
    assert!(d.peer_id(&public(2)).is_none());
    assert_eq!(
        allowed(&d, &public(4)),
        [prefix("10.1.0.4/32"), prefix("fd01::/64")]
    );
    let five = d.peer_id(&public(5)).unwrap();
    assert_eq!(
        d.peer_preshared_key(five),
        Some(&PresharedKey::from_bytes([7; 32]))
    );
    assert_eq!(d.peer_endpoint(five), Some("[fd00::9]:1".parse().unwrap()));
}

#[test]
fn a_refused_request_changes_nothing() {
    let mut d = device();
    let before = d.state_fingerprint();
    let mut socket = FakeSocket::new();
    // A good peer, then one with a small-order key: nothing of it is applied, the socket is not
    // touched.
    let body = format!(
        "listen_port=5\nreplace_peers=true\npublic_key={}\nallowed_ip=10.9.0.0/16\npublic_key={}\n",
        hex(&public(4)),
        "00".repeat(32)
    );
    let refusal = set(&mut d, &mut socket, &body).unwrap_err();
    assert_eq!(refusal.errno, Errno::EINVAL);
    assert!(refusal.why.contains("small order"), "{}", refusal.why);
    assert_eq!(socket.calls, 0);
    assert_eq!(d.peer_count(), 2);
    assert!(d.peer_id(&public(4)).is_none());
    assert_eq!(d.state_fingerprint(), before);

    // The port is taken: the socket refuses, and the peers stay as they were.
    socket.refuse = Some(io::ErrorKind::AddrInUse);
    let body = format!(
        "listen_port=5\npublic_key={}\nremove=true\n",
        hex(&public(2))
    );
    let refusal = set(&mut d, &mut socket, &body).unwrap_err();
    assert_eq!(refusal.errno, Errno::EADDRINUSE);
    assert!(!refusal.partial);
    assert!(d.peer_id(&public(2)).is_some());
    assert_eq!(d.listen_port(), None);
    socket.refuse = Some(io::ErrorKind::PermissionDenied);
    let refusal = set(&mut d, &mut socket, "fwmark=1\n").unwrap_err();
    assert_eq!(refusal.errno.get(), libc::EPERM);
    assert_eq!(d.fwmark(), None);

    // An endpoint on an interface that does not exist.
    socket.refuse = None;
    let body = format!(
        "public_key={}\nendpoint=[fe80::1%nope0]:1\n",
        hex(&public(4))
    );
    let refusal = set(&mut d, &mut socket, &body).unwrap_err();
    assert_eq!(refusal.errno, Errno::EINVAL);
    assert!(
        refusal.why.contains("no interface nope0"),
        "{}",
        refusal.why
    );
    assert_eq!(d.state_fingerprint(), before);
}

#[test]
fn each_peer_key_as_wireguard_go_reads_it() {
    let mut d = device();
    let mut socket = FakeSocket::new();
    // update_only skips a peer that does not exist; remove of a stranger is nothing; the
    // interface's own key is ignored; a key named twice is created, then changed.
    let body = format!(
        "public_key={}\nupdate_only=true\nallowed_ip=10.0.0.4/32\n\
         public_key={}\nremove=true\n\
         public_key={}\nallowed_ip=10.0.0.1/32\n\
         public_key={}\nallowed_ip=10.0.0.6/32\n\
         public_key={}\nallowed_ip=10.0.0.66/32\n\
         public_key={}\nupdate_only=true\nreplace_allowed_ips=true\nallowed_ip=10.0.3.0/24\n\
         public_key={}\nremove=true\n",
        hex(&public(4)),
        hex(&public(5)),
        hex(&public(1)),
        hex(&public(6)),
        hex(&public(6)),
        hex(&public(3)),
        hex(&public(2)),
    );
    let summary = set(&mut d, &mut socket, &body).unwrap();
    assert_eq!(
        summary.to_string(),
        "1 peer added, 2 peers changed, 1 peer removed"
    );
    assert_eq!(
        socket.calls, 0,
        "no interface key: the socket is left alone"
    );
    assert!(d.peer_id(&public(4)).is_none());
    assert!(d.peer_id(&public(1)).is_none());
    assert!(d.peer_id(&public(2)).is_none());
    assert_eq!(
        allowed(&d, &public(6)),
        [prefix("10.0.0.6/32"), prefix("10.0.0.66/32")]
    );
    assert_eq!(allowed(&d, &public(3)), [prefix("10.0.3.0/24")]);
}

#[test]
fn the_interface_keys() {
    let mut d = device();
    let mut socket = FakeSocket::new();
    // The key it has: nothing happens (`wg syncconf` sends it each time).
    let same = format!("private_key={}\n", private(1).to_hex().as_str());
    assert!(set(&mut d, &mut socket, &same).unwrap().is_empty());
    // A new key whose public key is a peer's: that peer goes, as in wireguard-go.
    let body = format!("private_key={}\n", private(3).to_hex().as_str());
    assert_eq!(
        set(&mut d, &mut socket, &body).unwrap().to_string(),
        "new private key"
    );
    assert!(d.peer_id(&public(3)).is_none());
    assert_eq!(d.peer_count(), 1);
    // All zeros removes it.
    let zero = format!("private_key={}\n", "0".repeat(64));
    set(&mut d, &mut socket, &zero).unwrap();
    assert_eq!(d.private_key(), None);
    // Port 0: any free port; the device reports the one bound.
    set(&mut d, &mut socket, "listen_port=0\nfwmark=0\n").unwrap();
    assert_eq!(d.listen_port(), Some(40001));
    assert_eq!(d.fwmark(), None);
}

#[test]
fn zero_preshared_key_and_zoned_endpoint() {
    let mut d = device();
    let mut socket = FakeSocket::new();
    let psk = PresharedKey::from_bytes([5; 32]).to_hex();
    let body = format!(
        "public_key={}\npreshared_key={}\nendpoint=[fe80::1%eth7]:51820\n",
        hex(&public(2)),
        psk.as_str()
    );
    apply(&mut d, request(&body), &mut socket, |name| {
        (name == "eth7").then_some(7)
    })
    .unwrap();
    let two = d.peer_id(&public(2)).unwrap();
    assert!(d.peer_preshared_key(two).is_some());
    let SocketAddr::V6(endpoint) = d.peer_endpoint(two).unwrap() else {
        panic!("not IPv6");
    };
    assert_eq!(endpoint.scope_id(), 7);
    let body = format!(
        "public_key={}\npreshared_key={}\n",
        hex(&public(2)),
        "0".repeat(64)
    );
    set(&mut d, &mut socket, &body).unwrap();
    assert_eq!(d.peer_preshared_key(two), None);
}

#[test]
fn too_many_allowed_ips_is_refused_whole() {
    let mut config = DeviceConfig::new(private(1));
    config.limits.max_allowed_ips_per_peer = 2;
    config.limits.max_peers = 1;
    let mut one = PeerConfig::new(public(2));
    one.allowed_ips = vec![prefix("10.0.0.2/32")];
    config.peers = vec![one];
    let mut d = Device::new(&config, TestEntropy::new(2)).unwrap();
    let mut socket = FakeSocket::new();
    let body = format!(
        "public_key={}\nallowed_ip=10.0.0.3/32\nallowed_ip=10.0.0.4/32\n",
        hex(&public(2))
    );
    let refusal = set(&mut d, &mut socket, &body).unwrap_err();
    assert_eq!(refusal.errno.get(), libc::ENOSPC);
    // Replacing them fits.
    let body = format!(
        "public_key={}\nreplace_allowed_ips=true\nallowed_ip=10.0.0.3/32\nallowed_ip=10.0.0.4/32\n",
        hex(&public(2))
    );
    set(&mut d, &mut socket, &body).unwrap();
    // A second peer is over the interface's bound, unless the first goes in the same request.
    let add = format!("public_key={}\n", hex(&public(3)));
    assert_eq!(
        set(&mut d, &mut socket, &add).unwrap_err().errno.get(),
        libc::ENOSPC
    );
    let swap = format!("public_key={}\nremove=true\n{add}", hex(&public(2)));
    set(&mut d, &mut socket, &swap).unwrap();
    assert!(d.peer_id(&public(3)).is_some());
}

#[test]
fn get_reports_keys_port_peers_and_every_drop_reason() {
    let mut d = device();
    d.set_listen_port(Some(51820));
    let mut socket = FakeSocket::new();
    let body = format!(
        "public_key={}\npreshared_key={}\npersistent_keepalive_interval=25\n",
        hex(&public(3)),
        PresharedKey::from_bytes([4; 32]).to_hex().as_str()
    );
    set(&mut d, &mut socket, &body).unwrap();
    let now = Instant::from_nanos(5_000_000_000);
    let s = snapshot(
        &d,
        now,
        WallTime::from_unix_nanos(1_700_000_000_000_000_000),
    );
    assert_eq!(s.private_key, Some(private(1)));
    assert_eq!((s.listen_port, s.fwmark), (51820, 0));
    assert_eq!(s.counters.len(), DropReason::COUNT);
    assert_eq!(s.counters[0].name, "drop_malformed");
    assert_eq!(s.peers.len(), 2);
    let two = &s.peers[0];
    assert_eq!(two.public_key, public(2));
    assert_eq!(two.preshared_key, None);
    assert_eq!(two.endpoint.unwrap().to_string(), "192.0.2.2:51820");
    assert_eq!(two.allowed_ips[0].to_string(), "10.0.0.2/32");
    assert_eq!(two.last_handshake_time, None);
    let three = &s.peers[1];
    assert_eq!(three.preshared_key, Some(PresharedKey::from_bytes([4; 32])));
    assert_eq!(three.persistent_keepalive_interval, 25);
    assert_eq!(three.endpoint, None);
}

#[test]
fn events_are_named_after_the_peer_they_were_about_even_once_it_is_gone() {
    let mut c = Controlled::new(device(), no_scopes);
    let now = Instant::from_nanos(1_000_000_000);
    let wall = WallTime::from_unix_nanos(1_700_000_000_000_000_000);
    // A packet for peer 2 starts a handshake: its initiation, and the event.
    let mut buf = [0u8; 256];
    let packet_len = 20;
    buf[16] = 0x45;
    buf[18..20].copy_from_slice(&(packet_len as u16).to_be_bytes());
    buf[32..36].copy_from_slice(&[10, 0, 0, 2]);
    assert!(c.seal(now, &mut buf, packet_len).is_err());
    assert!(c.poll_transmit(now, wall, &mut buf).is_some());
    // Peer 2 is removed before the loop took the event: it keeps peer 2's name.
    let body = format!("public_key={}\nremove=true\n", hex(&public(2)));
    c.set(now, request(&body), &mut FakeSocket::new()).unwrap();
    let named = c.poll_event().expect("the handshake event");
    assert!(
        matches!(named.event, Event::HandshakeSent { .. }),
        "{named:?}"
    );
    assert_eq!(named.key, Some(public(2)));
    assert_eq!(c.poll_event(), None);
}
