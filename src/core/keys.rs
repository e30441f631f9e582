//! WireGuard's keys as types: [`PublicKey`] (shown freely), [`PrivateKey`] and [`PresharedKey`]
//! (secret: `Debug` redacts them, they are compared in constant time and wiped when dropped).
//!
//! Text forms, as `wg` and the UAPI name them, come from [`super::key_encoding`]: base64 for config
//! files and `wg` output, hex for the UAPI's `private_key=` / `public_key=` / `preshared_key=`.
//! Deriving a public key from a private one needs X25519 and lives with the handshake
//! (`noise::StaticIdentity::new(&private).public_key()`), which uses these types throughout.

use core::fmt;
use core::hash::{Hash, Hasher};
use core::hint::black_box;

use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

pub use super::key_encoding::{BASE64_LEN, HEX_LEN, KEY_LEN, KeyTextError};
use super::key_encoding::{decode_base64, decode_hex, encode_base64, encode_hex};

/// A peer's static public key: how the configuration names a peer and how the handshake finds it.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct PublicKey([u8; KEY_LEN]);

impl PublicKey {
    pub const fn from_bytes(bytes: [u8; KEY_LEN]) -> Self {
        PublicKey(bytes)
    }

    pub fn as_bytes(&self) -> &[u8; KEY_LEN] {
        &self.0
    }

    /// From `wg`'s base64 (44 characters ending in `=`).
    pub fn from_base64(text: &str) -> Result<Self, KeyTextError> {
        let mut bytes = [0u8; KEY_LEN];
        decode_base64(text.as_bytes(), &mut bytes)?;
        Ok(PublicKey(bytes))
    }

    pub fn to_base64(&self) -> String {
        ascii_string(&encode_base64(&self.0))
    }

    /// From the UAPI's 64 hex digits (either case; text or the bytes of a request line).
    pub fn from_hex(text: impl AsRef<[u8]>) -> Result<Self, KeyTextError> {
        let mut bytes = [0u8; KEY_LEN];
        decode_hex(text.as_ref(), &mut bytes)?;
        Ok(PublicKey(bytes))
    }

    pub fn to_hex(&self) -> String {
        ascii_string(&encode_hex(&self.0))
    }
}

/// Public keys are uniformly distributed already; hashing four words is enough (no length prefix
/// as a `[u8; 32]` would add).
impl Hash for PublicKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        for word in self.0.chunks_exact(8) {
            let mut w = [0u8; 8];
            w.copy_from_slice(word);
            state.write_u64(u64::from_le_bytes(w));
        }
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({})", self.to_base64())
    }
}

/// Base64, as `wg show` prints it.
impl fmt::Display for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_base64())
    }
}

/// Encoder output is ASCII by construction.
fn ascii_string(bytes: &[u8]) -> String {
    bytes.iter().map(|&b| char::from(b)).collect()
}

/// The same, for text that must be wiped after use.
fn secret_string(mut bytes: impl AsMut<[u8]>) -> Zeroizing<String> {
    let text = Zeroizing::new(ascii_string(bytes.as_mut()));
    bytes.as_mut().zeroize();
    text
}

/// Constant-time equality of two keys: every byte is compared whatever the first difference.
fn ct_eq(a: &[u8; KEY_LEN], b: &[u8; KEY_LEN]) -> bool {
    let difference = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    black_box(difference) == 0
}

/// A 32-byte secret with the behaviour both secret key types share.
macro_rules! secret_key {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone)]
        pub struct $name([u8; KEY_LEN]);

        impl $name {
            pub const fn from_bytes(bytes: [u8; KEY_LEN]) -> Self {
                $name(bytes)
            }

            pub fn as_bytes(&self) -> &[u8; KEY_LEN] {
                &self.0
            }

            /// From `wg`'s base64 (44 characters ending in `=`), decoded in constant time.
            pub fn from_base64(text: &str) -> Result<Self, KeyTextError> {
                let mut key = $name([0u8; KEY_LEN]);
                decode_base64(text.as_bytes(), &mut key.0)?;
                Ok(key)
            }

            /// Base64 for a config file or `wg showconf`; wiped when dropped.
            pub fn to_base64(&self) -> Zeroizing<String> {
                secret_string(encode_base64(&self.0))
            }

            /// From the UAPI's 64 hex digits (either case; text or the bytes of a request line),
            /// decoded in constant time.
            pub fn from_hex(text: impl AsRef<[u8]>) -> Result<Self, KeyTextError> {
                let mut key = $name([0u8; KEY_LEN]);
                decode_hex(text.as_ref(), &mut key.0)?;
                Ok(key)
            }

            /// All zeros, which the UAPI and `wg` read as "no key" (checked in constant time).
            pub fn is_zero(&self) -> bool {
                ct_eq(&self.0, &[0; KEY_LEN])
            }

            /// Hex for the UAPI; wiped when dropped.
            pub fn to_hex(&self) -> Zeroizing<String> {
                secret_string(encode_hex(&self.0))
            }
        }

        impl PartialEq for $name {
            fn eq(&self, other: &Self) -> bool {
                ct_eq(&self.0, &other.0)
            }
        }

        impl Eq for $name {}

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(concat!(stringify!($name), "(<redacted>)"))
            }
        }

        impl Drop for $name {
            fn drop(&mut self) {
                self.0.zeroize();
            }
        }

        impl Zeroize for $name {
            fn zeroize(&mut self) {
                self.0.zeroize();
            }
        }

        impl ZeroizeOnDrop for $name {}
    };
}

