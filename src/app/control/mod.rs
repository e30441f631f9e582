//! The device as `wg` drives it: [`Controlled`] wraps the [`Device`] so that the driver runs the
//! data plane with it ([`Protocol`], forwarded) and serves the control socket with it
//! ([`Control`]): `wg show` / `wg showconf` read a [`snapshot`], `wg set` / `setconf` /
//! `syncconf` are checked whole and then applied ([`apply`]).
//!
//! A wrapper in the app rather than `Control for Device`, because the conversion needs what the
//! core must not do: turn an endpoint's interface name (`[fe80::1%eth0]:51820`) into its index,
//! log what a request changed, and name peers in the log while peers come and go. The events it
//! hands the hooks carry the public key of their peer ([`PeerEvent`]), looked up as they are
//! taken from the device, so log lines name peers added at run time too.

use std::collections::VecDeque;
use std::net::SocketAddr;

use crate::core::device::{Device, Event, MAX_CONTROL_LEN};
use crate::core::entropy::Entropy;
use crate::core::keys::PublicKey;
use crate::core::time::WallTime;
use crate::core::{DropReason, Instant, Received, Stats, Transmit};
use crate::driver::{Control, Protocol, SocketControl};
use crate::uapi::{Errno, SetRequest, Snapshot};
use crate::{log_info, log_warn};

pub mod apply;
pub mod snapshot;
#[cfg(test)]
mod tests;

/// Looks up an interface's index by name (`if_nametoindex`), for IPv6 endpoints with a zone.
pub type ScopeResolver = fn(&str) -> Option<u32>;

/// A device event and the public key of its peer, as the device had it when the event was taken
/// (`None`: the peer was removed meanwhile).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PeerEvent {
    pub event: Event,
    pub key: Option<PublicKey>,
}

/// See the module documentation.
pub struct Controlled<E: Entropy> {
    device: Device<E>,
    /// Events taken from the device before a `set` changed its peers (so that each is named
    /// after the peer it was about); handed out before the device's own. At most the device's
    /// queue per `set`.
    held: VecDeque<PeerEvent>,
    resolve_scope: ScopeResolver,
}

impl<E: Entropy> Controlled<E> {
    pub fn new(device: Device<E>, resolve_scope: ScopeResolver) -> Self {
        Controlled {
            device,
            held: VecDeque::new(),
            resolve_scope,
        }
    }

    fn named(&self, event: Event) -> PeerEvent {
        let peer = match event {
            Event::HandshakeSent { peer, .. }
            | Event::HandshakeComplete { peer, .. }
            | Event::EndpointChanged { peer, .. }
            | Event::HandshakeGivenUp { peer }
            | Event::SessionsZeroed { peer } => peer,
        };
        PeerEvent {
            event,
            key: self.device.peer_public_key(peer).copied(),
        }
    }
}

impl<E: Entropy> Protocol for Controlled<E> {
    type Event = PeerEvent;
    const MAX_CONTROL_LEN: usize = MAX_CONTROL_LEN;

    #[inline]
    fn handle_datagram(&mut self, now: Instant, from: SocketAddr, datagram: &mut [u8]) -> Received {
        self.device.handle_datagram(now, from, datagram)
    }
    #[inline]
    fn seal(
        &mut self,
        now: Instant,
        buf: &mut [u8],
        payload_len: usize,
    ) -> Result<Transmit, DropReason> {
        self.device.seal(now, buf, payload_len)
    }
    #[inline]
    fn poll_transmit(&mut self, now: Instant, wall: WallTime, buf: &mut [u8]) -> Option<Transmit> {
        self.device.poll_transmit(now, wall, buf)
    }
    #[inline]
    fn poll_timeout(&self) -> Option<Instant> {
        self.device.poll_timeout()
    }
    #[inline]
    fn handle_timeout(&mut self, now: Instant) {
        self.device.handle_timeout(now)
    }
    fn poll_event(&mut self) -> Option<PeerEvent> {
        if let Some(held) = self.held.pop_front() {
            return Some(held);
        }
        let event = self.device.poll_event()?;
        Some(self.named(event))
    }
    #[inline]
    fn stats(&self) -> &Stats {
        self.device.stats()
    }
}

impl<E: Entropy> Control for Controlled<E> {
    fn get(&mut self, now: Instant, wall: WallTime) -> Snapshot {
        snapshot::snapshot(&self.device, now, wall)
    }

    fn set(
        &mut self,
        _now: Instant,
        request: SetRequest,
        socket: &mut dyn SocketControl,
    ) -> Result<(), Errno> {
        while let Some(event) = self.device.poll_event() {
            let named = self.named(event);
            self.held.push_back(named);
        }
        match apply::apply(&mut self.device, request, socket, self.resolve_scope) {
            Ok(summary) => {
                if !summary.is_empty() {
                    log_info!("configuration changed (control socket): {summary}");
                }
                Ok(())
            }
            Err(refusal) => {
                if refusal.partial {
                    log_warn!("control socket: set failed half-way: {}", refusal.why);
                } else {
                    log_info!("control socket: set refused: {}", refusal.why);
                }
                Err(refusal.errno)
            }
        }
    }
}
