//! The WireGuard device: many peers behind one private key and one UDP socket, sans-IO. It speaks
//! WireGuard's protocol (Noise IKpsk2 handshakes, cookies, type-4 transport data) and so talks to
//! the kernel module, wireguard-go and boringtun.
//!
//! # Interface
//! Inputs: datagrams from the network ([`Device::handle_datagram`]), IP packets from the TUN device
//! ([`Device::seal`]), the passing of time ([`Device::handle_timeout`]) and the wall clock when
//! messages are built ([`Device::poll_transmit`]). Outputs: datagrams to send (`poll_transmit`,
//! and the sealed packet `seal` returns), packets to deliver (`handle_datagram`'s range), the next
//! wake-up ([`Device::poll_timeout`]) and [`Event`]s ([`Device::poll_event`]). Randomness comes from
//! the [`Entropy`] the device is built with (the driver's reads getrandom(2) for every draw).
//! Configuration changes at run time (the `wg set` control socket): [`Device::add_peer`],
//! [`Device::remove_peer`], [`Device::update_peer`], [`Device::set_private_key`]; `wg show`:
//! [`Device::peer_snapshot`].
//!
//! # One job per file
//! - `config.rs`: [`DeviceConfig`], [`PeerConfig`], [`PeerUpdate`], limits.
//! - `receive.rs`: a datagram's way in, and transport data.
//! - `handshake.rs`: handshake messages in (screening, initiation, response, cookie reply) and
//!   initiations out: the glue to `core::noise`.
//! - `send.rs`: IP packets out (`seal`), keepalives, `poll_transmit`.
//! - `timers.rs`: the per-peer timers through one `DeadlineQueue`.
//! - `control.rs`: peers and keys added, changed and removed at run time.
//! - `snapshot.rs`: what `wg show` reports.
//! - `ratelimiter.rs` (per source address), `load.rs` (when to demand cookies), `outbox.rs`
//!   (messages waiting for `poll_transmit`), `events.rs`. The carried packet's length and
//!   addresses come from `net::ip` (`packet_len`, `source`, `destination`).
//! - `sim.rs`: devices on a simulated network, in simulated time (tests); `interop_vectors.rs`:
//!   exchanges recorded with wireguard-go and boringtun, replayed through the device (tests).
//!
//! # Receiving (every step cheaper than the next; nothing changes before authentication)
//! Handshake messages: length and type (`noise::messages::classify`) → the source's rate limit →
//! mac1, before any Diffie-Hellman → under load, a valid mac2 or else a cookie reply → the
//! handshake's own checks (an initiation: the static key of a configured peer, a timestamp newer
//! than the last one accepted from that peer, at most one per `INITIATION_MIN_INTERVAL`) →
//! response. The rate limit applies always, not only under load as in wireguard-go, so that one
//! host cannot make the responder spend more than 20 mac1 checks and Diffie-Hellmans a second on
//! it. Transport data: receiver index → session → tag → replay window → only then the endpoint
//! moves (roaming), timers run, and the inner packet's source must be in the sending peer's
//! AllowedIPs to be delivered. A datagram dropped before it authenticated changes nothing but a
//! counter ([`DropReason`]); the defences against floods (rate-limit buckets, load meter, cookie
//! secret) are the exception, as their job is to remember what arrived.
//!
//! # Sending
//! The packet's destination → longest-prefix match in the AllowedIPs → the peer's current session
//! seals it in place (header in front, tag behind) → [`Transmit`](crate::core::Transmit) to the
//! peer's endpoint. With no session the packet is dropped and counted as `NoSession` and a
//! handshake starts. WireGuard instead queues such packets (the kernel up to 1,024 per peer) and
//! sends them once the session is up; the device does not, so that it holds no packet memory per
//! peer: the first packets of a flow are lost and the sender's own retransmission (TCP, ping)
//! carries them a moment later.
//!
//! # Costs (`cargo bench --bench device`)
//! Per packet: one index-table probe (receive) or one AllowedIPs lookup (send), the AEAD, no
//! allocation, whatever the number of peers: sealing or receiving 1,400 bytes took 1.1 µs with 1
//! peer and with 100,000. Per idle peer with a /32 and a /128: about 1.1 KB resident (the inline
//! state, [`PEER_STATE_BYTES`], and its table entries); each live session adds a boxed 1.1 KB
//! keypair (most of it the replay window).

