//! Handshake messages in and initiations out: the device's glue to `core::noise`.
//!
//! Every handshake message first passes [`Device::screen`] (source rate limit, mac1, and under load
//! mac2 or a cookie reply), so that nothing costlier than a BLAKE2s is spent on a datagram that
//! fails them. The noise functions change no state; the device commits a message's effects only
//! once every check passed.

use core::net::SocketAddr;

use super::{Device, Event, IndexEntry, IndexKind, peer_mut};
use crate::core::consts::INITIATION_MIN_INTERVAL;
use crate::core::entropy::{Entropy, random_u32};
use crate::core::index_table::{IndexInsertError, IndexTable};
use crate::core::keypair::Keypair;
use crate::core::noise::messages::{
    COOKIE_REPLY_LEN, CookieReply, HandshakeMessage, INITIATION_LEN, Initiation, RESPONSE_LEN,
    Response,
};
use crate::core::noise::tai64n::WHITENING_GRANULARITY_NS;
use crate::core::noise::{CookieChecker, MacCheck, Tai64N, create_initiation, identify_initiation};
use crate::core::peer_id::PeerId;
use crate::core::roaming::EndpointChange;
use crate::core::sessions::LocalIndices;
use crate::core::stats::DropReason;
use crate::core::time::{Instant, WallTime};
use crate::core::transmit::{Received, Transmit};

/// Draws for a free receiver index before giving up. The table is at most half full, so each draw
/// is free with probability at least 1/2 (in practice all but certain: 2^32 indices).
const INDEX_DRAWS: usize = 32;

/// A random receiver index not in use, registered for `entry`; `None` if the table is full.
pub(super) fn fresh_index(
    indices: &mut IndexTable<IndexEntry>,
    entropy: &mut impl Entropy,
    entry: IndexEntry,
) -> Option<u32> {
    for _ in 0..INDEX_DRAWS {
        let index = random_u32(entropy);
        match indices.insert(index, entry) {
            Ok(()) => return Some(index),
            Err(IndexInsertError::Taken) => continue,
            Err(IndexInsertError::Full) => return None,
        }
    }
    None
}

/// Removes indices of sessions a rotation or erasure dropped.
pub(super) fn forget_indices(indices: &mut IndexTable<IndexEntry>, dropped: LocalIndices) {
    for &index in dropped.as_slice() {
        indices.remove(index);
    }
}

impl<E: Entropy> Device<E> {
    /// The checks every handshake message passes before any Diffie-Hellman: a private key to
    /// answer with, the source's rate limit, mac1, and under load mac2 (without it the sender gets
    /// a cookie reply, queued for `poll_transmit`, and the message goes no further).
    fn screen(
        &mut self,
        now: Instant,
        from: SocketAddr,
        message: &impl HandshakeMessage,
    ) -> Result<(), DropReason> {
        if self.private_key.is_zero() {
            return Err(DropReason::NoPrivateKey);
        }
        if !self.limiter.allow(now, from.ip()) {
            return Err(DropReason::RateLimited);
        }
        let under_load = self.load.is_under_load(now);
        let check = if under_load {
            self.cookie_checker
                .check(&self.identity, now, message, &from)
        } else if CookieChecker::check_mac1(&self.identity, message) {
            MacCheck::Mac1OkNoMac2
        } else {
            MacCheck::Mac1Bad
        };
        if check == MacCheck::Mac1Bad {
            return Err(DropReason::BadMac1);
        }
        self.load.record(now);
        if under_load && check != MacCheck::Mac2Ok {
            let mut reply = [0u8; COOKIE_REPLY_LEN];
            if self.outbox.has_room() {
                self.cookie_checker.create_reply(
                    &self.identity,
                    now,
                    &mut self.entropy,
                    message,
                    &from,
                    &mut reply,
                );
                self.outbox.push(from, &reply);
                self.stats.cookie_replies_sent += 1;
            }
            return Err(DropReason::CookieRequired);
        }
        Ok(())
    }

