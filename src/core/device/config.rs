//! What an interface is configured with: its private key, port and firewall mark, and its peers.
//! The shape of `wg setconf` / the UAPI `set=1` (and of a WireGuard `[Interface]` / `[Peer]` file),
//! so that the config file, the command line and the control socket all fill the same type.
//!
//! Secrets are the key types of [`crate::core::keys`]: `Debug` redacts them and they are wiped when
//! dropped, so a `DeviceConfig` can be logged with `{:?}`.

use core::fmt;
use core::net::SocketAddr;
use core::time::Duration;

use crate::core::ip_prefix::IpPrefix;
use crate::core::keys::{PresharedKey, PrivateKey, PublicKey};

/// Peers an interface holds unless told otherwise. Every peer costs memory whether it talks or not
/// (see the device documentation for the figure), so the bound is the operator's to raise.
pub(crate) const DEFAULT_MAX_PEERS: u32 = 1 << 20;

/// AllowedIPs entries one peer may hold unless told otherwise.
pub(crate) const DEFAULT_MAX_ALLOWED_IPS_PER_PEER: u32 = 1 << 16;

/// Bounds on what a configuration (or a control-socket client) can make the device allocate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    pub max_peers: u32,
    pub max_allowed_ips_per_peer: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_peers: DEFAULT_MAX_PEERS,
            max_allowed_ips_per_peer: DEFAULT_MAX_ALLOWED_IPS_PER_PEER,
        }
    }
}

/// An interface (`[Interface]`, `wg set <if> private-key … listen-port … fwmark …`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceConfig {
    pub(crate) private_key: PrivateKey,
    /// UDP port to listen on; `None`: any free port (the driver binds it; the core never sees it).
    pub(crate) listen_port: Option<u16>,
    /// `SO_MARK` of the UDP socket; `None` or 0: none (the driver's).
    pub(crate) fwmark: Option<u32>,
    pub peers: Vec<PeerConfig>,
    pub limits: Limits,
}

/// A peer (`[Peer]`, `wg set <if> peer <key> …`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerConfig {
    pub(crate) public_key: PublicKey,
    pub(crate) preshared_key: Option<PresharedKey>,
    /// Inner addresses this peer may send from, and that are routed to it.
    pub allowed_ips: Vec<IpPrefix>,
    /// Where to reach it first (roaming may move it; see `core::roaming`).
    pub endpoint: Option<SocketAddr>,
    /// Seconds between keepalives sent even when idle (`PersistentKeepalive`); `None` or 0: off.
    pub(crate) persistent_keepalive: Option<u16>,
}

impl PeerConfig {
    /// A peer known by its key alone: no address, no routes, no keepalive.
    pub fn new(public_key: PublicKey) -> Self {
        PeerConfig {
            public_key,
            preshared_key: None,
            allowed_ips: Vec::new(),
            endpoint: None,
            persistent_keepalive: None,
        }
    }

    /// The keepalive interval, `None` when off (0 means off, as in `wg`).
    pub(crate) fn keepalive_interval(&self) -> Option<Duration> {
        self.persistent_keepalive
            .filter(|&s| s != 0)
            .map(|s| Duration::from_secs(u64::from(s)))
    }
}

impl DeviceConfig {
    /// An interface with `private_key` and no peers, default limits.
    pub fn new(private_key: PrivateKey) -> Self {
        DeviceConfig {
            private_key,
            listen_port: None,
            fwmark: None,
            peers: Vec::new(),
            limits: Limits::default(),
        }
    }

    /// Checks what can be checked without cryptography: the peer count and each peer's AllowedIPs
    /// count against the limits, and no public key listed twice. (A peer whose key has small order
    /// is refused by `Device::new`, which computes the DH.)
    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        if self.peers.len() > self.limits.max_peers as usize {
            return Err(ConfigError::TooManyPeers {
                count: self.peers.len(),
                max: self.limits.max_peers,
            });
        }
        let mut keys: Vec<&PublicKey> = self.peers.iter().map(|p| &p.public_key).collect();
        keys.sort_unstable();
        if let Some(pair) = keys.windows(2).find(|w| w[0] == w[1]) {
            return Err(ConfigError::DuplicatePeer(*pair[0]));
        }
        for peer in &self.peers {
            peer.validate(&self.limits)?;
        }
        Ok(())
    }
}

impl PeerConfig {
    /// The per-peer half of [`DeviceConfig::validate`].
    pub(crate) fn validate(&self, limits: &Limits) -> Result<(), ConfigError> {
        if self.allowed_ips.len() > limits.max_allowed_ips_per_peer as usize {
            return Err(ConfigError::TooManyAllowedIps {
                peer: self.public_key,
                count: self.allowed_ips.len(),
                max: limits.max_allowed_ips_per_peer,
            });
        }
        Ok(())
    }
}

