//! One peer of a multi-peer endpoint: its keys and address, its sessions, its timers, its counters.
//!
//! The methods are the moments of WireGuard's send and receive paths (kernel `send.c` /
//! `receive.c`); each one fires the timer events the kernel fires at that point, so the endpoint
//! cannot forget one. After every call that touched a peer, the endpoint files the peer's new
//! [`Peer::poll_timeout`] in its `DeadlineQueue`.
//!
//! The handshake itself (Noise IKpsk2, cookies) and the peer's keys are not here: `H` is the
//! device's state of a handshake in progress, held for it in [`Peer::handshake`]; the keys live
//! next to the peer in the device (`core::device`), which is configured by its `PeerConfig`.

use core::net::SocketAddr;
use core::time::Duration;

use super::consts::REKEY_ON_RECEIVE_AFTER_TIME;
use super::entropy::Entropy;
use super::keypair::{Keypair, Padding};
use super::noise::consts::TAG_LEN;
use super::noise::messages::{KEEPALIVE_LEN, Transport};
use super::peer_id::PeerId;
use super::roaming::{EndpointChange, PeerEndpoint};
use super::sessions::{LocalIndices, Sessions, Slot};
use super::stats::DropReason;
use super::time::Instant;
use super::timers::{PeerTimers, TimerActions};

/// A data message sealed for the peer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Sent {
    /// The datagram is `buf[..len]`.
    pub(crate) len: usize,
    pub(crate) dst: SocketAddr,
    /// Send a handshake initiation now too (the session is due for rekeying; rate limit checked).
    pub(crate) initiate: bool,
}

/// Nothing was sealed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct SendBlocked {
    /// `NoSession` (none, or no address to send to), `Expired` (too old or out of counters; the
    /// packet should wait for the next session), `TooBig` (the caller's buffer).
    pub(crate) reason: DropReason,
    /// Send a handshake initiation now (rate limit checked).
    pub(crate) initiate: bool,
}

/// A data message from the peer, opened in place.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Received {
    /// Plaintext bytes after the header, padding included; 0 for a keepalive. The inner IP header
    /// gives the packet's own length.
    pub(crate) plaintext_len: usize,
    pub(crate) endpoint_changed: Option<EndpointChange>,
    /// The responder's pending session was confirmed by this message and is now current: send
    /// the packets that were waiting for a session.
    pub(crate) session_confirmed: bool,
    /// Sessions the confirmation dropped: remove these local indices from the index table.
    pub(crate) dropped_indices: LocalIndices,
    /// Send a handshake initiation now (last-minute rekey of an old session; rate limit checked).
    pub(crate) initiate: bool,
}

/// A session installed from a completed handshake.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Installed {
    /// Sessions the rotation dropped: remove these local indices from the index table.
    pub(crate) dropped_indices: LocalIndices,
    pub(crate) endpoint_changed: Option<EndpointChange>,
}

/// What [`Peer::handle_timeout`] did and asks for.
#[derive(Debug)]
pub(crate) struct TimeoutOutcome<H> {
    /// Still to do by the endpoint: `send_initiation`, `send_keepalive`, and on
    /// `handshake_given_up` drop the packets waiting for a session. `zero_key_material` and
    /// `peer_unresponsive` are already done (see the fields below).
    pub(crate) actions: TimerActions,
    /// Key material was erased: remove these local indices from the index table...
    pub(crate) dropped_indices: LocalIndices,
    /// ...and the index of this dropped handshake, if it registered one.
    pub(crate) dropped_handshake: Option<H>,
    /// The endpoint fell back to the configured one.
    pub(crate) endpoint_changed: Option<EndpointChange>,
}

pub(crate) struct Peer<H> {
    id: PeerId,
    endpoint: PeerEndpoint,
    sessions: Sessions,
    timers: PeerTimers,
    /// The handshake in progress (ours or the peer's), the noise module's state. Erased with the
    /// sessions when key material is zeroed.
    pub(crate) handshake: Option<H>,
    /// Bytes of every datagram sent to / authenticated from this peer, handshakes included
    /// (`wg show` transfer).
    tx_bytes: u64,
    rx_bytes: u64,
    /// When the last handshake completed, on the endpoint's monotonic clock. The endpoint turns it
    /// into wall time for `wg show` with its single monotonic-to-wall origin.
    last_handshake: Option<Instant>,
}

