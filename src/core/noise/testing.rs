//! Helpers shared by the noise unit tests: deterministic entropy and a configured pair of peers.

use super::keys::{PeerKeys, PresharedKey, StaticIdentity};
use crate::core::entropy::Entropy;

pub(crate) use crate::core::entropy::TestEntropy;

/// Hands out exactly the given bytes, in order; panics if asked for more (a test bug).
pub(crate) struct FixedEntropy<'a>(pub(crate) &'a [u8]);

impl Entropy for FixedEntropy<'_> {
    fn fill(&mut self, buf: &mut [u8]) {
        let (now, rest) = self.0.split_at(buf.len());
        buf.copy_from_slice(now);
        self.0 = rest;
    }
}

/// Two peers configured for each other.
pub(crate) struct Pair {
    pub(crate) initiator: StaticIdentity,
    pub(crate) responder: StaticIdentity,
    /// The initiator's keys for the responder.
    pub(crate) to_responder: PeerKeys,
    /// The responder's keys for the initiator.
    pub(crate) to_initiator: PeerKeys,
}

impl Pair {
    pub(crate) fn new(psk: Option<[u8; 32]>) -> Self {
        Self::with_psks(psk, psk)
    }

    /// Each side with its own idea of the preshared key.
    pub(crate) fn with_psks(
        initiator_psk: Option<[u8; 32]>,
        responder_psk: Option<[u8; 32]>,
    ) -> Self {
        let initiator = StaticIdentity::from_private_bytes([0x11; 32]);
        let responder = StaticIdentity::from_private_bytes([0x22; 32]);
        let psk = |p: Option<[u8; 32]>| p.map_or_else(PresharedKey::none, PresharedKey::from_bytes);
        let to_responder =
            PeerKeys::new(&initiator, *responder.public_key(), psk(initiator_psk)).unwrap();
        let to_initiator =
            PeerKeys::new(&responder, *initiator.public_key(), psk(responder_psk)).unwrap();
        Pair {
            initiator,
            responder,
            to_responder,
            to_initiator,
        }
    }
}

/// Bytes from hex digits, ignoring anything else (spaces, newlines).
pub(crate) fn hex(s: &str) -> Vec<u8> {
    let digits: Vec<u8> = s.bytes().filter(|b| b.is_ascii_hexdigit()).collect();
    digits
        .chunks(2)
        .map(|pair| u8::from_str_radix(core::str::from_utf8(pair).unwrap(), 16).unwrap())
        .collect()
}

/// `hex` as a fixed-size array.
pub(crate) fn array<const N: usize>(s: &str) -> [u8; N] {
    hex(s).try_into().unwrap()
}
