//! Building and consuming handshake initiations and responses (byte layouts in `wire`, the
//! construction and its rationale in docs/PROTOCOL.md).
//!
//! One round trip. The initiator proves knowledge of the PSK by sealing its timestamp under a key
//! derived from the PSK and its fresh random `Ni`; the responder proves it by sealing the tunnel
//! config under a key derived from the PSK, `Ni` and its own fresh random `Nr`. Session keys, one per
//! direction, are derived from the PSK, `Ni` and `Nr`, so neither side alone can make a pair repeat.
//! Every handshake key seals exactly one message, so the AEAD nonce is always zero.

use super::aead::{self, AuthError};
use super::kdf;
use super::wire::{
    self, INITIATION_AAD_LEN, INITIATION_LEN, Initiation, RANDOM_LEN, RESPONSE_AAD_LEN,
    RESPONSE_LEN, Response, TunnelConfig,
};

const ZERO_NONCE: [u8; aead::NONCE_LEN] = [0; aead::NONCE_LEN];

/// Keys of one session, named from this side's point of view.
#[derive(Clone, PartialEq, Eq)]
pub struct SessionKeys {
    pub send: [u8; 32],
    pub recv: [u8; 32],
}

impl core::fmt::Debug for SessionKeys {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("SessionKeys { .. }")
    }
}

/// What the initiator remembers between sending an initiation and getting the response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PendingInitiation {
    pub sender_index: u32,
    pub random: [u8; RANDOM_LEN],
}

/// An initiation that passed the tag check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValidInitiation {
    pub sender_index: u32,
    pub random: [u8; RANDOM_LEN],
    /// Initiator's wall-clock nanoseconds; the responder accepts only increasing values.
    pub timestamp: u64,
}

/// A response that passed the tag check, with the pushed config and the session keys.
#[derive(Debug)]
pub struct ValidResponse {
    pub responder_index: u32,
    pub tunnel: Result<TunnelConfig, wire::WireError>,
    pub keys: SessionKeys,
}

fn initiation_aad(sender_index: u32, random: &[u8; RANDOM_LEN]) -> [u8; INITIATION_AAD_LEN] {
    let mut aad = [0u8; INITIATION_AAD_LEN];
    aad[0] = wire::MSG_INITIATION;
    aad[4..8].copy_from_slice(&sender_index.to_le_bytes());
    aad[8..40].copy_from_slice(random);
    aad
}

fn response_aad(
    sender_index: u32,
    receiver_index: u32,
    random: &[u8; RANDOM_LEN],
) -> [u8; RESPONSE_AAD_LEN] {
    let mut aad = [0u8; RESPONSE_AAD_LEN];
    aad[0] = wire::MSG_RESPONSE;
    aad[4..8].copy_from_slice(&sender_index.to_le_bytes());
    aad[8..12].copy_from_slice(&receiver_index.to_le_bytes());
    aad[12..44].copy_from_slice(random);
    aad
}

fn randoms(ni: &[u8; RANDOM_LEN], nr: &[u8; RANDOM_LEN]) -> [u8; 2 * RANDOM_LEN] {
    let mut both = [0u8; 2 * RANDOM_LEN];
    both[..RANDOM_LEN].copy_from_slice(ni);
    both[RANDOM_LEN..].copy_from_slice(nr);
    both
}

fn session_keys(
    psk: &[u8; 32],
    ni: &[u8; RANDOM_LEN],
    nr: &[u8; RANDOM_LEN],
    initiator: bool,
) -> SessionKeys {
    let both = randoms(ni, nr);
    let i2r = kdf::derive(psk, kdf::LABEL_INITIATOR_TO_RESPONDER, &both);
    let r2i = kdf::derive(psk, kdf::LABEL_RESPONDER_TO_INITIATOR, &both);
    if initiator {
        SessionKeys {
            send: i2r,
            recv: r2i,
        }
    } else {
        SessionKeys {
            send: r2i,
            recv: i2r,
        }
    }
}

