//! ChaCha20-Poly1305 AEAD exactly as RFC 8439 §2.8, composed from the `chacha20` and `poly1305`
//! crates, over a caller's buffer in place with a detached 16-byte tag.

use chacha20::ChaCha20;
use chacha20::cipher::{KeyIvInit, StreamCipher};
use poly1305::Poly1305;
use poly1305::universal_hash::{KeyInit, UniversalHash};

/// Key length.
pub const KEY_LEN: usize = 32;
/// RFC 8439 nonce length.
pub const NONCE_LEN: usize = 12;

/// The tag did not verify; the buffer was left untouched (still ciphertext).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AuthError;

/// Transport nonce: 32 zero bits then the 64-bit little-endian counter (as WireGuard).
pub fn nonce_from_counter(counter: u64) -> [u8; NONCE_LEN] {
    let mut nonce = [0u8; NONCE_LEN];
    nonce[4..].copy_from_slice(&counter.to_le_bytes());
    nonce
}

/// Bytes of keystream the SIMD ChaCha20 backends (AVX2, SSE2, NEON) produce per round computation:
/// 4 blocks. They compute a lone block at the same cost, so keystream is always requested in
/// multiples of this size and short ends are XORed from a stack buffer instead.
const KEYSTREAM_CHUNK: usize = 256;
/// Keystream of blocks 1..4, produced together with block 0 (the Poly1305 key).
const HEAD_LEN: usize = KEYSTREAM_CHUNK - 64;

/// The rest of one message's keystream: the ChaCha20 instance (already at block 4) and the
/// keystream of blocks 1..4, which came out of the same computation as block 0.
struct Keystream {
    cipher: ChaCha20,
    head: [u8; HEAD_LEN],
}

/// Sets up one message: its keystream from block 1 on, and Poly1305 keyed with the first 32 bytes
/// of block 0 (RFC 8439 §2.6). One cipher instance, one round computation for blocks 0..4.
#[inline(always)]
fn start_message(key: &[u8; KEY_LEN], nonce: &[u8; NONCE_LEN]) -> (Keystream, Poly1305) {
    let mut cipher = ChaCha20::new(key.into(), nonce.into());
    let mut first_blocks = [0u8; KEYSTREAM_CHUNK];
    cipher.apply_keystream(&mut first_blocks);
    let mut mac_key = [0u8; poly1305::KEY_SIZE];
    mac_key.copy_from_slice(&first_blocks[..poly1305::KEY_SIZE]);
    let mut head = [0u8; HEAD_LEN];
    head.copy_from_slice(&first_blocks[64..]);
    (Keystream { cipher, head }, Poly1305::new(&mac_key.into()))
}

impl Keystream {
    /// XORs the keystream from block 1 onwards into `buf`: the head from the first computation,
    /// then whole 4-block chunks in place, then one more chunk for the tail via a stack buffer.
    #[inline(always)]
    fn apply(mut self, buf: &mut [u8]) {
        let (head, rest) = buf.split_at_mut(buf.len().min(HEAD_LEN));
        xor_into(head, &self.head);
        let whole_chunks_len = rest.len() / KEYSTREAM_CHUNK * KEYSTREAM_CHUNK;
        let (whole_chunks, tail) = rest.split_at_mut(whole_chunks_len);
        self.cipher.apply_keystream(whole_chunks);
        if !tail.is_empty() {
            let mut tail_keystream = [0u8; KEYSTREAM_CHUNK];
            self.cipher.apply_keystream(&mut tail_keystream);
            xor_into(tail, &tail_keystream);
        }
    }
}

/// `buf ^= keystream` over `buf`'s length (`keystream` is at least as long; `zip` stops anyway).
#[inline(always)]
fn xor_into(buf: &mut [u8], keystream: &[u8]) {
    for (byte, key_byte) in buf.iter_mut().zip(keystream) {
        *byte ^= key_byte;
    }
}

/// Feeds `aad` and `ciphertext`, each zero-padded to 16 bytes, then the lengths block
/// `le64(aad.len()) || le64(ciphertext.len())` (RFC 8439 §2.8).
#[inline(always)]
fn authenticate(mac: &mut Poly1305, aad: &[u8], ciphertext: &[u8]) {
    mac.update_padded(aad);
    mac.update_padded(ciphertext);
    let mut lengths = [0u8; 16];
    // usize -> u64 is lossless on every target Rust supports (at most 64-bit pointers).
    lengths[..8].copy_from_slice(&(aad.len() as u64).to_le_bytes());
    lengths[8..].copy_from_slice(&(ciphertext.len() as u64).to_le_bytes());
    mac.update(&[lengths.into()]);
}

