//! Where a peer's datagrams go: the address its authenticated packets came from (roaming), or the
//! configured `Endpoint` when that one stops answering.
//!
//! Rules:
//! 1. The address moves only to the source of a datagram that passed every check: for data, the
//!    tag and the replay window; for handshake messages, the handshake's own checks. A forged
//!    packet never moves it.
//! 2. An attacker can still move it once: by replaying a captured genuine packet from elsewhere
//!    before the original arrives (the original is then the replay), or by relaying. Then we send
//!    into the void. A peer that keeps talking moves it back with its next packet; a server that
//!    only answers never would. So when the peer stops answering (an initiation unanswered for
//!    `REKEY_TIMEOUT`, or data unanswered for `KEEPALIVE_TIMEOUT + REKEY_TIMEOUT`), a peer with a
//!    configured endpoint forgets the learned address and goes back to the configured one. The
//!    next authenticated packet teaches it the right address again.
//! 3. Without a configured endpoint (a server's view of roaming clients) there is nothing to fall
//!    back to: the learned address stays, and the client's next packet corrects it.
//! 4. The operator setting the endpoint replaces the learned one at once, as `wg set` does.

use core::net::SocketAddr;

/// The address data goes to changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct EndpointChange {
    pub(crate) from: Option<SocketAddr>,
    pub(crate) to: SocketAddr,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct PeerEndpoint {
    configured: Option<SocketAddr>,
    learned: Option<SocketAddr>,
}

impl PeerEndpoint {
    pub(crate) fn new(configured: Option<SocketAddr>) -> Self {
        PeerEndpoint {
            configured,
            learned: None,
        }
    }

    /// Where to send now: the learned address, else the configured one.
    pub(crate) fn current(&self) -> Option<SocketAddr> {
        self.learned.or(self.configured)
    }

    #[cfg(test)]
    pub(crate) fn configured(&self) -> Option<SocketAddr> {
        self.configured
    }

    /// The operator set (or removed) the endpoint. A set one takes effect at once (rule 4).
    pub(crate) fn set_configured(
        &mut self,
        configured: Option<SocketAddr>,
    ) -> Option<EndpointChange> {
        let before = self.current();
        self.configured = configured;
        if configured.is_some() {
            self.learned = None;
        }
        self.change_from(before)
    }

    /// A datagram from `from` passed every check (rule 1).
    pub(crate) fn authenticated_from(&mut self, from: SocketAddr) -> Option<EndpointChange> {
        let before = self.current();
        self.learned = Some(from);
        self.change_from(before)
    }

    /// The peer stopped answering at the current address (rule 2).
    pub(crate) fn fall_back(&mut self) -> Option<EndpointChange> {
        // Nothing configured: nothing to fall back to (rule 3).
        self.configured?;
        let before = self.current();
        self.learned = None;
        self.change_from(before)
    }

    fn change_from(&self, before: Option<SocketAddr>) -> Option<EndpointChange> {
        let to = self.current()?;
        (before != Some(to)).then_some(EndpointChange { from: before, to })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(last: u8, port: u16) -> SocketAddr {
        SocketAddr::from(([192, 0, 2, last], port))
    }

    #[test]
    fn learns_from_authenticated_packets() {
        let mut e = PeerEndpoint::new(None);
        assert_eq!(e.current(), None);
        assert_eq!(
            e.authenticated_from(addr(1, 1000)),
            Some(EndpointChange {
                from: None,
                to: addr(1, 1000)
            })
        );
        assert_eq!(e.authenticated_from(addr(1, 1000)), None);
        assert_eq!(
            e.authenticated_from(addr(1, 2000)),
            Some(EndpointChange {
                from: Some(addr(1, 1000)),
                to: addr(1, 2000)
            })
        );
        // Nothing to fall back to: stays.
        assert_eq!(e.fall_back(), None);
        assert_eq!(e.current(), Some(addr(1, 2000)));
    }

    #[test]
    fn falls_back_to_the_configured_endpoint() {
        let server = addr(1, 51820);
        let elsewhere = addr(66, 4444);
        let mut e = PeerEndpoint::new(Some(server));
        assert_eq!(e.current(), Some(server));
        // Genuine traffic from the configured address changes nothing.
        assert_eq!(e.authenticated_from(server), None);
        // A replayed-first packet from elsewhere moves it.
        assert!(e.authenticated_from(elsewhere).is_some());
        assert_eq!(e.current(), Some(elsewhere));
        assert_eq!(
            e.fall_back(),
            Some(EndpointChange {
                from: Some(elsewhere),
                to: server
            })
        );
        assert_eq!(e.current(), Some(server));
        assert_eq!(e.fall_back(), None, "already there");
    }

    #[test]
    fn operator_setting_replaces_the_learned_address() {
        let mut e = PeerEndpoint::new(None);
        e.authenticated_from(addr(1, 1));
        assert_eq!(
            e.set_configured(Some(addr(2, 2))),
            Some(EndpointChange {
                from: Some(addr(1, 1)),
                to: addr(2, 2)
            })
        );
        assert_eq!(e.current(), Some(addr(2, 2)));
        // Removing the configured endpoint keeps whatever we learned since.
        e.authenticated_from(addr(3, 3));
        assert_eq!(e.set_configured(None), None);
        assert_eq!(e.current(), Some(addr(3, 3)));
        assert_eq!(e.configured(), None);
    }
}
