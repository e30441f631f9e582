//! Long-lived key material: our static identity, and per remote peer its public key, preshared key
//! and everything precomputed from them. The key types themselves ([`PublicKey`], [`PrivateKey`],
//! [`PresharedKey`]: text forms, redacted `Debug`, wiping) are [`crate::core::keys`]'s.
//!
//! What can be computed once is: the static-static DH (`DH(S_priv_local, S_pub_peer)`, used in
//! every initiation), the mac1 and cookie keys (`HASH(label ‖ S_pub)`) and the handshake hash after
//! mixing in the responder's static key. Secrets are wiped on drop and never printed.

use core::fmt;

use x25519_dalek::StaticSecret;
use zeroize::{Zeroize, ZeroizeOnDrop};

use super::consts::{HASH_LEN, KEY_LEN, LABEL_COOKIE, LABEL_MAC1};
use super::crypto::{self, LowOrderPoint, Secret};
use super::handshake::INITIAL_HASH;
pub use crate::core::keys::PresharedKey;
pub(crate) use crate::core::keys::{PrivateKey, PublicKey};

/// What follows from a static public key alone, for messages to and from its owner.
struct PublicKeyHashes {
    /// `HASH(LABEL_MAC1 ‖ S_pub)`: keys mac1 of messages to the owner.
    mac1_key: [u8; HASH_LEN],
    /// `HASH(LABEL_COOKIE ‖ S_pub)`: seals the owner's cookie replies.
    cookie_key: [u8; HASH_LEN],
    /// `HASH(HASH(HASH(CONSTRUCTION) ‖ IDENTIFIER) ‖ S_pub)`: the hash a handshake whose responder
    /// is the owner starts from.
    initial_hash: [u8; HASH_LEN],
}

impl PublicKeyHashes {
    fn of(public: &PublicKey) -> Self {
        PublicKeyHashes {
            mac1_key: crypto::hash(&[LABEL_MAC1, public.as_bytes()]),
            cookie_key: crypto::hash(&[LABEL_COOKIE, public.as_bytes()]),
            initial_hash: crypto::hash(&[&INITIAL_HASH, public.as_bytes()]),
        }
    }
}

/// Our static key pair and what is derived from its public half: the keys to check mac1 of
/// messages sent to us and to seal our cookie replies, and the hash a responder starts from.
pub struct StaticIdentity {
    private: StaticSecret,
    public: PublicKey,
    hashes: PublicKeyHashes,
}

impl StaticIdentity {
    /// The identity of an interface's private key.
    pub fn new(private: &PrivateKey) -> Self {
        Self::from_private_bytes(*private.as_bytes())
    }

    /// The identity of a 32-byte X25519 private key (clamped by X25519 itself, as usual).
    pub fn from_private_bytes(private: [u8; KEY_LEN]) -> Self {
        let private = StaticSecret::from(private);
        let public = PublicKey::from_bytes(crypto::public_key(&private));
        StaticIdentity {
            private,
            public,
            hashes: PublicKeyHashes::of(&public),
        }
    }

    pub fn public_key(&self) -> &PublicKey {
        &self.public
    }
    pub(crate) fn private(&self) -> &StaticSecret {
        &self.private
    }
    pub(crate) fn mac1_key(&self) -> &[u8; HASH_LEN] {
        &self.hashes.mac1_key
    }
    pub(crate) fn cookie_key(&self) -> &[u8; HASH_LEN] {
        &self.hashes.cookie_key
    }
    pub(crate) fn initial_hash(&self) -> &[u8; HASH_LEN] {
        &self.hashes.initial_hash
    }
}

impl Zeroize for StaticIdentity {
    fn zeroize(&mut self) {
        // StaticSecret wipes itself when dropped, which the assignment does.
        self.private = StaticSecret::from([0; KEY_LEN]);
    }
}
impl ZeroizeOnDrop for StaticIdentity {}

impl fmt::Debug for StaticIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StaticIdentity")
            .field("public", &self.public)
            .field("private", &format_args!("<redacted>"))
            .finish()
    }
}

/// A remote peer as the handshake needs it, precomputed for one local identity. Its public key's
/// hashes key mac1 of messages we send to it, open its cookie replies, and start our initiations.
pub struct PeerKeys {
    /// Our own public key, which an initiation carries encrypted.
    local_static: PublicKey,
    remote_static: PublicKey,
    preshared_key: PresharedKey,
    /// `DH(S_priv_local, S_pub_remote)`.
    static_static: Secret,
    hashes: PublicKeyHashes,
}

impl PeerKeys {
    /// Precomputes a peer's keys. Fails if `remote_static` has small order: every DH with it would
    /// be zero, so no handshake with it could be secure (wireguard-go accepts such a peer and then
    /// fails each handshake; refusing it here names the problem once, at configuration).
    pub fn new(
        local: &StaticIdentity,
        remote_static: PublicKey,
        preshared_key: PresharedKey,
    ) -> Result<Self, LowOrderPoint> {
        Ok(PeerKeys {
            static_static: crypto::dh(&local.private, remote_static.as_bytes())?,
            local_static: local.public,
            remote_static,
            preshared_key,
            hashes: PublicKeyHashes::of(&remote_static),
        })
    }

    pub(crate) fn remote_static(&self) -> &PublicKey {
        &self.remote_static
    }

    /// The same peer's keys for another local identity (the interface's private key changed).
    pub(crate) fn for_identity(&self, local: &StaticIdentity) -> Result<Self, LowOrderPoint> {
        PeerKeys::new(local, self.remote_static, self.preshared_key.clone())
    }

    /// The same peer with another preshared key (`None`: none, all zeros on the wire).
    pub(crate) fn set_preshared_key(&mut self, preshared_key: Option<PresharedKey>) {
        self.preshared_key = preshared_key.unwrap_or_else(PresharedKey::none);
    }
    /// An impostor's keys: initiations built with them carry `claimed` as the initiator's static
    /// key while every DH still uses the impostor's private key.
    #[cfg(test)]
    pub(crate) fn claiming_local_static(mut self, claimed: PublicKey) -> Self {
        self.local_static = claimed;
        self
    }
    pub(crate) fn local_static(&self) -> &PublicKey {
        &self.local_static
    }
    pub(crate) fn preshared_key(&self) -> &PresharedKey {
        &self.preshared_key
    }
    pub(crate) fn static_static(&self) -> &[u8; KEY_LEN] {
        &self.static_static
    }
    pub(crate) fn mac1_key(&self) -> &[u8; HASH_LEN] {
        &self.hashes.mac1_key
    }
    pub(crate) fn cookie_key(&self) -> &[u8; HASH_LEN] {
        &self.hashes.cookie_key
    }
    pub(crate) fn initial_hash(&self) -> &[u8; HASH_LEN] {
        &self.hashes.initial_hash
    }
}

impl Zeroize for PeerKeys {
    fn zeroize(&mut self) {
        self.preshared_key.zeroize();
        self.static_static.zeroize();
    }
}
impl ZeroizeOnDrop for PeerKeys {}

impl fmt::Debug for PeerKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PeerKeys")
            .field("local_static", &self.local_static)
            .field("remote_static", &self.remote_static)
            .field("preshared_key", &self.preshared_key)
            .field("static_static", &format_args!("<redacted>"))
            .finish()
    }
}