/// Writes an initiation into `out[..INITIATION_LEN]` and returns what to remember for the response.
pub fn create_initiation(
    psk: &[u8; 32],
    sender_index: u32,
    random: [u8; RANDOM_LEN],
    timestamp: u64,
    out: &mut [u8; INITIATION_LEN],
) -> PendingInitiation {
    let key = kdf::derive(psk, kdf::LABEL_INITIATION, &random);
    let mut sealed_timestamp = timestamp.to_le_bytes();
    let tag = aead::seal_in_place(
        &key,
        &ZERO_NONCE,
        &initiation_aad(sender_index, &random),
        &mut sealed_timestamp,
    );
    Initiation {
        sender_index,
        random,
        sealed_timestamp,
        tag,
    }
    .encode(out);
    PendingInitiation {
        sender_index,
        random,
    }
}

/// Checks an initiation's tag; the caller then checks the timestamp for replay.
pub fn consume_initiation(psk: &[u8; 32], msg: &Initiation) -> Result<ValidInitiation, AuthError> {
    let key = kdf::derive(psk, kdf::LABEL_INITIATION, &msg.random);
    let mut timestamp = msg.sealed_timestamp;
    aead::open_in_place(
        &key,
        &ZERO_NONCE,
        &initiation_aad(msg.sender_index, &msg.random),
        &mut timestamp,
        &msg.tag,
    )?;
    Ok(ValidInitiation {
        sender_index: msg.sender_index,
        random: msg.random,
        timestamp: u64::from_le_bytes(timestamp),
    })
}

/// Writes the response to `init` into `out[..RESPONSE_LEN]` and returns the responder's session keys.
pub fn create_response(
    psk: &[u8; 32],
    init: &ValidInitiation,
    sender_index: u32,
    random: [u8; RANDOM_LEN],
    tunnel: &TunnelConfig,
    out: &mut [u8; RESPONSE_LEN],
) -> SessionKeys {
    let key = kdf::derive(psk, kdf::LABEL_RESPONSE, &randoms(&init.random, &random));
    let mut sealed_config = tunnel.encode();
    let aad = response_aad(sender_index, init.sender_index, &random);
    let tag = aead::seal_in_place(&key, &ZERO_NONCE, &aad, &mut sealed_config);
    Response {
        sender_index,
        receiver_index: init.sender_index,
        random,
        sealed_config,
        tag,
    }
    .encode(out);
    session_keys(psk, &init.random, &random, false)
}

