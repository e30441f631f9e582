//! A peer's three session slots and how a new session rotates through them (wireguard-go's
//! `BeginSymmetricSession` / `ReceivedWithKeypair`, the kernel's `noise.c` keypair handling).
//!
//! - `current`: what we send with.
//! - `previous`: the session before, kept so that packets still in flight under it open.
//! - `next`: the responder's newest session, not yet confirmed. The responder cannot know that its
//!   handshake response arrived, so it keeps sending with `current` until the initiator's first
//!   data (or keepalive) under `next` arrives; then `next` becomes `current`.
//!
//! Every rotation returns the local indices of the sessions it dropped ([`LocalIndices`]): the endpoint
//! removes them from its index table. Dropped sessions erase their keys.

use super::keypair::Keypair;

/// Which slot a session sits in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Slot {
    Current,
    Previous,
    Next,
}

impl Slot {
    pub(crate) const ALL: [Slot; 3] = [Slot::Current, Slot::Previous, Slot::Next];
}

/// Local indices of up to three sessions: those a rotation dropped, or those a peer holds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct LocalIndices {
    indices: [u32; Slot::ALL.len()],
    len: usize,
}

impl LocalIndices {
    fn push(&mut self, index: u32) {
        // Three slots, so at most three pushes.
        if let Some(free) = self.indices.get_mut(self.len) {
            *free = index;
            self.len += 1;
        }
    }

    /// Records a session the rotation dropped (its keys are erased as it goes out of scope here).
    fn push_dropped(&mut self, dropped: Option<Box<Keypair>>) {
        if let Some(keypair) = dropped {
            self.push(keypair.local_index());
        }
    }

