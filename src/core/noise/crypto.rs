//! The handshake's primitives, named as in the WireGuard paper (§5.4): `HASH`, `MAC`, `HMAC`,
//! `KDF1..3`, `DH`, `AEAD` and `XAEAD`.
//!
//! - `HASH(x)`: BLAKE2s-256; `MAC(key, x)`: keyed BLAKE2s-128 (the key is 32 or 16 bytes).
//! - `HMAC(key, x)`: RFC 2104 over BLAKE2s-256 (block 64 bytes). Not keyed BLAKE2s: Noise's HKDF
//!   is defined on HMAC, and the two give different values.
//! - `KDFn(key, input)`: HKDF with an empty salt replaced by `key` (the chaining key):
//!   `τ0 = HMAC(key, input)`, `τ1 = HMAC(τ0, 0x1)`, `τi = HMAC(τ0, τ(i-1) ‖ i)`; returns `τ1..τn`.
//! - `DH(private, public)`: X25519; an all-zero result (the public key has small order) is an
//!   error, as in wireguard-go, so a peer cannot force a known shared secret.
//! - `AEAD(key, counter, plaintext, aad)`: ChaCha20-Poly1305 ([`crate::core::aead`]) with the
//!   nonce `0^32 ‖ le64(counter)`, ciphertext and tag adjacent.
//! - `XAEAD(key, nonce24, plaintext, aad)`: XChaCha20-Poly1305 (draft-irtf-cfrg-xchacha-03):
//!   ChaCha20-Poly1305 under `HChaCha20(key, nonce[..16])` with the nonce `0^32 ‖ nonce[16..]`.
//!
//! Every secret intermediate is returned or held as [`Zeroizing`], so it is wiped when dropped.

use blake2::digest::consts::U16;
use blake2::digest::{FixedOutput, KeyInit, Update};
use blake2::{Blake2s256, Blake2sMac};
use chacha20::{R20, hchacha};
use x25519_dalek::{PublicKey as DalekPublicKey, StaticSecret};
use zeroize::Zeroizing;

use super::consts::{HASH_LEN, KEY_LEN, MAC_LEN, TAG_LEN, XNONCE_LEN};
use crate::core::aead;

pub(crate) use crate::core::aead::AuthError;

/// A 32-byte secret (chaining key, DH output, symmetric key), wiped when dropped.
pub(crate) type Secret = Zeroizing<[u8; KEY_LEN]>;

/// The other side's public key has small order: the DH output would be all zero, known to anyone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LowOrderPoint;

/// BLAKE2s block size, the HMAC pad length (RFC 2104 `B`).
const BLAKE2S_BLOCK_LEN: usize = 64;
/// The part of the XChaCha20 nonce HChaCha20 takes; the rest is the ChaCha20 nonce's tail.
const HCHACHA_NONCE_LEN: usize = 16;
const IPAD: u8 = 0x36;
const OPAD: u8 = 0x5c;

/// `HASH(parts[0] ‖ parts[1] ‖ …)`: BLAKE2s-256.
pub fn hash(parts: &[&[u8]]) -> [u8; HASH_LEN] {
    let mut hasher = Blake2s256::default();
    for part in parts {
        hasher.update(part);
    }
    hasher.finalize_fixed().into()
}

/// `MAC(key, parts[0] ‖ …)`: BLAKE2s keyed with `key`, 16-byte output. WireGuard keys it with a
/// 32-byte hash (mac1 key, cookie secret) or a 16-byte cookie (mac2).
pub fn mac<const K: usize>(key: &[u8; K], parts: &[&[u8]]) -> [u8; MAC_LEN] {
    const { assert!(K >= 1 && K <= 32, "BLAKE2s keys are 1 to 32 bytes") };
    // Cannot fail for a key length the assertion admits; the fallback only keeps this panic-free.
    let Ok(mut mac) = Blake2sMac::<U16>::new_from_slice(key) else {
        return [0; MAC_LEN];
    };
    for part in parts {
        mac.update(part);
    }
    mac.finalize_fixed().into()
}

