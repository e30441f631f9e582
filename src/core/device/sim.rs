//! Devices on an in-memory network with one simulated clock: handshakes both ways, data, loss,
//! rekeying, restarts, roaming, keepalives, several clients on one server, cookies under load, the
//! per-source limit, and drops that must leave the state as it was.
//!
//! `Net` owns the clock (monotonic and wall), every node and the datagrams in flight; `pump`
//! delivers until the network is quiet and `advance` moves time, firing timers on the way. Both
//! are bounded: a protocol that never goes quiet fails the test instead of hanging it.

use core::net::{IpAddr, Ipv4Addr, SocketAddr};
use core::time::Duration;

use super::*;
use crate::core::entropy::TestEntropy;
use crate::core::ip_prefix::IpPrefix;
use crate::core::keys::PrivateKey;
use crate::core::noise::consts::TAG_LEN;
use crate::core::noise::messages::{
    COOKIE_REPLY_LEN, INITIATION_LEN, MSG_COOKIE_REPLY, MSG_INITIATION, MSG_RESPONSE, RESPONSE_LEN,
    TRANSPORT_HEADER_LEN as HEADER_LEN,
};
use crate::core::noise::{PeerCookie, PeerKeys, PresharedKey, StaticIdentity, create_initiation};
use crate::core::stats::DropReason;
use crate::core::time::WallTime;
use crate::core::transmit::{Received, Transmit};

const WALL_START: u64 = 1_700_000_000_000_000_000;
/// Rounds of `pump` before a network that keeps talking fails the test.
const PUMP_ROUNDS: usize = 1000;
/// Timer firings within one `advance` before a device that keeps asking for the past fails it.
const ADVANCE_STEPS: usize = 1_000_000;

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

/// Node `n`'s inner addresses: 10.0.0.n and fd00::n.
fn inner_v4(n: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(10, 0, 0, n))
}

fn inner_v6(n: u8) -> IpAddr {
    format!("fd00::{n}").parse().unwrap()
}

/// Node `n`'s outer (UDP) address.
fn outer(n: u8) -> SocketAddr {
    SocketAddr::new(IpAddr::V4(Ipv4Addr::new(192, 0, 2, n)), 51820)
}

fn private_key(n: u8) -> PrivateKey {
    PrivateKey::from_random([n.wrapping_mul(37).wrapping_add(1); 32])
}

fn public_key(n: u8) -> PublicKey {
    *StaticIdentity::new(&private_key(n)).public_key()
}

fn prefix(s: &str) -> IpPrefix {
    s.parse().unwrap()
}

/// A minimal IP packet from `src` to `dst` carrying `body` (the device reads version, length and
/// addresses only).
fn ip_packet(src: IpAddr, dst: IpAddr, body: &[u8]) -> Vec<u8> {
    match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            let total = 20 + body.len();
            let mut p = vec![0u8; total];
            p[0] = 0x45;
            p[2..4].copy_from_slice(&(total as u16).to_be_bytes());
            p[12..16].copy_from_slice(&s.octets());
            p[16..20].copy_from_slice(&d.octets());
            p[20..].copy_from_slice(body);
            p
        }
        (IpAddr::V6(s), IpAddr::V6(d)) => {
            let mut p = vec![0u8; 40 + body.len()];
            p[0] = 0x60;
            p[4..6].copy_from_slice(&(body.len() as u16).to_be_bytes());
            p[8..24].copy_from_slice(&s.octets());
            p[24..40].copy_from_slice(&d.octets());
            p[40..].copy_from_slice(body);
            p
        }
        _ => panic!("mixed families"),
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fate {
    Deliver,
    Drop,
    Duplicate,
}

#[derive(Clone, Debug)]
struct Datagram {
    from: SocketAddr,
    to: SocketAddr,
    bytes: Vec<u8>,
}

impl Datagram {
    fn kind(&self) -> u8 {
        self.bytes[0]
    }
}

struct Node {
    number: u8,
    device: Device<TestEntropy>,
    config: DeviceConfig,
    /// Where it sends from (the NAT mapping, for roaming tests).
    addr: SocketAddr,
    delivered: Vec<Vec<u8>>,
    events: Vec<Event>,
    /// Added to the network's wall clock, in nanoseconds (a node whose clock is off).
    wall_offset: i64,
}

struct Net {
    now: Instant,
    nodes: Vec<Node>,
    in_flight: Vec<Datagram>,
    /// Every datagram put on the wire, in order.
    sent: Vec<Datagram>,
    fate: Box<dyn FnMut(&Datagram) -> Fate>,
    reverse_batches: bool,
    seeds: u64,
}

/// A peer entry for node `n` (its /32 and /128, optionally its endpoint).
fn peer_config(n: u8, endpoint: bool) -> PeerConfig {
    let mut peer = PeerConfig::new(public_key(n));
    peer.allowed_ips = vec![IpPrefix::host(inner_v4(n)), IpPrefix::host(inner_v6(n))];
    if endpoint {
        peer.endpoint = Some(outer(n));
    }
    peer
}

/// A client's entry for the server (node 1): the whole tunnel network behind it.
fn server_entry() -> PeerConfig {
    let mut peer = PeerConfig::new(public_key(1));
    peer.allowed_ips = vec![prefix("10.0.0.0/24"), prefix("fd00::/64")];
    peer.endpoint = Some(outer(1));
    peer
}

impl Net {
    fn empty() -> Net {
        Net {
            now: Instant::from_nanos(1_000_000_000),
            nodes: Vec::new(),
            in_flight: Vec::new(),
            sent: Vec::new(),
            fate: Box::new(|_| Fate::Deliver),
            reverse_batches: false,
            seeds: 0,
        }
    }

    /// Server node 1 and clients 2..=clients+1; each client knows the server's endpoint, the
    /// server knows none of theirs.
    fn star(clients: u8) -> Net {
        let mut net = Net::empty();
        let mut server = DeviceConfig::new(private_key(1));
        server.listen_port = Some(51820);
        server.peers = (2..clients + 2).map(|n| peer_config(n, false)).collect();
        net.add_node(1, server);
        for n in 2..clients + 2 {
            let mut client = DeviceConfig::new(private_key(n));
            client.peers = vec![server_entry()];
            net.add_node(n, client);
        }
        net
    }

    fn pair() -> Net {
        Net::star(1)
    }

    fn add_node(&mut self, number: u8, config: DeviceConfig) {
        let device = self.device(&config);
        self.nodes.push(Node {
            number,
            device,
            config,
            addr: outer(number),
            delivered: Vec::new(),
            events: Vec::new(),
            wall_offset: 0,
        });
    }