    /// An initiation (148 bytes, checked by `classify`): answered with a response if it comes from a
    /// configured peer, is newer than the last one accepted from it and respects its flood limit.
    pub(super) fn receive_initiation(
        &mut self,
        now: Instant,
        from: SocketAddr,
        datagram: &[u8],
    ) -> Result<Received, DropReason> {
        let message = Initiation::new_checked(datagram).map_err(|_| DropReason::Malformed)?;
        self.screen(now, from, &message)?;
        if !self.outbox.has_room() {
            return Err(DropReason::ControlQueueFull);
        }
        let identified = identify_initiation(&self.identity, &message)
            .map_err(|_| DropReason::HandshakeAuthFailed)?;
        // Unknown static key: drop without an answer, so the interface reveals nothing.
        let id = self
            .peer_table
            .get(identified.remote_static())
            .ok_or(DropReason::UnknownPeer)?;
        let Some(state) = peer_mut(&mut self.peers, id) else {
            return Err(DropReason::UnknownPeer);
        };
        let consumed = identified
            .open_timestamp(&state.keys)
            .map_err(|_| DropReason::HandshakeAuthFailed)?;
        if !consumed.timestamp().is_newer_than(&state.newest_timestamp) {
            return Err(DropReason::HandshakeReplay);
        }
        if state
            .last_initiation_accepted
            .is_some_and(|at| now.saturating_since(at) < INITIATION_MIN_INTERVAL)
        {
            return Err(DropReason::HandshakeRateLimited);
        }
        let entry = IndexEntry {
            peer: id,
            kind: IndexKind::Session,
        };
        let index = fresh_index(&mut self.indices, &mut self.entropy, entry)
            .ok_or(DropReason::ControlQueueFull)?;
        let mut response = [0u8; RESPONSE_LEN];
        let timestamp = consumed.timestamp();
        let keys = match consumed.create_response(
            &state.keys,
            &mut state.cookie,
            index,
            now,
            &mut self.entropy,
            &mut response,
        ) {
            Ok(keys) => keys,
            Err(_) => {
                self.indices.remove(index);
                return Err(DropReason::HandshakeAuthFailed);
            }
        };

        // Authenticated, fresh and answerable: commit.
        state.newest_timestamp = timestamp;
        state.last_initiation_accepted = Some(now);
        let moved = state.peer.initiation_received(now, from, INITIATION_LEN);
        let dropped = state
            .peer
            .response_sent(now, RESPONSE_LEN, Keypair::new(keys, now));
        forget_indices(&mut self.indices, dropped);
        self.outbox.push(from, &response);
        self.endpoint_changed(id, moved);
        self.refile(id);
        Ok(Received::Control)
    }

    /// A response (92 bytes): completes our initiation if it answers the one in flight.
    pub(super) fn receive_response(
        &mut self,
        now: Instant,
        from: SocketAddr,
        datagram: &[u8],
    ) -> Result<Received, DropReason> {
        let message = Response::new_checked(datagram).map_err(|_| DropReason::Malformed)?;
        self.screen(now, from, &message)?;
        let index = message.receiver_index();
        let id = match self.indices.get(index) {
            Some(IndexEntry {
                peer,
                kind: IndexKind::Handshake,
            }) => peer,
            _ => return Err(DropReason::UnexpectedResponse),
        };
        let Some(state) = peer_mut(&mut self.peers, id) else {
            return Err(DropReason::UnexpectedResponse);
        };
        let Some(initiation) = state
            .peer
            .handshake
            .as_ref()
            .filter(|h| h.sender_index() == index)
        else {
            return Err(DropReason::UnexpectedResponse);
        };
        let keys = initiation
            .consume_response(&self.identity, &state.keys, &message)
            .map_err(|_| DropReason::HandshakeAuthFailed)?;

        // Authenticated: the handshake's index becomes the session's.
        state.peer.handshake = None;
        self.indices.replace(
            index,
            IndexEntry {
                peer: id,
                kind: IndexKind::Session,
            },
        );
        let installed =
            state
                .peer
                .response_received(now, from, RESPONSE_LEN, Keypair::new(keys, now));
        forget_indices(&mut self.indices, installed.dropped_indices);
        self.endpoint_changed(id, installed.endpoint_changed);
        self.handshake_complete(id, from);
        // Confirm the session to the responder at once: it sends nothing under it before our
        // first message under it arrives (paper §6.1).
        self.queue_keepalive(id);
        self.refile(id);
        Ok(Received::Control)
    }

    /// A cookie reply (64 bytes): the cookie for mac2 of our next message to that peer.
    pub(super) fn receive_cookie_reply(
        &mut self,
        now: Instant,
        from: SocketAddr,
        datagram: &[u8],
    ) -> Result<Received, DropReason> {
        let message = CookieReply::new_checked(datagram).map_err(|_| DropReason::Malformed)?;
        if !self.limiter.allow(now, from.ip()) {
            return Err(DropReason::RateLimited);
        }
        let id = self
            .indices
            .get(message.receiver_index())
            .map(|entry| entry.peer)
            .ok_or(DropReason::BadCookieReply)?;
        let state = peer_mut(&mut self.peers, id).ok_or(DropReason::BadCookieReply)?;
        state
            .cookie
            .consume_reply(&state.keys, now, &message)
            .map_err(|_| DropReason::BadCookieReply)?;
        Ok(Received::Control)
    }

