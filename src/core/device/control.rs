//! Configuration changes at run time, shaped for the `wg set` control socket: peers added, changed
//! and removed, the private key replaced. Each change touches only the peer it names (but for the
//! private key, which every peer's keys derive from). These run on configuration, never per packet,
//! so they may allocate.

use super::handshake::forget_indices;
use super::{Device, INDICES_PER_PEER, PeerState, peer_mut};
use crate::core::device::config::{ConfigError, PeerConfig, PeerUpdate};
use crate::core::entropy::Entropy;
use crate::core::keys::{PresharedKey, PrivateKey, PublicKey};
use crate::core::noise::{CookieChecker, PeerKeys, StaticIdentity};
use crate::core::peer::Peer;
use crate::core::peer_id::PeerId;
use crate::core::peer_table::AddPeerError;

impl<E: Entropy> Device<E> {
    /// Starts a handshake with peer `id` now rather than on its first packet (it needs an
    /// endpoint): for a client whose one job is its connection (the one-command client), so that
    /// its session, or the lack of one, shows at start. Retried and given up on as any
    /// initiation (every 5 s, for 90 s).
    pub fn start_handshake(&mut self, id: PeerId) {
        self.queue_initiation(id);
    }

    /// Adds a peer. Fails, changing nothing, if the key is ours, of small order or already a
    /// peer's, if the interface holds `max_peers`, or if the peer has too many AllowedIPs. An
    /// AllowedIPs entry another peer holds moves to this one (as in WireGuard). A peer with a
    /// persistent keepalive and an endpoint starts a handshake at once, as `wg set` does.
    pub(crate) fn add_peer(&mut self, config: &PeerConfig) -> Result<PeerId, ConfigError> {
        config.validate(&self.limits)?;
        let key = config.public_key;
        if key == *self.identity.public_key() {
            return Err(ConfigError::OwnKey(key));
        }
        let psk = config
            .preshared_key
            .clone()
            .unwrap_or_else(PresharedKey::none);
        let keys =
            PeerKeys::new(&self.identity, key, psk).map_err(|_| ConfigError::WeakPeerKey(key))?;
        let id = self.peer_table.add(key).map_err(|e| match e {
            AddPeerError::Duplicate(_) => ConfigError::DuplicatePeer(key),
            AddPeerError::Full => ConfigError::TooManyPeers {
                count: self.peer_table.len() + 1,
                max: self.limits.max_peers,
            },
        })?;

        if self.peers.len() <= id.index() {
            self.peers.resize_with(id.index() + 1, || None);
        }
        let peer = Peer::new(id, config.endpoint, config.keepalive_interval());
        self.peers[id.index()] = Some(PeerState::new(peer, keys));
        self.reserve_for_peers();
        for &prefix in &config.allowed_ips {
            self.allowed_ips.insert(prefix, id);
        }
        if config.keepalive_interval().is_some() && config.endpoint.is_some() {
            self.queue_keepalive(id);
        }
        Ok(id)
    }

    /// Whether [`Device::add_peer`] would take `key` as far as the key alone goes: refused if it
    /// has small order (one Diffie-Hellman). For checking a whole `wg set` before applying any of
    /// it; whether the key is ours depends on the private key the same request may set.
    pub fn check_peer_key(&self, key: &PublicKey) -> Result<(), ConfigError> {
        PeerKeys::new(&self.identity, *key, PresharedKey::none())
            .map(drop)
            .map_err(|_| ConfigError::WeakPeerKey(*key))
    }

    /// Grows the tables that must not grow on the data path to fit the peers configured.
    fn reserve_for_peers(&mut self) {
        let peers = self.peer_table.len();
        let needed = INDICES_PER_PEER * peers;
        if needed > self.indices.capacity() {
            // Doubling: adding n peers one by one moves each index O(1) times on average.
            self.indices
                .reserve(needed.max(2 * self.indices.capacity()));
        }
        self.outbox.reserve_peers(peers);
    }

    /// Removes the peer with `key`: its sessions (keys erased), indices, AllowedIPs, timers and
    /// queued work.
    pub fn remove_peer(&mut self, key: &PublicKey) -> Result<(), ConfigError> {
        let id = self
            .peer_table
            .get(key)
            .ok_or(ConfigError::UnknownPeer(*key))?;
        self.remove_peer_id(id);
        Ok(())
    }

