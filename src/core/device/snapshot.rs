//! What `wg show` reports about a peer, read from the device without changing it.

use core::net::SocketAddr;

use super::Device;
use crate::core::entropy::Entropy;
use crate::core::ip_prefix::IpPrefix;
use crate::core::keys::{PresharedKey, PublicKey};
use crate::core::peer_id::PeerId;
use crate::core::time::{Instant, WallTime};

/// One peer as `wg show` (and the UAPI `get=1`) reports it. No secret: whether a preshared key is
/// set, not the key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerSnapshot {
    pub id: PeerId,
    pub public_key: PublicKey,
    pub has_preshared_key: bool,
    /// Where datagrams go now (learned or configured).
    pub endpoint: Option<SocketAddr>,
    /// In the order they were added.
    pub allowed_ips: Vec<IpPrefix>,
    /// When the last handshake completed, on the wall clock.
    pub last_handshake: Option<WallTime>,
    /// Bytes of every datagram received from / sent to the peer, handshakes included.
    pub rx_bytes: u64,
    pub tx_bytes: u64,
    /// Seconds, `None` when off.
    pub persistent_keepalive: Option<u16>,
}

impl<E: Entropy> Device<E> {
    /// Peer `id`'s AllowedIPs, in the order they were added (none for an unknown id).
    pub fn peer_allowed_ips(&self, id: PeerId) -> impl Iterator<Item = IpPrefix> + '_ {
        self.allowed_ips.prefixes_of(id)
    }

    /// Peer `id` as `wg show` reports it; `now` and `wall` are the same moment on the monotonic and
    /// the wall clock, to date the last handshake.
    pub fn peer_snapshot(&self, id: PeerId, now: Instant, wall: WallTime) -> Option<PeerSnapshot> {
        let state = self.state(id)?;
        let public_key = *self.peer_table.public_key(id)?;
        Some(PeerSnapshot {
            id,
            public_key,
            has_preshared_key: *state.keys.preshared_key() != PresharedKey::none(),
            endpoint: state.peer.endpoint(),
            allowed_ips: self.allowed_ips.prefixes_of(id).collect(),
            last_handshake: state.peer.last_handshake().map(|at| wall.at(now, at)),
            rx_bytes: state.peer.rx_bytes(),
            tx_bytes: state.peer.tx_bytes(),
            persistent_keepalive: state
                .peer
                .persistent_keepalive()
                .map(|d| u16::try_from(d.as_secs()).unwrap_or(u16::MAX)),
        })
    }
}
