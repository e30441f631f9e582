//! One WireGuard session: the handshake's [`SessionKeys`] (a key per direction, both indices), the
//! send counter and the replay window, and the rules for using them: limits, padding, replay.
//! The type-4 message layout is `noise::messages::Transport`, the AEAD step `noise::transport`.
//!
//! A nonce never repeats under a key: the counter is the nonce, it is taken and advanced before
//! anything is encrypted, a refused seal does not take it, and sealing stops at
//! `REJECT_AFTER_MESSAGES`, far below the wrap. Transport data is sealed with EMPTY associated data,
//! as in WireGuard (kernel `send.c`, wireguard-go `send.go` pass no AAD): a forged receiver index
//! finds no session or the wrong key, and a forged counter is the nonce, so both fail the tag.

use super::consts::{
    REJECT_AFTER_MESSAGES, REJECT_AFTER_TIME, REKEY_AFTER_MESSAGES, REKEY_AFTER_TIME,
};
use super::noise::consts::TAG_LEN;
use super::noise::messages::{TRANSPORT_HEADER_LEN as HEADER_LEN, Transport};
use super::noise::{SessionKeys, transport};
use super::replay::ReplayWindow;
use super::stats::DropReason;
use super::time::Instant;

/// Plaintext lengths are padded to a multiple of this (WireGuard's `MESSAGE_PADDING_MULTIPLE`).
#[cfg(test)]
pub(crate) const PADDING_MULTIPLE: usize = 16;

/// Whether `seal` pads the plaintext with zeros before encrypting it.
///
/// WireGuard pads each packet to a multiple of 16 bytes, capped at the MTU, so that the datagram
/// length reveals less about the inner packet. The cost: up to 15 more bytes on the wire per packet
/// (about 1 % of a full-size packet, more for small ones), the zeroing and encryption of those
/// bytes, and 15 bytes of tailroom the caller must provide. The receiver trims it by the inner IP
/// header's length, so peers that pad and peers that do not interoperate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Padding {
    None,
    /// Pad to a multiple of 16, but never past `mtu` (0: no cap).
    #[cfg(test)]
    ToMultipleOf16 {
        mtu: usize,
    },
}

/// Padding bytes WireGuard adds to a `len`-byte packet under a tunnel MTU of `mtu` (0: no cap).
/// A packet longer than the MTU (a segmentation-offload batch) is padded as its last segment would be.
#[cfg(test)]
pub(crate) fn padding_len(len: usize, mtu: usize) -> usize {
    // Written so that no length, however large, overflows.
    let to_next_multiple = |n: usize| (PADDING_MULTIPLE - n % PADDING_MULTIPLE) % PADDING_MULTIPLE;
    if mtu == 0 {
        return to_next_multiple(len);
    }
    let last_unit = if len > mtu { len % mtu } else { len };
    last_unit
        .saturating_add(to_next_multiple(last_unit))
        .min(mtu)
        - last_unit
}

/// A datagram sealed in the caller's buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Sealed {
    /// The datagram is `buf[..len]`: header, ciphertext (with padding), tag.
    pub(crate) len: usize,
    /// The session should be replaced: it has sent `REKEY_AFTER_MESSAGES` messages, or we initiated
    /// it and it is `REKEY_AFTER_TIME` old (WireGuard's send-side "keep key fresh").
    pub(crate) wants_rekey: bool,
}

pub(crate) struct Keypair {
    /// Keys and indices; wiped when the keypair is dropped.
    keys: SessionKeys,
    created: Instant,
    /// Counter of the next message sealed; equals the number of messages sealed so far.
    send_counter: u64,
    replay: ReplayWindow,
}

impl Keypair {
    /// A fresh session from a completed handshake, at `created`.
    pub(crate) fn new(keys: SessionKeys, created: Instant) -> Self {
        Keypair {
            keys,
            created,
            send_counter: 0,
            replay: ReplayWindow::new(),
        }
    }

