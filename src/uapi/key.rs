//! Keys on the wire: 64 hex digits, either case on input, lowercase on output. The key types are
//! [`crate::core::keys`]'s ([`PublicKey`], and [`PrivateKey`] / [`PresharedKey`], whose `Debug`
//! redacts them and which are wiped when dropped); the hex itself is decoded and encoded in
//! constant time by [`crate::core::key_encoding`]. This file only adapts them to the protocol's
//! "anything else is no key" (`Option`), and wipes the protocol's own buffers.

use zeroize::Zeroize;

pub use crate::core::keys::{KEY_LEN, PresharedKey, PrivateKey, PublicKey};

/// Hex digits of one key on the wire.
pub const KEY_HEX_LEN: usize = 2 * KEY_LEN;

/// 64 hex digits, either case. `None` for anything else.
pub fn parse_public(text: &[u8]) -> Option<PublicKey> {
    PublicKey::from_hex(text).ok()
}

/// 64 hex digits, either case, decoded in constant time; which character was wrong is not
/// reported (that would tell a timing observer where it is). All zeros is a valid value: "remove
/// the private key".
pub fn parse_private(text: &[u8]) -> Option<PrivateKey> {
    PrivateKey::from_hex(text).ok()
}

/// As [`parse_private`]; all zeros turns the preshared key off.
pub fn parse_preshared(text: &[u8]) -> Option<PresharedKey> {
    PresharedKey::from_hex(text).ok()
}

/// Overwrites `bytes` with zeros in a way the optimizer does not remove as a dead store (a line
/// or a reply that may hold a key).
pub(crate) fn wipe(bytes: &mut [u8]) {
    bytes.zeroize();
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOWER: &[u8; 64] = b"38b70a7b5f9c75d18f96909af5bd562e23511cc68fb21e8d5de716c3fb60217b";

    #[test]
    fn either_case_in_lowercase_out() {
        let upper = LOWER.to_ascii_uppercase();
        let a = parse_public(LOWER).unwrap();
        let b = parse_public(&upper).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.as_bytes()[0], 0x38);
        assert_eq!(a.as_bytes()[31], 0x7b);
        assert_eq!(a.to_hex().as_bytes(), LOWER);
        let s = parse_private(&upper).unwrap();
        assert_eq!(s.as_bytes(), a.as_bytes());
        assert_eq!(s.to_hex().as_bytes(), LOWER);
        assert_eq!(parse_preshared(LOWER).unwrap().as_bytes(), a.as_bytes());
    }

    #[test]
    fn wrong_length_and_non_hex_are_no_key() {
        let good = [b'a'; KEY_HEX_LEN];
        assert!(parse_private(&good).is_some());
        assert!(parse_private(&good[..63]).is_none());
        assert!(parse_private(&[b'a'; 65]).is_none());
        assert!(parse_private(b"").is_none());
        for bad in [b'g', b'G', b' ', b'/', b':', b'@', b'`', 0, 0xff, b'x'] {
            for pos in [0, 1, 31, 63] {
                let mut text = good;
                text[pos] = bad;
                assert!(parse_private(&text).is_none(), "{bad:#04x} at {pos}");
                assert!(parse_preshared(&text).is_none(), "{bad:#04x} at {pos}");
                assert!(parse_public(&text).is_none(), "{bad:#04x} at {pos}");
            }
        }
    }

    #[test]
    fn zero_keys_parse_and_say_so() {
        let zeros = [b'0'; KEY_HEX_LEN];
        assert!(parse_private(&zeros).unwrap().is_zero());
        assert!(parse_preshared(&zeros).unwrap().is_zero());
        assert!(!parse_private(LOWER).unwrap().is_zero());
    }

    #[test]
    fn wipe_zeroes() {
        let mut b = [0x5au8; 40];
        wipe(&mut b);
        assert_eq!(b, [0u8; 40]);
    }
}
