//! WireGuard's handshake: Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s exactly as the paper's §5.4.2–
//! §5.4.5 writes it, sans-IO and without allocation.
//!
//! Initiator (`i`) to responder (`r`), `C` the chaining key, `H` the hash, `Q` the preshared key:
//! ```text
//! C = HASH(CONSTRUCTION); H = HASH(HASH(C ‖ IDENTIFIER) ‖ S_pub_r)      (precomputed)
//! initiation:  C = KDF1(C, E_pub_i); H = HASH(H ‖ E_pub_i)
//!              (C, k) = KDF2(C, DH(E_priv_i, S_pub_r)); static = AEAD(k, 0, S_pub_i, H); H = HASH(H ‖ static)
//!              (C, k) = KDF2(C, DH(S_priv_i, S_pub_r)); timestamp = AEAD(k, 0, TAI64N, H); H = HASH(H ‖ timestamp)
//! response:    C = KDF1(C, E_pub_r); H = HASH(H ‖ E_pub_r)
//!              C = KDF1(C, DH(E_priv_r, E_pub_i)); C = KDF1(C, DH(E_priv_r, S_pub_i))
//!              (C, τ, k) = KDF3(C, Q); H = HASH(H ‖ τ); empty = AEAD(k, 0, ε, H); H = HASH(H ‖ empty)
//! keys:        (T_send_i = T_recv_r, T_recv_i = T_send_r) = KDF2(C, ε)
//! ```
//!
//! The initiator calls [`create_initiation`], keeps the [`InitiatorState`], and calls
//! [`InitiatorState::consume_response`] for the response addressed to its index.
//!
//! The responder, for an initiation whose mac1 (and, under load, mac2) it has checked
//! ([`super::cookie::CookieChecker`]):
//! 1. [`identify_initiation`]: one DH and one AEAD open reveal the initiator's static key;
//! 2. looks the peer up by that key (unknown: drop), then [`IdentifiedInitiation::open_timestamp`]
//!    with that peer's keys;
//! 3. checks [`ConsumedInitiation::timestamp`] is newer than the last one accepted from the peer
//!    (and the `INITIATION_MIN_INTERVAL` flood limit), records it, and
//!    [`ConsumedInitiation::create_response`].
//!
//! No step changes caller state: each returns a new value or an error, so a forged or replayed
//! message costs computation only. Ephemeral keys come from the caller's [`Entropy`] at the moment
//! they are needed; indices are arguments (the endpoint keeps them unique).

use core::fmt;

use x25519_dalek::StaticSecret;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use super::consts::{HASH_LEN, KEY_LEN, TAG_LEN, TIMESTAMP_LEN};
use super::cookie::PeerCookie;
use super::crypto::{self, AuthError, LowOrderPoint, Secret};
use super::keys::{PeerKeys, PresharedKey, PublicKey, StaticIdentity};
use super::messages::{INITIATION_LEN, Initiation, RESPONSE_LEN, Response};
use super::tai64n::Tai64N;
use crate::core::Instant;
use crate::core::entropy::Entropy;

/// `HASH(CONSTRUCTION)`, the initial chaining key (a test recomputes it).
pub(crate) const INITIAL_CHAINING_KEY: [u8; HASH_LEN] = [
    0x60, 0xe2, 0x6d, 0xae, 0xf3, 0x27, 0xef, 0xc0, 0x2e, 0xc3, 0x35, 0xe2, 0xa0, 0x25, 0xd2, 0xd0,
    0x16, 0xeb, 0x42, 0x06, 0xf8, 0x72, 0x77, 0xf5, 0x2d, 0x38, 0xd1, 0x98, 0x8b, 0x78, 0xcd, 0x36,
];
/// `HASH(INITIAL_CHAINING_KEY ‖ IDENTIFIER)`, the hash before the responder's static key is mixed
/// in (a test recomputes it).
pub(crate) const INITIAL_HASH: [u8; HASH_LEN] = [
    0x22, 0x11, 0xb3, 0x61, 0x08, 0x1a, 0xc5, 0x66, 0x69, 0x12, 0x43, 0xdb, 0x45, 0x8a, 0xd5, 0x32,
    0x2d, 0x9c, 0x6c, 0x66, 0x22, 0x93, 0xe8, 0xb7, 0x0e, 0xe1, 0x9c, 0x65, 0xba, 0x07, 0x9e, 0xf3,
];

/// Why a handshake message was refused. None of these changes any state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HandshakeError {
    /// A DH gave all zeros: the other side sent a public key of small order.
    LowOrderPoint,
    /// An AEAD tag did not verify: wrong keys (not for us, wrong preshared key), or altered.
    AuthFailed,
    /// The peer keys passed are not those of the static key the initiation carries.
    WrongPeer,
    /// The response is addressed to another index than this initiation's.
    WrongReceiver,
}

impl From<LowOrderPoint> for HandshakeError {
    fn from(_: LowOrderPoint) -> Self {
        HandshakeError::LowOrderPoint
    }
}

impl From<AuthError> for HandshakeError {
    fn from(_: AuthError) -> Self {
        HandshakeError::AuthFailed
    }
}

/// The chaining key and hash of a handshake in progress.
#[derive(Clone)]
struct Transcript {
    chaining_key: Secret,
    hash: Zeroizing<[u8; HASH_LEN]>,
}

impl Transcript {
    fn start(initial_hash: &[u8; HASH_LEN]) -> Self {
        Transcript {
            chaining_key: Zeroizing::new(INITIAL_CHAINING_KEY),
            hash: Zeroizing::new(*initial_hash),
        }
    }

    /// `H = HASH(H ‖ data)`.
    fn mix_hash(&mut self, data: &[u8]) {
        *self.hash = crypto::hash(&[&self.hash[..], data]);
    }

    /// `C = KDF1(C, input)`.
    fn mix_key(&mut self, input: &[u8]) {
        self.chaining_key = crypto::kdf1(&self.chaining_key, input);
    }

