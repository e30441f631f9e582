//! The next deadline of every peer, so that an endpoint with 100,000 peers finds the earliest one
//! (`poll_timeout`) and the due ones (`handle_timeout`) without scanning them all.
//!
//! A binary min-heap of `(deadline, peer, generation)` entries, invalidated lazily. Each peer has a
//! slot with its true deadline and a generation counter; exactly one heap entry carries the peer's
//! current generation (if it has a deadline), every other entry of that peer is stale.
//!
//! - Deadline moves **earlier** (or appears): bump the generation, push a new entry. The old entry
//!   is now stale and is dropped whenever it reaches the top.
//! - Deadline moves **later**: only the slot changes; the peer's entry stays, now early. When it
//!   reaches the top it is pushed again at the true deadline. Timers that are pushed back on every
//!   packet (the persistent keepalive) therefore cost no heap operation at all.
//! - Deadline **removed**: bump the generation; the entry is stale.
//!
//! The top entry is always kept valid and exact, so [`DeadlineQueue::next_deadline`] is a peek.
//! Stale entries cannot pile up: when the heap holds more than `2 × peers with a deadline + 64`
//! entries, the stale ones are dropped in one pass over the heap. That pass costs the heap's
//! length and happens at most once per that many pushes, so each operation stays amortized
//! O(log n) and memory stays bounded by the number of peers.

use core::cmp::Reverse;
use std::collections::BinaryHeap;

use super::peer_id::PeerId;
use super::time::Instant;

/// Stale entries tolerated beyond `2 × scheduled peers`, so that a queue of few peers does not
/// compact on nearly every push.
const COMPACTION_SLACK: usize = 64;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Entry {
    at: Instant,
    peer: PeerId,
    generation: u64,
}

#[derive(Clone, Copy, Debug, Default)]
struct PeerSlot {
    deadline: Option<Instant>,
    /// Bumped whenever the peer's valid entry is replaced or withdrawn. 64 bits: never wraps.
    generation: u64,
}

#[derive(Debug, Default)]
pub struct DeadlineQueue {
    heap: BinaryHeap<Reverse<Entry>>,
    /// Indexed by `PeerId`; grows to the largest id seen (ids are dense).
    peers: Vec<PeerSlot>,
    /// Peers that have a deadline.
    scheduled: usize,
}

impl DeadlineQueue {
    #[cfg(test)]
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Room for `peers` peers without reallocating.
    pub fn with_capacity(peers: usize) -> Self {
        DeadlineQueue {
            heap: BinaryHeap::with_capacity(2 * peers + COMPACTION_SLACK),
            peers: Vec::with_capacity(peers),
            scheduled: 0,
        }
    }

    /// Sets (or with `None` clears) `peer`'s deadline. Call it with the peer's new
    /// `poll_timeout()` after every event that touched the peer.
    pub fn set(&mut self, peer: PeerId, deadline: Option<Instant>) {
        let index = peer.index();
        if index >= self.peers.len() {
            if deadline.is_none() {
                return;
            }
            self.peers.resize(index + 1, PeerSlot::default());
        }
        let slot = &mut self.peers[index];
        let old = slot.deadline;
        match (old, deadline) {
            _ if old == deadline => return,
            (Some(old_at), Some(new_at)) if new_at > old_at => {
                // The valid entry stays, early; `settle_top` re-files it when it is on top.
                slot.deadline = deadline;
            }
            (_, None) => {
                slot.deadline = None;
                slot.generation += 1;
                self.scheduled -= 1;
            }
            (_, Some(at)) => {
                slot.deadline = deadline;
                slot.generation += 1;
                if old.is_none() {
                    self.scheduled += 1;
                }
                self.heap.push(Reverse(Entry {
                    at,
                    peer,
                    generation: slot.generation,
                }));
            }
        }
        self.settle_top();
        self.compact_if_bloated();
    }

    /// Clears `peer`'s deadline (the peer is being removed).
    pub(crate) fn remove(&mut self, peer: PeerId) {
        self.set(peer, None);
    }

