//! WireGuard's per-peer timers (paper §6, the kernel's `timers.c`) as a pure state machine.
//!
//! The caller reports events as they happen, each with the time ([`PeerTimers::data_sent`],
//! [`PeerTimers::data_received`], ...); the timers answer with the next deadline
//! ([`PeerTimers::next_deadline`]) and, once it has passed, with what to do
//! ([`PeerTimers::handle_timeout`] → [`TimerActions`]). Five timers, as in the kernel:
//!
//! | timer | armed by | on expiry |
//! |---|---|---|
//! | retransmit handshake | an initiation sent: `REKEY_TIMEOUT` + jitter | send another, up to `MAX_TIMER_HANDSHAKES` retries, then give up |
//! | send keepalive | data received, if not armed: `KEEPALIVE_TIMEOUT` | send a keepalive (again 10 s later if more data came meanwhile) |
//! | new handshake | data sent, if not armed: `KEEPALIVE_TIMEOUT + REKEY_TIMEOUT` + jitter | the peer went silent: new handshake |
//! | zero key material | a session derived: `3 * REJECT_AFTER_TIME` | erase every key of the peer |
//! | persistent keepalive | any authenticated packet in or out: the configured interval | send a keepalive |
//!
//! Cancelled: "send keepalive" by any authenticated packet sent, "new handshake" by any
//! authenticated packet received, "retransmit handshake" by a completed handshake.
//!
//! Handshake initiations are rate limited to one per `REKEY_TIMEOUT` per peer (a handshake response
//! sent counts too, so two peers do not both initiate at once).
//!
//! Randomness (jitter) is an input: the events that draw it take an [`Entropy`].

use core::time::Duration;

use super::consts::{
    KEEPALIVE_TIMEOUT, MAX_TIMER_HANDSHAKES, REKEY_TIMEOUT, REKEY_TIMEOUT_JITTER_MAX,
    ZERO_KEY_MATERIAL_AFTER,
};
use super::entropy::{Entropy, random_duration_up_to};
use super::time::Instant;

/// What the caller must do after [`PeerTimers::handle_timeout`]. Several may be set at once; apply
/// `zero_key_material` first, then send.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct TimerActions {
    /// Send a handshake initiation now (the rate limit was checked), then report it with
    /// `handshake_initiated`.
    pub(crate) send_initiation: bool,
    /// Send a keepalive (an empty data message) now, or the packets waiting for a session if any;
    /// with no usable session this becomes a handshake request instead.
    pub(crate) send_keepalive: bool,
    /// The handshake was retried `MAX_TIMER_HANDSHAKES` times unanswered: drop the packets waiting
    /// for a session; no more retries until new traffic asks for a handshake.
    pub(crate) handshake_given_up: bool,
    /// No new session for `3 * REJECT_AFTER_TIME`: erase every session and the handshake state.
    pub(crate) zero_key_material: bool,
    /// The peer stopped answering (a retransmission or the dead-peer timer fired): the roaming
    /// fallback may move the endpoint back to the configured one.
    pub(crate) peer_unresponsive: bool,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct PeerTimers {
    retransmit_handshake: Option<Instant>,
    send_keepalive: Option<Instant>,
    new_handshake: Option<Instant>,
    zero_key_material: Option<Instant>,
    persistent_keepalive: Option<Instant>,

    persistent_keepalive_interval: Option<Duration>,
    /// Retransmissions of the current handshake so far.
    handshake_attempts: u32,
    /// Data arrived while the keepalive timer was armed: arm it again once it fires.
    need_another_keepalive: bool,
    /// When the keepalive timer last re-armed itself. Packets sent at that same instant are the ones
    /// its expiry asked for; they must not cancel the re-armed timer (the kernel re-arms after
    /// sending).
    keepalive_rearmed_at: Option<Instant>,
    /// The once-per-session "last-minute" rekey on receive was already asked for.
    sent_last_minute_handshake: bool,
    /// Last handshake initiation or response sent: the rate limit.
    last_handshake_sent: Option<Instant>,
}

/// Takes the deadline out of `timer` if it has passed.
fn take_due(timer: &mut Option<Instant>, now: Instant) -> bool {
    let due = timer.is_some_and(|at| at <= now);
    if due {
        *timer = None;
    }
    due
}

