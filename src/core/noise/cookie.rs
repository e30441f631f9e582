//! mac1, mac2 and cookie replies: WireGuard's defence against handshake floods (paper §5.4.4,
//! §5.4.7).
//!
//! Every initiation and response ends with two MACs:
//! - `mac1 = MAC(HASH(LABEL_MAC1 ‖ S_pub_receiver), msg[..mac1])`. Anyone who knows the receiver's
//!   public key can make it, so it only proves that; but it is checked before any DH, so a flood of
//!   garbage costs the receiver one BLAKE2s per datagram.
//! - `mac2 = MAC(cookie, msg[..mac2])`, or zero without a cookie. A cookie is
//!   `MAC(secret, source IP ‖ source port)` under the receiver's secret (refreshed every
//!   `COOKIE_REFRESH_TIME`), so a valid mac2 proves the sender receives at the address it sends from.
//!
//! A receiver under load (the caller decides what load is) processes only messages whose mac2 is
//! valid; to others it sends a cookie reply, the cookie encrypted with
//! `XAEAD(HASH(LABEL_COOKIE ‖ S_pub_receiver), random nonce, cookie, aad = the message's mac1)`. Binding it to mac1 makes a reply
//! useless to anyone but the sender of that message. The sender opens it against the last mac1 it
//! sent and uses the cookie for mac2 for the next `COOKIE_REFRESH_TIME - COOKIE_LATENCY`.
//!
//! [`CookieChecker`] is the receiving side (one per local identity), [`PeerCookie`] the sending side
//! (one per peer). Time ([`Instant`]) and randomness ([`Entropy`]) are inputs.

use core::fmt;
use core::net::{IpAddr, Ipv6Addr, SocketAddr};

use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use super::consts::{HASH_LEN, MAC_LEN, TAG_LEN, XNONCE_LEN};
use super::crypto::{self, AuthError};
use super::keys::{PeerKeys, StaticIdentity};
use super::messages::{COOKIE_REPLY_LEN, CookieReply, HandshakeMessage, HandshakeMessageMut};
use crate::core::Instant;
use crate::core::consts::{COOKIE_LATENCY, COOKIE_REFRESH_TIME};
use crate::core::entropy::Entropy;

/// What the MACs of a received initiation or response prove.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum MacCheck {
    /// mac1 is wrong: not meant for us, or corrupted. Drop without any further work.
    Mac1Bad,
    /// mac1 is right, mac2 absent or not valid for the source address. Process when not under
    /// load; under load, answer with a cookie reply instead.
    Mac1OkNoMac2,
    /// Both are right: the sender has a fresh cookie for its address. Process (rate-limited per
    /// source address).
    Mac2Ok,
}

/// A cookie reply could not be used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CookieError {
    /// We sent no handshake message to this peer since the last cookie reply, so there is no mac1
    /// this reply could answer.
    NoMac1Sent,
    /// It does not decrypt under this peer's cookie key with our last mac1 as AAD.
    AuthFailed,
}

/// `msg` split into the bytes mac1 covers, mac1, and mac2 (the last 32 bytes). `None` if `msg` is
/// shorter than the two MACs, which a checked view never is.
fn split_macs(msg: &[u8]) -> Option<(&[u8], &[u8; MAC_LEN], &[u8; MAC_LEN])> {
    let (before_mac2, mac2) = msg.split_last_chunk::<MAC_LEN>()?;
    let (before_mac1, mac1) = before_mac2.split_last_chunk::<MAC_LEN>()?;
    Some((before_mac1, mac1, mac2))
}

/// The source address as the cookie binds it: IP address bytes (4 or 16) then the port big-endian,
/// as the kernel module does. The format only has to be stable within one receiver.
fn address_bytes(source: &SocketAddr) -> ([u8; ADDRESS_BYTES_MAX], usize) {
    let mut bytes = [0u8; ADDRESS_BYTES_MAX];
    let ip_len = match source.ip() {
        IpAddr::V4(ip) => put(&mut bytes, &ip.octets()),
        IpAddr::V6(ip) => put(&mut bytes, &ip.octets()),
    };
    let port = source.port().to_be_bytes();
    bytes[ip_len..ip_len + port.len()].copy_from_slice(&port);
    (bytes, ip_len + port.len())
}

