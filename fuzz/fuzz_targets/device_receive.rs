//! The WireGuard device's whole receive path, on a server and a client with a live session (and
//! the client's next handshake in flight), fed arbitrary datagrams and mutations of genuine ones.
//! Nothing may panic, a delivered packet lies inside the datagram, and a dropped datagram leaves
//! the device's state as it was (the flood defences aside, which exist to count; a cookie reply
//! answering a datagram under load is drained before comparing).
#![no_main]

use libfuzzer_sys::fuzz_target;
use ringtun::core::device::{Device, DeviceConfig, MAX_CONTROL_LEN, PeerConfig};
use ringtun::core::entropy::TestEntropy;
use ringtun::core::keys::PrivateKey;
use ringtun::core::noise::StaticIdentity;
use ringtun::core::{DATA_HEADER_LEN, DropReason, Instant, Received, TAG_LEN, WallTime};
use std::net::SocketAddr;
use std::time::Duration;

const WALL: WallTime = WallTime::from_unix_nanos(1_700_000_000_000_000_000);

fn server_addr() -> SocketAddr {
    "192.0.2.1:51820".parse().unwrap()
}

fn client_addr() -> SocketAddr {
    "198.51.100.7:4000".parse().unwrap()
}

struct Pair {
    client: Device<TestEntropy>,
    server: Device<TestEntropy>,
    now: Instant,
    /// Genuine datagrams seen on the wire, to mutate.
    genuine: Vec<Vec<u8>>,
}

/// Moves every control datagram between the two until both are quiet.
fn exchange(pair: &mut Pair) {
    let mut buf = [0u8; MAX_CONTROL_LEN];
    for _ in 0..8 {
        let mut quiet = true;
        while let Some(t) = pair.client.poll_transmit(pair.now, WALL, &mut buf) {
            quiet = false;
            pair.genuine.push(buf[..t.len].to_vec());
            pair.server
                .handle_datagram(pair.now, client_addr(), &mut buf[..t.len]);
        }
        while let Some(t) = pair.server.poll_transmit(pair.now, WALL, &mut buf) {
            quiet = false;
            pair.genuine.push(buf[..t.len].to_vec());
            pair.client
                .handle_datagram(pair.now, server_addr(), &mut buf[..t.len]);
        }
        if quiet {
            return;
        }
    }
}

fn data(device: &mut Device<TestEntropy>, now: Instant, src: [u8; 4], dst: [u8; 4]) -> Vec<u8> {
    let mut packet = vec![0u8; DATA_HEADER_LEN + 28 + TAG_LEN];
    let p = &mut packet[DATA_HEADER_LEN..];
    p[0] = 0x45;
    p[3] = 28;
    p[12..16].copy_from_slice(&src);
    p[16..20].copy_from_slice(&dst);
    let t = device.seal(now, &mut packet, 28).unwrap();
    packet.truncate(t.len);
    packet
}

fn established() -> Pair {
    let server_key = PrivateKey::from_random([1; 32]);
    let client_key = PrivateKey::from_random([2; 32]);
    let mut server = DeviceConfig::new(server_key.clone());
    let mut entry = PeerConfig::new(*StaticIdentity::new(&client_key).public_key());
    entry.allowed_ips = vec!["10.0.0.2/32".parse().unwrap()];
    server.peers.push(entry);
    let mut client = DeviceConfig::new(client_key);
    let mut entry = PeerConfig::new(*StaticIdentity::new(&server_key).public_key());
    entry.allowed_ips = vec!["10.0.0.0/24".parse().unwrap()];
    entry.endpoint = Some(server_addr());
    client.peers.push(entry);
    let mut pair = Pair {
        client: Device::new(&client, TestEntropy::new(1)).unwrap(),
        server: Device::new(&server, TestEntropy::new(2)).unwrap(),
        now: Instant::from_nanos(1_000_000_000),
        genuine: Vec::new(),
    };
    let mut first = vec![0u8; DATA_HEADER_LEN + 28 + TAG_LEN];
    first[DATA_HEADER_LEN] = 0x45;
    first[DATA_HEADER_LEN + 3] = 28;
    first[DATA_HEADER_LEN + 16..DATA_HEADER_LEN + 20].copy_from_slice(&[10, 0, 0, 1]);
    assert_eq!(
        pair.client.seal(pair.now, &mut first, 28),
        Err(DropReason::NoSession)
    );
    exchange(&mut pair);
    let (now, client, server) = (pair.now, &mut pair.client, &mut pair.server);
    let to_server = data(client, now, [10, 0, 0, 2], [10, 0, 0, 1]);
    let to_client = data(server, now, [10, 0, 0, 1], [10, 0, 0, 2]);
    pair.genuine.push(to_server);
    pair.genuine.push(to_client);
    // Two minutes on, the client's next packet starts a rekey: an initiation in flight too.
    pair.now = pair.now + Duration::from_secs(121);
    let (now, client) = (pair.now, &mut pair.client);
    let late = data(client, now, [10, 0, 0, 2], [10, 0, 0, 1]);
    pair.genuine.push(late);
    let mut buf = [0u8; MAX_CONTROL_LEN];
    while let Some(t) = pair.client.poll_transmit(pair.now, WALL, &mut buf) {
        pair.genuine.push(buf[..t.len].to_vec());
    }
    pair
}

fn feed(device: &mut Device<TestEntropy>, now: Instant, datagram: &mut [u8]) {
    let from: SocketAddr = "203.0.113.9:999".parse().unwrap();
    let mut buf = [0u8; MAX_CONTROL_LEN];
    while device.poll_transmit(now, WALL, &mut buf).is_some() {}
    while device.poll_event().is_some() {}
    let before = device.state_fingerprint();
    let len = datagram.len();
    match device.handle_datagram(now, from, datagram) {
        Received::Dropped(reason) => {
            if reason == DropReason::CookieRequired {
                while device.poll_transmit(now, WALL, &mut buf).is_some() {}
            }
            assert_eq!(
                device.state_fingerprint(),
                before,
                "a dropped datagram ({reason:?}) changed state"
            );
        }
        Received::Deliver { start, len: n } => assert!(start + n <= len),
        Received::Control => {}
    }
}

fuzz_target!(|data: &[u8]| {
    let mut pair = established();
    let now = pair.now;
    // Input: records `mode(1) len(1) bytes(len)`. The mode picks raw bytes or a mutation (xor at an
    // offset, truncation, extension) of one of the genuine datagrams.
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
        feed(&mut pair.server, now, &mut datagram);
        feed(&mut pair.client, now, &mut copy);
    }
});
