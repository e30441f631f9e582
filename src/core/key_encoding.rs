//! Text forms of 32-byte keys: base64 exactly as `wg genkey` prints it, and hex as the cross-platform
//! UAPI (`private_key=...`) carries it.
//!
//! Private and pre-shared keys pass through here, so, as in wireguard-tools' `encoding.c`, no branch
//! and no table index depends on a key's bytes or characters: each character is mapped with
//! arithmetic on range masks. Only the length, which is public, is checked with a branch; on failure
//! the output is zeroed and nothing says which character was wrong.

use core::fmt;
use core::hint::black_box;

pub use crate::core::noise::consts::KEY_LEN;
/// 43 base64 characters for 256 bits, and one `=` of padding.
pub const BASE64_LEN: usize = 44;
/// Two hex digits per byte.
pub const HEX_LEN: usize = 2 * KEY_LEN;

/// Why text is not a key. Lengths are public; which character is wrong is not reported.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyTextError {
    /// Not 44 bytes; holds the length found.
    Base64Length(usize),
    /// 44 bytes, but not base64 of 32 bytes in the one canonical spelling.
    Base64Content,
    /// Not 64 bytes; holds the length found.
    HexLength(usize),
    /// 64 bytes, but not all hex digits.
    HexContent,
}

impl fmt::Display for KeyTextError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyTextError::Base64Length(n) => write!(
                f,
                "not a key: {n} characters where a key has 44 base64 characters ending in '=' (as `wg genkey` prints)"
            ),
            KeyTextError::Base64Content => f.write_str(
                "not a key: not base64 (A-Z a-z 0-9 + /, 44 characters ending in '=', as `wg genkey` prints)",
            ),
            KeyTextError::HexLength(n) => {
                write!(f, "not a key: {n} characters where a key has 64 hex digits")
            }
            KeyTextError::HexContent => f.write_str("not a key: not 64 hex digits"),
        }
    }
}

impl std::error::Error for KeyTextError {}

/// All ones (-1) if `lo <= c <= hi`, else 0. Both differences are negative only inside the range;
/// they lie in -256..256, so their AND shifted right by 8 is -1 or 0.
fn in_range(c: i32, lo: u8, hi: u8) -> i32 {
    ((i32::from(lo) - 1 - c) & (c - i32::from(hi) - 1)) >> 8
}

/// All ones if `v >= k`, else 0, for `v`, `k` in 0..=256.
fn at_least(v: i32, k: i32) -> i32 {
    (k - 1 - v) >> 8
}

/// The base64 character of a 6-bit value: start from 'A' + v and shift each later range into place
/// ('a' is 6 past 'Z' + 1; '0' is 75 before where 'z' + 1 would land; '+' and '/' follow).
fn base64_char(v: u8) -> u8 {
    let v = i32::from(v);
    let c = v + i32::from(b'A') + (at_least(v, 26) & 6)
        - (at_least(v, 52) & 75)
        - (at_least(v, 62) & 15)
        + (at_least(v, 63) & 3);
    // c is an ASCII code: 43..=122.
    c as u8
}

/// The 6-bit value of a base64 character, or -1. Each range adds its value plus one when `c` is in
/// it; at most one range matches.
fn base64_value(c: u8) -> i32 {
    let c = i32::from(c);
    -1 + (in_range(c, b'A', b'Z') & (c - 64))
        + (in_range(c, b'a', b'z') & (c - 70))
        + (in_range(c, b'0', b'9') & (c + 5))
        + (in_range(c, b'+', b'+') & 63)
        + (in_range(c, b'/', b'/') & 64)
}

/// `key` in base64: ten groups of 3 bytes make 40 characters, the last 2 bytes make 3 more, then `=`.
pub fn encode_base64(key: &[u8; KEY_LEN]) -> [u8; BASE64_LEN] {
    let mut out = [0u8; BASE64_LEN];
    for (group, chars) in key.chunks(3).zip(out.chunks_mut(4)) {
        let b = [
            group[0],
            group.get(1).copied().unwrap_or(0),
            group.get(2).copied().unwrap_or(0),
        ];
        let bits = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for (i, c) in chars.iter_mut().enumerate() {
            *c = base64_char(((bits >> (18 - 6 * i)) & 63) as u8);
        }
    }
    out[BASE64_LEN - 1] = b'=';
    out
}