    /// Ours: the peer puts it in what it sends us.
    pub(crate) fn local_index(&self) -> u32 {
        self.keys.local_index()
    }

    /// The peer's: we put it in what we send.
    pub(crate) fn remote_index(&self) -> u32 {
        self.keys.remote_index()
    }

    pub(crate) fn created(&self) -> Instant {
        self.created
    }

    pub(crate) fn is_initiator(&self) -> bool {
        self.keys.is_initiator()
    }

    /// The counters received so far (for state fingerprints in tests and fuzzing).
    pub(crate) fn replay_window(&self) -> &ReplayWindow {
        &self.replay
    }

    /// Messages sealed so far (also the counter the next one gets).
    pub(crate) fn send_counter(&self) -> u64 {
        self.send_counter
    }

    fn age(&self, now: Instant) -> core::time::Duration {
        now.saturating_since(self.created)
    }

    /// Could `seal` send now (the session is young enough and has counters left)?
    pub(crate) fn can_send(&self, now: Instant) -> bool {
        self.age(now) < REJECT_AFTER_TIME && self.send_counter < REJECT_AFTER_MESSAGES
    }

    /// Seals the plaintext at `buf[HEADER_LEN..HEADER_LEN + payload_len]` in place: pads it as
    /// `padding` says (zeroing the padding bytes), writes the header before it and the tag after.
    /// `buf` must hold `HEADER_LEN + payload_len + padding + TAG_LEN` bytes.
    ///
    /// Refused, with nothing changed: `Expired` at `REJECT_AFTER_TIME` or once the counter reached
    /// `REJECT_AFTER_MESSAGES`; `TooBig` if `buf` is too short.
    pub(crate) fn seal(
        &mut self,
        now: Instant,
        buf: &mut [u8],
        payload_len: usize,
        padding: Padding,
    ) -> Result<Sealed, DropReason> {
        if !self.can_send(now) {
            return Err(DropReason::Expired);
        }
        let padded_len = match padding {
            Padding::None => Some(payload_len),
            #[cfg(test)]
            Padding::ToMultipleOf16 { mtu } => {
                payload_len.checked_add(padding_len(payload_len, mtu))
            }
        };
        let datagram = padded_len
            .and_then(|n| n.checked_add(HEADER_LEN + TAG_LEN))
            .and_then(|len| buf.get_mut(..len));
        let (Some(padded_len), Some(datagram)) = (padded_len, datagram) else {
            return Err(DropReason::TooBig);
        };
        let len = datagram.len();
        // Zero the padding (the tailroom may hold anything).
        if let Some(padding) = datagram.get_mut(HEADER_LEN + payload_len..HEADER_LEN + padded_len) {
            padding.fill(0);
        }
        // Nothing can fail from here on (the datagram holds at least a header and a tag): take the
        // counter.
        let counter = self.send_counter;
        transport::seal(
            self.keys.send_key(),
            self.keys.remote_index(),
            counter,
            datagram,
        )
        .map_err(|_| DropReason::TooBig)?;
        self.send_counter += 1;

        let wants_rekey = self.send_counter >= REKEY_AFTER_MESSAGES
            || (self.is_initiator() && self.age(now) >= REKEY_AFTER_TIME);
        Ok(Sealed { len, wants_rekey })
    }

    /// Opens `message` in place and returns the plaintext length (padding included; the inner IP
    /// header says how much of it is the packet). On any error nothing changed: the replay window
    /// moves only after the tag verified.
    pub(crate) fn open<T: AsRef<[u8]> + AsMut<[u8]>>(
        &mut self,
        now: Instant,
        message: &mut Transport<T>,
    ) -> Result<usize, DropReason> {
        if message.receiver_index() != self.local_index() {
            return Err(DropReason::UnknownSession);
        }
        let counter = message.counter();
        if self.age(now) >= REJECT_AFTER_TIME || counter >= REJECT_AFTER_MESSAGES {
            return Err(DropReason::Expired);
        }
        // Cheap early drop of obvious replays; changes nothing.
        if !self.replay.would_accept(counter) {
            return Err(DropReason::Replay);
        }
        let plaintext_len = transport::open(self.keys.receive_key(), message)
            .map_err(|_| DropReason::AuthFailed)?
            .len();
        if !self.replay.accept(counter) {
            return Err(DropReason::Replay);
        }
        Ok(plaintext_len)
    }
}