    fn device(&mut self, config: &DeviceConfig) -> Device<TestEntropy> {
        self.seeds += 1;
        Device::new(config, TestEntropy::new(self.seeds)).unwrap()
    }

    fn node(&mut self, number: u8) -> &mut Node {
        self.nodes
            .iter_mut()
            .find(|n| n.number == number)
            .expect("no such node")
    }

    fn dev(&mut self, number: u8) -> &mut Device<TestEntropy> {
        &mut self.node(number).device
    }

    fn stats(&mut self, number: u8) -> Stats {
        self.dev(number).stats().clone()
    }

    fn wall(&self, node: &Node) -> WallTime {
        let unix = (WALL_START + self.now.as_nanos()).saturating_add_signed(node.wall_offset);
        WallTime::from_unix_nanos(unix)
    }

    fn put_on_wire(&mut self, d: Datagram) {
        self.sent.push(d.clone());
        self.in_flight.push(d);
    }

    /// Everything every device wants to send, and its events.
    fn collect(&mut self) {
        let mut buf = [0u8; MAX_CONTROL_LEN];
        let mut out = Vec::new();
        for i in 0..self.nodes.len() {
            let wall = self.wall(&self.nodes[i]);
            let node = &mut self.nodes[i];
            while let Some(t) = node.device.poll_transmit(self.now, wall, &mut buf) {
                out.push(Datagram {
                    from: node.addr,
                    to: t.dst,
                    bytes: buf[..t.len].to_vec(),
                });
            }
            while let Some(e) = node.device.poll_event() {
                node.events.push(e);
            }
        }
        for d in out {
            self.put_on_wire(d);
        }
    }

    /// Hands `d` to the node at its destination address, if any.
    fn deliver(&mut self, d: Datagram) -> Option<Received> {
        let now = self.now;
        let node = self.nodes.iter_mut().find(|n| n.addr == d.to)?;
        let mut bytes = d.bytes;
        let r = node.device.handle_datagram(now, d.from, &mut bytes);
        if let Received::Deliver { start, len } = r {
            node.delivered.push(bytes[start..start + len].to_vec());
        }
        Some(r)
    }

    /// Delivers everything in flight, and what it provokes, until the network is quiet.
    fn pump(&mut self) {
        for _ in 0..PUMP_ROUNDS {
            self.collect();
            if self.in_flight.is_empty() {
                return;
            }
            let mut batch = std::mem::take(&mut self.in_flight);
            if self.reverse_batches {
                batch.reverse();
            }
            for d in batch {
                match (self.fate)(&d) {
                    Fate::Drop => {}
                    Fate::Deliver => {
                        self.deliver(d);
                    }
                    Fate::Duplicate => {
                        self.deliver(d.clone());
                        self.deliver(d);
                    }
                }
            }
        }
        panic!("the network never went quiet");
    }

    /// Moves simulated time forward by `d`, firing every device's timers when due.
    fn advance(&mut self, d: Duration) {
        let end = self.now + d;
        for _ in 0..ADVANCE_STEPS {
            self.pump();
            let next = self
                .nodes
                .iter()
                .filter_map(|n| n.device.poll_timeout())
                .min();
            match next {
                Some(t) if t <= end => {
                    self.now = self.now.max(t);
                    let now = self.now;
                    for node in &mut self.nodes {
                        if node.device.poll_timeout().is_some_and(|t| t <= now) {
                            node.device.handle_timeout(now);
                        }
                    }
                }
                _ => {
                    self.now = end;
                    self.pump();
                    return;
                }
            }
        }
        panic!("timers kept firing");
    }

    /// Node `n` seals `packet`; the datagram goes on the wire (delivered by the next pump).
    fn send(&mut self, n: u8, packet: &[u8]) -> Result<SocketAddr, DropReason> {
        let now = self.now;
        let node = self.node(n);
        let from = node.addr;
        let (t, bytes) = seal(&mut node.device, now, packet)?;
        self.put_on_wire(Datagram {
            from,
            to: t.dst,
            bytes,
        });
        Ok(t.dst)
    }

    /// Node `from` sends a packet with `body` to node `to`'s inner IPv4 address.
    fn send_v4(&mut self, from: u8, to: u8, body: &[u8]) -> Result<SocketAddr, DropReason> {
        self.send(from, &ip_packet(inner_v4(from), inner_v4(to), body))
    }

    /// Node `n` restarts: a new device from its configuration (and new randomness).
    fn restart(&mut self, n: u8) {
        let config = self.node(n).config.clone();
        let device = self.device(&config);
        self.node(n).device = device;
    }

    fn events(&mut self, n: u8) -> Vec<Event> {
        self.node(n).events.clone()
    }

    fn completed(&mut self, n: u8) -> usize {
        self.events(n)
            .iter()
            .filter(|e| matches!(e, Event::HandshakeComplete { .. }))
            .count()
    }

    /// Both ends of every client–server pair have a session (the server's confirmed).
    fn up(&mut self) {
        self.advance(Duration::from_millis(10));
    }

    fn sent_between(&self, from: SocketAddr, to: SocketAddr, kind: u8) -> usize {
        self.sent
            .iter()
            .filter(|d| d.from == from && d.to == to && d.kind() == kind)
            .count()
    }

    fn sent_by(&self, from: SocketAddr, kind: u8) -> usize {
        self.sent
            .iter()
            .filter(|d| d.from == from && d.kind() == kind)
            .count()
    }
}

fn seal(
    device: &mut Device<TestEntropy>,
    now: Instant,
    packet: &[u8],
) -> Result<(Transmit, Vec<u8>), DropReason> {
    let mut buf = vec![0u8; HEADER_LEN + packet.len() + TAG_LEN];
    buf[HEADER_LEN..HEADER_LEN + packet.len()].copy_from_slice(packet);
    let t = device.seal(now, &mut buf, packet.len())?;
    buf.truncate(t.len);
    Ok((t, buf))
}

/// Starts the pair's session from the client (2), whose first packet is dropped.
fn established() -> Net {
    let mut net = Net::pair();
    assert_eq!(net.send_v4(2, 1, b"first"), Err(DropReason::NoSession));
    net.up();
    net
}