use core::net::SocketAddr;

use crate::core::allowed_ips::AllowedIps;
use crate::core::deadlines::DeadlineQueue;
use crate::core::entropy::Entropy;
use crate::core::index_table::IndexTable;
use crate::core::keyed_hash::HashKey;
use crate::core::keypair::Keypair;
use crate::core::keys::{PresharedKey, PrivateKey, PublicKey};
use crate::core::noise::{CookieChecker, InitiatorState, PeerCookie, PeerKeys, StaticIdentity};
use crate::core::noise::{Tai64N, messages::INITIATION_LEN};
use crate::core::peer::Peer;
use crate::core::peer_id::PeerId;
use crate::core::peer_table::PeerTable;
use crate::core::replay::ReplayWindow;
use crate::core::sessions::Slot;
use crate::core::stats::{DropReason, Stats};
use crate::core::time::Instant;
use crate::core::timers::PeerTimers;

pub mod config;
mod control;
pub mod events;
mod handshake;
pub mod load;
mod outbox;
pub(crate) mod ratelimiter;
mod receive;
mod send;
mod snapshot;
mod timers;

#[cfg(test)]
mod interop_vectors;
#[cfg(test)]
mod sim;

pub use config::{ConfigError, DeviceConfig, Limits, PeerConfig, PeerUpdate};
pub use events::Event;
pub use snapshot::PeerSnapshot;

/// The longest datagram `poll_transmit` writes: a handshake initiation.
pub const MAX_CONTROL_LEN: usize = INITIATION_LEN;

/// Receiver indices one peer can hold at once: three sessions, our initiation in flight, and the
/// new session of a response being built before the rotation drops an old one.
const INDICES_PER_PEER: usize = 5;

/// Bytes of the per-peer state kept inline (sessions are boxed and allocated only while they
/// exist: about 1.2 KiB each, up to three per peer). Table entries come on top: see the module
/// documentation.
pub(crate) const PEER_STATE_BYTES: usize = core::mem::size_of::<Option<PeerState>>();
// An idle peer costs this besides its table entries: keep it within budget (688 bytes when
// written), and the session slots empty-cheap (boxed).
const _: () = assert!(PEER_STATE_BYTES <= 768);
const _: () = assert!(core::mem::size_of::<crate::core::sessions::Sessions>() <= 24);

/// What a receiver index stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum IndexKind {
    /// Our initiation in flight: responses and cookie replies are addressed to it.
    Handshake,
    /// A session (current, previous or next) of the peer: transport data is addressed to it.
    Session,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct IndexEntry {
    peer: PeerId,
    kind: IndexKind,
}

/// Initiations or keepalives a peer owes, built when `poll_transmit` is called.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct PeerWork {
    initiation: bool,
    keepalive: bool,
    /// In the outbox's peer queue.
    queued: bool,
}

/// Everything the device keeps for one peer.
struct PeerState {
    /// Endpoint, sessions, timers, counters, our initiation in flight.
    peer: Peer<InitiatorState>,
    /// The peer's public key and preshared key, and what is precomputed from them.
    keys: PeerKeys,
    /// The cookie the peer gave us, and the mac1 a cookie reply from it must answer.
    cookie: PeerCookie,
    /// The newest initiation timestamp accepted from the peer: older or equal ones are replays.
    newest_timestamp: Tai64N,
    /// When we last accepted an initiation from the peer (the flood limit).
    last_initiation_accepted: Option<Instant>,
    /// The wall clock (Unix ns) put in our last initiation to the peer: the next is later, even if
    /// the wall clock stepped back meanwhile.
    last_timestamp_sent: u64,
    work: PeerWork,
    /// The peer has had a session since it was added or its keys were last erased.
    up: bool,
}

impl PeerState {
    fn new(peer: Peer<InitiatorState>, keys: PeerKeys) -> Self {
        PeerState {
            peer,
            keys,
            cookie: PeerCookie::new(),
            newest_timestamp: Tai64N::ZERO,
            last_initiation_accepted: None,
            last_timestamp_sent: 0,
            work: PeerWork::default(),
            up: false,
        }
    }
}