/// An IPv6 address and a port: the longest `address_bytes`.
const ADDRESS_BYTES_MAX: usize = size_of::<Ipv6Addr>() + size_of::<u16>();

/// Copies `ip` to the front of `bytes`; returns its length.
fn put(bytes: &mut [u8; ADDRESS_BYTES_MAX], ip: &[u8]) -> usize {
    bytes[..ip.len()].copy_from_slice(ip);
    ip.len()
}

/// The receiving side: checks mac1 and mac2 of messages sent to our identity, and makes cookies.
pub struct CookieChecker {
    /// The secret cookies are made under, and when it was drawn; `None` until the first cookie
    /// reply, so an idle receiver holds no secret and draws no randomness.
    secret: Option<(Zeroizing<[u8; HASH_LEN]>, Instant)>,
}

impl CookieChecker {
    pub fn new() -> Self {
        CookieChecker { secret: None }
    }

    /// Whether mac1 of `msg` is right for our identity (constant-time comparison).
    pub fn check_mac1(local: &StaticIdentity, msg: &impl HandshakeMessage) -> bool {
        let Some((covered, mac1, _)) = split_macs(msg.as_bytes()) else {
            return false;
        };
        crypto::mac_eq(&crypto::mac(local.mac1_key(), &[covered]), mac1)
    }

    /// Checks mac1, then mac2 against the cookie `source` would hold now. Does not change state:
    /// with no secret yet, or one older than `COOKIE_REFRESH_TIME`, no mac2 can be valid.
    pub(crate) fn check(
        &self,
        local: &StaticIdentity,
        now: Instant,
        msg: &impl HandshakeMessage,
        source: &SocketAddr,
    ) -> MacCheck {
        if !Self::check_mac1(local, msg) {
            return MacCheck::Mac1Bad;
        }
        let Some(cookie) = self.current_cookie(now, source) else {
            return MacCheck::Mac1OkNoMac2;
        };
        let Some((covered, mac1, mac2)) = split_macs(msg.as_bytes()) else {
            return MacCheck::Mac1Bad;
        };
        let expected = crypto::mac(&cookie, &[covered, mac1]);
        if crypto::mac_eq(&expected, mac2) {
            MacCheck::Mac2Ok
        } else {
            MacCheck::Mac1OkNoMac2
        }
    }

    /// The cookie of `source` under the current secret, if the secret is still fresh.
    fn current_cookie(
        &self,
        now: Instant,
        source: &SocketAddr,
    ) -> Option<Zeroizing<[u8; MAC_LEN]>> {
        let (secret, born) = self.secret.as_ref()?;
        if now.saturating_since(*born) > COOKIE_REFRESH_TIME {
            return None;
        }
        let (address, len) = address_bytes(source);
        Some(Zeroizing::new(crypto::mac(
            secret,
            &[address.get(..len).unwrap_or(&[])],
        )))
    }

