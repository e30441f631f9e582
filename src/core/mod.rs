//! The sans-IO protocol core. Nothing in here performs I/O, reads a clock or allocates per packet:
//! the caller passes the time in ([`Instant`]) and moves the bytes.
//!
//! Data path, one file per stage (after WireGuard's `noise.c` / `send.c` / `receive.c`):
//! - [`wire`]: byte layouts of the three message types, zero-copy parsing and emitting.
//! - [`aead`]: ChaCha20-Poly1305 (RFC 8439) sealing and opening in place.
//! - [`kdf`]: key derivation from the pre-shared key with an HChaCha20 cascade.
//! - [`handshake`]: building and consuming initiations and responses.
//! - [`session`]: one established key pair: keys, send counter, replay window, age.
//! - [`replay`]: the RFC 6479 sliding-window replay filter.
//! - [`endpoint`]: the state machine tying it together (timers, rekey, keepalive, roaming).
//!
//! Peers and keys, the tables of a multi-peer endpoint (each file gives its layout and memory):
//! - [`peer_table`]: peers by static public key, numbered by [`peer_id::PeerId`].
//! - [`allowed_ips`]: cryptokey routing, longest-prefix match per address family.
//! - [`index_table`]: receiver index to peer and session slot.
//! - [`keys`], [`key_encoding`]: key types; base64 (`wg`) and hex (UAPI) forms.
//! - [`ip_prefix`], [`keyed_hash`]: an address with a prefix length; the tables' keyed hash.
#![deny(unsafe_code)]

pub mod aead;
pub mod allowed_ips;
pub mod endpoint;
pub mod handshake;
pub mod index_table;
pub mod ip_prefix;
pub mod kdf;
pub mod key_encoding;
pub mod keyed_hash;
pub mod keys;
pub mod offload;
pub mod peer_id;
pub mod peer_table;
pub mod replay;
pub mod rng;
pub mod session;
pub mod stats;
pub mod time;
pub mod wire;

pub use endpoint::{Endpoint, EndpointConfig, Event, Received, Role, Timers, Transmit};
pub use stats::{DropReason, Stats};
pub use time::Instant;
pub use wire::{DATA_HEADER_LEN, TAG_LEN, TunnelConfig};

/// Bytes a transport-data datagram adds around an IP packet: header before, tag after.
pub const DATA_OVERHEAD: usize = wire::DATA_HEADER_LEN + wire::TAG_LEN;