/// Peer `id`'s state in the by-id list, if the peer exists. A free function rather than a method,
/// so that callers can hold it while using the device's other fields.
fn peer_mut(peers: &mut [Option<PeerState>], id: PeerId) -> Option<&mut PeerState> {
    peers.get_mut(id.index())?.as_mut()
}

/// A WireGuard interface's protocol state. `E` supplies randomness for every draw.
pub struct Device<E: Entropy> {
    entropy: E,
    /// All zeros: none (the UAPI's "no key"); the identity is then that of the zero key, and the
    /// device answers and starts no handshake.
    private_key: PrivateKey,
    identity: StaticIdentity,
    listen_port: Option<u16>,
    fwmark: Option<u32>,
    limits: Limits,
    /// Public key → peer id, and back.
    peer_table: PeerTable,
    /// Indexed by `PeerId`.
    peers: Vec<Option<PeerState>>,
    allowed_ips: AllowedIps,
    indices: IndexTable<IndexEntry>,
    deadlines: DeadlineQueue,
    cookie_checker: CookieChecker,
    limiter: ratelimiter::RateLimiter,
    load: load::LoadMeter,
    outbox: outbox::Outbox,
    events: events::EventQueue,
    stats: Stats,
}

impl<E: Entropy> Device<E> {
    /// A device configured with `config`: every peer added as [`Device::add_peer`] does. Fails on
    /// the first peer that cannot be added (the error names it); nothing is left half-built.
    pub fn new(config: &DeviceConfig, mut entropy: E) -> Result<Self, ConfigError> {
        config.validate()?;
        let mut hash_key = || {
            let mut bytes = [0u8; HashKey::LEN];
            entropy.fill(&mut bytes);
            HashKey::from_bytes(bytes)
        };
        let (peer_key, allowed_key, limiter_key) = (hash_key(), hash_key(), hash_key());
        let peers = config.peers.len();
        let mut device = Device {
            identity: StaticIdentity::new(&config.private_key),
            private_key: config.private_key.clone(),
            listen_port: config.listen_port,
            fwmark: config.fwmark,
            limits: config.limits,
            peer_table: PeerTable::new(config.limits.max_peers, peer_key),
            peers: Vec::with_capacity(peers),
            allowed_ips: AllowedIps::new(allowed_key),
            indices: IndexTable::with_capacity(INDICES_PER_PEER * peers.max(1)),
            deadlines: DeadlineQueue::with_capacity(peers),
            cookie_checker: CookieChecker::new(),
            limiter: ratelimiter::RateLimiter::new(limiter_key),
            load: load::LoadMeter::new(),
            outbox: outbox::Outbox::new(),
            events: events::EventQueue::new(),
            stats: Stats::default(),
            entropy,
        };
        for peer in &config.peers {
            device.add_peer(peer)?;
        }
        Ok(device)
    }

    /// This interface's public key (that of the all-zero key when it has none).
    pub fn public_key(&self) -> &PublicKey {
        self.identity.public_key()
    }

    /// This interface's private key; `None` when it has none (all zeros). For the control
    /// socket's `get` (`wg showconf`), which hands it to root only.
    pub fn private_key(&self) -> Option<&PrivateKey> {
        (!self.private_key.is_zero()).then_some(&self.private_key)
    }

    /// Peer `id`'s preshared key; `None` when it has none. For `wg showconf`, as above.
    pub fn peer_preshared_key(&self, id: PeerId) -> Option<&PresharedKey> {
        Some(self.state(id)?.keys.preshared_key()).filter(|k| !k.is_zero())
    }

    pub fn listen_port(&self) -> Option<u16> {
        self.listen_port
    }

    /// The driver binds the socket; the device only remembers the port for `wg show`.
    pub fn set_listen_port(&mut self, port: Option<u16>) {
        self.listen_port = port;
    }

    pub fn fwmark(&self) -> Option<u32> {
        self.fwmark
    }

    pub fn set_fwmark(&mut self, fwmark: Option<u32>) {
        self.fwmark = fwmark.filter(|&m| m != 0);
    }

    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// The peer with this public key.
    pub fn peer_id(&self, key: &PublicKey) -> Option<PeerId> {
        self.peer_table.get(key)
    }