/// `HMAC(key, parts[0] ‖ …)` per RFC 2104 with BLAKE2s-256: `H((K ⊕ opad) ‖ H((K ⊕ ipad) ‖ m))`,
/// `K` being the 32-byte key zero-padded to the 64-byte block.
pub(crate) fn hmac(key: &[u8; KEY_LEN], parts: &[&[u8]]) -> Secret {
    let mut padded_key = Zeroizing::new([0u8; BLAKE2S_BLOCK_LEN]);
    for (pad, key_byte) in padded_key.iter_mut().zip(key) {
        *pad = *key_byte;
    }
    for byte in padded_key.iter_mut() {
        *byte ^= IPAD;
    }
    let mut inner = Blake2s256::default();
    inner.update(&padded_key[..]);
    for part in parts {
        inner.update(part);
    }
    let inner_hash = Zeroizing::new(<[u8; HASH_LEN]>::from(inner.finalize_fixed()));
    for byte in padded_key.iter_mut() {
        *byte ^= IPAD ^ OPAD;
    }
    let mut outer = Blake2s256::default();
    outer.update(&padded_key[..]);
    outer.update(&inner_hash[..]);
    Zeroizing::new(outer.finalize_fixed().into())
}

/// `KDF1(key, input)`: `τ1`.
pub(crate) fn kdf1(key: &[u8; KEY_LEN], input: &[u8]) -> Secret {
    let prk = hmac(key, &[input]);
    hmac(&prk, &[&[1]])
}

/// `KDF2(key, input)`: `(τ1, τ2)`.
pub(crate) fn kdf2(key: &[u8; KEY_LEN], input: &[u8]) -> (Secret, Secret) {
    let prk = hmac(key, &[input]);
    let t1 = hmac(&prk, &[&[1]]);
    let t2 = hmac(&prk, &[&t1[..], &[2]]);
    (t1, t2)
}

/// `KDF3(key, input)`: `(τ1, τ2, τ3)`.
pub(crate) fn kdf3(key: &[u8; KEY_LEN], input: &[u8]) -> (Secret, Secret, Secret) {
    let prk = hmac(key, &[input]);
    let t1 = hmac(&prk, &[&[1]]);
    let t2 = hmac(&prk, &[&t1[..], &[2]]);
    let t3 = hmac(&prk, &[&t2[..], &[3]]);
    (t1, t2, t3)
}

/// `DH(private, public)`: X25519, rejecting a result that is all zero.
pub(crate) fn dh(private: &StaticSecret, public: &[u8; KEY_LEN]) -> Result<Secret, LowOrderPoint> {
    let shared = private.diffie_hellman(&DalekPublicKey::from(*public));
    // Constant time: whether the peer's key is of low order is not secret, but the output is.
    if !shared.was_contributory() {
        return Err(LowOrderPoint);
    }
    Ok(Zeroizing::new(shared.to_bytes()))
}

/// The public key of an X25519 private key.
pub(crate) fn public_key(private: &StaticSecret) -> [u8; KEY_LEN] {
    DalekPublicKey::from(private).to_bytes()
}

/// `AEAD(key, counter, plaintext, aad)` into `out = ciphertext ‖ tag` (`M = N + 16`, checked at
/// compile time).
pub(crate) fn aead_seal<const N: usize, const M: usize>(
    key: &[u8; KEY_LEN],
    counter: u64,
    plaintext: &[u8; N],
    aad: &[u8],
    out: &mut [u8; M],
) {
    seal_with_nonce(key, &aead::nonce_from_counter(counter), plaintext, aad, out);
}

