//! Handshake responses into our initiator's state (`core::noise`), with fixed keys.
//!
//! First byte even: the rest is taken as a datagram; never panics, and random bytes are rejected
//! (mac1 and the AEAD tag cannot be forged). First byte odd: the rest is an XOR mask over a valid
//! response, mac1 recomputed; it is accepted exactly when bytes 8..60 are untouched (the receiver
//! index must match, the ephemeral and the sealed empty payload are authenticated).
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use ringtun::core::Instant;
use ringtun::core::noise::consts::LABEL_MAC1;
use ringtun::core::noise::cookie::CookieChecker;
use ringtun::core::noise::crypto;
use ringtun::core::noise::messages::{INITIATION_LEN, Initiation, RESPONSE_LEN, Response, field};
use ringtun::core::noise::{
    Entropy, InitiatorState, PeerCookie, PeerKeys, PresharedKey, StaticIdentity, Tai64N,
    create_initiation, identify_initiation,
};

struct Counting(u8);
impl Entropy for Counting {
    fn fill(&mut self, buf: &mut [u8]) {
        for byte in buf {
            self.0 = self.0.wrapping_add(1);
            *byte = self.0;
        }
    }
}

struct World {
    initiator: StaticIdentity,
    to_responder: PeerKeys,
    state: InitiatorState,
    valid: [u8; RESPONSE_LEN],
}

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| {
        let initiator = StaticIdentity::from_private_bytes([1; 32]);
        let responder = StaticIdentity::from_private_bytes([2; 32]);
        let psk = || PresharedKey::from_bytes([3; 32]);
        let to_responder = PeerKeys::new(&initiator, *responder.public_key(), psk()).unwrap();
        let to_initiator = PeerKeys::new(&responder, *initiator.public_key(), psk()).unwrap();
        let mut entropy = Counting(0);
        let mut initiation = [0u8; INITIATION_LEN];
        let state = create_initiation(
            &to_responder,
            &mut PeerCookie::new(),
            0x1234,
            Tai64N::from_unix_nanos(1_700_000_000_000_000_000),
            Instant::ZERO,
            &mut entropy,
            &mut initiation,
        )
        .unwrap();
        let view = Initiation::new_checked(&initiation[..]).unwrap();
        let mut valid = [0u8; RESPONSE_LEN];
        identify_initiation(&responder, &view)
            .unwrap()
            .open_timestamp(&to_initiator)
            .unwrap()
            .create_response(
                &to_initiator,
                &mut PeerCookie::new(),
                0x5678,
                Instant::ZERO,
                &mut entropy,
                &mut valid,
            )
            .unwrap();
        World {
            initiator,
            to_responder,
            state,
            valid,
        }
    })
}

fn consume(world: &World, bytes: &[u8]) -> Option<u32> {
    let view = Response::new_checked(bytes).ok()?;
    if !CookieChecker::check_mac1(&world.initiator, &view) {
        return None;
    }
    let keys = world
        .state
        .consume_response(&world.initiator, &world.to_responder, &view)
        .ok()?;
    Some(keys.remote_index())
}

fuzz_target!(|data: &[u8]| {
    let world = world();
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    if mode % 2 == 0 {
        assert_eq!(consume(world, rest), None);
        if let Ok(view) = Response::new_checked(rest) {
            assert!(world
                .state
                .consume_response(&world.initiator, &world.to_responder, &view)
                .is_err());
        }
        return;
    }
    let mut mask = [0u8; RESPONSE_LEN];
    for (m, d) in mask.iter_mut().zip(rest) {
        *m = *d;
    }
    let mut bytes = world.valid;
    for (b, m) in bytes.iter_mut().zip(mask) {
        *b ^= m;
    }
    let mac1_key = crypto::hash(&[LABEL_MAC1, world.initiator.public_key().as_bytes()]);
    let mac1 = crypto::mac(&mac1_key, &[&bytes[..field::response::MAC1.start]]);
    bytes[field::response::MAC1].copy_from_slice(&mac1);

    let touched = |range: core::ops::Range<usize>| mask[range].iter().any(|m| *m != 0);
    let result = consume(world, &bytes);
    if touched(0..4) {
        assert!(Response::new_checked(&bytes[..]).is_err());
    } else if touched(field::response::RECEIVER.start..field::response::EMPTY.end) {
        assert_eq!(result, None);
    } else {
        let sender = u32::from_le_bytes(bytes[4..8].try_into().unwrap());
        assert_eq!(result, Some(sender));
    }
    // The state is borrowed, never changed: the valid response still completes.
    assert_eq!(consume(world, &world.valid), Some(0x5678));
});
