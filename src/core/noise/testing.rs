//! Helpers shared by the noise unit tests, the benchmarks and the fuzz targets (the latter two
//! through the `test-util` feature): deterministic entropy, a configured pair of peers with their
//! first handshake, and the XOR masks the fuzz targets lay over genuine messages.

use core::ops::Range;

use super::consts::LABEL_MAC1;
use super::cookie::PeerCookie;
use super::crypto;
use super::handshake::{InitiatorState, create_initiation, identify_initiation};
use super::keys::{PeerKeys, PresharedKey, PublicKey, StaticIdentity};
use super::messages::{INITIATION_LEN, Initiation, RESPONSE_LEN};
use super::tai64n::Tai64N;
use crate::core::entropy::Entropy;
use crate::core::time::Instant;

pub use crate::core::entropy::TestEntropy;

/// The wall clock of the handshakes [`Pair`] makes (November 2023, in Unix nanoseconds).
pub const WALL_NANOS: u64 = 1_700_000_000_000_000_000;

/// Hands out exactly the given bytes, in order; panics if asked for more (a test bug).
#[cfg(test)]
pub(crate) struct FixedEntropy<'a>(pub(crate) &'a [u8]);

#[cfg(test)]
impl Entropy for FixedEntropy<'_> {
    fn fill(&mut self, buf: &mut [u8]) {
        let (now, rest) = self.0.split_at(buf.len());
        buf.copy_from_slice(now);
        self.0 = rest;
    }
}

/// Two peers configured for each other.
pub struct Pair {
    pub initiator: StaticIdentity,
    pub responder: StaticIdentity,
    /// The initiator's keys for the responder.
    pub to_responder: PeerKeys,
    /// The responder's keys for the initiator.
    pub to_initiator: PeerKeys,
}

impl Pair {
    pub fn new(psk: Option<[u8; 32]>) -> Self {
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

impl Pair {
    /// The initiator's first initiation (sender index `sender`, at time zero, [`WALL_NANOS`]) and
    /// the state that waits for its response.
    pub fn initiation(
        &self,
        sender: u32,
        entropy: &mut impl Entropy,
    ) -> (InitiatorState, [u8; INITIATION_LEN]) {
        let mut initiation = [0u8; INITIATION_LEN];
        let state = create_initiation(
            &self.to_responder,
            &mut PeerCookie::new(),
            sender,
            Tai64N::from_unix_nanos(WALL_NANOS),
            Instant::ZERO,
            entropy,
            &mut initiation,
        )
        .expect("the pair's keys are valid");
        (state, initiation)
    }

    /// The responder's answer to `initiation` (sender index `sender`, at time zero).
    pub fn response(
        &self,
        initiation: &[u8; INITIATION_LEN],
        sender: u32,
        entropy: &mut impl Entropy,
    ) -> [u8; RESPONSE_LEN] {
        let view = Initiation::new_checked(&initiation[..]).expect("an initiation");
        let mut response = [0u8; RESPONSE_LEN];
        identify_initiation(&self.responder, &view)
            .and_then(|identified| identified.open_timestamp(&self.to_initiator))
            .and_then(|consumed| {
                consumed.create_response(
                    &self.to_initiator,
                    &mut PeerCookie::new(),
                    sender,
                    Instant::ZERO,
                    entropy,
                    &mut response,
                )
            })
            .expect("the initiator's initiation");
        response
    }
}

/// `valid` XOR a mask made of `mask` (cut or zero-padded to the message's length), and that mask:
/// how the fuzz targets mutate a genuine message.
pub fn xor_mask<const N: usize>(valid: &[u8; N], mask: &[u8]) -> ([u8; N], Mask<N>) {
    let mut full = [0u8; N];
    for (m, d) in full.iter_mut().zip(mask) {
        *m = *d;
    }
    let mut bytes = *valid;
    for (b, m) in bytes.iter_mut().zip(full) {
        *b ^= m;
    }
    (bytes, Mask(full))
}

/// The mask [`xor_mask`] applied.
pub struct Mask<const N: usize>([u8; N]);

impl<const N: usize> Mask<N> {
    /// Whether the mask changed any byte of `range`.
    pub fn touched(&self, range: Range<usize>) -> bool {
        self.0[range].iter().any(|m| *m != 0)
    }
}

/// Writes a valid mac1 at `mac1` of `message`, as anyone who knows the receiver's public key can.
pub fn rewrite_mac1(message: &mut [u8], mac1: Range<usize>, receiver: &PublicKey) {
    let key = crypto::hash(&[LABEL_MAC1, receiver.as_bytes()]);
    let mac = crypto::mac(&key, &[&message[..mac1.start]]);
    message[mac1].copy_from_slice(&mac);
}

/// Bytes from hex digits, ignoring anything else (spaces, newlines).
#[cfg(test)]
pub(crate) fn hex(s: &str) -> Vec<u8> {
    let digits: Vec<u8> = s.bytes().filter(|b| b.is_ascii_hexdigit()).collect();
    digits
        .chunks(2)
        .map(|pair| u8::from_str_radix(core::str::from_utf8(pair).unwrap(), 16).unwrap())
        .collect()
}

/// `hex` as a fixed-size array.
#[cfg(test)]
pub(crate) fn array<const N: usize>(s: &str) -> [u8; N] {
    hex(s).try_into().unwrap()
}