#[test]
fn a_handshake_from_the_client_then_data_both_ways() {
    let mut net = established();
    let server_id = net.dev(2).peer_id(&public_key(1)).unwrap();
    let client_id = net.dev(1).peer_id(&public_key(2)).unwrap();
    let events = net.events(2);
    assert_eq!(
        events[..2],
        [
            Event::HandshakeSent {
                peer: server_id,
                endpoint: outer(1),
                attempt: 1
            },
            Event::HandshakeComplete {
                peer: server_id,
                endpoint: outer(1),
                first: true
            }
        ]
    );
    // The server learns the client's address from the initiation, and its session is confirmed
    // by the client's keepalive.
    assert_eq!(
        net.events(1),
        [
            Event::EndpointChanged {
                peer: client_id,
                from: None,
                to: outer(2)
            },
            Event::HandshakeComplete {
                peer: client_id,
                endpoint: outer(2),
                first: true
            }
        ]
    );
    assert_eq!(net.stats(1).keepalives_received, 1);

    assert_eq!(net.send_v4(2, 1, b"to the server"), Ok(outer(1)));
    assert_eq!(net.send_v4(1, 2, b"to the client"), Ok(outer(2)));
    let v6 = ip_packet(inner_v6(1), inner_v6(2), b"over IPv6");
    assert_eq!(net.send(1, &v6), Ok(outer(2)));
    net.pump();
    assert_eq!(
        net.node(1).delivered,
        [ip_packet(inner_v4(2), inner_v4(1), b"to the server")]
    );
    assert_eq!(
        net.node(2).delivered,
        [ip_packet(inner_v4(1), inner_v4(2), b"to the client"), v6]
    );
    assert_eq!(net.stats(1).handshakes_completed, 1);
    assert_eq!(net.stats(2).handshakes_initiated, 1);
    assert_eq!(net.stats(2).drops_of(DropReason::NoSession), 1);
}

#[test]
fn a_server_that_knows_the_client_endpoint_initiates() {
    let mut net = Net::empty();
    let mut server = DeviceConfig::new(private_key(1));
    server.peers = vec![peer_config(2, true)];
    net.add_node(1, server);
    let mut client = DeviceConfig::new(private_key(2));
    client.peers = vec![server_entry()];
    net.add_node(2, client);
    assert_eq!(net.send_v4(1, 2, b"first"), Err(DropReason::NoSession));
    net.up();
    assert_eq!(net.sent_by(outer(1), MSG_INITIATION), 1);
    assert_eq!(net.sent_by(outer(2), MSG_RESPONSE), 1);
    assert_eq!(net.send_v4(1, 2, b"server first"), Ok(outer(2)));
    assert_eq!(net.send_v4(2, 1, b"client"), Ok(outer(1)));
    net.pump();
    assert_eq!(net.node(2).delivered.len(), 1);
    assert_eq!(net.node(1).delivered.len(), 1);
}

#[test]
fn a_client_may_start_its_handshake_before_any_traffic() {
    let mut net = Net::pair();
    net.up();
    assert_eq!(net.completed(2), 0, "WireGuard waits for the first packet");
    let server = net.dev(2).peer_ids().next().unwrap();
    net.dev(2).start_handshake(server);
    net.up();
    assert_eq!(net.completed(2), 1);
    assert_eq!(net.completed(1), 1);
    assert!(net.node(1).delivered.is_empty() && net.node(2).delivered.is_empty());
}

#[test]
fn a_peer_without_endpoint_cannot_start_a_handshake() {
    let mut net = Net::pair();
    assert_eq!(net.send_v4(1, 2, b"x"), Err(DropReason::NoEndpoint));
    net.advance(Duration::from_secs(30));
    assert!(net.sent.is_empty());
}

#[test]
fn a_packet_for_no_peer_has_no_route() {
    let mut net = established();
    assert_eq!(net.send_v4(1, 9, b"x"), Err(DropReason::NoRoute));
    assert_eq!(net.send(1, &[0x45, 0, 0]), Err(DropReason::BadInnerPacket));
    let mut tiny = [0u8; 20];
    let now = net.now;
    assert_eq!(net.dev(1).seal(now, &mut tiny, 20), Err(DropReason::TooBig));
}

#[test]
fn rekeys_every_two_minutes_without_losing_traffic() {
    let mut net = established();
    let mut sent = 0;
    for i in 0..400u32 {
        net.send_v4(2, 1, &i.to_le_bytes()).unwrap();
        net.send_v4(1, 2, &i.to_le_bytes()).unwrap();
        sent += 1;
        net.advance(Duration::from_secs(1));
    }
    assert_eq!(net.node(1).delivered.len(), sent);
    assert_eq!(net.node(2).delivered.len(), sent);
    let rekeys = net.completed(2);
    assert!((4..=5).contains(&rekeys), "{rekeys} handshakes in 400 s");
    assert_eq!(net.completed(1), rekeys);
    let firsts = net
        .events(2)
        .iter()
        .filter(|e| matches!(e, Event::HandshakeComplete { first: true, .. }))
        .count();
    assert_eq!(firsts, 1);
    for n in [1, 2] {
        assert!(!net.events(n).iter().any(|e| matches!(
            e,
            Event::SessionsZeroed { .. } | Event::HandshakeGivenUp { .. }
        )));
        assert_eq!(net.stats(n).total_drops(), u64::from(n == 2));
    }
}

#[test]
fn packets_in_flight_across_a_rekey_still_open() {
    let mut net = established();
    let now = net.now;
    let old: Vec<Vec<u8>> = (0..5u8)
        .map(|i| {
            seal(net.dev(1), now, &ip_packet(inner_v4(1), inner_v4(2), &[i]))
                .unwrap()
                .1
        })
        .collect();
    net.advance(Duration::from_secs(121));
    net.send_v4(2, 1, b"rekey now").unwrap();
    net.advance(Duration::from_secs(2));
    assert_eq!(net.completed(2), 2);
    for bytes in old {
        let r = net.deliver(Datagram {
            from: outer(1),
            to: outer(2),
            bytes,
        });
        assert!(matches!(r, Some(Received::Deliver { .. })), "{r:?}");
    }
}

#[test]
fn a_lost_initiation_is_retransmitted() {
    let mut net = Net::pair();
    let mut lost = 0;
    net.fate = Box::new(move |d| {
        if d.kind() == MSG_INITIATION && lost < 2 {
            lost += 1;
            Fate::Drop
        } else {
            Fate::Deliver
        }
    });
    net.send_v4(2, 1, b"x").unwrap_err();
    net.advance(Duration::from_secs(4));
    assert_eq!(net.completed(2), 0);
    net.advance(Duration::from_secs(8));
    assert_eq!(net.completed(2), 1);
    assert_eq!(net.stats(2).handshakes_initiated, 3);
    let attempts: Vec<u32> = net
        .events(2)
        .iter()
        .filter_map(|e| match e {
            Event::HandshakeSent { attempt, .. } => Some(*attempt),
            _ => None,
        })
        .collect();
    assert_eq!(attempts, [1, 2, 3]);
}