impl core::fmt::Debug for Keypair {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Keypair")
            .field("local_index", &self.local_index())
            .field("remote_index", &self.remote_index())
            .field("created", &self.created)
            .field("is_initiator", &self.is_initiator())
            .field("send_counter", &self.send_counter)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::aead;
    use crate::core::noise::messages::KEEPALIVE_LEN;
    use core::time::Duration;

    const T0: Instant = Instant::from_nanos(1_000_000_000);

    fn at(secs: u64) -> Instant {
        T0 + Duration::from_secs(secs)
    }

    /// An initiator's and a responder's view of one session.
    fn pair() -> (Keypair, Keypair) {
        (
            Keypair::new(SessionKeys::new([1; 32], [2; 32], 10, 20, true), T0),
            Keypair::new(SessionKeys::new([2; 32], [1; 32], 20, 10, false), T0),
        )
    }

    fn seal(kp: &mut Keypair, now: Instant, payload: &[u8], padding: Padding) -> Vec<u8> {
        let mut buf = vec![0xccu8; HEADER_LEN + payload.len() + PADDING_MULTIPLE + TAG_LEN];
        buf[HEADER_LEN..HEADER_LEN + payload.len()].copy_from_slice(payload);
        let sealed = kp.seal(now, &mut buf, payload.len(), padding).unwrap();
        buf.truncate(sealed.len);
        buf
    }

    fn open(kp: &mut Keypair, now: Instant, datagram: &[u8]) -> Result<Vec<u8>, DropReason> {
        let mut copy = datagram.to_vec();
        let mut message =
            Transport::new_checked(&mut copy[..]).map_err(|_| DropReason::Malformed)?;
        let n = kp.open(now, &mut message)?;
        Ok(copy[HEADER_LEN..HEADER_LEN + n].to_vec())
    }

    #[test]
    fn round_trip_once_then_replay() {
        let (mut a, mut b) = pair();
        let d = seal(&mut a, T0, b"hello", Padding::None);
        assert_eq!(d.len(), HEADER_LEN + 5 + TAG_LEN);
        assert_eq!(d[..4], [4, 0, 0, 0]);
        assert_eq!(u32::from_le_bytes(d[4..8].try_into().unwrap()), 20);
        assert_eq!(u64::from_le_bytes(d[8..16].try_into().unwrap()), 0);
        assert_eq!(open(&mut b, T0, &d).unwrap(), b"hello");
        assert_eq!(open(&mut b, T0, &d), Err(DropReason::Replay));
        // And the other direction.
        let back = seal(&mut b, T0, b"world", Padding::None);
        assert_eq!(open(&mut a, T0, &back).unwrap(), b"world");
    }

    /// WireGuard authenticates no header bytes: an RFC 8439 seal with empty AAD under the same key
    /// and nonce gives the same ciphertext and tag; with the header as AAD (ringtun v1) it differs.
    #[test]
    fn associated_data_is_empty() {
        let (mut a, _) = pair();
        let d = seal(&mut a, T0, b"payload", Padding::None);
        let mut expected = b"payload".to_vec();
        let tag = aead::seal_in_place(&[1; 32], &aead::nonce_from_counter(0), &[], &mut expected);
        expected.extend_from_slice(&tag);
        assert_eq!(d[HEADER_LEN..], expected[..]);
        let mut with_header = b"payload".to_vec();
        let other = aead::seal_in_place(
            &[1; 32],
            &aead::nonce_from_counter(0),
            &d[..HEADER_LEN],
            &mut with_header,
        );
        assert_ne!(other, tag);
    }