    /// Writes into `out` a cookie reply to `msg` (received from `source`): the cookie for `source`,
    /// sealed under our cookie key with `msg`'s mac1 as AAD, addressed to `msg`'s sender index.
    /// Draws a new secret first if there is none or it is older than `COOKIE_REFRESH_TIME`.
    /// The caller should first have seen mac1 valid ([`MacCheck::Mac1OkNoMac2`]): a reply to a
    /// message with a wrong mac1 would let anyone make us send 64 bytes for each forged datagram.
    pub fn create_reply(
        &mut self,
        local: &StaticIdentity,
        now: Instant,
        entropy: &mut (impl Entropy + ?Sized),
        msg: &impl HandshakeMessage,
        source: &SocketAddr,
        out: &mut [u8; COOKIE_REPLY_LEN],
    ) {
        if self.current_cookie(now, source).is_none() {
            let mut secret = Zeroizing::new([0u8; HASH_LEN]);
            entropy.fill(&mut secret[..]);
            self.secret = Some((secret, now));
        }
        let cookie = self
            .current_cookie(now, source)
            .unwrap_or_else(|| Zeroizing::new([0; MAC_LEN]));
        let mac1 = split_macs(msg.as_bytes()).map_or([0; MAC_LEN], |(_, mac1, _)| *mac1);
        let mut nonce = [0u8; XNONCE_LEN];
        entropy.fill(&mut nonce);
        let mut sealed = [0u8; MAC_LEN + TAG_LEN];
        crypto::xaead_seal(local.cookie_key(), &nonce, &cookie, &mac1, &mut sealed);
        let mut reply = CookieReply::new_zeroed(out);
        reply.set_receiver_index(msg.sender_index());
        reply.set_nonce(&nonce);
        reply.set_encrypted_cookie(&sealed);
    }
}

impl Default for CookieChecker {
    fn default() -> Self {
        Self::new()
    }
}

impl Zeroize for CookieChecker {
    fn zeroize(&mut self) {
        // Dropping the Zeroizing secret wipes it.
        self.secret = None;
    }
}
impl ZeroizeOnDrop for CookieChecker {}

impl fmt::Debug for CookieChecker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CookieChecker")
            .field("secret_born", &self.secret.as_ref().map(|(_, born)| born))
            .finish_non_exhaustive()
    }
}

/// The sending side, one per peer: the cookie the peer gave us (and when), and the last mac1 we
/// sent it, which a cookie reply must answer.
pub struct PeerCookie {
    cookie: Option<(Zeroizing<[u8; MAC_LEN]>, Instant)>,
    last_mac1: Option<[u8; MAC_LEN]>,
}

impl PeerCookie {
    pub fn new() -> Self {
        PeerCookie {
            cookie: None,
            last_mac1: None,
        }
    }

    /// Writes mac1 and mac2 of `msg`, about to be sent to `peer`, and remembers mac1. mac2 uses the
    /// peer's cookie if it is younger than `COOKIE_REFRESH_TIME - COOKIE_LATENCY`, else is zero.
    pub fn write_macs(
        &mut self,
        peer: &PeerKeys,
        now: Instant,
        msg: &mut impl HandshakeMessageMut,
    ) {
        let bytes = msg.as_bytes_mut();
        let Some((before_mac2, mac2)) = bytes.split_last_chunk_mut::<MAC_LEN>() else {
            return;
        };
        let Some((covered, mac1)) = before_mac2.split_last_chunk_mut::<MAC_LEN>() else {
            return;
        };
        *mac1 = crypto::mac(peer.mac1_key(), &[covered]);
        self.last_mac1 = Some(*mac1);
        *mac2 = match self.fresh_cookie(now) {
            Some(cookie) => crypto::mac(cookie, &[covered, mac1]),
            None => [0; MAC_LEN],
        };
    }

    /// When the cookie in use was received, if there is one (fresh or not).
    pub(crate) fn received_at(&self) -> Option<Instant> {
        self.cookie.as_ref().map(|(_, at)| *at)
    }

    /// A handshake message went out since the last cookie reply: a reply to it would be accepted.
    pub(crate) fn awaits_reply(&self) -> bool {
        self.last_mac1.is_some()
    }

    fn fresh_cookie(&self, now: Instant) -> Option<&[u8; MAC_LEN]> {
        let (cookie, received) = self.cookie.as_ref()?;
        (now.saturating_since(*received) < COOKIE_REFRESH_TIME - COOKIE_LATENCY).then_some(cookie)
    }

