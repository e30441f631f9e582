//! The 32-byte keys of the protocol and their 64-digit hex form, decoded and encoded without
//! branches or table lookups on the key bytes, so a secret's value does not show in timing.
//!
//! [`SecretKey`] (private and preshared keys) keeps its bytes in one heap allocation for its
//! whole life, so moving it (into a `Vec` that grows, out of a request) never leaves a copy
//! behind, and overwrites them with zeros when dropped. Its `Debug` prints no digit of the key.

use std::fmt;

pub const KEY_LEN: usize = 32;
/// Hex digits of one key on the wire.
pub const KEY_HEX_LEN: usize = 2 * KEY_LEN;

/// A peer's public key: not secret, printed in hex by `Debug` and `Display`.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct PublicKey(pub [u8; KEY_LEN]);

impl PublicKey {
    /// 64 hex digits, either case. `None` for anything else.
    pub fn from_hex(text: &[u8]) -> Option<PublicKey> {
        let mut key = [0u8; KEY_LEN];
        decode_hex(text, &mut key).then_some(PublicKey(key))
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({self})")
    }
}

impl fmt::Display for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hex = encode_hex(&self.0);
        // encode_hex writes ASCII only.
        f.write_str(std::str::from_utf8(&hex).unwrap_or_default())
    }
}

/// A private or preshared key. All zeros means "none" in the protocol (`private_key=000…` removes
/// the interface's key, `preshared_key=000…` turns the preshared key off).
///
/// The zeroing on drop is done by hand (`fill(0)` behind `std::hint::black_box`, so the compiler
/// keeps the stores), because the `zeroize` crate is not a dependency of ringtun yet.
pub struct SecretKey(Box<[u8; KEY_LEN]>);

impl SecretKey {
    /// Takes a copy of `bytes`; wiping the caller's own copy is up to the caller.
    pub fn from_bytes(bytes: &[u8; KEY_LEN]) -> SecretKey {
        SecretKey(Box::new(*bytes))
    }

    /// 64 hex digits, either case, decoded in constant time. `None` for anything else; which
    /// character was wrong is not reported (that would tell a timing observer where it is).
    pub fn from_hex(text: &[u8]) -> Option<SecretKey> {
        let mut key = SecretKey(Box::new([0u8; KEY_LEN]));
        decode_hex(text, &mut key.0).then_some(key)
    }

    pub fn expose(&self) -> &[u8; KEY_LEN] {
        &self.0
    }

    /// All zeros, that is "no key" (checked in constant time).
    pub fn is_zero(&self) -> bool {
        self.0.iter().fold(0u8, |acc, b| acc | b) == 0
    }

    /// Constant-time equality.
    pub fn ct_eq(&self, other: &SecretKey) -> bool {
        self.0
            .iter()
            .zip(other.0.iter())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
    }

    /// Calls `f` with the 64 lowercase hex digits, wiped afterwards; where `f` copies them is the
    /// caller's to wipe.
    pub(crate) fn with_hex<R>(&self, f: impl FnOnce(&str) -> R) -> R {
        let mut hex = encode_hex(&self.0);
        // encode_hex writes ASCII only.
        let result = f(std::str::from_utf8(&hex).unwrap_or_default());
        wipe(&mut hex);
        result
    }
}

impl Clone for SecretKey {
    fn clone(&self) -> SecretKey {
        SecretKey(Box::new(*self.0))
    }
}

impl PartialEq for SecretKey {
    fn eq(&self, other: &SecretKey) -> bool {
        self.ct_eq(other)
    }
}

impl Eq for SecretKey {}

impl Drop for SecretKey {
    fn drop(&mut self) {
        wipe(&mut self.0[..]);
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretKey(<redacted>)")
    }
}

/// Overwrites `bytes` with zeros in a way the optimizer does not remove as a dead store.
pub(crate) fn wipe(bytes: &mut [u8]) {
    bytes.fill(0);
    std::hint::black_box(bytes);
}

/// Decodes exactly 64 hex digits (either case) into `out`. Every digit is examined with the same
/// arithmetic whatever its value; on failure `out` is left zeroed.
fn decode_hex(text: &[u8], out: &mut [u8; KEY_LEN]) -> bool {
    if text.len() != KEY_HEX_LEN {
        return false;
    }
    let mut invalid = 0u8;
    for (byte, pair) in out.iter_mut().zip(text.chunks_exact(2)) {
        let (hi, hi_ok) = hex_digit_value(pair[0]);
        let (lo, lo_ok) = hex_digit_value(pair[1]);
        *byte = (hi << 4) | lo;
        invalid |= !(hi_ok & lo_ok);
    }
    if invalid != 0 {
        wipe(out);
        return false;
    }
    true
}

