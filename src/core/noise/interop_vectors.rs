//! Replays, without root, bytes exchanged with wireguard-go and boringtun by
//! `tests/noise_interop.rs` (`tests/vectors/*.txt`): their initiation, mac1 and data packet, and
//! their response and echo reply to ours. Since our side's randomness was fixed, our messages must
//! come out byte for byte as they were sent and accepted.

use super::cookie::CookieChecker;
use super::handshake::{create_initiation, identify_initiation};
use super::keys::{PeerKeys, PresharedKey, StaticIdentity};
use super::messages::{INITIATION_LEN, Initiation, RESPONSE_LEN, Response, Transport};
use super::tai64n::Tai64N;
use super::testing::{FixedEntropy, hex};
use super::{PeerCookie, transport};
use crate::core::Instant;

pub(crate) const WIREGUARD_GO: &str = include_str!("../../../tests/vectors/wireguard_go.txt");
pub(crate) const BORINGTUN: &str = include_str!("../../../tests/vectors/boringtun.txt");

/// One recorded exchange (also replayed through the whole device by `core::device`'s tests).
#[derive(Clone, Copy)]
pub(crate) struct Vector(pub(crate) &'static str);

impl Vector {
    pub(crate) fn field(&self, name: &str) -> Vec<u8> {
        self.0
            .lines()
            .filter(|line| !line.starts_with('#'))
            .find_map(|line| {
                let (key, value) = line.split_once(" = ")?;
                (key == name).then(|| hex(value))
            })
            .unwrap_or_else(|| panic!("{name} missing from the vector"))
    }

    pub(crate) fn array<const N: usize>(&self, name: &str) -> [u8; N] {
        self.field(name).try_into().unwrap()
    }
}

struct Sides {
    ours: StaticIdentity,
    theirs: StaticIdentity,
    peer: PeerKeys,
}

fn sides(v: Vector) -> Sides {
    let ours = StaticIdentity::from_private_bytes(v.array("our_private"));
    let theirs = StaticIdentity::from_private_bytes(v.array("their_private"));
    let peer = PeerKeys::new(&ours, *theirs.public_key(), PresharedKey::none()).unwrap();
    Sides { ours, theirs, peer }
}

/// The IPv4 ICMP message of a decrypted packet: (source, destination, ICMP type).
fn icmp(packet: &[u8]) -> ([u8; 4], [u8; 4], u8) {
    assert_eq!((packet[0] >> 4, packet[9]), (4, 1), "IPv4 ICMP");
    (
        packet[12..16].try_into().unwrap(),
        packet[16..20].try_into().unwrap(),
        packet[20],
    )
}

fn our_responder_consumes_their_initiation(v: Vector) {
    let sides = sides(v);
    let initiation = v.field("their_initiation");
    let view = Initiation::new_checked(&initiation[..]).unwrap();
    assert!(CookieChecker::check_mac1(&sides.ours, &view), "their mac1");
    let identified = identify_initiation(&sides.ours, &view).unwrap();
    assert_eq!(identified.remote_static(), sides.theirs.public_key());
    let consumed = identified.open_timestamp(&sides.peer).unwrap();
    assert!(consumed.timestamp().is_newer_than(&Tai64N::ZERO));

    let mut response = [0u8; RESPONSE_LEN];
    let keys = consumed
        .create_response(
            &sides.peer,
            &mut PeerCookie::new(),
            u32::from_le_bytes(v.array("our_responder_index")),
            Instant::ZERO,
            &mut FixedEntropy(&v.field("our_response_ephemeral")),
            &mut response,
        )
        .unwrap();
    assert_eq!(
        response[..],
        v.field("our_response")[..],
        "the response wireguard-go accepted"
    );

    let mut data = v.field("their_data");
    let mut message = Transport::new_checked(&mut data[..]).unwrap();
    assert_eq!(message.receiver_index(), keys.local_index());
    let packet = transport::open(keys.receive_key(), &mut message).unwrap();
    assert_eq!(
        icmp(packet),
        ([10, 77, 0, 1], [10, 77, 0, 2], 8),
        "their ping"
    );
}

fn our_initiator_consumes_their_response(v: Vector) {
    let sides = sides(v);
    let mut initiation = [0u8; INITIATION_LEN];
    let state = create_initiation(
        &sides.peer,
        &mut PeerCookie::new(),
        u32::from_le_bytes(v.array("our_initiator_index")),
        Tai64N::from_unix_nanos(u64::from_le_bytes(v.array("our_timestamp_unix_ns"))),
        Instant::ZERO,
        &mut FixedEntropy(&v.field("our_initiation_ephemeral")),
        &mut initiation,
    )
    .unwrap();
    assert_eq!(
        initiation[..],
        v.field("our_initiation")[..],
        "the initiation wireguard-go accepted"
    );

    let response = v.field("their_response");
    let view = Response::new_checked(&response[..]).unwrap();
    assert!(CookieChecker::check_mac1(&sides.ours, &view), "their mac1");
    let keys = state
        .consume_response(&sides.ours, &sides.peer, &view)
        .unwrap();

    // The echo request we sent under our send key (their receive key for the session).
    let mut sent = v.field("our_data");
    let mut message = Transport::new_checked(&mut sent[..]).unwrap();
    assert_eq!(message.receiver_index(), keys.remote_index());
    let request = transport::open(keys.send_key(), &mut message).unwrap();
    assert_eq!(icmp(request), ([10, 77, 0, 2], [10, 77, 0, 1], 8));

    // They answered it: the reply opens under our receive key and echoes our id/sequence.
    let mut reply = v.field("their_data_reply");
    let mut message = Transport::new_checked(&mut reply[..]).unwrap();
    let packet = transport::open(keys.receive_key(), &mut message).unwrap();
    assert_eq!(
        icmp(packet),
        ([10, 77, 0, 1], [10, 77, 0, 2], 0),
        "their echo reply"
    );
    assert_eq!(packet[24..28], [0x12, 0x34, 0, 1]);
}

fn a_tampered_response_of_theirs_is_refused(v: Vector) {
    let sides = sides(v);
    let mut initiation = [0u8; INITIATION_LEN];
    let state = create_initiation(
        &sides.peer,
        &mut PeerCookie::new(),
        u32::from_le_bytes(v.array("our_initiator_index")),
        Tai64N::from_unix_nanos(u64::from_le_bytes(v.array("our_timestamp_unix_ns"))),
        Instant::ZERO,
        &mut FixedEntropy(&v.field("our_initiation_ephemeral")),
        &mut initiation,
    )
    .unwrap();
    let response = v.field("their_response");
    for index in 12..60 {
        let mut bad = response.clone();
        bad[index] ^= 1;
        let view = Response::new_checked(&bad[..]).unwrap();
        assert!(!CookieChecker::check_mac1(&sides.ours, &view));
        assert!(
            state
                .consume_response(&sides.ours, &sides.peer, &view)
                .is_err(),
            "byte {index}"
        );
    }
    // Another ephemeral than the one the initiation carried cannot consume it.
    let other = create_initiation(
        &sides.peer,
        &mut PeerCookie::new(),
        u32::from_le_bytes(v.array("our_initiator_index")),
        Tai64N::ZERO,
        Instant::ZERO,
        &mut FixedEntropy(&[0x65; 32]),
        &mut initiation,
    )
    .unwrap();
    let view = Response::new_checked(&response[..]).unwrap();
    assert!(
        other
            .consume_response(&sides.ours, &sides.peer, &view)
            .is_err()
    );
}

#[test]
fn wireguard_go_initiation_consumed_and_answered() {
    our_responder_consumes_their_initiation(Vector(WIREGUARD_GO));
}

#[test]
fn wireguard_go_response_consumed() {
    our_initiator_consumes_their_response(Vector(WIREGUARD_GO));
}

#[test]
fn wireguard_go_response_tampered() {
    a_tampered_response_of_theirs_is_refused(Vector(WIREGUARD_GO));
}

#[test]
fn boringtun_initiation_consumed_and_answered() {
    our_responder_consumes_their_initiation(Vector(BORINGTUN));
}

#[test]
fn boringtun_response_consumed() {
    our_initiator_consumes_their_response(Vector(BORINGTUN));
}

#[test]
fn boringtun_response_tampered() {
    a_tampered_response_of_theirs_is_refused(Vector(BORINGTUN));
}