    /// `(C, k) = KDF2(C, input)`; returns `k`.
    fn mix_key_for_aead(&mut self, input: &[u8]) -> Secret {
        let (chaining_key, key) = crypto::kdf2(&self.chaining_key, input);
        self.chaining_key = chaining_key;
        key
    }

    /// `(C, τ, k) = KDF3(C, Q); H = HASH(H ‖ τ)`; returns `k`.
    fn mix_preshared_key(&mut self, preshared_key: &PresharedKey) -> Secret {
        let (chaining_key, tau, key) = crypto::kdf3(&self.chaining_key, preshared_key.as_bytes());
        self.chaining_key = chaining_key;
        self.mix_hash(&tau[..]);
        key
    }
}

impl Zeroize for Transcript {
    fn zeroize(&mut self) {
        self.chaining_key.zeroize();
        self.hash.zeroize();
    }
}

/// A fresh X25519 private key from the caller's entropy.
fn random_secret(entropy: &mut (impl Entropy + ?Sized)) -> StaticSecret {
    let mut bytes = Zeroizing::new([0u8; KEY_LEN]);
    entropy.fill(&mut bytes[..]);
    StaticSecret::from(*bytes)
}

/// The transport keys of one session, and the indices that route its messages.
pub struct SessionKeys {
    send: Secret,
    receive: Secret,
    local_index: u32,
    remote_index: u32,
    is_initiator: bool,
}

impl SessionKeys {
    /// Keys from elsewhere than a handshake: tests, benchmarks and fuzzing, which need a session
    /// without running one. The handshake's own come from `consume_response` / `create_response`.
    #[cfg(test)]
    pub(crate) fn new(
        send: [u8; KEY_LEN],
        receive: [u8; KEY_LEN],
        local_index: u32,
        remote_index: u32,
        is_initiator: bool,
    ) -> Self {
        SessionKeys {
            send: Zeroizing::new(send),
            receive: Zeroizing::new(receive),
            local_index,
            remote_index,
            is_initiator,
        }
    }

    /// Key for messages we send (`T_send`).
    pub fn send_key(&self) -> &[u8; KEY_LEN] {
        &self.send
    }
    /// Key for messages we receive (`T_recv`).
    pub fn receive_key(&self) -> &[u8; KEY_LEN] {
        &self.receive
    }
    /// Our index: the peer's transport messages carry it as receiver index.
    pub fn local_index(&self) -> u32 {
        self.local_index
    }
    /// The peer's index: our transport messages carry it as receiver index.
    pub fn remote_index(&self) -> u32 {
        self.remote_index
    }
    /// Whether we initiated this handshake. A responder must not send data under these keys before
    /// it has received a transport message under them (it has no proof yet that the initiator
    /// holds them; paper §5.4.4 / §6.1: the initiator's first message, possibly a keepalive,
    /// confirms them).
    pub(crate) fn is_initiator(&self) -> bool {
        self.is_initiator
    }
}

impl Zeroize for SessionKeys {
    fn zeroize(&mut self) {
        self.send.zeroize();
        self.receive.zeroize();
    }
}
impl ZeroizeOnDrop for SessionKeys {}

impl fmt::Debug for SessionKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionKeys")
            .field("local_index", &self.local_index)
            .field("remote_index", &self.remote_index)
            .field("is_initiator", &self.is_initiator)
            .finish_non_exhaustive()
    }
}

/// What an initiator keeps between sending an initiation and receiving its response.
pub struct InitiatorState {
    transcript: Transcript,
    ephemeral: StaticSecret,
    sender_index: u32,
}

/// Writes an initiation to `peer` into `out` and returns the state to consume the response with.
///
/// `sender_index` is our index for this handshake (unique among our live indices);
/// `timestamp` is now on the wall clock ([`Tai64N::from_unix_nanos`]); `now` is the monotonic
/// time for the cookie's age; the ephemeral key is drawn from `entropy`. mac1 and mac2 are written
/// by `cookie` (the peer's), which remembers mac1 for a cookie reply. On error `out` is untouched.
pub fn create_initiation(
    peer: &PeerKeys,
    cookie: &mut PeerCookie,
    sender_index: u32,
    timestamp: Tai64N,
    now: Instant,
    entropy: &mut (impl Entropy + ?Sized),
    out: &mut [u8; INITIATION_LEN],
) -> Result<InitiatorState, HandshakeError> {
    let ephemeral = random_secret(entropy);
    let ephemeral_public = crypto::public_key(&ephemeral);
    let mut transcript = Transcript::start(peer.initial_hash());
    transcript.mix_key(&ephemeral_public);
    transcript.mix_hash(&ephemeral_public);

    let key =
        transcript.mix_key_for_aead(&crypto::dh(&ephemeral, peer.remote_static().as_bytes())?[..]);
    let mut sealed_static = [0u8; KEY_LEN + TAG_LEN];
    crypto::aead_seal(
        &key,
        0,
        peer.local_static().as_bytes(),
        &transcript.hash[..],
        &mut sealed_static,
    );
    transcript.mix_hash(&sealed_static);

    let key = transcript.mix_key_for_aead(peer.static_static());
    let mut sealed_timestamp = [0u8; TIMESTAMP_LEN + TAG_LEN];
    crypto::aead_seal(
        &key,
        0,
        &timestamp.to_bytes(),
        &transcript.hash[..],
        &mut sealed_timestamp,
    );
    transcript.mix_hash(&sealed_timestamp);

    let mut message = Initiation::new_zeroed(out);
    message.set_sender_index(sender_index);
    message.set_ephemeral(&ephemeral_public);
    message.set_encrypted_static(&sealed_static);
    message.set_encrypted_timestamp(&sealed_timestamp);
    cookie.write_macs(peer, now, &mut message);
    Ok(InitiatorState {
        transcript,
        ephemeral,
        sender_index,
    })
}

impl InitiatorState {
    /// Our index in the initiation: the response's receiver index.
    pub(crate) fn sender_index(&self) -> u32 {
        self.sender_index
    }

