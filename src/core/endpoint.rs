//! The protocol state machine of one ringtun endpoint (one peer: ringtun is point-to-point).
//!
//! Inputs: datagrams from the network ([`Endpoint::handle_datagram`]), IP packets from the TUN
//! device ([`Endpoint::seal`]) and the passing of time ([`Endpoint::handle_timeout`]). Outputs:
//! datagrams to send ([`Endpoint::poll_transmit`], and the sealed packet returned by `seal`), packets
//! to deliver (the range returned by `handle_datagram`), the next wake-up ([`Endpoint::poll_timeout`])
//! and events for the log and the interface set-up ([`Endpoint::poll_event`]).

use core::net::SocketAddr;
use core::time::Duration;

use super::handshake::{self, PendingInitiation};
use super::rng::Rng;
use super::session::{REKEY_AFTER_MESSAGES, Session, SessionFingerprint};
use super::stats::{DropReason, Stats};
use super::time::Instant;
use super::wire::{
    self, DATA_HEADER_LEN, DataHeader, INITIATION_LEN, Initiation, KEEPALIVE_LEN, Packet,
    RANDOM_LEN, RESPONSE_LEN, Response, TunnelConfig,
};

/// Which side of the handshake this endpoint plays. The connecting side initiates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Initiator { server: SocketAddr },
    Responder,
}

/// Protocol timers. Defaults are WireGuard's where WireGuard has one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timers {
    /// The initiator starts a new handshake once the current session is this old, traffic or not,
    /// so an idle tunnel stays ready and a dead server is noticed.
    pub rekey_after_time: Duration,
    /// A session is never used, either way, past this age.
    pub reject_after_time: Duration,
    /// Passive keepalive: sent when we received data but sent nothing for this long.
    pub keepalive_timeout: Duration,
    /// First handshake retry interval; doubled per unanswered attempt up to `handshake_retry_max`,
    /// plus up to a third of `handshake_retry` of random jitter.
    pub handshake_retry: Duration,
    pub handshake_retry_max: Duration,
    /// Dead peer: we sent data and heard nothing back for this long, so the initiator re-handshakes
    /// (keepalive timeout plus slack, as WireGuard's 10 s + 5 s).
    pub dead_peer_timeout: Duration,
    /// The responder accepts at most one initiation per this interval.
    pub min_initiation_interval: Duration,
}

impl Default for Timers {
    fn default() -> Self {
        Timers {
            rekey_after_time: Duration::from_secs(120),
            reject_after_time: Duration::from_secs(180),
            keepalive_timeout: Duration::from_secs(10),
            handshake_retry: Duration::from_secs(1),
            handshake_retry_max: Duration::from_secs(16),
            dead_peer_timeout: Duration::from_secs(15),
            min_initiation_interval: Duration::from_millis(20),
        }
    }
}

#[derive(Clone, Debug)]
pub struct EndpointConfig {
    /// The pre-shared key both sides hold.
    pub psk: [u8; 32],
    pub role: Role,
    /// Responder: the addressing pushed to the client in every response. Initiator: unused.
    pub tunnel: TunnelConfig,
    pub timers: Timers,
}

pub use super::transmit::{Received, Transmit};

/// Things the driver logs or acts on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    /// First session with a peer (or first after a `SessionDown`). The initiator gets the server's
    /// pushed tunnel config; the responder its own.
    SessionUp {
        peer: SocketAddr,
        tunnel: TunnelConfig,
    },
    /// A new session replaced the current one.
    Rekeyed { peer: SocketAddr },
    /// An authenticated datagram came from a new address: replies go there now.
    PeerAddressChanged { from: SocketAddr, to: SocketAddr },
    /// Every session expired without a new handshake.
    SessionDown,
    /// The initiator sent a handshake initiation (unanswered attempts so far, from 1).
    HandshakeSent { attempt: u32 },
}

/// Largest datagram `poll_transmit` writes (a handshake response).
pub const MAX_CONTROL_LEN: usize = wire::RESPONSE_LEN;

const EVENT_CAPACITY: usize = 32;