/// Decodes `wg`'s base64 of a key into `out`; on error `out` is all zero. Accepts exactly the text
/// [`encode_base64`] produces: 44 bytes, `=` last, and the unused low 2 bits of character 43 zero.
pub fn decode_base64(text: &[u8], out: &mut [u8; KEY_LEN]) -> Result<(), KeyTextError> {
    out.fill(0);
    if text.len() != BASE64_LEN {
        return Err(KeyTextError::Base64Length(text.len()));
    }
    if text[BASE64_LEN - 1] != b'=' {
        return Err(KeyTextError::Base64Content);
    }
    // Non-zero once any character was invalid (-1) or the trailing bits are not canonical.
    let mut invalid = 0i32;
    for (chars, bytes) in text[..BASE64_LEN - 1].chunks(4).zip(out.chunks_mut(3)) {
        let mut bits = 0i32;
        for (i, &c) in chars.iter().enumerate() {
            let v = base64_value(c);
            // -1 >> 8 is -1; a valid 0..=63 shifts to 0.
            invalid |= v >> 8;
            bits |= (v & 63) << (18 - 6 * i);
        }
        // The last group has 3 characters: 18 bits for 2 bytes; its 2 low bits must be zero.
        if chars.len() == 3 {
            invalid |= (bits >> 6) & 3;
        }
        for (i, b) in bytes.iter_mut().enumerate() {
            *b = (bits >> (16 - 8 * i)) as u8;
        }
    }
    if black_box(invalid) != 0 {
        out.fill(0);
        return Err(KeyTextError::Base64Content);
    }
    Ok(())
}

/// `key` in lowercase hex.
pub fn encode_hex(key: &[u8; KEY_LEN]) -> [u8; HEX_LEN] {
    let digit = |n: u8| {
        let n = i32::from(n);
        (n + i32::from(b'0') + (at_least(n, 10) & 39)) as u8
    };
    let mut out = [0u8; HEX_LEN];
    for (b, pair) in key.iter().zip(out.chunks_mut(2)) {
        pair[0] = digit(b >> 4);
        pair[1] = digit(b & 0xf);
    }
    out
}

/// The value of a hex digit of either case, or -1.
fn hex_value(c: u8) -> i32 {
    let c = i32::from(c);
    -1 + (in_range(c, b'0', b'9') & (c - 47))
        + (in_range(c, b'a', b'f') & (c - 86))
        + (in_range(c, b'A', b'F') & (c - 54))
}