    /// `peer`'s deadline as last set.
    pub(crate) fn deadline(&self, peer: PeerId) -> Option<Instant> {
        self.peers.get(peer.index()).and_then(|slot| slot.deadline)
    }

    /// The earliest deadline of all peers.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.heap.peek().map(|Reverse(entry)| entry.at)
    }

    /// A peer whose deadline is at or before `now`, earliest first (ties: lowest id), with its
    /// deadline cleared; `None` when no peer is due. The caller runs the peer's `handle_timeout`
    /// and sets its new deadline.
    pub fn pop_due(&mut self, now: Instant) -> Option<PeerId> {
        let Reverse(entry) = *self.heap.peek()?;
        if entry.at > now {
            return None;
        }
        self.heap.pop();
        if let Some(slot) = self.peers.get_mut(entry.peer.index()) {
            slot.deadline = None;
            slot.generation += 1;
            self.scheduled -= 1;
        }
        self.settle_top();
        self.compact_if_bloated();
        Some(entry.peer)
    }

    /// Peers that have a deadline.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.scheduled
    }

    #[cfg(test)]
    pub(crate) fn is_empty(&self) -> bool {
        self.scheduled == 0
    }

    /// Heap entries held, stale ones included (never more than `2 × len() + 64` after a call).
    #[cfg(test)]
    pub(crate) fn heap_len(&self) -> usize {
        self.heap.len()
    }

    fn is_valid(peers: &[PeerSlot], entry: &Entry) -> bool {
        peers
            .get(entry.peer.index())
            .is_some_and(|slot| slot.generation == entry.generation)
    }

    /// Makes the top entry valid and exact: drops stale entries and re-files early ones.
    fn settle_top(&mut self) {
        while let Some(&Reverse(top)) = self.heap.peek() {
            if !Self::is_valid(&self.peers, &top) {
                self.heap.pop();
                continue;
            }
            // A valid generation always has a deadline (clearing it bumps the generation).
            match self.peers[top.peer.index()].deadline {
                Some(at) if at > top.at => {
                    self.heap.pop();
                    self.heap.push(Reverse(Entry { at, ..top }));
                }
                _ => return,
            }
        }
    }

    fn compact_if_bloated(&mut self) {
        if self.heap.len() > 2 * self.scheduled + COMPACTION_SLACK {
            let peers = &self.peers;
            self.heap
                .retain(|Reverse(entry)| Self::is_valid(peers, entry));
            self.settle_top();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::entropy::TestEntropy;
    use core::time::Duration;

    fn at(ms: u64) -> Instant {
        Instant::from_nanos(1_000_000_000) + Duration::from_millis(ms)
    }

    #[test]
    fn earliest_first_and_ties_by_id() {
        let mut q = DeadlineQueue::new();
        q.set(PeerId(3), Some(at(30)));
        q.set(PeerId(1), Some(at(10)));
        q.set(PeerId(2), Some(at(10)));
        assert_eq!(q.len(), 3);
        assert_eq!(q.next_deadline(), Some(at(10)));
        assert_eq!(q.pop_due(at(9)), None);
        assert_eq!(q.pop_due(at(10)), Some(PeerId(1)));
        assert_eq!(q.pop_due(at(10)), Some(PeerId(2)));
        assert_eq!(q.pop_due(at(10)), None);
        assert_eq!(q.deadline(PeerId(1)), None, "popping clears the deadline");
        assert_eq!(q.pop_due(at(1000)), Some(PeerId(3)));
        assert!(q.is_empty());
        assert_eq!(q.next_deadline(), None);
    }

    #[test]
    fn moving_later_is_exact_and_pushes_nothing() {
        let mut q = DeadlineQueue::new();
        q.set(PeerId(0), Some(at(10)));
        q.set(PeerId(1), Some(at(20)));
        assert_eq!(q.heap_len(), 2);
        for step in 0..10_000 {
            // The persistent keepalive pattern: pushed back on every packet.
            q.set(PeerId(1), Some(at(20 + step)));
        }
        assert_eq!(q.heap_len(), 2);
        // Peer 0 moves past peer 1: the top is re-filed, and the answer stays exact.
        q.set(PeerId(0), Some(at(50_000)));
        assert_eq!(q.next_deadline(), Some(at(20 + 9_999)));
        assert_eq!(q.pop_due(at(20 + 9_998)), None);
        assert_eq!(q.pop_due(at(20 + 9_999)), Some(PeerId(1)));
        assert_eq!(q.next_deadline(), Some(at(50_000)));
    }

    #[test]
    fn moving_earlier_often_stays_bounded() {
        let mut q = DeadlineQueue::new();
        for peer in 0..10 {
            q.set(PeerId(peer), Some(at(1_000_000)));
        }
        for step in 0..100_000u64 {
            q.set(PeerId(3), Some(at(999_999 - step)));
            // Cleared and set again: the other way to make stale entries.
            q.set(PeerId(5), None);
            q.set(PeerId(5), Some(at(500_000 + step % 7)));
            assert!(q.heap_len() <= 2 * q.len() + COMPACTION_SLACK);
        }
        assert_eq!(q.len(), 10);
        assert_eq!(q.deadline(PeerId(3)), Some(at(999_999 - 99_999)));
        assert_eq!(q.next_deadline(), Some(at(500_000 + 99_999 % 7)));
    }

    #[test]
    fn unknown_and_cleared_peers() {
        let mut q = DeadlineQueue::new();
        q.set(PeerId(1_000), None);
        assert!(q.is_empty());
        assert_eq!(q.deadline(PeerId(5)), None);
        q.set(PeerId(7), Some(at(5)));
        q.remove(PeerId(7));
        q.remove(PeerId(7));
        assert!(q.is_empty());
        assert_eq!(q.next_deadline(), None);
        assert_eq!(q.pop_due(at(100)), None);
    }

    /// Random operations against a plain list of deadlines: same answers every step.
    #[test]
    fn matches_a_naive_model() {
        let mut rng = TestEntropy::new(0x7e);
        for round in 0..20 {
            let peers = 1 + (rng.next_u32() % 200) as usize;
            let mut q = DeadlineQueue::new();
            let mut model: Vec<Option<Instant>> = vec![None; peers];
            let mut now = 0u64;
            for step in 0..5_000 {
                let peer = (rng.next_u32() as usize) % peers;
                match rng.next_u32() % 8 {
                    0 => {
                        q.set(PeerId(peer as u32), None);
                        model[peer] = None;
                    }
                    1..=5 => {
                        // Near `now`, sometimes in the past, often moving an existing one.
                        let t = at(now + u64::from(rng.next_u32() % 1_000))
                            .saturating_add(Duration::from_millis(u64::from(rng.next_u32() % 3)));
                        let t = if rng.next_u32() % 10 == 0 {
                            at(now / 2)
                        } else {
                            t
                        };
                        q.set(PeerId(peer as u32), Some(t));
                        model[peer] = Some(t);
                    }
                    _ => {
                        now += u64::from(rng.next_u32() % 300);
                        let expected = model
                            .iter()
                            .enumerate()
                            .filter_map(|(p, d)| d.filter(|d| *d <= at(now)).map(|d| (d, p)))
                            .min();
                        let popped = q.pop_due(at(now));
                        assert_eq!(
                            popped.map(|p| p.index()),
                            expected.map(|(_, p)| p),
                            "round {round} step {step}"
                        );
                        if let Some((_, p)) = expected {
                            model[p] = None;
                        }
                    }
                }
                let min = model.iter().flatten().min().copied();
                assert_eq!(q.next_deadline(), min, "round {round} step {step}");
                let scheduled = model.iter().filter(|d| d.is_some()).count();
                assert_eq!(q.len(), scheduled);
                assert!(q.heap_len() <= 2 * scheduled + COMPACTION_SLACK);
                for (p, d) in model.iter().enumerate() {
                    assert_eq!(q.deadline(PeerId(p as u32)), *d);
                }
            }
        }
    }
}