    /// Consumes a response (mac1 already checked) from `peer`, to whom the initiation went, and
    /// derives the session keys. The state is borrowed: on error it is unchanged and can still take
    /// the genuine response; on success the caller drops it.
    pub fn consume_response<T: AsRef<[u8]>>(
        &self,
        local: &StaticIdentity,
        peer: &PeerKeys,
        response: &Response<T>,
    ) -> Result<SessionKeys, HandshakeError> {
        if response.receiver_index() != self.sender_index {
            return Err(HandshakeError::WrongReceiver);
        }
        let mut transcript = self.transcript.clone();
        let responder_ephemeral = response.ephemeral();
        transcript.mix_hash(&responder_ephemeral);
        transcript.mix_key(&responder_ephemeral);
        transcript.mix_key(&crypto::dh(&self.ephemeral, &responder_ephemeral)?[..]);
        transcript.mix_key(&crypto::dh(local.private(), &responder_ephemeral)?[..]);
        let key = transcript.mix_preshared_key(peer.preshared_key());
        crypto::aead_open(
            &key,
            0,
            &response.encrypted_nothing(),
            &transcript.hash[..],
            &mut [],
        )?;
        let (send, receive) = crypto::kdf2(&transcript.chaining_key, &[]);
        Ok(SessionKeys {
            send,
            receive,
            local_index: self.sender_index,
            remote_index: response.sender_index(),
            is_initiator: true,
        })
    }
}

impl Zeroize for InitiatorState {
    fn zeroize(&mut self) {
        self.transcript.zeroize();
        self.ephemeral = StaticSecret::from([0; KEY_LEN]);
    }
}
impl ZeroizeOnDrop for InitiatorState {}

impl fmt::Debug for InitiatorState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InitiatorState")
            .field("sender_index", &self.sender_index)
            .finish_non_exhaustive()
    }
}

/// An initiation whose static key has been decrypted: who claims to be initiating.
pub struct IdentifiedInitiation {
    transcript: Transcript,
    remote_static: PublicKey,
    remote_ephemeral: [u8; KEY_LEN],
    sender_index: u32,
    encrypted_timestamp: [u8; TIMESTAMP_LEN + TAG_LEN],
}

/// Step 1 of the responder: decrypts the initiator's static key from `initiation` (mac1 already
/// checked). This proves only that the sender knows our public key; that it holds the private half
/// of the static key it names is proven by step 2.
pub fn identify_initiation<T: AsRef<[u8]>>(
    local: &StaticIdentity,
    initiation: &Initiation<T>,
) -> Result<IdentifiedInitiation, HandshakeError> {
    let mut transcript = Transcript::start(local.initial_hash());
    let initiator_ephemeral = initiation.ephemeral();
    transcript.mix_hash(&initiator_ephemeral);
    transcript.mix_key(&initiator_ephemeral);
    let key = transcript.mix_key_for_aead(&crypto::dh(local.private(), &initiator_ephemeral)?[..]);
    let sealed_static = initiation.encrypted_static();
    let mut remote_static = [0u8; KEY_LEN];
    crypto::aead_open(
        &key,
        0,
        &sealed_static,
        &transcript.hash[..],
        &mut remote_static,
    )?;
    transcript.mix_hash(&sealed_static);
    Ok(IdentifiedInitiation {
        transcript,
        remote_static: PublicKey::from_bytes(remote_static),
        remote_ephemeral: initiator_ephemeral,
        sender_index: initiation.sender_index(),
        encrypted_timestamp: initiation.encrypted_timestamp(),
    })
}

impl IdentifiedInitiation {
    /// The initiator's static public key: look the peer up by it.
    pub fn remote_static(&self) -> &PublicKey {
        &self.remote_static
    }

    /// Step 2: decrypts the timestamp with the static-static DH of `peer`, which proves the
    /// initiator holds the private key of [`Self::remote_static`].
    pub fn open_timestamp(mut self, peer: &PeerKeys) -> Result<ConsumedInitiation, HandshakeError> {
        if peer.remote_static() != &self.remote_static {
            return Err(HandshakeError::WrongPeer);
        }
        let key = self.transcript.mix_key_for_aead(peer.static_static());
        let mut timestamp = [0u8; TIMESTAMP_LEN];
        crypto::aead_open(
            &key,
            0,
            &self.encrypted_timestamp,
            &self.transcript.hash[..],
            &mut timestamp,
        )?;
        self.transcript.mix_hash(&self.encrypted_timestamp);
        Ok(ConsumedInitiation {
            transcript: self.transcript,
            remote_static: self.remote_static,
            remote_ephemeral: self.remote_ephemeral,
            sender_index: self.sender_index,
            timestamp: Tai64N::from_bytes(timestamp),
        })
    }
}

impl Zeroize for IdentifiedInitiation {
    fn zeroize(&mut self) {
        self.transcript.zeroize();
    }
}
impl ZeroizeOnDrop for IdentifiedInitiation {}

impl fmt::Debug for IdentifiedInitiation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IdentifiedInitiation")
            .field("remote_static", &self.remote_static)
            .field("sender_index", &self.sender_index)
            .finish_non_exhaustive()
    }
}

/// An authenticated initiation from a known peer, ready to be answered.
pub struct ConsumedInitiation {
    transcript: Transcript,
    remote_static: PublicKey,
    remote_ephemeral: [u8; KEY_LEN],
    sender_index: u32,
    timestamp: Tai64N,
}

impl ConsumedInitiation {
    /// The initiator's timestamp: accept only if strictly newer than the last accepted from this
    /// peer ([`Tai64N::is_newer_than`]); an equal or older one is a replay.
    pub fn timestamp(&self) -> Tai64N {
        self.timestamp
    }
    /// The initiator's index: our response's receiver index, and our transport messages'.
    pub fn sender_index(&self) -> u32 {
        self.sender_index
    }