/// Decodes 64 hex digits (either case) into `out`; on error `out` is all zero.
pub fn decode_hex(text: &[u8], out: &mut [u8; KEY_LEN]) -> Result<(), KeyTextError> {
    out.fill(0);
    if text.len() != HEX_LEN {
        return Err(KeyTextError::HexLength(text.len()));
    }
    let mut invalid = 0i32;
    for (pair, b) in text.chunks(2).zip(out.iter_mut()) {
        let (hi, lo) = (hex_value(pair[0]), hex_value(pair[1]));
        invalid |= hi | lo;
        *b = (((hi & 15) << 4) | (lo & 15)) as u8;
    }
    if black_box(invalid >> 31) != 0 {
        out.fill(0);
        return Err(KeyTextError::HexContent);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::entropy::{Entropy, TestEntropy};

    fn from_hex(h: &str) -> [u8; 32] {
        let mut k = [0u8; 32];
        decode_hex(h.as_bytes(), &mut k).unwrap();
        k
    }

    fn b64(key: &[u8; 32]) -> String {
        String::from_utf8(encode_base64(key).to_vec()).unwrap()
    }

    /// Base64 and hex of the same keys, the base64 side from Python's `base64` module (an
    /// independent implementation): the UAPI example keys of wireguard.com/xplatform, the wg(8) man
    /// page's example keys, and the extremes.
    const VECTORS: [(&str, &str); 7] = [
        (
            "e84b5a6d2717c1003a13b431570353dbaca9146cf150c5f8575680feba52027a",
            "6EtabScXwQA6E7QxVwNT26ypFGzxUMX4V1aA/rpSAno=",
        ),
        (
            "b85996fecc9c7f1fc6d2572a76eda11d59bcd20be8e543b15ce4bd85a8e75a33",
            "uFmW/sycfx/G0lcqdu2hHVm80gvo5UOxXOS9hajnWjM=",
        ),
        (
            "c809f3e5317e9575c9b5ed78b638b7ce530dabe85ddab614220241801ddf0669",
            "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=",
        ),
        (
            "c53201039adba14be71f886da1d8dbe9eebded08cb111b75340078999aa9f038",
            "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=",
        ),
        (
            "4eb32f4a83f88d842563a448cc181bb2c42a637bf12363e2fb2ef594e5965d7d",
            "TrMvSoP4jYQlY6RIzBgbssQqY3vxI2Pi+y71lOWWXX0=",
        ),
        (
            "0000000000000000000000000000000000000000000000000000000000000000",
            "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
        ),
        (
            "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
            "//////////////////////////////////////////8=",
        ),
    ];

    #[test]
    fn known_encodings() {
        for (hex, base64) in VECTORS {
            let key = from_hex(hex);
            assert_eq!(b64(&key), base64);
            assert_eq!(encode_hex(&key), hex.as_bytes());
            let mut decoded = [0u8; 32];
            decode_base64(base64.as_bytes(), &mut decoded).unwrap();
            assert_eq!(decoded, key, "{base64}");
            decode_hex(hex.to_uppercase().as_bytes(), &mut decoded).unwrap();
            assert_eq!(decoded, key);
        }
    }

    /// The obvious table-driven encoder, to check every character of the arithmetic one.
    fn reference_base64(key: &[u8; 32]) -> String {
        const ALPHABET: &[u8; 64] =
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut bits = 0u32;
        let mut nbits = 0;
        let mut out = String::new();
        for &b in key {
            bits = (bits << 8) | u32::from(b);
            nbits += 8;
            while nbits >= 6 {
                nbits -= 6;
                out.push(char::from(ALPHABET[((bits >> nbits) & 63) as usize]));
            }
        }
        out.push(char::from(ALPHABET[((bits << (6 - nbits)) & 63) as usize]));
        out.push('=');
        out
    }

    #[test]
    fn random_keys_match_reference_and_round_trip() {
        let mut rng = TestEntropy::new(3);
        for _ in 0..5000 {
            let mut key = [0u8; 32];
            rng.fill(&mut key);
            let text = encode_base64(&key);
            assert_eq!(b64(&key), reference_base64(&key));
            let mut back = [0u8; 32];
            decode_base64(&text, &mut back).unwrap();
            assert_eq!(back, key);
            decode_hex(&encode_hex(&key), &mut back).unwrap();
            assert_eq!(back, key);
        }
    }

    #[test]
    fn every_character_maps_both_ways() {
        for v in 0..64u8 {
            assert_eq!(base64_value(base64_char(v)), i32::from(v));
        }
        let valid = |c: u8| c.is_ascii_alphanumeric() || c == b'+' || c == b'/';
        for c in 0..=255u8 {
            assert_eq!(base64_value(c) >= 0, valid(c), "{c}");
            assert_eq!(hex_value(c) >= 0, c.is_ascii_hexdigit(), "{c}");
        }
    }

    #[test]
    fn rejects_bad_base64_and_zeroes_output() {
        let good = "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=";
        let mut out = [0xaa; 32];
        let mut reject = |text: &[u8], err: KeyTextError| {
            out = [0xaa; 32];
            assert_eq!(decode_base64(text, &mut out), Err(err), "{text:?}");
            assert_eq!(out, [0; 32], "output zeroed for {text:?}");
        };
        use KeyTextError::*;
        reject(b"", Base64Length(0));
        reject(&good.as_bytes()[..43], Base64Length(43));
        reject(format!("{good}=").as_bytes(), Base64Length(45));
        reject(format!("{good}\n").as_bytes(), Base64Length(45));
        reject(format!(" {}", &good[..43]).as_bytes(), Base64Content);
        reject(format!("{}A", &good[..43]).as_bytes(), Base64Content);
        // base64url, padding in the middle, spaces, non-ASCII of the right byte length.
        reject(good.replace('+', "-").as_bytes(), Base64Content);
        reject(good.replace('+', "_").as_bytes(), Base64Content);
        reject(good.replacen('y', "=", 1).as_bytes(), Base64Content);
        reject(good.replacen('y', " ", 1).as_bytes(), Base64Content);
        reject(good.replacen("yA", "é", 1).as_bytes(), Base64Content);
        // Character 43 carries 4 bits of data and 2 unused bits that must be zero: 'k' = 36 = 0b100100
        // is canonical, 'l' = 37 sets an unused bit.
        reject(good.replace("mk=", "ml=").as_bytes(), Base64Content);
        reject(good.replace("mk=", "mn=").as_bytes(), Base64Content);
        assert!(decode_base64(good.replace("mk=", "mo=").as_bytes(), &mut [0; 32]).is_ok());
    }

    #[test]
    fn rejects_bad_hex_and_zeroes_output() {
        let good = VECTORS[0].0;
        let mut out = [0xaa; 32];
        assert_eq!(
            decode_hex(&good.as_bytes()[..63], &mut out),
            Err(KeyTextError::HexLength(63))
        );
        assert_eq!(out, [0; 32]);
        for bad in [
            good.replacen('e', "g", 1),
            good.replacen('e', " ", 1),
            good.replacen("e8", "0x", 1),
            good.replacen('e', ":", 1),
        ] {
            out = [0xaa; 32];
            assert_eq!(
                decode_hex(bad.as_bytes(), &mut out),
                Err(KeyTextError::HexContent)
            );
            assert_eq!(out, [0; 32]);
        }
        let mut long = good.to_string();
        long.push('0');
        assert_eq!(
            decode_hex(long.as_bytes(), &mut out),
            Err(KeyTextError::HexLength(65))
        );
    }
}
