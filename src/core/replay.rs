//! RFC 6479 sliding-window replay filter, as in WireGuard: a ring of 64-bit words; accepts any
//! counter newer than the newest seen, and older ones within `WINDOW_SIZE` exactly once.

/// Bits in the ring.
pub const RING_BITS: usize = 8192;
/// How far behind the newest counter a packet may arrive and still be accepted once.
/// One word of the ring is always being recycled, hence the 64 (8128, as wireguard-go).
pub const WINDOW_SIZE: u64 = (RING_BITS - 64) as u64;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReplayWindow {
    ring: [u64; RING_BITS / 64],
    /// Greatest counter accepted so far plus one (0: nothing accepted yet).
    next: u64,
}

impl ReplayWindow {
    pub const fn new() -> Self {
        ReplayWindow {
            ring: [0; RING_BITS / 64],
            next: 0,
        }
    }

    /// Would `counter` be accepted? Changes nothing, so it may run before authentication to drop
    /// obvious replays cheaply.
    pub fn would_accept(&self, counter: u64) -> bool {
        let _ = counter;
        todo!("helper A")
    }

    /// Records `counter` of an authenticated packet; false if it is a replay or too old.
    pub fn accept(&mut self, counter: u64) -> bool {
        let _ = (counter, &mut self.ring, self.next);
        todo!("helper A")
    }
}

impl Default for ReplayWindow {
    fn default() -> Self {
        Self::new()
    }
}
