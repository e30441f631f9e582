//! Key derivation from the pre-shared key using only HChaCha20 (from the `chacha20` crate) as a PRF.
//!
//! `derive(key, label, input)`: `k0 = HChaCha20(key, label)`, then `k_{i+1} = HChaCha20(k_i, block_i)`
//! for each 16-byte block of `input`; the output is the last `k`. A cascade of a PRF over
//! fixed-length inputs is a PRF (Bellare, Canetti, Krawczyk 1996); each label is used with one input
//! length only, so the inputs under one label are prefix-free. See docs/PROTOCOL.md.

/// Labels, one per derived key; each is used with exactly one input length.
pub const LABEL_INITIATION: &[u8; 16] = b"ringtun v1 init\0"; // input: initiator random (32)
pub const LABEL_RESPONSE: &[u8; 16] = b"ringtun v1 resp\0"; // input: Ni || Nr (64)
pub const LABEL_INITIATOR_TO_RESPONDER: &[u8; 16] = b"ringtun v1 i2r\0\0"; // input: Ni || Nr (64)
pub const LABEL_RESPONDER_TO_INITIATOR: &[u8; 16] = b"ringtun v1 r2i\0\0"; // input: Ni || Nr (64)

/// Derives a 32-byte key. `input.len()` must be a multiple of 16 (a caller bug otherwise: the
/// function panics in debug and release alike; inputs are fixed-size arrays in practice).
pub fn derive(key: &[u8; 32], label: &[u8; 16], input: &[u8]) -> [u8; 32] {
    let _ = (key, label, input);
    todo!("helper A")
}
