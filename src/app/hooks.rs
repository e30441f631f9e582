//! The driver's [`Hooks`] of the binary: the device's events to log lines, drops to rate-limited
//! log lines, counters on demand. The interface was configured before the loop started, so nothing
//! here changes the system. Log lines name peers by the start of their public key
//! ([`peer_name`]), which each event carries ([`PeerEvent`]); no secret reaches them.
//!
//! The one-command client is ready for systemd (`READY=1`) only once its first session with the
//! server is up: the hooks see that event, so they send the notification
//! ([`AppHooks::ready_on_first_session`]).

use std::net::SocketAddr;
use std::time::Duration;

use super::control::PeerEvent;
use super::report::{format_drop, format_stats, peer_name};
use crate::core::consts::{MAX_TIMER_HANDSHAKES, REKEY_TIMEOUT};
use crate::core::device::Event;
use crate::core::keys::PublicKey;
use crate::core::peer_id::PeerId;
use crate::core::{DropReason, Instant, Stats};
use crate::driver::{DriverStats, Hooks};
use crate::log::{RateLimiter, Verdict};
use crate::sys::notify;
use crate::{log_debug, log_info};

/// Drop lines: at most this many per reason per interval.
const DROP_LINES_BURST: u32 = 5;
const DROP_LINES_INTERVAL: Duration = Duration::from_secs(10);
/// The "no handshake response" hint: once per interval.
const NO_RESPONSE_INTERVAL: Duration = Duration::from_secs(10);

/// What to suggest when a peer does not answer handshakes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NoResponseHint {
    /// The one-command client: the server may be down, or hold another secret file.
    OneCommand,
    /// A configuration file: the peer may be down, or lack this side's public key.
    ConfigFile,
}

impl NoResponseHint {
    fn text(self) -> &'static str {
        match self {
            NoResponseHint::OneCommand => {
                "is the server running and reachable, and do both sides use the same secret file?"
            }
            NoResponseHint::ConfigFile => {
                "is it running and reachable, and does its configuration list this side's public key?"
            }
        }
    }
}

/// The driver hooks of the binary.
pub struct AppHooks {
    hint: NoResponseHint,
    drops: RateLimiter,
    no_response: RateLimiter,
    /// The interface whose `READY=1` waits for the first session, until it is sent.
    ready_pending: Option<String>,
}

impl AppHooks {
    pub fn new(hint: NoResponseHint) -> Self {
        AppHooks {
            hint,
            drops: RateLimiter::new(DropReason::COUNT, DROP_LINES_BURST, DROP_LINES_INTERVAL),
            no_response: RateLimiter::new(1, 1, NO_RESPONSE_INTERVAL),
            ready_pending: None,
        }
    }

    /// Sends `READY=1` (`ifname: connected to ENDPOINT`) when the first handshake completes, and
    /// only then: once, not on a rekey nor when a session comes back after going down.
    pub fn ready_on_first_session(&mut self, ifname: &str) {
        self.ready_pending = Some(ifname.to_owned());
    }
}

/// The `STATUS=` text of the `READY=1` that `event` completes, if one is `pending`; takes it, so
/// that it is sent once.
fn ready_status(pending: &mut Option<String>, event: &Event) -> Option<String> {
    match event {
        Event::HandshakeComplete { endpoint, .. } => pending
            .take()
            .map(|ifname| format!("{ifname}: connected to {endpoint}")),
        _ => None,
    }
}

/// `peer abcdefgh…`, or `peer #N` for a peer removed before its event was logged.
fn name(peer: PeerId, key: Option<&PublicKey>) -> String {
    match key {
        Some(key) => format!("peer {}", peer_name(key)),
        None => format!("peer #{}", peer.0),
    }
}