    /// Takes the cookie out of a reply from `peer` to our last handshake message. Nothing changes
    /// unless it decrypts. After success the mac1 is forgotten, so a second reply to the same
    /// message is refused (as the kernel does).
    pub fn consume_reply<T: AsRef<[u8]>>(
        &mut self,
        peer: &PeerKeys,
        now: Instant,
        reply: &CookieReply<T>,
    ) -> Result<(), CookieError> {
        let last_mac1 = self.last_mac1.ok_or(CookieError::NoMac1Sent)?;
        let mut cookie = Zeroizing::new([0u8; MAC_LEN]);
        crypto::xaead_open(
            peer.cookie_key(),
            &reply.nonce(),
            &reply.encrypted_cookie(),
            &last_mac1,
            &mut cookie,
        )
        .map_err(|AuthError| CookieError::AuthFailed)?;
        self.cookie = Some((cookie, now));
        self.last_mac1 = None;
        Ok(())
    }
}

impl Default for PeerCookie {
    fn default() -> Self {
        Self::new()
    }
}

impl Zeroize for PeerCookie {
    fn zeroize(&mut self) {
        self.cookie = None;
        self.last_mac1 = None;
    }
}
impl ZeroizeOnDrop for PeerCookie {}

impl fmt::Debug for PeerCookie {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PeerCookie")
            .field("cookie_received", &self.cookie.as_ref().map(|(_, at)| at))
            .field("mac1_sent", &self.last_mac1.is_some())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use core::time::Duration;

    use super::*;
    use crate::core::noise::handshake::{create_initiation, identify_initiation};
    use crate::core::noise::messages::{INITIATION_LEN, Initiation, RESPONSE_LEN, Response};
    use crate::core::noise::tai64n::Tai64N;
    use crate::core::noise::testing::{Pair, TestEntropy};

    const T0: Instant = Instant::from_nanos(5_000_000_000);

    fn source() -> SocketAddr {
        "192.0.2.7:51820".parse().unwrap()
    }

    fn at(seconds: u64) -> Instant {
        T0 + Duration::from_secs(seconds)
    }

    /// An initiation from the pair's initiator, written with `cookie` at `now`.
    fn initiation(
        pair: &Pair,
        cookie: &mut PeerCookie,
        now: Instant,
        entropy: &mut TestEntropy,
    ) -> [u8; INITIATION_LEN] {
        let mut out = [0u8; INITIATION_LEN];
        let wall = 1_700_000_000_000_000_000 + now.as_nanos();
        create_initiation(
            &pair.to_responder,
            cookie,
            0x7777,
            Tai64N::from_unix_nanos(wall),
            now,
            entropy,
            &mut out,
        )
        .unwrap();
        out
    }

    fn view(bytes: &[u8; INITIATION_LEN]) -> Initiation<&[u8]> {
        Initiation::new_checked(&bytes[..]).unwrap()
    }