    fn remove_peer_id(&mut self, id: PeerId) {
        if let Some(mut state) = self.peers.get_mut(id.index()).and_then(Option::take) {
            let (sessions, handshake) = state.peer.clear_key_material();
            forget_indices(&mut self.indices, sessions);
            if let Some(handshake) = handshake {
                self.indices.remove(handshake.sender_index());
            }
        }
        self.allowed_ips.remove_peer(id);
        self.deadlines.remove(id);
        self.outbox.forget_peer(id);
        self.peer_table.remove(id);
    }

    /// Changes the peer with `key` as `update` says. Its sessions go on (a new preshared key applies
    /// from the next handshake, as in WireGuard). Fails, changing nothing, for an unknown peer or
    /// if the AllowedIPs would exceed the limit.
    pub fn update_peer(&mut self, key: &PublicKey, update: &PeerUpdate) -> Result<(), ConfigError> {
        let id = self
            .peer_table
            .get(key)
            .ok_or(ConfigError::UnknownPeer(*key))?;
        let kept = if update.replace_allowed_ips {
            0
        } else {
            self.allowed_ips.prefixes_of(id).count()
        };
        let count = kept + update.add_allowed_ips.len();
        if count > self.limits.max_allowed_ips_per_peer as usize {
            return Err(ConfigError::TooManyAllowedIps {
                peer: *key,
                count,
                max: self.limits.max_allowed_ips_per_peer,
            });
        }
        let Some(state) = peer_mut(&mut self.peers, id) else {
            return Err(ConfigError::UnknownPeer(*key));
        };
        if let Some(psk) = &update.preshared_key {
            state.keys.set_preshared_key(Some(psk.clone()));
        }
        let moved = update
            .endpoint
            .and_then(|endpoint| state.peer.set_configured_endpoint(Some(endpoint)));
        let mut keepalive_now = false;
        if let Some(seconds) = update.persistent_keepalive {
            let was_off = state.peer.persistent_keepalive().is_none();
            let interval = (seconds != 0).then(|| core::time::Duration::from_secs(seconds.into()));
            state.peer.set_persistent_keepalive(interval);
            // WireGuard sends one at once when the keepalive is switched on.
            keepalive_now = was_off && interval.is_some() && state.peer.endpoint().is_some();
        }
        if update.replace_allowed_ips {
            self.allowed_ips.remove_peer(id);
        }
        for &prefix in &update.remove_allowed_ips {
            self.allowed_ips.remove(prefix, id);
        }
        for &prefix in &update.add_allowed_ips {
            self.allowed_ips.insert(prefix, id);
        }
        self.endpoint_changed(id, moved);
        if keepalive_now {
            self.queue_keepalive(id);
        }
        self.refile(id);
        Ok(())
    }

    /// Replaces the interface's private key, as wireguard-go does: every peer's precomputed keys
    /// are recomputed, every session and handshake in progress is dropped (their keys derive from
    /// the old key), and a peer whose public key is the new one's is removed. The peers' addresses,
    /// AllowedIPs and counters stay; the next packet to a peer starts a new handshake. The key the
    /// interface has already changes nothing (`wg syncconf` sends it every time); all zeros
    /// removes the key: the interface then answers and starts no handshake until it gets one.
    pub fn set_private_key(&mut self, private_key: &PrivateKey) {
        if *private_key == self.private_key {
            return;
        }
        let identity = StaticIdentity::new(private_key);
        if let Some(own) = self.peer_table.get(identity.public_key()) {
            self.remove_peer_id(own);
        }
        let ids: Vec<PeerId> = self.peer_ids().collect();
        for id in ids {
            let Some(state) = peer_mut(&mut self.peers, id) else {
                continue;
            };
            let (sessions, handshake) = state.peer.clear_key_material();
            forget_indices(&mut self.indices, sessions);
            if let Some(handshake) = handshake {
                self.indices.remove(handshake.sender_index());
            }
            state.up = false;
            match state.keys.for_identity(&identity) {
                Ok(keys) => state.keys = keys,
                // Small order depends on the peer's key alone, which `add_peer` checked.
                Err(_) => {
                    self.remove_peer_id(id);
                    continue;
                }
            }
            self.refile(id);
        }
        self.identity = identity;
        self.private_key = private_key.clone();
        // Cookies are bound to the old public key's labels: start afresh.
        self.cookie_checker = CookieChecker::new();
    }
}
