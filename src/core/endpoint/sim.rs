//! Two endpoints on an in-memory network with simulated time: handshake, data both ways, loss,
//! reordering, duplication, rekey, restarts and roaming.

use super::*;
use crate::core::wire::{MSG_DATA, MSG_INITIATION, V4Config, V6Config};
use core::net::{Ipv4Addr, Ipv6Addr};

const PSK: [u8; 32] = [0x42; 32];
const WALL_START: u64 = 1_700_000_000_000_000_000;

fn tunnel() -> TunnelConfig {
    TunnelConfig {
        mtu: 1420,
        ipv4: Some(V4Config {
            client: Ipv4Addr::new(10, 89, 0, 2),
            prefix: 24,
            server: Ipv4Addr::new(10, 89, 0, 1),
        }),
        ipv6: Some(V6Config {
            client: Ipv6Addr::new(0xfd89, 0, 0, 0, 0, 0, 0, 2),
            prefix: 64,
            server: Ipv6Addr::new(0xfd89, 0, 0, 0, 0, 0, 0, 1),
        }),
    }
}

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

/// A minimal IPv4 packet whose payload is `body` (the core checks only the version and lengths).
fn ip_packet(body: &[u8]) -> Vec<u8> {
    let total = 20 + body.len();
    let mut p = vec![0u8; total];
    p[0] = 0x45;
    p[2..4].copy_from_slice(&(total as u16).to_be_bytes());
    p[20..].copy_from_slice(body);
    p
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fate {
    Deliver,
    Drop,
    Duplicate,
}

struct Datagram {
    to_server: bool,
    from: SocketAddr,
    bytes: Vec<u8>,
}

struct Sim {
    now: Instant,
    client: Endpoint,
    server: Endpoint,
    client_addr: SocketAddr,
    server_addr: SocketAddr,
    in_flight: Vec<Datagram>,
    /// Every datagram put on the wire, for replay tests.
    sent: Vec<Datagram>,
    delivered_to_server: Vec<Vec<u8>>,
    delivered_to_client: Vec<Vec<u8>>,
    client_events: Vec<Event>,
    server_events: Vec<Event>,
    fate: Box<dyn FnMut(&Datagram) -> Fate>,
    reverse_batches: bool,
}

fn config(role: Role, psk: [u8; 32]) -> EndpointConfig {
    EndpointConfig {
        psk,
        role,
        tunnel: tunnel(),
        timers: Timers::default(),
    }
}

impl Sim {
    fn new() -> Self {
        Self::with_psks(PSK, PSK)
    }

    fn with_psks(client_psk: [u8; 32], server_psk: [u8; 32]) -> Self {
        let server_addr = addr("192.0.2.1:51820");
        let client_addr = addr("198.51.100.7:40000");
        let now = Instant::from_nanos(1_000_000_000);
        Sim {
            now,
            client: Endpoint::new(
                config(
                    Role::Initiator {
                        server: server_addr,
                    },
                    client_psk,
                ),
                [1; 32],
                now,
                WALL_START,
            ),
            server: Endpoint::new(
                config(Role::Responder, server_psk),
                [2; 32],
                now,
                WALL_START,
            ),
            client_addr,
            server_addr,
            in_flight: Vec::new(),
            sent: Vec::new(),
            delivered_to_server: Vec::new(),
            delivered_to_client: Vec::new(),
            client_events: Vec::new(),
            server_events: Vec::new(),
            fate: Box::new(|_| Fate::Deliver),
            reverse_batches: false,
        }
    }

    fn put_on_wire(&mut self, to_server: bool, from: SocketAddr, bytes: Vec<u8>) {
        self.sent.push(Datagram {
            to_server,
            from,
            bytes: bytes.clone(),
        });
        self.in_flight.push(Datagram {
            to_server,
            from,
            bytes,
        });
    }

    fn collect(&mut self) {
        let mut buf = [0u8; MAX_CONTROL_LEN];
        while let Some(t) = self.client.poll_transmit(self.now, &mut buf) {
            assert_eq!(t.dst, self.server_addr, "client sends to the server");
            let from = self.client_addr;
            self.put_on_wire(true, from, buf[..t.len].to_vec());
        }
        while let Some(t) = self.server.poll_transmit(self.now, &mut buf) {
            assert_eq!(
                t.dst, self.client_addr,
                "server replies to the client's current address"
            );
            let from = self.server_addr;
            self.put_on_wire(false, from, buf[..t.len].to_vec());
        }
        while let Some(e) = self.client.poll_event() {
            self.client_events.push(e);
        }
        while let Some(e) = self.server.poll_event() {
            self.server_events.push(e);
        }
    }

    fn deliver(&mut self, d: Datagram) -> Received {
        let mut bytes = d.bytes;
        let (ep, sink) = if d.to_server {
            (&mut self.server, &mut self.delivered_to_server)
        } else {
            (&mut self.client, &mut self.delivered_to_client)
        };
        let r = ep.handle_datagram(self.now, d.from, &mut bytes);
        if let Received::Deliver { start, len } = r {
            sink.push(bytes[start..start + len].to_vec());
        }
        r
    }

    /// Delivers everything in flight (and what it provokes) until the network is quiet.
    fn pump(&mut self) {
        for _ in 0..1000 {
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
                        let copy = Datagram {
                            to_server: d.to_server,
                            from: d.from,
                            bytes: d.bytes.clone(),
                        };
                        self.deliver(d);
                        self.deliver(copy);
                    }
                }
            }
        }
        panic!("network never went quiet");
    }

    /// Moves simulated time forward, firing each endpoint's timers when due.
    fn advance(&mut self, d: Duration) {
        let end = self.now + d;
        loop {
            self.pump();
            let next = [self.client.poll_timeout(), self.server.poll_timeout()]
                .into_iter()
                .flatten()
                .min();
            match next {
                Some(t) if t <= end => {
                    self.now = self.now.max(t);
                    if self.client.poll_timeout().is_some_and(|t| t <= self.now) {
                        self.client.handle_timeout(self.now);
                    }
                    if self.server.poll_timeout().is_some_and(|t| t <= self.now) {
                        self.server.handle_timeout(self.now);
                    }
                }
                _ => break,
            }
        }
        self.now = end;
        self.client.handle_timeout(self.now);
        self.server.handle_timeout(self.now);
        self.pump();
    }

    fn seal(
        ep: &mut Endpoint,
        now: Instant,
        packet: &[u8],
    ) -> Result<(Transmit, Vec<u8>), DropReason> {
        let mut buf = vec![0u8; DATA_HEADER_LEN + packet.len() + wire::TAG_LEN];
        buf[DATA_HEADER_LEN..DATA_HEADER_LEN + packet.len()].copy_from_slice(packet);
        let t = ep.seal(now, &mut buf, packet.len())?;
        buf.truncate(t.len);
        Ok((t, buf))
    }

    /// The client seals `packet` and puts it on the wire (not delivered until the next pump).
    fn client_sends(&mut self, packet: &[u8]) -> Result<(), DropReason> {
        let (t, bytes) = Self::seal(&mut self.client, self.now, packet)?;
        assert_eq!(t.dst, self.server_addr);
        let from = self.client_addr;
        self.put_on_wire(true, from, bytes);
        Ok(())
    }

    fn server_sends(&mut self, packet: &[u8]) -> Result<(), DropReason> {
        let (t, bytes) = Self::seal(&mut self.server, self.now, packet)?;
        assert_eq!(t.dst, self.client_addr);
        let from = self.server_addr;
        self.put_on_wire(false, from, bytes);
        Ok(())
    }

    /// The client process restarts: fresh state and randomness, its wall clock at `wall_clock_ns`.
    fn restart_client(&mut self, wall_clock_ns: u64) {
        let role = Role::Initiator {
            server: self.server_addr,
        };
        self.client = Endpoint::new(config(role, PSK), [7; 32], self.now, wall_clock_ns);
    }

    fn up(&mut self) {
        self.advance(Duration::from_millis(10));
        assert!(self.client.is_up(), "client up");
        // The responder confirms the session on the initiator's first keepalive.
        assert!(self.server.is_up(), "server up: {:?}", self.server.stats());
    }

    fn count(events: &[Event], pred: impl Fn(&Event) -> bool) -> usize {
        events.iter().filter(|e| pred(e)).count()
    }
}

