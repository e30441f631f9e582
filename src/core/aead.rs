//! ChaCha20-Poly1305 AEAD exactly as RFC 8439 §2.8, composed from the `chacha20` and `poly1305`
//! crates, over a caller's buffer in place with a detached 16-byte tag.

/// Key length.
pub const KEY_LEN: usize = 32;
/// RFC 8439 nonce length.
pub const NONCE_LEN: usize = 12;

/// The tag did not verify; the buffer was left untouched (still ciphertext).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AuthError;

/// Transport nonce: 32 zero bits then the 64-bit little-endian counter (as WireGuard).
pub fn nonce_from_counter(counter: u64) -> [u8; NONCE_LEN] {
    let _ = counter;
    todo!("helper A")
}

/// Encrypts `in_out` in place and returns the tag over `aad` and the ciphertext.
pub fn seal_in_place(
    key: &[u8; KEY_LEN],
    nonce: &[u8; NONCE_LEN],
    aad: &[u8],
    in_out: &mut [u8],
) -> [u8; 16] {
    let _ = (key, nonce, aad, in_out);
    todo!("helper A")
}

/// Verifies `tag` in constant time over `aad` and the ciphertext in `in_out`; only if it matches,
/// decrypts `in_out` in place.
pub fn open_in_place(
    key: &[u8; KEY_LEN],
    nonce: &[u8; NONCE_LEN],
    aad: &[u8],
    in_out: &mut [u8],
    tag: &[u8; 16],
) -> Result<(), AuthError> {
    let _ = (key, nonce, aad, in_out, tag);
    todo!("helper A")
}