/// Changes to one peer (`wg set <if> peer <key> …` for a peer that exists). `None` / empty: left as
/// it is.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PeerUpdate {
    /// A new configured endpoint; it replaces the learned one at once, as `wg set` does.
    pub(crate) endpoint: Option<SocketAddr>,
    /// A new keepalive interval in seconds; `Some(0)` turns it off.
    pub(crate) persistent_keepalive: Option<u16>,
    /// A new preshared key; `PresharedKey::none()` removes it. Sessions in use keep their keys.
    pub(crate) preshared_key: Option<PresharedKey>,
    /// Remove every AllowedIPs entry of the peer before adding `add_allowed_ips`
    /// (`replace_allowed_ips=true`).
    pub(crate) replace_allowed_ips: bool,
    /// Entries to route to this peer (taken from whichever peer had them).
    pub(crate) add_allowed_ips: Vec<IpPrefix>,
    /// Entries to remove, if this peer has them (`allowed-ips -prefix`).
    pub(crate) remove_allowed_ips: Vec<IpPrefix>,
}

/// Why a configuration cannot be applied. `Display` is one line naming the problem.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConfigError {
    TooManyPeers {
        count: usize,
        max: u32,
    },
    TooManyAllowedIps {
        peer: PublicKey,
        count: usize,
        max: u32,
    },
    /// The same public key is configured twice.
    DuplicatePeer(PublicKey),
    /// The peer's public key has small order: every handshake with it would be insecure.
    WeakPeerKey(PublicKey),
    /// The peer's public key is our own.
    OwnKey(PublicKey),
    /// `update_peer` / `remove_peer` for a key that is not configured.
    UnknownPeer(PublicKey),
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::TooManyPeers { count, max } => {
                write!(f, "{count} peers configured, at most {max} allowed")
            }
            ConfigError::TooManyAllowedIps { peer, count, max } => write!(
                f,
                "peer {peer} has {count} allowed IPs, at most {max} allowed"
            ),
            ConfigError::DuplicatePeer(key) => write!(f, "peer {key} is configured twice"),
            ConfigError::WeakPeerKey(key) => {
                write!(f, "peer {key} has an invalid public key (small order)")
            }
            ConfigError::OwnKey(key) => {
                write!(f, "peer {key} has this interface's own public key")
            }
            ConfigError::UnknownPeer(key) => write!(f, "no peer {key} is configured"),
        }
    }
}

impl std::error::Error for ConfigError {}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(n: u8) -> PublicKey {
        PublicKey::from_bytes([n; 32])
    }

    #[test]
    fn validate_counts_peers_and_allowed_ips_and_refuses_duplicates() {
        let mut config = DeviceConfig::new(PrivateKey::from_bytes([7; 32]));
        config.peers = vec![PeerConfig::new(key(1)), PeerConfig::new(key(2))];
        assert_eq!(config.validate(), Ok(()));

        config.limits.max_peers = 1;
        assert_eq!(
            config.validate(),
            Err(ConfigError::TooManyPeers { count: 2, max: 1 })
        );
        config.limits.max_peers = 2;

        config.peers[1].public_key = key(1);
        assert_eq!(config.validate(), Err(ConfigError::DuplicatePeer(key(1))));
        config.peers[1].public_key = key(2);

        config.limits.max_allowed_ips_per_peer = 1;
        config.peers[0].allowed_ips = vec!["10.0.0.1".parse().unwrap(), "fd00::1".parse().unwrap()];
        let err = config.validate().unwrap_err();
        assert_eq!(
            err,
            ConfigError::TooManyAllowedIps {
                peer: key(1),
                count: 2,
                max: 1
            }
        );
        assert!(!err.to_string().contains('\n'));
        assert!(err.to_string().contains(&key(1).to_base64()));
    }

    #[test]
    fn keepalive_zero_is_off() {
        let mut peer = PeerConfig::new(key(1));
        assert_eq!(peer.keepalive_interval(), None);
        peer.persistent_keepalive = Some(0);
        assert_eq!(peer.keepalive_interval(), None);
        peer.persistent_keepalive = Some(25);
        assert_eq!(peer.keepalive_interval(), Some(Duration::from_secs(25)));
    }

    #[test]
    fn debug_redacts_the_secrets() {
        let mut config = DeviceConfig::new(PrivateKey::from_bytes([0xab; 32]));
        let mut peer = PeerConfig::new(key(1));
        peer.preshared_key = Some(PresharedKey::from_bytes([0xcd; 32]));
        config.peers.push(peer);
        let shown = format!("{config:?}");
        assert!(shown.contains("<redacted>"), "{shown}");
        assert!(!shown.contains("171") && !shown.contains("205"), "{shown}");
        assert!(!shown.to_lowercase().contains("abab"), "{shown}");
    }
}
