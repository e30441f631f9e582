//! The sans-IO protocol core. Nothing in here performs I/O, reads a clock or allocates per packet:
//! the caller passes the time in ([`Instant`]) and moves the bytes.
//!
//! It speaks WireGuard, one file per stage (after WireGuard's `noise.c` / `send.c` / `receive.c`):
//! - [`noise`]: WireGuard's protocol (handshake, cookies, transport messages).
//! - [`aead`]: ChaCha20-Poly1305 (RFC 8439) sealing and opening in place.
//! - [`replay`]: the RFC 6479 sliding-window replay filter.
//! - [`device`]: the multi-peer WireGuard device tying it together, built on the files below.
//! - [`one_command`]: the keys of the one-command mode, derived from one shared secret.
//! - [`offload`]: segmentation and coalescing of TCP super-packets for the driver.
//!
//! WireGuard's per-peer machinery, for the multi-peer [`device`] (one job per file):
//! - [`consts`]: the protocol constants of the WireGuard paper, defined once.
//! - [`keypair`]: one session: keys, indices, counter, replay window, seal/open, limits, padding
//!   (the type-4 layout is `noise::messages::Transport`, its AEAD `noise::transport`).
//! - [`sessions`]: a peer's current/previous/next session slots and their rotation.
//! - [`timers`]: the five per-peer timers (retransmit, keepalive, dead peer, zeroing, persistent).
//! - [`roaming`]: the learned vs configured endpoint of a peer.
//! - [`peer`]: one peer tying those together along the send and receive paths.
//! - [`deadlines`]: the earliest deadline of many peers without scanning them.
//! - [`entropy`], [`peer_id`]: randomness as an input, peer handles.
//! - [`allowed_ips`], [`index_table`], [`peer_table`]: cryptokey routing, receiver indices, peers by
//!   public key; [`keys`], [`key_encoding`], [`ip_prefix`], [`keyed_hash`]: what they hold.
//! - [`transmit`]: what the core hands the driver ([`Transmit`], [`Received`]).
#![forbid(unsafe_code)]

pub mod aead;
pub mod allowed_ips;
pub(crate) mod consts;
pub mod deadlines;
pub mod device;
pub mod entropy;
pub mod index_table;
pub mod ip_prefix;
pub mod key_encoding;
pub mod keyed_hash;
pub(crate) mod keypair;
pub mod keys;
pub mod noise;
pub mod offload;
pub(crate) mod one_command;
pub(crate) mod peer;
pub mod peer_id;
pub mod peer_table;
pub mod replay;
pub(crate) mod roaming;
pub(crate) mod sessions;
pub(crate) mod stats;
pub(crate) mod time;
pub(crate) mod timers;
pub(crate) mod transmit;

pub use stats::DropReason;
pub(crate) use stats::Stats;
pub use time::{Instant, WallTime};
pub use transmit::Received;
pub(crate) use transmit::Transmit;

/// Bytes after it: the Poly1305 tag.
pub use noise::consts::TAG_LEN;
/// Bytes in front of the IP packet in a transport-data datagram (WireGuard's type-4 header).
pub use noise::messages::TRANSPORT_HEADER_LEN as DATA_HEADER_LEN;

/// Bytes a transport-data datagram adds around an IP packet: header before, tag after.
pub(crate) const DATA_OVERHEAD: usize = DATA_HEADER_LEN + TAG_LEN;