    pub(crate) fn as_slice(&self) -> &[u32] {
        &self.indices[..self.len]
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// Each slot holds its session boxed: a `Keypair` carries a 1 KiB replay window, and most peers of
/// a large interface have no session at all most of the time, so an empty slot costs 8 bytes
/// instead of a keypair's size. The box is allocated per handshake (every two minutes per active
/// peer), never per packet.
#[derive(Debug, Default)]
pub(crate) struct Sessions {
    current: Option<Box<Keypair>>,
    previous: Option<Box<Keypair>>,
    next: Option<Box<Keypair>>,
}

impl Sessions {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// The session to send with, if any (it may be too old to use: see `Keypair::can_send`).
    pub(crate) fn current(&self) -> Option<&Keypair> {
        self.current.as_deref()
    }

    pub(crate) fn current_mut(&mut self) -> Option<&mut Keypair> {
        self.current.as_deref_mut()
    }

    pub(crate) fn get(&self, slot: Slot) -> Option<&Keypair> {
        match slot {
            Slot::Current => self.current.as_deref(),
            Slot::Previous => self.previous.as_deref(),
            Slot::Next => self.next.as_deref(),
        }
    }

    /// The session whose local index is `local_index`, for an arriving data message.
    pub(crate) fn find_mut(&mut self, local_index: u32) -> Option<(Slot, &mut Keypair)> {
        [
            (Slot::Current, &mut self.current),
            (Slot::Previous, &mut self.previous),
            (Slot::Next, &mut self.next),
        ]
        .into_iter()
        .find_map(|(slot, keypair)| {
            keypair
                .as_deref_mut()
                .filter(|k| k.local_index() == local_index)
                .map(|k| (slot, k))
        })
    }

    /// We initiated and received the response: the new session is confirmed (the response proved
    /// the peer has it) and becomes `current` at once. The old `current` becomes `previous`; if an
    /// unconfirmed `next` existed it is newer than `current`, so it becomes `previous` instead and
    /// the old `current` is dropped.
    pub(crate) fn install_as_initiator(&mut self, keypair: Keypair) -> LocalIndices {
        let mut evicted = LocalIndices::default();
        let old_current = self.current.replace(Box::new(keypair));
        let old_previous = match self.next.take() {
            Some(next) => {
                evicted.push_dropped(old_current);
                self.previous.replace(next)
            }
            None => core::mem::replace(&mut self.previous, old_current),
        };
        evicted.push_dropped(old_previous);
        evicted
    }

    /// We responded: the new session waits in `next` until the initiator uses it. `current` stays;
    /// `previous` and any older `next` are dropped.
    pub(crate) fn install_as_responder(&mut self, keypair: Keypair) -> LocalIndices {
        let mut evicted = LocalIndices::default();
        evicted.push_dropped(self.next.replace(Box::new(keypair)));
        evicted.push_dropped(self.previous.take());
        evicted
    }

    /// Data authenticated under `next` arrived: it becomes `current`, `current` becomes
    /// `previous`. `None` if `local_index` is not `next`'s (nothing changes).
    pub(crate) fn confirm_next(&mut self, local_index: u32) -> Option<LocalIndices> {
        if self.next.as_ref()?.local_index() != local_index {
            return None;
        }
        let next = self.next.take()?;
        let mut evicted = LocalIndices::default();
        let old_current = self.current.replace(next);
        evicted.push_dropped(core::mem::replace(&mut self.previous, old_current));
        Some(evicted)
    }

    /// Drops every session (key material zeroing, peer removal).
    pub(crate) fn clear(&mut self) -> LocalIndices {
        let mut evicted = LocalIndices::default();
        evicted.push_dropped(self.current.take());
        evicted.push_dropped(self.previous.take());
        evicted.push_dropped(self.next.take());
        evicted
    }

    #[cfg(test)]
    pub(crate) fn is_empty(&self) -> bool {
        self.current.is_none() && self.previous.is_none() && self.next.is_none()
    }

    /// Local indices of every held session (to register or audit the index table).
    #[cfg(test)]
    pub(crate) fn local_indices(&self) -> LocalIndices {
        let mut all = LocalIndices::default();
        for keypair in [&self.current, &self.previous, &self.next]
            .into_iter()
            .flatten()
        {
            all.push(keypair.local_index());
        }
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::noise::SessionKeys;
    use crate::core::time::Instant;

    fn kp(local_index: u32, is_initiator: bool) -> Keypair {
        let keys = SessionKeys::new(
            [1; 32],
            [2; 32],
            local_index,
            1000 + local_index,
            is_initiator,
        );
        Keypair::new(keys, Instant::ZERO)
    }

    /// Local indices in (current, previous, next).
    fn slots(s: &Sessions) -> [Option<u32>; Slot::ALL.len()] {
        Slot::ALL.map(|slot| s.get(slot).map(Keypair::local_index))
    }

    #[test]
    fn initiator_rotation() {
        let mut s = Sessions::new();
        assert!(s.install_as_initiator(kp(1, true)).is_empty());
        assert_eq!(slots(&s), [Some(1), None, None]);
        assert!(s.install_as_initiator(kp(2, true)).is_empty());
        assert_eq!(slots(&s), [Some(2), Some(1), None]);
        assert_eq!(s.install_as_initiator(kp(3, true)).as_slice(), [1]);
        assert_eq!(slots(&s), [Some(3), Some(2), None]);
    }

    #[test]
    fn responder_waits_for_confirmation() {
        let mut s = Sessions::new();
        s.install_as_initiator(kp(1, true));
        s.install_as_initiator(kp(2, true));
        // Responding drops `previous`; `current` keeps sending.
        assert_eq!(s.install_as_responder(kp(3, false)).as_slice(), [1]);
        assert_eq!(slots(&s), [Some(2), None, Some(3)]);
        // A newer response replaces the unconfirmed one.
        assert_eq!(s.install_as_responder(kp(4, false)).as_slice(), [3]);
        assert_eq!(slots(&s), [Some(2), None, Some(4)]);
        // Data under `current` confirms nothing.
        assert_eq!(s.confirm_next(2), None);
        assert_eq!(s.confirm_next(99), None);
        assert_eq!(slots(&s), [Some(2), None, Some(4)]);
        // Data under `next` does.
        assert!(s.confirm_next(4).unwrap().is_empty());
        assert_eq!(slots(&s), [Some(4), Some(2), None]);
        assert_eq!(s.confirm_next(4), None, "only once");
    }

    #[test]
    fn confirmation_drops_the_old_previous() {
        let mut s = Sessions::new();
        s.install_as_responder(kp(1, false));
        assert_eq!(s.confirm_next(1).unwrap().as_slice(), [] as [u32; 0]);
        assert_eq!(slots(&s), [Some(1), None, None]);
        s.install_as_responder(kp(2, false));
        s.confirm_next(2).unwrap();
        assert_eq!(slots(&s), [Some(2), Some(1), None]);
        s.install_as_initiator(kp(3, true));
        assert_eq!(slots(&s), [Some(3), Some(2), None]);
        // Make `previous` exist, then confirm a responder session: the old previous goes.
        let mut s2 = Sessions::new();
        s2.install_as_initiator(kp(1, true));
        s2.install_as_initiator(kp(2, true));
        s2.next = Some(Box::new(kp(3, false)));
        assert_eq!(s2.confirm_next(3).unwrap().as_slice(), [1]);
        assert_eq!(slots(&s2), [Some(3), Some(2), None]);
    }

    #[test]
    fn initiating_while_a_response_is_unconfirmed() {
        // Both sides handshook at once: we hold an unconfirmed `next` (we responded) and then our
        // own initiation's response arrives. `next` is newer than `current`, so it is the one kept
        // as `previous`; the old `current` and `previous` go.
        let mut s = Sessions::new();
        s.install_as_initiator(kp(1, true));
        s.install_as_initiator(kp(2, true));
        s.next = Some(Box::new(kp(3, false)));
        let evicted = s.install_as_initiator(kp(4, true));
        let mut dropped = evicted.as_slice().to_vec();
        dropped.sort();
        assert_eq!(dropped, [1, 2]);
        assert_eq!(slots(&s), [Some(4), Some(3), None]);
    }

    #[test]
    fn find_and_clear() {
        let mut s = Sessions::new();
        s.install_as_initiator(kp(1, true));
        s.install_as_initiator(kp(2, true));
        s.install_as_responder(kp(3, false));
        s.install_as_initiator(kp(4, true));
        assert_eq!(slots(&s), [Some(4), Some(3), None]);
        assert_eq!(s.find_mut(4).map(|(slot, _)| slot), Some(Slot::Current));
        assert_eq!(s.find_mut(3).map(|(slot, _)| slot), Some(Slot::Previous));
        assert!(s.find_mut(2).is_none());
        s.install_as_responder(kp(5, false));
        assert_eq!(s.find_mut(5).map(|(slot, _)| slot), Some(Slot::Next));
        assert_eq!(s.local_indices().as_slice(), [4, 5]);
        let mut cleared = s.clear().as_slice().to_vec();
        cleared.sort();
        assert_eq!(cleared, [4, 5]);
        assert!(s.is_empty());
        assert!(s.clear().is_empty());
    }
}
