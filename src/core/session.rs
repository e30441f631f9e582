//! One established session: a key per direction, the send counter and the replay window.
//!
//! Nonces never repeat under a key: the send counter only grows, and a session refuses to seal once
//! it reaches `REJECT_AFTER_MESSAGES`; the initiator rekeys at `REKEY_AFTER_MESSAGES`, long before.

use super::aead;
use super::handshake::SessionKeys;
use super::replay::ReplayWindow;
use super::stats::DropReason;
use super::time::Instant;
use super::wire::{DATA_HEADER_LEN, DataHeader, TAG_LEN};

/// The initiator starts a new handshake once a session has sent this many messages (WireGuard's).
pub const REKEY_AFTER_MESSAGES: u64 = 1 << 60;
/// No message is sealed or accepted with a counter at or beyond this (WireGuard's 2^64 - 2^13 - 1):
/// well below the wrap, and beyond any replay window.
pub const REJECT_AFTER_MESSAGES: u64 = u64::MAX - (1 << 13);

#[doc(hidden)]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionFingerprint {
    local_index: u32,
    remote_index: u32,
    created: Instant,
    send_counter: u64,
    replay: ReplayWindow,
}

pub struct Session {
    /// Our index: peers put it in the data they send us, to find this session.
    pub local_index: u32,
    /// The peer's index: we put it in the data we send.
    pub remote_index: u32,
    pub created: Instant,
    keys: SessionKeys,
    send_counter: u64,
    replay: ReplayWindow,
}

impl Session {
    pub fn new(local_index: u32, remote_index: u32, keys: SessionKeys, created: Instant) -> Self {
        Session {
            local_index,
            remote_index,
            created,
            keys,
            send_counter: 0,
            replay: ReplayWindow::new(),
        }
    }

    pub fn send_counter(&self) -> u64 {
        self.send_counter
    }

    /// Seals `buf[DATA_HEADER_LEN..DATA_HEADER_LEN + payload_len]` in place, writing the header in
    /// front and the tag behind; returns the datagram length.
    pub fn seal(&mut self, buf: &mut [u8], payload_len: usize) -> Result<usize, DropReason> {
        let total = DATA_HEADER_LEN + payload_len + TAG_LEN;
        if buf.len() < total {
            return Err(DropReason::TooBig);
        }
        if self.send_counter >= REJECT_AFTER_MESSAGES {
            return Err(DropReason::Expired);
        }
        let counter = self.send_counter;
        self.send_counter += 1;
        let (header, rest) = buf.split_at_mut(DATA_HEADER_LEN);
        header.copy_from_slice(
            &DataHeader {
                receiver_index: self.remote_index,
                counter,
            }
            .encode(),
        );
        let (payload, tail) = rest.split_at_mut(payload_len);
        let tag = aead::seal_in_place(
            &self.keys.send,
            &aead::nonce_from_counter(counter),
            header,
            payload,
        );
        tail[..TAG_LEN].copy_from_slice(&tag);
        Ok(total)
    }

    /// Opens `body` (ciphertext then tag) in place. The replay window changes only after the tag
    /// verified. Returns the plaintext length (`body.len() - TAG_LEN`).
    pub fn open(
        &mut self,
        header: &DataHeader,
        header_bytes: &[u8; DATA_HEADER_LEN],
        body: &mut [u8],
    ) -> Result<usize, DropReason> {
        let counter = header.counter;
        if counter >= REJECT_AFTER_MESSAGES {
            return Err(DropReason::Expired);
        }
        // Cheap early drop of obvious replays; changes nothing.
        if !self.replay.would_accept(counter) {
            return Err(DropReason::Replay);
        }
        let plain_len = body
            .len()
            .checked_sub(TAG_LEN)
            .ok_or(DropReason::Malformed)?;
        let (ciphertext, tag) = body.split_at_mut(plain_len);
        let tag: &[u8; TAG_LEN] = (&*tag).try_into().map_err(|_| DropReason::Malformed)?;
        aead::open_in_place(
            &self.keys.recv,
            &aead::nonce_from_counter(counter),
            header_bytes,
            ciphertext,
            tag,
        )
        .map_err(|_| DropReason::AuthFailed)?;
        if !self.replay.accept(counter) {
            return Err(DropReason::Replay);
        }
        Ok(plain_len)
    }