impl PeerTimers {
    /// `persistent_keepalive`: the peer's PersistentKeepalive interval, `None` (or zero) for off.
    pub(crate) fn new(persistent_keepalive: Option<Duration>) -> Self {
        let mut timers = PeerTimers::default();
        timers.set_persistent_keepalive(persistent_keepalive);
        timers
    }

    /// Changes the persistent keepalive interval; it applies from the next authenticated packet.
    /// (WireGuard also sends one keepalive at once when it is switched on for a running interface:
    /// that is the caller's.)
    pub(crate) fn set_persistent_keepalive(&mut self, interval: Option<Duration>) {
        self.persistent_keepalive_interval = interval.filter(|i| !i.is_zero());
        if self.persistent_keepalive_interval.is_none() {
            self.persistent_keepalive = None;
        }
    }

    pub(crate) fn persistent_keepalive(&self) -> Option<Duration> {
        self.persistent_keepalive_interval
    }

    /// Retransmissions of the handshake in progress so far.
    pub(crate) fn handshake_attempts(&self) -> u32 {
        self.handshake_attempts
    }

    /// An authenticated data message with a payload was sent (not a keepalive).
    pub(crate) fn data_sent(&mut self, now: Instant, entropy: &mut impl Entropy) {
        if self.new_handshake.is_none() {
            let jitter = random_duration_up_to(entropy, REKEY_TIMEOUT_JITTER_MAX);
            self.new_handshake = Some(now + KEEPALIVE_TIMEOUT + REKEY_TIMEOUT + jitter);
        }
    }

    /// An authenticated data message with a payload was received (not a keepalive).
    pub(crate) fn data_received(&mut self, now: Instant) {
        if self.send_keepalive.is_none() {
            self.send_keepalive = Some(now + KEEPALIVE_TIMEOUT);
        } else {
            self.need_another_keepalive = true;
        }
    }

    /// Any authenticated packet was sent: data, keepalive or handshake message.
    pub(crate) fn any_authenticated_packet_sent(&mut self, now: Instant) {
        if self.keepalive_rearmed_at.take() == Some(now) {
            // Sent on behalf of the keepalive expiry that just re-armed the timer.
            self.keepalive_rearmed_at = Some(now);
            return;
        }
        self.send_keepalive = None;
    }

    /// Any authenticated packet was received: data, keepalive or handshake message.
    pub(crate) fn any_authenticated_packet_received(&mut self, _now: Instant) {
        self.new_handshake = None;
    }

    /// Any authenticated packet is about to be sent or was received: restarts the persistent
    /// keepalive interval.
    pub(crate) fn any_authenticated_packet_traversal(&mut self, now: Instant) {
        if let Some(interval) = self.persistent_keepalive_interval {
            self.persistent_keepalive = Some(now + interval);
        }
    }

    /// A handshake initiation was sent: retransmit after `REKEY_TIMEOUT` plus jitter unless a
    /// response completes the handshake first.
    pub(crate) fn handshake_initiated(&mut self, now: Instant, entropy: &mut impl Entropy) {
        self.last_handshake_sent = Some(now);
        let jitter = random_duration_up_to(entropy, REKEY_TIMEOUT_JITTER_MAX);
        self.retransmit_handshake = Some(now + REKEY_TIMEOUT + jitter);
    }

    /// A handshake response was sent. Counts for the initiation rate limit.
    pub(crate) fn handshake_response_sent(&mut self, now: Instant) {
        self.last_handshake_sent = Some(now);
    }

    /// A handshake completed: our initiation's response arrived, or, as responder, the first data
    /// under the new session did.
    pub(crate) fn handshake_complete(&mut self, _now: Instant) {
        self.retransmit_handshake = None;
        self.handshake_attempts = 0;
        self.sent_last_minute_handshake = false;
    }

    /// New session keys were derived (response sent or received): key material lives
    /// `3 * REJECT_AFTER_TIME` from now unless another session follows.
    pub(crate) fn session_derived(&mut self, now: Instant) {
        self.zero_key_material = Some(now + ZERO_KEY_MATERIAL_AFTER);
    }

    /// Is a handshake initiation refused now by the one-per-`REKEY_TIMEOUT` limit?
    pub(crate) fn is_rate_limited(&self, now: Instant) -> bool {
        self.last_handshake_sent
            .is_some_and(|sent| now < sent + REKEY_TIMEOUT)
    }