    /// The public key of peer `id` (events name peers by id).
    pub fn peer_public_key(&self, id: PeerId) -> Option<&PublicKey> {
        self.peer_table.public_key(id)
    }

    /// Every peer, lowest id first.
    pub fn peer_ids(&self) -> impl Iterator<Item = PeerId> + '_ {
        self.peer_table.iter().map(|(id, _)| id)
    }

    pub fn peer_count(&self) -> usize {
        self.peer_table.len()
    }

    /// Where datagrams to peer `id` go now.
    #[cfg(test)]
    pub(crate) fn peer_endpoint(&self, id: PeerId) -> Option<SocketAddr> {
        self.state(id)?.peer.endpoint()
    }

    /// Whether peer `id` has a session it can send with now.
    #[cfg(test)]
    pub(crate) fn has_session(&self, id: PeerId, now: Instant) -> bool {
        self.state(id)
            .and_then(|s| s.peer.sessions().current())
            .is_some_and(|k| k.can_send(now))
    }

    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop()
    }

    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    fn state(&self, id: PeerId) -> Option<&PeerState> {
        self.peers.get(id.index())?.as_ref()
    }

    fn count_drop(&mut self, reason: DropReason) -> DropReason {
        self.stats.count_drop(reason);
        reason
    }

    /// Everything a datagram could change apart from counters and the flood defences (rate-limit
    /// buckets, load meter, cookie secret): a dropped datagram must leave it equal. For tests and
    /// fuzzing.
    #[doc(hidden)]
    pub fn state_fingerprint(&self) -> StateFingerprint {
        let session = |k: &Keypair| {
            (
                k.local_index(),
                k.remote_index(),
                k.send_counter(),
                k.replay_window().clone(),
            )
        };
        let peers = self
            .peers
            .iter()
            .enumerate()
            .filter_map(|(i, s)| Some((PeerId(i as u32), s.as_ref()?)))
            .map(|(id, s)| {
                let sessions = s.peer.sessions();
                PeerFingerprint {
                    id,
                    endpoint: s.peer.endpoint(),
                    sessions: Slot::ALL.map(|slot| sessions.get(slot).map(session)),
                    handshake: s.peer.handshake.as_ref().map(InitiatorState::sender_index),
                    timers: s.peer.timers().clone(),
                    deadline: self.deadlines.deadline(id),
                    bytes: (s.peer.tx_bytes(), s.peer.rx_bytes()),
                    last_handshake: s.peer.last_handshake(),
                    newest_timestamp: s.newest_timestamp,
                    last_initiation_accepted: s.last_initiation_accepted,
                    work: s.work,
                    up: s.up,
                    cookie: (s.cookie.received_at(), s.cookie.awaits_reply()),
                }
            })
            .collect();
        StateFingerprint {
            peers,
            indices: self.indices.len(),
            held_messages: self.outbox.len(),
            peers_queued: self.outbox.peers_queued(),
            events: self.events.len(),
            next_deadline: self.deadlines.next_deadline(),
        }
    }
}

#[doc(hidden)]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StateFingerprint {
    peers: Vec<PeerFingerprint>,
    indices: usize,
    held_messages: usize,
    peers_queued: usize,
    events: usize,
    next_deadline: Option<Instant>,
}

type SessionFingerprint = (u32, u32, u64, ReplayWindow);

#[derive(Clone, Debug, PartialEq, Eq)]
struct PeerFingerprint {
    id: PeerId,
    endpoint: Option<SocketAddr>,
    sessions: [Option<SessionFingerprint>; Slot::ALL.len()],
    handshake: Option<u32>,
    timers: PeerTimers,
    deadline: Option<Instant>,
    bytes: (u64, u64),
    last_handshake: Option<Instant>,
    newest_timestamp: Tai64N,
    last_initiation_accepted: Option<Instant>,
    work: PeerWork,
    up: bool,
    /// When the peer's cookie was received, and whether a cookie reply would be accepted.
    cookie: (Option<Instant>, bool),
}

impl<E: Entropy> core::fmt::Debug for Device<E> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Device")
            .field("public_key", self.identity.public_key())
            .field("peers", &self.peer_table.len())
            .field("indices", &self.indices.len())
            .field("outbox", &self.outbox)
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}
