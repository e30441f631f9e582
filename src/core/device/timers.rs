//! The per-peer timers of `core::timers`, for every peer at once: each peer's earliest deadline is
//! filed in one `DeadlineQueue`, so the next wake-up is a peek and a timeout visits only the peers
//! that are due, never all of them.

use super::handshake::forget_indices;
use super::{Device, Event, peer_mut};
use crate::core::entropy::Entropy;
use crate::core::peer_id::PeerId;
use crate::core::time::Instant;

impl<E: Entropy> Device<E> {
    /// When [`Device::handle_timeout`] should run next. O(1).
    pub(crate) fn poll_timeout(&self) -> Option<Instant> {
        self.deadlines.next_deadline()
    }

    /// Runs the timers of every peer due at `now`: retransmissions, keepalives, dead-peer
    /// handshakes, key erasure. What they send is built by the next `poll_transmit`. Costs
    /// O(log n) per due peer.
    pub(crate) fn handle_timeout(&mut self, now: Instant) {
        // A peer is refiled with a deadline after `now` (every timer re-arms into the future), so
        // each due peer comes up once; the bound only guards against a timer that would not.
        let mut budget = self.peer_table.len() + 1;
        while budget > 0 {
            let Some(id) = self.deadlines.pop_due(now) else {
                break;
            };
            budget -= 1;
            self.peer_timeout(id, now);
        }
    }

    fn peer_timeout(&mut self, id: PeerId, now: Instant) {
        let Some(state) = peer_mut(&mut self.peers, id) else {
            return;
        };
        let outcome = state.peer.handle_timeout(now);
        let actions = outcome.actions;
        let erased = !outcome.dropped_indices.is_empty() || outcome.dropped_handshake.is_some();
        if actions.zero_key_material && erased {
            state.up = false;
        }
        forget_indices(&mut self.indices, outcome.dropped_indices);
        if let Some(handshake) = outcome.dropped_handshake {
            self.indices.remove(handshake.sender_index());
        }
        if actions.zero_key_material && erased {
            self.events.push(Event::SessionsZeroed { peer: id });
        }
        self.endpoint_changed(id, outcome.endpoint_changed);
        if actions.handshake_given_up {
            self.events.push(Event::HandshakeGivenUp { peer: id });
        }
        if actions.send_initiation {
            self.queue_initiation(id);
        }
        if actions.send_keepalive {
            self.queue_keepalive(id);
        }
        self.refile(id);
    }

    /// Files peer `id`'s next deadline; call after anything touched its timers.
    pub(super) fn refile(&mut self, id: PeerId) {
        let deadline = self
            .peers
            .get(id.index())
            .and_then(Option::as_ref)
            .and_then(|state| state.peer.poll_timeout());
        self.deadlines.set(id, deadline);
    }
}