    /// Under load: no mac2 → cookie reply → the initiator's next initiation carries a valid mac2,
    /// from that address only; and the handshake still completes.
    #[test]
    fn cookie_reply_round_trip_makes_mac2_valid() {
        let pair = Pair::new(None);
        let mut entropy = TestEntropy::new(20);
        let mut checker = CookieChecker::new();
        let mut initiator_cookie = PeerCookie::new();

        let first = initiation(&pair, &mut initiator_cookie, at(0), &mut entropy);
        assert_eq!(view(&first).mac2(), [0; 16], "no cookie yet: mac2 is zero");
        assert_eq!(
            checker.check(&pair.responder, at(0), &view(&first), &source()),
            MacCheck::Mac1OkNoMac2
        );
        let mut reply = [0u8; COOKIE_REPLY_LEN];
        checker.create_reply(
            &pair.responder,
            at(0),
            &mut entropy,
            &view(&first),
            &source(),
            &mut reply,
        );
        let reply = CookieReply::new_checked(&reply[..]).unwrap();
        assert_eq!(reply.receiver_index(), 0x7777);
        assert_eq!(
            initiator_cookie.consume_reply(&pair.to_responder, at(1), &reply),
            Ok(())
        );

        let second = initiation(&pair, &mut initiator_cookie, at(2), &mut entropy);
        assert_ne!(view(&second).mac2(), [0; 16]);
        assert_eq!(
            checker.check(&pair.responder, at(2), &view(&second), &source()),
            MacCheck::Mac2Ok
        );
        // Another source port or address holds another cookie.
        for other in ["192.0.2.7:51821", "192.0.2.8:51820", "[2001:db8::7]:51820"] {
            assert_eq!(
                checker.check(
                    &pair.responder,
                    at(2),
                    &view(&second),
                    &other.parse().unwrap()
                ),
                MacCheck::Mac1OkNoMac2,
                "{other}"
            );
        }
        // Any flipped mac2 bit loses the proof; a flipped mac1 bit loses everything.
        for index in 116..INITIATION_LEN {
            let mut bad = second;
            bad[index] ^= 0x02;
            let expected = if index < 132 {
                MacCheck::Mac1Bad
            } else {
                MacCheck::Mac1OkNoMac2
            };
            assert_eq!(
                checker.check(&pair.responder, at(2), &view(&bad), &source()),
                expected,
                "byte {index}"
            );
        }
        assert!(identify_initiation(&pair.responder, &view(&second)).is_ok());
    }

    #[test]
    fn responses_carry_mac1_and_mac2_too() {
        let pair = Pair::new(None);
        let mut entropy = TestEntropy::new(21);
        // The initiator, under load, makes the responder prove its address before a response.
        let mut initiator_checker = CookieChecker::new();
        let mut responder_cookie = PeerCookie::new();
        let mut response = [0u8; RESPONSE_LEN];
        let mut message = Response::new_zeroed(&mut response);
        message.set_sender_index(0x99);
        responder_cookie.write_macs(&pair.to_initiator, at(0), &mut message);
        let view = Response::new_checked(&response[..]).unwrap();
        assert_eq!(
            initiator_checker.check(&pair.initiator, at(0), &view, &source()),
            MacCheck::Mac1OkNoMac2
        );
        // The responder's own checker does not accept it: mac1 is keyed to the initiator.
        assert!(!CookieChecker::check_mac1(&pair.responder, &view));
        let mut reply = [0u8; COOKIE_REPLY_LEN];
        initiator_checker.create_reply(
            &pair.initiator,
            at(0),
            &mut entropy,
            &view,
            &source(),
            &mut reply,
        );
        let reply = CookieReply::new_checked(&reply[..]).unwrap();
        assert_eq!(reply.receiver_index(), 0x99);
        responder_cookie
            .consume_reply(&pair.to_initiator, at(0), &reply)
            .unwrap();
        let mut again = [0u8; RESPONSE_LEN];
        responder_cookie.write_macs(
            &pair.to_initiator,
            at(1),
            &mut Response::new_zeroed(&mut again),
        );
        let view = Response::new_checked(&again[..]).unwrap();
        assert_eq!(
            initiator_checker.check(&pair.initiator, at(1), &view, &source()),
            MacCheck::Mac2Ok
        );
    }

    fn cookie_from_reply(
        pair: &Pair,
        entropy: &mut TestEntropy,
        when: Instant,
    ) -> (PeerCookie, CookieChecker) {
        let mut checker = CookieChecker::new();
        let mut cookie = PeerCookie::new();
        let first = initiation(pair, &mut cookie, when, entropy);
        let mut reply = [0u8; COOKIE_REPLY_LEN];
        checker.create_reply(
            &pair.responder,
            when,
            entropy,
            &view(&first),
            &source(),
            &mut reply,
        );
        cookie
            .consume_reply(
                &pair.to_responder,
                when,
                &CookieReply::new_checked(&reply[..]).unwrap(),
            )
            .unwrap();
        (cookie, checker)
    }

