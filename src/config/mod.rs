//! WireGuard configuration files (`ringtun -c wg0.conf`): the format `wg setconf` reads, plus the
//! `[Interface]` keys of wg-quick(8) that ringtun handles itself (`Address`, `MTU`).
//!
//! The rest of wg-quick's keys (`DNS`, `Table`, `PreUp`, `PostUp`, `PreDown`, `PostDown`,
//! `SaveConfig`) are recognised and listed in [`Config::wg_quick_only`], so the caller can refuse
//! them with one clear line ([`WgQuickSetting::refusal`]) instead of a generic "unknown key".
//!
//! One job per file:
//! - [`parse`](mod@parse): text to [`Config`], every error with file and line.
//! - [`write`](mod@write): [`Config`] back to text, as `wg showconf` prints it.
//! - [`load`](mod@load): reading a file with a size bound.
//! - [`endpoint`]: `host:port` / `[v6]:port` values.
//! - [`wg_quick`]: the wg-quick keys ringtun does not handle.
//! - [`error`]: what can be wrong, as one-line messages.
//!
//! The parser is pure (bytes in, struct out) and bounded: at most [`Limits::max_bytes`] of input and
//! [`Limits::max_peers`] peers; everything else it allocates is proportional to the input.

pub(crate) mod endpoint;
pub(crate) mod error;
pub(crate) mod load;
pub(crate) mod parse;
pub(crate) mod wg_quick;
pub(crate) mod write;

pub(crate) use endpoint::{Endpoint, EndpointHost};
pub(crate) use error::ErrorKind;
pub(crate) use load::load;
pub use parse::parse;
pub(crate) use wg_quick::WgQuickSetting;
pub use write::to_text;

use crate::core::ip_prefix::IpPrefix;
use crate::core::keys::{PresharedKey, PrivateKey, PublicKey};

/// Bounds on what a configuration may hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Longest file accepted, in bytes.
    pub max_bytes: usize,
    /// Most `[Peer]` sections accepted.
    pub max_peers: usize,
}

impl Default for Limits {
    /// 1 MiB (some 10,000 peers with a few AllowedIPs each) and 10,000 peers.
    fn default() -> Self {
        Limits {
            max_bytes: 1 << 20,
            max_peers: 10_000,
        }
    }
}

/// A parsed configuration file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Config {
    pub interface: InterfaceConfig,
    /// In file order.
    pub peers: Vec<PeerConfig>,
    /// wg-quick settings ringtun does not apply, in file order (not written back by [`to_text`]).
    pub wg_quick_only: Vec<WgQuickSetting>,
}

/// The `[Interface]` section. Absent keys are `None` / empty / 0, as `wg setconf` treats them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct InterfaceConfig {
    pub(crate) private_key: Option<PrivateKey>,
    /// `None` or `Some(0)`: a port chosen at random.
    pub(crate) listen_port: Option<u16>,
    /// Mark on outgoing UDP packets; 0 is "off".
    pub(crate) fwmark: u32,
    /// wg-quick's `Address`: interface addresses with their prefix length, host bits kept.
    pub(crate) addresses: Vec<IpPrefix>,
    /// wg-quick's `MTU`.
    pub(crate) mtu: Option<u16>,
}

/// One `[Peer]` section.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerConfig {
    pub(crate) public_key: PublicKey,
    pub(crate) preshared_key: Option<PresharedKey>,
    /// As written (host bits not cleared: `AllowedIps::insert` does that).
    pub(crate) allowed_ips: Vec<IpPrefix>,
    pub(crate) endpoint: Option<Endpoint>,
    /// Seconds between keepalives; 0 is "off".
    pub(crate) persistent_keepalive: u16,
}

impl PeerConfig {
    /// A peer with only its public key set.
    #[cfg(test)]
    pub(crate) fn new(public_key: PublicKey) -> Self {
        PeerConfig {
            public_key,
            preshared_key: None,
            allowed_ips: Vec::new(),
            endpoint: None,
            persistent_keepalive: 0,
        }
    }
}

#[cfg(test)]
mod tests;
