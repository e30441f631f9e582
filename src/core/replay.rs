//! RFC 6479 sliding-window replay filter, as in WireGuard: a ring of 64-bit words; accepts any
//! counter newer than the newest seen, and older ones within `WINDOW_SIZE` exactly once.
//!
//! Same decisions as wireguard-go's `replay.go` (without its upper limit, which the session
//! enforces): the state starts as if counter 0 were the newest, so 0 is acceptable first.

/// Bits in the ring.
pub(crate) const RING_BITS: usize = 8192;
/// How far behind the newest counter a packet may arrive and still be accepted once.
/// One word of the ring is always being recycled, hence the 64 (8128, as wireguard-go).
pub const WINDOW_SIZE: u64 = (RING_BITS - 64) as u64;

const WORD_BITS_LOG2: u32 = 6;
const WORD_BITS: u64 = 1 << WORD_BITS_LOG2;
const RING_WORDS: usize = RING_BITS / 64;
/// `RING_WORDS` is a power of two, so a word number masks down to its ring slot.
const RING_MASK: u64 = RING_WORDS as u64 - 1;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReplayWindow {
    ring: [u64; RING_WORDS],
    /// Greatest counter accepted so far (0 when nothing has been accepted yet; counter 0 is then
    /// still acceptable because its bit is clear).
    greatest: u64,
}

/// Ring slot and bit mask of `counter`.
fn slot_and_bit(counter: u64) -> (usize, u64) {
    // The mask keeps the slot below RING_WORDS, so the cast and the index are in bounds.
    let slot = ((counter >> WORD_BITS_LOG2) & RING_MASK) as usize;
    (slot, 1u64 << (counter & (WORD_BITS - 1)))
}

impl ReplayWindow {
    pub const fn new() -> Self {
        ReplayWindow {
            ring: [0; RING_WORDS],
            greatest: 0,
        }
    }

    /// Would `counter` be accepted? Changes nothing, so it may run before authentication to drop
    /// obvious replays cheaply.
    pub fn would_accept(&self, counter: u64) -> bool {
        if counter > self.greatest {
            // Moving forward clears the counter's word (see `accept`), so its bit will be free.
            return true;
        }
        if self.greatest - counter > WINDOW_SIZE {
            return false;
        }
        let (slot, bit) = slot_and_bit(counter);
        self.ring[slot] & bit == 0
    }

    /// Records `counter` of an authenticated packet; false if it is a replay or too old.
    pub fn accept(&mut self, counter: u64) -> bool {
        if counter > self.greatest {
            let current_word = self.greatest >> WORD_BITS_LOG2;
            let new_word = counter >> WORD_BITS_LOG2;
            // Clearing more than the whole ring is pointless; the cap also bounds the loop on jumps.
            let words_to_clear = (new_word - current_word).min(RING_WORDS as u64);
            // No overflow: current_word <= u64::MAX >> 6, and words_to_clear <= 128.
            for word in current_word + 1..=current_word + words_to_clear {
                self.ring[(word & RING_MASK) as usize] = 0;
            }
            self.greatest = counter;
        } else if self.greatest - counter > WINDOW_SIZE {
            return false;
        }
        let (slot, bit) = slot_and_bit(counter);
        let old = self.ring[slot];
        self.ring[slot] = old | bit;
        old & bit == 0
    }
}

impl Default for ReplayWindow {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `accept`, checking first that `would_accept` predicted it and changed nothing.
    fn accept(window: &mut ReplayWindow, counter: u64) -> bool {
        let predicted = window.would_accept(counter);
        assert_eq!(window.would_accept(counter), predicted);
        let accepted = window.accept(counter);
        assert_eq!(predicted, accepted, "would_accept mispredicted {counter}");
        accepted
    }

    #[test]
    fn first_packet_zero_then_duplicates() {
        let mut w = ReplayWindow::new();
        assert!(accept(&mut w, 0));
        assert!(!accept(&mut w, 0));
        assert!(accept(&mut w, 1));
        assert!(!accept(&mut w, 1));
        assert!(!accept(&mut w, 0));
    }