    /// Everything about the session a datagram could change (for tests and fuzzing).
    pub fn fingerprint(&self) -> SessionFingerprint {
        SessionFingerprint {
            local_index: self.local_index,
            remote_index: self.remote_index,
            created: self.created,
            send_counter: self.send_counter,
            replay: self.replay.clone(),
        }
    }

    #[cfg(any(test, fuzzing))]
    pub fn set_send_counter_for_test(&mut self, counter: u64) {
        self.send_counter = counter;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::wire::{Packet, parse};

    fn pair() -> (Session, Session) {
        let a = SessionKeys {
            send: [1; 32],
            recv: [2; 32],
        };
        let b = SessionKeys {
            send: [2; 32],
            recv: [1; 32],
        };
        (
            Session::new(10, 20, a, Instant::ZERO),
            Session::new(20, 10, b, Instant::ZERO),
        )
    }

    fn seal(s: &mut Session, payload: &[u8]) -> Vec<u8> {
        let mut buf = vec![0u8; DATA_HEADER_LEN + payload.len() + TAG_LEN];
        buf[DATA_HEADER_LEN..DATA_HEADER_LEN + payload.len()].copy_from_slice(payload);
        let n = s.seal(&mut buf, payload.len()).unwrap();
        assert_eq!(n, buf.len());
        buf
    }

    fn open(s: &mut Session, datagram: &mut [u8]) -> Result<Vec<u8>, DropReason> {
        match parse(datagram) {
            Ok(Packet::Data {
                header,
                header_bytes,
                body,
            }) => {
                let n = s.open(&header, header_bytes, body)?;
                Ok(body[..n].to_vec())
            }
            other => panic!("not data: {other:?}"),
        }
    }

    #[test]
    fn sealed_data_opens_once_on_the_peer() {
        let (mut a, mut b) = pair();
        let mut d = seal(&mut a, b"hello");
        let copy = d.clone();
        assert_eq!(open(&mut b, &mut d).unwrap(), b"hello");
        assert_eq!(open(&mut b, &mut copy.clone()), Err(DropReason::Replay));
    }

    #[test]
    fn counters_increase_and_header_names_the_peer() {
        let (mut a, _) = pair();
        for i in 0..3u64 {
            let d = seal(&mut a, b"x");
            assert_eq!(u32::from_le_bytes(d[4..8].try_into().unwrap()), 20);
            assert_eq!(u64::from_le_bytes(d[8..16].try_into().unwrap()), i);
        }
        assert_eq!(a.send_counter(), 3);
    }

    #[test]
    fn tampering_fails_and_leaves_the_window_open() {
        let (mut a, mut b) = pair();
        let good = seal(&mut a, b"payload");
        for i in 0..good.len() {
            let mut bad = good.clone();
            bad[i] ^= 1;
            if let Ok(Packet::Data {
                header,
                header_bytes,
                body,
            }) = parse(&mut bad)
            {
                assert!(b.open(&header, header_bytes, body).is_err(), "byte {i}");
            }
        }
        // A forged packet with the genuine counter did not burn it: the genuine one still opens.
        assert_eq!(open(&mut b, &mut good.clone()).unwrap(), b"payload");
    }

    #[test]
    fn refuses_to_seal_at_the_reject_limit() {
        let (mut a, _) = pair();
        a.set_send_counter_for_test(REJECT_AFTER_MESSAGES - 1);
        let mut buf = [0u8; 40];
        assert!(a.seal(&mut buf, 4).is_ok());
        assert_eq!(a.seal(&mut buf, 4), Err(DropReason::Expired));
        assert_eq!(
            a.send_counter(),
            REJECT_AFTER_MESSAGES,
            "a refused seal does not advance the counter"
        );
    }

    #[test]
    fn too_small_buffer_is_refused() {
        let (mut a, _) = pair();
        let mut buf = [0u8; DATA_HEADER_LEN + 10 + TAG_LEN - 1];
        assert_eq!(a.seal(&mut buf, 10), Err(DropReason::TooBig));
        assert_eq!(a.send_counter(), 0);
    }

    #[test]
    fn reordered_within_window_all_open() {
        let (mut a, mut b) = pair();
        let mut ds: Vec<Vec<u8>> = (0..64).map(|i| seal(&mut a, &[i as u8])).collect();
        ds.reverse();
        for (i, d) in ds.iter_mut().enumerate() {
            assert_eq!(open(&mut b, d).unwrap(), [(63 - i) as u8]);
        }
    }
}
