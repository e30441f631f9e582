//! Handshake responses into our initiator's state (`core::noise`), with fixed keys.
//!
//! First byte even: the rest is taken as a datagram; never panics, and random bytes are rejected
//! (mac1 and the AEAD tag cannot be forged). First byte odd: the rest is an XOR mask over a valid
//! response, mac1 recomputed; it is accepted exactly when bytes 8..60 are untouched (the receiver
//! index must match, the ephemeral and the sealed empty payload are authenticated).
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use ringtun::core::noise::cookie::CookieChecker;
use ringtun::core::noise::messages::{RESPONSE_LEN, Response, field};
use ringtun::core::noise::testing::{Pair, TestEntropy, rewrite_mac1, xor_mask};
use ringtun::core::noise::{InitiatorState, PeerKeys, StaticIdentity};

struct World {
    initiator: StaticIdentity,
    to_responder: PeerKeys,
    state: InitiatorState,
    valid: [u8; RESPONSE_LEN],
}

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| {
        let pair = Pair::new(Some([3; 32]));
        let mut entropy = TestEntropy::new(0);
        let (state, initiation) = pair.initiation(0x1234, &mut entropy);
        let valid = pair.response(&initiation, 0x5678, &mut entropy);
        World {
            initiator: pair.initiator,
            to_responder: pair.to_responder,
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
            assert!(
                world
                    .state
                    .consume_response(&world.initiator, &world.to_responder, &view)
                    .is_err()
            );
        }
        return;
    }
    let (mut bytes, mask) = xor_mask(&world.valid, rest);
    rewrite_mac1(
        &mut bytes,
        field::response::MAC1,
        world.initiator.public_key(),
    );

    let result = consume(world, &bytes);
    if mask.touched(0..field::RESERVED.end) {
        assert!(Response::new_checked(&bytes[..]).is_err());
    } else if mask.touched(field::response::RECEIVER.start..field::response::EMPTY.end) {
        assert_eq!(result, None);
    } else {
        let sender = u32::from_le_bytes(bytes[field::response::SENDER].try_into().unwrap());
        assert_eq!(result, Some(sender));
    }
    // The state is borrowed, never changed: the valid response still completes.
    assert_eq!(consume(world, &world.valid), Some(0x5678));
});