    /// Something wants a new handshake (data with no usable session, a session due for rekeying, a
    /// keepalive with no session). Starts a fresh attempt count. True: send an initiation now;
    /// false: rate limited, one was sent less than `REKEY_TIMEOUT` ago.
    pub(crate) fn want_handshake(&mut self, now: Instant) -> bool {
        self.handshake_attempts = 0;
        !self.is_rate_limited(now)
    }

    /// The initiator received data on a session older than `REKEY_ON_RECEIVE_AFTER_TIME`: asks for
    /// a handshake once per session (until the next completes), so a session that only receives
    /// is replaced in time too. True: send an initiation now.
    pub(crate) fn want_last_minute_handshake(&mut self, now: Instant) -> bool {
        if self.sent_last_minute_handshake {
            return false;
        }
        self.sent_last_minute_handshake = true;
        self.want_handshake(now)
    }

    /// The earliest armed timer, if any.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        [
            self.retransmit_handshake,
            self.send_keepalive,
            self.new_handshake,
            self.zero_key_material,
            self.persistent_keepalive,
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Runs every timer that expired by `now` and says what to do.
    pub(crate) fn handle_timeout(&mut self, now: Instant) -> TimerActions {
        let mut actions = TimerActions::default();

        if take_due(&mut self.retransmit_handshake, now) {
            if self.handshake_attempts > MAX_TIMER_HANDSHAKES {
                // Kernel: "did not complete after MAX_TIMER_HANDSHAKES + 2 attempts, giving up".
                self.send_keepalive = None;
                actions.handshake_given_up = true;
                // Erase whatever a partial exchange left, unless erasure is already scheduled.
                if self.zero_key_material.is_none() {
                    self.zero_key_material = Some(now + ZERO_KEY_MATERIAL_AFTER);
                }
            } else {
                self.handshake_attempts += 1;
                actions.peer_unresponsive = true;
                actions.send_initiation |= !self.is_rate_limited(now);
            }
        }

        if take_due(&mut self.send_keepalive, now) {
            actions.send_keepalive = true;
            if self.need_another_keepalive {
                self.need_another_keepalive = false;
                self.send_keepalive = Some(now + KEEPALIVE_TIMEOUT);
                self.keepalive_rearmed_at = Some(now);
            }
        }

        if take_due(&mut self.new_handshake, now) {
            actions.peer_unresponsive = true;
            actions.send_initiation |= self.want_handshake(now);
        }

        if take_due(&mut self.zero_key_material, now) {
            actions.zero_key_material = true;
        }

        if take_due(&mut self.persistent_keepalive, now)
            && self.persistent_keepalive_interval.is_some()
        {
            actions.send_keepalive = true;
        }

        actions
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::consts::{REJECT_AFTER_TIME, REKEY_ATTEMPT_TIME};
    use crate::core::entropy::ConstantEntropy;

    const T0: Instant = Instant::from_nanos(7_000_000_000);
    fn no_jitter() -> ConstantEntropy {
        ConstantEntropy(0)
    }

    fn secs(s: u64) -> Instant {
        T0 + Duration::from_secs(s)
    }

    fn ms(m: u64) -> Instant {
        T0 + Duration::from_millis(m)
    }

    const NOTHING: TimerActions = TimerActions {
        send_initiation: false,
        send_keepalive: false,
        handshake_given_up: false,
        zero_key_material: false,
        peer_unresponsive: false,
    };

    fn keepalive() -> TimerActions {
        TimerActions {
            send_keepalive: true,
            ..NOTHING
        }
    }

    #[test]
    fn nothing_armed_nothing_due() {
        let mut t = PeerTimers::new(None);
        assert_eq!(t.next_deadline(), None);
        assert_eq!(t.handle_timeout(secs(1_000_000)), NOTHING);
    }

    #[test]
    fn passive_keepalive_exactly_ten_seconds_after_data_received() {
        let mut t = PeerTimers::new(None);
        t.data_received(T0);
        assert_eq!(t.next_deadline(), Some(secs(10)));
        assert_eq!(t.handle_timeout(ms(9_999)), NOTHING);
        // More data meanwhile does not push it later.
        t.data_received(secs(4));
        assert_eq!(t.next_deadline(), Some(secs(10)));
        assert_eq!(t.handle_timeout(secs(10)), keepalive());
    }

    #[test]
    fn passive_keepalive_cancelled_by_anything_we_send() {
        let mut t = PeerTimers::new(None);
        t.data_received(T0);
        t.any_authenticated_packet_sent(secs(3));
        assert_eq!(t.next_deadline(), None);
        assert_eq!(t.handle_timeout(secs(10)), NOTHING);
    }

    #[test]
    fn data_during_an_armed_keepalive_asks_for_another_ten_seconds_later() {
        let mut t = PeerTimers::new(None);
        t.data_received(T0);
        t.data_received(secs(3));
        assert_eq!(t.handle_timeout(secs(10)), keepalive());
        // The keepalive asked for goes out at that same instant and does not cancel the re-arm.
        t.any_authenticated_packet_sent(secs(10));
        assert_eq!(t.next_deadline(), Some(secs(20)));
        assert_eq!(t.handle_timeout(ms(19_999)), NOTHING);
        assert_eq!(t.handle_timeout(secs(20)), keepalive());
        t.any_authenticated_packet_sent(secs(20));
        // No third one: no data arrived during the second wait.
        assert_eq!(t.next_deadline(), None);
    }

    #[test]
    fn a_later_send_still_cancels_the_rearmed_keepalive() {
        let mut t = PeerTimers::new(None);
        t.data_received(T0);
        t.data_received(secs(3));
        assert_eq!(t.handle_timeout(secs(10)), keepalive());
        t.any_authenticated_packet_sent(secs(10));
        t.any_authenticated_packet_sent(secs(12));
        assert_eq!(t.next_deadline(), None);
    }

    /// Drives a peer that initiates at T0 and never hears back; returns the instants at which
    /// initiations went out and the instant it gave up.
    fn unanswered_handshake(entropy: &mut impl Entropy) -> (Vec<Instant>, Instant, PeerTimers) {
        let mut t = PeerTimers::new(None);
        assert!(t.want_handshake(T0));
        t.handshake_initiated(T0, entropy);
        let mut sent = vec![T0];
        for _ in 0..100 {
            let at = t
                .next_deadline()
                .expect("a retransmission or give-up is armed");
            let actions = t.handle_timeout(at);
            if actions.handshake_given_up {
                assert!(!actions.send_initiation);
                return (sent, at, t);
            }
            assert!(
                actions.send_initiation && actions.peer_unresponsive,
                "{actions:?}"
            );
            t.handshake_initiated(at, entropy);
            sent.push(at);
        }
        panic!("never gave up");
    }

    #[test]
    fn handshake_retransmits_every_five_seconds_then_gives_up() {
        let (sent, gave_up, t) = unanswered_handshake(&mut no_jitter());
        // The first initiation and MAX_TIMER_HANDSHAKES + 1 retries, as the kernel: the retries
        // span REKEY_ATTEMPT_TIME (5 s .. 95 s).
        let expected: Vec<Instant> = (0..20).map(|i| secs(5 * i)).collect();
        assert_eq!(sent, expected);
        assert_eq!(
            sent[sent.len() - 1].saturating_since(sent[1]),
            REKEY_ATTEMPT_TIME
        );
        assert_eq!(gave_up, secs(100));
        // Only the erasure of the partial exchange is left.
        assert_eq!(t.next_deadline(), Some(secs(100 + 540)));
    }

    #[test]
    fn retransmissions_carry_jitter_up_to_a_third_of_a_second() {
        let mut rng = crate::core::entropy::TestEntropy::new(9);
        let (sent, _, _) = unanswered_handshake(&mut rng);
        assert_eq!(sent.len(), 20);
        let gaps: Vec<Duration> = sent
            .windows(2)
            .map(|w| w[1].saturating_since(w[0]))
            .collect();
        for gap in &gaps {
            assert!(*gap >= REKEY_TIMEOUT && *gap <= REKEY_TIMEOUT + REKEY_TIMEOUT_JITTER_MAX);
        }
        assert!(
            gaps.iter().any(|g| *g > REKEY_TIMEOUT),
            "some jitter was drawn"
        );

        // The largest jitter the entropy can give stays within the bound.
        let mut t = PeerTimers::new(None);
        t.handshake_initiated(
            T0,
            &mut ConstantEntropy(REKEY_TIMEOUT_JITTER_MAX.as_nanos() as u64),
        );
        assert_eq!(
            t.next_deadline(),
            Some(T0 + REKEY_TIMEOUT + REKEY_TIMEOUT_JITTER_MAX)
        );
    }

    #[test]
    fn a_completed_handshake_stops_retransmission() {
        let mut t = PeerTimers::new(None);
        t.handshake_initiated(T0, &mut no_jitter());
        assert!(t.handle_timeout(secs(5)).send_initiation);
        t.handshake_initiated(secs(5), &mut no_jitter());
        assert_eq!(t.handshake_attempts(), 1);
        t.handshake_complete(secs(6));
        assert_eq!(t.handshake_attempts(), 0);
        assert_eq!(t.next_deadline(), None);
        assert_eq!(t.handle_timeout(secs(10)), NOTHING);
    }

    #[test]
    fn new_traffic_restarts_the_attempt_count() {
        let mut t = PeerTimers::new(None);
        t.handshake_initiated(T0, &mut no_jitter());
        for i in 1..=10 {
            assert!(t.handle_timeout(secs(5 * i)).send_initiation);
            t.handshake_initiated(secs(5 * i), &mut no_jitter());
        }
        assert_eq!(t.handshake_attempts(), 10);
        // Data wanting a session: a fresh attempt (rate limited right now, but counted from zero).
        assert!(!t.want_handshake(ms(50_001)));
        assert_eq!(t.handshake_attempts(), 0);
    }

    #[test]
    fn dead_peer_new_handshake_after_fifteen_seconds_of_silence() {
        let mut t = PeerTimers::new(None);
        t.data_sent(T0, &mut no_jitter());
        // More data does not push the deadline later.
        t.data_sent(secs(8), &mut no_jitter());
        assert_eq!(t.next_deadline(), Some(secs(15)));
        assert_eq!(t.handle_timeout(ms(14_999)), NOTHING);
        let actions = t.handle_timeout(secs(15));
        assert_eq!(
            actions,
            TimerActions {
                send_initiation: true,
                peer_unresponsive: true,
                ..NOTHING
            }
        );
    }

    #[test]
    fn dead_peer_timer_has_jitter_and_is_cancelled_by_anything_received() {
        let mut t = PeerTimers::new(None);
        let jitter = Duration::from_millis(200);
        t.data_sent(T0, &mut ConstantEntropy(jitter.as_nanos() as u64));
        assert_eq!(t.next_deadline(), Some(secs(15) + jitter));

        t.any_authenticated_packet_received(secs(14));
        assert_eq!(t.next_deadline(), None);
        assert_eq!(t.handle_timeout(secs(16)), NOTHING);
    }

    #[test]
    fn dead_peer_handshake_is_rate_limited() {
        let mut t = PeerTimers::new(None);
        t.handshake_initiated(secs(12), &mut no_jitter());
        t.handshake_complete(secs(12));
        t.data_sent(T0, &mut no_jitter());
        let actions = t.handle_timeout(secs(15));
        assert!(actions.peer_unresponsive);
        assert!(!actions.send_initiation, "an initiation went out 3 s ago");
    }

    #[test]
    fn key_material_zeroed_540_seconds_after_the_last_session() {
        let mut t = PeerTimers::new(None);
        t.session_derived(T0);
        assert_eq!(t.next_deadline(), Some(secs(540)));
        assert_eq!(t.handle_timeout(ms(539_999)), NOTHING);
        // A newer session postpones it.
        t.session_derived(secs(100));
        assert_eq!(t.handle_timeout(secs(540)), NOTHING);
        assert_eq!(
            t.handle_timeout(secs(640)),
            TimerActions {
                zero_key_material: true,
                ..NOTHING
            }
        );
        assert_eq!(t.next_deadline(), None);
        assert_eq!(ZERO_KEY_MATERIAL_AFTER, REJECT_AFTER_TIME * 3);
    }

    #[test]
    fn giving_up_does_not_postpone_a_scheduled_erasure() {
        let mut t = PeerTimers::new(None);
        t.session_derived(T0);
        t.handshake_initiated(secs(10), &mut no_jitter());
        let gave_up_at = loop {
            let now = t.next_deadline().unwrap();
            if t.handle_timeout(now).handshake_given_up {
                break now;
            }
            t.handshake_initiated(now, &mut no_jitter());
        };
        assert_eq!(gave_up_at, secs(110));
        assert_eq!(t.next_deadline(), Some(secs(540)));
    }

    #[test]
    fn giving_up_cancels_a_pending_keepalive() {
        let mut t = PeerTimers::new(None);
        t.handshake_initiated(T0, &mut no_jitter());
        for i in 1..=19 {
            assert!(t.handle_timeout(secs(5 * i)).send_initiation);
            t.handshake_initiated(secs(5 * i), &mut no_jitter());
        }
        t.data_received(secs(99));
        let actions = t.handle_timeout(secs(100));
        assert!(actions.handshake_given_up);
        assert!(!actions.send_keepalive);
        assert_eq!(t.next_deadline(), Some(secs(640)));
    }

    #[test]
    fn persistent_keepalive_every_interval_after_the_last_packet() {
        let mut t = PeerTimers::new(Some(Duration::from_secs(25)));
        assert_eq!(t.next_deadline(), None, "armed by the first packet");
        t.any_authenticated_packet_traversal(T0);
        assert_eq!(t.next_deadline(), Some(secs(25)));
        // Traffic restarts the interval.
        t.any_authenticated_packet_traversal(secs(20));
        assert_eq!(t.handle_timeout(secs(25)), NOTHING);
        assert_eq!(t.handle_timeout(secs(45)), keepalive());
        // Sending that keepalive is itself a traversal: the next one 25 s later.
        t.any_authenticated_packet_traversal(secs(45));
        assert_eq!(t.next_deadline(), Some(secs(70)));

        // Switched off: the armed timer goes too.
        t.set_persistent_keepalive(None);
        assert_eq!(t.next_deadline(), None);
        t.any_authenticated_packet_traversal(secs(80));
        assert_eq!(t.handle_timeout(secs(1000)), NOTHING);
        // Zero means off, as in the configuration file.
        t.set_persistent_keepalive(Some(Duration::ZERO));
        t.any_authenticated_packet_traversal(secs(1000));
        assert_eq!(t.next_deadline(), None);
    }

    #[test]
    fn at_most_one_initiation_per_rekey_timeout() {
        let mut t = PeerTimers::new(None);
        assert!(!t.is_rate_limited(T0));
        assert!(t.want_handshake(T0));
        t.handshake_initiated(T0, &mut no_jitter());
        assert!(!t.want_handshake(ms(4_999)));
        assert!(t.want_handshake(secs(5)));
        // A response we sent counts too.
        t.handshake_response_sent(secs(30));
        assert!(!t.want_handshake(secs(34)));
        assert!(t.want_handshake(secs(35)));
    }

    #[test]
    fn retransmission_is_rate_limited_by_a_response_sent_meanwhile() {
        let mut t = PeerTimers::new(None);
        t.handshake_initiated(T0, &mut no_jitter());
        t.handshake_response_sent(secs(2));
        let actions = t.handle_timeout(secs(5));
        assert!(actions.peer_unresponsive);
        assert!(!actions.send_initiation);
        assert_eq!(t.handshake_attempts(), 1);
    }

    #[test]
    fn last_minute_handshake_once_per_session() {
        let mut t = PeerTimers::new(None);
        assert!(t.want_last_minute_handshake(T0));
        t.handshake_initiated(T0, &mut no_jitter());
        assert!(!t.want_last_minute_handshake(secs(10)));
        assert!(!t.want_last_minute_handshake(secs(20)));
        t.handshake_complete(secs(21));
        assert!(t.want_last_minute_handshake(secs(30)));
    }

    #[test]
    fn several_timers_due_at_once_all_run() {
        let mut t = PeerTimers::new(Some(Duration::from_secs(10)));
        t.data_received(T0);
        t.data_sent(T0, &mut no_jitter());
        t.any_authenticated_packet_traversal(T0);
        t.session_derived(T0);
        let actions = t.handle_timeout(secs(1000));
        assert_eq!(
            actions,
            TimerActions {
                send_initiation: true,
                send_keepalive: true,
                handshake_given_up: false,
                zero_key_material: true,
                peer_unresponsive: true,
            }
        );
        assert_eq!(t.next_deadline(), None);
    }
}