/// The value of one hex digit and 0xff if it is one, (garbage, 0) otherwise; no branches.
fn hex_digit_value(c: u8) -> (u8, u8) {
    let c = i16::from(c);
    // Only 'A'..='F' and 'a'..='f' land in 'a'..='f' once bit 5 is set.
    let lower = c | 0x20;
    let is_digit = all_ones_if_within(c, b'0', b'9');
    let is_letter = all_ones_if_within(lower, b'a', b'f');
    let value = (is_digit & (c - i16::from(b'0'))) | (is_letter & (lower - i16::from(b'a') + 10));
    // Both masks are 0 or -1 and `value` is within 0..=15, so the casts keep every bit that matters.
    (value as u8 & 0x0f, (is_digit | is_letter) as u8)
}

/// -1 (all bits set) when lo <= c <= hi, else 0: both differences are then negative, so the sign
/// bit of their AND is set, and the arithmetic shift spreads it.
fn all_ones_if_within(c: i16, lo: u8, hi: u8) -> i16 {
    ((i16::from(lo) - 1 - c) & (c - i16::from(hi) - 1)) >> 15
}

/// 64 lowercase hex digits; the digit for each nibble is computed, not looked up.
fn encode_hex(key: &[u8; KEY_LEN]) -> [u8; KEY_HEX_LEN] {
    let mut hex = [0u8; KEY_HEX_LEN];
    for (pair, byte) in hex.chunks_exact_mut(2).zip(key) {
        pair[0] = hex_digit(byte >> 4);
        pair[1] = hex_digit(byte & 0x0f);
    }
    hex
}

/// '0'..'9' for 0..=9, 'a'..'f' for 10..=15: adds the gap between '9' and 'a' when n > 9.
fn hex_digit(n: u8) -> u8 {
    let n = i16::from(n);
    let above_nine = (9 - n) >> 15;
    (n + i16::from(b'0') + (above_nine & i16::from(b'a' - b'0' - 10))) as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_digits_of_every_byte_value() {
        for c in 0..=255u8 {
            let (value, ok) = hex_digit_value(c);
            let expected = (c as char).to_digit(16);
            assert_eq!(ok == 0xff, expected.is_some(), "char {c:#04x}");
            assert!(ok == 0 || ok == 0xff, "mask of {c:#04x} is {ok:#04x}");
            if let Some(d) = expected {
                assert_eq!(u32::from(value), d, "char {c:#04x}");
            }
        }
        for n in 0..16u8 {
            assert_eq!(hex_digit(n), b"0123456789abcdef"[usize::from(n)]);
        }
    }

    #[test]
    fn decode_accepts_either_case_and_round_trips_lowercase() {
        let lower = b"38b70a7b5f9c75d18f96909af5bd562e23511cc68fb21e8d5de716c3fb60217b";
        let upper = lower.to_ascii_uppercase();
        let a = PublicKey::from_hex(lower).unwrap();
        let b = PublicKey::from_hex(&upper).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.0[0], 0x38);
        assert_eq!(a.0[31], 0x7b);
        assert_eq!(a.to_string().as_bytes(), lower);
        let s = SecretKey::from_hex(&upper).unwrap();
        assert_eq!(s.expose(), &a.0);
        s.with_hex(|hex| assert_eq!(hex.as_bytes(), lower));
    }

    #[test]
    fn decode_rejects_wrong_length_and_non_hex() {
        let good = [b'a'; 64];
        assert!(SecretKey::from_hex(&good).is_some());
        assert!(SecretKey::from_hex(&good[..63]).is_none());
        assert!(SecretKey::from_hex(&[b'a'; 65]).is_none());
        assert!(SecretKey::from_hex(b"").is_none());
        for bad in [b'g', b'G', b' ', b'/', b':', b'@', b'`', 0, 0xff, b'x'] {
            for pos in [0, 1, 31, 63] {
                let mut text = good;
                text[pos] = bad;
                assert!(SecretKey::from_hex(&text).is_none(), "{bad:#04x} at {pos}");
                assert!(PublicKey::from_hex(&text).is_none(), "{bad:#04x} at {pos}");
            }
        }
    }

    #[test]
    fn secret_debug_is_redacted_public_debug_is_not() {
        let s = SecretKey::from_hex(&[b'7'; 64]).unwrap();
        let shown = format!("{s:?} {:?}", Some(&s));
        assert!(!shown.contains('7'), "{shown}");
        assert!(shown.contains("redacted"));
        let p = PublicKey([0xab; 32]);
        assert!(format!("{p:?}").contains("abab"));
    }

    #[test]
    fn zero_and_equality() {
        assert!(SecretKey::from_bytes(&[0; 32]).is_zero());
        let mut one = [0u8; 32];
        one[31] = 1;
        let one = SecretKey::from_bytes(&one);
        assert!(!one.is_zero());
        assert_eq!(one, one.clone());
        assert_ne!(one, SecretKey::from_bytes(&[0; 32]));
    }

    #[test]
    fn wipe_zeroes() {
        let mut b = [0x5au8; 40];
        wipe(&mut b);
        assert_eq!(b, [0u8; 40]);
    }
}
