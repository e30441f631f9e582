//! Key derivation from the pre-shared key using only HChaCha20 (from the `chacha20` crate) as a PRF.
//!
//! `derive(key, label, input)`: `k0 = HChaCha20(key, label)`, then `k_{i+1} = HChaCha20(k_i, block_i)`
//! for each 16-byte block of `input`; the output is the last `k`. A cascade of a PRF over
//! fixed-length inputs is a PRF (Bellare, Canetti, Krawczyk 1996); each label is used with one input
//! length only, so the inputs under one label are prefix-free. See docs/PROTOCOL.md.

use chacha20::{R20, hchacha};

/// Labels, one per derived key; each is used with exactly one input length.
pub const LABEL_INITIATION: &[u8; 16] = b"ringtun v1 init\0"; // input: initiator random (32)
pub const LABEL_RESPONSE: &[u8; 16] = b"ringtun v1 resp\0"; // input: Ni || Nr (64)
pub const LABEL_INITIATOR_TO_RESPONDER: &[u8; 16] = b"ringtun v1 i2r\0\0"; // input: Ni || Nr (64)
pub const LABEL_RESPONDER_TO_INITIATOR: &[u8; 16] = b"ringtun v1 r2i\0\0"; // input: Ni || Nr (64)

/// One HChaCha20 call (20 rounds) with plain arrays.
fn hchacha20(key: &[u8; 32], input: &[u8; 16]) -> [u8; 32] {
    hchacha::<R20>(key.into(), input.into()).into()
}

/// Derives a 32-byte key. `input.len()` must be a multiple of 16 (a caller bug otherwise: the
/// function panics in debug and release alike; inputs are fixed-size arrays in practice).
pub fn derive(key: &[u8; 32], label: &[u8; 16], input: &[u8]) -> [u8; 32] {
    assert!(
        input.len() % 16 == 0,
        "kdf::derive input must be whole 16-byte blocks"
    );
    input
        .chunks_exact(16)
        .fold(hchacha20(key, label), |chain_key, chunk| {
            let mut block = [0u8; 16];
            block.copy_from_slice(chunk);
            hchacha20(&chain_key, &block)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    const LABELS: [&[u8; 16]; 4] = [
        LABEL_INITIATION,
        LABEL_RESPONSE,
        LABEL_INITIATOR_TO_RESPONDER,
        LABEL_RESPONDER_TO_INITIATOR,
    ];

    /// draft-irtf-cfrg-xchacha-03 §2.2.1.
    #[test]
    fn hchacha20_known_answer() {
        let key: [u8; 32] = core::array::from_fn(|i| i as u8);
        let input = [
            0x00, 0x00, 0x00, 0x09, 0x00, 0x00, 0x00, 0x4a, 0x00, 0x00, 0x00, 0x00, 0x31, 0x41,
            0x59, 0x27,
        ];
        let expected = [
            0x82, 0x41, 0x3b, 0x42, 0x27, 0xb2, 0x7b, 0xfe, 0xd3, 0x0e, 0x42, 0x50, 0x8a, 0x87,
            0x7d, 0x73, 0xa0, 0xf9, 0xe4, 0xd5, 0x8a, 0x74, 0xa8, 0x53, 0xc1, 0x2e, 0xc4, 0x13,
            0x26, 0xd3, 0xec, 0xdc,
        ];
        assert_eq!(hchacha20(&key, &input), expected);
        // With no input blocks, derive is exactly one HChaCha20 call keyed by the PSK on the label.
        assert_eq!(derive(&key, &input, &[]), expected);
    }

    #[test]
    fn cascade_matches_definition() {
        let key = [0x42u8; 32];
        let input: [u8; 64] = core::array::from_fn(|i| i as u8);
        let mut chain = hchacha20(&key, LABEL_RESPONSE);
        for block in input.chunks_exact(16) {
            chain = hchacha20(&chain, block.try_into().unwrap());
        }
        assert_eq!(derive(&key, LABEL_RESPONSE, &input), chain);
    }

    #[test]
    fn deterministic() {
        let key = [3u8; 32];
        let input = [5u8; 64];
        for label in LABELS {
            assert_eq!(derive(&key, label, &input), derive(&key, label, &input));
        }
    }

    #[test]
    fn distinct_labels_keys_and_inputs_give_distinct_outputs() {
        let mut outputs = Vec::new();
        for key_byte in [0u8, 1] {
            let key = [key_byte; 32];
            for label in LABELS {
                for input_len in [0usize, 32, 64] {
                    for flip in [None, Some(0), Some(input_len.saturating_sub(1))] {
                        let mut input = vec![0xa5u8; input_len];
                        if let (Some(at), true) = (flip, input_len > 0) {
                            input[at] ^= 1;
                        } else if flip.is_some() {
                            continue;
                        }
                        outputs.push(derive(&key, label, &input));
                    }
                }
            }
        }
        let count = outputs.len();
        outputs.sort();
        outputs.dedup();
        assert_eq!(outputs.len(), count, "two derivations collided");
        assert!(outputs.iter().all(|k| k != &[0u8; 32]));
    }

    #[test]
    #[should_panic]
    fn partial_block_input_is_a_caller_bug() {
        derive(&[0u8; 32], LABEL_INITIATION, &[0u8; 17]);
    }
}