#[test]
fn an_unanswered_handshake_is_given_up_after_ninety_seconds() {
    let mut net = Net::pair();
    net.fate = Box::new(|_| Fate::Drop);
    net.send_v4(2, 1, b"x").unwrap_err();
    net.advance(Duration::from_secs(200));
    let initiations = net.stats(2).handshakes_initiated;
    // The first, and 19 retries REKEY_TIMEOUT (plus jitter) apart: the kernel's
    // MAX_TIMER_HANDSHAKES + 2 attempts; then no more.
    assert_eq!(initiations, 20);
    let id = net.dev(2).peer_id(&public_key(1)).unwrap();
    assert!(
        net.events(2)
            .contains(&Event::HandshakeGivenUp { peer: id })
    );
    net.advance(Duration::from_secs(200));
    assert_eq!(net.stats(2).handshakes_initiated, initiations);
}

#[test]
fn reordered_and_duplicated_datagrams_are_delivered_once_each() {
    let mut net = established();
    net.reverse_batches = true;
    net.fate = Box::new(|_| Fate::Duplicate);
    let packets: Vec<Vec<u8>> = (0..200u32)
        .map(|i| ip_packet(inner_v4(2), inner_v4(1), &i.to_le_bytes()))
        .collect();
    for p in &packets {
        net.send(2, p).unwrap();
    }
    net.pump();
    let mut got = net.node(1).delivered.clone();
    got.reverse();
    assert_eq!(got, packets);
    assert_eq!(net.stats(1).drops_of(DropReason::Replay), 200);
}

#[test]
fn a_restarted_client_handshakes_again_and_the_server_accepts_it() {
    let mut net = established();
    net.advance(Duration::from_secs(1));
    net.restart(2);
    assert_eq!(
        net.send_v4(2, 1, b"after restart"),
        Err(DropReason::NoSession)
    );
    net.up();
    assert_eq!(net.completed(2), 2, "one before, one after the restart");
    net.send_v4(2, 1, b"again").unwrap();
    net.send_v4(1, 2, b"back").unwrap();
    net.pump();
    assert_eq!(net.node(1).delivered.len(), 1);
    assert_eq!(net.node(2).delivered.len(), 1);
    assert_eq!(net.stats(1).drops_of(DropReason::HandshakeReplay), 0);
}

#[test]
fn a_client_whose_wall_clock_went_back_is_refused_until_it_catches_up() {
    let mut net = established();
    net.advance(Duration::from_secs(1));
    // The client restarts with its wall clock ten seconds behind the timestamp the server
    // accepted last.
    net.restart(2);
    net.node(2).wall_offset = -10_000_000_000;
    net.send_v4(2, 1, b"x").unwrap_err();
    net.advance(Duration::from_millis(10));
    assert_eq!(net.stats(1).drops_of(DropReason::HandshakeReplay), 1);
    assert_eq!(net.completed(2), 1, "only the handshake before the restart");
    // It retries every five seconds; once its clock has passed the old timestamp, it gets in.
    net.advance(Duration::from_secs(15));
    assert_eq!(net.completed(2), 2);
    assert_eq!(net.stats(1).drops_of(DropReason::HandshakeReplay), 2);
}

#[test]
fn a_restarted_server_is_found_again_by_the_dead_peer_timer() {
    let mut net = established();
    net.send_v4(2, 1, b"before").unwrap();
    net.pump();
    net.restart(1);
    // The client's data reaches a server that has no such session; nothing comes back.
    net.send_v4(2, 1, b"lost").unwrap();
    net.pump();
    assert_eq!(net.stats(1).drops_of(DropReason::UnknownSession), 1);
    // After KEEPALIVE_TIMEOUT + REKEY_TIMEOUT without an answer, the client handshakes again.
    net.advance(Duration::from_secs(16));
    assert_eq!(net.completed(2), 2);
    net.send_v4(2, 1, b"after").unwrap();
    net.pump();
    assert_eq!(
        net.node(1).delivered,
        [
            ip_packet(inner_v4(2), inner_v4(1), b"before"),
            ip_packet(inner_v4(2), inner_v4(1), b"after")
        ]
    );
}

#[test]
fn a_client_that_roams_is_followed_by_the_server() {
    let mut net = established();
    let client_id = net.dev(1).peer_id(&public_key(2)).unwrap();
    let moved = addr("198.51.100.9:4000");
    net.node(2).addr = moved;
    net.send_v4(2, 1, b"from the new address").unwrap();
    net.pump();
    assert_eq!(net.dev(1).peer_endpoint(client_id), Some(moved));
    assert!(net.events(1).contains(&Event::EndpointChanged {
        peer: client_id,
        from: Some(outer(2)),
        to: moved
    }));
    assert_eq!(net.send_v4(1, 2, b"follows"), Ok(moved));
    net.pump();
    assert_eq!(net.node(2).delivered.len(), 1);
}

#[test]
fn a_client_lured_away_falls_back_to_its_configured_endpoint() {
    let mut net = established();
    let server_id = net.dev(2).peer_id(&public_key(1)).unwrap();
    // A genuine server datagram, captured and delivered first from an attacker's address.
    let now = net.now;
    let (_, genuine) = seal(
        net.dev(1),
        now,
        &ip_packet(inner_v4(1), inner_v4(2), b"genuine"),
    )
    .unwrap();
    let evil = addr("203.0.113.66:666");
    net.deliver(Datagram {
        from: evil,
        to: outer(2),
        bytes: genuine,
    });
    assert_eq!(net.dev(2).peer_endpoint(server_id), Some(evil));
    // The client's packets go into the void; 15 s later it gives up on that address.
    net.send_v4(2, 1, b"lost").unwrap();
    net.advance(Duration::from_secs(16));
    assert_eq!(net.dev(2).peer_endpoint(server_id), Some(outer(1)));
    assert_eq!(
        net.completed(2),
        2,
        "a new handshake at the configured endpoint"
    );
    net.send_v4(2, 1, b"back").unwrap();
    net.pump();
    assert_eq!(net.node(1).delivered.len(), 1);
}

#[test]
fn one_way_traffic_is_answered_by_a_keepalive_after_ten_seconds() {
    let mut net = established();
    net.send_v4(2, 1, b"one way").unwrap();
    net.advance(Duration::from_secs(9));
    assert_eq!(net.stats(1).keepalives_sent, 0);
    net.advance(Duration::from_secs(2));
    assert_eq!(net.stats(1).keepalives_sent, 1);
    assert_eq!(net.stats(2).keepalives_received, 1);
    // Nothing more while idle (no persistent keepalive).
    net.advance(Duration::from_secs(100));
    assert_eq!(net.stats(1).keepalives_sent, 1);
}

