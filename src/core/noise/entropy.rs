//! Randomness as an input: the handshake takes it from the caller, at the moment it needs it.
//!
//! The core keeps no generator of its own. A generator held in memory would be copied by a VM
//! snapshot, and every restored copy would then draw the same ephemeral keys, indices and nonces.
//! Asking the caller each time lets the driver read the kernel's pool (getrandom(2)), which the
//! kernel reseeds on restore (vmgenid), while tests pass a deterministic source.
//!
//! Randomness drawn through this trait: ephemeral private keys (32 bytes each, initiation and
//! response), cookie reply nonces (24 bytes) and the responder's cookie secret (32 bytes every
//! `COOKIE_REFRESH_TIME`). Sender indices are arguments, since the endpoint must also keep them
//! unique in its index table.

/// A source of cryptographically secure random bytes.
pub trait Entropy {
    /// Fills all of `buf` with fresh random bytes. Implementations must not fail silently: a source
    /// that cannot deliver must not return (the driver treats getrandom(2) failure as fatal).
    fn fill(&mut self, buf: &mut [u8]);
}
