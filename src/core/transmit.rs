//! What the protocol core hands back to the driver for each input: a datagram to send
//! ([`Transmit`]) and the fate of a received datagram ([`Received`]).

use core::net::SocketAddr;

use super::stats::DropReason;

/// A datagram for the driver to send: `buf[..len]` to `dst`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Transmit {
    pub(crate) dst: SocketAddr,
    pub len: usize,
}

/// What became of a datagram from the network.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Received {
    /// An authenticated IP packet, decrypted in place at `datagram[start..start + len]`.
    Deliver { start: usize, len: usize },
    /// A handshake message or keepalive, fully handled (see `poll_transmit` / `poll_event`).
    Control,
    /// Dropped and counted; the state is exactly as before, but for the counter.
    Dropped(DropReason),
}