    /// Step 3: writes the response to `peer` into `out` and derives the session keys.
    /// `sender_index` is our index for the session; the ephemeral key is drawn from `entropy`;
    /// mac1/mac2 are written by the peer's `cookie`. On error `out` is untouched.
    pub fn create_response(
        mut self,
        peer: &PeerKeys,
        cookie: &mut PeerCookie,
        sender_index: u32,
        now: Instant,
        entropy: &mut (impl Entropy + ?Sized),
        out: &mut [u8; RESPONSE_LEN],
    ) -> Result<SessionKeys, HandshakeError> {
        if peer.remote_static() != &self.remote_static {
            return Err(HandshakeError::WrongPeer);
        }
        let ephemeral = random_secret(entropy);
        let ephemeral_public = crypto::public_key(&ephemeral);
        let transcript = &mut self.transcript;
        transcript.mix_hash(&ephemeral_public);
        transcript.mix_key(&ephemeral_public);
        transcript.mix_key(&crypto::dh(&ephemeral, &self.remote_ephemeral)?[..]);
        transcript.mix_key(&crypto::dh(&ephemeral, self.remote_static.as_bytes())?[..]);
        let key = transcript.mix_preshared_key(peer.preshared_key());
        let mut sealed_nothing = [0u8; TAG_LEN];
        crypto::aead_seal(&key, 0, &[], &transcript.hash[..], &mut sealed_nothing);

        let mut message = Response::new_zeroed(out);
        message.set_sender_index(sender_index);
        message.set_receiver_index(self.sender_index);
        message.set_ephemeral(&ephemeral_public);
        message.set_encrypted_nothing(&sealed_nothing);
        cookie.write_macs(peer, now, &mut message);

        let (receive, send) = crypto::kdf2(&transcript.chaining_key, &[]);
        Ok(SessionKeys {
            send,
            receive,
            local_index: sender_index,
            remote_index: self.sender_index,
            is_initiator: false,
        })
    }
}

impl Zeroize for ConsumedInitiation {
    fn zeroize(&mut self) {
        self.transcript.zeroize();
    }
}
impl ZeroizeOnDrop for ConsumedInitiation {}