#[test]
fn handshake_brings_both_up_with_the_pushed_config_then_data_flows_both_ways() {
    let mut sim = Sim::new();
    sim.up();
    assert_eq!(
        sim.client_events.first(),
        Some(&Event::HandshakeSent { attempt: 1 })
    );
    assert!(sim.client_events.contains(&Event::SessionUp {
        peer: sim.server_addr,
        tunnel: tunnel()
    }));
    assert!(sim.server_events.contains(&Event::SessionUp {
        peer: sim.client_addr,
        tunnel: tunnel()
    }));

    let a = ip_packet(b"from client");
    let b = ip_packet(b"from server");
    sim.client_sends(&a).unwrap();
    sim.server_sends(&b).unwrap();
    sim.pump();
    assert_eq!(sim.delivered_to_server, vec![a]);
    assert_eq!(sim.delivered_to_client, vec![b]);
    assert_eq!(sim.server.stats().rx_packets, 1);
    assert_eq!(sim.client.stats().tx_packets, 1);
}

#[test]
fn wrong_key_never_comes_up_and_retries_back_off() {
    let mut sim = Sim::with_psks(PSK, [0x43; 32]);
    sim.advance(Duration::from_secs(60));
    assert!(!sim.client.is_up() && !sim.server.is_up());
    let attempts = sim.client.stats().handshakes_initiated;
    // 1, 2, 4, 8, 16, 16, 16 s apart (+ jitter): about 7 in a minute, far fewer than one a second.
    assert!((5..=9).contains(&attempts), "{attempts} attempts");
    assert_eq!(
        sim.server.stats().drops_of(DropReason::HandshakeAuthFailed),
        attempts
    );
    assert_eq!(sim.server.stats().handshakes_completed, 0);
    assert!(
        sim.sent.iter().all(|d| d.to_server),
        "the server never answers a wrong key"
    );
}

