//! What waits to be sent by `poll_transmit`: handshake responses and cookie replies already built
//! (a ring of fixed size), and the peers that owe an initiation or a keepalive (built when polled,
//! because an initiation needs the wall clock of that moment, and a keepalive the current session).

use core::net::SocketAddr;
use std::collections::VecDeque;

use crate::core::noise::messages::{COOKIE_REPLY_LEN, RESPONSE_LEN};
use crate::core::peer_id::PeerId;
use crate::core::transmit::Transmit;

/// Built messages held at once. A batch of the driver holds at most a few hundred datagrams, and
/// most handshake messages are answered by a response or a cookie reply, so the ring rarely
/// holds more than one batch's answers; when it is full, new handshakes are dropped unanswered
/// (`ControlQueueFull`), before they change anything.
pub(crate) const CONTROL_QUEUE_LEN: usize = 256;

/// The longest message held: a response (a cookie reply is shorter).
const HELD_LEN: usize = if RESPONSE_LEN > COOKIE_REPLY_LEN {
    RESPONSE_LEN
} else {
    COOKIE_REPLY_LEN
};

#[derive(Clone, Copy)]
struct Held {
    bytes: [u8; HELD_LEN],
    len: usize,
    dst: SocketAddr,
}

pub(crate) struct Outbox {
    ring: Box<[Held]>,
    head: usize,
    len: usize,
    /// Peers with an initiation or keepalive due, each at most once (the peer's own `queued` flag
    /// says whether it is here), so the queue never holds more than the number of peers.
    peers: VecDeque<PeerId>,
}

impl Outbox {
    pub(crate) fn new() -> Self {
        let blank = Held {
            bytes: [0; HELD_LEN],
            len: 0,
            dst: SocketAddr::from(([0, 0, 0, 0], 0)),
        };
        Outbox {
            ring: vec![blank; CONTROL_QUEUE_LEN].into_boxed_slice(),
            head: 0,
            len: 0,
            peers: VecDeque::new(),
        }
    }

    pub(crate) fn has_room(&self) -> bool {
        self.len < CONTROL_QUEUE_LEN
    }

    /// Messages held.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Holds `message` for `dst`; false (nothing held) if the ring is full or the message longer
    /// than a response.
    pub(crate) fn push(&mut self, dst: SocketAddr, message: &[u8]) -> bool {
        if !self.has_room() || message.len() > HELD_LEN {
            return false;
        }
        let at = (self.head + self.len) % CONTROL_QUEUE_LEN;
        let held = &mut self.ring[at];
        held.bytes[..message.len()].copy_from_slice(message);
        held.len = message.len();
        held.dst = dst;
        self.len += 1;
        true
    }

    /// Copies the oldest held message into `buf` and returns where it goes; `None` if nothing is
    /// held, or `buf` is too short (the message stays).
    pub(crate) fn pop(&mut self, buf: &mut [u8]) -> Option<Transmit> {
        if self.len == 0 {
            return None;
        }
        let held = &self.ring[self.head];
        buf.get_mut(..held.len)?
            .copy_from_slice(&held.bytes[..held.len]);
        let transmit = Transmit {
            dst: held.dst,
            len: held.len,
        };
        self.head = (self.head + 1) % CONTROL_QUEUE_LEN;
        self.len -= 1;
        Some(transmit)
    }

    /// Room for `peers` peers in the work queue, so that queueing never allocates on the data path.
    pub(crate) fn reserve_peers(&mut self, peers: usize) {
        self.peers.reserve(peers.saturating_sub(self.peers.len()));
    }

    /// `peer` has work; the caller queues each peer once (see its `queued` flag).
    pub(crate) fn push_peer(&mut self, peer: PeerId) {
        self.peers.push_back(peer);
    }

    pub(crate) fn pop_peer(&mut self) -> Option<PeerId> {
        self.peers.pop_front()
    }

    /// The peer was removed: its id may be handed out again, so its entry must go.
    pub(crate) fn forget_peer(&mut self, peer: PeerId) {
        self.peers.retain(|&p| p != peer);
    }

    /// Peers queued.
    pub(crate) fn peers_queued(&self) -> usize {
        self.peers.len()
    }
}

impl Default for Outbox {
    fn default() -> Self {
        Self::new()
    }
}

impl core::fmt::Debug for Outbox {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Outbox")
            .field("held", &self.len)
            .field("peers", &self.peers)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(port: u16) -> SocketAddr {
        SocketAddr::from(([192, 0, 2, 1], port))
    }

    #[test]
    fn ring_is_fifo_and_bounded() {
        let mut o = Outbox::new();
        let mut buf = [0u8; 200];
        assert_eq!(o.pop(&mut buf), None);
        for i in 0..CONTROL_QUEUE_LEN {
            assert!(o.push(addr(i as u16), &[i as u8; 64]));
        }
        assert!(!o.has_room());
        assert!(!o.push(addr(9), &[1; 64]));
        assert!(!Outbox::new().push(addr(9), &[1; HELD_LEN + 1]));
        for i in 0..CONTROL_QUEUE_LEN {
            let t = o.pop(&mut buf).unwrap();
            assert_eq!(
                t,
                Transmit {
                    dst: addr(i as u16),
                    len: 64
                }
            );
            assert_eq!(buf[..64], [i as u8; 64]);
        }
        assert_eq!(o.len(), 0);
        // A buffer too short keeps the message.
        o.push(addr(1), &[7; RESPONSE_LEN]);
        assert_eq!(o.pop(&mut [0u8; 10]), None);
        assert_eq!(o.pop(&mut buf).map(|t| t.len), Some(RESPONSE_LEN));
    }

    #[test]
    fn peer_queue_forgets_removed_peers() {
        let mut o = Outbox::new();
        o.reserve_peers(4);
        for p in [1, 2, 3, 2] {
            o.push_peer(PeerId(p));
        }
        o.forget_peer(PeerId(2));
        assert_eq!(o.pop_peer(), Some(PeerId(1)));
        assert_eq!(o.pop_peer(), Some(PeerId(3)));
        assert_eq!(o.pop_peer(), None);
    }
}