#[test]
fn persistent_keepalive_starts_the_handshake_and_keeps_the_path_open() {
    let mut net = Net::empty();
    let mut server = DeviceConfig::new(private_key(1));
    server.peers = vec![peer_config(2, false)];
    net.add_node(1, server);
    let mut client = DeviceConfig::new(private_key(2));
    let mut entry = server_entry();
    entry.persistent_keepalive = Some(25);
    client.peers = vec![entry];
    net.add_node(2, client);
    // No traffic at all: the keepalive alone brings the session up.
    net.up();
    assert_eq!(net.completed(2), 1);
    assert_eq!(net.completed(1), 1);
    let before = net.stats(2).keepalives_sent;
    net.advance(Duration::from_secs(110));
    let sent = net.stats(2).keepalives_sent - before;
    assert_eq!(sent, 4, "one every 25 s");
    assert_eq!(net.stats(1).keepalives_received, 1 + sent);
}

#[test]
fn a_stranger_gets_no_answer_at_all() {
    let mut net = Net::pair();
    let mut stranger = DeviceConfig::new(private_key(9));
    stranger.peers = vec![server_entry()];
    net.add_node(9, stranger);
    net.send_v4(9, 1, b"let me in").unwrap_err();
    net.advance(Duration::from_secs(30));
    assert!(net.stats(9).handshakes_initiated >= 5);
    assert_eq!(
        net.stats(1).drops_of(DropReason::UnknownPeer),
        net.stats(9).handshakes_initiated
    );
    assert!(
        net.sent.iter().all(|d| d.from != outer(1)),
        "the server sent nothing"
    );
}

#[test]
fn a_wrong_preshared_key_never_completes() {
    let mut net = Net::empty();
    let mut server = DeviceConfig::new(private_key(1));
    let mut entry = peer_config(2, false);
    entry.preshared_key = Some(PresharedKey::from_bytes([1; 32]));
    server.peers = vec![entry];
    net.add_node(1, server);
    let mut client = DeviceConfig::new(private_key(2));
    let mut entry = server_entry();
    entry.preshared_key = Some(PresharedKey::from_bytes([2; 32]));
    client.peers = vec![entry];
    net.add_node(2, client);
    net.send_v4(2, 1, b"x").unwrap_err();
    net.advance(Duration::from_secs(20));
    assert_eq!(net.completed(2), 0);
    assert!(net.stats(2).drops_of(DropReason::HandshakeAuthFailed) >= 3);
}

#[test]
fn a_client_using_another_clients_inner_address_is_dropped() {
    let mut net = Net::star(2);
    net.send_v4(2, 1, b"x").unwrap_err();
    net.send_v4(3, 1, b"x").unwrap_err();
    net.up();
    // Client 3 sends with client 2's source address.
    let spoofed = ip_packet(inner_v4(2), inner_v4(1), b"spoofed");
    net.send(3, &spoofed).unwrap();
    net.pump();
    assert!(net.node(1).delivered.is_empty());
    assert_eq!(net.stats(1).drops_of(DropReason::SourceNotAllowed), 1);
    // Its own address goes through.
    net.send_v4(3, 1, b"honest").unwrap();
    net.pump();
    assert_eq!(net.node(1).delivered.len(), 1);
}

#[test]
fn three_clients_on_one_server_at_once() {
    let mut net = Net::star(3);
    for n in 2..=4 {
        net.send_v4(n, 1, b"hello").unwrap_err();
    }
    net.up();
    assert_eq!(net.completed(1), 3);
    for n in 2..=4 {
        assert_eq!(net.completed(n), 1);
        net.send_v4(n, 1, &[n]).unwrap();
        assert_eq!(net.send_v4(1, n, &[n + 10]), Ok(outer(n)));
    }
    net.pump();
    let mut got = net.node(1).delivered.clone();
    got.sort();
    let want: Vec<Vec<u8>> = (2..=4u8)
        .map(|n| ip_packet(inner_v4(n), inner_v4(1), &[n]))
        .collect();
    assert_eq!(got, want);
    for n in 2..=4 {
        assert_eq!(
            net.node(n).delivered,
            [ip_packet(inner_v4(1), inner_v4(n), &[n + 10])]
        );
    }
    // Three peers' sessions, one index each (the server's are confirmed).
    assert_eq!(net.dev(1).indices.len(), 3);
}

/// An initiation with a valid mac1 for `server` from an identity it does not know: it costs the
/// server a Diffie-Hellman before it can drop it.
fn forged_initiation(server: &PublicKey, seed: u64, now: Instant) -> Vec<u8> {
    let stranger = StaticIdentity::new(&private_key(200));
    let keys = PeerKeys::new(&stranger, *server, PresharedKey::none()).unwrap();
    let mut out = [0u8; INITIATION_LEN];
    create_initiation(
        &keys,
        &mut PeerCookie::new(),
        seed as u32,
        crate::core::noise::Tai64N::from_unix_nanos(WALL_START),
        now,
        &mut TestEntropy::new(seed),
        &mut out,
    )
    .unwrap();
    out.to_vec()
}

#[test]
fn under_a_flood_the_server_demands_cookies_and_a_real_client_gets_through() {
    let mut net = Net::pair();
    let server_key = public_key(1);
    let flood: Vec<Vec<u8>> = (0..40)
        .map(|i| forged_initiation(&server_key, i, net.now))
        .collect();
    let mut source = 0u32;
    let mut flood_step = |net: &mut Net| {
        // 40 initiations per 10 ms from ever new addresses: 4,000 a second.
        for bytes in &flood {
            source += 1;
            let from = SocketAddr::new(IpAddr::V4((0x0a80_0000 + source).into()), 1000);
            net.deliver(Datagram {
                from,
                to: outer(1),
                bytes: bytes.clone(),
            });
        }
    };
    flood_step(&mut net);
    flood_step(&mut net);
    flood_step(&mut net);
    flood_step(&mut net);
    assert!(net.stats(1).drops_of(DropReason::CookieRequired) > 0);
    assert!(net.stats(1).cookie_replies_sent > 0);
    // Only the messages up to the threshold cost a Diffie-Hellman.
    let unknown = net.stats(1).drops_of(DropReason::UnknownPeer);
    assert_eq!(unknown, u64::from(load::THRESHOLD) + 1);

    // The client tries while the flood goes on.
    net.send_v4(2, 1, b"x").unwrap_err();
    for _ in 0..1200 {
        flood_step(&mut net);
        net.advance(Duration::from_millis(10));
        if net.completed(2) > 0 {
            break;
        }
    }
    assert_eq!(net.completed(2), 1, "the client got through with a cookie");
    // Its first initiation was answered with a cookie reply, its retransmission carried mac2.
    assert_eq!(net.sent_between(outer(1), outer(2), MSG_COOKIE_REPLY), 1);
    assert_eq!(net.stats(2).handshakes_initiated, 2);
    assert_eq!(net.stats(2).drops_of(DropReason::BadCookieReply), 0);
    assert_eq!(net.stats(1).drops_of(DropReason::UnknownPeer), unknown);
    // Every forged initiation under load got a cookie reply (lost in the void) instead.
    assert_eq!(
        net.stats(1).cookie_replies_sent,
        net.stats(1).drops_of(DropReason::CookieRequired)
    );
    net.send_v4(2, 1, b"made it").unwrap();
    net.pump();
    assert_eq!(net.node(1).delivered.len(), 1);
}