impl<H> Peer<H> {
    /// A peer with `endpoint` configured (`Endpoint =`, where to reach it first) and the
    /// `PersistentKeepalive` interval (`None` for off).
    pub(crate) fn new(
        id: PeerId,
        endpoint: Option<SocketAddr>,
        persistent_keepalive: Option<Duration>,
    ) -> Self {
        Peer {
            id,
            endpoint: PeerEndpoint::new(endpoint),
            sessions: Sessions::new(),
            timers: PeerTimers::new(persistent_keepalive),
            handshake: None,
            tx_bytes: 0,
            rx_bytes: 0,
            last_handshake: None,
        }
    }

    #[cfg(test)]
    pub(crate) fn id(&self) -> PeerId {
        self.id
    }

    /// Where datagrams to the peer go now.
    pub(crate) fn endpoint(&self) -> Option<SocketAddr> {
        self.endpoint.current()
    }

    pub(crate) fn set_configured_endpoint(
        &mut self,
        addr: Option<SocketAddr>,
    ) -> Option<EndpointChange> {
        self.endpoint.set_configured(addr)
    }

    pub(crate) fn persistent_keepalive(&self) -> Option<Duration> {
        self.timers.persistent_keepalive()
    }

    pub(crate) fn set_persistent_keepalive(&mut self, interval: Option<Duration>) {
        self.timers.set_persistent_keepalive(interval);
    }

    pub(crate) fn sessions(&self) -> &Sessions {
        &self.sessions
    }

    pub(crate) fn timers(&self) -> &PeerTimers {
        &self.timers
    }

    pub(crate) fn tx_bytes(&self) -> u64 {
        self.tx_bytes
    }

    pub(crate) fn rx_bytes(&self) -> u64 {
        self.rx_bytes
    }

    pub(crate) fn last_handshake(&self) -> Option<Instant> {
        self.last_handshake
    }

    /// Seals the packet at `buf[HEADER_LEN..HEADER_LEN + payload_len]` (0: a keepalive) under the
    /// current session. With no usable session nothing is sealed and a handshake is asked for: the
    /// endpoint keeps the packet until the session is up.
    pub(crate) fn seal(
        &mut self,
        now: Instant,
        buf: &mut [u8],
        payload_len: usize,
        padding: Padding,
        entropy: &mut impl Entropy,
    ) -> Result<Sent, SendBlocked> {
        let Some(keypair) = self.sessions.current_mut() else {
            return Err(self.blocked(now, DropReason::NoSession));
        };
        let Some(dst) = self.endpoint.current() else {
            // A session implies a handshake, which always teaches an address: not reached.
            return Err(SendBlocked {
                reason: DropReason::NoSession,
                initiate: false,
            });
        };
        let sealed = match keypair.seal(now, buf, payload_len, padding) {
            Ok(sealed) => sealed,
            Err(DropReason::Expired) => return Err(self.blocked(now, DropReason::Expired)),
            Err(reason) => {
                return Err(SendBlocked {
                    reason,
                    initiate: false,
                });
            }
        };
        self.timers.any_authenticated_packet_traversal(now);
        self.timers.any_authenticated_packet_sent(now);
        if payload_len > 0 {
            self.timers.data_sent(now, entropy);
        }
        self.tx_bytes += sealed.len as u64;
        Ok(Sent {
            len: sealed.len,
            dst,
            initiate: sealed.wants_rekey && self.timers.want_handshake(now),
        })
    }

    fn blocked(&mut self, now: Instant, reason: DropReason) -> SendBlocked {
        SendBlocked {
            reason,
            initiate: self.timers.want_handshake(now),
        }
    }

    /// Opens a data message from `from` addressed to one of this peer's sessions (the endpoint
    /// found the peer by the receiver index). On error nothing changed.
    pub(crate) fn open<T: AsRef<[u8]> + AsMut<[u8]>>(
        &mut self,
        now: Instant,
        from: SocketAddr,
        message: &mut Transport<T>,
    ) -> Result<Received, DropReason> {
        let local_index = message.receiver_index();
        let datagram_len = message.sealed_packet().len() + (KEEPALIVE_LEN - TAG_LEN);
        let (slot, keypair) = self
            .sessions
            .find_mut(local_index)
            .ok_or(DropReason::UnknownSession)?;
        let plaintext_len = keypair.open(now, message)?;

        // Authenticated and not a replay: from here on the message may change state.
        let endpoint_changed = self.endpoint.authenticated_from(from);
        let mut dropped_indices = LocalIndices::default();
        let session_confirmed = slot == Slot::Next;
        if session_confirmed {
            dropped_indices = self.sessions.confirm_next(local_index).unwrap_or_default();
            self.timers.handshake_complete(now);
            self.last_handshake = Some(now);
        }
        let initiate =
            self.wants_last_minute_rekey(now) && self.timers.want_last_minute_handshake(now);
        self.timers.any_authenticated_packet_received(now);
        self.timers.any_authenticated_packet_traversal(now);
        if plaintext_len > 0 {
            self.timers.data_received(now);
        }
        self.rx_bytes += datagram_len as u64;
        Ok(Received {
            plaintext_len,
            endpoint_changed,
            session_confirmed,
            dropped_indices,
            initiate,
        })
    }