    /// The initiator uses a cookie for 120 s minus the 5 s latency margin, never past 120 s.
    #[test]
    fn a_cookie_is_used_for_115_seconds_then_dropped() {
        let pair = Pair::new(None);
        let mut entropy = TestEntropy::new(22);
        let (mut cookie, checker) = cookie_from_reply(&pair, &mut entropy, at(0));
        let used = initiation(&pair, &mut cookie, at(114), &mut entropy);
        assert_ne!(view(&used).mac2(), [0; 16]);
        assert_eq!(
            checker.check(&pair.responder, at(114), &view(&used), &source()),
            MacCheck::Mac2Ok
        );
        for late in [116, 120, 121, 1000] {
            let unused = initiation(&pair, &mut cookie, at(late), &mut entropy);
            assert_eq!(view(&unused).mac2(), [0; 16], "at {late} s");
        }
    }

    /// The responder's secret is good for 120 s: after that no mac2 verifies until a new cookie
    /// reply draws a new secret, which invalidates cookies of the old one.
    #[test]
    fn the_responders_secret_expires_after_120_seconds() {
        let pair = Pair::new(None);
        let mut entropy = TestEntropy::new(23);
        let (mut cookie, mut checker) = cookie_from_reply(&pair, &mut entropy, at(0));
        let message = initiation(&pair, &mut cookie, at(10), &mut entropy);
        assert_eq!(
            checker.check(&pair.responder, at(120), &view(&message), &source()),
            MacCheck::Mac2Ok
        );
        assert_eq!(
            checker.check(&pair.responder, at(121), &view(&message), &source()),
            MacCheck::Mac1OkNoMac2
        );
        let mut reply = [0u8; COOKIE_REPLY_LEN];
        checker.create_reply(
            &pair.responder,
            at(121),
            &mut entropy,
            &view(&message),
            &source(),
            &mut reply,
        );
        assert_eq!(
            checker.check(&pair.responder, at(121), &view(&message), &source()),
            MacCheck::Mac1OkNoMac2,
            "old cookie under the new secret"
        );
        // The reply answers the message whose mac1 the initiator last sent: `message`.
        cookie
            .consume_reply(
                &pair.to_responder,
                at(121),
                &CookieReply::new_checked(&reply[..]).unwrap(),
            )
            .unwrap();
        let fresh = initiation(&pair, &mut cookie, at(122), &mut entropy);
        assert_eq!(
            checker.check(&pair.responder, at(122), &view(&fresh), &source()),
            MacCheck::Mac2Ok
        );
    }

    #[test]
    fn a_reply_must_answer_the_last_mac1_sent_and_is_used_once() {
        let pair = Pair::new(None);
        let mut entropy = TestEntropy::new(24);
        let mut checker = CookieChecker::new();
        let mut cookie = PeerCookie::new();
        let older = initiation(&pair, &mut cookie, at(0), &mut entropy);
        let mut reply_to_older = [0u8; COOKIE_REPLY_LEN];
        checker.create_reply(
            &pair.responder,
            at(0),
            &mut entropy,
            &view(&older),
            &source(),
            &mut reply_to_older,
        );
        let reply_to_older = CookieReply::new_checked(&reply_to_older[..]).unwrap();

        // Nothing sent yet: nothing to answer.
        assert_eq!(
            PeerCookie::new().consume_reply(&pair.to_responder, at(0), &reply_to_older),
            Err(CookieError::NoMac1Sent)
        );
        // A newer initiation went out since: the reply answers a mac1 no longer expected.
        let newer = initiation(&pair, &mut cookie, at(1), &mut entropy);
        assert_eq!(
            cookie.consume_reply(&pair.to_responder, at(1), &reply_to_older),
            Err(CookieError::AuthFailed)
        );
        let mut reply = [0u8; COOKIE_REPLY_LEN];
        checker.create_reply(
            &pair.responder,
            at(1),
            &mut entropy,
            &view(&newer),
            &source(),
            &mut reply,
        );
        let good = reply;

        // Every tampered byte fails without changing the state, except the receiver index, which
        // only routes the reply to a peer (and fails there if it names the wrong one).
        for index in 0..COOKIE_REPLY_LEN {
            let mut bad = good;
            bad[index] ^= 0x08;
            let Ok(bad) = CookieReply::new_checked(&bad[..]) else {
                assert!(index < 4);
                continue;
            };
            if (4..8).contains(&index) {
                continue;
            }
            assert_eq!(
                cookie.consume_reply(&pair.to_responder, at(1), &bad),
                Err(CookieError::AuthFailed),
                "byte {index}"
            );
        }
        // A reply opened with another peer's cookie key fails too.
        assert_eq!(
            cookie.consume_reply(
                &pair.to_initiator,
                at(1),
                &CookieReply::new_checked(&good[..]).unwrap()
            ),
            Err(CookieError::AuthFailed)
        );
        let still_without = initiation(&pair, &mut PeerCookie::new(), at(1), &mut entropy);
        assert_eq!(view(&still_without).mac2(), [0; 16]);

        // The genuine reply works (the tampered ones changed nothing), then only once.
        let good = CookieReply::new_checked(&good[..]).unwrap();
        assert_eq!(
            cookie.consume_reply(&pair.to_responder, at(1), &good),
            Ok(())
        );
        assert_eq!(
            cookie.consume_reply(&pair.to_responder, at(1), &good),
            Err(CookieError::NoMac1Sent)
        );
    }

