//! WireGuard's protocol constants in one place: the Noise names hashed into the handshake, the
//! labels of the mac1 and cookie keys, the message sizes, and the timers of the paper (§6) that the
//! endpoint's state machine follows.

use core::time::Duration;

/// The Noise protocol name; `HASH(CONSTRUCTION)` is the initial chaining key.
pub const CONSTRUCTION: &[u8] = b"Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s";
/// Mixed into the initial hash, so that the handshake is bound to WireGuard v1.
pub const IDENTIFIER: &[u8] = b"WireGuard v1 zx2c4 Jason@zx2c4.com";
/// `HASH(LABEL_MAC1 ‖ S_pub)` keys the mac1 of messages sent to the owner of `S_pub`.
pub const LABEL_MAC1: &[u8; 8] = b"mac1----";
/// `HASH(LABEL_COOKIE ‖ S_pub)` keys the XAEAD of cookie replies sent by the owner of `S_pub`.
pub const LABEL_COOKIE: &[u8; 8] = b"cookie--";

/// X25519 public and private keys, DH outputs, preshared keys, symmetric keys.
pub const KEY_LEN: usize = 32;
/// BLAKE2s-256 output: chaining key and handshake hash.
pub const HASH_LEN: usize = 32;
/// Keyed BLAKE2s-128 output: mac1, mac2 and cookies.
pub const MAC_LEN: usize = 16;
/// Poly1305 tag.
pub const TAG_LEN: usize = 16;
/// TAI64N timestamp.
pub const TIMESTAMP_LEN: usize = 12;
/// XChaCha20-Poly1305 nonce of a cookie reply.
pub const XNONCE_LEN: usize = 24;

// Timers of the paper, §6.1 (names as there).

/// A session's sender starts a new handshake after sending this many messages.
pub const REKEY_AFTER_MESSAGES: u64 = 1 << 60;
/// No message is sent or accepted under a key once its counter reaches this: 2^64 − 2^13 − 1. The
/// gap below 2^64 leaves room for the receiver's replay window.
pub const REJECT_AFTER_MESSAGES: u64 = u64::MAX - (1 << 13);
/// The initiator of a session starts a new handshake when the session is this old and it sends.
pub const REKEY_AFTER_TIME: Duration = Duration::from_secs(120);
/// A session older than this is neither used to send nor to receive.
pub const REJECT_AFTER_TIME: Duration = Duration::from_secs(180);
/// Retrying an unanswered handshake stops after this long.
pub const REKEY_ATTEMPT_TIME: Duration = Duration::from_secs(90);
/// An unanswered initiation is retried after this long (plus jitter).
pub const REKEY_TIMEOUT: Duration = Duration::from_secs(5);
/// A peer that received data and sent nothing for this long sends a keepalive.
pub const KEEPALIVE_TIMEOUT: Duration = Duration::from_secs(10);
/// The responder's cookie secret is replaced after this long, so a cookie is valid at most this long.
pub const COOKIE_REFRESH_TIME: Duration = Duration::from_secs(120);

// Implementation constants of the kernel module and wireguard-go (not in the paper).

/// Up to this much random jitter is added to `REKEY_TIMEOUT` (wireguard-go: 334 ms), so that two
/// peers that lost the same packet do not retry in lockstep.
pub const REKEY_TIMEOUT_JITTER_MAX: Duration = Duration::from_millis(334);
/// The initiator stops using a received cookie this much before `COOKIE_REFRESH_TIME` (the kernel's
/// `COOKIE_SECRET_LATENCY`): a cookie made just before the responder's refresh would otherwise be
/// sent, and rejected, after it.
pub const COOKIE_LATENCY: Duration = Duration::from_secs(5);
/// A responder accepts at most one initiation per peer per this interval (50 per second, as the
/// kernel and wireguard-go), even with valid timestamps: an attacker replaying many captured
/// initiations cannot make it do more than 50 handshakes a second for that peer.
pub const INITIATION_MIN_INTERVAL: Duration = Duration::from_millis(20);