/// Opens `sealed = ciphertext ‖ tag` (`M = N + 16`) into `out`. On a bad tag `out` is all zero.
pub(crate) fn aead_open<const M: usize, const N: usize>(
    key: &[u8; KEY_LEN],
    counter: u64,
    sealed: &[u8; M],
    aad: &[u8],
    out: &mut [u8; N],
) -> Result<(), AuthError> {
    open_with_nonce(key, &aead::nonce_from_counter(counter), sealed, aad, out)
}

/// `XAEAD(key, nonce, plaintext, aad)` into `out = ciphertext ‖ tag` (`M = N + 16`).
pub(crate) fn xaead_seal<const N: usize, const M: usize>(
    key: &[u8; KEY_LEN],
    nonce: &[u8; XNONCE_LEN],
    plaintext: &[u8; N],
    aad: &[u8],
    out: &mut [u8; M],
) {
    let (subkey, chacha_nonce) = xchacha_subkey(key, nonce);
    seal_with_nonce(&subkey, &chacha_nonce, plaintext, aad, out);
}

/// Opens an XAEAD `sealed = ciphertext ‖ tag` (`M = N + 16`) into `out`; all zero on a bad tag.
pub(crate) fn xaead_open<const M: usize, const N: usize>(
    key: &[u8; KEY_LEN],
    nonce: &[u8; XNONCE_LEN],
    sealed: &[u8; M],
    aad: &[u8],
    out: &mut [u8; N],
) -> Result<(), AuthError> {
    let (subkey, chacha_nonce) = xchacha_subkey(key, nonce);
    open_with_nonce(&subkey, &chacha_nonce, sealed, aad, out)
}

/// draft-irtf-cfrg-xchacha-03 §2.3: the ChaCha20 key is HChaCha20 of the first 16 nonce bytes, the
/// ChaCha20 nonce is four zero bytes then the last 8 nonce bytes.
fn xchacha_subkey(
    key: &[u8; KEY_LEN],
    nonce: &[u8; XNONCE_LEN],
) -> (Secret, [u8; aead::NONCE_LEN]) {
    let (head, tail) = nonce.split_at(HCHACHA_NONCE_LEN);
    let mut head_block = [0u8; HCHACHA_NONCE_LEN];
    head_block.copy_from_slice(head);
    let subkey = Zeroizing::new(hchacha::<R20>(key.into(), &head_block.into()).into());
    let mut chacha_nonce = [0u8; aead::NONCE_LEN];
    chacha_nonce[aead::NONCE_LEN - tail.len()..].copy_from_slice(tail);
    (subkey, chacha_nonce)
}

fn seal_with_nonce<const N: usize, const M: usize>(
    key: &[u8; KEY_LEN],
    nonce: &[u8; aead::NONCE_LEN],
    plaintext: &[u8; N],
    aad: &[u8],
    out: &mut [u8; M],
) {
    const {
        assert!(
            M == N + TAG_LEN,
            "sealed length must be plaintext length + 16"
        )
    };
    let (ciphertext, tag_out) = out.split_at_mut(N);
    ciphertext.copy_from_slice(plaintext);
    let tag = aead::seal_in_place(key, nonce, aad, ciphertext);
    tag_out.copy_from_slice(&tag);
}

fn open_with_nonce<const M: usize, const N: usize>(
    key: &[u8; KEY_LEN],
    nonce: &[u8; aead::NONCE_LEN],
    sealed: &[u8; M],
    aad: &[u8],
    out: &mut [u8; N],
) -> Result<(), AuthError> {
    const {
        assert!(
            M == N + TAG_LEN,
            "sealed length must be plaintext length + 16"
        )
    };
    let (ciphertext, tag) = sealed.split_at(N);
    let mut tag_array = [0u8; TAG_LEN];
    tag_array.copy_from_slice(tag);
    out.copy_from_slice(ciphertext);
    aead::open_in_place(key, nonce, aad, out, &tag_array).inspect_err(|_| out.fill(0))
}