#[test]
fn lost_initiations_are_retried() {
    let mut sim = Sim::new();
    let mut dropped = 0;
    sim.fate = Box::new(move |d| {
        if d.bytes[0] == MSG_INITIATION && dropped < 3 {
            dropped += 1;
            Fate::Drop
        } else {
            Fate::Deliver
        }
    });
    sim.advance(Duration::from_secs(20));
    assert!(sim.client.is_up() && sim.server.is_up());
    assert_eq!(sim.client.stats().handshakes_initiated, 4);
}

#[test]
fn sending_before_a_session_drops_and_starts_no_extra_handshake() {
    let mut sim = Sim::new();
    assert_eq!(
        sim.client_sends(&ip_packet(b"early")),
        Err(DropReason::NoSession)
    );
    assert_eq!(
        sim.server_sends(&ip_packet(b"early")),
        Err(DropReason::NoSession)
    );
    sim.up();
    assert_eq!(sim.client.stats().handshakes_initiated, 1);
    assert_eq!(sim.client.stats().drops_of(DropReason::NoSession), 1);
}

#[test]
fn reordered_packets_within_the_window_all_arrive_once() {
    let mut sim = Sim::new();
    sim.up();
    sim.reverse_batches = true;
    let packets: Vec<Vec<u8>> = (0..200u32).map(|i| ip_packet(&i.to_le_bytes())).collect();
    for p in &packets {
        sim.client_sends(p).unwrap();
    }
    sim.pump();
    let mut got = sim.delivered_to_server.clone();
    assert_eq!(got.len(), 200);
    got.reverse();
    assert_eq!(got, packets);
}

#[test]
fn duplicated_datagrams_are_delivered_once() {
    let mut sim = Sim::new();
    sim.fate = Box::new(|_| Fate::Duplicate);
    sim.up();
    for i in 0..50u8 {
        sim.client_sends(&ip_packet(&[i])).unwrap();
        sim.server_sends(&ip_packet(&[i])).unwrap();
    }
    sim.pump();
    assert_eq!(sim.delivered_to_server.len(), 50);
    assert_eq!(sim.delivered_to_client.len(), 50);
    assert_eq!(
        sim.server.stats().drops_of(DropReason::Replay),
        50 + 1,
        "50 data + the confirming keepalive"
    );
    assert!(
        sim.server.stats().drops_of(DropReason::HandshakeReplay) >= 1,
        "the duplicated initiation"
    );
}

