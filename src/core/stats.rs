//! Counters kept by the core: traffic each way and drops by reason. Plain integers, no allocation.

/// Why a datagram from the network, or a packet from the TUN device, was dropped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(usize)]
pub enum DropReason {
    /// Wrong length, unknown type, non-zero reserved bytes.
    Malformed,
    /// Data for a receiver index we do not have (stale, forged, or from before a restart).
    UnknownSession,
    /// Tag check failed on transport data.
    AuthFailed,
    /// Counter already seen or older than the replay window.
    Replay,
    /// Session too old (reject-after-time) or counter past reject-after-messages.
    Expired,
    /// Handshake message whose tag did not verify (wrong key, or forged).
    HandshakeAuthFailed,
    /// Initiation with a timestamp not newer than the last accepted one from that peer (a replay).
    HandshakeReplay,
    /// Response to no handshake we have pending.
    UnexpectedResponse,
    /// Handshake message of a type this role does not accept (a server gets no responses).
    WrongRole,
    /// Initiations from one peer arriving faster than the responder accepts them (one per
    /// `INITIATION_MIN_INTERVAL`).
    HandshakeRateLimited,
    /// Decrypted payload is not an IPv4/IPv6 packet of consistent length.
    BadInnerPacket,
    /// Outgoing packet with no session up (a handshake is started instead).
    NoSession,
    /// Outgoing packet that does not fit the buffer with header and tag.
    TooBig,
    /// Handshake message whose mac1 is wrong: not made for our public key (or corrupted). Dropped
    /// before any Diffie-Hellman.
    BadMac1,
    /// Handshake message without a valid mac2 while under load: answered with a cookie reply
    /// instead of being processed (the sender retries with the cookie).
    CookieRequired,
    /// Handshake message from a source address that sent more than its share (per-source rate
    /// limit).
    RateLimited,
    /// Initiation from a static key that is not one of our peers (no response is sent).
    UnknownPeer,
    /// Authentic packet from a peer whose inner source address is not in that peer's AllowedIPs.
    SourceNotAllowed,
    /// Outgoing packet whose destination is in no peer's AllowedIPs.
    NoRoute,
    /// Outgoing packet for a peer with no session and no known address to start one at.
    NoEndpoint,
    /// Cookie reply that does not open with the peer's cookie key and our last mac1.
    BadCookieReply,
    /// Handshake that could not be answered for lack of room: the queue of outgoing handshake
    /// messages is full (the driver is not draining it fast enough), or no receiver index was
    /// free. Nothing was changed.
    ControlQueueFull,
    /// Handshake message while the interface has no private key (none configured yet, or removed
    /// with an all-zero key): it answers no handshake and starts none.
    NoPrivateKey,
}

impl DropReason {
    pub(crate) const COUNT: usize = 23;
    pub(crate) const ALL: [DropReason; Self::COUNT] = [
        DropReason::Malformed,
        DropReason::UnknownSession,
        DropReason::AuthFailed,
        DropReason::Replay,
        DropReason::Expired,
        DropReason::HandshakeAuthFailed,
        DropReason::HandshakeReplay,
        DropReason::UnexpectedResponse,
        DropReason::WrongRole,
        DropReason::HandshakeRateLimited,
        DropReason::BadInnerPacket,
        DropReason::NoSession,
        DropReason::TooBig,
        DropReason::BadMac1,
        DropReason::CookieRequired,
        DropReason::RateLimited,
        DropReason::UnknownPeer,
        DropReason::SourceNotAllowed,
        DropReason::NoRoute,
        DropReason::NoEndpoint,
        DropReason::BadCookieReply,
        DropReason::ControlQueueFull,
        DropReason::NoPrivateKey,
    ];

    /// Short name for logs and counter dumps.
    pub(crate) fn name(self) -> &'static str {
        match self {
            DropReason::Malformed => "malformed",
            DropReason::UnknownSession => "unknown-session",
            DropReason::AuthFailed => "auth-failed",
            DropReason::Replay => "replay",
            DropReason::Expired => "expired",
            DropReason::HandshakeAuthFailed => "handshake-auth-failed",
            DropReason::HandshakeReplay => "handshake-replay",
            DropReason::UnexpectedResponse => "unexpected-response",
            DropReason::WrongRole => "wrong-role",
            DropReason::HandshakeRateLimited => "handshake-rate-limited",
            DropReason::BadInnerPacket => "bad-inner-packet",
            DropReason::NoSession => "no-session",
            DropReason::TooBig => "too-big",
            DropReason::BadMac1 => "bad-mac1",
            DropReason::CookieRequired => "cookie-required",
            DropReason::RateLimited => "rate-limited",
            DropReason::UnknownPeer => "unknown-peer",
            DropReason::SourceNotAllowed => "source-not-allowed",
            DropReason::NoRoute => "no-route",
            DropReason::NoEndpoint => "no-endpoint",
            DropReason::BadCookieReply => "bad-cookie-reply",
            DropReason::ControlQueueFull => "control-queue-full",
            DropReason::NoPrivateKey => "no-private-key",
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// IP packets sealed and handed to the driver for sending, and their plaintext bytes.
    pub(crate) tx_packets: u64,
    pub(crate) tx_bytes: u64,
    /// IP packets authenticated and delivered to the TUN device, and their plaintext bytes.
    pub(crate) rx_packets: u64,
    pub(crate) rx_bytes: u64,
    pub(crate) keepalives_sent: u64,
    pub(crate) keepalives_received: u64,
    pub(crate) handshakes_initiated: u64,
    pub(crate) handshakes_completed: u64,
    /// Cookie replies sent to handshake messages that arrived under load without a valid mac2.
    pub cookie_replies_sent: u64,
    pub(crate) drops: [u64; DropReason::COUNT],
}

impl Stats {
    pub(crate) fn count_drop(&mut self, reason: DropReason) {
        self.drops[reason as usize] += 1;
    }

    pub(crate) fn drops_of(&self, reason: DropReason) -> u64 {
        self.drops[reason as usize]
    }

    #[cfg(test)]
    pub(crate) fn total_drops(&self) -> u64 {
        self.drops.iter().sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_lists_every_reason_in_discriminant_order() {
        for (i, r) in DropReason::ALL.iter().enumerate() {
            assert_eq!(*r as usize, i, "{}", r.name());
        }
    }

    #[test]
    fn names_are_distinct_lowercase_words() {
        let mut names: Vec<&str> = DropReason::ALL.iter().map(|r| r.name()).collect();
        assert!(names.iter().all(|n| {
            n.bytes()
                .all(|b| b.is_ascii_lowercase() || b == b'-' || b.is_ascii_digit())
        }));
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), DropReason::COUNT);
    }
}
