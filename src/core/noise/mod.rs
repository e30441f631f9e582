//! WireGuard's protocol (the paper's Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s handshake, cookies and
//! transport messages), sans-IO: bytes, times and randomness in; bytes and keys out. The endpoint
//! builds its multi-peer state machine (index table, timers, sessions) on top.
//!
//! Checked against other implementations: handshakes and data both ways with wireguard-go and
//! boringtun (`tests/noise_interop.rs`, root; replayed from `tests/vectors/` by the unit tests in
//! `interop_vectors.rs`), and message bytes and every KDF step against an independent Python
//! computation from the paper (`scripts/noise_vectors.py`).
//!
//! One job per file:
//! - [`consts`]: protocol names, labels, sizes and the paper's timers.
//! - [`crypto`]: HASH, MAC, HMAC, KDF1..3, DH, AEAD and XAEAD.
//! - [`messages`]: byte layouts of the four message types (views).
//! - [`tai64n`]: the initiation timestamp and its replay ordering.
//! - [`keys`]: our static identity and the precomputed keys of each peer.
//! - [`handshake`]: creating and consuming initiations and responses; session keys.
//! - [`cookie`]: mac1/mac2 checking and writing, cookie replies.
//! - [`transport`]: sealing and opening transport data messages.
//! - randomness comes from the caller through [`crate::core::entropy::Entropy`].
//!
//! Receiving a handshake message, in order (each step is cheaper than the next, and none changes
//! state before the message is authenticated):
//! 1. [`messages::classify`] / `new_checked`: exact length, type, reserved bytes;
//! 2. [`cookie::CookieChecker::check`] (or `check_mac1` when not under load): drop on
//!    `Mac1Bad`; under load answer `Mac1OkNoMac2` with a cookie reply;
//! 3. the handshake step ([`handshake`] module documentation).
#![forbid(unsafe_code)]

pub mod consts;
pub mod cookie;
pub mod crypto;
pub(crate) mod handshake;
#[cfg(test)]
pub(crate) mod interop_vectors;
pub(crate) mod keys;
pub mod messages;
pub(crate) mod tai64n;
#[cfg(any(test, feature = "test-util"))]
#[doc(hidden)]
pub mod testing;
pub mod transport;

pub use crate::core::entropy::Entropy;
pub use cookie::PeerCookie;
pub(crate) use cookie::{CookieChecker, MacCheck};
pub use handshake::{InitiatorState, SessionKeys, create_initiation, identify_initiation};
pub use keys::{PeerKeys, PresharedKey, StaticIdentity};
pub use tai64n::Tai64N;