    #[test]
    fn first_packet_nonzero_then_older_within_window() {
        let mut w = ReplayWindow::new();
        assert!(accept(&mut w, 100));
        assert!(accept(&mut w, 0));
        assert!(accept(&mut w, 99));
        assert!(!accept(&mut w, 99));
        assert!(!accept(&mut w, 100));
    }

    #[test]
    fn in_order_and_reordered() {
        let mut w = ReplayWindow::new();
        for c in 0..20_000u64 {
            assert!(accept(&mut w, c));
        }
        for c in 0..20_000u64 {
            assert!(!accept(&mut w, c));
        }
        let mut w = ReplayWindow::new();
        for pair in (0..20_000u64).step_by(2) {
            assert!(accept(&mut w, pair + 1));
            assert!(accept(&mut w, pair));
        }
    }

    #[test]
    fn window_edge() {
        let mut w = ReplayWindow::new();
        let greatest = 3 * WINDOW_SIZE + 17;
        assert!(accept(&mut w, greatest));
        assert!(!accept(&mut w, greatest - WINDOW_SIZE - 1));
        assert!(accept(&mut w, greatest - WINDOW_SIZE));
        assert!(!accept(&mut w, greatest - WINDOW_SIZE));

        // The same with every alignment of the newest counter inside its word.
        for offset in 0..64 {
            let mut w = ReplayWindow::new();
            let greatest = WINDOW_SIZE + 1000 + offset;
            assert!(accept(&mut w, greatest));
            assert!(
                !accept(&mut w, greatest - WINDOW_SIZE - 1),
                "offset {offset}"
            );
            for c in greatest - WINDOW_SIZE..greatest {
                assert!(accept(&mut w, c), "offset {offset} counter {c}");
            }
            for c in greatest - WINDOW_SIZE - 200..=greatest {
                assert!(!accept(&mut w, c), "offset {offset} counter {c}");
            }
        }
    }

    #[test]
    fn window_slides_forgetting_old_and_clearing_reused_words() {
        let mut w = ReplayWindow::new();
        for c in 0..=WINDOW_SIZE {
            assert!(accept(&mut w, c));
        }
        // Sliding by one word pushes counter 0..=63 out and recycles their word.
        assert!(accept(&mut w, WINDOW_SIZE + 64));
        assert!(!accept(&mut w, 0));
        // Counters in the recycled word, now ahead of the window, are fresh.
        for c in WINDOW_SIZE + 1..WINDOW_SIZE + 64 {
            assert!(accept(&mut w, c), "counter {c}");
        }
    }

    #[test]
    fn big_jumps_forward() {
        let mut w = ReplayWindow::new();
        for c in 0..500 {
            assert!(accept(&mut w, c));
        }
        let far = 1_000_000_007u64;
        assert!(accept(&mut w, far));
        assert!(!accept(&mut w, 499));
        assert!(!accept(&mut w, far));
        // Every slot was cleared: everything inside the new window is acceptable exactly once.
        for c in far - WINDOW_SIZE..far {
            assert!(accept(&mut w, c), "counter {c}");
        }
        // A jump by exactly the ring size in words, and by one word more than the ring.
        let mut w = ReplayWindow::new();
        assert!(accept(&mut w, 5));
        assert!(accept(&mut w, 5 + RING_BITS as u64));
        assert!(!accept(&mut w, 5));
        assert!(accept(&mut w, 5 + 2 * RING_BITS as u64 + 64));
        assert!(accept(&mut w, 5 + RING_BITS as u64 + 64 + 1000));
    }

    #[test]
    fn counters_near_u64_max() {
        let mut w = ReplayWindow::new();
        assert!(accept(&mut w, u64::MAX - 1));
        assert!(!accept(&mut w, 0));
        assert!(accept(&mut w, u64::MAX));
        assert!(!accept(&mut w, u64::MAX));
        assert!(!accept(&mut w, u64::MAX - 1));
        assert!(accept(&mut w, u64::MAX - WINDOW_SIZE));
        assert!(!accept(&mut w, u64::MAX - WINDOW_SIZE - 1));
        assert!(accept(&mut w, u64::MAX - 2));

        let mut w = ReplayWindow::new();
        assert!(accept(&mut w, u64::MAX));
        assert!(!accept(&mut w, u64::MAX));
        assert!(accept(&mut w, u64::MAX - 64));
    }
}