#[test]
fn replayed_initiation_is_rejected_without_a_response() {
    let mut sim = Sim::new();
    sim.up();
    let init = sim
        .sent
        .iter()
        .find(|d| d.bytes[0] == MSG_INITIATION)
        .unwrap();
    let replay = Datagram {
        to_server: true,
        from: addr("203.0.113.9:1"),
        bytes: init.bytes.clone(),
    };
    let before = sim.server.state_fingerprint();
    assert_eq!(
        sim.deliver(replay),
        Received::Dropped(DropReason::HandshakeReplay)
    );
    assert_eq!(sim.server.state_fingerprint(), before);
    let mut buf = [0u8; MAX_CONTROL_LEN];
    assert_eq!(sim.server.poll_transmit(sim.now, &mut buf), None);
}

#[test]
fn rekeys_before_the_session_expires_without_losing_traffic() {
    let mut sim = Sim::new();
    sim.up();
    let mut sent = 0;
    for _ in 0..400 {
        sim.client_sends(&ip_packet(b"c")).unwrap();
        sim.server_sends(&ip_packet(b"s")).unwrap();
        sent += 1;
        sim.advance(Duration::from_secs(1));
    }
    assert_eq!(sim.delivered_to_server.len(), sent);
    assert_eq!(sim.delivered_to_client.len(), sent);
    let rekeys = Sim::count(&sim.client_events, |e| matches!(e, Event::Rekeyed { .. }));
    assert!(rekeys >= 3, "{rekeys} rekeys in 400 s");
    assert_eq!(
        Sim::count(&sim.client_events, |e| *e == Event::SessionDown),
        0
    );
    assert_eq!(
        Sim::count(&sim.server_events, |e| *e == Event::SessionDown),
        0
    );
}

#[test]
fn packets_in_flight_across_a_rekey_still_open() {
    let mut sim = Sim::new();
    sim.up();
    // Seal under the first session, hold them back, then rekey.
    let old: Vec<Datagram> = (0..5u8)
        .map(|i| {
            let (_, bytes) = Sim::seal(&mut sim.server, sim.now, &ip_packet(&[i])).unwrap();
            Datagram {
                to_server: false,
                from: sim.server_addr,
                bytes,
            }
        })
        .collect();
    sim.advance(Duration::from_secs(121));
    assert!(Sim::count(&sim.client_events, |e| matches!(e, Event::Rekeyed { .. })) >= 1);
    for d in old {
        assert!(matches!(sim.deliver(d), Received::Deliver { .. }));
    }
}

#[test]
fn idle_tunnel_is_kept_ready_by_proactive_rekeys() {
    let mut sim = Sim::new();
    sim.up();
    sim.advance(Duration::from_secs(1000));
    assert!(sim.client.is_up() && sim.server.is_up());
    sim.client_sends(&ip_packet(b"after idle")).unwrap();
    sim.pump();
    assert_eq!(sim.delivered_to_server.len(), 1);
}

#[test]
fn dead_server_brings_the_session_down_and_retries_continue() {
    let mut sim = Sim::new();
    sim.up();
    sim.fate = Box::new(|_| Fate::Drop);
    sim.advance(Duration::from_secs(200));
    assert!(sim.client_events.contains(&Event::SessionDown));
    assert!(
        sim.server_events.contains(&Event::SessionDown),
        "server's session expires too"
    );
    let before = sim.client.stats().handshakes_initiated;
    sim.advance(Duration::from_secs(100));
    assert!(
        sim.client.stats().handshakes_initiated > before + 3,
        "retries go on, capped at 16 s apart"
    );
    sim.fate = Box::new(|_| Fate::Deliver);
    sim.advance(Duration::from_secs(20));
    assert!(
        sim.client.is_up() && sim.server.is_up(),
        "comes back when the network does"
    );
}