    #[test]
    fn a_failed_reply_leaves_an_existing_cookie_in_place() {
        let pair = Pair::new(None);
        let mut entropy = TestEntropy::new(25);
        let (mut cookie, checker) = cookie_from_reply(&pair, &mut entropy, at(0));
        let _ = initiation(&pair, &mut cookie, at(1), &mut entropy);
        let mut garbage = [0x5au8; COOKIE_REPLY_LEN];
        garbage[..8].copy_from_slice(&[3, 0, 0, 0, 0x77, 0x77, 0, 0]);
        assert_eq!(
            cookie.consume_reply(
                &pair.to_responder,
                at(2),
                &CookieReply::new_checked(&garbage[..]).unwrap()
            ),
            Err(CookieError::AuthFailed)
        );
        let message = initiation(&pair, &mut cookie, at(3), &mut entropy);
        assert_eq!(
            checker.check(&pair.responder, at(3), &view(&message), &source()),
            MacCheck::Mac2Ok
        );
    }

    #[test]
    fn cookie_secret_and_nonce_come_from_the_callers_entropy() {
        let pair = Pair::new(None);
        let message = initiation(
            &pair,
            &mut PeerCookie::new(),
            at(0),
            &mut TestEntropy::new(26),
        );
        let reply = |seed| {
            let mut out = [0u8; COOKIE_REPLY_LEN];
            CookieChecker::new().create_reply(
                &pair.responder,
                at(0),
                &mut TestEntropy::new(seed),
                &view(&message),
                &source(),
                &mut out,
            );
            out
        };
        assert_eq!(reply(1), reply(1));
        assert_ne!(reply(1)[8..32], reply(2)[8..32], "nonce");
    }

    #[test]
    fn address_bytes_are_ip_then_big_endian_port() {
        let (v4, len) = address_bytes(&"10.1.2.3:258".parse().unwrap());
        assert_eq!(v4[..len], [10, 1, 2, 3, 1, 2]);
        let (v6, len) = address_bytes(&"[2001:db8::1]:65535".parse().unwrap());
        assert_eq!(len, 18);
        assert_eq!(v6[..2], [0x20, 0x01]);
        assert_eq!(v6[15], 1);
        assert_eq!(v6[16..18], [0xff, 0xff]);
    }

    #[test]
    fn split_macs_never_panics_on_short_input() {
        for len in 0..40 {
            let bytes = vec![0u8; len];
            assert_eq!(split_macs(&bytes).is_some(), len >= 32);
        }
    }
}
