//! Handshake initiations into our responder (`core::noise`), with fixed keys.
//!
//! First byte even: the rest is taken as a datagram. It must never panic, and random bytes are
//! rejected (mac1 wrong, static key's AEAD fails): forging either is a 2^-128 event.
//! First byte odd: the rest is an XOR mask over a valid initiation whose mac1 is then recomputed,
//! as anyone knowing the responder's public key can. Exactly the masks that leave bytes 8..116
//! (ephemeral, static, timestamp) untouched are accepted; type/reserved changes fail parsing.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use ringtun::core::noise::cookie::CookieChecker;
use ringtun::core::noise::messages::{INITIATION_LEN, Initiation, field};
use ringtun::core::noise::testing::{Pair, TestEntropy, rewrite_mac1, xor_mask};
use ringtun::core::noise::{PeerKeys, StaticIdentity, identify_initiation};

struct World {
    responder: StaticIdentity,
    to_initiator: PeerKeys,
    valid: [u8; INITIATION_LEN],
}

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| {
        let pair = Pair::new(None);
        let (_, valid) = pair.initiation(0x1234, &mut TestEntropy::new(0));
        World {
            responder: pair.responder,
            to_initiator: pair.to_initiator,
            valid,
        }
    })
}

/// Mac1 check, then both responder steps.
fn consume(world: &World, bytes: &[u8]) -> Option<u32> {
    let view = Initiation::new_checked(bytes).ok()?;
    if !CookieChecker::check_mac1(&world.responder, &view) {
        return None;
    }
    let identified = identify_initiation(&world.responder, &view).ok()?;
    let consumed = identified.open_timestamp(&world.to_initiator).ok()?;
    Some(consumed.sender_index())
}

fuzz_target!(|data: &[u8]| {
    let world = world();
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    if mode % 2 == 0 {
        assert_eq!(consume(world, rest), None);
        if let Ok(view) = Initiation::new_checked(rest) {
            assert!(identify_initiation(&world.responder, &view).is_err());
        }
        return;
    }
    let (mut bytes, mask) = xor_mask(&world.valid, rest);
    rewrite_mac1(
        &mut bytes,
        field::initiation::MAC1,
        world.responder.public_key(),
    );

    let result = consume(world, &bytes);
    if mask.touched(0..field::RESERVED.end) {
        assert!(Initiation::new_checked(&bytes[..]).is_err());
    } else if mask.touched(field::initiation::EPHEMERAL.start..field::initiation::TIMESTAMP.end) {
        assert_eq!(result, None);
    } else {
        let sender = u32::from_le_bytes(bytes[field::initiation::SENDER].try_into().unwrap());
        assert_eq!(result, Some(sender));
    }
});