#[test]
fn one_source_is_limited_to_a_burst_of_five_then_twenty_a_second() {
    let mut net = Net::pair();
    let server_key = public_key(1);
    let initiation = forged_initiation(&server_key, 1, net.now);
    let from = addr("198.51.100.50:1234");
    let results: Vec<Received> = (0..10)
        .map(|_| {
            let before = net.dev(1).state_fingerprint();
            let r = net
                .deliver(Datagram {
                    from,
                    to: outer(1),
                    bytes: initiation.clone(),
                })
                .unwrap();
            assert_eq!(net.dev(1).state_fingerprint(), before);
            r
        })
        .collect();
    assert_eq!(
        results
            .iter()
            .filter(|r| **r == Received::Dropped(DropReason::UnknownPeer))
            .count(),
        5
    );
    assert_eq!(net.stats(1).drops_of(DropReason::RateLimited), 5);
    // Another source is not affected.
    let other = addr("198.51.100.51:1234");
    let r = net.deliver(Datagram {
        from: other,
        to: outer(1),
        bytes: initiation,
    });
    assert_eq!(r, Some(Received::Dropped(DropReason::UnknownPeer)));
}

/// Every way a datagram can be refused, each from a state with live sessions and a handshake
/// in flight: the state is the same afterwards, and only the drop's counter moved.
#[test]
fn every_drop_leaves_the_state_unchanged() {
    let mut net = established();
    // A handshake in flight too (the client initiates again at 121 s when it sends).
    net.advance(Duration::from_secs(121));
    net.send_v4(2, 1, b"rekey").unwrap();
    net.collect();
    let captured_initiation = net
        .in_flight
        .iter()
        .find(|d| d.kind() == MSG_INITIATION)
        .cloned()
        .unwrap();
    net.pump();
    net.send_v4(2, 1, b"data").unwrap();
    let captured_data = net.in_flight.last().cloned().unwrap();
    net.pump();
    let now = net.now;

    let mut cases: Vec<(&str, Vec<u8>, DropReason)> = Vec::new();
    cases.push(("empty", vec![], DropReason::Malformed));
    cases.push(("unknown type", vec![9; 64], DropReason::Malformed));
    let mut reserved = captured_data.bytes.clone();
    reserved[1] = 1;
    cases.push(("reserved bytes", reserved, DropReason::Malformed));
    cases.push((
        "short initiation",
        captured_initiation.bytes[..INITIATION_LEN - 1].to_vec(),
        DropReason::Malformed,
    ));
    let mut unknown_index = captured_data.bytes.clone();
    unknown_index[4..8].copy_from_slice(&0xdead_beefu32.to_le_bytes());
    cases.push(("unknown index", unknown_index, DropReason::UnknownSession));
    // A datagram the client sealed but that never arrived, its tag flipped.
    let (_, mut tampered) =
        seal(net.dev(2), now, &ip_packet(inner_v4(2), inner_v4(1), b"t")).unwrap();
    *tampered.last_mut().unwrap() ^= 1;
    cases.push(("tampered data", tampered, DropReason::AuthFailed));
    cases.push((
        "replayed data",
        captured_data.bytes.clone(),
        DropReason::Replay,
    ));
    let mut bad_mac = captured_initiation.bytes.clone();
    bad_mac[20] ^= 1;
    cases.push(("initiation, bad mac1", bad_mac, DropReason::BadMac1));
    cases.push((
        "replayed initiation",
        captured_initiation.bytes.clone(),
        DropReason::HandshakeReplay,
    ));
    cases.push((
        "stranger's initiation",
        forged_initiation(&public_key(1), 7, now),
        DropReason::UnknownPeer,
    ));
    // Valid mac1 but a corrupted static key: mac1 recomputed over the altered bytes.
    let mut corrupt = captured_initiation.bytes.clone();
    corrupt[50] ^= 1;
    let mac1_key = crate::core::noise::crypto::hash(&[b"mac1----", public_key(1).as_bytes()]);
    let mac1 = crate::core::noise::crypto::mac(&mac1_key, &[&corrupt[..116]]);
    corrupt[116..132].copy_from_slice(&mac1);
    cases.push(("corrupt static", corrupt, DropReason::HandshakeAuthFailed));
    let mut response = vec![MSG_RESPONSE, 0, 0, 0];
    response.resize(RESPONSE_LEN, 0x33);
    let mac1 = crate::core::noise::crypto::mac(&mac1_key, &[&response[..60]]);
    response[60..76].copy_from_slice(&mac1);
    cases.push((
        "response to nothing",
        response,
        DropReason::UnexpectedResponse,
    ));
    let mut cookie = vec![MSG_COOKIE_REPLY, 0, 0, 0];
    cookie.resize(COOKIE_REPLY_LEN, 0x44);
    cases.push((
        "cookie reply to nothing",
        cookie,
        DropReason::BadCookieReply,
    ));

    for (i, (name, bytes, reason)) in cases.into_iter().enumerate() {
        // Each from its own source, so the per-source limit is not what drops it.
        let from = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(203, 0, 113, i as u8)), 9);
        for n in [1, 2] {
            let before = net.dev(n).state_fingerprint();
            let drops_before = net.stats(n).total_drops();
            let to = outer(n);
            let r = net.deliver(Datagram {
                from,
                to,
                bytes: bytes.clone(),
            });
            // The cases are aimed at the server; the client drops them too, maybe earlier.
            if n == 1 {
                assert_eq!(r, Some(Received::Dropped(reason)), "{name}");
            }
            assert!(
                matches!(r, Some(Received::Dropped(_))),
                "{name} at {n}: {r:?}"
            );
            assert_eq!(
                net.stats(n).total_drops(),
                drops_before + 1,
                "{name} at {n}"
            );
            assert_eq!(net.dev(n).state_fingerprint(), before, "{name} at {n}");
        }
    }
    // And on the sending side.
    let before = net.dev(1).state_fingerprint();
    assert_eq!(net.send_v4(1, 77, b"x"), Err(DropReason::NoRoute));
    assert_eq!(net.send(1, &[0x45]), Err(DropReason::BadInnerPacket));
    assert_eq!(net.dev(1).state_fingerprint(), before);
}