impl Hooks<PeerEvent> for AppHooks {
    fn on_event(&mut self, now: Instant, named: &PeerEvent) -> Result<(), String> {
        let key = named.key.as_ref();
        match named.event {
            Event::HandshakeComplete {
                peer,
                endpoint,
                first: true,
            } => log_info!("{} up at {endpoint}", name(peer, key)),
            Event::HandshakeComplete {
                peer,
                endpoint,
                first: false,
            } => log_debug!("{}: new session keys (at {endpoint})", name(peer, key)),
            Event::EndpointChanged { peer, from, to } => match from {
                Some(from) => log_info!("{} moved from {from} to {to}", name(peer, key)),
                // The first address a peer is heard from: its "up at" line names it.
                None => log_debug!("{} is at {to}", name(peer, key)),
            },
            Event::HandshakeSent {
                peer,
                endpoint,
                attempt,
            } => {
                let name = name(peer, key);
                log_debug!("handshake sent to {name} at {endpoint} (attempt {attempt})");
                // An attempt past the first means the previous one went unanswered.
                if attempt >= 2 && matches!(self.no_response.check(0, now), Verdict::Allow { .. }) {
                    log_info!(
                        "no handshake response from {name} at {endpoint} yet ({})",
                        self.hint.text()
                    );
                }
            }
            Event::HandshakeGivenUp { peer } => log_info!(
                "{}: no handshake response after {} attempts ({} s): giving up until there is \
                 traffic for it",
                name(peer, key),
                MAX_TIMER_HANDSHAKES,
                (REKEY_TIMEOUT * MAX_TIMER_HANDSHAKES).as_secs()
            ),
            Event::SessionsZeroed { peer } => log_info!(
                "{} down: no new session for a long time, its session keys are erased",
                name(peer, key)
            ),
        }
        // After the "up at" line, so that the log has it by the time the manager hears of it.
        if let Some(status) = ready_status(&mut self.ready_pending, &named.event) {
            if let Err(e) = notify::ready(&status) {
                super::notify_failed(e);
            }
        }
        Ok(())
    }

    fn on_drop(&mut self, now: Instant, reason: DropReason, from: Option<SocketAddr>) {
        let Verdict::Allow { suppressed } = self.drops.check(reason as usize, now) else {
            return;
        };
        let line = format_drop(reason, from, suppressed);
        if from.is_some() {
            log_info!("{line}");
        } else {
            // Packets from our own host before a session is up: expected, so verbose only.
            log_debug!("{line}");
        }
    }

    fn on_stats(&mut self, core: &Stats, driver: &DriverStats) {
        // Asked for explicitly (SIGUSR1) or at exit: shown even when quiet.
        crate::log::line(format_args!("{}", format_stats(core, driver)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peers_are_named_by_key_or_by_id() {
        let key = PublicKey::from_base64("xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=").unwrap();
        assert_eq!(name(PeerId(3), Some(&key)), "peer xTIBA5rb…");
        assert_eq!(name(PeerId(4), None), "peer #4");
    }

    #[test]
    fn ready_waits_for_the_first_handshake_and_is_sent_once() {
        let peer = PeerId(0);
        let at: SocketAddr = "192.0.2.1:51820".parse().unwrap();
        let complete = |first| Event::HandshakeComplete {
            peer,
            endpoint: at,
            first,
        };
        let mut pending = Some("rt0".to_owned());
        for before in [
            Event::HandshakeSent {
                peer,
                endpoint: at,
                attempt: 1,
            },
            Event::EndpointChanged {
                peer,
                from: None,
                to: at,
            },
            Event::HandshakeGivenUp { peer },
        ] {
            assert_eq!(ready_status(&mut pending, &before), None, "{before:?}");
        }
        assert_eq!(
            ready_status(&mut pending, &complete(true)).as_deref(),
            Some("rt0: connected to 192.0.2.1:51820")
        );
        // A rekey, or a session back up after the keys were zeroed: not a second READY=1.
        assert_eq!(ready_status(&mut pending, &complete(false)), None);
        assert_eq!(ready_status(&mut pending, &complete(true)), None);
        // Modes that were ready at start have nothing pending.
        assert_eq!(ready_status(&mut None, &complete(true)), None);
    }

    #[test]
    fn every_event_is_logged_without_failing() {
        let mut hooks = AppHooks::new(NoResponseHint::OneCommand);
        let peer = PeerId(0);
        let at: SocketAddr = "192.0.2.1:51820".parse().unwrap();
        let t = Instant::from_nanos(1);
        for event in [
            Event::HandshakeSent {
                peer,
                endpoint: at,
                attempt: 2,
            },
            Event::HandshakeComplete {
                peer,
                endpoint: at,
                first: true,
            },
            Event::EndpointChanged {
                peer,
                from: Some(at),
                to: "192.0.2.2:1".parse().unwrap(),
            },
            Event::HandshakeGivenUp { peer },
            Event::SessionsZeroed { peer },
        ] {
            for key in [None, Some(PublicKey::from_bytes([1; 32]))] {
                assert_eq!(hooks.on_event(t, &PeerEvent { event, key }), Ok(()));
            }
        }
        hooks.on_drop(t, DropReason::BadMac1, Some(at));
        hooks.on_stats(&Stats::default(), &DriverStats::default());
    }
}
