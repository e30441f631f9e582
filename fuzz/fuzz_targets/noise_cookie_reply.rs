//! Cookie replies into a peer's cookie state (`core::noise::cookie`), with fixed keys.
//!
//! First byte even: the rest is taken as a datagram; never panics, random bytes are refused and
//! leave the state as it was (the genuine reply still works afterwards). First byte odd: the rest
//! is an XOR mask over a genuine reply; accepted exactly when the nonce and sealed cookie (bytes
//! 8..64) are untouched (the receiver index only routes the reply).
#![no_main]

use std::net::SocketAddr;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use ringtun::core::Instant;
use ringtun::core::noise::cookie::{CookieChecker, CookieError};
use ringtun::core::noise::messages::{COOKIE_REPLY_LEN, CookieReply, INITIATION_LEN, Initiation};
use ringtun::core::noise::{
    Entropy, PeerCookie, PeerKeys, PresharedKey, StaticIdentity, Tai64N, create_initiation,
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
    to_responder: PeerKeys,
    initiation: [u8; INITIATION_LEN],
    valid: [u8; COOKIE_REPLY_LEN],
}

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| {
        let initiator = StaticIdentity::from_private_bytes([1; 32]);
        let responder = StaticIdentity::from_private_bytes([2; 32]);
        let to_responder =
            PeerKeys::new(&initiator, *responder.public_key(), PresharedKey::none()).unwrap();
        let mut entropy = Counting(0);
        let mut initiation = [0u8; INITIATION_LEN];
        create_initiation(
            &to_responder,
            &mut PeerCookie::new(),
            0x1234,
            Tai64N::from_unix_nanos(1_700_000_000_000_000_000),
            Instant::ZERO,
            &mut entropy,
            &mut initiation,
        )
        .unwrap();
        let mut valid = [0u8; COOKIE_REPLY_LEN];
        let source: SocketAddr = "192.0.2.1:51820".parse().unwrap();
        CookieChecker::new().create_reply(
            &responder,
            Instant::ZERO,
            &mut entropy,
            &Initiation::new_checked(&initiation[..]).unwrap(),
            &source,
            &mut valid,
        );
        World {
            to_responder,
            initiation,
            valid,
        }
    })
}

/// A peer cookie state that has just sent the world's initiation (so it expects a reply to its
/// mac1).
fn sent_initiation(world: &World) -> PeerCookie {
    let mut cookie = PeerCookie::new();
    let mut initiation = world.initiation;
    let mut view = Initiation::new_checked(&mut initiation[..]).unwrap();
    cookie.write_macs(&world.to_responder, Instant::ZERO, &mut view);
    cookie
}

fn consume(world: &World, cookie: &mut PeerCookie, bytes: &[u8]) -> Option<Result<(), CookieError>> {
    let reply = CookieReply::new_checked(bytes).ok()?;
    Some(cookie.consume_reply(&world.to_responder, Instant::ZERO, &reply))
}

fuzz_target!(|data: &[u8]| {
    let world = world();
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let mut cookie = sent_initiation(world);
    if mode % 2 == 0 {
        let result = consume(world, &mut cookie, rest);
        assert!(matches!(result, None | Some(Err(CookieError::AuthFailed))));
        assert_eq!(consume(world, &mut cookie, &world.valid), Some(Ok(())));
        return;
    }
    let mut mask = [0u8; COOKIE_REPLY_LEN];
    for (m, d) in mask.iter_mut().zip(rest) {
        *m = *d;
    }
    let mut bytes = world.valid;
    for (b, m) in bytes.iter_mut().zip(mask) {
        *b ^= m;
    }
    let touched = |range: core::ops::Range<usize>| mask[range].iter().any(|m| *m != 0);
    let result = consume(world, &mut cookie, &bytes);
    if touched(0..4) {
        assert_eq!(result, None);
    } else if touched(8..COOKIE_REPLY_LEN) {
        assert_eq!(result, Some(Err(CookieError::AuthFailed)));
    } else {
        assert_eq!(result, Some(Ok(())));
    }
});