    #[test]
    fn padding_rounds_up_zeroes_and_respects_the_mtu() {
        assert_eq!(padding_len(0, 1420), 0);
        assert_eq!(padding_len(1, 1420), 15);
        assert_eq!(padding_len(16, 1420), 0);
        assert_eq!(padding_len(17, 1420), 15);
        // Capped at the MTU: 1419 would round to 1424.
        assert_eq!(padding_len(1419, 1420), 1);
        assert_eq!(padding_len(1420, 1420), 0);
        // Larger than the MTU: the last segment (1430 % 1420 = 10) is what gets padded.
        assert_eq!(padding_len(1430, 1420), 6);
        assert_eq!(padding_len(1419, 0), 5);
        // Absurd lengths do not overflow.
        assert_eq!(padding_len(usize::MAX, 0), 1);
        assert_eq!(padding_len(usize::MAX, usize::MAX), 0);
        assert_eq!(padding_len(usize::MAX - 1, usize::MAX), 1);

        let (mut a, mut b) = pair();
        let payload = [0x42u8; 20];
        let d = seal(&mut a, T0, &payload, Padding::ToMultipleOf16 { mtu: 1420 });
        assert_eq!(d.len(), HEADER_LEN + 32 + TAG_LEN);
        let plain = open(&mut b, T0, &d).unwrap();
        assert_eq!(plain[..20], payload);
        // The tailroom held 0xcc; padding must not leak it.
        assert_eq!(plain[20..], [0u8; 12]);
        // A keepalive stays empty.
        let k = seal(&mut a, T0, &[], Padding::ToMultipleOf16 { mtu: 1420 });
        assert_eq!(k.len(), KEEPALIVE_LEN);
    }

    #[test]
    fn too_small_buffer_takes_no_counter() {
        let (mut a, _) = pair();
        let mut buf = [0u8; HEADER_LEN + 20 + TAG_LEN];
        assert_eq!(
            a.seal(T0, &mut buf, 20, Padding::ToMultipleOf16 { mtu: 1420 }),
            Err(DropReason::TooBig)
        );
        assert_eq!(a.send_counter(), 0);
        for huge in [usize::MAX, usize::MAX - HEADER_LEN] {
            for padding in [Padding::None, Padding::ToMultipleOf16 { mtu: 0 }] {
                assert_eq!(a.seal(T0, &mut buf, huge, padding), Err(DropReason::TooBig));
            }
        }
        assert_eq!(a.send_counter(), 0);
        assert!(a.seal(T0, &mut buf, 20, Padding::None).is_ok());
        assert_eq!(a.send_counter(), 1);
    }

    #[test]
    fn counters_never_repeat_including_at_the_limit() {
        let (mut a, mut b) = pair();
        let mut seen = std::collections::HashSet::new();
        for _ in 0..1000 {
            let d = seal(&mut a, T0, b"x", Padding::None);
            assert!(seen.insert(u64::from_le_bytes(d[8..16].try_into().unwrap())));
        }
        // Jump to the last counters allowed.
        a.send_counter = REJECT_AFTER_MESSAGES - 2;
        let mut buf = [0u8; HEADER_LEN + 1 + TAG_LEN];
        let mut last = Vec::new();
        for _ in 0..2 {
            a.seal(T0, &mut buf, 1, Padding::None).unwrap();
            last.push(u64::from_le_bytes(buf[8..16].try_into().unwrap()));
        }
        assert_eq!(last, [REJECT_AFTER_MESSAGES - 2, REJECT_AFTER_MESSAGES - 1]);
        for _ in 0..3 {
            assert_eq!(
                a.seal(T0, &mut buf, 1, Padding::None),
                Err(DropReason::Expired)
            );
            assert_eq!(
                a.send_counter(),
                REJECT_AFTER_MESSAGES,
                "a refusal takes none"
            );
        }
        assert!(!a.can_send(T0));
        // The receiver refuses counters at the limit even with a valid tag.
        let mut forged = buf;
        forged[8..16].copy_from_slice(&REJECT_AFTER_MESSAGES.to_le_bytes());
        assert_eq!(open(&mut b, T0, &forged), Err(DropReason::Expired));
    }

