//! The exchanges recorded with wireguard-go and boringtun (`tests/vectors/`, written by the root
//! test `tests/noise_interop.rs`), replayed through the whole device instead of the bare noise
//! functions: their initiation and data in, our response out byte for byte; our initiation out
//! byte for byte, their response in, our data out byte for byte, their reply in. With the
//! device's randomness scripted to what our side drew then, every byte must match what the other
//! implementation accepted.

use core::net::SocketAddr;

use super::*;
use crate::core::entropy::TestEntropy;
use crate::core::ip_prefix::IpPrefix;
use crate::core::keys::PrivateKey;
use crate::core::noise::interop_vectors::{BORINGTUN, Vector, WIREGUARD_GO};
use crate::core::noise::messages::{TRANSPORT_HEADER_LEN, Transport};
use crate::core::noise::testing::FixedEntropy;
use crate::core::noise::{
    PeerCookie, PeerKeys, PresharedKey, Tai64N, create_initiation, messages::Response, transport,
};
use crate::core::time::WallTime;
use crate::core::transmit::Received;

/// Hands out the script first, then deterministic bytes.
struct Scripted {
    script: Vec<u8>,
    rest: TestEntropy,
}

impl Entropy for Scripted {
    fn fill(&mut self, buf: &mut [u8]) {
        let n = buf.len().min(self.script.len());
        buf[..n].copy_from_slice(&self.script[..n]);
        self.script.drain(..n);
        self.rest.fill(&mut buf[n..]);
    }
}

/// Where the other implementation's datagrams come from.
fn their_addr() -> SocketAddr {
    "192.0.2.77:51820".parse().unwrap()
}

const NOW: Instant = Instant::from_nanos(5_000_000_000);
/// The device draws three 16-byte hash keys when it is built, before any handshake randomness.
const HASH_KEY_BYTES: usize = 48;

/// Our side of the recorded exchange: their key as the one peer, 10.77.0.1 behind it.
fn device(v: Vector, handshake_script: &[u8]) -> Device<Scripted> {
    let theirs = StaticIdentity::from_private_bytes(v.array("their_private"));
    let mut config = DeviceConfig::new(PrivateKey::from_bytes(v.array("our_private")));
    let mut peer = PeerConfig::new(*theirs.public_key());
    peer.allowed_ips = vec!["10.77.0.1/32".parse::<IpPrefix>().unwrap()];
    peer.endpoint = Some(their_addr());
    config.peers.push(peer);
    let mut script = vec![0u8; HASH_KEY_BYTES];
    script.extend_from_slice(handshake_script);
    let entropy = Scripted {
        script,
        rest: TestEntropy::new(1),
    };
    Device::new(&config, entropy).unwrap()
}

/// (source, destination, ICMP type) of an IPv4 ICMP packet.
fn icmp(packet: &[u8]) -> ([u8; 4], [u8; 4], u8) {
    assert_eq!((packet[0] >> 4, packet[9]), (4, 1), "IPv4 ICMP");
    (
        packet[12..16].try_into().unwrap(),
        packet[16..20].try_into().unwrap(),
        packet[20],
    )
}

fn as_responder(v: Vector) {
    let mut script = v.field("our_responder_index");
    script.extend(v.field("our_response_ephemeral"));
    let mut device = device(v, &script);
    let mut initiation = v.field("their_initiation");
    assert_eq!(
        device.handle_datagram(NOW, their_addr(), &mut initiation),
        Received::Control
    );
    let mut buf = [0u8; MAX_CONTROL_LEN];
    let wall = WallTime::from_unix_nanos(1_700_000_000_000_000_000);
    let t = device.poll_transmit(NOW, wall, &mut buf).unwrap();
    assert_eq!(t.dst, their_addr());
    assert_eq!(
        buf[..t.len],
        v.field("our_response")[..],
        "the response they accepted"
    );

    let mut data = v.field("their_data");
    let Received::Deliver { start, len } = device.handle_datagram(NOW, their_addr(), &mut data)
    else {
        panic!("their ping was not delivered: {:?}", device.stats());
    };
    assert_eq!(
        icmp(&data[start..start + len]),
        ([10, 77, 0, 1], [10, 77, 0, 2], 8)
    );
    let peer = device.peer_ids().next().unwrap();
    let events: Vec<Event> = core::iter::from_fn(|| device.poll_event()).collect();
    // Their address is the configured endpoint already: no change to report.
    assert_eq!(
        events,
        [Event::HandshakeComplete {
            peer,
            endpoint: their_addr(),
            first: true
        }]
    );
    assert!(device.has_session(peer, NOW));
    assert_eq!(device.stats().total_drops(), 0);
}