/// Checks a response against the pending initiation (index and tag) and derives the session keys.
/// A config that authenticates but does not decode is reported inside, not as an auth failure.
pub fn consume_response(
    psk: &[u8; 32],
    pending: &PendingInitiation,
    msg: &Response,
) -> Result<ValidResponse, AuthError> {
    if msg.receiver_index != pending.sender_index {
        return Err(AuthError);
    }
    let key = kdf::derive(
        psk,
        kdf::LABEL_RESPONSE,
        &randoms(&pending.random, &msg.random),
    );
    let mut config = msg.sealed_config;
    let aad = response_aad(msg.sender_index, msg.receiver_index, &msg.random);
    aead::open_in_place(&key, &ZERO_NONCE, &aad, &mut config, &msg.tag)?;
    Ok(ValidResponse {
        responder_index: msg.sender_index,
        tunnel: TunnelConfig::decode(&config),
        keys: session_keys(psk, &pending.random, &msg.random, true),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::wire::{Packet, V4Config, parse};
    use core::net::Ipv4Addr;

    const PSK: [u8; 32] = [7; 32];

    fn config() -> TunnelConfig {
        TunnelConfig {
            mtu: 1420,
            ipv4: Some(V4Config {
                client: Ipv4Addr::new(10, 89, 0, 2),
                prefix: 24,
                server: Ipv4Addr::new(10, 89, 0, 1),
            }),
            ipv6: None,
        }
    }

    fn initiation(psk: &[u8; 32], ts: u64) -> ([u8; INITIATION_LEN], PendingInitiation) {
        let mut out = [0u8; INITIATION_LEN];
        let pending = create_initiation(psk, 0x1122_3344, [1; 32], ts, &mut out);
        (out, pending)
    }

    fn parse_initiation(bytes: &mut [u8]) -> Initiation {
        match parse(bytes) {
            Ok(Packet::Initiation(i)) => i,
            other => panic!("not an initiation: {other:?}"),
        }
    }

    fn parse_response(bytes: &mut [u8]) -> Response {
        match parse(bytes) {
            Ok(Packet::Response(r)) => r,
            other => panic!("not a response: {other:?}"),
        }
    }

    #[test]
    fn full_handshake_gives_mirrored_keys_and_the_config() {
        let (mut init_bytes, pending) = initiation(&PSK, 99);
        let valid = consume_initiation(&PSK, &parse_initiation(&mut init_bytes)).unwrap();
        assert_eq!(valid.timestamp, 99);
        assert_eq!(valid.sender_index, 0x1122_3344);
        let mut resp = [0u8; RESPONSE_LEN];
        let responder_keys =
            create_response(&PSK, &valid, 0x5566_7788, [2; 32], &config(), &mut resp);
        let got = consume_response(&PSK, &pending, &parse_response(&mut resp)).unwrap();
        assert_eq!(got.responder_index, 0x5566_7788);
        assert_eq!(got.tunnel, Ok(config()));
        assert_eq!(got.keys.send, responder_keys.recv);
        assert_eq!(got.keys.recv, responder_keys.send);
        assert_ne!(
            got.keys.send, got.keys.recv,
            "each direction has its own key"
        );
    }

    #[test]
    fn fresh_randoms_give_fresh_keys() {
        let valid = |ni: [u8; 32]| ValidInitiation {
            sender_index: 1,
            random: ni,
            timestamp: 1,
        };
        let mut out = [0u8; RESPONSE_LEN];
        let a = create_response(&PSK, &valid([1; 32]), 2, [2; 32], &config(), &mut out);
        let b = create_response(&PSK, &valid([1; 32]), 2, [3; 32], &config(), &mut out);
        let c = create_response(&PSK, &valid([4; 32]), 2, [2; 32], &config(), &mut out);
        assert_ne!(
            a.send, b.send,
            "a new responder random alone changes the keys"
        );
        assert_ne!(
            a.send, c.send,
            "a new initiator random alone changes the keys"
        );
    }

    #[test]
    fn wrong_psk_fails_both_messages() {
        let (mut init_bytes, pending) = initiation(&PSK, 5);
        let msg = parse_initiation(&mut init_bytes);
        assert_eq!(consume_initiation(&[8; 32], &msg), Err(AuthError));
        let valid = consume_initiation(&PSK, &msg).unwrap();
        let mut resp = [0u8; RESPONSE_LEN];
        create_response(&[8; 32], &valid, 3, [2; 32], &config(), &mut resp);
        assert!(consume_response(&PSK, &pending, &parse_response(&mut resp)).is_err());
    }

    #[test]
    fn any_flipped_bit_is_rejected() {
        let (init_bytes, pending) = initiation(&PSK, 5);
        for i in 0..INITIATION_LEN {
            let mut bytes = init_bytes;
            bytes[i] ^= 0x40;
            // Some flips make the datagram unparseable (type, reserved); the rest must fail the tag.
            if let Ok(Packet::Initiation(msg)) = parse(&mut bytes) {
                assert_eq!(consume_initiation(&PSK, &msg), Err(AuthError), "byte {i}");
            }
        }
        let mut good = init_bytes;
        let valid = consume_initiation(&PSK, &parse_initiation(&mut good)).unwrap();
        let mut resp = [0u8; RESPONSE_LEN];
        create_response(&PSK, &valid, 3, [2; 32], &config(), &mut resp);
        for i in 0..RESPONSE_LEN {
            let mut bytes = resp;
            bytes[i] ^= 0x40;
            if let Ok(Packet::Response(msg)) = parse(&mut bytes) {
                assert!(consume_response(&PSK, &pending, &msg).is_err(), "byte {i}");
            }
        }
    }

    #[test]
    fn response_to_another_initiation_is_rejected() {
        let (mut init_bytes, _) = initiation(&PSK, 5);
        let valid = consume_initiation(&PSK, &parse_initiation(&mut init_bytes)).unwrap();
        let mut resp = [0u8; RESPONSE_LEN];
        create_response(&PSK, &valid, 3, [2; 32], &config(), &mut resp);
        let other = PendingInitiation {
            sender_index: valid.sender_index,
            random: [9; 32],
        };
        assert!(consume_response(&PSK, &other, &parse_response(&mut resp)).is_err());
        let wrong_index = PendingInitiation {
            sender_index: 77,
            random: valid.random,
        };
        assert!(consume_response(&PSK, &wrong_index, &parse_response(&mut resp)).is_err());
    }
}