    #[test]
    fn rekey_wanted_by_messages_for_both_and_by_time_for_the_initiator_only() {
        let (mut a, mut b) = pair();
        let mut buf = [0u8; KEEPALIVE_LEN];
        let just_before = at(119) + Duration::from_nanos(999_999_999);
        assert!(
            !a.seal(just_before, &mut buf, 0, Padding::None)
                .unwrap()
                .wants_rekey
        );
        assert!(
            a.seal(at(120), &mut buf, 0, Padding::None)
                .unwrap()
                .wants_rekey
        );
        assert!(
            !b.seal(at(120), &mut buf, 0, Padding::None)
                .unwrap()
                .wants_rekey
        );
        assert!(
            !b.seal(at(179), &mut buf, 0, Padding::None)
                .unwrap()
                .wants_rekey
        );

        b.send_counter = REKEY_AFTER_MESSAGES - 2;
        assert!(!b.seal(T0, &mut buf, 0, Padding::None).unwrap().wants_rekey);
        // This one is message number 2^60: from here on a rekey is wanted.
        assert!(b.seal(T0, &mut buf, 0, Padding::None).unwrap().wants_rekey);
        assert!(b.seal(T0, &mut buf, 0, Padding::None).unwrap().wants_rekey);
    }

    #[test]
    fn sending_and_receiving_refused_at_reject_after_time() {
        let (mut a, mut b) = pair();
        let early = seal(&mut a, at(100), b"early", Padding::None);
        let mut buf = [0u8; KEEPALIVE_LEN];
        let just_before = at(179) + Duration::from_nanos(999_999_999);
        assert!(a.seal(just_before, &mut buf, 0, Padding::None).is_ok());
        let counter = a.send_counter();
        assert_eq!(
            a.seal(at(180), &mut buf, 0, Padding::None),
            Err(DropReason::Expired)
        );
        assert_eq!(a.send_counter(), counter);
        assert!(!a.can_send(at(180)));
        // A datagram sealed in time but arriving at 180 s is refused too, and the window is untouched.
        assert_eq!(open(&mut b, at(180), &early), Err(DropReason::Expired));
        assert_eq!(open(&mut b, at(179), &early).unwrap(), b"early");
    }

    #[test]
    fn tampering_fails_without_burning_the_counter() {
        let (mut a, mut b) = pair();
        let good = seal(&mut a, T0, b"payload", Padding::None);
        for i in 0..good.len() {
            let mut bad = good.clone();
            bad[i] ^= 1;
            assert!(open(&mut b, T0, &bad).is_err(), "byte {i}");
        }
        assert_eq!(open(&mut b, T0, &good).unwrap(), b"payload");
    }

    #[test]
    fn wrong_index_is_not_ours() {
        let (mut a, mut b) = pair();
        let mut d = seal(&mut a, T0, b"x", Padding::None);
        d[4] ^= 1;
        assert_eq!(open(&mut b, T0, &d), Err(DropReason::UnknownSession));
    }

    #[test]
    fn debug_redacts_keys() {
        let kp = Keypair::new(SessionKeys::new([0xab; 32], [0xcd; 32], 1, 2, true), T0);
        let shown = format!("{kp:?}");
        assert!(shown.contains("local_index: 1"), "{shown}");
        assert!(!shown.contains("171") && !shown.contains("205"), "{shown}");
        assert!(!shown.to_lowercase().contains("ab, "), "{shown}");
    }
}
