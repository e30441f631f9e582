//! Receiver indices: the 32-bit number a peer puts in every message to us, mapped to the peer and
//! session slot it names.
//!
//! Every datagram's first lookup, before any cryptography, with an index an attacker may choose, so
//! it must be cheap and bounded. The table is open addressing with linear probing in one array
//! allocated at construction: at most half full, so a probe sequence stays short, and nothing is
//! allocated afterwards. Removal shifts the following entries back instead of leaving tombstones, so
//! probe sequences do not lengthen under churn (sessions come and go every two minutes per peer).
//!
//! Indices are drawn by the caller from its random generator. The table does not draw them itself
//! (the core has no randomness of its own): [`IndexTable::insert`] reports a taken index and the
//! caller draws again, as WireGuard does. The home slot is the index times a fixed odd constant
//! (Fibonacci hashing), so even sequential indices (tests, a weak generator) spread evenly.
//!
//! Memory: `2 * capacity` slots or more (the next power of two), each the index plus `Option<V>`.
//! For `V = (PeerId, slot)` with an enum slot, `Option<V>` takes no extra space: 12 bytes per slot,
//! 24-48 bytes per entry of capacity.

/// Why an index could not be added.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IndexInsertError {
    /// The index is in use: draw another and try again.
    Taken,
    /// The table holds `capacity` entries already.
    Full,
}

#[derive(Clone, Copy)]
struct Slot<V> {
    index: u32,
    /// `None`: the slot is free (its `index` means nothing then).
    value: Option<V>,
}

/// A bounded map from receiver index to `V` (typically a peer and session slot).
pub struct IndexTable<V: Copy> {
    slots: Box<[Slot<V>]>,
    /// `slots.len() - 1`; the length is a power of two.
    mask: usize,
    /// log2 of `slots.len()`: how many top bits of the product pick the home slot.
    slot_bits: u32,
    len: usize,
    capacity: usize,
}

/// 2^32 / golden ratio, odd: multiplying by it spreads consecutive integers over the top bits.
const FIBONACCI: u64 = 0x9e37_79b9_7f4a_7c15;
/// Most indices a table holds: half of the 2^32 there are, so a free one is always near.
const MAX_CAPACITY: usize = 1 << 31;
/// Slots per index the table may hold: at most half full keeps probe sequences short.
const SLOTS_PER_INDEX: usize = 2;
/// The fewest slots, so that `slot_bits` is never 0.
const MIN_SLOTS: usize = 8;

impl<V: Copy> IndexTable<V> {
    /// A table for at most `capacity` indices (2^31 at most, half of all indices), allocated now.
    pub fn with_capacity(capacity: usize) -> Self {
        let capacity = capacity.min(MAX_CAPACITY);
        let slot_count = (capacity * SLOTS_PER_INDEX)
            .max(MIN_SLOTS)
            .next_power_of_two();
        IndexTable {
            slots: vec![
                Slot {
                    index: 0,
                    value: None
                };
                slot_count
            ]
            .into_boxed_slice(),
            mask: slot_count - 1,
            slot_bits: slot_count.trailing_zeros(),
            len: 0,
            capacity,
        }
    }

    fn home(&self, index: u32) -> usize {
        // The top `slot_bits` bits of the product: slot_bits <= 63 since slot_count fits usize.
        ((u64::from(index).wrapping_mul(FIBONACCI)) >> (u64::BITS - self.slot_bits)) as usize
    }

    /// The slot holding `index`, if present.
    fn find(&self, index: u32) -> Option<usize> {
        let mut at = self.home(index);
        // The table is never full (at most half), so the probe reaches a free slot.
        loop {
            let slot = &self.slots[at];
            slot.value?;
            if slot.index == index {
                return Some(at);
            }
            at = (at + 1) & self.mask;
        }
    }

    /// Adds `index` -> `value`. Nothing changes on error.
    pub fn insert(&mut self, index: u32, value: V) -> Result<(), IndexInsertError> {
        let mut at = self.home(index);
        loop {
            let slot = &mut self.slots[at];
            match slot.value {
                Some(_) if slot.index == index => return Err(IndexInsertError::Taken),
                Some(_) => at = (at + 1) & self.mask,
                None => {
                    if self.len >= self.capacity {
                        return Err(IndexInsertError::Full);
                    }
                    *slot = Slot {
                        index,
                        value: Some(value),
                    };
                    self.len += 1;
                    return Ok(());
                }
            }
        }
    }