    /// Builds an initiation to peer `id` into `buf` (at least `INITIATION_LEN` bytes), stamped with
    /// `wall`. `None` if the interface has no private key, the peer has no address, is within the
    /// one-per-`REKEY_TIMEOUT` limit, or no index is free.
    pub(super) fn send_initiation(
        &mut self,
        id: PeerId,
        now: Instant,
        wall: WallTime,
        buf: &mut [u8],
    ) -> Option<Transmit> {
        if self.private_key.is_zero() {
            return None;
        }
        let out: &mut [u8; INITIATION_LEN] = buf.get_mut(..INITIATION_LEN)?.try_into().ok()?;
        let state = peer_mut(&mut self.peers, id)?;
        let dst = state.peer.endpoint()?;
        if state.peer.timers().is_rate_limited(now) {
            return None;
        }
        let entry = IndexEntry {
            peer: id,
            kind: IndexKind::Handshake,
        };
        let index = fresh_index(&mut self.indices, &mut self.entropy, entry)?;
        // Strictly later than the last one sent, even if the wall clock went back: the peer
        // refuses a timestamp that is not newer than the last it accepted from us.
        let unix_nanos = wall.as_unix_nanos().max(
            state
                .last_timestamp_sent
                .saturating_add(u64::from(WHITENING_GRANULARITY_NS)),
        );
        let initiation = match create_initiation(
            &state.keys,
            &mut state.cookie,
            index,
            Tai64N::from_unix_nanos(unix_nanos),
            now,
            &mut self.entropy,
            out,
        ) {
            Ok(initiation) => initiation,
            Err(_) => {
                self.indices.remove(index);
                return None;
            }
        };
        state.last_timestamp_sent = unix_nanos;
        if let Some(old) = state.peer.handshake.replace(initiation) {
            self.indices.remove(old.sender_index());
        }
        let attempt = state.peer.timers().handshake_attempts() + 1;
        state
            .peer
            .initiation_sent(now, INITIATION_LEN, &mut self.entropy);
        self.stats.handshakes_initiated += 1;
        self.events.push(Event::HandshakeSent {
            peer: id,
            endpoint: dst,
            attempt,
        });
        self.refile(id);
        Some(Transmit {
            dst,
            len: INITIATION_LEN,
        })
    }

    /// A handshake completed with peer `id`, whose endpoint is `endpoint` now.
    pub(super) fn handshake_complete(&mut self, id: PeerId, endpoint: SocketAddr) {
        let Some(state) = peer_mut(&mut self.peers, id) else {
            return;
        };
        let first = !state.up;
        state.up = true;
        self.stats.handshakes_completed += 1;
        self.events.push(Event::HandshakeComplete {
            peer: id,
            endpoint,
            first,
        });
    }

    pub(super) fn endpoint_changed(&mut self, id: PeerId, change: Option<EndpointChange>) {
        if let Some(EndpointChange { from, to }) = change {
            self.events
                .push(Event::EndpointChanged { peer: id, from, to });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hands out the given 32-bit words, in order.
    struct Words(Vec<u32>);

    impl Entropy for Words {
        fn fill(&mut self, buf: &mut [u8]) {
            let word = self.0.remove(0);
            buf.copy_from_slice(&word.to_le_bytes()[..buf.len()]);
        }
    }

    fn entry(peer: u32) -> IndexEntry {
        IndexEntry {
            peer: PeerId(peer),
            kind: IndexKind::Session,
        }
    }

    #[test]
    fn a_taken_index_is_drawn_again_and_a_full_table_gives_none() {
        let mut indices = IndexTable::with_capacity(2);
        let mut words = Words(vec![7, 7, 7, 9, 7, 11]);
        assert_eq!(fresh_index(&mut indices, &mut words, entry(0)), Some(7));
        assert_eq!(fresh_index(&mut indices, &mut words, entry(1)), Some(9));
        assert_eq!(indices.get(9), Some(entry(1)));
        assert_eq!(
            fresh_index(&mut indices, &mut words, entry(2)),
            None,
            "full"
        );
        forget_indices(&mut indices, LocalIndices::default());
        assert_eq!(indices.len(), 2);
        // Always taken: gives up after a bounded number of draws.
        let mut indices = IndexTable::with_capacity(8);
        indices.insert(5, entry(0)).unwrap();
        let mut words = Words(vec![5; INDEX_DRAWS]);
        assert_eq!(fresh_index(&mut indices, &mut words, entry(1)), None);
    }
}
