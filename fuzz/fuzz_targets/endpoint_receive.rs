//! The full receive path of a fresh responder, an established responder and an established
//! initiator, fed arbitrary datagrams and mutations of genuine ones. Nothing may panic, and a
//! dropped datagram must leave the endpoint's state exactly as it was.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ringtun::core::endpoint::MAX_CONTROL_LEN;
use ringtun::core::{DATA_HEADER_LEN, Endpoint, EndpointConfig, Instant, Received, Role, TAG_LEN, Timers, TunnelConfig};
use std::net::SocketAddr;

const PSK: [u8; 32] = [0x5a; 32];

fn tunnel() -> TunnelConfig {
    TunnelConfig { mtu: 1420, ipv4: None, ipv6: None }
}

struct Pair {
    client: Endpoint,
    server: Endpoint,
    /// Genuine datagrams seen on the wire, to mutate.
    genuine: Vec<Vec<u8>>,
}

fn established() -> Pair {
    let server_addr: SocketAddr = "192.0.2.1:51820".parse().unwrap();
    let client_addr: SocketAddr = "198.51.100.7:4000".parse().unwrap();
    let now = Instant::from_nanos(1);
    let cfg = |role| EndpointConfig { psk: PSK, role, tunnel: tunnel(), timers: Timers::default() };
    let mut client = Endpoint::new(cfg(Role::Initiator { server: server_addr }), [1; 32], now, 1 << 60);
    let mut server = Endpoint::new(cfg(Role::Responder), [2; 32], now, 1 << 60);
    let mut genuine = Vec::new();
    let mut buf = [0u8; MAX_CONTROL_LEN];
    client.handle_timeout(now);
    for _ in 0..4 {
        while let Some(t) = client.poll_transmit(now, &mut buf) {
            genuine.push(buf[..t.len].to_vec());
            server.handle_datagram(now, client_addr, &mut buf[..t.len]);
        }
        while let Some(t) = server.poll_transmit(now, &mut buf) {
            genuine.push(buf[..t.len].to_vec());
            client.handle_datagram(now, server_addr, &mut buf[..t.len]);
        }
    }
    assert!(client.is_up() && server.is_up(), "fixture handshake failed");
    let mut packet = vec![0u8; DATA_HEADER_LEN + 28 + TAG_LEN];
    packet[DATA_HEADER_LEN] = 0x45;
    packet[DATA_HEADER_LEN + 3] = 28;
    let t = client.seal(now, &mut packet, 28).unwrap();
    genuine.push(packet[..t.len].to_vec());
    Pair { client, server, genuine }
}

fn feed(ep: &mut Endpoint, datagram: &mut [u8]) {
    let from: SocketAddr = "203.0.113.9:999".parse().unwrap();
    let before = ep.state_fingerprint();
    let r = ep.handle_datagram(Instant::from_nanos(2), from, datagram);
    if let Received::Dropped(_) = r {
        assert_eq!(ep.state_fingerprint(), before, "a dropped datagram changed state");
    }
    if let Received::Deliver { start, len } = r {
        assert!(start + len <= datagram.len());
    }
}

fuzz_target!(|data: &[u8]| {
    let mut pair = established();
    let mut fresh = Endpoint::new(
        EndpointConfig { psk: PSK, role: Role::Responder, tunnel: tunnel(), timers: Timers::default() },
        [3; 32],
        Instant::from_nanos(1),
        0,
    );
    // Input: a sequence of records `mode(1) len(1) bytes(len)`. Mode picks raw bytes or a mutation
    // (xor at an offset, or truncation) of one of the genuine datagrams.
    let mut rest = data;
    while let [mode, len, tail @ ..] = rest {
        let len = usize::from(*len).min(tail.len());
        let (chunk, next) = tail.split_at(len);
        rest = next;
        let mut datagram = match mode % 4 {
            0 => chunk.to_vec(),
            m => {
                let g = &pair.genuine[usize::from(*mode / 4) % pair.genuine.len()];
                let mut d = g.clone();
                match (m, chunk) {
                    (1, [pos, x, ..]) if !d.is_empty() => {
                        let i = usize::from(*pos) % d.len();
                        d[i] ^= x | 1;
                    }
                    (2, [cut, ..]) => d.truncate(usize::from(*cut) % (d.len() + 1)),
                    _ => d.extend_from_slice(chunk),
                }
                d
            }
        };
        let mut copy = datagram.clone();
        let mut copy2 = datagram.clone();
        feed(&mut fresh, &mut datagram);
        feed(&mut pair.server, &mut copy);
        feed(&mut pair.client, &mut copy2);
    }
});