fn as_initiator(v: Vector) {
    let mut script = v.field("our_initiator_index");
    script.extend(v.field("our_initiation_ephemeral"));
    let mut device = device(v, &script);

    // The first packet finds no session and starts the handshake.
    let mut first = [0u8; TRANSPORT_HEADER_LEN + 28 + 16];
    first[TRANSPORT_HEADER_LEN] = 0x45;
    first[TRANSPORT_HEADER_LEN + 3] = 28;
    first[TRANSPORT_HEADER_LEN + 16..TRANSPORT_HEADER_LEN + 20].copy_from_slice(&[10, 77, 0, 1]);
    assert_eq!(device.seal(NOW, &mut first, 28), Err(DropReason::NoSession));
    let wall = WallTime::from_unix_nanos(u64::from_le_bytes(v.array("our_timestamp_unix_ns")));
    let mut buf = [0u8; MAX_CONTROL_LEN];
    let t = device.poll_transmit(NOW, wall, &mut buf).unwrap();
    assert_eq!(t.dst, their_addr());
    assert_eq!(
        buf[..t.len],
        v.field("our_initiation")[..],
        "the initiation they accepted"
    );

    let mut response = v.field("their_response");
    assert_eq!(
        device.handle_datagram(NOW, their_addr(), &mut response),
        Received::Control
    );

    // The echo request we sent then, recovered with the bare noise functions.
    let ours = StaticIdentity::from_private_bytes(v.array("our_private"));
    let theirs = StaticIdentity::from_private_bytes(v.array("their_private"));
    let keys = PeerKeys::new(&ours, *theirs.public_key(), PresharedKey::none()).unwrap();
    let mut scratch = [0u8; INITIATION_LEN];
    let state = create_initiation(
        &keys,
        &mut PeerCookie::new(),
        u32::from_le_bytes(v.array("our_initiator_index")),
        Tai64N::from_unix_nanos(u64::from_le_bytes(v.array("our_timestamp_unix_ns"))),
        NOW,
        &mut FixedEntropy(&v.field("our_initiation_ephemeral")),
        &mut scratch,
    )
    .unwrap();
    let session = state
        .consume_response(
            &ours,
            &keys,
            &Response::new_checked(&v.field("their_response")[..]).unwrap(),
        )
        .unwrap();
    let mut recorded = v.field("our_data");
    let mut message = Transport::new_checked(&mut recorded[..]).unwrap();
    let request = transport::open(session.send_key(), &mut message)
        .unwrap()
        .to_vec();

    // Sealed by the device as the session's first message, it is the datagram they answered.
    let mut buf = vec![0u8; TRANSPORT_HEADER_LEN + request.len() + 16];
    buf[TRANSPORT_HEADER_LEN..TRANSPORT_HEADER_LEN + request.len()].copy_from_slice(&request);
    let t = device.seal(NOW, &mut buf, request.len()).unwrap();
    assert_eq!(t.dst, their_addr());
    assert_eq!(
        buf[..t.len],
        v.field("our_data")[..],
        "our ping, byte for byte"
    );

    let mut reply = v.field("their_data_reply");
    let Received::Deliver { start, len } = device.handle_datagram(NOW, their_addr(), &mut reply)
    else {
        panic!("their reply was not delivered: {:?}", device.stats());
    };
    assert_eq!(
        icmp(&reply[start..start + len]),
        ([10, 77, 0, 1], [10, 77, 0, 2], 0)
    );
    assert_eq!(device.stats().total_drops(), 1, "only the first packet");
}

#[test]
fn wireguard_go_through_the_device_as_responder() {
    as_responder(Vector(WIREGUARD_GO));
}

#[test]
fn wireguard_go_through_the_device_as_initiator() {
    as_initiator(Vector(WIREGUARD_GO));
}

#[test]
fn boringtun_through_the_device_as_responder() {
    as_responder(Vector(BORINGTUN));
}

#[test]
fn boringtun_through_the_device_as_initiator() {
    as_initiator(Vector(BORINGTUN));
}