/// Encrypts `in_out` in place and returns the tag over `aad` and the ciphertext.
pub fn seal_in_place(
    key: &[u8; KEY_LEN],
    nonce: &[u8; NONCE_LEN],
    aad: &[u8],
    in_out: &mut [u8],
) -> [u8; 16] {
    let (keystream, mut mac) = start_message(key, nonce);
    keystream.apply(in_out);
    authenticate(&mut mac, aad, in_out);
    mac.finalize().into()
}

/// Verifies `tag` in constant time over `aad` and the ciphertext in `in_out`; only if it matches,
/// decrypts `in_out` in place.
pub fn open_in_place(
    key: &[u8; KEY_LEN],
    nonce: &[u8; NONCE_LEN],
    aad: &[u8],
    in_out: &mut [u8],
    tag: &[u8; 16],
) -> Result<(), AuthError> {
    let (keystream, mut mac) = start_message(key, nonce);
    authenticate(&mut mac, aad, in_out);
    // `verify` compares with `subtle::ConstantTimeEq`: no early exit on the first differing byte.
    mac.verify(tag.into()).map_err(|_| AuthError)?;
    keystream.apply(in_out);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        let digits: Vec<u8> = s.bytes().filter(|b| b.is_ascii_hexdigit()).collect();
        digits
            .chunks(2)
            .map(|pair| u8::from_str_radix(core::str::from_utf8(pair).unwrap(), 16).unwrap())
            .collect()
    }

    fn array<const N: usize>(s: &str) -> [u8; N] {
        hex(s).try_into().unwrap()
    }

    const RFC_SUNSCREEN: &[u8] = b"Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.";

    /// Key, nonce, AAD, ciphertext and tag of a test vector.
    type Vector = ([u8; 32], [u8; 12], Vec<u8>, Vec<u8>, [u8; 16]);

    /// RFC 8439 §2.8.2.
    fn rfc_2_8_2() -> Vector {
        let key = array(
            "80 81 82 83 84 85 86 87 88 89 8a 8b 8c 8d 8e 8f 90 91 92 93 94 95 96 97 98 99 9a 9b 9c 9d 9e 9f",
        );
        let nonce = array("07 00 00 00 40 41 42 43 44 45 46 47");
        let aad = hex("50 51 52 53 c0 c1 c2 c3 c4 c5 c6 c7");
        let ciphertext = hex("
            d3 1a 8d 34 64 8e 60 db 7b 86 af bc 53 ef 7e c2 a4 ad ed 51 29 6e 08 fe a9 e2 b5 a7 36 ee 62 d6
            3d be a4 5e 8c a9 67 12 82 fa fb 69 da 92 72 8b 1a 71 de 0a 9e 06 0b 29 05 d6 a5 b6 7e cd 3b 36
            92 dd bd 7f 2d 77 8b 8c 98 03 ae e3 28 09 1b 58 fa b3 24 e4 fa d6 75 94 55 85 80 8b 48 31 d7 bc
            3f f4 de f0 8e 4b 7a 9d e5 76 d2 65 86 ce c6 4b 61 16");
        let tag = array("1a e1 0b 59 4f 09 e2 6a 7e 90 2e cb d0 60 06 91");
        (key, nonce, aad, ciphertext, tag)
    }

    #[test]
    fn rfc8439_2_8_2_seal() {
        let (key, nonce, aad, expected_ciphertext, expected_tag) = rfc_2_8_2();
        let mut buf = RFC_SUNSCREEN.to_vec();
        let tag = seal_in_place(&key, &nonce, &aad, &mut buf);
        assert_eq!(buf, expected_ciphertext);
        assert_eq!(tag, expected_tag);
    }

    #[test]
    fn rfc8439_2_8_2_open() {
        let (key, nonce, aad, ciphertext, tag) = rfc_2_8_2();
        let mut buf = ciphertext.clone();
        assert_eq!(open_in_place(&key, &nonce, &aad, &mut buf, &tag), Ok(()));
        assert_eq!(buf, RFC_SUNSCREEN);
    }

    /// RFC 8439 §2.6.2: the Poly1305 one-time key is the first 32 bytes of keystream block 0.
    #[test]
    fn rfc8439_2_6_2_poly1305_key_generation() {
        let key = array(
            "80 81 82 83 84 85 86 87 88 89 8a 8b 8c 8d 8e 8f 90 91 92 93 94 95 96 97 98 99 9a 9b 9c 9d 9e 9f",
        );
        let nonce = array("00 00 00 00 00 01 02 03 04 05 06 07");
        let expected: [u8; 32] = array(
            "8a d5 a0 8b 90 5f 81 cc 81 50 40 27 4a b2 94 71 a8 33 b6 37 e3 fd 0d a5 08 db b8 e2 fd d1 a6 46",
        );
        // With an empty message and AAD, the tag is Poly1305(otk, lengths block of zeros); compute
        // the same with the expected key and compare.
        let mut mac = Poly1305::new(&expected.into());
        mac.update(&[[0u8; 16].into()]);
        let expected_tag: [u8; 16] = mac.finalize().into();
        assert_eq!(seal_in_place(&key, &nonce, &[], &mut []), expected_tag);
    }

    /// RFC 8439 §2.5.2: the Poly1305 primitive itself, as used here (unpadded message).
    #[test]
    fn rfc8439_2_5_2_poly1305() {
        let key: [u8; 32] = array(
            "85 d6 be 78 57 55 6d 33 7f 44 52 fe 42 d5 06 a8 01 03 80 8a fb 0d b2 fd 4a bf f6 af 41 49 f5 1b",
        );
        let tag =
            Poly1305::new(&key.into()).compute_unpadded(b"Cryptographic Forum Research Group");
        let expected: [u8; 16] = array("a8 06 1d c1 30 51 36 c6 c2 2b 8b af 0c 01 27 a9");
        assert_eq!(<[u8; 16]>::from(tag), expected);
    }

    /// RFC 8439 Appendix A.5: decryption of an Internet-Draft text with its tag.
    #[test]
    fn rfc8439_a5_open() {
        let key = array(
            "1c 92 40 a5 eb 55 d3 8a f3 33 88 86 04 f6 b5 f0 47 39 17 c1 40 2b 80 09 9d ca 5c bc 20 70 75 c0",
        );
        let nonce = array("00 00 00 00 01 02 03 04 05 06 07 08");
        let aad = hex("f3 33 88 86 00 00 00 00 00 00 4e 91");
        let mut buf = hex("
            64 a0 86 15 75 86 1a f4 60 f0 62 c7 9b e6 43 bd 5e 80 5c fd 34 5c f3 89 f1 08 67 0a c7 6c 8c b2
            4c 6c fc 18 75 5d 43 ee a0 9e e9 4e 38 2d 26 b0 bd b7 b7 3c 32 1b 01 00 d4 f0 3b 7f 35 58 94 cf
            33 2f 83 0e 71 0b 97 ce 98 c8 a8 4a bd 0b 94 81 14 ad 17 6e 00 8d 33 bd 60 f9 82 b1 ff 37 c8 55
            97 97 a0 6e f4 f0 ef 61 c1 86 32 4e 2b 35 06 38 36 06 90 7b 6a 7c 02 b0 f9 f6 15 7b 53 c8 67 e4
            b9 16 6c 76 7b 80 4d 46 a5 9b 52 16 cd e7 a4 e9 90 40 c5 a4 04 33 22 5e e2 82 a1 b0 a0 6c 52 3e
            af 45 34 d7 f8 3f a1 15 5b 00 47 71 8c bc 54 6a 0d 07 2b 04 b3 56 4e ea 1b 42 22 73 f5 48 27 1a
            0b b2 31 60 53 fa 76 99 19 55 eb d6 31 59 43 4e ce bb 4e 46 6d ae 5a 10 73 a6 72 76 27 09 7a 10
            49 e6 17 d9 1d 36 10 94 fa 68 f0 ff 77 98 71 30 30 5b ea ba 2e da 04 df 99 7b 71 4d 6c 6f 2c 29
            a6 ad 5c b4 02 2b 02 70 9b");
        let tag = array("ee ad 9d 67 89 0c bb 22 39 23 36 fe a1 85 1f 38");
        assert_eq!(open_in_place(&key, &nonce, &aad, &mut buf, &tag), Ok(()));
        let text = core::str::from_utf8(&buf).unwrap();
        assert!(
            text.starts_with(
                "Internet-Drafts are draft documents valid for a maximum of six months"
            )
        );
        assert!(text.ends_with("/\u{201c}work in progress./\u{201d}"));
    }

    #[test]
    fn nonce_layout() {
        let nonce = nonce_from_counter(0x0102_0304_0506_0708);
        assert_eq!(nonce, [0, 0, 0, 0, 8, 7, 6, 5, 4, 3, 2, 1]);
        assert_eq!(nonce_from_counter(0), [0; 12]);
    }

    #[test]
    fn any_tampered_byte_is_rejected_and_buffer_unchanged() {
        let key = [7u8; 32];
        let nonce = nonce_from_counter(42);
        let aad = *b"sixteen byte aad";
        let mut ciphertext = b"a short IP packet, 37 bytes in total.".to_vec();
        let tag = seal_in_place(&key, &nonce, &aad, &mut ciphertext);

        for index in 0..aad.len() {
            let mut bad_aad = aad;
            bad_aad[index] ^= 0x01;
            let mut buf = ciphertext.clone();
            assert_eq!(
                open_in_place(&key, &nonce, &bad_aad, &mut buf, &tag),
                Err(AuthError)
            );
            assert_eq!(buf, ciphertext);
        }
        for index in 0..ciphertext.len() {
            for bit in 0..8 {
                let mut buf = ciphertext.clone();
                buf[index] ^= 1 << bit;
                let tampered = buf.clone();
                assert_eq!(
                    open_in_place(&key, &nonce, &aad, &mut buf, &tag),
                    Err(AuthError)
                );
                assert_eq!(buf, tampered);
            }
        }
        for index in 0..tag.len() {
            let mut bad_tag = tag;
            bad_tag[index] ^= 0x80;
            let mut buf = ciphertext.clone();
            assert_eq!(
                open_in_place(&key, &nonce, &aad, &mut buf, &bad_tag),
                Err(AuthError)
            );
            assert_eq!(buf, ciphertext);
        }
        // Wrong nonce, wrong key, truncated ciphertext, truncated aad.
        let mut buf = ciphertext.clone();
        assert!(open_in_place(&key, &nonce_from_counter(43), &aad, &mut buf, &tag).is_err());
        assert!(open_in_place(&[8u8; 32], &nonce, &aad, &mut buf, &tag).is_err());
        let cut = ciphertext.len() - 1;
        assert!(open_in_place(&key, &nonce, &aad, &mut buf[..cut], &tag).is_err());
        assert!(open_in_place(&key, &nonce, &aad[..15], &mut buf, &tag).is_err());
        assert_eq!(buf, ciphertext);
        // Untampered still opens.
        assert_eq!(open_in_place(&key, &nonce, &aad, &mut buf, &tag), Ok(()));
        assert_eq!(buf, b"a short IP packet, 37 bytes in total.");
    }

    #[test]
    fn empty_plaintext() {
        let key = [1u8; 32];
        let nonce = nonce_from_counter(1);
        let tag = seal_in_place(&key, &nonce, &[], &mut []);
        assert_eq!(open_in_place(&key, &nonce, &[], &mut [], &tag), Ok(()));
        let mut bad = tag;
        bad[0] ^= 1;
        assert_eq!(
            open_in_place(&key, &nonce, &[], &mut [], &bad),
            Err(AuthError)
        );
        // A different counter gives a different tag for the same empty message.
        assert_ne!(
            seal_in_place(&key, &nonce_from_counter(2), &[], &mut []),
            tag
        );
    }

    #[test]
    fn round_trips_at_many_lengths() {
        let key: [u8; 32] = core::array::from_fn(|i| i as u8 * 3);
        let lengths = (0..300).chain([1420, 65535]);
        for len in lengths {
            let plaintext: Vec<u8> = (0..len).map(|i| (i * 7 + len) as u8).collect();
            let nonce = nonce_from_counter(len as u64);
            let aad = &plaintext[..len.min(16)];
            let mut buf = plaintext.clone();
            let tag = seal_in_place(&key, &nonce, aad, &mut buf);
            if len >= 16 {
                assert_ne!(buf, plaintext, "len {len}: ciphertext equals plaintext");
            }
            assert_eq!(
                open_in_place(&key, &nonce, aad, &mut buf, &tag),
                Ok(()),
                "len {len}"
            );
            assert_eq!(buf, plaintext, "len {len}");
        }
    }

    /// The in-place result equals what a fresh keystream from block 1 gives, for lengths crossing
    /// the 4-block parallel boundary of the SIMD backends.
    #[test]
    fn ciphertext_is_keystream_from_block_1() {
        use chacha20::cipher::StreamCipherSeek;
        let key = [9u8; 32];
        let nonce = nonce_from_counter(5);
        for len in [
            1, 63, 64, 65, 191, 192, 193, 255, 256, 257, 447, 448, 449, 703, 704, 705, 1000, 1420,
        ] {
            let mut sealed = vec![0u8; len];
            seal_in_place(&key, &nonce, &[], &mut sealed);
            let mut reference = vec![0u8; len];
            let mut cipher = ChaCha20::new(&key.into(), &nonce.into());
            cipher.seek(64u64);
            cipher.apply_keystream(&mut reference);
            assert_eq!(sealed, reference, "len {len}");
        }
    }
}
