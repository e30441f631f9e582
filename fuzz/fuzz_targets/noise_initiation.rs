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
use ringtun::core::Instant;
use ringtun::core::noise::consts::LABEL_MAC1;
use ringtun::core::noise::cookie::CookieChecker;
use ringtun::core::noise::crypto;
use ringtun::core::noise::messages::{INITIATION_LEN, Initiation, field};
use ringtun::core::noise::{
    Entropy, PeerCookie, PeerKeys, PresharedKey, StaticIdentity, Tai64N, create_initiation,
    identify_initiation,
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
    responder: StaticIdentity,
    to_initiator: PeerKeys,
    valid: [u8; INITIATION_LEN],
}

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| {
        let initiator = StaticIdentity::from_private_bytes([1; 32]);
        let responder = StaticIdentity::from_private_bytes([2; 32]);
        let to_responder =
            PeerKeys::new(&initiator, *responder.public_key(), PresharedKey::none()).unwrap();
        let to_initiator =
            PeerKeys::new(&responder, *initiator.public_key(), PresharedKey::none()).unwrap();
        let mut valid = [0u8; INITIATION_LEN];
        create_initiation(
            &to_responder,
            &mut PeerCookie::new(),
            0x1234,
            Tai64N::from_unix_nanos(1_700_000_000_000_000_000),
            Instant::ZERO,
            &mut Counting(0),
            &mut valid,
        )
        .unwrap();
        World {
            responder,
            to_initiator,
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
    let mut mask = [0u8; INITIATION_LEN];
    for (m, d) in mask.iter_mut().zip(rest) {
        *m = *d;
    }
    let mut bytes = world.valid;
    for (b, m) in bytes.iter_mut().zip(mask) {
        *b ^= m;
    }
    let mac1_key = crypto::hash(&[LABEL_MAC1, world.responder.public_key().as_bytes()]);
    let mac1 = crypto::mac(&mac1_key, &[&bytes[..field::initiation::MAC1.start]]);
    bytes[field::initiation::MAC1].copy_from_slice(&mac1);

    let touched = |range: core::ops::Range<usize>| mask[range].iter().any(|m| *m != 0);
    let result = consume(world, &bytes);
    if touched(0..4) {
        assert!(Initiation::new_checked(&bytes[..]).is_err());
    } else if touched(field::initiation::EPHEMERAL.start..field::initiation::TIMESTAMP.end) {
        assert_eq!(result, None);
    } else {
        let sender = u32::from_le_bytes(bytes[4..8].try_into().unwrap());
        assert_eq!(result, Some(sender));
    }
});
