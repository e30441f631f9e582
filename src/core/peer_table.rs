//! The peers of an interface, by static public key: the handshake decrypts an initiator's static key
//! and asks [`PeerTable::get`] which peer, if any, it is.
//!
//! Each peer gets a [`PeerId`]: the lowest free number, so ids stay dense (below
//! [`PeerTable::max_peers`]) and per-peer state can live in a `Vec`. An id is reused after its peer
//! is removed; see [`PeerId`] for what the caller clears first.
//!
//! Memory per peer: one bucket of the key map (32-byte key + 4-byte id, 36 bytes, plus a control
//! byte, at 44-88 % load) and one 33-byte slot of the by-id list.

use std::collections::HashMap;

use super::keyed_hash::HashKey;
use super::keys::PublicKey;
use super::peer_id::PeerId;

/// Why a peer could not be added.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AddPeerError {
    /// A peer with this public key exists already, under this id.
    Duplicate(PeerId),
    /// The table holds its configured maximum of peers.
    Full,
}

pub struct PeerTable {
    by_key: HashMap<PublicKey, PeerId, HashKey>,
    /// `keys[id]`: the key of peer `id`, `None` for a free id.
    keys: Vec<Option<PublicKey>>,
    /// Free ids below `keys.len()`, handed out lowest first.
    free: Vec<u32>,
    max_peers: u32,
}

impl PeerTable {
    /// An empty table for at most `max_peers` peers, hashing keys with `hash_key` (drawn from the
    /// caller's `Entropy`). Memory grows with the peers added, not with `max_peers`.
    pub fn new(max_peers: u32, hash_key: HashKey) -> Self {
        PeerTable {
            by_key: HashMap::with_hasher(hash_key),
            keys: Vec::new(),
            free: Vec::new(),
            max_peers,
        }
    }

    /// Adds the peer with `key` under the lowest free id.
    pub fn add(&mut self, key: PublicKey) -> Result<PeerId, AddPeerError> {
        if let Some(&id) = self.by_key.get(&key) {
            return Err(AddPeerError::Duplicate(id));
        }
        if self.by_key.len() >= self.max_peers as usize {
            return Err(AddPeerError::Full);
        }
        let id = match self.free.pop() {
            Some(id) => id,
            None => {
                // Below max_peers (a u32) since every id below keys.len() is in use.
                let id = self.keys.len() as u32;
                self.keys.push(None);
                id
            }
        };
        self.keys[id as usize] = Some(key);
        self.by_key.insert(key, PeerId(id));
        Ok(PeerId(id))
    }

    /// Removes peer `id`; returns its key, or `None` if there was no such peer.
    pub(crate) fn remove(&mut self, id: PeerId) -> Option<PublicKey> {
        let key = self.keys.get_mut(id.index())?.take()?;
        self.by_key.remove(&key);
        // Keep `free` sorted high to low so `pop` gives the lowest id.
        let at = self.free.partition_point(|&f| f > id.0);
        self.free.insert(at, id.0);
        // Trailing free ids shrink the list instead of waiting for reuse.
        while self.keys.last().is_some_and(Option::is_none) {
            self.keys.pop();
            // The popped id was the highest free one: first in `free`.
            self.free.remove(0);
        }
        Some(key)
    }

    /// The peer whose static public key is `key`. Allocates nothing.
    pub fn get(&self, key: &PublicKey) -> Option<PeerId> {
        self.by_key.get(key).copied()
    }

    pub(crate) fn public_key(&self, id: PeerId) -> Option<&PublicKey> {
        self.keys.get(id.index())?.as_ref()
    }

