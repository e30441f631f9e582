//! Foreign WireGuard implementations as test peers, for the interop tests (`tests/interop.rs`).
//!
//! - [`tools`]: where `wg`, `wireguard-go` and `boringtun-cli` are (`scripts/setup.sh` installs
//!   them); a missing one fails the test with the setup step to run.
//! - [`keys`]: keypairs and preshared keys (today from `wg genkey`/`pubkey`/`genpsk`).
//! - [`config`]: [`InterfaceSpec`] / [`PeerSpec`], rendered for `wg setconf` and as a wg-quick
//!   file (what `ringtun -c` will read).
//! - [`dump`]: `wg show IFNAME dump` parsed; [`uapi`]: the raw API read boringtun needs.
//! - [`peer`]: [`WgPeer`], a running wireguard-go or boringtun in a namespace;
//!   [`ringtun_end`]: [`RingtunEnd`], `ringtun -c` on the same configuration (log, counters,
//!   restarts).
//! - [`topology`]: [`WgNet`], a server and N client namespaces; [`star`]: [`Star`], their keys and
//!   configurations.
//! - [`checks`]: ping, iperf3 and UDP counters through a tunnel, whatever runs its ends.
//!
//! Uses `crate::common` (the test binary must declare `mod common;`). Everything needs root.
// The harness is an API: each test binary uses part of it.
#![allow(dead_code, unused_imports)]

pub mod checks;
pub mod config;
pub mod dump;
pub mod keys;
pub mod peer;
pub mod ringtun_end;
pub mod star;
pub mod tools;
pub mod topology;
pub mod uapi;

pub use checks::*;
pub use config::{InterfaceSpec, PeerSpec};
pub use dump::{Dump, DumpPeer, Transfer};
pub use keys::{Keypair, SecretKey};
pub use peer::{TunCounters, WgImpl, WgPeer};
pub use ringtun_end::RingtunEnd;
pub use star::{CLIENT_PORT, SERVER_PORT, Star, TUNNEL_MTU};
pub use topology::{REBOUND_PORT, Site, TUNNEL_PREFIX, WgNet};