#[test]
fn restarted_server_is_found_again_by_dead_peer_detection() {
    let mut sim = Sim::new();
    sim.up();
    sim.server = Endpoint::new(config(Role::Responder, PSK), [9; 32], sim.now, WALL_START);
    sim.client_sends(&ip_packet(b"lost")).unwrap();
    sim.pump();
    assert_eq!(sim.server.stats().drops_of(DropReason::UnknownSession), 1);
    sim.advance(Duration::from_secs(20));
    assert!(sim.server.is_up());
    // The operator sees the outage: down after 15 s of silence, then up again.
    let ups = Sim::count(&sim.client_events, |e| matches!(e, Event::SessionUp { .. }));
    assert_eq!(ups, 2, "{:?}", sim.client_events);
    let down_at = sim
        .client_events
        .iter()
        .position(|e| *e == Event::SessionDown)
        .expect("session down reported");
    let last_up = sim
        .client_events
        .iter()
        .rposition(|e| matches!(e, Event::SessionUp { .. }))
        .unwrap();
    assert!(down_at < last_up);
    sim.client_sends(&ip_packet(b"again")).unwrap();
    sim.pump();
    assert_eq!(sim.delivered_to_server, vec![ip_packet(b"again")]);
}

#[test]
fn restarted_client_reconnects_with_a_newer_timestamp() {
    let mut sim = Sim::new();
    sim.up();
    sim.advance(Duration::from_secs(5));
    sim.client_addr = addr("198.51.100.7:40001");
    let wall = WALL_START + 5_000_000_000 + 1;
    sim.restart_client(wall);
    sim.advance(Duration::from_millis(10));
    assert!(sim.client.is_up());
    assert!(sim.server_events.contains(&Event::PeerAddressChanged {
        from: addr("198.51.100.7:40000"),
        to: sim.client_addr
    }));
    sim.server_sends(&ip_packet(b"hi")).unwrap();
    sim.pump();
    assert_eq!(sim.delivered_to_client.len(), 1);
}

#[test]
fn client_with_a_clock_behind_the_last_accepted_timestamp_is_refused() {
    let mut sim = Sim::new();
    sim.up();
    sim.restart_client(WALL_START - 1);
    sim.advance(Duration::from_millis(10));
    assert!(!sim.client.is_up());
    assert_eq!(sim.server.stats().drops_of(DropReason::HandshakeReplay), 1);
}

#[test]
fn roaming_client_is_followed_only_after_authenticated_data() {
    let mut sim = Sim::new();
    sim.up();
    let old = sim.client_addr;
    sim.client_addr = addr("203.0.113.50:1111");
    // A forged datagram from yet another address changes nothing.
    let mut forged = vec![MSG_DATA, 0, 0, 0];
    forged.extend_from_slice(&[0u8; 40]);
    let before = sim.server.state_fingerprint();
    let r = sim.deliver(Datagram {
        to_server: true,
        from: addr("203.0.113.66:2"),
        bytes: forged,
    });
    assert!(matches!(r, Received::Dropped(_)));
    assert_eq!(sim.server.state_fingerprint(), before);
    assert_eq!(sim.server.peer_addr(), Some(old));
    sim.client_sends(&ip_packet(b"moved")).unwrap();
    sim.pump();
    assert_eq!(sim.server.peer_addr(), Some(sim.client_addr));
    assert!(sim.server_events.contains(&Event::PeerAddressChanged {
        from: old,
        to: sim.client_addr
    }));
    sim.server_sends(&ip_packet(b"follows")).unwrap();
    sim.pump();
    assert_eq!(sim.delivered_to_client.len(), 1);
}

#[test]
fn replayed_data_from_a_new_address_does_not_move_the_peer() {
    let mut sim = Sim::new();
    sim.up();
    sim.client_sends(&ip_packet(b"x")).unwrap();
    sim.pump();
    let data = sim
        .sent
        .iter()
        .rfind(|d| d.to_server && d.bytes[0] == MSG_DATA)
        .unwrap()
        .bytes
        .clone();
    let before = sim.server.state_fingerprint();
    let r = sim.deliver(Datagram {
        to_server: true,
        from: addr("203.0.113.66:2"),
        bytes: data,
    });
    assert_eq!(r, Received::Dropped(DropReason::Replay));
    assert_eq!(sim.server.state_fingerprint(), before);
    assert_eq!(sim.delivered_to_server.len(), 1);
}

