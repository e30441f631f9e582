//! The handshake's cryptographic constants: the Noise names hashed into it, the labels of the mac1
//! and cookie keys, and the sizes of keys, hashes, MACs and tags. The protocol's timers and limits
//! (paper §6, cookie refresh, initiation flood limit) are in [`crate::core::consts`].

/// The Noise protocol name; `HASH(CONSTRUCTION)` is the initial chaining key.
#[cfg(test)]
pub(crate) const CONSTRUCTION: &[u8] = b"Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s";
/// Mixed into the initial hash, so that the handshake is bound to WireGuard v1.
#[cfg(test)]
pub(crate) const IDENTIFIER: &[u8] = b"WireGuard v1 zx2c4 Jason@zx2c4.com";
/// `HASH(LABEL_MAC1 ‖ S_pub)` keys the mac1 of messages sent to the owner of `S_pub`.
pub const LABEL_MAC1: &[u8; 8] = b"mac1----";
/// `HASH(LABEL_COOKIE ‖ S_pub)` keys the XAEAD of cookie replies sent by the owner of `S_pub`.
pub(crate) const LABEL_COOKIE: &[u8; 8] = b"cookie--";

/// X25519 public and private keys, DH outputs, preshared keys, symmetric keys.
pub const KEY_LEN: usize = 32;
/// BLAKE2s-256 output: chaining key and handshake hash.
pub(crate) const HASH_LEN: usize = 32;
/// Keyed BLAKE2s-128 output: mac1, mac2 and cookies.
pub(crate) const MAC_LEN: usize = 16;
/// Poly1305 tag.
pub const TAG_LEN: usize = 16;
/// TAI64N timestamp.
pub(crate) const TIMESTAMP_LEN: usize = 12;
/// XChaCha20-Poly1305 nonce of a cookie reply.
pub(crate) const XNONCE_LEN: usize = 24;
