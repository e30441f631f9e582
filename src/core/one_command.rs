//! The keys of the one-command mode (`ringtun -l PORT` on one host, `ringtun -s HOST:PORT` on the
//! other), derived from the one secret both hosts share.
//!
//! WireGuard wants a static key pair per side and, optionally, a pre-shared key. Rather than ask
//! the operator for three keys and two public-key exchanges, both sides derive all of them from the
//! secret file (`ringtun genkey`), each with its own ASCII label:
//!
//! ```text
//! server private = clamp(HMAC-BLAKE2s(secret, "ringtun one-command v2 server static key"))
//! client private = clamp(HMAC-BLAKE2s(secret, "ringtun one-command v2 client static key"))
//! preshared key  =       HMAC-BLAKE2s(secret, "ringtun one-command v2 preshared key")
//! ```
//!
//! HMAC-BLAKE2s is the handshake's own `HMAC` (RFC 2104 over BLAKE2s-256, `noise::crypto::hmac`)
//! keyed by the secret, so each output is a PRF of the secret under a distinct label: knowing one
//! derived key says nothing about the others or the secret. `clamp` is what `wg genkey` does to a
//! private key (X25519 clamps anyway; clamping here makes the keys look like `wg`'s). The
//! handshake itself is WireGuard's, with fresh ephemeral keys each time, so past sessions stay
//! secret even if the secret file leaks later (forward secrecy).
//!
//! What this cannot give: both sides share one identity. Anyone with the file can act as either
//! side, and a second client with the same file is the same peer to the server (it takes over the
//! first's session). Per-peer keys need a configuration file (`ringtun -c`).
//!
//! `scripts/one_command_vectors.py` computes the test vector below independently.

use super::keys::{PresharedKey, PrivateKey, PublicKey};
use super::noise::StaticIdentity;
use super::noise::crypto::hmac;

/// Length of the shared secret, in bytes (a WireGuard key).
pub(crate) const SECRET_LEN: usize = 32;

pub(crate) const SERVER_STATIC_LABEL: &[u8] = b"ringtun one-command v2 server static key";
pub(crate) const CLIENT_STATIC_LABEL: &[u8] = b"ringtun one-command v2 client static key";
pub(crate) const PRESHARED_LABEL: &[u8] = b"ringtun one-command v2 preshared key";

/// Everything the two sides use, derived from the secret. `Debug` redacts (the key types do).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct OneCommandKeys {
    pub(crate) server_private: PrivateKey,
    pub(crate) client_private: PrivateKey,
    pub(crate) preshared: PresharedKey,
}

impl OneCommandKeys {
    /// Derives the three keys from `secret` (see the module documentation).
    pub(crate) fn derive(secret: &[u8; SECRET_LEN]) -> Self {
        OneCommandKeys {
            server_private: PrivateKey::from_random(*hmac(secret, &[SERVER_STATIC_LABEL])),
            client_private: PrivateKey::from_random(*hmac(secret, &[CLIENT_STATIC_LABEL])),
            preshared: PresharedKey::from_bytes(*hmac(secret, &[PRESHARED_LABEL])),
        }
    }

    #[cfg(test)]
    pub(crate) fn server_public(&self) -> PublicKey {
        public_key(&self.server_private)
    }

    #[cfg(test)]
    pub(crate) fn client_public(&self) -> PublicKey {
        public_key(&self.client_private)
    }
}

/// The X25519 public key of `private` (what `wg pubkey` prints).
pub(crate) fn public_key(private: &PrivateKey) -> PublicKey {
    let identity = StaticIdentity::from_private_bytes(*private.as_bytes());
    PublicKey::from_bytes(*identity.public_key().as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    // Output of `python3 scripts/one_command_vectors.py` (hashlib, hmac and OpenSSL's X25519).
    const PY_SECRET: &str = "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=";
    const PY_SERVER_PRIVATE: &str = "GOdlLAulktT0tjZTj/ek/slyziVP3tox/feo3/+9PVo=";
    const PY_SERVER_PUBLIC: &str = "rSUzRIrl39caEiO24rrSzL/paY03AlTSzs2MwW+7oA8=";
    const PY_CLIENT_PRIVATE: &str = "WKSLnjMHZEV7tveaqXnW4WbRFVecJVP9ALSCyfUPVEs=";
    const PY_CLIENT_PUBLIC: &str = "PNwb28gN5q67mma9FOZJONO26dr/SgwSNKzev8R9AUo=";
    const PY_PRESHARED: &str = "vcCjt9aGr3Fw8GuQPo3Q0jwHJfmzEQFtKiWfXDJ7gFg=";

    fn secret() -> [u8; SECRET_LEN] {
        *PresharedKey::from_base64(PY_SECRET).unwrap().as_bytes()
    }

    #[test]
    fn derivation_matches_the_independent_python_computation() {
        let keys = OneCommandKeys::derive(&secret());
        assert_eq!(keys.server_private.to_base64().as_str(), PY_SERVER_PRIVATE);
        assert_eq!(keys.client_private.to_base64().as_str(), PY_CLIENT_PRIVATE);
        assert_eq!(keys.preshared.to_base64().as_str(), PY_PRESHARED);
        assert_eq!(keys.server_public().to_base64(), PY_SERVER_PUBLIC);
        assert_eq!(keys.client_public().to_base64(), PY_CLIENT_PUBLIC);
    }

    #[test]
    fn labels_are_distinct_and_the_secret_matters() {
        let labels = [SERVER_STATIC_LABEL, CLIENT_STATIC_LABEL, PRESHARED_LABEL];
        for (i, a) in labels.iter().enumerate() {
            for b in &labels[i + 1..] {
                assert_ne!(a, b);
            }
        }
        let keys = OneCommandKeys::derive(&secret());
        assert_ne!(keys.server_public(), keys.client_public());
        let mut other = secret();
        other[0] ^= 1;
        let other = OneCommandKeys::derive(&other);
        assert_ne!(other.server_private, keys.server_private);
        assert_ne!(other.client_private, keys.client_private);
        assert_ne!(other.preshared, keys.preshared);
    }

    #[test]
    fn debug_shows_no_key() {
        let shown = format!("{:?}", OneCommandKeys::derive(&secret()));
        assert!(shown.contains("<redacted>"), "{shown}");
        for k in [PY_SERVER_PRIVATE, PY_CLIENT_PRIVATE, PY_PRESHARED] {
            assert!(!shown.contains(&k[..8]), "{shown}");
        }
    }
}