/// A fixed-size FIFO, so that events cost no allocation. When full, the oldest event is lost: the
/// driver drains events after every batch, so this only happens if it stops doing so.
struct EventQueue {
    items: [Option<Event>; EVENT_CAPACITY],
    head: usize,
    len: usize,
}

impl EventQueue {
    fn new() -> Self {
        EventQueue {
            items: [None; EVENT_CAPACITY],
            head: 0,
            len: 0,
        }
    }

    fn push(&mut self, event: Event) {
        if self.len == EVENT_CAPACITY {
            self.head = (self.head + 1) % EVENT_CAPACITY;
            self.len -= 1;
        }
        self.items[(self.head + self.len) % EVENT_CAPACITY] = Some(event);
        self.len += 1;
    }

    fn pop(&mut self) -> Option<Event> {
        if self.len == 0 {
            return None;
        }
        let event = self.items[self.head].take();
        self.head = (self.head + 1) % EVENT_CAPACITY;
        self.len -= 1;
        event
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Slot {
    Current,
    Previous,
    Next,
}

pub struct Endpoint {
    psk: [u8; 32],
    role: Role,
    tunnel: TunnelConfig,
    timers: Timers,
    rng: Rng,
    clock_origin: Instant,
    wall_clock_origin_ns: u64,

    /// Where data and keepalives go. Changes only on an authenticated, non-replayed datagram.
    peer: Option<SocketAddr>,
    /// The session we send with.
    current: Option<Session>,
    /// The session before the last handshake, kept to open packets still in flight.
    previous: Option<Session>,
    /// Responder only: a session from an accepted initiation, unconfirmed until the initiator's
    /// first data (or keepalive) under it arrives. Never used for sending before that.
    next: Option<Session>,
    /// A `SessionUp` was reported and no `SessionDown` since.
    up: bool,

    // Initiator.
    pending: Option<PendingInitiation>,
    /// Initiations sent since the last response: drives the retry backoff.
    attempts: u32,
    /// When to send the next initiation (first, retry or proactive rekey).
    handshake_at: Option<Instant>,
    initiation_due: bool,
    /// Last timestamp put in an initiation; each new one is strictly greater.
    last_timestamp: u64,

    // Responder.
    /// Greatest initiation timestamp accepted: older or equal ones are replays.
    newest_initiation: u64,
    last_initiation_at: Option<Instant>,
    response: Option<([u8; RESPONSE_LEN], SocketAddr)>,

    // Data-path timers.
    /// Passive keepalive deadline: set on receiving data, cleared on sending anything.
    keepalive_at: Option<Instant>,
    keepalive_due: bool,
    /// First data sent since the last authenticated receive (dead-peer detection).
    unanswered_since: Option<Instant>,

    events: EventQueue,
    stats: Stats,
}

impl Endpoint {
    /// `seed` comes from getrandom(2); `wall_clock_ns` is the Unix time at `now`, used only for the
    /// initiation timestamp (monotonic within the process, and across restarts via the wall clock).
    pub fn new(config: EndpointConfig, seed: [u8; 32], now: Instant, wall_clock_ns: u64) -> Self {
        let (peer, handshake_at) = match config.role {
            Role::Initiator { server } => (Some(server), Some(now)),
            Role::Responder => (None, None),
        };
        Endpoint {
            psk: config.psk,
            role: config.role,
            tunnel: config.tunnel,
            timers: config.timers,
            rng: Rng::from_seed(seed),
            clock_origin: now,
            wall_clock_origin_ns: wall_clock_ns,
            peer,
            current: None,
            previous: None,
            next: None,
            up: false,
            pending: None,
            attempts: 0,
            handshake_at,
            initiation_due: false,
            last_timestamp: 0,
            newest_initiation: 0,
            last_initiation_at: None,
            response: None,
            keepalive_at: None,
            keepalive_due: false,
            unanswered_since: None,
            events: EventQueue::new(),
            stats: Stats::default(),
        }
    }

    /// Handles one datagram from `from`, opening transport data in place.
    pub fn handle_datagram(
        &mut self,
        now: Instant,
        from: SocketAddr,
        datagram: &mut [u8],
    ) -> Received {
        match wire::parse(datagram) {
            Err(_) => self.dropped(DropReason::Malformed),
            Ok(Packet::Data {
                header,
                header_bytes,
                body,
            }) => self.on_data(now, from, &header, header_bytes, body),
            Ok(Packet::Initiation(msg)) => self.on_initiation(now, from, &msg),
            Ok(Packet::Response(msg)) => self.on_response(now, from, &msg),
        }
    }

    fn dropped(&mut self, reason: DropReason) -> Received {
        self.stats.count_drop(reason);
        Received::Dropped(reason)
    }

    fn session_mut(&mut self, slot: Slot) -> Option<&mut Session> {
        match slot {
            Slot::Current => self.current.as_mut(),
            Slot::Previous => self.previous.as_mut(),
            Slot::Next => self.next.as_mut(),
        }
    }

    fn find_session(&self, local_index: u32) -> Option<Slot> {
        let matches =
            |s: &Option<Session>| s.as_ref().is_some_and(|s| s.local_index == local_index);
        if matches(&self.current) {
            Some(Slot::Current)
        } else if matches(&self.previous) {
            Some(Slot::Previous)
        } else if matches(&self.next) {
            Some(Slot::Next)
        } else {
            None
        }
    }

    fn on_data(
        &mut self,
        now: Instant,
        from: SocketAddr,
        header: &DataHeader,
        header_bytes: &[u8; DATA_HEADER_LEN],
        body: &mut [u8],
    ) -> Received {
        let Some(slot) = self.find_session(header.receiver_index) else {
            return self.dropped(DropReason::UnknownSession);
        };
        let reject_after = self.timers.reject_after_time;
        let opened = match self.session_mut(slot) {
            Some(s) if now.saturating_since(s.created) >= reject_after => Err(DropReason::Expired),
            Some(s) => s.open(header, header_bytes, body),
            None => Err(DropReason::UnknownSession),
        };
        let plain_len = match opened {
            Ok(n) => n,
            Err(reason) => return self.dropped(reason),
        };
        // Authenticated and not a replay: from here on the datagram may change state.
        self.update_peer(from);
        if slot == Slot::Next {
            self.confirm_next();
        }
        self.unanswered_since = None;
        if plain_len == 0 {
            self.stats.keepalives_received += 1;
            return Received::Control;
        }
        let Some(len) = body.get(..plain_len).and_then(ip_packet_len) else {
            return self.dropped(DropReason::BadInnerPacket);
        };
        if self.keepalive_at.is_none() {
            self.keepalive_at = Some(now + self.timers.keepalive_timeout);
        }
        self.stats.rx_packets += 1;
        self.stats.rx_bytes += len as u64;
        Received::Deliver {
            start: DATA_HEADER_LEN,
            len,
        }
    }

    /// The responder's pending session proved itself: it becomes the one we send with.
    fn confirm_next(&mut self) {
        if let Some(next) = self.next.take() {
            self.previous = self.current.replace(next);
            self.stats.handshakes_completed += 1;
            self.session_established();
        }
    }

    fn session_established(&mut self) {
        // `peer` is set by the caller before the event is read, so the event carries the new one.
        let peer = self.peer;
        match peer {
            Some(peer) if !self.up => {
                self.up = true;
                let tunnel = self.tunnel;
                self.events.push(Event::SessionUp { peer, tunnel });
            }
            Some(peer) => self.events.push(Event::Rekeyed { peer }),
            None => {}
        }
    }

    fn update_peer(&mut self, from: SocketAddr) {
        if self.peer != Some(from) {
            if let Some(old) = self.peer {
                self.events.push(Event::PeerAddressChanged {
                    from: old,
                    to: from,
                });
            }
            self.peer = Some(from);
        }
    }

    fn on_initiation(&mut self, now: Instant, from: SocketAddr, msg: &Initiation) -> Received {
        if self.role != Role::Responder {
            return self.dropped(DropReason::WrongRole);
        }
        let Ok(valid) = handshake::consume_initiation(&self.psk, msg) else {
            return self.dropped(DropReason::HandshakeAuthFailed);
        };
        if valid.timestamp <= self.newest_initiation {
            return self.dropped(DropReason::HandshakeReplay);
        }
        if self
            .last_initiation_at
            .is_some_and(|t| now.saturating_since(t) < self.timers.min_initiation_interval)
        {
            return self.dropped(DropReason::HandshakeRateLimited);
        }
        self.newest_initiation = valid.timestamp;
        self.last_initiation_at = Some(now);
        let local_index = self.fresh_index();
        let mut random = [0u8; RANDOM_LEN];
        self.rng.fill(&mut random);
        let mut out = [0u8; RESPONSE_LEN];
        let keys = handshake::create_response(
            &self.psk,
            &valid,
            local_index,
            random,
            &self.tunnel,
            &mut out,
        );
        // Replaces any earlier unconfirmed session: the table stays one entry.
        self.next = Some(Session::new(local_index, valid.sender_index, keys, now));
        self.response = Some((out, from));
        Received::Control
    }

    fn on_response(&mut self, now: Instant, from: SocketAddr, msg: &Response) -> Received {
        if self.role == Role::Responder {
            return self.dropped(DropReason::WrongRole);
        }
        let Some(pending) = self
            .pending
            .as_ref()
            .filter(|p| p.sender_index == msg.receiver_index)
        else {
            return self.dropped(DropReason::UnexpectedResponse);
        };
        let Ok(valid) = handshake::consume_response(&self.psk, pending, msg) else {
            return self.dropped(DropReason::HandshakeAuthFailed);
        };
        let Ok(tunnel) = valid.tunnel else {
            // Authentic but unusable: a server speaking a config this version cannot apply.
            return self.dropped(DropReason::Malformed);
        };
        let local_index = pending.sender_index;
        self.pending = None;
        self.attempts = 0;
        self.previous = self.current.replace(Session::new(
            local_index,
            valid.responder_index,
            valid.keys,
            now,
        ));
        self.handshake_at = Some(now + self.timers.rekey_after_time);
        self.tunnel = tunnel;
        self.stats.handshakes_completed += 1;
        self.update_peer(from);
        self.unanswered_since = None;
        // Confirms the session to the responder at once, so it can send on it.
        self.keepalive_due = true;
        self.session_established();
        Received::Control
    }

    /// Seals the IP packet at `buf[DATA_HEADER_LEN..DATA_HEADER_LEN + payload_len]` in place: writes
    /// the header before it and the tag after it. `buf` must have `TAG_LEN` bytes of room after the
    /// packet. On success the datagram is `buf[..transmit.len]`.
    pub fn seal(
        &mut self,
        now: Instant,
        buf: &mut [u8],
        payload_len: usize,
    ) -> Result<Transmit, DropReason> {
        let result = self.seal_inner(now, buf, payload_len);
        if let Err(reason) = result {
            self.stats.count_drop(reason);
        }
        result
    }

    fn seal_inner(
        &mut self,
        now: Instant,
        buf: &mut [u8],
        payload_len: usize,
    ) -> Result<Transmit, DropReason> {
        let (reject_after, rekey_after) =
            (self.timers.reject_after_time, self.timers.rekey_after_time);
        let (Some(session), Some(peer)) = (self.current.as_mut(), self.peer) else {
            self.request_handshake(now);
            return Err(DropReason::NoSession);
        };
        let age = now.saturating_since(session.created);
        if age >= reject_after {
            self.request_handshake(now);
            return Err(DropReason::NoSession);
        }
        let len = session.seal(buf, payload_len)?;
        if age >= rekey_after || session.send_counter() >= REKEY_AFTER_MESSAGES {
            self.request_handshake(now);
        }
        self.stats.tx_packets += 1;
        self.stats.tx_bytes += payload_len as u64;
        self.keepalive_at = None;
        if self.unanswered_since.is_none() {
            self.unanswered_since = Some(now);
        }
        Ok(Transmit { dst: peer, len })
    }

    /// Initiator: handshake as soon as possible, unless one is already in flight (its retries run on
    /// their own backoff).
    fn request_handshake(&mut self, now: Instant) {
        if matches!(self.role, Role::Initiator { .. }) && self.pending.is_none() {
            self.handshake_at = Some(self.handshake_at.map_or(now, |at| at.min(now)));
        }
    }

    /// Next control datagram to send (handshake message or keepalive), written into `buf`, which must
    /// hold at least `MAX_CONTROL_LEN` bytes. Drain it after every `handle_*` and `seal` call.
    pub fn poll_transmit(&mut self, now: Instant, buf: &mut [u8]) -> Option<Transmit> {
        if let Some((msg, dst)) = self.response.take() {
            buf.get_mut(..RESPONSE_LEN)?.copy_from_slice(&msg);
            return Some(Transmit {
                dst,
                len: RESPONSE_LEN,
            });
        }
        if self.initiation_due {
            self.initiation_due = false;
            if let Some(t) = self.build_initiation(now, buf) {
                return Some(t);
            }
        }
        if self.keepalive_due {
            self.keepalive_due = false;
            if let (Some(session), Some(peer)) = (self.current.as_mut(), self.peer) {
                if let Ok(len) = session.seal(buf.get_mut(..KEEPALIVE_LEN)?, 0) {
                    self.stats.keepalives_sent += 1;
                    self.keepalive_at = None;
                    return Some(Transmit { dst: peer, len });
                }
            }
        }
        None
    }

    fn build_initiation(&mut self, now: Instant, buf: &mut [u8]) -> Option<Transmit> {
        let Role::Initiator { server } = self.role else {
            return None;
        };
        let out: &mut [u8; INITIATION_LEN] = buf.get_mut(..INITIATION_LEN)?.try_into().ok()?;
        let sender_index = self.fresh_index();
        let mut random = [0u8; RANDOM_LEN];
        self.rng.fill(&mut random);
        let elapsed =
            u64::try_from(now.saturating_since(self.clock_origin).as_nanos()).unwrap_or(u64::MAX);
        let timestamp = self
            .wall_clock_origin_ns
            .saturating_add(elapsed)
            .max(self.last_timestamp.saturating_add(1));
        self.last_timestamp = timestamp;
        self.pending = Some(handshake::create_initiation(
            &self.psk,
            sender_index,
            random,
            timestamp,
            out,
        ));
        self.stats.handshakes_initiated += 1;
        self.events.push(Event::HandshakeSent {
            attempt: self.attempts,
        });
        Some(Transmit {
            dst: self.peer.unwrap_or(server),
            len: INITIATION_LEN,
        })
    }

    /// A random session index not used by any live or pending session.
    fn fresh_index(&mut self) -> u32 {
        loop {
            let index = self.rng.next_u32();
            let taken = [&self.current, &self.previous, &self.next]
                .iter()
                .any(|s| s.as_ref().is_some_and(|s| s.local_index == index))
                || self
                    .pending
                    .as_ref()
                    .is_some_and(|p| p.sender_index == index);
            // At most four indices are live, so this loops more than once with probability ~2^-30.
            if !taken {
                return index;
            }
        }
    }

    /// When `handle_timeout` should next be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let reject = self.timers.reject_after_time;
        let expiry = |s: &Option<Session>| s.as_ref().map(|s| s.created + reject);
        [
            self.handshake_at,
            self.keepalive_at,
            self.unanswered_since
                .map(|t| t + self.timers.dead_peer_timeout),
            expiry(&self.current),
            expiry(&self.previous),
            expiry(&self.next),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    pub fn handle_timeout(&mut self, now: Instant) {
        self.expire_sessions(now);

        if let Some(since) = self.unanswered_since {
            if now.saturating_since(since) >= self.timers.dead_peer_timeout {
                self.unanswered_since = None;
                // The responder cannot initiate. The initiator reports the silence (the peer may have
                // restarted and forgotten our session) and handshakes again; sending goes on with
                // the current session meanwhile, in case the peer was only slow.
                if matches!(self.role, Role::Initiator { .. }) {
                    if self.up {
                        self.up = false;
                        self.events.push(Event::SessionDown);
                    }
                    self.request_handshake(now);
                }
            }
        }

        if self.handshake_at.is_some_and(|at| now >= at) {
            self.attempts = self.attempts.saturating_add(1);
            self.handshake_at = Some(now + self.retry_interval());
            self.initiation_due = true;
        }

        if self.keepalive_at.is_some_and(|at| now >= at) {
            self.keepalive_at = None;
            self.keepalive_due = self.current.is_some();
        }
    }

    fn retry_interval(&mut self) -> Duration {
        let base = self.timers.handshake_retry;
        let doublings = self.attempts.saturating_sub(1).min(16);
        let backoff = base
            .saturating_mul(1 << doublings)
            .min(self.timers.handshake_retry_max);
        // Jitter keeps two clients that started together from retrying in lockstep.
        let jitter_range = u64::try_from(base.as_nanos() / 3)
            .unwrap_or(u64::MAX)
            .max(1);
        backoff + Duration::from_nanos(self.rng.next_u64() % jitter_range)
    }

    fn expire_sessions(&mut self, now: Instant) {
        let reject = self.timers.reject_after_time;
        let expired = |s: &Option<Session>| {
            s.as_ref()
                .is_some_and(|s| now.saturating_since(s.created) >= reject)
        };
        if expired(&self.previous) {
            self.previous = None;
        }
        if expired(&self.next) {
            self.next = None;
        }
        if expired(&self.current) {
            self.current = None;
            self.keepalive_at = None;
            self.keepalive_due = false;
            self.unanswered_since = None;
            if self.up {
                self.up = false;
                self.events.push(Event::SessionDown);
            }
        }
    }

    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop()
    }

    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// Where data goes now, if anywhere.
    pub fn peer_addr(&self) -> Option<SocketAddr> {
        self.peer
    }

    /// A session is up (a `SessionUp` was reported and no `SessionDown` since).
    pub fn is_up(&self) -> bool {
        self.up
    }

    /// Everything a datagram could change, but the counters: a dropped datagram must leave it equal.
    /// For tests and fuzzing.
    #[doc(hidden)]
    pub fn state_fingerprint(&self) -> StateFingerprint {
        let session = |s: &Option<Session>| s.as_ref().map(Session::fingerprint);
        StateFingerprint {
            peer: self.peer,
            sessions: [
                session(&self.current),
                session(&self.previous),
                session(&self.next),
            ],
            up: self.up,
            pending: self.pending.as_ref().map(|p| p.sender_index),
            attempts: self.attempts,
            handshake_at: self.handshake_at,
            newest_initiation: self.newest_initiation,
            last_initiation_at: self.last_initiation_at,
            response_queued: self.response.is_some(),
            keepalive_at: self.keepalive_at,
            keepalive_due: self.keepalive_due,
            unanswered_since: self.unanswered_since,
            events: self.events.len,
        }
    }
}

#[doc(hidden)]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StateFingerprint {
    peer: Option<SocketAddr>,
    sessions: [Option<SessionFingerprint>; 3],
    up: bool,
    pending: Option<u32>,
    attempts: u32,
    handshake_at: Option<Instant>,
    newest_initiation: u64,
    last_initiation_at: Option<Instant>,
    response_queued: bool,
    keepalive_at: Option<Instant>,
    keepalive_due: bool,
    unanswered_since: Option<Instant>,
    events: usize,
}

/// Length of the IPv4 or IPv6 packet at the start of `p`, from its own header; `None` if `p` is not
/// one or is shorter than its header says.
fn ip_packet_len(p: &[u8]) -> Option<usize> {
    match p.first()? >> 4 {
        4 => {
            let total = usize::from(u16::from_be_bytes([*p.get(2)?, *p.get(3)?]));
            (total >= 20 && total <= p.len()).then_some(total)
        }
        6 => {
            let total = 40 + usize::from(u16::from_be_bytes([*p.get(4)?, *p.get(5)?]));
            (total <= p.len()).then_some(total)
        }
        _ => None,
    }
}

#[cfg(test)]
mod sim;
