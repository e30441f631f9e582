//! The protocol state machine of one ringtun endpoint (one peer: ringtun is point-to-point).
//!
//! Inputs: datagrams from the network ([`Endpoint::handle_datagram`]), IP packets from the TUN
//! device ([`Endpoint::seal`]) and the passing of time ([`Endpoint::handle_timeout`]). Outputs:
//! datagrams to send ([`Endpoint::poll_transmit`], and the sealed packet returned by `seal`), packets
//! to deliver (the range returned by `handle_datagram`), the next wake-up ([`Endpoint::poll_timeout`])
//! and events for the log and the interface set-up ([`Endpoint::poll_event`]).

use core::net::SocketAddr;
use core::time::Duration;

use super::stats::{DropReason, Stats};
use super::time::Instant;
use super::wire::TunnelConfig;

/// Which side of the handshake this endpoint plays. The connecting side initiates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Initiator { server: SocketAddr },
    Responder,
}

/// Protocol timers. Defaults are WireGuard's where WireGuard has one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timers {
    /// The initiator starts a new handshake once the current session is this old.
    pub rekey_after_time: Duration,
    /// A session is never used, either way, past this age.
    pub reject_after_time: Duration,
    /// Passive keepalive: sent when we received data but sent nothing for this long.
    pub keepalive_timeout: Duration,
    /// First handshake retry interval; doubled per attempt up to `max_retry_interval`.
    pub rekey_timeout: Duration,
    pub max_retry_interval: Duration,
    /// Dead peer: we sent data and heard nothing back for `keepalive_timeout + rekey_timeout`.
    /// Reported as a session-down once all sessions have expired.
    pub session_idle_timeout: Duration,
}

impl Default for Timers {
    fn default() -> Self {
        Timers {
            rekey_after_time: Duration::from_secs(120),
            reject_after_time: Duration::from_secs(180),
            keepalive_timeout: Duration::from_secs(10),
            rekey_timeout: Duration::from_secs(1),
            max_retry_interval: Duration::from_secs(16),
            session_idle_timeout: Duration::from_secs(180),
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

/// A datagram for the driver to send: `buf[..len]` to `dst`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Transmit {
    pub dst: SocketAddr,
    pub len: usize,
}

/// What became of a datagram from the network.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Received {
    /// An authenticated IP packet, decrypted in place at `datagram[start..start + len]`.
    Deliver { start: usize, len: usize },
    /// A handshake message or keepalive, fully handled (see `poll_transmit` / `poll_event`).
    Control,
    /// Dropped and counted.
    Dropped(DropReason),
}

/// Things the driver logs or acts on.
#[derive(Clone, Debug, PartialEq, Eq)]
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
    /// The initiator sent a handshake initiation (attempt number, from 1).
    HandshakeSent { attempt: u32 },
}

pub struct Endpoint {
    _private: (),
}

/// Largest datagram `poll_transmit` writes (a handshake response).
pub const MAX_CONTROL_LEN: usize = super::wire::RESPONSE_LEN;

impl Endpoint {
    /// `seed` comes from getrandom(2); `wall_clock_ns` is the Unix time at `now`, used only for the
    /// initiation timestamp (monotonic within the process, and across restarts via the wall clock).
    pub fn new(config: EndpointConfig, seed: [u8; 32], now: Instant, wall_clock_ns: u64) -> Self {
        let _ = (config, seed, now, wall_clock_ns);
        todo!("core")
    }

    /// Handles one datagram from `from`, opening transport data in place.
    pub fn handle_datagram(
        &mut self,
        now: Instant,
        from: SocketAddr,
        datagram: &mut [u8],
    ) -> Received {
        let _ = (now, from, datagram);
        todo!("core")
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
        let _ = (now, buf, payload_len);
        todo!("core")
    }

    /// Next control datagram to send (handshake message or keepalive), written into `buf`, which must
    /// hold at least `MAX_CONTROL_LEN` bytes.
    pub fn poll_transmit(&mut self, now: Instant, buf: &mut [u8]) -> Option<Transmit> {
        let _ = (now, buf);
        todo!("core")
    }

    /// When `handle_timeout` should next be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        todo!("core")
    }

    pub fn handle_timeout(&mut self, now: Instant) {
        let _ = now;
        todo!("core")
    }

    pub fn poll_event(&mut self) -> Option<Event> {
        todo!("core")
    }

    pub fn stats(&self) -> &Stats {
        todo!("core")
    }

    /// Where data goes now, if anywhere.
    pub fn peer_addr(&self) -> Option<SocketAddr> {
        todo!("core")
    }
}