/// Compares two MACs in constant time: every byte is examined whatever the first difference.
pub(crate) fn mac_eq(a: &[u8; MAC_LEN], b: &[u8; MAC_LEN]) -> bool {
    let difference = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    // `black_box` keeps the optimizer from turning the fold back into an early-exit comparison.
    core::hint::black_box(difference) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::noise::testing::{array, hex};

    /// RFC 7693 Appendix B: BLAKE2s-256("abc").
    #[test]
    fn blake2s_rfc7693_appendix_b() {
        let expected: [u8; 32] = array(
            "50 8C 5E 8C 32 7C 14 E2 E1 A7 2B A3 4E EB 45 2F 37 45 8B 20 9E D6 3A 29 4D 99 9B 4C 86 67 59 82",
        );
        assert_eq!(hash(&[b"abc"]), expected);
        // Parts are concatenated.
        assert_eq!(hash(&[b"a", b"", b"bc"]), expected);
    }

    /// The official BLAKE2 keyed KAT (blake2s-kat.txt): key 00..1f, inputs 00..(n-1), 32-byte
    /// output; entries for the empty input and for 255 bytes. Our `mac` outputs 16 bytes, which is a
    /// different parameter block, so the 32-byte vector checks the same keyed construction through
    /// `Blake2sMac<U32>`, and the 16-byte output is checked against Python below.
    #[test]
    fn blake2s_keyed_kat() {
        use blake2::Blake2sMac256;
        let key: [u8; 32] = core::array::from_fn(|i| i as u8);
        let input: Vec<u8> = (0..=254u8).collect();
        let run = |data: &[u8]| -> [u8; 32] {
            let mut mac = Blake2sMac256::new_from_slice(&key).unwrap();
            mac.update(data);
            mac.finalize_fixed().into()
        };
        assert_eq!(
            run(&[]),
            array::<32>("48a8997da407876b3d79c0d92325ad3b89cbb754d86ab71aee047ad345fd2c49")
        );
        assert_eq!(
            run(&input),
            array::<32>("3fb735061abc519dfe979e54c1ee5bfad0a9d858b3315bad34bde999efd724dd")
        );
    }

    /// 16-byte keyed BLAKE2s against Python's hashlib (the reference C implementation):
    /// `hashlib.blake2s(b"WireGuard mac1 input", key=bytes(range(32)), digest_size=16)` and the same
    /// with a 16-byte key `bytes(range(100, 116))`.
    #[test]
    fn mac_matches_python_hashlib() {
        let key32: [u8; 32] = core::array::from_fn(|i| i as u8);
        let key16: [u8; 16] = core::array::from_fn(|i| 100 + i as u8);
        assert_eq!(
            mac(&key32, &[b"WireGuard mac1 input"]),
            array::<16>(PY_MAC_KEY32)
        );
        assert_eq!(
            mac(&key16, &[b"WireGuard ", b"mac1 input"]),
            array::<16>(PY_MAC_KEY16)
        );
    }

    // Produced by scripts/noise_vectors.py (Python hashlib + hmac; see the script).
    const PY_MAC_KEY32: &str = "d2e6ad8ef10b5be0a7ae4493757fea3c";
    const PY_MAC_KEY16: &str = "38cb96937c8997bc22947758ceccc28d";
    const PY_HMAC: &str = "72afdafd0cd053939bad07e75962baa867ab68db37b81197310b2c971ce71440";
    const PY_KDF1: &str = "d49ec1ae587b690ec2d4c38d1802dd052d26ab3338bc0b665629ece5dfc61ae1";
    const PY_KDF2: [&str; 2] = [
        "d49ec1ae587b690ec2d4c38d1802dd052d26ab3338bc0b665629ece5dfc61ae1",
        "46d705e3e5cbc140bbfdf613d3733a0c3905bf21d5e1b34213c5a2a883b10553",
    ];
    const PY_KDF3: [&str; 3] = [
        "d49ec1ae587b690ec2d4c38d1802dd052d26ab3338bc0b665629ece5dfc61ae1",
        "46d705e3e5cbc140bbfdf613d3733a0c3905bf21d5e1b34213c5a2a883b10553",
        "17e6966e3a04136a899866a1650d1a323fdcdcb19956e0e97c6be5291850b302",
    ];
    const PY_KDF1_EMPTY: &str = "7a38c34bf2b8738d7374ca77c44ecb309a11d2b2528304fa86052c365e722624";

    /// HMAC-BLAKE2s and KDF1..3 against Python's `hmac` module with `hashlib.blake2s` (independent
    /// code: CPython's generic HMAC over the reference BLAKE2s), key `bytes(range(32))`, input
    /// `b"input keying material"`.
    #[test]
    fn hmac_and_kdf_match_python() {
        let key: [u8; 32] = core::array::from_fn(|i| i as u8);
        let input = b"input keying material";
        assert_eq!(*hmac(&key, &[input]), array::<32>(PY_HMAC));
        assert_eq!(
            *hmac(&key, &[b"input ", b"keying material"]),
            array::<32>(PY_HMAC)
        );
        assert_eq!(*kdf1(&key, input), array::<32>(PY_KDF1));
        let (t1, t2) = kdf2(&key, input);
        assert_eq!([*t1, *t2], PY_KDF2.map(array::<32>));
        let (t1, t2, t3) = kdf3(&key, input);
        assert_eq!([*t1, *t2, *t3], PY_KDF3.map(array::<32>));
        // KDF with an empty input, as the transport keys are derived.
        assert_eq!(*kdf1(&key, &[]), array::<32>(PY_KDF1_EMPTY));
        // KDFn's outputs are prefixes of one another.
        assert_eq!(*kdf2(&key, input).0, *kdf1(&key, input));
        assert_eq!(*kdf3(&key, input).1, *kdf2(&key, input).1);
    }

    /// RFC 7748 §5.2: the two single-step X25519 vectors (scalar, u-coordinate, output).
    #[test]
    fn x25519_rfc7748_5_2() {
        let vectors = [
            (
                "a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4",
                "e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c",
                "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552",
            ),
            (
                "4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d",
                "e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493",
                "95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957",
            ),
        ];
        for (scalar, u, expected) in vectors {
            let secret = StaticSecret::from(array::<32>(scalar));
            assert_eq!(*dh(&secret, &array(u)).unwrap(), array::<32>(expected));
        }
    }

    /// RFC 7748 §6.1: Alice's and Bob's key pairs and their shared secret.
    #[test]
    fn x25519_rfc7748_6_1() {
        let alice = StaticSecret::from(array::<32>(
            "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a",
        ));
        let bob = StaticSecret::from(array::<32>(
            "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb",
        ));
        let alice_public: [u8; 32] =
            array("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
        let bob_public: [u8; 32] =
            array("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f");
        let shared: [u8; 32] =
            array("4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742");
        assert_eq!(public_key(&alice), alice_public);
        assert_eq!(public_key(&bob), bob_public);
        assert_eq!(*dh(&alice, &bob_public).unwrap(), shared);
        assert_eq!(*dh(&bob, &alice_public).unwrap(), shared);
    }

    /// Points of small order give an all-zero output, which `dh` refuses (wireguard-go does too):
    /// u = 0, u = 1, the two order-8 points, and the non-canonical encodings p-1, p, p+1. Each was
    /// confirmed independently: OpenSSL (Python `cryptography`) refuses the exchange for all seven.
    #[test]
    fn dh_rejects_small_order_points() {
        let secret = StaticSecret::from([0x42; 32]);
        let low_order = [
            "0000000000000000000000000000000000000000000000000000000000000000",
            "0100000000000000000000000000000000000000000000000000000000000000",
            "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
            "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
            "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
            "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
            "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        ];
        for point in low_order {
            assert_eq!(dh(&secret, &array(point)), Err(LowOrderPoint), "{point}");
        }
        // A point of large order is accepted.
        assert!(dh(&secret, &public_key(&StaticSecret::from([7; 32]))).is_ok());
    }

    /// draft-irtf-cfrg-xchacha-03 Appendix A.3.1.
    #[test]
    fn xchacha20_poly1305_draft_a_3_1() {
        let key: [u8; 32] =
            array("808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f");
        let nonce: [u8; 24] = array("404142434445464748494a4b4c4d4e4f5051525354555657");
        let aad = hex("50515253c0c1c2c3c4c5c6c7");
        let plaintext: [u8; 114] = *b"Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.";
        let expected: [u8; 130] = array(
            "bd6d179d3e83d43b9576579493c0e939572a1700252bfaccbed2902c21396cbb
             731c7f1b0b4aa6440bf3a82f4eda7e39ae64c6708c54c216cb96b72e1213b452
             2f8c9ba40db5d945b11b69b982c1bb9e3f3fac2bc369488f76b2383565d3fff9
             21f9664c97637da9768812f615c68b13b52e
             c0875924c1c7987947deafd8780acf49",
        );
        let mut sealed = [0u8; 130];
        xaead_seal(&key, &nonce, &plaintext, &aad, &mut sealed);
        assert_eq!(sealed, expected);
        let mut opened = [0u8; 114];
        assert_eq!(xaead_open(&key, &nonce, &sealed, &aad, &mut opened), Ok(()));
        assert_eq!(opened, plaintext);
        // A flipped bit anywhere, or other AAD, fails and leaves zeros.
        for index in 0..sealed.len() {
            let mut bad = sealed;
            bad[index] ^= 0x04;
            let mut out = [0xaau8; 114];
            assert_eq!(
                xaead_open(&key, &nonce, &bad, &aad, &mut out),
                Err(AuthError)
            );
            assert_eq!(out, [0; 114]);
        }
        assert!(xaead_open(&key, &nonce, &sealed, &aad[1..], &mut opened).is_err());
    }

    /// The handshake AEAD is `aead::seal_in_place` (checked against RFC 8439 in its own tests) with
    /// the nonce `0^32 ‖ le64(counter)` and the tag appended after the ciphertext.
    #[test]
    fn aead_is_chacha20_poly1305_with_counter_nonce() {
        let key = [0x11u8; 32];
        let plaintext = *b"twelve bytes";
        let aad = [0x22u8; 32];
        let mut sealed = [0u8; 28];
        aead_seal(&key, 0x0102_0304_0506_0708, &plaintext, &aad, &mut sealed);
        let mut reference = plaintext;
        let nonce = [0, 0, 0, 0, 8, 7, 6, 5, 4, 3, 2, 1];
        let tag = aead::seal_in_place(&key, &nonce, &aad, &mut reference);
        assert_eq!(sealed[..12], reference);
        assert_eq!(sealed[12..], tag);
        let mut opened = [0u8; 12];
        assert_eq!(
            aead_open(&key, 0x0102_0304_0506_0708, &sealed, &aad, &mut opened),
            Ok(())
        );
        assert_eq!(opened, plaintext);
        assert!(aead_open(&key, 0x0102_0304_0506_0709, &sealed, &aad, &mut opened).is_err());
        assert_eq!(opened, [0; 12]);
        // The empty-plaintext case of the response: just a tag.
        let mut empty = [0u8; 16];
        aead_seal(&key, 0, &[], &aad, &mut empty);
        assert_eq!(aead_open(&key, 0, &empty, &aad, &mut []), Ok(()));
        empty[15] ^= 1;
        assert_eq!(aead_open(&key, 0, &empty, &aad, &mut []), Err(AuthError));
    }

    #[test]
    fn mac_eq_compares_every_byte() {
        let a = [5u8; 16];
        assert!(mac_eq(&a, &a));
        for index in 0..16 {
            let mut b = a;
            b[index] ^= 0x80;
            assert!(!mac_eq(&a, &b));
        }
    }
}
