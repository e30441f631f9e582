//! The sans-IO protocol core. Nothing in here performs I/O, reads a clock or allocates per packet:
//! the caller passes the time in ([`Instant`]) and moves the bytes.
//!
//! Data path, one file per stage (after WireGuard's `noise.c` / `send.c` / `receive.c`):
//! - [`wire`]: byte layouts of the three message types, zero-copy parsing and emitting.
//! - [`aead`]: ChaCha20-Poly1305 (RFC 8439) sealing and opening in place; [`aead_check`]: its
//!   known-answer check on the running CPU (`ringtun selftest`).
//! - [`kdf`]: key derivation from the pre-shared key with an HChaCha20 cascade.
//! - [`handshake`]: building and consuming initiations and responses.
//! - [`session`]: one established key pair: keys, send counter, replay window, age.
//! - [`replay`]: the RFC 6479 sliding-window replay filter.
//! - [`noise`]: WireGuard's protocol (handshake, cookies, transport), replacing the v1 files above.
//! - [`endpoint`]: the state machine tying it together (timers, rekey, keepalive, roaming).
//!
//! WireGuard's per-peer machinery, for the multi-peer endpoint (one job per file):
//! - [`consts`]: the protocol constants of the WireGuard paper, defined once.
//! - [`data_message`]: the type-4 transport data message layout.
//! - [`keypair`]: one session: keys, indices, counter, replay window, seal/open, limits, padding.
//! - [`sessions`]: a peer's current/previous/next session slots and their rotation.
//! - [`timers`]: the five per-peer timers (retransmit, keepalive, dead peer, zeroing, persistent).
//! - [`roaming`]: the learned vs configured endpoint of a peer.
//! - [`peer`]: one peer tying those together along the send and receive paths.
//! - [`deadlines`]: the earliest deadline of many peers without scanning them.
//! - [`entropy`], [`secret`], [`peer_id`]: randomness as an input, erased keys, peer handles.
//!
//! Peers and keys, the tables of a multi-peer endpoint (each file gives its layout and memory):
//! - [`peer_table`]: peers by static public key, numbered by [`peer_id::PeerId`].
//! - [`allowed_ips`]: cryptokey routing, longest-prefix match per address family.
//! - [`index_table`]: receiver index to peer and session slot.
//! - [`keys`], [`key_encoding`]: key types; base64 (`wg`) and hex (UAPI) forms.
//! - [`ip_prefix`], [`keyed_hash`]: an address with a prefix length; the tables' keyed hash.
#![deny(unsafe_code)]

pub mod aead;
pub mod aead_check;
pub mod allowed_ips;
pub mod consts;
pub mod data_message;
pub mod deadlines;
pub mod endpoint;
pub mod entropy;
pub mod handshake;
pub mod index_table;
pub mod ip_prefix;
pub mod kdf;
pub mod key_encoding;
pub mod keyed_hash;
pub mod keypair;
pub mod keys;
pub mod noise;
pub mod offload;
pub mod peer;
pub mod peer_id;
pub mod peer_table;
pub mod replay;
pub mod rng;
pub mod roaming;
pub mod secret;
pub mod session;
pub mod sessions;
pub mod stats;
pub mod time;
pub mod timers;
pub mod wire;

pub use endpoint::{Endpoint, EndpointConfig, Event, Received, Role, Timers, Transmit};
pub use stats::{DropReason, Stats};
pub use time::Instant;
pub use wire::{DATA_HEADER_LEN, TAG_LEN, TunnelConfig};

/// Bytes a transport-data datagram adds around an IP packet: header before, tag after.
pub const DATA_OVERHEAD: usize = wire::DATA_HEADER_LEN + wire::TAG_LEN;
