//! What the device tells the driver and the operator about: handshakes, address changes, keys
//! erased. A fixed-size queue, so that an event costs no allocation.

use core::net::SocketAddr;

use crate::core::peer_id::PeerId;

/// Something that happened to a peer. Peers are named by id; `Device::public_key` gives the key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    /// A handshake initiation went out to `peer` at `endpoint`; `attempt` counts from 1 within
    /// one handshake (retransmissions are 2, 3, ...).
    HandshakeSent {
        peer: PeerId,
        endpoint: SocketAddr,
        attempt: u32,
    },
    /// A handshake with `peer` completed: as initiator when its response arrived, as responder when
    /// the first data under the new session did. `first`: the peer had no session before (since it
    /// was added, or since its keys were erased): the session is up.
    HandshakeComplete {
        peer: PeerId,
        endpoint: SocketAddr,
        first: bool,
    },
    /// Datagrams to `peer` go to `to` now: it roamed, fell back to its configured endpoint, or the
    /// operator set one.
    EndpointChanged {
        peer: PeerId,
        from: Option<SocketAddr>,
        to: SocketAddr,
    },
    /// The handshake was retried `MAX_TIMER_HANDSHAKES` times without an answer; no more retries
    /// until traffic asks for one.
    HandshakeGivenUp { peer: PeerId },
    /// No new session for `3 * REJECT_AFTER_TIME`: every session key of `peer` was erased (the
    /// session is down).
    SessionsZeroed { peer: PeerId },
}

/// Events held for the driver; it drains them after every batch.
pub(crate) const EVENT_CAPACITY: usize = 64;

/// A fixed-size FIFO. When full the oldest event is dropped (and counted): the driver drains the
/// queue after every batch, so this happens only if it stops doing so.
#[derive(Debug)]
pub(crate) struct EventQueue {
    items: [Option<Event>; EVENT_CAPACITY],
    head: usize,
    len: usize,
    lost: u64,
}

impl EventQueue {
    pub(crate) fn new() -> Self {
        EventQueue {
            items: [None; EVENT_CAPACITY],
            head: 0,
            len: 0,
            lost: 0,
        }
    }

    pub(crate) fn push(&mut self, event: Event) {
        if self.len == EVENT_CAPACITY {
            self.head = (self.head + 1) % EVENT_CAPACITY;
            self.len -= 1;
            self.lost += 1;
        }
        self.items[(self.head + self.len) % EVENT_CAPACITY] = Some(event);
        self.len += 1;
    }

    pub(crate) fn pop(&mut self) -> Option<Event> {
        if self.len == 0 {
            return None;
        }
        let event = self.items[self.head].take();
        self.head = (self.head + 1) % EVENT_CAPACITY;
        self.len -= 1;
        event
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    #[cfg(test)]
    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Events dropped because the queue was full.
    #[cfg(test)]
    pub(crate) fn lost(&self) -> u64 {
        self.lost
    }
}

impl Default for EventQueue {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn given_up(n: u32) -> Event {
        Event::HandshakeGivenUp { peer: PeerId(n) }
    }

    #[test]
    fn fifo_that_drops_the_oldest_when_full() {
        let mut q = EventQueue::new();
        assert_eq!(q.pop(), None);
        for n in 0..EVENT_CAPACITY as u32 + 3 {
            q.push(given_up(n));
        }
        assert_eq!(q.len(), EVENT_CAPACITY);
        assert_eq!(q.lost(), 3);
        for n in 3..EVENT_CAPACITY as u32 + 3 {
            assert_eq!(q.pop(), Some(given_up(n)));
        }
        assert!(q.is_empty());
        q.push(given_up(7));
        assert_eq!(q.pop(), Some(given_up(7)));
    }
}
