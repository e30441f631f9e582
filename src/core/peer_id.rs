//! [`PeerId`]: the small number by which the endpoint's tables name a peer.

/// A peer's number, handed out by [`super::peer_table::PeerTable`]: dense from 0 and reused after
/// the peer is removed, so the endpoint can keep per-peer state in a `Vec` indexed by it. Whoever
/// removes a peer removes its entries from the other tables (`AllowedIps::remove_peer`, the index
/// table) before the number can be handed out again.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PeerId(pub u32);

impl PeerId {
    /// The number as a `Vec` index.
    pub(crate) fn index(self) -> usize {
        // u32 always fits usize on the 32- and 64-bit targets ringtun builds for.
        self.0 as usize
    }
}