    /// The initiator's current session is near its end (`REKEY_ON_RECEIVE_AFTER_TIME`) and still
    /// usable: receiving on it should start a rekey, in case we are not sending.
    fn wants_last_minute_rekey(&self, now: Instant) -> bool {
        self.sessions.current().is_some_and(|current| {
            current.is_initiator()
                && current.can_send(now)
                && now.saturating_since(current.created()) >= REKEY_ON_RECEIVE_AFTER_TIME
        })
    }

    /// Something outside the data path wants a handshake (a new peer with an endpoint, a manual
    /// trigger). True: build and send an initiation now (to [`Peer::endpoint`]), then call
    /// [`Peer::initiation_sent`]; false: one went out less than `REKEY_TIMEOUT` ago.
    #[cfg(test)]
    pub(crate) fn want_handshake(&mut self, now: Instant) -> bool {
        self.timers.want_handshake(now)
    }

    /// A handshake initiation of `len` bytes was sent.
    pub(crate) fn initiation_sent(&mut self, now: Instant, len: usize, entropy: &mut impl Entropy) {
        self.timers.any_authenticated_packet_traversal(now);
        self.timers.any_authenticated_packet_sent(now);
        self.timers.handshake_initiated(now, entropy);
        self.tx_bytes += len as u64;
    }

    /// A handshake initiation of `len` bytes from `from` passed every check of the noise module
    /// (MACs, decryption, timestamp newer than the last, flood limit).
    pub(crate) fn initiation_received(
        &mut self,
        now: Instant,
        from: SocketAddr,
        len: usize,
    ) -> Option<EndpointChange> {
        self.authenticated_handshake_message(now, from, len)
    }

    /// We answered an initiation with a response of `len` bytes and derived `keypair` (ours as
    /// responder): it waits in the `next` slot until the initiator uses it.
    pub(crate) fn response_sent(
        &mut self,
        now: Instant,
        len: usize,
        keypair: Keypair,
    ) -> LocalIndices {
        let dropped = self.sessions.install_as_responder(keypair);
        self.timers.session_derived(now);
        self.timers.any_authenticated_packet_traversal(now);
        self.timers.any_authenticated_packet_sent(now);
        self.timers.handshake_response_sent(now);
        self.tx_bytes += len as u64;
        dropped
    }

    /// The response (`len` bytes from `from`) to our initiation passed every check and gave
    /// `keypair` (ours as initiator): it becomes current at once. The endpoint then sends the
    /// packets waiting for a session or, if none, a keepalive, so the responder learns at once that
    /// the session works.
    pub(crate) fn response_received(
        &mut self,
        now: Instant,
        from: SocketAddr,
        len: usize,
        keypair: Keypair,
    ) -> Installed {
        let dropped_indices = self.sessions.install_as_initiator(keypair);
        self.timers.session_derived(now);
        self.timers.handshake_complete(now);
        self.last_handshake = Some(now);
        let endpoint_changed = self.authenticated_handshake_message(now, from, len);
        Installed {
            dropped_indices,
            endpoint_changed,
        }
    }

    fn authenticated_handshake_message(
        &mut self,
        now: Instant,
        from: SocketAddr,
        len: usize,
    ) -> Option<EndpointChange> {
        let changed = self.endpoint.authenticated_from(from);
        self.rx_bytes += len as u64;
        self.timers.any_authenticated_packet_received(now);
        self.timers.any_authenticated_packet_traversal(now);
        changed
    }

    /// When [`Peer::handle_timeout`] should run next.
    pub(crate) fn poll_timeout(&self) -> Option<Instant> {
        self.timers.next_deadline()
    }

