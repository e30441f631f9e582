//! WireGuard's timers and limits, as the WireGuard paper (§6.1) lists them, and the implementation
//! constants the kernel module and wireguard-go add. Defined here once: the session key pairs
//! (`keypair.rs`), the per-peer timers (`timers.rs`), the cookies (`noise/cookie.rs`) and the device
//! read them from here. The handshake's cryptographic names and sizes are in `noise/consts.rs`.

use core::time::Duration;

/// The current session's initiator starts a new handshake once it has sent this many messages.
pub(crate) const REKEY_AFTER_MESSAGES: u64 = 1 << 60;
/// No message is sealed or accepted with a counter at or beyond this: 2^64 - 2^13 - 1, well below
/// the wrap and beyond any replay window.
pub(crate) const REJECT_AFTER_MESSAGES: u64 = u64::MAX - (1 << 13);
/// The initiator of the current session starts a new handshake once the session is this old.
pub(crate) const REKEY_AFTER_TIME: Duration = Duration::from_secs(120);
/// A session is used in neither direction once it is this old.
pub(crate) const REJECT_AFTER_TIME: Duration = Duration::from_secs(180);
/// How long handshake initiations are retransmitted before giving up.
pub(crate) const REKEY_ATTEMPT_TIME: Duration = Duration::from_secs(90);
/// Wait for a handshake response before retransmitting; also the least time between two
/// handshake initiations to one peer.
pub(crate) const REKEY_TIMEOUT: Duration = Duration::from_secs(5);
/// Passive keepalive: sent when we received data and sent nothing back for this long.
pub(crate) const KEEPALIVE_TIMEOUT: Duration = Duration::from_secs(10);
/// The responder's cookie secret is replaced after this long, so a cookie is valid at most this long.
pub(crate) const COOKIE_REFRESH_TIME: Duration = Duration::from_secs(120);

// Implementation constants of the kernel module and wireguard-go (not in the paper).

/// The initiator stops using a received cookie this much before `COOKIE_REFRESH_TIME` (the kernel's
/// `COOKIE_SECRET_LATENCY`): a cookie made just before the responder's refresh would otherwise be
/// sent, and rejected, after it.
pub(crate) const COOKIE_LATENCY: Duration = Duration::from_secs(5);
/// A responder accepts at most one initiation per peer per this interval (50 per second, as the
/// kernel and wireguard-go), even with valid timestamps: an attacker replaying many captured
/// initiations cannot make it do more than 50 handshakes a second for that peer.
pub(crate) const INITIATION_MIN_INTERVAL: Duration = Duration::from_millis(20);

/// Random extra delay added to retransmissions and to the dead-peer timer, at most a third of a
/// second (the kernel's `REKEY_TIMEOUT_JITTER_MAX_JIFFIES`, `HZ / 3`), so that peers started together
/// do not retry in lockstep.
pub(crate) const REKEY_TIMEOUT_JITTER_MAX: Duration = Duration::from_nanos(333_333_333);

/// Retransmissions of one handshake before giving up: REKEY_ATTEMPT_TIME / REKEY_TIMEOUT = 18.
pub(crate) const MAX_TIMER_HANDSHAKES: u32 =
    (REKEY_ATTEMPT_TIME.as_secs() / REKEY_TIMEOUT.as_secs()) as u32;

/// Key material of a peer that made no new session for this long is erased.
pub(crate) const ZERO_KEY_MATERIAL_AFTER: Duration =
    Duration::from_secs(REJECT_AFTER_TIME.as_secs() * 3);

/// The initiator also rekeys when it receives data on a session this old, so a session that only
/// receives is replaced before REJECT_AFTER_TIME (once per session; the kernel's
/// "last-minute handshake").
pub(crate) const REKEY_ON_RECEIVE_AFTER_TIME: Duration = Duration::from_secs(
    REJECT_AFTER_TIME.as_secs() - KEEPALIVE_TIMEOUT.as_secs() - REKEY_TIMEOUT.as_secs(),
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_values_are_the_papers() {
        assert_eq!(
            u128::from(REJECT_AFTER_MESSAGES),
            (1u128 << 64) - (1 << 13) - 1
        );
        assert_eq!(MAX_TIMER_HANDSHAKES, 18);
        assert_eq!(ZERO_KEY_MATERIAL_AFTER, Duration::from_secs(540));
        assert_eq!(REKEY_ON_RECEIVE_AFTER_TIME, Duration::from_secs(165));
    }
}
