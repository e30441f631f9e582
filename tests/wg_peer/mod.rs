//! Foreign WireGuard implementations as test peers, for the interop tests (`tests/interop.rs`).
//!
//! - [`tools`]: where `wg`, `wireguard-go` and `boringtun-cli` are (`scripts/setup.sh` installs
//!   them); a missing one fails the test with the setup step to run.
//! - [`keys`]: keypairs and preshared keys (today from `wg genkey`/`pubkey`/`genpsk`).
//! - [`config`]: [`InterfaceSpec`] / [`PeerSpec`], rendered for `wg setconf` and as a wg-quick
//!   file (what `ringtun -c` will read).
//! - [`dump`]: `wg show IFNAME dump` parsed; [`uapi`]: the raw API read boringtun needs.
// The harness is an API: each test binary uses part of it.
#![allow(dead_code, unused_imports)]

pub mod config;
pub mod dump;
pub mod keys;
pub mod tools;
pub mod uapi;

pub use config::{InterfaceSpec, PeerSpec};
pub use dump::{Dump, DumpPeer, Transfer};
pub use keys::{Keypair, SecretKey};
