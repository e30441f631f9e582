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
use ringtun::core::noise::testing::{Pair, TestEntropy, xor_mask};
use ringtun::core::noise::{PeerCookie, PeerKeys};

struct World {
    to_responder: PeerKeys,
    initiation: [u8; INITIATION_LEN],
    valid: [u8; COOKIE_REPLY_LEN],
}

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| {
        let pair = Pair::new(None);
        let mut entropy = TestEntropy::new(0);
        let (_, initiation) = pair.initiation(0x1234, &mut entropy);
        let mut valid = [0u8; COOKIE_REPLY_LEN];
        let source: SocketAddr = "192.0.2.1:51820".parse().unwrap();
        CookieChecker::new().create_reply(
            &pair.responder,
            Instant::ZERO,
            &mut entropy,
            &Initiation::new_checked(&initiation[..]).unwrap(),
            &source,
            &mut valid,
        );
        World {
            to_responder: pair.to_responder,
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

fn consume(
    world: &World,
    cookie: &mut PeerCookie,
    bytes: &[u8],
) -> Option<Result<(), CookieError>> {
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
    let (bytes, mask) = xor_mask(&world.valid, rest);
    let result = consume(world, &mut cookie, &bytes);
    if mask.touched(0..4) {
        assert_eq!(result, None);
    } else if mask.touched(8..COOKIE_REPLY_LEN) {
        assert_eq!(result, Some(Err(CookieError::AuthFailed)));
    } else {
        assert_eq!(result, Some(Ok(())));
    }
});