#[test]
fn passive_keepalive_answers_one_way_traffic() {
    let mut sim = Sim::new();
    sim.up();
    let sent_before = sim.client.stats().keepalives_sent;
    sim.server_sends(&ip_packet(b"one way")).unwrap();
    sim.advance(Duration::from_secs(9));
    assert_eq!(sim.client.stats().keepalives_sent, sent_before);
    sim.advance(Duration::from_secs(2));
    assert_eq!(sim.client.stats().keepalives_sent, sent_before + 1);
    assert!(sim.server.stats().keepalives_received >= 1);
}

#[test]
fn unauthenticated_garbage_changes_no_state() {
    let mut sim = Sim::new();
    sim.up();
    sim.client_sends(&ip_packet(b"genuine")).unwrap();
    let genuine = sim.in_flight.pop().unwrap().bytes;
    let mut rng = crate::core::rng::Rng::from_seed([3; 32]);
    for ep_is_server in [true, false] {
        for i in 0..3000usize {
            let mut bytes = if i % 3 == 0 {
                // A real datagram with one bit flipped, or truncated.
                let mut b = genuine.clone();
                let pos = (rng.next_u32() as usize) % b.len();
                if i % 2 == 0 {
                    b[pos] ^= 1 << (i % 8)
                } else {
                    b.truncate(pos)
                }
                b
            } else {
                let mut b = vec![0u8; (rng.next_u32() % 200) as usize];
                rng.fill(&mut b);
                if let Some(first) = b.first_mut() {
                    *first = (i % 5) as u8;
                }
                b
            };
            let ep = if ep_is_server {
                &mut sim.server
            } else {
                &mut sim.client
            };
            let before = ep.state_fingerprint();
            let r = ep.handle_datagram(sim.now, addr("203.0.113.66:2"), &mut bytes);
            assert!(matches!(r, Received::Dropped(_)), "{r:?}");
            assert_eq!(ep.state_fingerprint(), before);
        }
    }
    let drops = sim.server.stats().total_drops();
    assert_eq!(drops, 3000);
}

#[test]
fn inner_packet_is_trimmed_to_its_ip_length_and_garbage_is_refused() {
    let mut sim = Sim::new();
    sim.up();
    let mut padded = ip_packet(b"abc");
    padded.extend_from_slice(&[0; 5]);
    sim.client_sends(&padded).unwrap();
    sim.client_sends(&[0x10, 0, 0, 0]).unwrap();
    let mut v6 = vec![0u8; 40 + 3];
    v6[0] = 0x60;
    v6[5] = 3;
    sim.client_sends(&v6).unwrap();
    sim.pump();
    assert_eq!(sim.delivered_to_server, vec![ip_packet(b"abc"), v6]);
    assert_eq!(sim.server.stats().drops_of(DropReason::BadInnerPacket), 1);
}

#[test]
fn message_count_limit_triggers_a_rekey() {
    let mut sim = Sim::new();
    sim.up();
    let before = sim.client.stats().handshakes_initiated;
    sim.client
        .current
        .as_mut()
        .unwrap()
        .set_send_counter_for_test(REKEY_AFTER_MESSAGES);
    sim.client_sends(&ip_packet(b"x")).unwrap();
    sim.advance(Duration::from_millis(1));
    assert_eq!(sim.client.stats().handshakes_initiated, before + 1);
    // That first try came within the responder's 20 ms rate limit of the first handshake; the retry
    // a second later goes through.
    assert_eq!(
        sim.server
            .stats()
            .drops_of(DropReason::HandshakeRateLimited),
        1
    );
    sim.advance(Duration::from_secs(2));
    assert!(
        sim.client_events
            .iter()
            .any(|e| matches!(e, Event::Rekeyed { .. }))
    );
}

#[test]
fn event_queue_keeps_the_newest_when_full() {
    let mut q = EventQueue::new();
    for i in 0..(EVENT_CAPACITY as u32 + 3) {
        q.push(Event::HandshakeSent { attempt: i });
    }
    assert_eq!(q.pop(), Some(Event::HandshakeSent { attempt: 3 }));
    let mut n = 1;
    while q.pop().is_some() {
        n += 1;
    }
    assert_eq!(n, EVENT_CAPACITY);
}