secret_key!(
    /// This interface's static private key (`PrivateKey =`, `wg genkey`).
    PrivateKey
);

secret_key!(
    /// A pre-shared key mixed into one peer's handshakes (`PresharedKey =`, `wg genpsk`).
    PresharedKey
);

impl PresharedKey {
    /// No preshared key: 32 zero bytes, which is what the handshake mixes in when none is
    /// configured (paper §5.4.4).
    pub const fn none() -> Self {
        PresharedKey([0; KEY_LEN])
    }
}

impl PrivateKey {
    /// A private key from 32 random bytes, clamped for X25519 as `wg genkey` writes it: the low
    /// 3 bits cleared (a multiple of the cofactor), bit 255 cleared and bit 254 set.
    pub fn from_random(mut bytes: [u8; KEY_LEN]) -> Self {
        bytes[0] &= 0b1111_1000;
        bytes[31] = (bytes[31] & 0b0111_1111) | 0b0100_0000;
        let key = PrivateKey(bytes);
        bytes.zeroize();
        key
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAN_PAGE_PRIVATE: &str = "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=";
    const MAN_PAGE_PUBLIC: &str = "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=";

    #[test]
    fn public_key_text_forms() {
        let k = PublicKey::from_base64(MAN_PAGE_PUBLIC).unwrap();
        assert_eq!(k.to_base64(), MAN_PAGE_PUBLIC);
        assert_eq!(k.to_string(), MAN_PAGE_PUBLIC);
        assert_eq!(format!("{k:?}"), format!("PublicKey({MAN_PAGE_PUBLIC})"));
        assert_eq!(
            k.to_hex(),
            "c53201039adba14be71f886da1d8dbe9eebded08cb111b75340078999aa9f038"
        );
        assert_eq!(PublicKey::from_hex(k.to_hex()).unwrap(), k);
        assert_eq!(PublicKey::from_bytes(*k.as_bytes()), k);
        assert!(matches!(
            PublicKey::from_base64("abc"),
            Err(KeyTextError::Base64Length(3))
        ));
        assert!(PublicKey::from_hex(MAN_PAGE_PUBLIC).is_err());
    }

    #[test]
    fn secret_keys_round_trip_and_compare() {
        let k = PrivateKey::from_base64(MAN_PAGE_PRIVATE).unwrap();
        assert_eq!(k.to_base64().as_str(), MAN_PAGE_PRIVATE);
        assert_eq!(PrivateKey::from_hex(k.to_hex()).unwrap(), k);
        assert_eq!(k.clone(), k);
        let mut other = *k.as_bytes();
        other[31] ^= 1;
        assert_ne!(PrivateKey::from_bytes(other), k);
        let psk = PresharedKey::from_bytes([5; 32]);
        assert_eq!(PresharedKey::from_base64(&psk.to_base64()).unwrap(), psk);
        assert!(PresharedKey::from_base64(&MAN_PAGE_PRIVATE[1..]).is_err());
        assert!(PresharedKey::from_hex("00").is_err());
        // The bytes of a request line decode as the text does, in either case.
        let upper = k.to_hex().to_ascii_uppercase();
        assert_eq!(PrivateKey::from_hex(upper.as_bytes()).unwrap(), k);
    }

    #[test]
    fn all_zero_secrets_are_no_key() {
        assert!(PrivateKey::from_bytes([0; 32]).is_zero());
        assert!(PresharedKey::none().is_zero());
        let mut one = [0u8; 32];
        one[31] = 1;
        assert!(!PrivateKey::from_bytes(one).is_zero());
        assert!(!PresharedKey::from_bytes(one).is_zero());
    }

    #[test]
    fn debug_never_shows_a_secret() {
        let k = PrivateKey::from_base64(MAN_PAGE_PRIVATE).unwrap();
        let psk = PresharedKey::from_base64(MAN_PAGE_PRIVATE).unwrap();
        for shown in [
            format!("{k:?}"),
            format!("{psk:?}"),
            format!("{:#?}", Some(&k)),
        ] {
            assert!(shown.contains("<redacted>"), "{shown}");
            assert!(!shown.contains(&MAN_PAGE_PRIVATE[..8]), "{shown}");
            assert!(!shown.contains(&k.to_hex()[..8]), "{shown}");
            assert!(!shown.contains("200"), "no byte values: {shown}");
        }
        assert_eq!(format!("{k:?}"), "PrivateKey(<redacted>)");
        assert_eq!(format!("{psk:?}"), "PresharedKey(<redacted>)");
    }

    #[test]
    fn generated_private_keys_are_clamped_like_wg_genkey() {
        let k = PrivateKey::from_random([0xff; 32]);
        assert_eq!(k.as_bytes()[0], 0xf8);
        assert_eq!(k.as_bytes()[31], 0x7f);
        assert_eq!(k.as_bytes()[1..31], [0xff; 30]);
        let k = PrivateKey::from_random([0; 32]);
        assert_eq!(k.as_bytes()[31], 0x40);
        assert_eq!(k.as_bytes()[..31], [0; 31]);
        // The man page's key came from `wg genkey`, so clamping leaves it unchanged.
        let man = PrivateKey::from_base64(MAN_PAGE_PRIVATE).unwrap();
        assert_eq!(PrivateKey::from_random(*man.as_bytes()), man);
    }

    /// Compiles only while both secret types declare that they wipe themselves on drop.
    #[test]
    fn secret_types_are_marked_zeroize_on_drop() {
        fn wipes<T: ZeroizeOnDrop>() {}
        wipes::<PrivateKey>();
        wipes::<PresharedKey>();
    }
}