    /// The value of `index`. Allocates nothing; a few probes at most on average.
    pub fn get(&self, index: u32) -> Option<V> {
        self.find(index).and_then(|at| self.slots[at].value)
    }

    /// Replaces the value of a present `index` (a handshake's index becoming its session's);
    /// returns the old value, or `None` (and changes nothing) if `index` is not present.
    pub(crate) fn replace(&mut self, index: u32, value: V) -> Option<V> {
        let at = self.find(index)?;
        self.slots[at].value.replace(value)
    }

    /// Removes `index`; returns its value if it was present.
    pub(crate) fn remove(&mut self, index: u32) -> Option<V> {
        let mut hole = self.find(index)?;
        let removed = self.slots[hole].value.take();
        self.len -= 1;
        // Backward shift: move each following entry of the run into the hole if its home allows it
        // (its home is not between the hole and its slot), so every entry stays reachable from its
        // home without crossing a free slot.
        let mut at = hole;
        loop {
            at = (at + 1) & self.mask;
            let slot = self.slots[at];
            if slot.value.is_none() {
                break;
            }
            let home = self.home(slot.index);
            let from_home = at.wrapping_sub(home) & self.mask;
            let from_hole = at.wrapping_sub(hole) & self.mask;
            if from_home >= from_hole {
                self.slots[hole] = slot;
                self.slots[at].value = None;
                hole = at;
            }
        }
        removed
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The most entries the table accepts.
    pub(crate) fn capacity(&self) -> usize {
        self.capacity
    }

    /// Raises the capacity to at least `capacity` by moving every entry into a larger array, so
    /// that a table sized for the peers configured can follow peers added at run time (a
    /// configuration change, never a packet). Does nothing if the table is big enough already.
    pub(crate) fn reserve(&mut self, capacity: usize) {
        if capacity <= self.capacity {
            return;
        }
        let mut bigger = IndexTable::with_capacity(capacity);
        for slot in self.slots.iter() {
            if let Some(value) = slot.value {
                // Distinct indices, fewer than the new capacity: cannot fail.
                let _ = bigger.insert(slot.index, value);
            }
        }
        *self = bigger;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserve_keeps_every_entry_and_raises_the_capacity() {
        let mut t = IndexTable::with_capacity(4);
        for i in 0..4u32 {
            t.insert(i * 7919, i).unwrap();
        }
        assert_eq!(t.insert(99, 99), Err(IndexInsertError::Full));
        t.reserve(2);
        assert_eq!(t.capacity(), 4, "never shrinks");
        t.reserve(100);
        assert_eq!(t.capacity(), 100);
        assert_eq!(t.len(), 4);
        for i in 0..4u32 {
            assert_eq!(t.get(i * 7919), Some(i));
        }
        t.insert(99, 99).unwrap();
        assert_eq!(t.get(99), Some(99));
    }
    use crate::core::entropy::TestEntropy;
    use crate::core::peer_id::PeerId;
    use std::collections::HashMap;

    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    enum SessionSlot {
        Handshake,
        Current,
    }

    /// The memory figure of the module documentation.
    #[test]
    fn a_peer_and_enum_slot_take_12_bytes_per_slot() {
        assert_eq!(size_of::<super::Slot<(PeerId, SessionSlot)>>(), 12);
    }

    #[test]
    fn insert_get_replace_remove() {
        let mut t = IndexTable::with_capacity(4);
        assert_eq!(t.get(7), None);
        t.insert(7, (PeerId(1), SessionSlot::Handshake)).unwrap();
        t.insert(0, (PeerId(2), SessionSlot::Current)).unwrap();
        t.insert(u32::MAX, (PeerId(3), SessionSlot::Current))
            .unwrap();
        assert_eq!(t.get(7), Some((PeerId(1), SessionSlot::Handshake)));
        assert_eq!(t.get(0), Some((PeerId(2), SessionSlot::Current)));
        assert_eq!(t.get(u32::MAX), Some((PeerId(3), SessionSlot::Current)));
        assert_eq!(t.get(8), None);
        assert_eq!(
            t.insert(7, (PeerId(9), SessionSlot::Current)),
            Err(IndexInsertError::Taken)
        );
        assert_eq!(
            t.get(7),
            Some((PeerId(1), SessionSlot::Handshake)),
            "unchanged"
        );
        assert_eq!(
            t.replace(7, (PeerId(1), SessionSlot::Current)),
            Some((PeerId(1), SessionSlot::Handshake))
        );
        assert_eq!(t.get(7), Some((PeerId(1), SessionSlot::Current)));
        assert_eq!(t.replace(8, (PeerId(1), SessionSlot::Current)), None);
        assert_eq!(t.get(8), None, "replace does not insert");
        assert_eq!(t.len(), 3);
        assert_eq!(t.remove(7), Some((PeerId(1), SessionSlot::Current)));
        assert_eq!(t.remove(7), None);
        assert_eq!(t.get(7), None);
        assert_eq!(t.len(), 2);
    }

    #[test]
    fn full_at_capacity_and_room_again_after_remove() {
        let mut t = IndexTable::with_capacity(3);
        for i in 0..3 {
            t.insert(i * 1000, i).unwrap();
        }
        assert_eq!(t.insert(5, 5), Err(IndexInsertError::Full));
        // A taken index is reported as taken even when full: the caller's retry loop must not spin
        // on Full believing another draw might fit.
        assert_eq!(t.insert(1000, 9), Err(IndexInsertError::Taken));
        assert_eq!(t.get(5), None);
        assert_eq!(t.remove(1000), Some(1));
        t.insert(5, 5).unwrap();
        assert_eq!(t.get(5), Some(5));
        assert_eq!(t.len(), 3);
        assert_eq!(t.capacity(), 3);
        let mut empty = IndexTable::<u8>::with_capacity(0);
        assert_eq!(empty.insert(1, 1), Err(IndexInsertError::Full));
        assert!(empty.is_empty());
    }

    /// Sequential indices collide in their home slots' neighbourhood: a long shared run, where
    /// backward-shift deletion has to move entries across each other correctly.
    #[test]
    fn sequential_indices_with_removals_in_every_order() {
        for removal_stride in [1usize, 3, 7] {
            let mut t = IndexTable::with_capacity(64);
            for i in 0..64u32 {
                t.insert(i, i).unwrap();
            }
            let mut present: Vec<u32> = (0..64).collect();
            let mut k = 0;
            while !present.is_empty() {
                k = (k + removal_stride) % present.len();
                let gone = present.remove(k);
                assert_eq!(t.remove(gone), Some(gone));
                for &i in &present {
                    assert_eq!(t.get(i), Some(i), "lost {i} after removing {gone}");
                }
                assert_eq!(t.get(gone), None);
            }
            assert!(t.is_empty());
        }
    }

    #[test]
    fn random_operations_against_hashmap() {
        let mut rng = TestEntropy::new(0x1d);
        let capacity = 500;
        let mut t = IndexTable::with_capacity(capacity);
        let mut model: HashMap<u32, u32> = HashMap::new();
        let mut keys: Vec<u32> = Vec::new();
        for step in 0..100_000u32 {
            // Small key space part of the time, so inserts collide with present keys.
            let key = match rng.next_u32() % 3 {
                0 => rng.next_u32() % 2048,
                1 if !keys.is_empty() => keys[rng.next_u32() as usize % keys.len()],
                _ => rng.next_u32(),
            };
            match rng.next_u32() % 4 {
                0 | 1 => {
                    let expected = if model.contains_key(&key) {
                        Err(IndexInsertError::Taken)
                    } else if model.len() >= capacity {
                        Err(IndexInsertError::Full)
                    } else {
                        model.insert(key, step);
                        keys.push(key);
                        Ok(())
                    };
                    assert_eq!(t.insert(key, step), expected, "insert {key}");
                }
                2 => assert_eq!(t.remove(key), model.remove(&key), "remove {key}"),
                _ => {
                    let expected = model.get_mut(&key).map(|v| std::mem::replace(v, step));
                    assert_eq!(t.replace(key, step), expected, "replace {key}");
                }
            }
            assert_eq!(t.get(key), model.get(&key).copied());
            assert_eq!(t.len(), model.len());
            if step % 10_000 == 0 {
                for (&k, &v) in &model {
                    assert_eq!(t.get(k), Some(v));
                }
                keys.retain(|k| model.contains_key(k));
            }
        }
        assert!(model.len() > capacity / 2, "the run filled the table");
    }
}