impl fmt::Debug for ConsumedInitiation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConsumedInitiation")
            .field("remote_static", &self.remote_static)
            .field("sender_index", &self.sender_index)
            .field("timestamp", &self.timestamp)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::noise::consts::{CONSTRUCTION, IDENTIFIER};
    use crate::core::noise::cookie::CookieChecker;
    use crate::core::noise::messages::{MessageType, Transport, classify};
    use crate::core::noise::testing::{FixedEntropy, Pair, TestEntropy, array, hex};
    use crate::core::noise::transport;

    const NOW: Instant = Instant::from_nanos(1_000_000_000);
    const WALL: u64 = 1_700_000_000_000_000_000;

    /// Everything one completed handshake produced.
    struct Completed {
        initiation: [u8; INITIATION_LEN],
        response: [u8; RESPONSE_LEN],
        initiator_keys: SessionKeys,
        responder_keys: SessionKeys,
        timestamp: Tai64N,
    }

    fn initiate(pair: &Pair, entropy: &mut TestEntropy) -> ([u8; INITIATION_LEN], InitiatorState) {
        let mut initiation = [0u8; INITIATION_LEN];
        let state = create_initiation(
            &pair.to_responder,
            &mut PeerCookie::new(),
            0x0102_0304,
            Tai64N::from_unix_nanos(WALL),
            NOW,
            entropy,
            &mut initiation,
        )
        .unwrap();
        (initiation, state)
    }

    /// The responder's three steps, with the peer lookup reduced to "is it the initiator".
    fn respond(
        pair: &Pair,
        initiation: &[u8],
        entropy: &mut TestEntropy,
    ) -> Result<([u8; RESPONSE_LEN], SessionKeys, Tai64N), HandshakeError> {
        let initiation = Initiation::new_checked(initiation).unwrap();
        let identified = identify_initiation(&pair.responder, &initiation)?;
        assert_eq!(identified.remote_static(), pair.initiator.public_key());
        let consumed = identified.open_timestamp(&pair.to_initiator)?;
        let timestamp = consumed.timestamp();
        let mut response = [0u8; RESPONSE_LEN];
        let keys = consumed.create_response(
            &pair.to_initiator,
            &mut PeerCookie::new(),
            0x0a0b_0c0d,
            NOW,
            entropy,
            &mut response,
        )?;
        Ok((response, keys, timestamp))
    }

    fn complete(pair: &Pair) -> Completed {
        let mut entropy = TestEntropy::new(1);
        let (initiation, state) = initiate(pair, &mut entropy);
        let (response, responder_keys, timestamp) =
            respond(pair, &initiation, &mut entropy).unwrap();
        let initiator_keys = state
            .consume_response(
                &pair.initiator,
                &pair.to_responder,
                &Response::new_checked(&response[..]).unwrap(),
            )
            .unwrap();
        Completed {
            initiation,
            response,
            initiator_keys,
            responder_keys,
            timestamp,
        }
    }

    #[test]
    fn initial_constants_are_hashes_of_the_names() {
        assert_eq!(crypto::hash(&[CONSTRUCTION]), INITIAL_CHAINING_KEY);
        assert_eq!(
            crypto::hash(&[&INITIAL_CHAINING_KEY, IDENTIFIER]),
            INITIAL_HASH
        );
    }

    fn check_keys_match(done: &Completed) {
        let (i, r) = (&done.initiator_keys, &done.responder_keys);
        assert_eq!(i.send_key(), r.receive_key());
        assert_eq!(i.receive_key(), r.send_key());
        assert_ne!(i.send_key(), i.receive_key());
        assert_eq!(
            (i.local_index(), i.remote_index()),
            (0x0102_0304, 0x0a0b_0c0d)
        );
        assert_eq!(
            (r.local_index(), r.remote_index()),
            (0x0a0b_0c0d, 0x0102_0304)
        );
        assert!(i.is_initiator() && !r.is_initiator());
        assert_eq!(done.timestamp, Tai64N::from_unix_nanos(WALL));

        // A packet each way under the derived keys.
        for (sender, receiver) in [(i, r), (r, i)] {
            let payload = b"ping through the tunnel";
            let mut datagram = vec![0u8; 16 + payload.len() + 16];
            datagram[16..16 + payload.len()].copy_from_slice(payload);
            transport::seal(sender.send_key(), sender.remote_index(), 0, &mut datagram).unwrap();
            let mut message = Transport::new_checked(&mut datagram[..]).unwrap();
            assert_eq!(message.receiver_index(), receiver.local_index());
            assert_eq!(
                transport::open(receiver.receive_key(), &mut message).unwrap(),
                payload
            );
        }
    }

    #[test]
    fn handshake_without_psk_derives_matching_keys() {
        let done = complete(&Pair::new(None));
        check_keys_match(&done);
        assert_eq!(classify(&done.initiation), Ok(MessageType::Initiation));
        assert_eq!(classify(&done.response), Ok(MessageType::Response));
    }

    #[test]
    fn handshake_with_psk_derives_matching_keys_different_from_without() {
        let with = complete(&Pair::new(Some([0x33; 32])));
        check_keys_match(&with);
        let without = complete(&Pair::new(None));
        // Same static keys and entropy: only the PSK differs, and it changes the keys.
        assert_eq!(with.initiation, without.initiation);
        assert_ne!(
            with.initiator_keys.send_key(),
            without.initiator_keys.send_key()
        );
    }

    /// A whole handshake against scripts/noise_vectors.py (CPython hashlib/hmac + OpenSSL X25519
    /// and ChaCha20-Poly1305, written from the paper): message bytes, keys and every (C, H) step.
    mod python_vector {
        use super::*;

        const PY_STEPS: [&str; 9] = [
            "60e26daef327efc02ec335e2a025d2d016eb4206f87277f52d38d1988b78cd36ea038003d68eacdcbe97d5e4d0b8994516066310837e6753baee91b0982ea969",
            "2734d3aeb4d033e0b3c82a0f43ac0b42f27f1b2755654993ab54ff40f64ac663e5f4251cdf5237f241b9233d0a14f67da875db7338c557ca1f2d0bbae4aba783",
            "973a8a911e0545a4765d1331cc6f7bfaa989d0f5eb821161bcfbd6384a218e87f9f91d8053af4ec8ef37d3f3f2b3068d5d178f2d83fda556da59c78a9489bad3",
            "2d230431948b63738342ec4187f229bb327844bd699475269fd02bddb4b4980a731c670e4f51e6a4a6f6a9c8ee2106bddbfe38201a37048278c04068be90e8d2",
            "b1f437579841207f81e358184334b15be7c9b9f860dc93a8d7fbe080de76b315de70a873bb3c879a0db1183527238b256dd480e2ed7939c5b04da9d4281d9fc4",
            "d17a93fc71a11036dad850587a406fea7023a39949b6ed6d2da4b025c9d0b518de70a873bb3c879a0db1183527238b256dd480e2ed7939c5b04da9d4281d9fc4",
            "d7da1bc0b2311da24c98ad07a7c67e2d92bf0b8583207e0f2e2cdc894ba330afde70a873bb3c879a0db1183527238b256dd480e2ed7939c5b04da9d4281d9fc4",
            "a19cb939c283766233e352527afda6e561cfa0f34362f418db39310a52cb8939c9b6d78aa49f81b9ae694917f1bfe7c9f83be58c50dc9d60672883579f17feff",
            "a19cb939c283766233e352527afda6e561cfa0f34362f418db39310a52cb8939c8c65965aa86b045a12d202a04f11b88c16028d8206bbc9f2097525474502a13",
        ];
        const PY_INITIATION: &str = "01000000443322114c29f4996985e80d247e80b70303824592ff9fbad74904ea7c3d2bda24e51c12197f3df1f1f385eeca7385af03e3983a5be229054fb3fdc500e176ddd622a02b9e5e64b51975fa696074da3938059ad5d1060d78a6c9458b84a0d366826c68820b3b739187224ed8fc19bb3ee818801b608a07542a64f4f7e3571e9300000000000000000000000000000000";
        const PY_RESPONSE: &str = "020000008877665544332211b0d08f35b4683381489afb32825e59152d47d19bc9e050d6d5a954984c9d1e2c9e73b1c23993c71716b49befc9a6e9d135b0f70ed24aadaea425519900feb41e00000000000000000000000000000000";
        const PY_INITIATOR_SEND: &str =
            "5c7dddce2b3b3cc882b6fc668e18f8efcb3538e75ed4b31ab642b44b1866ca8d";
        const PY_INITIATOR_RECEIVE: &str =
            "98b488856e0fc252b58f366dd47391b8587827bcf7fb9f0e551c4788f8f72684";

        struct Inputs {
            initiator: StaticIdentity,
            responder: StaticIdentity,
            to_responder: PeerKeys,
            to_initiator: PeerKeys,
            initiator_ephemeral: [u8; 32],
            responder_ephemeral: [u8; 32],
        }

        fn inputs() -> Inputs {
            let initiator =
                StaticIdentity::from_private_bytes(core::array::from_fn(|i| 1 + i as u8));
            let responder =
                StaticIdentity::from_private_bytes(core::array::from_fn(|i| 101 + i as u8));
            let psk = [0x77; 32];
            Inputs {
                to_responder: PeerKeys::new(
                    &initiator,
                    *responder.public_key(),
                    PresharedKey::from_bytes(psk),
                )
                .unwrap(),
                to_initiator: PeerKeys::new(
                    &responder,
                    *initiator.public_key(),
                    PresharedKey::from_bytes(psk),
                )
                .unwrap(),
                initiator,
                responder,
                initiator_ephemeral: core::array::from_fn(|i| 201 + i as u8),
                responder_ephemeral: [0x5a; 32],
            }
        }

        fn step(transcript: &Transcript) -> [u8; 64] {
            let mut both = [0u8; 64];
            both[..32].copy_from_slice(&transcript.chaining_key[..]);
            both[32..].copy_from_slice(&transcript.hash[..]);
            both
        }

        /// The chain, one paper line at a time, through the `Transcript` the handshake uses.
        #[test]
        fn kdf_chain_steps_match_python() {
            let inputs = inputs();
            let steps = PY_STEPS.map(array::<64>);
            let e_i_private = StaticSecret::from(inputs.initiator_ephemeral);
            let e_r_private = StaticSecret::from(inputs.responder_ephemeral);
            let e_i = crypto::public_key(&e_i_private);
            let e_r = crypto::public_key(&e_r_private);
            let s_r = inputs.responder.public_key().as_bytes();
            let s_i = inputs.initiator.public_key().as_bytes();
            let initiation = hex(PY_INITIATION);

            let mut t = Transcript::start(inputs.to_responder.initial_hash());
            assert_eq!(step(&t), steps[0], "start");
            t.mix_key(&e_i);
            t.mix_hash(&e_i);
            assert_eq!(step(&t), steps[1], "ephemeral");
            let _ = t.mix_key_for_aead(&crypto::dh(&e_i_private, s_r).unwrap()[..]);
            t.mix_hash(&initiation[40..88]);
            assert_eq!(step(&t), steps[2], "static");
            let _ = t.mix_key_for_aead(inputs.to_responder.static_static());
            t.mix_hash(&initiation[88..116]);
            assert_eq!(step(&t), steps[3], "timestamp");
            t.mix_key(&e_r);
            t.mix_hash(&e_r);
            assert_eq!(step(&t), steps[4], "responder ephemeral");
            t.mix_key(&crypto::dh(&e_r_private, &e_i).unwrap()[..]);
            assert_eq!(step(&t), steps[5], "ee");
            t.mix_key(&crypto::dh(&e_r_private, s_i).unwrap()[..]);
            assert_eq!(step(&t), steps[6], "se");
            let _ = t.mix_preshared_key(inputs.to_initiator.preshared_key());
            assert_eq!(step(&t), steps[7], "psk");
            t.mix_hash(&hex(PY_RESPONSE)[44..60]);
            assert_eq!(step(&t), steps[8], "empty");
        }

        #[test]
        fn messages_and_keys_match_python() {
            let inputs = inputs();
            let mut initiation = [0u8; INITIATION_LEN];
            let state = create_initiation(
                &inputs.to_responder,
                &mut PeerCookie::new(),
                0x1122_3344,
                Tai64N::from_unix_nanos(1_700_000_000_123_456_789),
                NOW,
                &mut FixedEntropy(&inputs.initiator_ephemeral),
                &mut initiation,
            )
            .unwrap();
            assert_eq!(initiation[..], hex(PY_INITIATION)[..]);

            let view = Initiation::new_checked(&initiation[..]).unwrap();
            assert!(CookieChecker::check_mac1(&inputs.responder, &view));
            let consumed = identify_initiation(&inputs.responder, &view)
                .unwrap()
                .open_timestamp(&inputs.to_initiator)
                .unwrap();
            assert_eq!(
                consumed.timestamp(),
                Tai64N::from_unix_nanos(1_700_000_000_123_456_789)
            );
            let mut response = [0u8; RESPONSE_LEN];
            let responder_keys = consumed
                .create_response(
                    &inputs.to_initiator,
                    &mut PeerCookie::new(),
                    0x5566_7788,
                    NOW,
                    &mut FixedEntropy(&inputs.responder_ephemeral),
                    &mut response,
                )
                .unwrap();
            assert_eq!(response[..], hex(PY_RESPONSE)[..]);
            let initiator_keys = state
                .consume_response(
                    &inputs.initiator,
                    &inputs.to_responder,
                    &Response::new_checked(&response[..]).unwrap(),
                )
                .unwrap();
            assert_eq!(*initiator_keys.send_key(), array::<32>(PY_INITIATOR_SEND));
            assert_eq!(
                *initiator_keys.receive_key(),
                array::<32>(PY_INITIATOR_RECEIVE)
            );
            assert_eq!(responder_keys.receive_key(), initiator_keys.send_key());
            assert_eq!(responder_keys.send_key(), initiator_keys.receive_key());
        }
    }

    #[test]
    fn wrong_psk_fails_the_response_and_leaves_the_state_usable() {
        let mismatched = Pair::with_psks(Some([1; 32]), Some([2; 32]));
        let mut entropy = TestEntropy::new(2);
        let (initiation, state) = initiate(&mismatched, &mut entropy);
        // The PSK enters only at the response, so the responder accepts the initiation...
        let (bad_response, _, _) = respond(&mismatched, &initiation, &mut entropy).unwrap();
        // ...and the initiator refuses the response.
        let bad = Response::new_checked(&bad_response[..]).unwrap();
        assert_eq!(
            state
                .consume_response(&mismatched.initiator, &mismatched.to_responder, &bad)
                .map(|_| ()),
            Err(HandshakeError::AuthFailed)
        );
        // The same state still completes with a response from a responder with the right PSK.
        let matching = Pair::new(Some([1; 32]));
        let (good_response, responder_keys, _) =
            respond(&matching, &initiation, &mut entropy).unwrap();
        let keys = state
            .consume_response(
                &matching.initiator,
                &matching.to_responder,
                &Response::new_checked(&good_response[..]).unwrap(),
            )
            .unwrap();
        assert_eq!(keys.send_key(), responder_keys.receive_key());
    }

    #[test]
    fn initiation_to_the_wrong_responder_or_from_an_impostor_fails() {
        let pair = Pair::new(None);
        let mut entropy = TestEntropy::new(3);
        let (initiation, _) = initiate(&pair, &mut entropy);
        let view = Initiation::new_checked(&initiation[..]).unwrap();

        // Sent to a responder with another key: mac1 is wrong and so is the static key's AEAD.
        let stranger = StaticIdentity::from_private_bytes([0x44; 32]);
        assert!(!CookieChecker::check_mac1(&stranger, &view));
        assert_eq!(
            identify_initiation(&stranger, &view).map(|_| ()),
            Err(HandshakeError::AuthFailed)
        );

        // The responder passes the keys of another peer than the one named.
        let other_peer = PeerKeys::new(
            &pair.responder,
            *stranger.public_key(),
            PresharedKey::none(),
        )
        .unwrap();
        let identified = identify_initiation(&pair.responder, &view).unwrap();
        assert_eq!(
            identified.open_timestamp(&other_peer).map(|_| ()),
            Err(HandshakeError::WrongPeer)
        );

        // An impostor claims the initiator's public key without its private key: it encrypts that
        // key as its static, but its static-static DH differs, so the timestamp does not open.
        let impostor = StaticIdentity::from_private_bytes([0x55; 32]);
        let forged_peer = PeerKeys::new(
            &impostor,
            *pair.responder.public_key(),
            PresharedKey::none(),
        )
        .unwrap()
        .claiming_local_static(*pair.initiator.public_key());
        let mut forged = [0u8; INITIATION_LEN];
        create_initiation(
            &forged_peer,
            &mut PeerCookie::new(),
            1,
            Tai64N::from_unix_nanos(WALL),
            NOW,
            &mut entropy,
            &mut forged,
        )
        .unwrap();
        let forged = Initiation::new_checked(&forged[..]).unwrap();
        assert!(CookieChecker::check_mac1(&pair.responder, &forged));
        let identified = identify_initiation(&pair.responder, &forged).unwrap();
        assert_eq!(identified.remote_static(), pair.initiator.public_key());
        assert_eq!(
            identified.open_timestamp(&pair.to_initiator).map(|_| ()),
            Err(HandshakeError::AuthFailed)
        );
    }

    /// Recomputes mac1 for `responder` after tampering, as anyone who knows its public key can.
    fn remac(bytes: &mut [u8], responder_mac1_key: &[u8; 32], mac1_at: usize) {
        let mac1 = crypto::mac(responder_mac1_key, &[&bytes[..mac1_at]]);
        bytes[mac1_at..mac1_at + 16].copy_from_slice(&mac1);
    }

    #[test]
    fn every_tampered_initiation_byte_fails_mac1_or_aead() {
        let pair = Pair::new(None);
        let mut entropy = TestEntropy::new(4);
        let (initiation, _) = initiate(&pair, &mut entropy);
        for index in 0..field_end_before_mac2(INITIATION_LEN) {
            for bit in [0x01, 0x80] {
                let mut bad = initiation;
                bad[index] ^= bit;
                let Ok(view) = Initiation::new_checked(&bad[..]) else {
                    assert!(index < 4, "byte {index}: only type/reserved fail parsing");
                    continue;
                };
                assert!(
                    !CookieChecker::check_mac1(&pair.responder, &view),
                    "byte {index}"
                );
                if index >= 116 {
                    continue; // mac1 itself
                }
                // With mac1 made valid again, the AEAD catches every byte but the sender index,
                // which no AEAD covers (it only routes the response).
                remac(&mut bad, pair.responder.mac1_key(), 116);
                let result = respond(&pair, &bad, &mut entropy);
                if (4..8).contains(&index) {
                    assert!(result.is_ok(), "byte {index}");
                } else {
                    assert!(result.is_err(), "byte {index}");
                }
            }
        }
    }

    #[test]
    fn every_tampered_response_byte_fails_mac1_or_aead() {
        let pair = Pair::new(None);
        let mut entropy = TestEntropy::new(5);
        let (initiation, state) = initiate(&pair, &mut entropy);
        let (response, _, _) = respond(&pair, &initiation, &mut entropy).unwrap();
        let consume = |bytes: &[u8]| {
            state.consume_response(
                &pair.initiator,
                &pair.to_responder,
                &Response::new_checked(bytes).unwrap(),
            )
        };
        for index in 0..field_end_before_mac2(RESPONSE_LEN) {
            let mut bad = response;
            bad[index] ^= 0x40;
            let Ok(view) = Response::new_checked(&bad[..]) else {
                assert!(index < 4, "byte {index}");
                continue;
            };
            assert!(
                !CookieChecker::check_mac1(&pair.initiator, &view),
                "byte {index}"
            );
            if index >= 60 {
                continue;
            }
            remac(&mut bad, pair.initiator.mac1_key(), 60);
            let result = consume(&bad).map(|keys| keys.remote_index());
            match index {
                // The responder's index only routes our transport messages; not authenticated.
                4..8 => assert!(result.is_ok(), "byte {index}"),
                8..12 => assert_eq!(result, Err(HandshakeError::WrongReceiver)),
                _ => assert!(result.is_err(), "byte {index}"),
            }
        }
        // And the untouched response still completes.
        assert!(consume(&response).is_ok());
    }

    /// Offset of mac2 in a message of `len` bytes (mac2 is checked only under load; see cookie).
    fn field_end_before_mac2(len: usize) -> usize {
        len - 16
    }

    #[test]
    fn replayed_initiation_has_a_timestamp_that_is_not_newer() {
        let pair = Pair::new(None);
        let mut entropy = TestEntropy::new(6);
        let (initiation, _) = initiate(&pair, &mut entropy);
        let (_, _, first) = respond(&pair, &initiation, &mut entropy).unwrap();
        // The same bytes again decrypt fine: only the timestamp order can catch them.
        let (_, _, replayed) = respond(&pair, &initiation, &mut entropy).unwrap();
        assert!(!replayed.is_newer_than(&first));
        // A fresh initiation one second later is newer.
        let mut later = [0u8; INITIATION_LEN];
        create_initiation(
            &pair.to_responder,
            &mut PeerCookie::new(),
            7,
            Tai64N::from_unix_nanos(WALL + 1_000_000_000),
            NOW,
            &mut entropy,
            &mut later,
        )
        .unwrap();
        let (_, _, newer) = respond(&pair, &later, &mut entropy).unwrap();
        assert!(newer.is_newer_than(&first));
    }

    #[test]
    fn small_order_ephemerals_and_static_keys_are_refused() {
        let pair = Pair::new(None);
        let mut entropy = TestEntropy::new(7);
        let (mut initiation, state) = initiate(&pair, &mut entropy);
        initiation[8..40].fill(0);
        remac(&mut initiation, pair.responder.mac1_key(), 116);
        let view = Initiation::new_checked(&initiation[..]).unwrap();
        assert_eq!(
            identify_initiation(&pair.responder, &view).map(|_| ()),
            Err(HandshakeError::LowOrderPoint)
        );

        let mut response = [0u8; RESPONSE_LEN];
        let mut view = Response::new_zeroed(&mut response);
        view.set_receiver_index(state.sender_index());
        view.set_ephemeral(&[0; 32]);
        assert_eq!(
            state
                .consume_response(
                    &pair.initiator,
                    &pair.to_responder,
                    &Response::new_checked(&response[..]).unwrap()
                )
                .map(|_| ()),
            Err(HandshakeError::LowOrderPoint)
        );

        let mut one = [0u8; 32];
        one[0] = 1;
        assert!(
            PeerKeys::new(
                &pair.initiator,
                PublicKey::from_bytes(one),
                PresharedKey::none()
            )
            .is_err()
        );
    }

    #[test]
    fn ephemeral_keys_come_from_the_callers_entropy() {
        let pair = Pair::new(None);
        let (first, _) = initiate(&pair, &mut TestEntropy::new(8));
        let (same, _) = initiate(&pair, &mut TestEntropy::new(8));
        let (other, _) = initiate(&pair, &mut TestEntropy::new(9));
        assert_eq!(
            first, same,
            "same entropy, same message: nothing hidden in the core"
        );
        assert_ne!(first[8..40], other[8..40]);
    }

    /// The bytes of `secret` in the forms `Debug` could print them: lower/upper hex and decimal list.
    fn renderings(secret: &[u8]) -> Vec<String> {
        let lower: String = secret.iter().map(|b| format!("{b:02x}")).collect();
        let upper = lower.to_uppercase();
        let decimal = format!("{secret:?}");
        let first_eight = format!("{:?}", &secret[..8])
            .trim_end_matches(']')
            .to_string();
        vec![
            lower.clone(),
            upper,
            decimal,
            first_eight,
            lower[..16].to_string(),
        ]
    }

    fn assert_redacted(debug: &str, secrets: &[&[u8]]) {
        for secret in secrets {
            for rendering in renderings(secret) {
                let rendering = rendering.trim_start_matches('[');
                assert!(
                    !debug.contains(rendering),
                    "{debug} shows a secret as {rendering}"
                );
            }
        }
    }

    #[test]
    fn debug_output_never_shows_secrets() {
        let private = [0xa7u8; 32];
        let psk = [0xc3u8; 32];
        let identity = StaticIdentity::from_private_bytes(private);
        let responder = StaticIdentity::from_private_bytes([0x22; 32]);
        let peer = PeerKeys::new(
            &identity,
            *responder.public_key(),
            PresharedKey::from_bytes(psk),
        )
        .unwrap();
        let back = PeerKeys::new(
            &responder,
            *identity.public_key(),
            PresharedKey::from_bytes(psk),
        )
        .unwrap();
        let static_static = *peer.static_static();
        let mut entropy = TestEntropy::new(10);
        let mut initiation = [0u8; INITIATION_LEN];
        let mut cookie = PeerCookie::new();
        let state = create_initiation(
            &peer,
            &mut cookie,
            1,
            Tai64N::from_unix_nanos(WALL),
            NOW,
            &mut entropy,
            &mut initiation,
        )
        .unwrap();
        let view = Initiation::new_checked(&initiation[..]).unwrap();
        let identified = identify_initiation(&responder, &view).unwrap();
        let identified_debug = format!("{identified:?}");
        let consumed = identified.open_timestamp(&back).unwrap();
        let consumed_debug = format!("{consumed:?}");
        let chain = *consumed.transcript.chaining_key;
        let mut response = [0u8; RESPONSE_LEN];
        let keys = consumed
            .create_response(
                &back,
                &mut PeerCookie::new(),
                2,
                NOW,
                &mut entropy,
                &mut response,
            )
            .unwrap();
        let secrets: [&[u8]; 6] = [
            &private,
            &psk,
            &static_static,
            keys.send_key(),
            keys.receive_key(),
            &chain,
        ];
        let ephemeral = state.ephemeral.to_bytes();
        let initiator_chain = *state.transcript.chaining_key;
        for debug in [
            format!("{identity:?}"),
            format!("{peer:?}"),
            format!("{:?}", PresharedKey::from_bytes(psk)),
            format!("{keys:?}"),
            format!("{state:?}"),
            format!("{cookie:?}"),
            format!("{:?}", CookieChecker::new()),
            identified_debug,
            consumed_debug,
        ] {
            assert_redacted(&debug, &secrets);
            assert_redacted(&debug, &[&ephemeral, &initiator_chain]);
        }
        // Public keys are printed (in base64, as `wg` shows them), so the check above would see a
        // key when it is there.
        assert!(format!("{identity:?}").contains(&identity.public_key().to_base64()));
    }

    #[test]
    fn zeroize_wipes_session_keys_and_states() {
        let done = complete(&Pair::new(Some([9; 32])));
        let mut keys = done.initiator_keys;
        keys.zeroize();
        assert_eq!((*keys.send_key(), *keys.receive_key()), ([0; 32], [0; 32]));

        let pair = Pair::new(None);
        let (_, mut state) = initiate(&pair, &mut TestEntropy::new(11));
        state.zeroize();
        assert_eq!(*state.transcript.chaining_key, [0; 32]);
        assert_eq!(state.ephemeral.to_bytes(), [0; 32]);
    }
}