    /// Every peer, lowest id first.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (PeerId, &PublicKey)> + '_ {
        self.keys
            .iter()
            .enumerate()
            .filter_map(|(i, k)| Some((PeerId(i as u32), k.as_ref()?)))
    }

    pub fn len(&self) -> usize {
        self.by_key.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_key.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::entropy::TestEntropy;

    fn key(n: u8) -> PublicKey {
        PublicKey::from_bytes([n; 32])
    }

    fn table(max: u32) -> PeerTable {
        PeerTable::new(max, HashKey::from_bytes([1; 16]))
    }

    /// The memory figure of the module documentation.
    #[test]
    fn by_id_slot_is_33_bytes() {
        assert_eq!(size_of::<Option<PublicKey>>(), 33);
    }

    #[test]
    fn add_get_remove() {
        let mut t = table(10);
        assert_eq!(t.add(key(1)), Ok(PeerId(0)));
        assert_eq!(t.add(key(2)), Ok(PeerId(1)));
        assert_eq!(t.add(key(1)), Err(AddPeerError::Duplicate(PeerId(0))));
        assert_eq!(t.get(&key(2)), Some(PeerId(1)));
        assert_eq!(t.get(&key(3)), None);
        assert_eq!(t.public_key(PeerId(1)), Some(&key(2)));
        assert_eq!(t.public_key(PeerId(7)), None);
        assert_eq!(t.len(), 2);
        assert_eq!(t.remove(PeerId(0)), Some(key(1)));
        assert_eq!(t.remove(PeerId(0)), None);
        assert_eq!(t.remove(PeerId(99)), None);
        assert_eq!(t.get(&key(1)), None);
        assert_eq!(t.public_key(PeerId(0)), None);
        assert_eq!(t.len(), 1);
    }

    #[test]
    fn bounded_by_max_peers() {
        let mut t = table(2);
        t.add(key(1)).unwrap();
        t.add(key(2)).unwrap();
        assert_eq!(t.add(key(3)), Err(AddPeerError::Full));
        assert_eq!(t.add(key(2)), Err(AddPeerError::Duplicate(PeerId(1))));
        assert_eq!(t.get(&key(3)), None);
        t.remove(PeerId(0));
        assert_eq!(t.add(key(3)), Ok(PeerId(0)));
        assert_eq!(table(0).add(key(1)), Err(AddPeerError::Full));
    }

    #[test]
    fn ids_are_dense_lowest_free_first() {
        let mut t = table(100);
        for n in 0..6 {
            assert_eq!(t.add(key(n)), Ok(PeerId(u32::from(n))));
        }
        t.remove(PeerId(4));
        t.remove(PeerId(1));
        t.remove(PeerId(2));
        assert_eq!(t.add(key(10)), Ok(PeerId(1)));
        assert_eq!(t.add(key(11)), Ok(PeerId(2)));
        assert_eq!(t.add(key(12)), Ok(PeerId(4)));
        assert_eq!(t.add(key(13)), Ok(PeerId(6)));
        let ids: Vec<u32> = t.iter().map(|(id, _)| id.0).collect();
        assert_eq!(ids, [0, 1, 2, 3, 4, 5, 6]);
        // Removing from the top shrinks the list; the next id is then the new top.
        t.remove(PeerId(6));
        t.remove(PeerId(5));
        t.remove(PeerId(3));
        assert_eq!(t.keys.len(), 5);
        assert_eq!(t.add(key(14)), Ok(PeerId(3)));
        assert_eq!(t.add(key(15)), Ok(PeerId(5)));
    }

    #[test]
    fn random_operations_keep_both_directions_consistent() {
        let mut rng = TestEntropy::new(4);
        let mut t = table(64);
        let mut present: Vec<(PeerId, PublicKey)> = Vec::new();
        for _ in 0..20_000 {
            let k = key((rng.next_u32() % 100) as u8);
            if rng.next_u32() % 2 == 0 {
                match t.add(k) {
                    Ok(id) => {
                        assert!(present.iter().all(|&(i, pk)| i != id && pk != k));
                        present.push((id, k));
                    }
                    Err(AddPeerError::Duplicate(id)) => assert!(present.contains(&(id, k))),
                    Err(AddPeerError::Full) => assert_eq!(present.len(), 64),
                }
            } else if !present.is_empty() {
                let (id, k) = present.swap_remove(rng.next_u32() as usize % present.len());
                assert_eq!(t.remove(id), Some(k));
            }
            assert_eq!(t.len(), present.len());
            for &(id, k) in &present {
                assert_eq!(t.get(&k), Some(id));
                assert_eq!(t.public_key(id), Some(&k));
                assert!(id.0 < 64, "ids stay below the maximum");
            }
        }
    }
}