#[test]
fn data_a_peer_sends_after_180_seconds_without_rekey_is_refused() {
    let mut net = established();
    // Only the server sends: as responder it never rekeys on time, and its session ages out.
    let now = net.now + Duration::from_secs(181);
    let r = seal(
        net.dev(1),
        now,
        &ip_packet(inner_v4(1), inner_v4(2), b"late"),
    );
    assert_eq!(r.unwrap_err(), DropReason::Expired);
}

#[test]
fn removing_a_peer_forgets_it_and_leaves_the_others_alone() {
    let mut net = Net::star(2);
    net.send_v4(2, 1, b"x").unwrap_err();
    net.send_v4(3, 1, b"x").unwrap_err();
    net.up();
    let other = net.dev(1).peer_id(&public_key(3)).unwrap();
    let other_before = net.dev(1).state_fingerprint().peers[other.index()].clone();
    net.dev(1).remove_peer(&public_key(2)).unwrap();
    assert_eq!(net.dev(1).peer_count(), 1);
    assert_eq!(net.dev(1).indices.len(), 1, "only the other peer's session");
    assert_eq!(
        net.dev(1).state_fingerprint().peers,
        [other_before],
        "the other peer untouched"
    );
    assert_eq!(
        net.dev(1).remove_peer(&public_key(2)),
        Err(ConfigError::UnknownPeer(public_key(2)))
    );
    // Its data is now for an unknown session, its address routes nowhere.
    net.send_v4(2, 1, b"gone").unwrap();
    net.pump();
    assert_eq!(net.stats(1).drops_of(DropReason::UnknownSession), 1);
    assert_eq!(net.send_v4(1, 2, b"x"), Err(DropReason::NoRoute));
    net.send_v4(3, 1, b"still here").unwrap();
    net.pump();
    assert_eq!(net.node(1).delivered.len(), 1);
}

#[test]
fn adding_and_updating_peers_at_run_time() {
    let mut net = Net::pair();
    let mut client = DeviceConfig::new(private_key(3));
    client.peers = vec![server_entry()];
    net.add_node(3, client);
    // Unknown to the server at first.
    net.send_v4(3, 1, b"x").unwrap_err();
    net.up();
    assert_eq!(net.stats(1).drops_of(DropReason::UnknownPeer), 1);
    let id = net.dev(1).add_peer(&peer_config(3, false)).unwrap();
    assert_eq!(
        net.dev(1).add_peer(&peer_config(3, false)),
        Err(ConfigError::DuplicatePeer(public_key(3)))
    );
    let own = PeerConfig::new(public_key(1));
    assert_eq!(
        net.dev(1).add_peer(&own),
        Err(ConfigError::OwnKey(public_key(1)))
    );
    let weak = PeerConfig::new(PublicKey::from_bytes([0; 32]));
    assert!(matches!(
        net.dev(1).add_peer(&weak),
        Err(ConfigError::WeakPeerKey(_))
    ));
    net.advance(Duration::from_secs(6));
    assert_eq!(net.completed(3), 1, "the retransmission is accepted");

    // Update: a new allowed address, a keepalive, a configured endpoint.
    let update = PeerUpdate {
        add_allowed_ips: vec![prefix("10.9.0.0/16")],
        persistent_keepalive: Some(10),
        endpoint: Some(outer(3)),
        ..PeerUpdate::default()
    };
    net.dev(1).update_peer(&public_key(3), &update).unwrap();
    let now = net.now;
    let wall = WallTime::from_unix_nanos(WALL_START);
    let snapshot = net.dev(1).peer_snapshot(id, now, wall).unwrap();
    assert_eq!(
        snapshot.allowed_ips,
        [
            IpPrefix::host(inner_v4(3)),
            IpPrefix::host(inner_v6(3)),
            prefix("10.9.0.0/16")
        ]
    );
    assert_eq!(snapshot.persistent_keepalive, Some(10));
    assert_eq!(snapshot.endpoint, Some(outer(3)));
    assert!(!snapshot.has_preshared_key);
    assert_eq!(
        net.send(
            1,
            &ip_packet(inner_v4(1), "10.9.1.1".parse().unwrap(), b"routed")
        ),
        Ok(outer(3))
    );
    // Replace the allowed IPs: the old ones route nowhere now.
    let replace = PeerUpdate {
        replace_allowed_ips: true,
        add_allowed_ips: vec![prefix("10.0.0.3/32")],
        ..PeerUpdate::default()
    };
    net.dev(1).update_peer(&public_key(3), &replace).unwrap();
    assert_eq!(
        net.send(
            1,
            &ip_packet(inner_v4(1), "10.9.1.1".parse().unwrap(), b"x")
        ),
        Err(DropReason::NoRoute)
    );
    let limits = net.dev(1).limits();
    let too_many = PeerUpdate {
        add_allowed_ips: vec![prefix("10.0.0.3/32"); limits.max_allowed_ips_per_peer as usize],
        ..PeerUpdate::default()
    };
    assert!(matches!(
        net.dev(1).update_peer(&public_key(3), &too_many),
        Err(ConfigError::TooManyAllowedIps { .. })
    ));
}

#[test]
fn a_new_private_key_drops_every_session_and_handshakes_with_the_new_identity() {
    let mut net = established();
    // Later than the whitened timestamp of the first handshake (16.7 ms granules): the server
    // still remembers it, as the client's new peer entry does not.
    net.advance(Duration::from_secs(1));
    net.dev(1).set_private_key(&private_key(5));
    assert_eq!(net.dev(1).public_key(), &public_key(5));
    assert_eq!(net.dev(1).indices.len(), 0);
    let client = net.dev(1).peer_id(&public_key(2)).unwrap();
    let now = net.now;
    assert!(!net.dev(1).has_session(client, now));
    // The client learns the server's new key (as its operator would configure it).
    net.dev(2).remove_peer(&public_key(1)).unwrap();
    let mut entry = server_entry();
    entry.public_key = public_key(5);
    net.dev(2).add_peer(&entry).unwrap();
    net.send_v4(2, 1, b"x").unwrap_err();
    net.up();
    net.send_v4(2, 1, b"new identity").unwrap();
    net.pump();
    assert_eq!(net.node(1).delivered.len(), 1);
    // A peer with the new key itself is removed.
    net.dev(1).set_private_key(&private_key(2));
    assert_eq!(net.dev(1).peer_count(), 0);
}