    /// Runs the expired timers. Erasing keys and falling back to the configured endpoint happen
    /// here; sending is the endpoint's (see [`TimeoutOutcome::actions`]).
    pub(crate) fn handle_timeout(&mut self, now: Instant) -> TimeoutOutcome<H> {
        let actions = self.timers.handle_timeout(now);
        let mut outcome = TimeoutOutcome {
            actions,
            dropped_indices: LocalIndices::default(),
            dropped_handshake: None,
            endpoint_changed: None,
        };
        if actions.zero_key_material {
            let (indices, handshake) = self.clear_key_material();
            outcome.dropped_indices = indices;
            outcome.dropped_handshake = handshake;
        }
        if actions.peer_unresponsive {
            outcome.endpoint_changed = self.endpoint.fall_back();
        }
        outcome
    }

    /// Erases every session and the handshake in progress (timer expiry, peer removal). Returns
    /// what the endpoint must unregister from its index table.
    pub(crate) fn clear_key_material(&mut self) -> (LocalIndices, Option<H>) {
        (self.sessions.clear(), self.handshake.take())
    }
}

impl<H> core::fmt::Debug for Peer<H> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Peer")
            .field("id", &self.id)
            .field("endpoint", &self.endpoint)
            .field("sessions", &self.sessions)
            .field("timers", &self.timers)
            .field("handshake_in_progress", &self.handshake.is_some())
            .field("tx_bytes", &self.tx_bytes)
            .field("rx_bytes", &self.rx_bytes)
            .field("last_handshake", &self.last_handshake)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::consts::REKEY_TIMEOUT;
    use crate::core::entropy::ConstantEntropy;
    use crate::core::noise::SessionKeys;
    use crate::core::noise::messages::TRANSPORT_HEADER_LEN as HEADER_LEN;

    type TestPeer = Peer<&'static str>;

    const T0: Instant = Instant::from_nanos(5_000_000_000);
    const A_ADDR: SocketAddr = SocketAddr::new(
        core::net::IpAddr::V4(core::net::Ipv4Addr::new(192, 0, 2, 1)),
        1111,
    );
    const B_ADDR: SocketAddr = SocketAddr::new(
        core::net::IpAddr::V4(core::net::Ipv4Addr::new(192, 0, 2, 2)),
        51820,
    );
    const EVIL_ADDR: SocketAddr = SocketAddr::new(
        core::net::IpAddr::V4(core::net::Ipv4Addr::new(198, 51, 100, 6)),
        666,
    );
    use crate::core::noise::messages::{INITIATION_LEN, RESPONSE_LEN};
    const MTU: Padding = Padding::ToMultipleOf16 { mtu: 1420 };

    fn secs(s: u64) -> Instant {
        T0 + Duration::from_secs(s)
    }

    fn ms(m: u64) -> Instant {
        T0 + Duration::from_millis(m)
    }

    fn no_jitter() -> ConstantEntropy {
        ConstantEntropy(0)
    }

    /// A client (configured endpoint, optional persistent keepalive) and a server (no endpoint).
    fn client_and_server(persistent_keepalive: Option<Duration>) -> (TestPeer, TestPeer) {
        let client = Peer::new(PeerId(0), Some(B_ADDR), persistent_keepalive);
        let server = Peer::new(PeerId(7), None, None);
        (client, server)
    }

    /// `a` initiates, `b` responds, both at `now`, with session indices `index_a` / `index_b`.
    /// Returns the local indices each side's rotation dropped.
    fn handshake(
        a: &mut TestPeer,
        b: &mut TestPeer,
        now: Instant,
        index_a: u32,
        index_b: u32,
    ) -> (LocalIndices, LocalIndices) {
        let key_ab = [index_a as u8; 32];
        let key_ba = [index_b as u8; 32];
        a.initiation_sent(now, INITIATION_LEN, &mut no_jitter());
        b.initiation_received(now, A_ADDR, INITIATION_LEN);
        let dropped_b = b.response_sent(
            now,
            RESPONSE_LEN,
            Keypair::new(
                SessionKeys::new(key_ba, key_ab, index_b, index_a, false),
                now,
            ),
        );
        let installed = a.response_received(
            now,
            B_ADDR,
            RESPONSE_LEN,
            Keypair::new(
                SessionKeys::new(key_ab, key_ba, index_a, index_b, true),
                now,
            ),
        );
        (installed.dropped_indices, dropped_b)
    }

    fn seal(
        peer: &mut TestPeer,
        now: Instant,
        payload: &[u8],
    ) -> Result<(Sent, Vec<u8>), SendBlocked> {
        let mut buf = vec![0u8; HEADER_LEN + payload.len() + 16 + 16];
        buf[HEADER_LEN..HEADER_LEN + payload.len()].copy_from_slice(payload);
        let sent = peer.seal(now, &mut buf, payload.len(), MTU, &mut no_jitter())?;
        buf.truncate(sent.len);
        Ok((sent, buf))
    }

    fn open(
        peer: &mut TestPeer,
        now: Instant,
        from: SocketAddr,
        datagram: &[u8],
    ) -> Result<Received, DropReason> {
        let mut copy = datagram.to_vec();
        let mut message =
            Transport::new_checked(&mut copy[..]).map_err(|_| DropReason::Malformed)?;
        peer.open(now, from, &mut message)
    }

    /// Handshake at T0 and the keepalive with which the client confirms the session at once.
    fn established() -> (TestPeer, TestPeer) {
        let (mut a, mut b) = client_and_server(None);
        handshake(&mut a, &mut b, T0, 1, 2);
        let (_, first) = seal(&mut a, T0, &[]).unwrap();
        assert!(open(&mut b, T0, A_ADDR, &first).unwrap().session_confirmed);
        (a, b)
    }

    #[test]
    fn responder_sends_only_after_the_initiator_confirmed() {
        let (mut a, mut b) = client_and_server(None);
        handshake(&mut a, &mut b, T0, 1, 2);
        assert_eq!(a.last_handshake(), Some(T0));
        assert_eq!(b.last_handshake(), None);
        // The responder's session waits in `next`; it cannot send, and a response just went out,
        // so it does not initiate either.
        assert_eq!(
            seal(&mut b, T0, b"too early").unwrap_err(),
            SendBlocked {
                reason: DropReason::NoSession,
                initiate: false
            }
        );
        // The initiator confirms with a keepalive right away.
        let (sent, keepalive) = seal(&mut a, T0, &[]).unwrap();
        assert_eq!(sent.dst, B_ADDR);
        assert_eq!(keepalive.len(), KEEPALIVE_LEN);
        let received = open(&mut b, ms(20), A_ADDR, &keepalive).unwrap();
        assert!(received.session_confirmed);
        assert_eq!(received.plaintext_len, 0);
        assert_eq!(
            received.endpoint_changed, None,
            "learned from the initiation already"
        );
        assert_eq!(b.last_handshake(), Some(ms(20)));
        assert_eq!(b.sessions().current().map(Keypair::local_index), Some(2));
        // Now the responder sends, to the address it learned.
        let (sent, data) = seal(&mut b, ms(30), b"reply").unwrap();
        assert_eq!(sent.dst, A_ADDR);
        let received = open(&mut a, ms(40), B_ADDR, &data).unwrap();
        assert!(!received.session_confirmed);
        assert_eq!(received.plaintext_len, 16, "5 bytes padded to 16");
    }

    #[test]
    fn a_second_handshake_rotates_and_reports_dropped_indices() {
        let (mut a, mut b) = established();
        handshake(&mut a, &mut b, secs(120), 3, 4);
        // The client's sessions: 3 current, 1 previous. The server: 2 current, 4 next.
        assert_eq!(a.sessions().current().map(Keypair::local_index), Some(3));
        let (_, data) = seal(&mut a, secs(120), b"x").unwrap();
        let received = open(&mut b, secs(120), A_ADDR, &data).unwrap();
        assert!(received.session_confirmed);
        assert!(received.dropped_indices.is_empty());
        let (dropped_a, dropped_b) = handshake(&mut a, &mut b, secs(240), 5, 6);
        // Client: 5 current, 3 previous, 1 gone. Server: responding drops its previous (2).
        assert_eq!(dropped_a.as_slice(), [1]);
        assert_eq!(dropped_b.as_slice(), [2]);
        let (_, data) = seal(&mut a, secs(240), b"x").unwrap();
        let received = open(&mut b, secs(240), A_ADDR, &data).unwrap();
        assert!(received.session_confirmed);
        assert!(received.dropped_indices.is_empty());
        assert_eq!(b.sessions().local_indices().as_slice(), [6, 4]);
        assert_eq!(a.sessions().local_indices().as_slice(), [5, 3]);
    }

    #[test]
    fn rekey_wanted_at_120_seconds_by_the_initiator_only() {
        let (mut a, mut b) = established();
        assert!(!seal(&mut a, ms(119_999), b"x").unwrap().0.initiate);
        assert!(seal(&mut a, secs(120), b"x").unwrap().0.initiate);
        assert!(!seal(&mut b, secs(120), b"x").unwrap().0.initiate);
        assert!(!seal(&mut b, secs(179), b"x").unwrap().0.initiate);
    }

    #[test]
    fn sending_refused_at_180_seconds_and_a_handshake_asked_for() {
        let (mut a, mut b) = established();
        assert!(seal(&mut a, ms(179_999), b"x").is_ok());
        let mut buf = [0x55u8; 64];
        let blocked = a
            .seal(secs(180), &mut buf, 4, MTU, &mut no_jitter())
            .unwrap_err();
        assert_eq!(
            blocked,
            SendBlocked {
                reason: DropReason::Expired,
                initiate: true
            }
        );
        assert_eq!(buf, [0x55u8; 64], "nothing written");
        // The responder refuses too; it never initiates on its own for an old session, but a
        // packet waiting for a session does ask for a handshake.
        assert_eq!(
            seal(&mut b, secs(180), b"x").unwrap_err().reason,
            DropReason::Expired
        );
    }

    #[test]
    fn handshake_requests_are_rate_limited_per_peer() {
        let (mut a, _) = client_and_server(None);
        assert_eq!(
            seal(&mut a, T0, b"x").unwrap_err(),
            SendBlocked {
                reason: DropReason::NoSession,
                initiate: true
            }
        );
        a.initiation_sent(T0, INITIATION_LEN, &mut no_jitter());
        assert!(!seal(&mut a, ms(4_999), b"x").unwrap_err().initiate);
        assert!(!a.want_handshake(ms(4_999)));
        assert!(seal(&mut a, secs(5), b"x").unwrap_err().initiate);
    }

    #[test]
    fn initiator_rekeys_once_when_receiving_on_an_old_session() {
        let (mut a, mut b) = established();
        let (_, early) = seal(&mut b, ms(164_999), b"x").unwrap();
        assert!(!open(&mut a, ms(164_999), B_ADDR, &early).unwrap().initiate);
        let (_, late) = seal(&mut b, secs(165), b"y").unwrap();
        assert!(open(&mut a, secs(165), B_ADDR, &late).unwrap().initiate);
        let (_, later) = seal(&mut b, secs(166), b"z").unwrap();
        assert!(
            !open(&mut a, secs(166), B_ADDR, &later).unwrap().initiate,
            "once per session"
        );
        // The responder never does this.
        let (_, data) = seal(&mut a, secs(170), b"w").unwrap();
        assert!(!open(&mut b, secs(170), A_ADDR, &data).unwrap().initiate);
    }

    #[test]
    fn passive_keepalive_answers_one_way_traffic_and_silences_the_dead_peer_timer() {
        let (mut a, mut b) = established();
        let (_, data) = seal(&mut a, secs(10), b"one way").unwrap();
        open(&mut b, secs(10), A_ADDR, &data).unwrap();
        // The client expects an answer by 25 s, the server owes one at 20 s.
        assert_eq!(a.poll_timeout(), Some(secs(25)));
        assert_eq!(b.poll_timeout(), Some(secs(20)));
        assert_eq!(
            b.handle_timeout(ms(19_999)).actions,
            TimerActions::default()
        );
        let outcome = b.handle_timeout(secs(20));
        assert!(outcome.actions.send_keepalive);
        let (_, keepalive) = seal(&mut b, secs(20), &[]).unwrap();
        open(&mut a, secs(20), B_ADDR, &keepalive).unwrap();
        // Only the key-erasure deadline is left on both sides.
        assert_eq!(a.poll_timeout(), Some(secs(540)));
        assert_eq!(b.poll_timeout(), Some(secs(540)));
    }

    #[test]
    fn a_silent_peer_gets_a_new_handshake_after_fifteen_seconds() {
        let (mut a, _) = established();
        seal(&mut a, secs(10), b"anyone there?").unwrap();
        assert_eq!(
            a.handle_timeout(ms(24_999)).actions,
            TimerActions::default()
        );
        let outcome = a.handle_timeout(secs(25));
        assert!(outcome.actions.send_initiation && outcome.actions.peer_unresponsive);
        assert_eq!(
            outcome.endpoint_changed, None,
            "already at the configured endpoint"
        );
    }

    #[test]
    fn forged_and_replayed_packets_do_not_move_the_endpoint() {
        let (mut a, mut b) = established();
        let (_, genuine) = seal(&mut b, secs(1), b"genuine").unwrap();
        let mut forged = genuine.clone();
        forged[HEADER_LEN] ^= 1;
        assert_eq!(
            open(&mut a, secs(1), EVIL_ADDR, &forged),
            Err(DropReason::AuthFailed)
        );
        assert_eq!(a.endpoint(), Some(B_ADDR));
        assert_eq!(
            a.rx_bytes(),
            RESPONSE_LEN as u64,
            "a dropped packet counts nothing"
        );
        open(&mut a, secs(1), B_ADDR, &genuine).unwrap();
        assert_eq!(
            open(&mut a, secs(2), EVIL_ADDR, &genuine),
            Err(DropReason::Replay)
        );
        assert_eq!(a.endpoint(), Some(B_ADDR));
    }

    #[test]
    fn a_client_stranded_by_a_replayed_first_packet_falls_back_to_its_configured_endpoint() {
        let (mut a, mut b) = established();
        let (_, genuine) = seal(&mut b, secs(1), b"from the server").unwrap();
        // The attacker captured it and delivered it first, from its own address.
        let received = open(&mut a, secs(1), EVIL_ADDR, &genuine).unwrap();
        assert_eq!(
            received.endpoint_changed,
            Some(EndpointChange {
                from: Some(B_ADDR),
                to: EVIL_ADDR
            })
        );
        assert_eq!(
            open(&mut a, secs(1), B_ADDR, &genuine),
            Err(DropReason::Replay)
        );
        // The client's data now goes to the attacker, and nothing comes back.
        assert_eq!(seal(&mut a, secs(2), b"lost").unwrap().0.dst, EVIL_ADDR);
        let outcome = a.handle_timeout(secs(17));
        assert!(outcome.actions.send_initiation);
        assert_eq!(
            outcome.endpoint_changed,
            Some(EndpointChange {
                from: Some(EVIL_ADDR),
                to: B_ADDR
            })
        );
        assert_eq!(
            a.endpoint(),
            Some(B_ADDR),
            "the new initiation goes to the configured endpoint"
        );
    }

    #[test]
    fn an_unanswered_retransmission_also_falls_back() {
        let (mut a, mut b) = established();
        let (_, genuine) = seal(&mut b, secs(1), b"x").unwrap();
        open(&mut a, secs(1), EVIL_ADDR, &genuine).unwrap();
        a.initiation_sent(secs(130), INITIATION_LEN, &mut no_jitter());
        let outcome = a.handle_timeout(secs(130) + REKEY_TIMEOUT);
        assert!(outcome.actions.send_initiation);
        assert_eq!(a.endpoint(), Some(B_ADDR));
    }

    #[test]
    fn a_server_without_configured_endpoint_keeps_what_it_learned() {
        let (mut a, mut b) = established();
        let (_, genuine) = seal(&mut a, secs(1), b"x").unwrap();
        open(&mut b, secs(1), EVIL_ADDR, &genuine).unwrap();
        seal(&mut b, secs(2), b"into the void").unwrap();
        let outcome = b.handle_timeout(secs(17));
        assert!(outcome.actions.peer_unresponsive);
        assert_eq!(outcome.endpoint_changed, None);
        assert_eq!(b.endpoint(), Some(EVIL_ADDR));
        // The client's next packet puts it right.
        let (_, next) = seal(&mut a, secs(18), b"y").unwrap();
        let received = open(&mut b, secs(18), A_ADDR, &next).unwrap();
        assert_eq!(
            received.endpoint_changed,
            Some(EndpointChange {
                from: Some(EVIL_ADDR),
                to: A_ADDR
            })
        );
    }

    #[test]
    fn key_material_erased_after_540_seconds_without_a_new_session() {
        let (mut a, _) = established();
        a.handshake = Some("pending initiation");
        assert_eq!(
            a.handle_timeout(ms(539_999)).dropped_indices,
            LocalIndices::default()
        );
        let outcome = a.handle_timeout(secs(540));
        assert!(outcome.actions.zero_key_material);
        assert_eq!(outcome.dropped_indices.as_slice(), [1]);
        assert_eq!(outcome.dropped_handshake, Some("pending initiation"));
        assert!(a.sessions().is_empty());
        assert!(a.handshake.is_none());
        assert_eq!(a.poll_timeout(), None);
        // Data now asks for a new handshake.
        assert_eq!(
            seal(&mut a, secs(541), b"x").unwrap_err(),
            SendBlocked {
                reason: DropReason::NoSession,
                initiate: true
            }
        );
    }

    #[test]
    fn persistent_keepalive_after_the_interval_of_silence() {
        let (mut a, mut b) = client_and_server(Some(Duration::from_secs(25)));
        handshake(&mut a, &mut b, T0, 1, 2);
        // The completed handshake was a traversal: the interval runs from it.
        assert_eq!(a.poll_timeout(), Some(secs(25)));
        // The keepalive that confirms the session restarts the interval.
        seal(&mut a, secs(1), &[]).unwrap();
        assert_eq!(
            a.handle_timeout(ms(25_999)).actions,
            TimerActions::default()
        );
        assert!(a.handle_timeout(secs(26)).actions.send_keepalive);
        seal(&mut a, secs(26), &[]).unwrap();
        assert_eq!(a.poll_timeout(), Some(secs(51)));
        // The server has none configured.
        assert_eq!(b.poll_timeout(), Some(secs(540)));
    }

    #[test]
    fn transfer_counters_count_datagram_bytes_both_ways() {
        let (mut a, mut b) = client_and_server(None);
        handshake(&mut a, &mut b, T0, 1, 2);
        let (sent, data) = seal(&mut a, T0, &[0x45; 20]).unwrap();
        assert_eq!(sent.len, HEADER_LEN + 32 + 16);
        open(&mut b, T0, A_ADDR, &data).unwrap();
        assert_eq!(a.tx_bytes(), (INITIATION_LEN + sent.len) as u64);
        assert_eq!(a.rx_bytes(), RESPONSE_LEN as u64);
        assert_eq!(b.tx_bytes(), RESPONSE_LEN as u64);
        assert_eq!(b.rx_bytes(), (INITIATION_LEN + sent.len) as u64);
    }

    /// Many servers-side peers filed in one `DeadlineQueue`, driven the way an endpoint would:
    /// every peer's keepalive comes exactly 10 s after its data, and its keys go at 540 s.
    #[test]
    fn many_peers_driven_through_a_deadline_queue() {
        use crate::core::deadlines::DeadlineQueue;
        const PEERS: u64 = 300;
        let mut clients = Vec::new();
        let mut servers = Vec::new();
        let mut queue = DeadlineQueue::new();
        for i in 0..PEERS {
            let (mut a, mut b) = established();
            b.id = PeerId(i as u32);
            // Client i sends one packet at i * 100 ms.
            let (_, data) = seal(&mut a, ms(i * 100), b"hi").unwrap();
            open(&mut b, ms(i * 100), A_ADDR, &data).unwrap();
            queue.set(b.id(), b.poll_timeout());
            clients.push(a);
            servers.push(b);
        }
        let mut keepalives = Vec::new();
        let mut erased = Vec::new();
        while let Some(now) = queue.next_deadline() {
            while let Some(id) = queue.pop_due(now) {
                let server = &mut servers[id.index()];
                let outcome = server.handle_timeout(now);
                if outcome.actions.send_keepalive {
                    seal(server, now, &[]).unwrap();
                    keepalives.push((id.0 as u64, now));
                }
                if outcome.actions.zero_key_material {
                    erased.push((id.0 as u64, now));
                }
                queue.set(id, server.poll_timeout());
            }
        }
        let expected: Vec<(u64, Instant)> = (0..PEERS).map(|i| (i, ms(i * 100 + 10_000))).collect();
        assert_eq!(keepalives, expected);
        let expected: Vec<(u64, Instant)> = (0..PEERS).map(|i| (i, secs(540))).collect();
        assert_eq!(erased, expected);
        assert!(queue.is_empty());
        assert!(servers.iter().all(|s| s.sessions().is_empty()));
    }

    #[test]
    fn debug_shows_no_keys() {
        let (a, b) = established();
        for shown in [format!("{a:?}"), format!("{b:?}")] {
            // Session keys are the handshake indices repeated ([1; 32], [2; 32]).
            assert!(!shown.contains("[1, 1"), "{shown}");
            assert!(!shown.contains("[2, 2"), "{shown}");
        }
    }
}