#[test]
fn the_same_private_key_again_keeps_every_session() {
    let mut net = established();
    let client = net.dev(1).peer_id(&public_key(2)).unwrap();
    // `wg syncconf` sends the key the interface has every time.
    net.dev(1).set_private_key(&private_key(1));
    let now = net.now;
    assert!(net.dev(1).has_session(client, now));
    assert_eq!(net.dev(1).private_key(), Some(&private_key(1)));
    net.send_v4(2, 1, b"still up").unwrap();
    net.pump();
    assert_eq!(net.node(1).delivered.len(), 1);
}

#[test]
fn without_a_private_key_no_handshake_is_answered_or_started() {
    let mut net = Net::pair();
    let zero = PrivateKey::from_bytes([0; 32]);
    net.dev(1).set_private_key(&zero);
    assert_eq!(net.dev(1).private_key(), None);
    // The client's initiations are dropped before any other check, and never answered.
    net.send_v4(2, 1, b"x").unwrap_err();
    net.advance(Duration::from_secs(6));
    assert!(net.stats(1).drops_of(DropReason::NoPrivateKey) >= 2);
    assert_eq!(net.sent_by(outer(1), MSG_RESPONSE), 0);
    // Nor does the server start one, even towards a peer whose address it knows.
    let mut client = peer_config(2, true);
    client.persistent_keepalive = Some(25);
    net.dev(1).remove_peer(&public_key(2)).unwrap();
    net.dev(1).add_peer(&client).unwrap();
    net.send_v4(1, 2, b"y").unwrap_err();
    net.advance(Duration::from_secs(1));
    assert_eq!(net.sent_by(outer(1), MSG_INITIATION), 0);
    // With its key back, the next retry of the client gets through.
    net.dev(1).set_private_key(&private_key(1));
    net.advance(Duration::from_secs(6));
    net.send_v4(2, 1, b"z").unwrap();
    net.pump();
    assert!(net.node(1).delivered.iter().any(|p| p.ends_with(b"z")));
}

#[test]
fn a_small_order_key_is_refused_before_it_is_added() {
    let mut net = Net::pair();
    let weak = PublicKey::from_bytes([0; 32]);
    assert_eq!(
        net.dev(1).check_peer_key(&weak),
        Err(ConfigError::WeakPeerKey(weak))
    );
    assert_eq!(net.dev(1).check_peer_key(&public_key(7)), Ok(()));
    let count = net.dev(1).peer_count();
    assert!(net.dev(1).add_peer(&PeerConfig::new(weak)).is_err());
    assert_eq!(net.dev(1).peer_count(), count);
    let client = net.dev(1).peer_id(&public_key(2)).unwrap();
    let ips: Vec<IpPrefix> = net.dev(1).peer_allowed_ips(client).collect();
    assert_eq!(ips, peer_config(2, false).allowed_ips);
}

#[test]
fn the_keys_for_showconf_are_there_only_when_set() {
    let mut net = Net::pair();
    let client = net.dev(1).peer_id(&public_key(2)).unwrap();
    assert_eq!(net.dev(1).peer_preshared_key(client), None);
    let psk = PresharedKey::from_bytes([9; 32]);
    let update = PeerUpdate {
        preshared_key: Some(psk.clone()),
        ..PeerUpdate::default()
    };
    net.dev(1).update_peer(&public_key(2), &update).unwrap();
    assert_eq!(net.dev(1).peer_preshared_key(client), Some(&psk));
    let update = PeerUpdate {
        preshared_key: Some(PresharedKey::none()),
        ..PeerUpdate::default()
    };
    net.dev(1).update_peer(&public_key(2), &update).unwrap();
    assert_eq!(net.dev(1).peer_preshared_key(client), None);
    assert_eq!(net.dev(1).peer_preshared_key(PeerId(9)), None);
}

#[test]
fn the_snapshot_reports_the_last_handshake_on_the_wall_clock_and_the_transfer() {
    let mut net = established();
    let handshake_at = net.now;
    net.send_v4(2, 1, b"0123456789").unwrap();
    net.pump();
    net.advance(Duration::from_secs(5));
    let id = net.dev(2).peer_id(&public_key(1)).unwrap();
    let now = net.now;
    let wall = WallTime::from_unix_nanos(WALL_START + now.as_nanos());
    let s = net.dev(2).peer_snapshot(id, now, wall).unwrap();
    assert_eq!(s.public_key, public_key(1));
    assert_eq!(s.endpoint, Some(outer(1)));
    let handshake_wall = s.last_handshake.unwrap().as_unix_nanos();
    assert!(handshake_wall <= WALL_START + handshake_at.as_nanos());
    assert!(handshake_wall + 20_000_000 >= WALL_START + handshake_at.as_nanos());
    // Initiation + keepalive + data out, response in.
    assert_eq!(s.tx_bytes, (INITIATION_LEN + 32 + 32 + 30) as u64);
    assert_eq!(s.rx_bytes, RESPONSE_LEN as u64);
    assert_eq!(s.persistent_keepalive, None);
    assert!(net.dev(2).peer_snapshot(PeerId(99), now, wall).is_none());
}

#[test]
fn key_material_is_erased_after_540_seconds_of_silence() {
    let mut net = established();
    net.advance(Duration::from_secs(541));
    let server_id = net.dev(2).peer_id(&public_key(1)).unwrap();
    assert!(
        net.events(2)
            .contains(&Event::SessionsZeroed { peer: server_id })
    );
    assert_eq!(net.dev(2).indices.len(), 0);
    assert_eq!(net.dev(1).indices.len(), 0);
    assert_eq!(net.dev(2).poll_timeout(), None);
    // The next packet starts over, and the session is "first" again.
    net.send_v4(2, 1, b"x").unwrap_err();
    net.up();
    assert!(net.events(2).contains(&Event::HandshakeComplete {
        peer: server_id,
        endpoint: outer(1),
        first: true
    }));
    assert_eq!(net.completed(2), 2);
}

#[test]
fn many_clients_keep_their_timers_in_the_deadline_queue() {
    let mut net = Net::star(20);
    for n in 2..22 {
        net.send_v4(n, 1, b"x").unwrap_err();
    }
    net.up();
    assert_eq!(net.completed(1), 20);
    // Each client sends once; the server owes each a keepalive 10 s later, and only those.
    for n in 2..22 {
        net.send_v4(n, 1, &[n]).unwrap();
        net.advance(Duration::from_millis(100));
    }
    net.advance(Duration::from_secs(12));
    assert_eq!(net.stats(1).keepalives_sent, 20);
    for n in 2..22 {
        assert_eq!(net.stats(n).keepalives_received, 1);
    }
}
